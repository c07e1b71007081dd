// nextbuild's choice: the queues it walks, in its order, and the lock check
// each candidate passes. `plan` lists the same walk without changing
// anything; nextbuild takes the first candidate no live lock holds.

import { readFileSync, unlinkSync } from "node:fs";
import type { BuildbotConfig } from "./buildbot-file";
import type { MirrorFs } from "./mirror-fs";
import { BuildrepoCrash, compareAge, decodeText, pyInt, type NaiveDateTime } from "./python-semantics";
import { rowDate, type SubarchRow } from "./scan";

/** Why a row is a candidate: never built, built but failing (retried after twice the stale age), or stale. */
export type Queue = "never-built" | "failing" | "stale";

export interface Candidate {
  row: SubarchRow;
  queue: Queue;
  /** The fail count nextbuild's loop was at (myfail). */
  pass: number;
  /** The minimum age in days the candidate had to have. */
  minAgeDays: number;
}

/** A `.control/.multi_progress` lock as lockFile.exists() judges it. */
export type LockState =
  | { state: "none" }
  /** Holds the PID of a running process: the build is in progress. */
  | { state: "live"; pid: number }
  /** Holds the PID of no process: stale, nextbuild removes it. */
  | { state: "dead"; pid: number }
  /** Holds 0, nothing, or no number (a macaroni host:pid too): nextbuild removes it silently. */
  | { state: "invalid"; content: string };

const stableBy = <T>(list: T[], key: (x: T) => number): T[] =>
  list
    .map((x, i) => [x, i] as const)
    .sort((a, b) => key(a[0]) - key(b[0]) || a[1] - b[1])
    .map(([x]) => x);

/**
 * The walk of nextbuild, in order: every row of every queue that passes the age test (a row may come
 * twice). Lazy, as nextbuild is: it stops at the first candidate it takes.
 */
export function* candidates(rows: SubarchRow[], config: BuildbotConfig, now: NaiveDateTime): Generator<Candidate> {
  const builds = new Set(config.builds);
  const eligible = rows.filter((r) => r.doBuild && builds.has(r.release));
  const withFails = (n: bigint) => eligible.filter((r) => r.failcount === n);
  // SQLite orders NULL dates first; equal dates keep scan order.
  const byDate = (list: SubarchRow[]) => stableBy(list, (r) => rowDate(r)?.ms ?? -Infinity);
  function* take(list: SubarchRow[], queue: Queue, pass: bigint, minAgeDays: number): Generator<Candidate> {
    for (const row of list) {
      const date = rowDate(row);
      if (date && compareAge(now, date, minAgeDays) < 0) continue;
      yield { row, queue, pass: Number(pass), minAgeDays };
    }
  }
  // buildrepo counts myfail up from 0 while it is below max_failcount; only the passes where some row
  // has fail count myfail or myfail + 1 can find anything, so only those are walked.
  const below = (n: bigint) => Number(n) < config.maxFailcount;
  const passes = new Set<bigint>();
  for (const r of eligible) {
    if (r.failcount === null) continue;
    for (const p of [r.failcount, r.failcount - 1n]) if (p >= 0n && below(p)) passes.add(p);
  }
  for (const myfail of [...passes].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
    yield* take(withFails(myfail).filter((r) => r.latest === null), "never-built", myfail, config.staleDays);
    if (below(myfail + 1n)) yield* take(byDate(withFails(myfail + 1n)), "failing", myfail, config.staleDays * 2);
    yield* take(byDate(withFails(myfail).filter((r) => r.latest !== null)), "stale", myfail, config.staleDays);
  }
}

const C_INT_MIN = -(2n ** 31n);
const C_INT_MAX = 2n ** 31n - 1n;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The lock of a row, judged without changing anything. */
export function inspectLock(fs: MirrorFs, row: SubarchRow): LockState & { path: string } {
  const path = `${row.path}/.control/.multi_progress`;
  if (!fs.exists(path)) return { state: "none", path };
  let bytes: Buffer;
  try {
    bytes = readFileSync(fs.resolve(path) ?? path);
  } catch {
    return { state: "invalid", content: "", path };
  }
  const text = decodeText(bytes);
  if (text === null) throw new BuildrepoCrash("UnicodeDecodeError", "the lock file is not UTF-8 text", path);
  const pid = pyInt(text);
  if (pid === null || pid === 0n) return { state: "invalid", content: text, path };
  if (pid < C_INT_MIN || pid > C_INT_MAX) throw new BuildrepoCrash("OverflowError", "the lock's PID does not fit a C int (os.kill)", path);
  return alive(Number(pid)) ? { state: "live", pid: Number(pid), path } : { state: "dead", pid: Number(pid), path };
}

/** lockFile.exists(): true when a live process holds the lock; a stale or invalid lock is deleted. */
export function checkLock(fs: MirrorFs, row: SubarchRow, notes: (line: string) => void): LockState & { path: string } {
  const lock = inspectLock(fs, row);
  if (lock.state === "dead" || lock.state === "invalid") {
    if (lock.state === "dead") notes(`# Removing stale lock file: ${lock.path}`);
    try {
      unlinkSync(lock.path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== "ENOENT") throw new BuildrepoCrash(code === "EISDIR" ? "IsADirectoryError" : "OSError", `cannot remove the lock: ${code}`, lock.path);
    }
  }
  return lock;
}
