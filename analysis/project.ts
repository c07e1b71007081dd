// Every Metro tree the user works in: for each its index (layer 1, no
// context needed) and its contexts (layer 2). Texts of open documents come
// from the caller (`openText`); what changes is announced as events, so the
// model never calls into the editor layer.

import { Workspace } from "../engine/workspace";
import { ContextManager, RecordingWorkspace } from "./contexts";
import { Emitter } from "./events";
import { findTreeRootAbove, findTreeRootsBelow, isInside } from "./trees";
import { WorkspaceIndex, type EntryBudget, type FileIndex } from "./workspace-index";
import type { ByteBudget } from "../engine/workspace";

export type ProjectEvents = {
  /** The findings of these files may have changed. */
  findingsChanged: [files: Iterable<string>];
  /**
   * After an edit the active context is fresh while others still wait (they
   * are paused while the user types): the edited files can be shown now.
   */
  activeFresh: [files: Iterable<string>];
  /** A tree's contexts, their state or the active one changed. */
  contextsChanged: [tree: MetroTree];
};

/**
 * What the trees of a project hold at most, together: bytes of files read
 * (the funtoo tree is 250 KB) and indexed statements and references (about
 * 900 bytes of memory each; funtoo has about 4,000). A folder full of large
 * or dense files costs at most this much parsing and memory; what does not
 * fit is skipped with a diagnostic.
 */
export const MAX_PROJECT_BYTES = 4 * 1024 * 1024;
export const MAX_PROJECT_ENTRIES = 200_000;
/** Element names the evaluated contexts of a project hold together (a funtoo context has about 115). */
export const MAX_PROJECT_ELEMENTS = 250_000;
/** Trees open at once: a folder holding thousands of small trees opens the first ones only. */
export const MAX_TREES = 64;

export interface ProjectBudgets {
  bytes: ByteBudget;
  entries: EntryBudget;
  elements: EntryBudget;
}

export function projectBudgets(): ProjectBudgets {
  return { bytes: { max: MAX_PROJECT_BYTES, held: 0 }, entries: { max: MAX_PROJECT_ENTRIES, held: 0 }, elements: { max: MAX_PROJECT_ELEMENTS, held: 0 } };
}

export class MetroTree {
  readonly workspace: RecordingWorkspace;
  readonly index: WorkspaceIndex;
  readonly contexts: ContextManager;
  /** Milliseconds the first scan took. */
  scanMs = 0;

  constructor(
    readonly root: string,
    openText: (path: string) => string | undefined,
    budgets: ProjectBudgets = projectBudgets(),
  ) {
    this.workspace = new RecordingWorkspace({ readText: openText, budget: budgets.bytes, keepTrees: true, followsDisk: true });
    this.index = new WorkspaceIndex(root, { parse: (p) => this.workspace.getFile(p)?.ast, problem: (p) => this.workspace.problem(p), budget: budgets.entries });
    this.contexts = new ContextManager(root, this.workspace, this.index, budgets.elements);
  }

  fileIndex(path: string): FileIndex | undefined {
    return this.index.files.get(path);
  }

  /** The tree is closed: what it held goes back to the project's budgets. */
  dispose(): void {
    this.contexts.dispose();
    this.index.clear();
    this.workspace.clear();
  }
}

export class Project extends Emitter<ProjectEvents> {
  readonly trees = new Map<string, MetroTree>();
  /** The last value of the contexts setting (or initializationOptions). */
  contextSetting: unknown = undefined;
  /** What all trees together may hold (see MAX_PROJECT_BYTES). */
  readonly budgets: ProjectBudgets = projectBudgets();
  /** Per tree root, the context the user chose last (a client remembers it across restarts). */
  preferredActive: Record<string, string> = {};

  constructor(
    /** The text of an open document, which wins over the disk. */
    readonly openText: (path: string) => string | undefined,
  ) {
    super();
  }

  /**
   * Whether edits are still coming in (the editor layer knows): evaluations
   * wait, and `resume` is called once they stop. None by default.
   */
  protected editing(_resume: () => void): boolean {
    return false;
  }

  /** Trees found but not opened because MAX_TREES were open (the server says so once). */
  treesNotOpened = 0;

  /** Adds the trees found at or below a folder (at most MAX_TREES in all). */
  addFolder(folder: string): MetroTree[] {
    const room = MAX_TREES - this.trees.size;
    const roots = findTreeRootsBelow(folder, 3, room + 1);
    if (roots.length > room) this.treesNotOpened++;
    return roots.slice(0, Math.max(0, room)).map((r) => this.addTree(r));
  }

  addTree(root: string): MetroTree {
    let t = this.trees.get(root);
    if (t) return t;
    const outer = [...this.trees.values()].find((o) => isInside(o.root, root));
    if (outer) return outer;
    // A tree found inside the new one (an opened file's nearest root) is now part of it.
    for (const inner of [...this.trees.keys()]) if (isInside(root, inner)) this.closeTree(inner);
    const tree = new MetroTree(root, this.openText, this.budgets);
    t = tree;
    this.trees.set(root, tree);
    const started = performance.now();
    tree.index.scan();
    tree.scanMs = performance.now() - started;
    tree.contexts.on("evaluated", (files) => this.contextsEvaluated(tree, files));
    tree.contexts.on("progress", (files) => this.emit("activeFresh", files));
    tree.contexts.editing = (resume) => this.editing(resume);
    const preferred = this.preferredActive[root];
    if (typeof preferred === "string") tree.contexts.preferredName = preferred;
    tree.contexts.configure(this.contextSetting);
    this.emit("contextsChanged", tree);
    // Skipped files and an unusable metro-contexts.json get their one diagnostic too.
    this.emit("findingsChanged", [...tree.index.files.keys(), ...tree.index.skipped.keys(), tree.contexts.contextsFile]);
    return tree;
  }

  removeFolder(folder: string): void {
    for (const r of [...this.trees.keys()]) if (r === folder || isInside(folder, r)) this.closeTree(r);
  }

  private closeTree(root: string): void {
    this.trees.get(root)?.dispose();
    this.trees.delete(root);
  }

  /**
   * The tree a file belongs to: the outermost known tree containing it, else
   * the nearest tree root above it (found and indexed now).
   */
  treeFor(path: string, discover = true): MetroTree | undefined {
    let best: MetroTree | undefined;
    for (const t of this.trees.values()) if (isInside(t.root, path) && (!best || t.root.length < best.root.length)) best = t;
    if (best || !discover) return best;
    const root = findTreeRootAbove(path);
    if (root && this.trees.size >= MAX_TREES) {
      this.treesNotOpened++;
      return undefined;
    }
    return root ? this.addTree(root) : undefined;
  }

  private contextsEvaluated(tree: MetroTree, files: Set<string>): void {
    this.emit("contextsChanged", tree);
    // Context findings can appear in any indexed file: republish those that had or now have some.
    const all = new Set(files);
    for (const c of tree.contexts.contexts) for (const d of c.diagnostics) all.add(d.file);
    this.emit("findingsChanged", all);
  }

  /** The paths this model knows in a tree: indexed files and whatever the contexts read. */
  protected knownPaths(tree: MetroTree): Iterable<string> {
    const known = new Set<string>(tree.index.files.keys());
    for (const c of tree.contexts.contexts) for (const f of c.reads) known.add(f);
    return known;
  }

  /**
   * The known paths of a tree naming the same file as `path` (through
   * symbolic links or link placeholders), `path` first: contexts that read
   * `etc/builds/funtoo-current/build.conf` see a change of
   * `etc/builds/1.2-release-std/build.conf` when `funtoo-current` links there.
   */
  aliases(tree: MetroTree, path: string): string[] {
    const id = this.identity(path);
    const out = [path];
    for (const k of new Set(this.knownPaths(tree))) if (k !== path && this.identity(k) === id) out.push(k);
    return out;
  }

  /** Identities of paths (Workspace.identity), kept until a file changes on disk (links may have changed). */
  private identities = new Map<string, string>();
  private identityReader = new Workspace();

  protected identity(path: string): string {
    let id = this.identities.get(path);
    if (id === undefined) this.identities.set(path, (id = this.identityReader.identity(path)));
    return id;
  }

  private forgetIdentities(): void {
    this.identities = new Map();
    this.identityReader = new Workspace();
  }

  /**
   * A file changed: its text in the editor (`onDisk` false: nothing on disk
   * changed), or on disk (written, created; a folder created). `isOpen` says
   * an editor holds it. Every path naming it changed, and on disk every known
   * path below it (a folder created).
   */
  fileChanged(path: string, isOpen = false, onDisk = !isOpen): void {
    const tree = this.treeFor(path, false);
    if (!tree) return;
    // An edit in the editor changes no link; a change on disk may.
    if (onDisk) this.forgetIdentities();
    const [, ...others] = this.aliases(tree, path);
    this.pathChanged(tree, path, isOpen, onDisk);
    for (const p of others) this.pathChanged(tree, p, false, onDisk);
    if (onDisk) for (const p of this.knownBelow(tree, path)) this.pathChanged(tree, p, false, true);
  }

  /**
   * A change on disk at a path an editor holds (a save, another program
   * writing it): the text is the editor's and did not change, but what the
   * disk says about the path (whether it is a link placeholder, what is below
   * it) is read again.
   */
  openFileChangedOnDisk(path: string): void {
    const tree = this.treeFor(path, false);
    if (!tree) return;
    this.forgetIdentities();
    this.diskChanged(tree, path);
  }

  /**
   * A change on disk at `path`: the tree's workspace forgets what it may
   * change, and the contexts that read a path through a link whose answer it
   * may have changed (a target appeared or went) are evaluated again.
   */
  private diskChanged(tree: MetroTree, path: string): void {
    for (const p of tree.workspace.diskChanged(path)) tree.contexts.fileChanged(p, false);
  }


  /** Whether the text of `path` comes from an editor (then it exists whatever the disk says). */
  protected holdsText(_path: string): boolean {
    return false;
  }

  /** Known paths strictly below `path` (files read from a folder that was created or removed). */
  private knownBelow(tree: MetroTree, path: string): string[] {
    const below = path.endsWith("/") ? path : path + "/";
    return [...new Set(this.knownPaths(tree))].filter((p) => p.startsWith(below));
  }

  private pathChanged(tree: MetroTree, path: string, isOpen: boolean, onDisk: boolean): void {
    if (onDisk) this.diskChanged(tree, path);
    else tree.workspace.textChanged(path);
    const before = tree.index.files.has(path);
    const textBefore = tree.index.files.get(path)?.ast.text;
    const namesBefore = definedNames(tree.index.files.get(path));
    // metro-contexts.json is JSON, even when an editor sends it as an open document.
    const metroFile = path !== tree.contexts.contextsFile && (before || tree.index.isMetroFile(path) || isOpen);
    if (metroFile) tree.index.update(path);
    else tree.index.noteFile(path);
    if (path.endsWith("metro-contexts.json")) tree.contexts.configure(this.contextSetting);
    tree.contexts.fileChanged(path, metroFile, commonPrefixLength(textBefore, tree.index.files.get(path)?.ast.text));
    // Layer-1 findings of other files (names no file defines) change when this file's names do.
    const namesAfter = definedNames(tree.index.files.get(path));
    const same = namesBefore.size === namesAfter.size && [...namesBefore].every((n) => namesAfter.has(n));
    this.emit("findingsChanged", same ? [path] : tree.index.files.keys());
  }

  /** A file or folder removed from disk: it, every path naming it and every known path below it. */
  fileDeleted(path: string): void {
    const tree = this.treeFor(path, false);
    if (!tree) return;
    this.forgetIdentities();
    const [, ...others] = this.aliases(tree, path);
    const below = this.knownBelow(tree, path);
    this.pathDeleted(tree, path);
    // An editor holding a file of a removed folder keeps its text.
    for (const p of below) if (this.holdsText(p)) this.diskChanged(tree, p);
    else this.pathDeleted(tree, p);
    // A link to the deleted file now names nothing either.
    for (const p of others) this.pathChanged(tree, p, false, true);
  }

  private pathDeleted(tree: MetroTree, path: string): void {
    this.diskChanged(tree, path);
    const hadNames = definedNames(tree.index.files.get(path)).size > 0;
    tree.index.remove(path);
    tree.contexts.fileChanged(path);
    this.emit("findingsChanged", hadNames ? [path, ...tree.index.files.keys()] : [path]);
  }

  configureContexts(setting: unknown): void {
    this.contextSetting = setting;
    for (const t of this.trees.values()) t.contexts.configure(setting);
  }
}

/** How many leading characters two texts share (0 when either is unknown). */
function commonPrefixLength(a: string | undefined, b: string | undefined): number {
  if (a === undefined || b === undefined) return 0;
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}

function definedNames(file: FileIndex | undefined): Set<string> {
  return new Set(file?.definitions.map((d) => d.name));
}
