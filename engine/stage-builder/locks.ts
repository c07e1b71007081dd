// Progress locks and the fail counter, compatible with metro's files: a lock
// is a file holding the PID of the build that owns it (`.multi_progress`,
// `.<target>_progress`), so metro and this builder see each other's locks.

import { closeSync, existsSync, mkdirSync, openSync, readFileSync, unlinkSync, writeFileSync, writeSync } from "node:fs";
import { dirname } from "node:path";

/** Another live build holds a lock: exit code 3. */
export class LockHeldError extends Error {
  constructor(readonly path: string, readonly pid: number) {
    super(`another build (PID ${pid}) holds the lock ${path}`);
    this.name = "LockHeldError";
  }
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

export type LockState = { state: "free" } | { state: "stale"; pid: number | null } | { state: "held"; pid: number };

/** Reads a lock without touching it (for --dry-run and for waiting). */
export function inspectLock(path: string): LockState {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return { state: "free" };
  }
  const pid = /^\s*\d+\s*$/.test(text) ? Number(text.trim()) : NaN;
  if (!Number.isInteger(pid) || pid <= 0) return { state: "stale", pid: null };
  if (pid !== process.pid && isAlive(pid)) return { state: "held", pid };
  return { state: "stale", pid };
}

export class Lock {
  private owned = false;
  constructor(readonly path: string) {}

  /**
   * Takes the lock: removes a stale one (dead PID or unreadable content),
   * throws LockHeldError for a live one. Creation is exclusive, so two
   * builds starting at once cannot both win.
   */
  acquire(log: (line: string) => void): void {
    mkdirSync(dirname(this.path), { recursive: true });
    for (let attempt = 0; attempt < 3; attempt++) {
      const state = inspectLock(this.path);
      if (state.state === "held") throw new LockHeldError(this.path, state.pid);
      if (state.state === "stale") {
        log(`removing stale lock ${this.path}${state.pid ? ` (PID ${state.pid} is not running)` : ""}`);
        try {
          unlinkSync(this.path);
        } catch {
          // someone else removed it
        }
      }
      try {
        const fd = openSync(this.path, "wx", 0o644);
        writeSync(fd, String(process.pid));
        closeSync(fd);
        this.owned = true;
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
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
      if (readFileSync(this.path, "utf8").trim() === String(process.pid)) unlinkSync(this.path);
    } catch {
      // already gone
    }
  }

  get held(): boolean {
    return this.owned;
  }
}

/** `.failcount`: consecutive failures of official builds. */
export function incrementFailCount(path: string): number {
  let count = 0;
  try {
    const first = readFileSync(path, "utf8").split("\n")[0]!.trim();
    if (/^\d+$/.test(first)) count = Number(first);
  } catch {
    // no counter yet
  }
  count += 1;
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, String(count));
  return count;
}

export function removeFailCount(path: string): void {
  if (existsSync(path)) unlinkSync(path);
}
