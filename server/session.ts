// The server's state: the open documents and the project model of
// `analysis/` they feed. Feature modules receive a Session and ask it for the
// tree and file under a URI.

import { TextDocuments } from "vscode-languageserver";
import { TextDocument } from "vscode-languageserver-textdocument";
import { parseMetro, type MetroFile } from "../language";
import { MAX_FILE_BYTES, tooLarge } from "../engine/files";
import { MAX_PROJECT_BYTES, Project, type MetroTree } from "../analysis/project";
import type { FileIndex } from "../analysis/workspace-index";
import { pathToUri, uriToPath } from "./convert";
import type { MarkupFormat } from "./markup";
import { EditBurst } from "./edit-burst";

export type { MetroTree } from "../analysis/project";

/** An open document and the file it names: its path (normalised) and the file on disk (links followed). */
interface OpenDocument {
  doc: TextDocument;
  path: string;
  identity: string;
}

/**
 * The server's state. Open documents are kept by the URI the client sent (its
 * version and answers use that URI), and grouped by the file they name: a
 * client may open one file through two URIs (`%2D` for `-`, `./` or `../`
 * segments, a symbolic link). For evaluation one text per file wins, the one
 * of the document opened first (until it is closed), so that what a context
 * reads does not depend on which path or which buffer it went through.
 */
export class Session extends Project {
  readonly documents = new TextDocuments(TextDocument);
  /** How the client takes hover text and completion documentation (from its capabilities). */
  hoverFormat: MarkupFormat = "markdown";
  completionFormat: MarkupFormat = "plaintext";
  private openByUri = new Map<string, OpenDocument>();
  /** Open documents by path, in the order they were opened. */
  private openByPath = new Map<string, OpenDocument[]>();
  /** Open documents by the file they name (links followed), in the order they were opened. */
  private openByIdentity = new Map<string, OpenDocument[]>();

  constructor(
    /** Whether the client's edits are still coming in (see edit-burst.ts). */
    readonly burst: EditBurst = new EditBurst(),
  ) {
    super((path) => this.openTextOf(path));
  }

  /** Evaluation waits while a burst of edits comes in. */
  protected override editing(resume: () => void): boolean {
    if (!this.burst.arriving) return false;
    this.burst.whenQuiet(resume);
    return true;
  }

  /** The open document whose text is the file's at `path` (the first opened of those naming the file), or undefined. */
  private winnerOf(path: string): OpenDocument | undefined {
    if (this.openByIdentity.size === 0) return undefined;
    const direct = this.openByPath.get(path);
    return this.openByIdentity.get(direct ? direct[0].identity : this.identity(path))?.[0];
  }

  /** The text of an open document at `path`, or at another path naming the same file (a link): the first opened wins. */
  private openTextOf(path: string): string | undefined {
    return this.winnerOf(path)?.doc.getText();
  }

  /**
   * Whether the document at `uri` is one whose text the server does not follow: another
   * document naming the same file was opened first and holds a different text.
   */
  shadowedBy(uri: string): string | undefined {
    const open = this.openByUri.get(uri);
    if (!open) return undefined;
    const winner = this.winnerOf(open.path);
    return winner && winner !== open && winner.doc.getText() !== open.doc.getText() ? winner.doc.uri : undefined;
  }

  /** Whether the text of the document at `uri` is the one evaluation reads for its file (it was opened first). */
  follows(uri: string): boolean {
    const open = this.openByUri.get(uri);
    return !!open && this.winnerOf(open.path) === open;
  }

  trackOpen(doc: TextDocument): void {
    if (this.openByUri.has(doc.uri)) this.trackClose(doc);
    const path = uriToPath(doc.uri);
    const open = { doc, path, identity: this.identity(path) };
    this.openByUri.set(doc.uri, open);
    append(this.openByPath, path, open);
    append(this.openByIdentity, open.identity, open);
  }

  trackClose(doc: { uri: string }): void {
    const open = this.openByUri.get(doc.uri);
    if (!open) return;
    this.openByUri.delete(doc.uri);
    remove(this.openByPath, open.path, open);
    remove(this.openByIdentity, open.identity, open);
    this.forgetLoose(open.doc);
  }

  isOpen(path: string): boolean {
    return this.openByPath.has(path);
  }

  openPaths(): string[] {
    return [...this.openByPath.keys()];
  }

  /** The URIs of the documents open at `path`, in the order they were opened. */
  urisAt(path: string): string[] {
    return (this.openByPath.get(path) ?? []).map((o) => o.doc.uri);
  }

  /** The URI to name `path` with: the one the client opened it with (the first, when it used several), else the file's. */
  uriOf(path: string): string {
    return this.openByPath.get(path)?.[0].doc.uri ?? pathToUri(path);
  }

  /** Tree and file index for a URI; the file is indexed on demand when it is a Metro file of the tree. */
  locate(uri: string): { tree: MetroTree; file: FileIndex; path: string } | undefined {
    const path = uriToPath(uri);
    const tree = this.treeFor(path);
    // A document whose file another open document (opened first, holding another text) speaks for has no answers.
    if (!tree || this.shadowedBy(uri)) return undefined;
    let file = tree.fileIndex(path);
    if (!file && this.openByPath.has(path) && path !== tree.contexts.contextsFile) file = tree.index.update(path);
    return file ? { tree, file, path } : undefined;
  }

  /**
   * Syntax trees of open documents outside every tree, the last used first out. A tree is
   * about 25 times its text: all the open documents could hold gigabytes of them, so only
   * LOOSE_TREES_BYTES of text have their tree kept (a document parsed again costs time only).
   */
  private looseTrees = new Map<TextDocument, { version: number; ast: MetroFile; bytes: number }>();
  private looseBytes = 0;

  /** Parses a file that is open but outside every tree (diagnostics of the parser only). */
  looseFile(uri: string): MetroFile | undefined {
    const doc = this.documents.get(uri);
    if (!doc) return undefined;
    const kept = this.looseTrees.get(doc);
    this.forgetLoose(doc);
    if (kept && kept.version === doc.version) {
      this.keepLoose(doc, kept);
      return kept.ast;
    }
    const text = doc.getText();
    // A document too large to analyse is shown with one diagnostic saying so.
    const ast = text.length > MAX_FILE_BYTES ? tooLargeDocument(text) : parseMetro(text);
    this.keepLoose(doc, { version: doc.version, ast, bytes: text.length > MAX_FILE_BYTES ? 0 : text.length });
    return ast;
  }

  private keepLoose(doc: TextDocument, entry: { version: number; ast: MetroFile; bytes: number }): void {
    this.looseTrees.set(doc, entry);
    this.looseBytes += entry.bytes;
    for (const [d] of this.looseTrees) {
      if (this.looseBytes <= LOOSE_TREES_BYTES || d === doc) break;
      this.forgetLoose(d);
    }
  }

  private forgetLoose(doc: TextDocument): void {
    const e = this.looseTrees.get(doc);
    if (!e) return;
    this.looseTrees.delete(doc);
    this.looseBytes -= e.bytes;
  }

  /** A file changed: edited in the editor when it is open (nothing on disk changed), else on disk; `onDisk` says which when it is not that. */
  override fileChanged(path: string, isOpen = this.isOpen(path), onDisk = !isOpen): void {
    super.fileChanged(path, isOpen, onDisk);
  }

  protected override holdsText(path: string): boolean {
    return this.isOpen(path);
  }

  protected override knownPaths(tree: MetroTree): Iterable<string> {
    return [...super.knownPaths(tree), ...this.openByPath.keys()];
  }
}

function append<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function remove<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  const i = list?.indexOf(value) ?? -1;
  if (i < 0) return;
  list!.splice(i, 1);
  if (list!.length === 0) map.delete(key);
}

/** Text of documents outside every tree whose syntax trees are kept (the analysis budget of a project's files). */
export const LOOSE_TREES_BYTES = MAX_PROJECT_BYTES;

/** An empty syntax tree with one diagnostic: the document is larger than the server analyses. */
function tooLargeDocument(text: string): MetroFile {
  const ast = parseMetro("");
  const at = { line: 0, character: 0, offset: 0 };
  ast.diagnostics.push({ range: { start: at, end: at }, severity: "warning", code: "metro/file-too-large", message: `this document ${tooLarge(Buffer.byteLength(text)).words}: the language server skips it` });
  return ast;
}
