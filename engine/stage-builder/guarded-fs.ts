// Writing, chowning and deleting single files in the mirror and in
// `path/tmp` without ever following a symbolic link the builder did not make.
//
// A shared mirror (`path/mirror/dirmode: 775`) lets group members replace
// `status`, `.targets`, a log or a lock with a link to a root-owned file; a
// chroot unpacked from a tarball may hold links anywhere. So:
// - every directory on the way from a trusted root (path/mirror, path/tmp,
//   path/work) down to the file is checked with lstat and created here, one
//   component at a time, never through a link (`ensureDir`);
// - files are opened with O_NOFOLLOW (and written through a temporary file
//   renamed over the old one where a reader must never see half a file);
// - ownership is set with fchown on the open descriptor, never by name.
// Every failure is a GuardedFsError whose message names the file.

import { reasonOf } from "../system-errors";
import { excerptPath } from "../../language";
import { spawnSync } from "node:child_process";
import { closeSync, constants, fchmodSync, fchownSync, fstatSync, ftruncateSync, lstatSync, mkdirSync, openSync, readSync, readlinkSync, renameSync, unlinkSync, writeSync, type Stats } from "node:fs";
import { basename, dirname, isAbsolute, join, normalize, sep } from "node:path";

const { O_WRONLY, O_RDONLY, O_CREAT, O_EXCL, O_APPEND, O_NOFOLLOW, O_NONBLOCK, O_DIRECTORY } = constants;

/** A file the builder refuses to touch, or could not write; the message names it. */
export class GuardedFsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GuardedFsError";
  }
}

/** An errno in words, for a message that already names the file. */
export function errnoText(error: unknown): string {
  if ((error as NodeJS.ErrnoException)?.code === "ELOOP") return "it is a symbolic link; the builder does not follow links it did not make";
  return reasonOf(error);
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new GuardedFsError(`cannot inspect ${excerptPath(path)}: ${errnoText(error)}`);
  }
}

function linkTarget(path: string): string {
  try {
    return ` to ${readlinkSync(path)}`;
  } catch {
    return "";
  }
}

function kindOf(st: Stats): string {
  if (st.isSymbolicLink()) return "a symbolic link";
  if (st.isDirectory()) return "a directory";
  if (st.isFile()) return "a regular file";
  if (st.isFIFO()) return "a named pipe";
  if (st.isSocket()) return "a socket";
  if (st.isCharacterDevice() || st.isBlockDevice()) return "a device";
  return "not a regular file";
}

/** `path` lies strictly below `root` (both absolute and normalised). */
export function isBelow(path: string, root: string): boolean {
  const r = root.endsWith(sep) ? root : root + sep;
  return path.startsWith(r);
}

/**
 * The components of `path` below `root`, as full paths (root excluded). A
 * path that is not below its root is checked from `/`: every component of
 * it is then held to the same rule.
 */
function componentsBelow(path: string, root: string): string[] {
  const start = isBelow(path, root) ? root : "/";
  const rest = path.slice(start.length).split("/").filter((p) => p !== "");
  const out: string[] = [];
  let current = start;
  for (const part of rest) {
    current = join(current, part);
    out.push(current);
  }
  return out;
}

function checkAbsolute(path: string, what: string): void {
  if (!isAbsolute(path) || normalize(path) !== path || (path.length > 1 && path.endsWith("/"))) {
    throw new GuardedFsError(`${what} ${path ? excerptPath(path) : "(empty)"} is not an absolute, normalised path`);
  }
}

/**
 * Checks that no component of `path` below `root` is a symbolic link (or,
 * for the directories on the way, anything but a directory). Missing
 * components are fine. Throws a GuardedFsError naming the offending path.
 */
export function assertNoLinks(path: string, root: string, what = "path"): void {
  checkAbsolute(path, what);
  const parts = componentsBelow(path, root);
  for (let i = 0; i < parts.length; i++) {
    const st = lstatOrNull(parts[i]!);
    if (st === null) return;
    const where = parts[i] === path ? path : `${parts[i]} (on the way to ${path})`;
    if (st.isSymbolicLink()) {
      throw new GuardedFsError(`${excerptPath(where)} is a symbolic link${linkTarget(parts[i]!)}; the builder never follows links it did not make (remove the link)`);
    }
    if (i < parts.length - 1 && !st.isDirectory()) {
      throw new GuardedFsError(`${excerptPath(where)} is ${kindOf(st)}, not a directory`);
    }
  }
}

export interface DirOptions {
  /** Mode of the directories created (default 0755, umask applies). */
  mode?: number;
  /** Applied to the last directory when this call creates it: numeric owner, group and exact mode. */
  last?: { uid?: number; gid?: number; mode?: number };
}

/**
 * mkdir -p that never walks through a link: each component below `root` is
 * created (or found) as a real directory. `root` itself is created with its
 * parents when missing (it is a configured location).
 */
export function ensureDir(dir: string, root: string, options: DirOptions = {}): void {
  checkAbsolute(dir, "directory");
  checkAbsolute(root, "directory");
  if (lstatOrNull(root) === null) {
    try {
      mkdirSync(root, { recursive: true, mode: 0o755 });
    } catch (error) {
      throw new GuardedFsError(`cannot create ${excerptPath(root)}: ${errnoText(error)}`);
    }
  }
  const parts = componentsBelow(dir, root);
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const isLast = i === parts.length - 1;
    let st = lstatOrNull(part);
    if (st === null) {
      try {
        mkdirSync(part, { mode: options.mode ?? 0o755 });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw new GuardedFsError(`cannot create the directory ${excerptPath(part)}: ${errnoText(error)}`);
      }
      st = lstatOrNull(part);
      if (st && st.isDirectory() && isLast && options.last) applyToDirectory(part, options.last);
    }
    const where = part === dir ? dir : `${part} (on the way to ${dir})`;
    if (st === null) throw new GuardedFsError(`cannot create the directory ${excerptPath(where)}: it vanished`);
    if (st.isSymbolicLink()) {
      throw new GuardedFsError(`${excerptPath(where)} is a symbolic link${linkTarget(part)}; the builder never follows links it did not make (remove the link)`);
    }
    if (!st.isDirectory()) throw new GuardedFsError(`${excerptPath(where)} is ${kindOf(st)}, not a directory`);
  }
}

function applyToDirectory(path: string, how: { uid?: number; gid?: number; mode?: number }): void {
  let fd: number;
  try {
    fd = openSync(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  } catch (error) {
    throw new GuardedFsError(`cannot open the directory ${excerptPath(path)}: ${errnoText(error)}`);
  }
  try {
    if (how.uid !== undefined || how.gid !== undefined) fchownSync(fd, how.uid ?? -1, how.gid ?? -1);
    if (how.mode !== undefined) fchmodSync(fd, how.mode);
  } catch (error) {
    throw new GuardedFsError(`cannot set the owner or mode of ${excerptPath(path)}: ${errnoText(error)}`);
  } finally {
    closeSync(fd);
  }
}

/**
 * A directory held open, reached from `root` one component at a time, each
 * opened with O_NOFOLLOW through the descriptor of the one before
 * (/proc/self/fd/N/name): names are then resolved in the directory that was
 * checked, so a component swapped for a link after the checks (a shared
 * mirror's other users) is refused, never followed. Where /proc is missing,
 * names are resolved by path (the lstat checks still apply).
 */
class AnchoredDir {
  private constructor(private readonly fd: number | null, private readonly dir: string) {}

  static open(dir: string, root: string): AnchoredDir {
    if (!procFdWorks()) return new AnchoredDir(null, dir);
    const start = dir === root || isBelow(dir, root) ? root : "/";
    let fd: number;
    try {
      fd = openSync(start, O_RDONLY | O_DIRECTORY);
    } catch (error) {
      throw new GuardedFsError(`cannot open the directory ${excerptPath(start)}: ${errnoText(error)}`);
    }
    for (const part of dir === start ? [] : componentsBelow(dir, start)) {
      const name = basename(part);
      let next: number;
      try {
        next = openSync(`/proc/self/fd/${fd}/${name}`, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
      } catch (error) {
        closeSync(fd);
        const code = (error as NodeJS.ErrnoException).code;
        const where = part === dir ? excerptPath(dir) : `${excerptPath(part)} (on the way to ${excerptPath(dir)})`;
        if (code === "ELOOP") throw new GuardedFsError(`${where} is a symbolic link; the builder never follows links it did not make (remove the link)`);
        if (code === "ENOTDIR") throw new GuardedFsError(`${where} is not a directory`);
        throw new GuardedFsError(`cannot open the directory ${where}: ${errnoText(error)}`);
      }
      closeSync(fd);
      fd = next;
    }
    return new AnchoredDir(fd, dir);
  }

  /** The path that names `name` in the directory held open. */
  at(name: string): string {
    return this.fd === null ? join(this.dir, name) : `/proc/self/fd/${this.fd}/${name}`;
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
  }
}

let procFd: boolean | null = null;
function procFdWorks(): boolean {
  if (procFd === null) {
    try {
      procFd = lstatSync("/proc/self/fd").isDirectory();
    } catch {
      procFd = false;
    }
  }
  return procFd;
}

/** Runs `body` with `path`'s directory held open (AnchoredDir) and the name of `path` in it. */
function inAnchoredDir<T>(path: string, root: string, body: (at: string, dir: AnchoredDir) => T): T {
  const dir = AnchoredDir.open(dirname(path), root);
  try {
    return body(dir.at(basename(path)), dir);
  } finally {
    dir.close();
  }
}

/** Refuses an existing `path` that is not a regular file (a planted link, a directory, a FIFO); `at` is where to look (default: the path). */
export function assertRegularOrMissing(path: string, what: string, at = path): void {
  const st = lstatOrNull(at);
  if (st === null || st.isFile()) return;
  if (st.isSymbolicLink()) throw new GuardedFsError(`refusing to write ${what} ${excerptPath(path)}: it is a symbolic link; the builder never follows links it did not make (remove the link)`);
  throw new GuardedFsError(`refusing to write ${what} ${excerptPath(path)}: it is ${kindOf(st)}, not a regular file`);
}

function writeAll(fd: number, data: Buffer): void {
  let off = 0;
  while (off < data.length) off += writeSync(fd, data, off, data.length - off);
}

export interface WriteOptions {
  mode?: number;
  /** What the file is, for messages ("the status file"). */
  what?: string;
}

/**
 * Replaces `path` (below `root`) with `text`: directories checked and
 * created without following links, an existing link or non-file refused,
 * the text written to a new temporary file (O_EXCL, O_NOFOLLOW) in the same
 * directory and renamed over the old one. On failure (a full disk) the
 * temporary file is removed and the old file is left as it was.
 */
export function writeFileGuarded(path: string, root: string, text: string, options: WriteOptions = {}): void {
  const what = options.what ?? "the file";
  ensureDir(dirname(path), root);
  assertRegularOrMissing(path, what);
  inAnchoredDir(path, root, (target, dir) => {
    assertRegularOrMissing(path, what, target); // again, in the directory held open
    const temp = dir.at(`.${basename(path)}.${process.pid}.tmp`);
    let fd: number;
    try {
      try {
        unlinkSync(temp); // a leftover of an earlier run of ours (unlink never follows a link)
      } catch {
        // none
      }
      fd = openSync(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, options.mode ?? 0o644);
    } catch (error) {
      throw new GuardedFsError(`cannot write ${what} ${excerptPath(path)}: ${errnoText(error)}`);
    }
    try {
      writeAll(fd, Buffer.from(text, "utf8"));
      closeSync(fd);
      fd = -1;
      renameSync(temp, target);
    } catch (error) {
      if (fd >= 0) closeSync(fd);
      try {
        unlinkSync(temp);
      } catch {
        // already gone
      }
      throw new GuardedFsError(`cannot write ${what} ${excerptPath(path)}: ${errnoText(error)}`);
    }
  });
}

/** Creates `path` exclusively (O_EXCL never follows a link) and writes `text`; false when it exists. */
export function createExclusive(path: string, root: string, text: string, what: string, mode = 0o644): boolean {
  ensureDir(dirname(path), root);
  return inAnchoredDir(path, root, (target) => {
    let fd: number;
    try {
      fd = openSync(target, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
      throw new GuardedFsError(`cannot create ${what} ${excerptPath(path)}: ${errnoText(error)}`);
    }
    try {
      writeAll(fd, Buffer.from(text, "utf8"));
      closeSync(fd);
    } catch (error) {
      closeSync(fd);
      try {
        unlinkSync(target);
      } catch {
        // already gone
      }
      throw new GuardedFsError(`cannot write ${what} ${excerptPath(path)}: ${errnoText(error)}`);
    }
    return true;
  });
}

/**
 * Opens `path` (below `root`) for appending, or truncated, without following
 * a link; sets its owner on the descriptor. Returns the descriptor.
 */
export function openForAppend(path: string, root: string, options: { truncate: boolean; uid?: number; gid?: number; what: string }): number {
  ensureDir(dirname(path), root);
  assertRegularOrMissing(path, options.what);
  let fd: number;
  try {
    // Truncated only after the checks below (O_TRUNC would act first).
    // O_NONBLOCK: a FIFO swapped in after the check must not hang the build (the fstat below refuses it).
    fd = inAnchoredDir(path, root, (target) => openSync(target, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_NONBLOCK, 0o644));
  } catch (error) {
    if (error instanceof GuardedFsError) throw error;
    throw new GuardedFsError(`cannot open ${options.what} ${excerptPath(path)}: ${errnoText(error)}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new GuardedFsError(`refusing to write ${options.what} ${excerptPath(path)}: it is not a regular file`);
    // A hard link planted in a shared mirror would make the append (and the chown) reach another file.
    if (st.nlink > 1) throw new GuardedFsError(`refusing to write ${options.what} ${excerptPath(path)}: it has ${st.nlink - 1} other hard link(s); remove it`);
    if (options.truncate) ftruncateSync(fd, 0);
    if (options.uid !== undefined || options.gid !== undefined) fchownSync(fd, options.uid ?? -1, options.gid ?? -1);
  } catch (error) {
    closeSync(fd);
    if (error instanceof GuardedFsError) throw error;
    throw new GuardedFsError(`cannot prepare ${options.what} ${excerptPath(path)} (truncate, owner): ${errnoText(error)}`);
  }
  return fd;
}

/**
 * Opens a regular file for reading without following a link and without
 * blocking (a FIFO swapped in); null when it does not exist. Returns the
 * descriptor and the file's status.
 */
export function openForReading(path: string, what: string): { fd: number; st: Stats } | null {
  let fd: number;
  try {
    fd = openSync(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return null;
    if (code === "ELOOP") throw new GuardedFsError(`refusing to read ${what} ${excerptPath(path)}: it is a symbolic link; the builder never follows links it did not make (remove the link)`);
    throw new GuardedFsError(`cannot read ${what} ${excerptPath(path)}: ${errnoText(error)}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new GuardedFsError(`refusing to read ${what} ${excerptPath(path)}: it is ${st.isDirectory() ? "a directory" : "not a regular file"}`);
    return { fd, st };
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

/** Reads a small regular file without following a link; null when it does not exist. */
export function readFileGuarded(path: string, what: string, maxBytes = 1 << 20): string | null {
  const opened = openForReading(path, what);
  if (opened === null) return null;
  const { fd, st } = opened;
  try {
    const size = Math.min(st.size, maxBytes);
    const buf = Buffer.alloc(size);
    let off = 0;
    while (off < size) {
      const n = readSync(fd, buf, off, size - off, off);
      if (n === 0) break;
      off += n;
    }
    return buf.subarray(0, off).toString("utf8");
  } finally {
    closeSync(fd);
  }
}

/** Unlinks one file below `root` (never a directory; unlink never follows the last link). False when missing. */
export function unlinkGuarded(path: string, root: string, what: string): boolean {
  assertNoLinks(dirname(path), root, what);
  if (lstatOrNull(dirname(path)) === null) return false;
  return inAnchoredDir(path, root, (target) => {
    const st = lstatOrNull(target);
    if (st === null) return false;
    if (st.isDirectory()) throw new GuardedFsError(`refusing to remove ${what} ${excerptPath(path)}: it is a directory`);
    try {
      unlinkSync(target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw new GuardedFsError(`cannot remove ${what} ${excerptPath(path)}: ${errnoText(error)}`);
    }
    return true;
  });
}

/** Writes to an open descriptor; a failure (a full disk) names the file. */
export function writeToFd(fd: number, text: string, path: string, what: string): void {
  try {
    writeAll(fd, Buffer.from(text, "utf8"));
  } catch (error) {
    throw new GuardedFsError(`cannot write ${what} ${excerptPath(path)}: ${errnoText(error)}`);
  }
}

/** Numeric ids for path/mirror/owner and /group (names looked up with id and getent); undefined when not set. */
export function resolveOwner(owner: string | undefined, group: string | undefined): { uid?: number; gid?: number; problem?: string } {
  const out: { uid?: number; gid?: number; problem?: string } = {};
  if (owner) {
    if (/^\d+$/.test(owner)) out.uid = Number(owner);
    else {
      const r = spawnSync("id", ["-u", "--", owner], { encoding: "utf8" });
      if (r.status === 0 && /^\d+\s*$/.test(r.stdout)) out.uid = Number(r.stdout.trim());
      else out.problem = `unknown user ${owner} (path/mirror/owner)`;
    }
  }
  if (group) {
    if (/^\d+$/.test(group)) out.gid = Number(group);
    else {
      const r = spawnSync("getent", ["group", "--", group], { encoding: "utf8" });
      const gid = r.status === 0 ? r.stdout.split(":")[2] : undefined;
      if (gid && /^\d+$/.test(gid)) out.gid = Number(gid);
      else out.problem = `unknown group ${group} (path/mirror/group)`;
    }
  }
  return out;
}

/**
 * The distinct lines of a file (no link followed, never blocking) that
 * `wanted` picks, read in chunks so a log of any size takes constant memory:
 * at most `maxLines` lines, each at most `maxLineChars` long (longer lines
 * are skipped). Null when the file does not exist.
 */
export function pickLines(path: string, what: string, wanted: (line: string) => boolean, maxLines = 10_000, maxLineChars = 4096): Set<string> | null {
  const opened = openForReading(path, what);
  if (opened === null) return null;
  const fd = opened.fd;
  const picked = new Set<string>();
  try {
    const chunk = Buffer.alloc(1 << 20);
    let carry = "";
    let skipping = false; // inside a line longer than maxLineChars
    const take = (line: string) => {
      const text = line.endsWith("\r") ? line.slice(0, -1) : line;
      if (picked.size < maxLines && wanted(text)) picked.add(text);
    };
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      const parts = (carry + chunk.toString("latin1", 0, n)).split("\n");
      carry = parts.pop()!;
      for (const part of parts) {
        if (!skipping) take(Buffer.from(part, "latin1").toString("utf8"));
        skipping = false;
      }
      if (carry.length > maxLineChars) {
        carry = "";
        skipping = true;
      }
    }
    if (!skipping && carry) take(Buffer.from(carry, "latin1").toString("utf8"));
  } finally {
    closeSync(fd);
  }
  return picked;
}
