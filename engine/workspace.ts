// Files as the engine sees them: parsed once, shared by every context that
// reads them. The language server overlays unsaved documents through
// `readText`; the CLI reads the disk.

import { lstatSync, readFileSync, realpathSync, statSync } from "node:fs";
import { basename, dirname, join, sep } from "node:path";
import { parseMetroBytes, parseMetro, type MetroFile } from "../language";

export interface WorkspaceFile {
  path: string;
  ast: MetroFile;
}

export interface WorkspaceOptions {
  /** Text of a path when the caller knows better than the disk (an open editor buffer); undefined to read the disk. */
  readText?: (path: string) => string | undefined;
}

export type FileKind = "file" | "directory" | "other" | "missing";

export class Workspace {
  private readonly files = new Map<string, WorkspaceFile | null>();
  private readonly texts = new Map<string, string | null>();

  private readonly placeholders = new Map<string, string | null>();
  private readonly kinds = new Map<string, FileKind>();

  constructor(private readonly options: WorkspaceOptions = {}) {}

  /**
   * A symbolic link checked out by a tool that cannot make links (git with
   * core.symlinks=false, some archive tools) becomes a small file holding the
   * link's target. metro trees use links for build aliases and shared package
   * lists; such a placeholder is followed like the link it stands for.
   */
  private placeholderTarget(path: string): string | null {
    let t = this.placeholders.get(path);
    if (t !== undefined) return t;
    t = null;
    try {
      const st = lstatSync(path);
      if (st.isFile() && st.size > 0 && st.size < 256) {
        const text = readFileSync(path, "utf8");
        if (!/[\s:\0$\[\]#]/.test(text) && !text.startsWith("/")) {
          const target = join(dirname(path), text);
          try {
            statSync(target);
            t = target;
          } catch {
            t = null;
          }
        }
      }
    } catch {
      t = null;
    }
    this.placeholders.set(path, t);
    return t;
  }

  /** The path with link placeholders followed (the real path to read; never the recorded one). */
  private physical(path: string): string {
    if (!path.startsWith("/")) return path;
    const parts = path.split(sep).filter((p) => p !== "");
    let current = "/";
    for (let i = 0; i < parts.length; i++) {
      current = join(current, parts[i]);
      for (let hops = 0; hops < 8; hops++) {
        const target = this.placeholderTarget(current);
        if (target === null) break;
        current = target;
      }
    }
    return current;
  }

  /**
   * Which file `path` names on disk: symbolic links and link placeholders
   * followed. Two paths with the same identity are one file read twice
   * (`etc/builds/funtoo-current/build.conf` through a link), so a change of
   * one is a change of both. A missing file is named by its folder's identity.
   */
  identity(path: string): string {
    const p = this.physical(path);
    try {
      return realpathSync(p);
    } catch {
      try {
        return join(realpathSync(dirname(p)), basename(p));
      } catch {
        return p;
      }
    }
  }

  /** What is at `path` (symbolic links followed), as metro's os.path.exists / isfile see it. */
  kind(path: string): FileKind {
    if (this.options.readText?.(path) !== undefined) return "file";
    let k = this.kinds.get(path);
    if (k === undefined) {
      try {
        const st = statSync(this.physical(path));
        k = st.isFile() ? "file" : st.isDirectory() ? "directory" : "other";
      } catch {
        k = "missing";
      }
      this.kinds.set(path, k);
    }
    return k;
  }

  /** The parsed file at `path`, or undefined when it cannot be read. */
  getFile(path: string): WorkspaceFile | undefined {
    let f = this.files.get(path);
    if (f === undefined) {
      const overlay = this.options.readText?.(path);
      if (overlay !== undefined) f = { path, ast: parseMetro(overlay) };
      else {
        try {
          f = { path, ast: parseMetroBytes(readFileSync(this.physical(path))) };
        } catch {
          f = null;
        }
      }
      this.files.set(path, f);
    }
    return f ?? undefined;
  }

  /** Raw text of a file read by a `<< PATH` value, or undefined when it cannot be read. */
  readText(path: string): string | undefined {
    let t = this.texts.get(path);
    if (t === undefined) {
      const overlay = this.options.readText?.(path);
      if (overlay !== undefined) t = overlay;
      else {
        try {
          t = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(readFileSync(this.physical(path)));
        } catch {
          t = null;
        }
      }
      this.texts.set(path, t);
    }
    return t ?? undefined;
  }

  /** Forgets what was read from `path` (after an edit or a change on disk). */
  invalidate(path: string): void {
    this.files.delete(path);
    this.texts.delete(path);
    // Which paths exist may have changed too (a file created or removed).
    this.kinds.clear();
    this.placeholders.clear();
  }
}
