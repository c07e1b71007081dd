// Private mount namespace for real builds.
//
// Node cannot call unshare(2) itself, so the builder re-executes itself
// under util-linux's `unshare --mount --propagation private`: every mount
// the build makes then lives in a namespace that the kernel tears down when
// the builder exits, however it exits (even SIGKILL), and none of them
// propagates to the host. The parent only forwards SIGINT/SIGTERM and
// passes the exit code on. When unshare is missing or not permitted (no
// CAP_SYS_ADMIN, a restrictive container) the build runs in the current
// namespace and says so; its own mount-table-aware cleanup still applies.

import { spawn, spawnSync } from "node:child_process";
import { describeError } from "../system-errors";

/** Set in the re-executed builder so it does not try again. */
export const NAMESPACE_ENV = "METRO_ENGINE_BUILD_NAMESPACE";

export function insidePrivateNamespace(): boolean {
  return process.env[NAMESPACE_ENV] === "1";
}

/** Whether `unshare --mount` works here (root, util-linux present, kernel and container allow it). */
export function privateNamespaceAvailable(): { ok: boolean; why: string } {
  if (typeof process.getuid === "function" && process.getuid() !== 0) return { ok: false, why: "not running as root" };
  const r = spawnSync("unshare", ["--mount", "--propagation", "private", "true"], { stdio: "ignore" });
  if (r.error) return { ok: false, why: `unshare (util-linux) is not available: ${describeError(r.error)}` };
  if (r.status !== 0) return { ok: false, why: "the kernel or container does not allow a private mount namespace" };
  return { ok: true, why: "" };
}

/** Runs `command` in a private mount namespace; resolves to its exit code. */
export function runInPrivateNamespace(command: string[]): Promise<number> {
  return new Promise((resolveExit) => {
    const child = spawn("unshare", ["--mount", "--propagation", "private", "--", ...command], {
      stdio: "inherit",
      env: { ...process.env, [NAMESPACE_ENV]: "1" },
    });
    const forward = (signal: NodeJS.Signals) => {
      try {
        child.kill(signal);
      } catch {
        // already gone
      }
    };
    process.on("SIGINT", forward);
    process.on("SIGTERM", forward);
    const done = (code: number) => {
      process.off("SIGINT", forward);
      process.off("SIGTERM", forward);
      resolveExit(code);
    };
    child.once("error", () => done(2));
    child.once("exit", (code) => done(code ?? 1));
  });
}
