// Reading files of a tree without trusting them: a regular file only (a FIFO
// would block forever, a device such as /dev/zero never ends), of a bounded
// size, opened without blocking; every refusal is a reason in words, never
// an errno name. Every layer that reads a tree's files reads them here.

import { closeSync, constants, existsSync, fstatSync, ftruncateSync, openSync, readSync, realpathSync, writeSync, type Stats } from "node:fs";
import { dirname, isAbsolute, join, relative, sep } from "node:path";
import { decodeUtf8 } from "../language/text";

/**
 * Files larger than this are not read. The largest file of the funtoo tree
 * is 8 KB (the whole tree 250 KB), and parsing costs about 90 MB of memory
 * per MB of Metro text, so this bounds what one hostile file can cost.
 */
export const MAX_FILE_BYTES = 1024 * 1024;

/** Why a file could not be read. */
export type FileProblemKind =
  | "missing"
  | "loop"
  | "folder"
  | "not-regular"
  | "too-large"
  | "denied"
  | "invalid-utf8"
  | "outside-tree"
  | "other";

export class FileProblem extends Error {
  constructor(
    readonly kind: FileProblemKind,
    /** Words that follow the file's name: "does not exist", "is a FIFO, not a regular file". */
    readonly words: string,
  ) {
    super(words);
    this.name = "FileProblem";
  }
}

/** The diagnostic code of a problem other than a missing file (whose code depends on who wanted it). */
export function problemCode(kind: Exclude<FileProblemKind, "missing">): FileProblemCode {
  switch (kind) {
    case "loop": return "metro/link-loop";
    case "folder": case "not-regular": return "metro/not-a-file";
    case "too-large": return "metro/file-too-large";
    case "invalid-utf8": return "metro/invalid-utf8";
    case "outside-tree": return "metro/link-outside-tree";
    default: return "metro/unreadable-file";
  }
}

export type FileProblemCode = "metro/link-loop" | "metro/not-a-file" | "metro/file-too-large" | "metro/invalid-utf8" | "metro/link-outside-tree" | "metro/unreadable-file";

/** What a non-regular file is, in words. */
export function describeKind(st: Stats): string {
  if (st.isDirectory()) return "is a folder, not a file";
  if (st.isFIFO()) return "is a FIFO, not a regular file";
  if (st.isCharacterDevice() || st.isBlockDevice()) return "is a device, not a regular file";
  if (st.isSocket()) return "is a socket, not a regular file";
  return "is not a regular file";
}

/** An errno in words. */
export function describeFsError(e: NodeJS.ErrnoException): string {
  return problemOf(e).words;
}

/** An errno as a problem. */
export function problemOf(e: unknown): FileProblem {
  if (e instanceof FileProblem) return e;
  const err = e as NodeJS.ErrnoException;
  switch (err?.code) {
    case "ENOENT": return new FileProblem("missing", "does not exist");
    case "ENOTDIR": return new FileProblem("missing", "does not exist (a part of its path is not a folder)");
    case "EACCES": case "EPERM": return new FileProblem("denied", "cannot be read: permission denied");
    case "EISDIR": return new FileProblem("folder", "is a folder, not a file");
    case "ELOOP": return new FileProblem("loop", "cannot be read: its symbolic links form a loop");
    case "ENAMETOOLONG": return new FileProblem("other", "cannot be read: the path is too long");
    case "ENXIO": case "ENODEV": return new FileProblem("not-regular", "is a device or socket, not a regular file");
    case "EAGAIN": case "EWOULDBLOCK": return new FileProblem("not-regular", "cannot be read without waiting: it is a special file, not a regular file");
    case "EFBIG": case "EOVERFLOW": return new FileProblem("too-large", "is too large to read");
    case "EMFILE": case "ENFILE": return new FileProblem("other", "cannot be read now: too many files are open");
    default: {
      // Node refuses a path holding a NUL byte before asking the system (no file name can hold one).
      if (err?.code === "ERR_INVALID_ARG_VALUE" && /null bytes/.test(err.message ?? "")) return new FileProblem("other", "cannot be read: its path holds a NUL character, which no file name can");
      // Node's message without the errno name and the system call: "EIO: i/o error, read" -> "i/o error".
      const words = (err?.message ?? String(e)).replace(/^[A-Z0-9_]+: /, "").replace(/, [a-z_]+( '.*')?( -> '.*')?$/, "");
      return new FileProblem("other", `cannot be read: ${words}`);
    }
  }
}

/** The problem of a file of `size` bytes when at most `maxBytes` are read. */
export function tooLarge(size: number, maxBytes = MAX_FILE_BYTES): FileProblem {
  return new FileProblem("too-large", `is ${formatBytes(size)}, more than the ${formatBytes(maxBytes)} metro-engine reads of one file`);
}

/** "1 MiB", "20.5 MiB", "1,048,577 bytes" (exact when rounding would hide a difference). */
export function formatBytes(n: number): string {
  const MiB = 1024 * 1024;
  if (n % MiB === 0) return `${n / MiB} MiB`;
  if (n >= 10 * MiB) return `${(n / MiB).toFixed(1).replace(/\.0$/, "")} MiB`;
  return `${n.toLocaleString("en-US")} bytes`;
}

/**
 * The bytes of a regular file (symbolic links followed), opened without
 * blocking on a FIFO and refused when larger than `maxBytes`. Throws a
 * FileProblem.
 */
export function readRegularFile(file: string, maxBytes = MAX_FILE_BYTES): Buffer {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw problemOf(e);
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) throw new FileProblem("folder", describeKind(st));
    if (!st.isFile()) throw new FileProblem("not-regular", describeKind(st));
    if (st.size > maxBytes) throw tooLarge(st.size, maxBytes);
    // Read one byte more than the size said: a file that grows while it is read is still bounded.
    const buf = Buffer.alloc(st.size + 1);
    let off = 0;
    while (off < buf.length) {
      let n: number;
      try {
        n = readSync(fd, buf, off, buf.length - off, off);
      } catch (e) {
        throw problemOf(e);
      }
      if (n === 0) break;
      off += n;
    }
    return off === buf.length ? readRest(fd, buf, maxBytes) : buf.subarray(0, off);
  } finally {
    closeSync(fd);
  }
}

/** A file that grew after fstat: read on, up to the limit. */
function readRest(fd: number, head: Buffer, maxBytes: number): Buffer {
  const chunks = [head];
  let total = head.length;
  if (total > maxBytes) throw tooLarge(total, maxBytes);
  for (;;) {
    const chunk = Buffer.alloc(64 * 1024);
    let n: number;
    try {
      n = readSync(fd, chunk, 0, chunk.length, total);
    } catch (e) {
      throw problemOf(e);
    }
    if (n === 0) break;
    chunks.push(chunk.subarray(0, n));
    total += n;
    if (total > maxBytes) throw tooLarge(total, maxBytes);
  }
  return Buffer.concat(chunks, total);
}

/** The text of a regular file read with readRegularFile; invalid UTF-8 is a FileProblem too. */
export function readRegularText(file: string, maxBytes = MAX_FILE_BYTES): string {
  const text = decodeUtf8(readRegularFile(file, maxBytes));
  if (text === null) throw new FileProblem("invalid-utf8", "is not valid UTF-8 text");
  return text;
}

/**
 * Writes `text` to `file`, which must be a regular file or not exist: never
 * through a symbolic link, never into a FIFO or a device (opening one would
 * block or write elsewhere). Throws a FileProblem.
 */
export function writeRegularFile(file: string, text: string): void {
  let fd: number;
  try {
    fd = openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK, 0o644);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === "ELOOP") throw new FileProblem("not-regular", "is a symbolic link: not written through");
    if (err.code === "ENXIO") throw new FileProblem("not-regular", "is a FIFO, not a regular file");
    throw problemOf(e);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new FileProblem(st.isDirectory() ? "folder" : "not-regular", describeKind(st));
    ftruncateSync(fd, 0);
    const bytes = Buffer.from(text, "utf8");
    for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off, bytes.length - off, off);
  } finally {
    closeSync(fd);
  }
}

/** A folder holding `etc/master.conf` or `metro.conf`: the root of a Metro tree. */
export function isTreeRoot(dir: string): boolean {
  return existsSync(join(dir, "etc", "master.conf")) || existsSync(join(dir, "metro.conf"));
}

/** The nearest tree root at or above `dir`, or undefined. */
export function treeRootAbove(dir: string): string | undefined {
  for (;;) {
    if (isTreeRoot(dir)) return dir;
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

/** Whether `path` is `root` or lies below it (both as given: resolve links first when that matters). */
export function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === "" || (rel !== ".." && !rel.startsWith(".." + sep) && !isAbsolute(rel));
}

/** The real path, or undefined when it cannot be resolved. */
export function realPath(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}
