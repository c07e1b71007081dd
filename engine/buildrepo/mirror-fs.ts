// The mirror as buildrepo's os.path / os.scandir calls see it: directory
// listings sorted by name, symbolic links followed where Python follows
// them. A link placeholder (a small file holding a link's target, as a copy
// made by a tool that cannot make links leaves behind) counts as the link it
// stands for when its name is that of a tarball, a hash or a signature: the
// only files of a mirror that are links, and ones whose real content (binary,
// or "sha256 <hex>") can never look like a bare path.

import { closeSync, lstatSync, openSync, readdirSync, readlinkSync, readSync, statSync, type Stats } from "node:fs";
import { pyDirname, sortedNames } from "./python-semantics";

export type EntryKind = "file" | "dir" | "other" | "missing";

const PLACEHOLDER_NAME = /(\.tar(\.(gz|bz2|xz))?|\.hash\.txt|\.gpg)$/;
const PLACEHOLDER_MAX = 255;
/** Links nested deeper than this are a loop (ELOOP), as the kernel's limit. */
const MAX_HOPS = 40;

export class MirrorFs {
  constructor(readonly placeholders = true) {}

  private lstat(path: string): Stats | null {
    try {
      return lstatSync(path);
    } catch {
      return null;
    }
  }

  /** The target of a link placeholder at `path`, or null when it is not one. */
  placeholderTarget(path: string, st?: Stats | null): string | null {
    if (!this.placeholders) return null;
    const name = path.slice(path.lastIndexOf("/") + 1);
    if (!PLACEHOLDER_NAME.test(name)) return null;
    st ??= this.lstat(path);
    if (!st || !st.isFile() || st.size === 0 || st.size > PLACEHOLDER_MAX) return null;
    let text: string;
    try {
      const buf = Buffer.alloc(st.size);
      const fd = openSync(path, "r");
      try {
        readSync(fd, buf, 0, st.size, 0);
      } finally {
        closeSync(fd);
      }
      text = new TextDecoder("utf-8", { fatal: true }).decode(buf);
    } catch {
      return null;
    }
    return /^[^\s\x00-\x1f\x7f]+$/.test(text) ? text : null;
  }

  /** os.path.islink (a placeholder counts). */
  isLink(path: string): boolean {
    const st = this.lstat(path);
    if (!st) return false;
    return st.isSymbolicLink() || this.placeholderTarget(path, st) !== null;
  }

  /** os.readlink (a placeholder's content); null when `path` is no link. */
  readLink(path: string): string | null {
    const st = this.lstat(path);
    if (!st) return null;
    if (st.isSymbolicLink()) {
      try {
        return readlinkSync(path);
      } catch {
        return null;
      }
    }
    return this.placeholderTarget(path, st);
  }

  /** os.path.lexists. */
  lexists(path: string): boolean {
    return this.lstat(path) !== null;
  }

  /** The path with links and placeholders of its last component followed: what open() would open, or null (dangling, loop). */
  resolve(path: string): string | null {
    let current = path;
    for (let hop = 0; hop <= MAX_HOPS; hop++) {
      const st = this.lstat(current);
      if (!st) return null;
      let target: string | null = null;
      if (st.isSymbolicLink()) {
        try {
          target = readlinkSync(current);
        } catch {
          return null;
        }
      } else target = this.placeholderTarget(current, st);
      if (target === null) return current;
      current = target.startsWith("/") ? target : `${pyDirname(current) || "."}/${target}`;
    }
    return null;
  }

  /** Where writing to `path` lands: links and placeholders followed to the first missing or non-link entry. */
  writeTarget(path: string): string {
    let current = path;
    for (let hop = 0; hop <= MAX_HOPS; hop++) {
      const st = this.lstat(current);
      if (!st) return current;
      const target = st.isSymbolicLink() ? null : this.placeholderTarget(current, st);
      // A real link is followed by open() itself.
      if (st.isSymbolicLink() || target === null) return current;
      current = target.startsWith("/") ? target : `${pyDirname(current) || "."}/${target}`;
    }
    return current;
  }

  /** What `path` is with links followed (os.stat). */
  kind(path: string): EntryKind {
    const real = this.resolve(path);
    if (real === null) return "missing";
    let st: Stats;
    try {
      st = statSync(real);
    } catch {
      return "missing";
    }
    return st.isFile() ? "file" : st.isDirectory() ? "dir" : "other";
  }

  exists(path: string): boolean {
    return this.kind(path) !== "missing";
  }

  isDir(path: string): boolean {
    return this.kind(path) === "dir";
  }

  isFile(path: string): boolean {
    return this.kind(path) === "file";
  }

  /** os.listdir, sorted by name; the Node error when it cannot be listed. */
  list(path: string): string[] {
    const real = this.resolve(path) ?? path;
    return sortedNames(readdirSync(real));
  }

  /** Like list, but an empty listing where Python's glob and os.walk swallow the error. */
  listQuiet(path: string): string[] {
    try {
      return this.list(path);
    } catch {
      return [];
    }
  }
}
