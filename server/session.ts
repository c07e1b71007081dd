// The server's state: the open documents and the project model of
// `analysis/` they feed. Feature modules receive a Session and ask it for the
// tree and file under a URI.

import { TextDocuments } from "vscode-languageserver";
import { TextDocument } from "vscode-languageserver-textdocument";
import { parseMetro, type MetroFile } from "../language";
import { Project, type MetroTree } from "../analysis/project";
import type { FileIndex } from "../analysis/workspace-index";
import { uriToPath } from "./convert";

export type { MetroTree } from "../analysis/project";

export class Session extends Project {
  readonly documents = new TextDocuments(TextDocument);
  private openDocByPath = new Map<string, TextDocument>();

  constructor() {
    super((path) => this.openDocByPath.get(path)?.getText());
  }

  trackOpen(doc: TextDocument): void {
    this.openDocByPath.set(uriToPath(doc.uri), doc);
  }

  trackClose(doc: TextDocument): void {
    this.openDocByPath.delete(uriToPath(doc.uri));
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
    if (!file && this.openDocByPath.has(path)) file = tree.index.update(path);
    return file ? { tree, file, path } : undefined;
  }

  /** Parses a file that is open but outside every tree (diagnostics of the parser only). */
  looseFile(uri: string): MetroFile | undefined {
    const doc = this.documents.get(uri);
    return doc ? looseParse(doc) : undefined;
  }

  /** A file changed (edited in the editor, or on disk). */
  override fileChanged(path: string): void {
    super.fileChanged(path, this.isOpen(path));
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
