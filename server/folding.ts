// Folding ranges: multi-line blocks, `<?python` blocks, sections, runs of comment lines.

import type { DocumentRequest } from "./requests";
import * as lsp from "vscode-languageserver";
import { MAX_FOLDING_RANGES } from "./limits";

/** At most MAX_FOLDING_RANGES (or the client's `rangeLimit`), the first ones in the document. */
export function foldingRanges(at: DocumentRequest, limit = MAX_FOLDING_RANGES): lsp.FoldingRange[] {
  const all = foldingRangesOf(at);
  // Ranges are found in order of their end; the first ones in the document are those that start first.
  if (all.length <= limit) return all;
  all.sort((a, b) => a.startLine - b.startLine || a.endLine - b.endLine);
  all.length = limit;
  return all;
}

function foldingRangesOf(at: DocumentRequest): lsp.FoldingRange[] {
  const out: lsp.FoldingRange[] = [];
  const stmts = at.file.ast.statements;
  let sectionStart = -1;
  let lastContent = -1;
  let commentRun: [number, number] | null = null;
  const closeComments = () => {
    if (commentRun && commentRun[1] > commentRun[0]) out.push({ startLine: commentRun[0], endLine: commentRun[1], kind: lsp.FoldingRangeKind.Comment });
    commentRun = null;
  };
  const closeSection = () => {
    if (sectionStart >= 0 && lastContent > sectionStart) out.push({ startLine: sectionStart, endLine: lastContent, kind: lsp.FoldingRangeKind.Region });
  };
  for (const s of stmts) {
    if (s.kind === "blank") {
      if (s.comment) {
        if (commentRun && commentRun[1] === s.range.start.line - 1) commentRun[1] = s.range.start.line;
        else {
          closeComments();
          commentRun = [s.range.start.line, s.range.start.line];
        }
      } else closeComments();
      continue;
    }
    closeComments();
    if (s.kind === "section") {
      closeSection();
      sectionStart = s.range.start.line;
    }
    if (s.kind === "multi") {
      if (s.range.end.line > s.range.start.line) out.push({ startLine: s.range.start.line, endLine: s.range.end.line });
      for (const b of s.body) if (b.kind === "python" && b.range.end.line > b.range.start.line) out.push({ startLine: b.range.start.line, endLine: b.range.end.line });
    }
    lastContent = s.range.end.line;
  }
  closeComments();
  closeSection();
  return out;
}
