// Every Metro tree the user works in: for each its index (layer 1, no
// context needed) and its contexts (layer 2). Texts of open documents come
// from the caller (`openText`); what changes is announced as events, so the
// model never calls into the editor layer.

import { ContextManager, RecordingWorkspace } from "./contexts";
import { Emitter } from "./events";
import { findTreeRootAbove, findTreeRootsBelow, isInside } from "./trees";
import { WorkspaceIndex, type FileIndex } from "./workspace-index";

export type ProjectEvents = {
  /** The findings of these files may have changed. */
  findingsChanged: [files: Iterable<string>];
  /** A tree's contexts, their state or the active one changed. */
  contextsChanged: [tree: MetroTree];
};

export class MetroTree {
  readonly workspace: RecordingWorkspace;
  readonly index: WorkspaceIndex;
  readonly contexts: ContextManager;
  /** Milliseconds the first scan took. */
  scanMs = 0;

  constructor(
    readonly root: string,
    openText: (path: string) => string | undefined,
  ) {
    this.workspace = new RecordingWorkspace({ readText: openText });
    this.index = new WorkspaceIndex(root, { parse: (p) => this.workspace.getFile(p)?.ast });
    this.contexts = new ContextManager(root, this.workspace, this.index);
  }

  fileIndex(path: string): FileIndex | undefined {
    return this.index.files.get(path);
  }
}

export class Project extends Emitter<ProjectEvents> {
  readonly trees = new Map<string, MetroTree>();
  /** The last value of the contexts setting (or initializationOptions). */
  contextSetting: unknown = undefined;

  constructor(
    /** The text of an open document, which wins over the disk. */
    readonly openText: (path: string) => string | undefined,
  ) {
    super();
  }

  /** Adds the trees found at or below a folder. */
  addFolder(folder: string): MetroTree[] {
    return findTreeRootsBelow(folder).map((r) => this.addTree(r));
  }

  addTree(root: string): MetroTree {
    let t = this.trees.get(root);
    if (t) return t;
    const outer = [...this.trees.values()].find((o) => isInside(o.root, root));
    if (outer) return outer;
    // A tree found inside the new one (an opened file's nearest root) is now part of it.
    for (const inner of [...this.trees.keys()]) if (isInside(root, inner)) this.trees.delete(inner);
    const tree = new MetroTree(root, this.openText);
    t = tree;
    this.trees.set(root, tree);
    const started = performance.now();
    tree.index.scan();
    tree.scanMs = performance.now() - started;
    tree.contexts.on("evaluated", (files) => this.contextsEvaluated(tree, files));
    tree.contexts.on("progress", (files) => this.emit("findingsChanged", files));
    tree.contexts.configure(this.contextSetting);
    this.emit("contextsChanged", tree);
    this.emit("findingsChanged", tree.index.files.keys());
    return tree;
  }

  removeFolder(folder: string): void {
    for (const r of [...this.trees.keys()]) if (r === folder || isInside(folder, r)) this.trees.delete(r);
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
    return root ? this.addTree(root) : undefined;
  }

  private contextsEvaluated(tree: MetroTree, files: Set<string>): void {
    this.emit("contextsChanged", tree);
    // Context findings can appear in any indexed file: republish those that had or now have some.
    const all = new Set(files);
    for (const c of tree.contexts.contexts) for (const d of c.diagnostics) all.add(d.file);
    this.emit("findingsChanged", all);
  }

  /** A file changed (edited in the editor, or on disk); `isOpen` says an editor holds it. */
  fileChanged(path: string, isOpen = false): void {
    const tree = this.treeFor(path, false);
    if (!tree) return;
    tree.workspace.invalidate(path);
    const before = tree.index.files.has(path);
    const namesBefore = definedNames(tree.index.files.get(path));
    const metroFile = before || tree.index.isMetroFile(path) || isOpen;
    if (metroFile) tree.index.update(path);
    else tree.index.noteFile(path);
    if (path.endsWith("metro-contexts.json")) tree.contexts.configure(this.contextSetting);
    tree.contexts.fileChanged(path, metroFile);
    // Layer-1 findings of other files (names no file defines) change when this file's names do.
    const namesAfter = definedNames(tree.index.files.get(path));
    const same = namesBefore.size === namesAfter.size && [...namesBefore].every((n) => namesAfter.has(n));
    this.emit("findingsChanged", same ? [path] : tree.index.files.keys());
  }

  fileDeleted(path: string): void {
    const tree = this.treeFor(path, false);
    if (!tree) return;
    tree.workspace.invalidate(path);
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

function definedNames(file: FileIndex | undefined): Set<string> {
  return new Set(file?.definitions.map((d) => d.name));
}
