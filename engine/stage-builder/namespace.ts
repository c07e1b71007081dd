// Namespaces that tie the life of everything a build starts to the build.
//
// Node cannot call unshare(2) or prctl(2) itself, so util-linux does it:
//
//   metro-engine build (outer)
//     └─ setpriv --pdeathsig KILL unshare --mount --propagation private node ... build  (inner builder)
//          └─ setpriv --pdeathsig KILL unshare --pid --fork --kill-child <step>        (one per step)
//               └─ the step: PID 1 of its own PID namespace, and all it starts
//
// - The inner builder runs in a private mount namespace: no mount it makes
//   propagates to the host, and the kernel drops them all when the last
//   process in that namespace is gone.
// - Its parent-death signal is SIGKILL: killing the outer process (even with
//   SIGKILL) kills the inner builder. It also checks at start that its parent
//   is still the outer process (the outer one may have died before setpriv
//   ran).
// - Each step runs as the first process of a private PID namespace, whose
//   unshare parent dies with the builder (parent-death signal) and takes the
//   namespace with it (--kill-child): when its first process dies the kernel
//   kills every process in the namespace. So a step never outlives its
//   builder, however the builder ends, and with the last step process gone
//   the builder's mount namespace and its mounts go too.
//
// When these tools are missing or not permitted (no CAP_SYS_ADMIN, a
// restrictive container) the build runs without them and says so; its own
// mount-table-aware cleanup still applies.

import { spawn, spawnSync } from "node:child_process";
import { describeError } from "../system-errors";

/** The signals that interrupt a build (stop the step, clean up, record the status); the outer process forwards them to the inner one. */
export const INTERRUPTS: readonly NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];

/** Set in the re-executed builder so it does not try again. */
export const NAMESPACE_ENV = "METRO_ENGINE_BUILD_NAMESPACE";
/** The outer process's PID, so the inner builder can tell it is still there. */
export const PARENT_ENV = "METRO_ENGINE_BUILD_PARENT";

export function insidePrivateNamespace(): boolean {
  return process.env[NAMESPACE_ENV] === "1";
}

/**
 * In the inner builder: null when the outer process that started it is
 * still its parent, else why the build must not go on.
 */
export function orphanedInner(): string | null {
  const expected = Number(process.env[PARENT_ENV]);
  if (!insidePrivateNamespace() || !Number.isInteger(expected) || expected <= 0) return null;
  return process.ppid === expected ? null : `the metro-engine process that started this build (PID ${expected}) is gone; not building`;
}

const PDEATHSIG = ["setpriv", "--pdeathsig", "KILL", "--"];

/** Whether `unshare --mount` works here (root, util-linux present, kernel and container allow it). */
export function privateNamespaceAvailable(): { ok: boolean; why: string } {
  if (typeof process.getuid === "function" && process.getuid() !== 0) return { ok: false, why: "not running as root" };
  const r = spawnSync(PDEATHSIG[0]!, [...PDEATHSIG.slice(1), "unshare", "--mount", "--propagation", "private", "true"], { stdio: "ignore" });
  if (r.error) return { ok: false, why: `setpriv and unshare (util-linux) are not available: ${describeError(r.error)}` };
  if (r.status !== 0) return { ok: false, why: "the kernel or container does not allow a private mount namespace" };
  return { ok: true, why: "" };
}

const STEP_PREFIX = [...PDEATHSIG, "unshare", "--pid", "--fork", "--kill-child", "--"];
let stepIsolation: { prefix: string[]; why: string } | null = null;

/**
 * The argument vector prefix that runs a step as the first process of its
 * own PID namespace, dying with the builder; empty (and why) when not possible.
 */
export function stepIsolationPrefix(): { prefix: string[]; why: string } {
  if (stepIsolation) return stepIsolation;
  if (typeof process.getuid === "function" && process.getuid() !== 0) {
    stepIsolation = { prefix: [], why: "not running as root" };
  } else {
    const r = spawnSync(STEP_PREFIX[0]!, [...STEP_PREFIX.slice(1), "true"], { stdio: "ignore" });
    if (r.error) stepIsolation = { prefix: [], why: `setpriv and unshare (util-linux) are not available: ${r.error.message}` };
    else if (r.status !== 0) stepIsolation = { prefix: [], why: "the kernel or container does not allow a private PID namespace" };
    else stepIsolation = { prefix: STEP_PREFIX, why: "" };
  }
  return stepIsolation;
}

/** Runs `command` in a private mount namespace, dying with this process; resolves to its exit code. */
export function runInPrivateNamespace(command: string[], onEnd?: (message: string) => void): Promise<number> {
  return new Promise((resolveExit) => {
    const child = spawn(PDEATHSIG[0]!, [...PDEATHSIG.slice(1), "unshare", "--mount", "--propagation", "private", "--", ...command], {
      stdio: "inherit",
      env: { ...process.env, [NAMESPACE_ENV]: "1", [PARENT_ENV]: String(process.pid) },
    });
    // setpriv and unshare exec: the child is the inner builder itself.
    const forward = (signal: NodeJS.Signals) => {
      try {
        child.kill(signal);
      } catch {
        // already gone
      }
    };
    // The inner builder handles them; this process must not die of a hangup first.
    for (const signal of INTERRUPTS) process.on(signal, forward);
    const done = (code: number) => {
      for (const signal of INTERRUPTS) process.off(signal, forward);
      resolveExit(code);
    };
    child.once("error", (error) => {
      onEnd?.(`could not start the builder in a private namespace: ${error.message}`);
      done(2);
    });
    child.once("exit", (code, signal) => {
      if (signal) onEnd?.(`the builder (PID ${child.pid}) was killed by ${signal}; its steps and mounts ended with it`);
      done(code ?? 1);
    });
  });
}
