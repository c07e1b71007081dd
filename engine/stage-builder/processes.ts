// Running a step's script and stopping it again.
//
// Each script runs in its own session (so a signal to the builder is ours to
// handle, and the whole step can be stopped with one kill of its process
// group). Stopping a step also walks /proc for descendants that left the
// group, and for any process whose root directory is inside the chroot:
// daemons a step started must not keep the chroot's mounts busy.

import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { isInside } from "./mounts";
import { describeError } from "../system-errors";
import type { CheckedDir } from "./paths";

export interface ScriptResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the script could not be started at all. */
  spawnError?: string;
}

export class RunningScript {
  readonly done: Promise<ScriptResult>;
  private child: ChildProcess;

  constructor(argv: string[], env: Record<string, string>, output: number, cwd: string) {
    this.child = spawn(argv[0]!, argv.slice(1), { env, cwd, detached: true, stdio: ["ignore", output, output] });
    this.done = new Promise((resolveDone) => {
      let settled = false;
      this.child.once("error", (error) => {
        if (settled) return;
        settled = true;
        resolveDone({ exitCode: null, signal: null, spawnError: describeError(error) });
      });
      this.child.once("exit", (code, signal) => {
        if (settled) return;
        settled = true;
        resolveDone({ exitCode: code, signal });
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Stops the script and everything it started: TERM, then KILL after `graceMs`. */
  async stop(graceMs = 3000): Promise<void> {
    const pid = this.child.pid;
    if (pid === undefined) return;
    const tree = () => [pid, ...descendantsOf(pid)];
    signalAll(tree(), "SIGTERM", pid);
    const finished = await Promise.race([this.done.then(() => true), delay(graceMs).then(() => false)]);
    // Even when the leader exited, children may linger in its group.
    signalAll(tree(), "SIGKILL", pid);
    if (!finished) await Promise.race([this.done, delay(2000)]);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}

function signalAll(pids: number[], signal: NodeJS.Signals, group: number): void {
  try {
    process.kill(-group, signal);
  } catch {
    // group already gone
  }
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

function processIds(): number[] {
  return readdirSync("/proc").filter((n) => /^\d+$/.test(n)).map(Number);
}

function parentOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may contain spaces and parentheses.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(rest[1]);
  } catch {
    return null;
  }
}

export function descendantsOf(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const pid of processIds()) {
    const parent = parentOf(pid);
    if (parent === null) continue;
    if (!children.has(parent)) children.set(parent, []);
    children.get(parent)!.push(pid);
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length) {
    for (const child of children.get(queue.shift()!) ?? []) {
      out.push(child);
      queue.push(child);
    }
  }
  return out;
}

/**
 * Processes whose root directory or executable is inside `dir` (metro's
 * kill_chroot_pids, done right). Only a CheckedDir (strictly inside
 * path/tmp, no link on the way: paths.ts) is ever searched, so no
 * configuration can make this reach the host's processes.
 */
export function processesInside(dir: CheckedDir): { pid: number; where: string }[] {
  const root: string = dir;
  const found: { pid: number; where: string }[] = [];
  for (const pid of processIds()) {
    if (pid === process.pid) continue;
    for (const link of ["root", "exe"]) {
      let target: string;
      try {
        target = readlinkSync(`/proc/${pid}/${link}`);
      } catch {
        continue;
      }
      if (target === root || isInside(target, root)) {
        found.push({ pid, where: target });
        break;
      }
    }
  }
  return found;
}

export function killProcessesInside(dir: CheckedDir, log: (line: string) => void): number {
  const found = processesInside(dir);
  for (const { pid, where } of found) {
    log(`killing process ${pid} (${where})`);
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  return found.length;
}

/** metro's host architecture names, from host/arch_desc or the machine. */
export function hostArch(configured: string | undefined, machine: string): string | null {
  if (configured) return configured;
  if (machine === "x86_64" || machine === "AMD64") return "x86-64bit";
  if (["x86", "i386", "i486", "i586", "i686"].includes(machine)) return "x86-32bit";
  if (machine === "aarch64" || machine === "arm64") return "arm-64bit";
  if (machine.startsWith("armv7") || machine.startsWith("armv6")) return "arm-32bit";
  if (machine === "riscv64") return "riscv-64bit";
  return null;
}

/**
 * The host/arch_desc values metro accepts (the keys of its qemu.native_support; note "riscv", not
 * "riscv-64bit"): any other configured value stops metro's chroot targets before their first chroot step.
 */
export const METRO_HOST_ARCHES: readonly string[] = ["riscv", "x86-64bit", "x86-32bit", "arm-64bit", "arm-32bit"];

/** Which target architectures each host runs natively (metro's qemu.native_support). */
export const NATIVE_SUPPORT: Record<string, string[]> = {
  "x86-64bit": ["x86-32bit"],
  "x86-32bit": [],
  "arm-64bit": ["arm-32bit"],
  "arm-32bit": [],
  "riscv-64bit": [],
};
