// Mounts and deletion, done so that a build can never delete through a bind
// mount into the host (metro's `rm -rf` of a work directory that still had
// /dev bound in it is the classic way to lose a machine).
//
// Invariants:
// - Every decision reads the kernel's mount table (/proc/self/mountinfo),
//   never a cached list of what we think we mounted.
// - Nothing is deleted while anything is mounted at or below it; after
//   unmounting we read the table again and refuse if a mount is left.
// - Only paths strictly inside the configured temporary tree (`path/tmp`)
//   are ever deleted; `/`, an empty path and relative paths are refused.

import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, realpathSync } from "node:fs";
import { isAbsolute, join, normalize, resolve, sep } from "node:path";
import { describeError } from "../system-errors";

export class SafetyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SafetyError";
  }
}

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
export function unmountBelow(dir: string, log: (line: string) => void, beforeRetry?: () => void): void {
  for (let round = 0; round < 5; round++) {
    const points = mountsBelow(dir);
    if (points.length === 0) return;
    for (const point of points) {
      // A parent may have taken this one with it (rbind trees); check again.
      if (!mountPoints().includes(point)) continue;
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
  if (left.length) throw new SafetyError(`these mounts below ${dir} could not be unmounted: ${left.join(", ")}`);
}

/** Refuses any path the builder must never delete; returns the canonical path. */
export function checkDeletable(path: string, tmpRoot: string, what: string): string {
  if (!path || !path.trim()) throw new SafetyError(`refusing to clean ${what}: the path is empty`);
  if (!isAbsolute(path)) throw new SafetyError(`refusing to clean ${what}: ${path} is not an absolute path`);
  if (!tmpRoot || !isAbsolute(tmpRoot)) throw new SafetyError(`refusing to clean ${what}: path/tmp (${tmpRoot || "empty"}) is not an absolute path`);
  const target = canonical(normalize(path));
  const root = canonical(normalize(tmpRoot));
  if (target === "/" || root === "/") throw new SafetyError(`refusing to clean ${what}: ${path} would delete /`);
  if (!isInside(target, root)) {
    throw new SafetyError(`refusing to clean ${what}: ${path} is not inside the temporary tree path/tmp (${tmpRoot})`);
  }
  return target;
}

/**
 * Deletes `path` (a directory tree inside `tmpRoot`): unmount everything
 * below it, verify the table, then remove without crossing file systems.
 */
export function safeRemove(path: string, tmpRoot: string, what: string, log: (line: string) => void, beforeRetry?: () => void): void {
  const target = checkDeletable(path, tmpRoot, what);
  if (!existsSync(target)) return;
  unmountBelow(target, log, beforeRetry);
  const left = mountsBelow(target);
  if (left.length) throw new SafetyError(`refusing to delete ${target}: still mounted: ${left.join(", ")}`);
  // --one-file-system: even if a mount appeared after our check, rm does not descend into it.
  const r = run("rm", ["-rf", "--one-file-system", "--", target]);
  if (!r.ok || existsSync(target)) throw new SafetyError(`could not remove ${target}: ${r.message}`);
}

export interface BindMount {
  /** Directory on the host. */
  source: string;
  /** Path inside the chroot (absolute, e.g. /var/tmp/cache/package). */
  inside: string;
}

/** The bind mounts of a chroot step: proc, /dev (rbind, made a slave), then the caches. */
export function bindChroot(work: string, caches: BindMount[], log: (line: string) => void): void {
  const mountOrThrow = (args: string[], what: string) => {
    const r = run("mount", args);
    if (!r.ok) throw new SafetyError(`could not mount ${what}: ${r.message}`);
  };
  const root = canonical(work);
  // A symbolic link in the unpacked tree (var/tmp -> /tmp) must not make us
  // mount over a host directory: every mount point must resolve inside it.
  const at = (inside: string) => {
    const point = join(work, inside);
    mkdirSync(point, { recursive: true, mode: 0o755 });
    if (!isInside(canonical(point), root)) throw new SafetyError(`refusing to mount at ${point}: it resolves to ${canonical(point)}, outside ${work}`);
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
    mkdirSync(cache.source, { recursive: true, mode: 0o755 });
    log(`mounting ${cache.source} to ${cache.inside}`);
    mountOrThrow(["--rbind", cache.source, at(cache.inside)], `${cache.source} at ${cache.inside}`);
    mountOrThrow(["--make-rslave", at(cache.inside)], `${cache.inside} as a slave`);
  }
}
