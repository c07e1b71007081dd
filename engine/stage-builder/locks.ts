// Progress locks and the fail counter, compatible with metro's files: a lock
// is a file holding the PID of the build that owns it (`.multi_progress`,
// `.<target>_progress`), so metro and this builder see each other's locks.
// The builder also locks the `path/tmp` it works in (`.metro-engine.lock`
// there), so two builds sharing path/tmp with different mirrors wait for
// each other instead of cleaning each other's work directories.
//
// Every lock is created, read and removed through guarded-fs: a lock that
// is a symbolic link, a directory or any other non-file is reported with
// its path and never followed. A PID whose process is alive but is not a
// build (the PID was reused after a crash) makes the lock stale.

import { describeError } from "../system-errors";
import { lstatSync, readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { GuardedFsError, createExclusive, ensureDir, readFileGuarded, unlinkGuarded, writeFileGuarded } from "./guarded-fs";
import { excerptPath, quote } from "../../language";

/** Another live build holds a lock: exit code 3. */
export class LockHeldError extends Error {
  constructor(readonly path: string, readonly pid: number) {
    super(`another build (PID ${pid}) holds the lock ${path}`);
    this.name = "LockHeldError";
  }
}

/** The lock of path/tmp itself. */
export function tmpLockPath(tmp: string): string {
  return join(tmp, ".metro-engine.lock");
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Whether a live PID is a build: metro (`metro ...`, `python3 .../metro`) or
 * this builder (`node .../metro-engine.js build`). Null when /proc does not
 * tell (then the lock counts as held).
 */
export function describeBuildProcess(pid: number): { build: boolean; command: string } | null {
  let argv: string[];
  try {
    argv = readFileSync(`/proc/${pid}/cmdline`, "latin1").split("\0").filter((a) => a !== "");
  } catch {
    return null;
  }
  if (!argv.length) return null; // a kernel thread or a zombie: nothing to tell by
  const build = argv.some((a) => /^metro(-engine)?(\.js)?$/.test(basename(a)));
  return { build, command: argv.join(" ").slice(0, 120) };
}

export type LockState =
  | { state: "free" }
  | { state: "stale"; pid: number | null; why: string }
  | { state: "held"; pid: number };

/** Reads a lock without touching it (for --dry-run and for waiting); a link or a directory is a GuardedFsError naming it. */
export function inspectLock(path: string): LockState {
  let st;
  try {
    st = lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { state: "free" };
    throw new GuardedFsError(`cannot inspect the lock ${excerptPath(path)}: ${describeError(error)}`);
  }
  if (st.isSymbolicLink()) throw new GuardedFsError(`the lock ${excerptPath(path)} is a symbolic link; the builder never follows links it did not make (remove the link)`);
  if (st.isDirectory()) throw new GuardedFsError(`the lock ${excerptPath(path)} is a directory, not a lock file; remove it (rmdir ${excerptPath(path)}) if no build is running`);
  if (!st.isFile()) throw new GuardedFsError(`the lock ${excerptPath(path)} is not a regular file; remove it if no build is running`);
  const text = readFileGuarded(path, "the lock");
  if (text === null) return { state: "free" };
  const pid = /^\s*\d+\s*$/.test(text) ? Number(text.trim()) : NaN;
  if (!Number.isSafeInteger(pid) || pid <= 0) return { state: "stale", pid: null, why: `it does not hold a PID (${JSON.stringify(text.slice(0, 40))})` };
  if (pid === process.pid) return { state: "stale", pid, why: "it holds this build's own PID" };
  if (!isAlive(pid)) return { state: "stale", pid, why: `PID ${pid} is not running` };
  const proc = describeBuildProcess(pid);
  if (proc && !proc.build) return { state: "stale", pid, why: `PID ${pid} is running but is not a build (it is ${quote(proc.command, '"')}); the PID was reused` };
  return { state: "held", pid };
}

export class Lock {
  private owned = false;
  /**
   * @param path the lock file
   * @param root the trusted directory it lies in (path/mirror or path/tmp):
   *   nothing below it is followed when the lock is created or removed
   */
  constructor(readonly path: string, readonly root: string) {}

  /**
   * Takes the lock: removes a stale one (dead PID, a PID that is no build,
   * unreadable content), throws LockHeldError for a live one. Creation is
   * exclusive, so two builds starting at once cannot both win.
   */
  acquire(log: (line: string) => void): void {
    ensureDir(dirname(this.path), this.root);
    for (let attempt = 0; attempt < 3; attempt++) {
      const state = inspectLock(this.path);
      if (state.state === "held") throw new LockHeldError(this.path, state.pid);
      if (state.state === "stale") {
        log(`removing stale lock ${this.path} (${state.why})`);
        unlinkGuarded(this.path, this.root, "the stale lock");
      }
      if (createExclusive(this.path, this.root, String(process.pid), "the lock")) {
        this.owned = true;
        return;
      }
    }
    const state = inspectLock(this.path);
    throw new LockHeldError(this.path, state.state === "held" ? state.pid : 0);
  }

  /** Removes the lock only if we created it and it still holds our PID. */
  release(): void {
    if (!this.owned) return;
    this.owned = false;
    try {
      if (readFileGuarded(this.path, "the lock")?.trim() === String(process.pid)) unlinkGuarded(this.path, this.root, "the lock");
    } catch {
      // already gone, or replaced by something that is not ours: leave it
    }
  }

  get held(): boolean {
    return this.owned;
  }
}

/** `.failcount`: consecutive failures of official builds (read and written without following links). */
export function incrementFailCount(path: string, root: string): number {
  let count = 0;
  const text = readFileGuarded(path, "the fail counter");
  const first = text?.split("\n")[0]!.trim();
  if (first && /^\d+$/.test(first)) count = Number(first);
  count += 1;
  writeFileGuarded(path, root, String(count), { what: "the fail counter" });
  return count;
}

export function removeFailCount(path: string, root: string): void {
  unlinkGuarded(path, root, "the fail counter");
}
