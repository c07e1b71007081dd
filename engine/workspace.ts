// Files as the engine sees them: parsed once, shared by every context that
// reads them. The language server overlays unsaved documents through
// `readText`; the CLI reads the disk.

import { lstatSync, realpathSync, statSync, type Stats } from "node:fs";
import { basename, dirname, join, sep } from "node:path";
import { decodeMetroBytes, decodeUtf8, parseMetroDecoded, quotePath, type DecodedText, type MetroFile } from "../language";
import { lowerFile, outlineFile, type FileModel } from "./file-model";
import { FileProblem, MAX_FILE_BYTES, describeKind, formatBytes, isInside, problemOf, readRegularFile, realPath, tooLarge, treeRootAbove } from "./files";
import { pyNormpath } from "./paths";

/**
 * A file the workspace read: its text, its syntax tree and its model (what
 * the evaluator applies). The tree is kept once someone asks for it (the
 * editor's index, a finding's location); the evaluator needs only the model,
 * so a run that reports nothing holds no tree: a tree is about 25 times the
 * size of its text. Parsing the same text again gives the same tree.
 */
export class WorkspaceFile {
  private tree: MetroFile | null = null;
  private lowered: FileModel | null = null;
  private normalisedPath: string | null = null;
  constructor(
    readonly path: string,
    private readonly decoded: DecodedText,
    keepTree = false,
  ) {
    if (keepTree) this.tree = parseMetroDecoded(decoded);
  }

  /** The text read (decoded; invalid UTF-8 as replacement characters). */
  get text(): string {
    return this.decoded.text;
  }

  /** The path normalised as metro names a collected file (the name its definitions carry). */
  get normalised(): string {
    return (this.normalisedPath ??= pyNormpath(this.path));
  }

  /** The syntax tree (parsed on first use, then kept). */
  get ast(): MetroFile {
    return (this.tree ??= parseMetroDecoded(this.decoded));
  }

  /**
   * The definitions and collects of the file as the evaluator applies them;
   * their statements come from `ast` when asked for. Read without a tree when
   * none is kept (a file with a line metro stops on is parsed, for the
   * diagnostic).
   */
  get model(): FileModel {
    if (this.lowered === null) {
      if (this.tree === null && !this.decoded.invalid) this.lowered = outlineFile(this.decoded.text, this);
      this.lowered ??= lowerFile(this.tree ?? parseMetroDecoded(this.decoded), this);
    }
    return this.lowered;
  }
}

export interface WorkspaceOptions {
  /** Text of a path when the caller knows better than the disk (an open editor buffer); undefined to read the disk. */
  readText?: (path: string) => string | undefined;
  /**
   * Bytes of files held at once, shared by the workspaces that pass the same
   * object (the language server bounds what a hostile folder can make it
   * hold); past `max` a file is refused as too large. Unlimited when absent.
   */
  budget?: ByteBudget;
  /**
   * Parse each file's syntax tree as it is read and keep it (the editor and
   * `check` index every file anyway); by default a file is read into its
   * model alone and parsed only when a location is asked for.
   */
  keepTrees?: boolean;
  /** Told the bytes read from disk so far, after each file (the CLI sizes V8's heap by it: cli/heap.ts). */
  onBytesRead?: (total: number) => void;
  /**
   * Note which answers went through a link, so that `diskChanged` forgets
   * only what a change can reach (the language server); it costs a real-path
   * look-up for each path asked about. Without it, a change on disk forgets
   * every answer about the disk.
   */
  followsDisk?: boolean;
}

export interface ByteBudget {
  readonly max: number;
  held: number;
}

export type FileKind = "file" | "directory" | "other" | "missing";

export class Workspace {
  private readonly files = new Map<string, WorkspaceFile | null>();
  private readonly texts = new Map<string, string | null>();

  private readonly placeholders = new Map<string, string | FileProblem | null>();
  /** Small files read to see whether they are link placeholders, until they are read for their content (once). */
  private readonly smallFiles = new Map<string, Buffer>();
  private readonly kinds = new Map<string, FileKind>();
  /** Why a path could not be read (or is not a file), for the diagnostics that name it. */
  private readonly problems = new Map<string, FileProblem>();
  /** Bytes read from disk for each path held in `files` or `texts`, and their sum. */
  private readonly sizes = new Map<string, number>();

  /**
   * How many contexts have been set up with this workspace. The evaluator
   * keeps each definition's scanned value for the next context once a second
   * one comes (a build matrix, the language server); a single context scans
   * each value when it expands it and keeps only the result.
   */
  contextsServed = 0;
  private bytesRead = 0;
  /**
   * Calls to the file system made to learn what is at a path (lstat, stat,
   * realpath, the read of a small file): what an answer kept in `kinds` and
   * `placeholders` saves. Tests and `metro/settled` read it.
   */
  diskLookups = 0;
  /**
   * Paths whose answer kept went through a link: a link placeholder followed
   * or refused, a small file that names a path which does not exist yet (it
   * becomes a placeholder when that path appears), a symbolic link. A file
   * created or removed anywhere may change their answers (see `diskChanged`).
   */
  private readonly linked = new Set<string>();
  /** Small files whose text names a path (followed or not): each is a link placeholder, or becomes one when its target appears. */
  private readonly candidates = new Set<string>();

  constructor(private readonly options: WorkspaceOptions = {}) {}

  /**
   * A symbolic link checked out by a tool that cannot make links (git with
   * core.symlinks=false, some archive tools) becomes a small file holding the
   * link's target. metro trees use links for build aliases and shared package
   * lists; such a placeholder is followed like the link it stands for, but
   * only to a regular file or folder inside the tree that holds it (the
   * nearest folder above with `etc/master.conf` or `metro.conf`, else the
   * placeholder's own folder): never to a device or out of the tree.
   */
  private placeholderTarget(path: string): string | FileProblem | null {
    let t = this.placeholders.get(path);
    if (t !== undefined) return t;
    t = null;
    try {
      this.diskLookups++;
      const st = lstatSync(path);
      if (st.isFile() && st.size > 0 && st.size < 256) {
        this.diskLookups++;
        const bytes = readRegularFile(path, 256);
        const text = bytes.toString("utf8");
        if (mayBePlaceholder(text)) {
          this.candidates.add(path);
          const target = join(dirname(path), text);
          this.diskLookups++;
          const real = realPath(target);
          if (real !== undefined) {
            const bound = realPath(treeRootAbove(dirname(path)) ?? dirname(path)) ?? dirname(path);
            const kind = statSync(real);
            if (!isInside(bound, real)) t = new FileProblem("outside-tree", `is a link placeholder to ${quotePath(text)}, outside the tree ${bound}: not followed`);
            else if (!kind.isFile() && !kind.isDirectory()) t = new FileProblem("not-regular", `is a link placeholder to ${quotePath(text)}, which ${describeKind(kind)}: not followed`);
            else t = target;
          }
        }
        // Not a placeholder (most small files): its bytes serve the read that usually follows.
        if (t === null) this.smallFiles.set(path, bytes);
      }
    } catch {
      t = null;
    }
    this.placeholders.set(path, t);
    return t;
  }

  /** The path with link placeholders followed (the real path to read; never the recorded one). Throws a FileProblem. */
  private physical(path: string): string {
    if (!path.startsWith("/")) return path;
    const parts = path.split(sep).filter((p) => p !== "");
    let current = "/";
    for (let i = 0; i < parts.length; i++) {
      current = join(current, parts[i]);
      for (let hops = 0; hops < 8; hops++) {
        const target = this.placeholderTarget(current);
        if (this.candidates.has(current)) this.linked.add(path);
        if (target === null) break;
        if (target instanceof FileProblem) throw target;
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
        const physical = this.physical(path);
        this.diskLookups++;
        const st = statSync(physical);
        if (this.options.followsDisk) this.noteLinks(path, physical);
        k = st.isFile() ? "file" : st.isDirectory() ? "directory" : "other";
        if (k !== "file") this.problems.set(path, new FileProblem(k === "directory" ? "folder" : "not-regular", describeKind(st)));
      } catch (e) {
        const p = problemOf(e);
        // A link placeholder refused, or links in a loop, are not "missing".
        k = p.kind === "missing" ? "missing" : "other";
        this.problems.set(path, p);
        if (this.options.followsDisk) this.noteLinks(path, undefined);
      }
      this.kinds.set(path, k);
    }
    return k;
  }

  /** Why `path` could not be read or is not a regular file (after kind, getFile or readText said so). */
  problem(path: string): FileProblem | undefined {
    return this.problems.get(path);
  }

  /** The file at `path` (read once, parsed when asked), or undefined when it cannot be read (then `problem` says why). */
  getFile(path: string): WorkspaceFile | undefined {
    let f = this.files.get(path);
    if (f === undefined) {
      const overlay = this.options.readText?.(path);
      if (overlay !== undefined) {
        if (overlay.length > MAX_FILE_BYTES) {
          this.problems.set(path, tooLarge(Buffer.byteLength(overlay)));
          f = null;
        } else f = new WorkspaceFile(path, { text: overlay, invalid: false }, this.options.keepTrees);
      } else {
        try {
          f = new WorkspaceFile(path, decodeMetroBytes(this.readDisk(path)), this.options.keepTrees);
        } catch (e) {
          this.problems.set(path, problemOf(e));
          f = null;
        }
      }
      this.files.set(path, f);
    }
    return f ?? undefined;
  }

  /** Raw text of a file read by a `<< PATH` value, or undefined when it cannot be read (then `problem` says why). */
  readText(path: string): string | undefined {
    let t = this.texts.get(path);
    if (t === undefined) {
      const overlay = this.options.readText?.(path);
      if (overlay !== undefined) t = overlay;
      else {
        try {
          t = decodeUtf8(this.readDisk(path));
          if (t === null) throw new FileProblem("invalid-utf8", "is not valid UTF-8 text");
        } catch (e) {
          this.problems.set(path, problemOf(e));
          t = null;
        }
      }
      this.texts.set(path, t);
    }
    return t ?? undefined;
  }

  /** The bytes of `path` from disk (placeholders followed), within the size limits. Throws a FileProblem. */
  private readDisk(path: string): Buffer {
    const real = this.physical(path);
    const small = this.smallFiles.get(real);
    let bytes: Buffer;
    if (small !== undefined) {
      this.smallFiles.delete(real);
      bytes = small;
    } else bytes = readRegularFile(real);
    const budget = this.options.budget;
    const before = this.sizes.get(path) ?? 0;
    if (budget) {
      if (budget.held - before + bytes.length > budget.max) {
        throw new FileProblem("too-large", `cannot be read: with the files already read it would exceed ${formatBytes(budget.max)} in total, the limit`);
      }
      budget.held += bytes.length - before;
    }
    this.sizes.set(path, bytes.length);
    if (this.options.onBytesRead) {
      this.bytesRead += bytes.length;
      this.options.onBytesRead(this.bytesRead);
    }
    return bytes;
  }

  /**
   * Whether the answer about `path` went through a link: `physical` (the path
   * with placeholders followed, when found) differs from its real path, or,
   * for a path not found, the nearest part of it that exists is a link or
   * lies below one (a dangling link gets a target when the target appears).
   */
  private noteLinks(path: string, physical: string | undefined): void {
    if (this.linked.has(path)) return;
    if (!path.startsWith("/")) {
      this.linked.add(path);
      return;
    }
    let p = physical ?? path;
    for (;;) {
      this.diskLookups++;
      let real: string | undefined;
      try {
        real = realpathSync.native(p);
      } catch {
        real = undefined;
      }
      if (real !== undefined) {
        if (real !== p) this.linked.add(path);
        return;
      }
      let st: Stats | undefined;
      try {
        this.diskLookups++;
        st = lstatSync(p);
      } catch {
        st = undefined;
      }
      // It exists but has no real path: a dangling link, a loop, a folder that cannot be searched.
      if (st !== undefined) {
        this.linked.add(path);
        return;
      }
      const up = dirname(p);
      if (up === p) return;
      p = up;
    }
  }

  /** Forgets everything read (the workspace is no longer used), giving back its budget. */
  clear(): void {
    if (this.options.budget) for (const n of this.sizes.values()) this.options.budget.held -= n;
    this.sizes.clear();
    this.files.clear();
    this.texts.clear();
    this.problems.clear();
    this.kinds.clear();
    this.placeholders.clear();
    this.smallFiles.clear();
    this.linked.clear();
    this.candidates.clear();
  }

  /**
   * Forgets what the text of `path` determines: the text, its tree and model,
   * why it could not be read. What is on disk is as it was (an edit of an
   * open document, whose text the editor gives): which paths exist, what
   * link placeholders name, are kept.
   */
  textChanged(path: string): void {
    if (this.options.budget) this.options.budget.held -= this.sizes.get(path) ?? 0;
    this.sizes.delete(path);
    this.files.delete(path);
    this.texts.delete(path);
    const k = this.kinds.get(path);
    // The reason kept with a kind that is not a file goes with it.
    if (k !== undefined && k !== "file") this.kinds.delete(path);
    this.problems.delete(path);
  }

  /**
   * Forgets what a change on disk at `path` (a file or folder created,
   * removed, written) may change, and returns the other paths whose answers
   * may have changed through a link (the contexts that read them are out of
   * date). Its text, and what is known about `path` itself, always. A file
   * rewritten in place that was and is no link placeholder changes nothing
   * else. Otherwise what is at `path` and below it may have changed (a folder
   * created or removed, a file that became a placeholder); and when an answer
   * kept went through a link, that answer may have (a link's target appeared
   * or went away): then every answer about the disk is forgotten, as it is
   * for a workspace that does not note links (`followsDisk`).
   */
  diskChanged(path: string): string[] {
    // A file on disk before: its kind said so, or its bytes were read (not an editor's text).
    const wasFile = this.kinds.get(path) === "file" || this.sizes.has(path);
    const wasPlaceholder = (this.placeholders.get(path) ?? null) !== null || this.candidates.has(path);
    this.textChanged(path);
    this.placeholders.delete(path);
    this.smallFiles.delete(path);
    if (wasFile && !wasPlaceholder && this.isPlainFile(path)) return [];
    const below = path.endsWith(sep) ? path : path + sep;
    const under = (p: string) => p === path || p.startsWith(below);
    // Without `followsDisk` nothing says which answers went through a link: any may have changed.
    if (this.linked.size || !this.options.followsDisk) {
      const affected = [...this.linked].filter((p) => p !== path);
      this.kinds.clear();
      this.placeholders.clear();
      this.smallFiles.clear();
      this.linked.clear();
      this.candidates.clear();
      // A file read through a link, or not read, is read again (with the reason it could not be).
      const again = new Set(affected);
      for (const [p, f] of this.files) if (f === null || again.has(p) || under(p)) this.textChanged(p);
      for (const [p, t] of this.texts) if (t === null || again.has(p) || under(p)) this.textChanged(p);
      this.problems.clear();
      return affected;
    }
    for (const p of this.kinds.keys()) if (under(p)) this.kinds.delete(p);
    for (const p of this.placeholders.keys()) if (under(p)) this.placeholders.delete(p);
    for (const p of this.smallFiles.keys()) if (under(p)) this.smallFiles.delete(p);
    for (const p of [...this.sizes.keys(), ...this.files.keys(), ...this.texts.keys()]) if (under(p)) this.textChanged(p);
    for (const p of this.problems.keys()) if (under(p)) this.problems.delete(p);
    return [];
  }

  /** Whether `path` is now a regular file that is not a link placeholder (it cannot be one: too large, or not naming a path). */
  private isPlainFile(path: string): boolean {
    try {
      this.diskLookups++;
      const st = lstatSync(path);
      if (!st.isFile()) return false;
      if (st.size === 0 || st.size >= 256) return true;
      this.diskLookups++;
      return !mayBePlaceholder(readRegularFile(path, 256).toString("utf8"));
    } catch {
      return false;
    }
  }
}

/** Whether the text of a small file reads as a path (what a link placeholder holds). */
function mayBePlaceholder(text: string): boolean {
  return !/[\s:\0$\[\]#]/.test(text) && !text.startsWith("/");
}
