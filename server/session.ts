// The server's state: open documents, the Metro trees they belong to, and for
// each tree its index (layer 1) and its contexts (layer 2). Feature modules
// receive a Session and ask it for the tree and file under a URI.

import { TextDocuments } from "vscode-languageserver";
import { TextDocument } from "vscode-languageserver-textdocument";
import { parseMetro, type MetroFile } from "../language";
import { ContextManager, RecordingWorkspace } from "../analysis/contexts";
import { uriToPath } from "./convert";
import { findTreeRootAbove, findTreeRootsBelow, isInside } from "../analysis/trees";
import { WorkspaceIndex, type FileIndex } from "../analysis/workspace-index";

export class MetroTree {
  readonly workspace: RecordingWorkspace;
  readonly index: WorkspaceIndex;
  readonly contexts: ContextManager;
  /** Milliseconds the first scan took. */
  scanMs = 0;

  constructor(
    readonly root: string,
    session: Session,
  ) {
    this.workspace = new RecordingWorkspace({ readText: (p) => session.openText(p) });
    this.index = new WorkspaceIndex(root, { parse: (p) => this.workspace.getFile(p)?.ast });
    this.contexts = new ContextManager(
      root,
      this.workspace,
      this.index,
      (files) => session.contextsEvaluated(this, files),
      (files) => session.hooks.republish(files),
    );
  }

  fileIndex(path: string): FileIndex | undefined {
    return this.index.files.get(path);
  }
}

export interface SessionHooks {
  /** Diagnostics of these files may have changed. */
  republish(files: Iterable<string>): void;
  /** A tree's active context or its list changed. */
  contextsChanged(tree: MetroTree): void;
}

export class Session {
  readonly documents = new TextDocuments(TextDocument);
  readonly trees = new Map<string, MetroTree>();
  /** The last value of the `metro.contexts` setting (or initializationOptions). */
  contextSetting: unknown = undefined;
  hooks: SessionHooks = { republish: () => {}, contextsChanged: () => {} };

  openText(path: string): string | undefined {
    return this.openDocByPath.get(path)?.getText();
  }

  private openDocByPath = new Map<string, TextDocument>();

  trackOpen(doc: TextDocument): void {
    this.openDocByPath.set(uriToPath(doc.uri), doc);
  }

  trackClose(doc: TextDocument): void {
    this.openDocByPath.delete(uriToPath(doc.uri));
  }

  openPaths(): string[] {
    return [...this.openDocByPath.keys()];
  }

  /** Adds the trees found at or below a workspace folder. */
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
    t = new MetroTree(root, this);
    this.trees.set(root, t);
    const started = performance.now();
    t.index.scan();
    t.scanMs = performance.now() - started;
    t.contexts.configure(this.contextSetting);
    this.hooks.contextsChanged(t);
    this.hooks.republish(t.index.files.keys());
    return t;
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

  /** Tree and file index for a URI; the file is indexed on demand when it is a Metro file of the tree. */
  locate(uri: string): { tree: MetroTree; file: FileIndex; path: string } | undefined {
    const path = uriToPath(uri);
    const tree = this.treeFor(path);
    if (!tree) return undefined;
    let file = tree.fileIndex(path);
    if (!file && this.openDocByPath.has(path)) file = tree.index.update(path);
    return file ? { tree, file, path } : undefined;
  }

  /** Parses a file that is open but outside every tree (diagnostics of the parser only). */
  looseFile(uri: string): MetroFile | undefined {
    const doc = this.documents.get(uri);
    return doc ? looseParse(doc) : undefined;
  }

  contextsEvaluated(tree: MetroTree, files: Set<string>): void {
    this.hooks.contextsChanged(tree);
    // Context diagnostics can appear in any indexed file: republish those that had or now have some.
    const all = new Set(files);
    for (const c of tree.contexts.contexts) for (const d of c.diagnostics) all.add(d.file);
    this.hooks.republish(all);
  }

  /** A file changed (edited in the editor, or on disk). */
  fileChanged(path: string): void {
    const tree = this.treeFor(path, false);
    if (!tree) return;
    tree.workspace.invalidate(path);
    const before = tree.index.files.has(path);
    const namesBefore = definedNames(tree.index.files.get(path));
    const metroFile = before || tree.index.isMetroFile(path) || this.openDocByPath.has(path);
    if (metroFile) tree.index.update(path);
    else tree.index.noteFile(path);
    if (path.endsWith("metro-contexts.json")) tree.contexts.configure(this.contextSetting);
    tree.contexts.fileChanged(path, metroFile);
    // Layer-1 findings of other files (names no file defines) change when this file's names do.
    const namesAfter = definedNames(tree.index.files.get(path));
    const same = namesBefore.size === namesAfter.size && [...namesBefore].every((n) => namesAfter.has(n));
    this.hooks.republish(same ? [path] : tree.index.files.keys());
  }

  fileDeleted(path: string): void {
    const tree = this.treeFor(path, false);
    if (!tree) return;
    tree.workspace.invalidate(path);
    const hadNames = definedNames(tree.index.files.get(path)).size > 0;
    tree.index.remove(path);
    tree.contexts.fileChanged(path);
    this.hooks.republish(hadNames ? [path, ...tree.index.files.keys()] : [path]);
  }

  configureContexts(setting: unknown): void {
    this.contextSetting = setting;
    for (const t of this.trees.values()) t.contexts.configure(setting);
  }
}

const looseCache = new WeakMap<TextDocument, { version: number; ast: MetroFile }>();
function looseParse(doc: TextDocument): MetroFile {
  const c = looseCache.get(doc);
  if (c && c.version === doc.version) return c.ast;
  const ast = parseMetro(doc.getText());
  looseCache.set(doc, { version: doc.version, ast });
  return ast;
}

function definedNames(file: FileIndex | undefined): Set<string> {
  return new Set(file?.definitions.map((d) => d.name));
}
