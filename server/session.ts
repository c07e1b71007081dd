// The server's state: the open documents and the project model of
// `analysis/` they feed. Feature modules receive a Session and ask it for the
// tree and file under a URI.

import { TextDocuments } from "vscode-languageserver";
import { TextDocument } from "vscode-languageserver-textdocument";
import { parseMetro, type MetroFile } from "../language";
import { MAX_FILE_BYTES, tooLarge } from "../engine/files";
import { Project, type MetroTree } from "../analysis/project";
import type { FileIndex } from "../analysis/workspace-index";
import { uriToPath } from "./convert";
import type { MarkupFormat } from "./markup";
import { EditBurst } from "./edit-burst";

export type { MetroTree } from "../analysis/project";

export class Session extends Project {
  readonly documents = new TextDocuments(TextDocument);
  /** How the client takes hover text and completion documentation (from its capabilities). */
  hoverFormat: MarkupFormat = "markdown";
  completionFormat: MarkupFormat = "plaintext";
  private openDocByPath = new Map<string, TextDocument>();
  /** The identity (the file on disk, links followed) of each open document, by path. */
  private openIdentity = new Map<string, string>();

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

  /** The text of an open document at `path`, or at another path naming the same file (a link). */
  private openTextOf(path: string): string | undefined {
    const doc = this.openDocByPath.get(path);
    if (doc) return doc.getText();
    if (this.openIdentity.size === 0) return undefined;
    const id = this.identity(path);
    for (const [open, openId] of this.openIdentity) if (openId === id) return this.openDocByPath.get(open)?.getText();
    return undefined;
  }

  trackOpen(doc: TextDocument): void {
    const path = uriToPath(doc.uri);
    this.openDocByPath.set(path, doc);
    this.openIdentity.set(path, this.identity(path));
  }

  trackClose(doc: TextDocument): void {
    const path = uriToPath(doc.uri);
    this.openDocByPath.delete(path);
    this.openIdentity.delete(path);
  }

  isOpen(path: string): boolean {
    return this.openDocByPath.has(path);
  }

  openPaths(): string[] {
    return [...this.openDocByPath.keys()];
  }

  /** Tree and file index for a URI; the file is indexed on demand when it is a Metro file of the tree. */
  locate(uri: string): { tree: MetroTree; file: FileIndex; path: string } | undefined {
    const path = uriToPath(uri);
    const tree = this.treeFor(path);
    if (!tree) return undefined;
    let file = tree.fileIndex(path);
    if (!file && this.openDocByPath.has(path) && path !== tree.contexts.contextsFile) file = tree.index.update(path);
    return file ? { tree, file, path } : undefined;
  }

  /** Parses a file that is open but outside every tree (diagnostics of the parser only). */
  looseFile(uri: string): MetroFile | undefined {
    const doc = this.documents.get(uri);
    return doc ? looseParse(doc) : undefined;
  }

  /** A file changed: edited in the editor when it is open (nothing on disk changed), else on disk; `onDisk` says which when it is not that. */
  override fileChanged(path: string, isOpen = this.isOpen(path), onDisk = !isOpen): void {
    super.fileChanged(path, isOpen, onDisk);
  }

  protected override holdsText(path: string): boolean {
    return this.isOpen(path);
  }

  protected override knownPaths(tree: MetroTree): Iterable<string> {
    return [...super.knownPaths(tree), ...this.openDocByPath.keys()];
  }
}

const looseCache = new WeakMap<TextDocument, { version: number; ast: MetroFile }>();
function looseParse(doc: TextDocument): MetroFile {
  const c = looseCache.get(doc);
  if (c && c.version === doc.version) return c.ast;
  const text = doc.getText();
  // A document too large to analyse is shown with one diagnostic saying so.
  const ast = text.length > MAX_FILE_BYTES ? tooLargeDocument(text) : parseMetro(text);
  looseCache.set(doc, { version: doc.version, ast });
  return ast;
}

/** An empty syntax tree with one diagnostic: the document is larger than the server analyses. */
function tooLargeDocument(text: string): MetroFile {
  const ast = parseMetro("");
  const at = { line: 0, character: 0, offset: 0 };
  ast.diagnostics.push({ range: { start: at, end: at }, severity: "warning", code: "metro/file-too-large", message: `this document ${tooLarge(Buffer.byteLength(text)).words}: the language server skips it` });
  return ast;
}
