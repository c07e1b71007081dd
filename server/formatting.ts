// textDocument/formatting and rangeFormatting: the edits of language/format.ts
// (the same result as `metro-engine fmt`), for the open document's text.

import * as lsp from "vscode-languageserver";
import { formatEdits, parseMetro, type FormatEdit } from "../language";
import { toLspRange } from "./convert";
import type { Session } from "./session";

function toLsp(edits: FormatEdit[]): lsp.TextEdit[] {
  return edits.map((e) => ({ range: toLspRange(e.range), newText: e.newText }));
}

export function formatDocument(session: Session, params: lsp.DocumentFormattingParams): lsp.TextEdit[] {
  const doc = session.documents.get(params.textDocument.uri);
  return doc ? toLsp(formatEdits(parseMetro(doc.getText()))) : [];
}

export function formatRange(session: Session, params: lsp.DocumentRangeFormattingParams): lsp.TextEdit[] {
  const doc = session.documents.get(params.textDocument.uri);
  if (!doc) return [];
  const { start, end } = params.range;
  // A selection ending at the start of a line does not include that line.
  const endLine = end.line > start.line && end.character === 0 ? end.line - 1 : end.line;
  return toLsp(formatEdits(parseMetro(doc.getText()), { startLine: start.line, endLine }));
}
