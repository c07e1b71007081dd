// textDocument/formatting and rangeFormatting: the edits of language/format.ts
// (the same result as `metro-engine fmt`), for the open document's text.

import * as lsp from "vscode-languageserver";
import { formatEdits, parseMetro, type FormatEdit } from "../language";
import { MAX_FILE_BYTES, formatBytes } from "../engine/files";
import { toLspRange } from "./convert";
import type { Session } from "./session";

/** The open document's text; one larger than the server analyses is refused (parsing it would take minutes and gigabytes). */
function textOf(session: Session, uri: string): string | undefined {
  const text = session.documents.get(uri)?.getText();
  if (text !== undefined && text.length > MAX_FILE_BYTES) {
    throw new lsp.ResponseError(lsp.LSPErrorCodes.RequestFailed, `The document is ${formatBytes(text.length)}, larger than the ${formatBytes(MAX_FILE_BYTES)} the server formats.`);
  }
  return text;
}

function toLsp(edits: FormatEdit[]): lsp.TextEdit[] {
  return edits.map((e) => ({ range: toLspRange(e.range), newText: e.newText }));
}

export function formatDocument(session: Session, params: lsp.DocumentFormattingParams): lsp.TextEdit[] {
  const text = textOf(session, params.textDocument.uri);
  return text !== undefined ? toLsp(formatEdits(parseMetro(text))) : [];
}

export function formatRange(session: Session, params: lsp.DocumentRangeFormattingParams): lsp.TextEdit[] {
  const text = textOf(session, params.textDocument.uri);
  if (text === undefined) return [];
  const { start, end } = params.range;
  // A selection ending at the start of a line does not include that line.
  const endLine = end.line > start.line && end.character === 0 ? end.line - 1 : end.line;
  return toLsp(formatEdits(parseMetro(text), { startLine: start.line, endLine }));
}
