// Mounts and deletion, done so that a build can never delete through a bind
// mount into the host (metro's `rm -rf` of a work directory that still had
// /dev bound in it is the classic way to lose a machine).
//
// Invariants:
// - Every decision reads the kernel's mount table (/proc/self/mountinfo),
//   never a cached list of what we think we mounted.
// - Nothing is deleted while anything is mounted at or below it; after
//   unmounting we read the table again and refuse if a mount is left.
// - Only directories that pass `checkedDir` (paths.ts: strictly inside
//   `path/tmp`, normalised, no symbolic link on the way) are unmounted
//   below or deleted, and they are checked again right before `rm`.

import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, realpathSync } from "node:fs";
import { join, resolve, sep } from "node:path";
import { describeError } from "../system-errors";
import { SafetyError, assertKeepsNothing, checkedDir, type CheckedDir, type KeptPath } from "./paths";
import { assertNoLinks, ensureDir, isBelow } from "./guarded-fs";
import { excerptPath } from "../../language";

export { SafetyError };

/** Mount points listed by the kernel for this process's mount namespace. */
export function mountPoints(): string[] {
  const text = readFileSync("/proc/self/mountinfo", "utf8");
  const points: string[] = [];
  for (const line of text.split("\n")) {
    const fields = line.split(" ");
    if (fields.length < 5) continue;
    points.push(unescapeMountPath(fields[4]!));
  }
  return points;
}

// The kernel escapes space, tab, newline and backslash as \ooo.
function unescapeMountPath(text: string): string {
  return text.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** Resolves symbolic links of the longest existing prefix, so /var/tmp -> /x matches the table. */
export function canonical(path: string): string {
  let head = resolve(path);
  const tail: string[] = [];
  while (!existsSync(head)) {
    const parent = resolve(head, "..");
    if (parent === head) break;
    tail.unshift(head.slice(parent.length).replace(/^\//, ""));
    head = parent;
  }
  let real = head;
  try {
    real = realpathSync(head);
  } catch {
    // keep the lexical path
  }
  return tail.length ? join(real, ...tail) : real;
}

export function isInside(path: string, dir: string): boolean {
  const d = dir.endsWith(sep) ? dir : dir + sep;
  return path.startsWith(d);
}

/** Mount points at or below `dir`, deepest first. */
export function mountsBelow(dir: string): string[] {
  const root = canonical(dir);
  return mountPoints()
    .filter((p) => p === root || isInside(p, root))
    .sort((a, b) => b.length - a.length || (a < b ? 1 : -1));
}

function run(cmd: string, args: string[]): { ok: boolean; message: string } {
  const r = spawnSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  if (r.error) return { ok: false, message: describeError(r.error) };
  return { ok: r.status === 0, message: `${(r.stderr || r.stdout || "").trim() || `${cmd} exited with ${r.status}`}` };
}

/**
 * Unmounts everything at or below `dir`, deepest first: a plain unmount,
 * then a lazy one (`umount -l`) for a mount that is busy. `beforeRetry` runs
 * between rounds (the builder kills processes still running in the chroot).
 * Throws a SafetyError naming what is left if the table is not clean at the end.
 */
export function unmountBelow(dir: CheckedDir, log: (line: string) => void, beforeRetry?: () => void): void {
  for (let round = 0; round < 5; round++) {
    const points = mountsBelow(dir);
    if (points.length === 0) return;
    for (const point of points) {
      // A parent may have taken this one with it (rbind trees); check again.
      if (!mountPoints().includes(point)) continue;
      // umount(8) resolves its argument: a mount hidden under another one
      // (a step mounted over its parent and left a link where it was) would
      // lead it out of the chroot, to a mount of the host. Only a point that
      // is reached as itself is unmounted; a hidden one comes out once the
      // mount over it is gone (next round).
      const leadsTo = resolvedElsewhere(point, dir);
      if (leadsTo) {
        log(`not unmounting ${excerptPath(point)} now (a mount over it hides it): ${leadsTo}`);
        continue;
      }
      let r = run("umount", [point]);
      if (!r.ok) {
        log(`umount ${point} failed (${r.message}); unmounting lazily`);
        r = run("umount", ["-l", point]);
        if (!r.ok) log(`umount -l ${point} failed: ${r.message}`);
      }
    }
    if (mountsBelow(dir).length === 0) return;
    beforeRetry?.();
  }
  const left = mountsBelow(dir);
  if (left.length) throw new SafetyError(`these mounts below ${excerptPath(dir)} could not be unmounted: ${left.join(", ")}`);
}

/** Null when `point` (at or below `dir`) is reached as itself, with no link on the way; else why not. */
function resolvedElsewhere(point: string, dir: string): string | null {
  try {
    assertNoLinks(point, dir, "the mount point");
    const real = realpathSync(point);
    return real === point ? null : `the path leads to ${excerptPath(real)}`;
  } catch (error) {
    return describeError(error);
  }
}

/**
 * Deletes `path` (a directory tree strictly inside `tmpRoot` that holds none
 * of `keep`): validate it (paths.ts), unmount everything below it, verify the
 * table, validate again, then remove without crossing file systems.
 */
export function safeRemove(path: string, tmpRoot: string, what: string, keep: readonly KeptPath[], log: (line: string) => void, beforeRetry?: (dir: CheckedDir) => void): void {
  const target = checkedDir(path, tmpRoot, what);
  if (!existsSync(target)) return;
  assertKeepsNothing(what, target, keep);
  unmountBelow(target, log, beforeRetry ? () => beforeRetry(target) : undefined);
  const left = mountsBelow(target);
  if (left.length) throw new SafetyError(`refusing to delete ${excerptPath(target)}: still mounted: ${left.join(", ")}`);
  checkedDir(path, tmpRoot, what);
  assertKeepsNothing(what, target, keep);
  // --one-file-system: even if a mount appeared after our check, rm does not descend into it.
  const r = run("rm", ["-rf", "--one-file-system", "--", target]);
  if (!r.ok || existsSync(target)) throw new SafetyError(`could not remove ${excerptPath(target)}: ${r.message}`);
}

export interface BindMount {
  /** Directory on the host. */
  source: string;
  /** Path inside the chroot (absolute, e.g. /var/tmp/cache/package). */
  inside: string;
}

/** The bind mounts of a chroot step: proc, /dev (rbind, made a slave), then the caches. */
export function bindChroot(work: CheckedDir, tmp: string, caches: BindMount[], log: (line: string) => void): void {
  const mountOrThrow = (args: string[], what: string) => {
    const r = run("mount", args);
    if (!r.ok) throw new SafetyError(`could not mount ${what}: ${r.message}`);
  };
  // mount(8) follows symbolic links in its target, and the unpacked tree is
  // not ours: every mount point is created below path/work one component at
  // a time, and a link anywhere on the way (var/tmp -> /tmp) is refused.
  const at = (inside: string) => {
    const point = join(work, inside);
    try {
      ensureDir(point, work);
    } catch (error) {
      throw new SafetyError(`refusing to mount at ${excerptPath(point)}: ${(error as Error).message}`);
    }
    return point;
  };
  log(`mounting /proc in ${work}`);
  mountOrThrow(["-t", "proc", "none", at("/proc")], `/proc in ${work}`);
  log(`mounting /dev in ${work}`);
  mountOrThrow(["--rbind", "/dev", at("/dev")], `/dev in ${work}`);
  // With shared propagation (systemd hosts), unmounting the rbind copy would
  // propagate to the host's /dev/pts and friends; a slave copy cannot.
  mountOrThrow(["--make-rslave", at("/dev")], `/dev in ${work} as a slave`);
  for (const cache of caches) {
    if (isBelow(cache.source, tmp)) ensureDir(cache.source, tmp);
    else mkdirSync(cache.source, { recursive: true, mode: 0o755 });
    log(`mounting ${cache.source} to ${cache.inside}`);
    mountOrThrow(["--rbind", cache.source, at(cache.inside)], `${cache.source} at ${cache.inside}`);
    mountOrThrow(["--make-rslave", at(cache.inside)], `${cache.inside} as a slave`);
  }
}
