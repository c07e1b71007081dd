// Conversions at the protocol edge: syntax-tree ranges and severities to LSP
// types, file paths to URIs. Everything else in server/ works with paths and
// the language layer's ranges.

import * as lsp from "vscode-languageserver";
import { URI } from "vscode-uri";
import { posix } from "node:path";
const normalize = (p: string) => {
  const n = posix.normalize(p);
  return n.length > 1 && n.endsWith("/") ? n.slice(0, -1) : n;
};
import type { Range, Severity } from "../language";

export function toLspRange(r: Range): lsp.Range {
  return { start: { line: r.start.line, character: r.start.character }, end: { line: r.end.line, character: r.end.character } };
}

export function toLspSeverity(s: Severity): lsp.DiagnosticSeverity {
  switch (s) {
    case "error":
      return lsp.DiagnosticSeverity.Error;
    case "warning":
      return lsp.DiagnosticSeverity.Warning;
    case "information":
      return lsp.DiagnosticSeverity.Information;
    case "hint":
      return lsp.DiagnosticSeverity.Hint;
  }
}

/**
 * The file a URI names: percent-encoding decoded (`%2D` is `-`), `.` and `..` segments
 * and doubled slashes resolved as written (a symbolic link is not followed here: the
 * session groups links by the file they reach).
 */
export function uriToPath(uri: string): string {
  const p = URI.parse(uri).fsPath;
  return p.startsWith("/") ? normalize(p) : p;
}

export function pathToUri(path: string): string {
  return URI.file(path).toString();
}

/** True when `pos` lies inside `r` (both ends inclusive, as a cursor touching a word counts). */
export function contains(r: Range | lsp.Range, pos: lsp.Position): boolean {
  if (pos.line < r.start.line || pos.line > r.end.line) return false;
  if (pos.line === r.start.line && pos.character < r.start.character) return false;
  if (pos.line === r.end.line && pos.character > r.end.character) return false;
  return true;
}

/** What knows the URI the client uses for a path (the session: the URI of an open document). */
export interface UriNames {
  uriOf(path: string): string;
}

/** A location in `file`, named by the URI the client opened it with (`names`: the session). */
export function location(file: string, r: Range, names: UriNames): lsp.Location {
  return { uri: names.uriOf(file), range: toLspRange(r) };
}

/** "1 line", "3 lines". */
export function lineCount(n: number): string {
  return n === 1 ? "1 line" : `${n} lines`;
}
