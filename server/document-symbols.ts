// Document symbols: sections holding their elements; elements outside a section at the top.
// At most MAX_DOCUMENT_SYMBOLS symbols: past them one last symbol says how many are not listed.

import type { DocumentRequest } from "./requests";
import * as lsp from "vscode-languageserver";
import { lineCount, toLspRange } from "./convert";
import { definitionRange } from "./references";
import { MAX_DOCUMENT_SYMBOLS } from "./limits";
import type { DefinitionEntry } from "../analysis/workspace-index";
import type { Statement } from "../language";

export function documentSymbols(at: DocumentRequest): lsp.DocumentSymbol[] {
  const { file } = at;
  const top: lsp.DocumentSymbol[] = [];
  const defOf = new Map<Statement, DefinitionEntry>();
  for (const d of file.definitions) if (!defOf.has(d.statement)) defOf.set(d.statement, d);
  let current: lsp.DocumentSymbol | null = null;
  let count = 0;
  let left = 0;
  let firstLeft: Statement | null = null;
  let lastLeft: Statement | null = null;
  for (const s of file.ast.statements) {
    if (s.kind !== "section" && s.kind !== "single" && s.kind !== "multi") continue;
    if (count >= MAX_DOCUMENT_SYMBOLS) {
      left++;
      firstLeft ??= s;
      lastLeft = s;
      continue;
    }
    count++;
    if (s.kind === "section") {
      if (current) current.range = { start: current.range.start, end: { line: Math.max(current.range.start.line, s.range.start.line - 1), character: 0 } };
      current = { name: `[section ${s.name}]`, detail: s.condition ? `when ${s.condition}` : undefined, kind: lsp.SymbolKind.Namespace, range: toLspRange(s.range), selectionRange: toLspRange(s.nameRange), children: [] };
      top.push(current);
      continue;
    }
    const def = defOf.get(s)!;
    const sym: lsp.DocumentSymbol = {
      name: def.name || "(empty name)",
      detail: s.kind === "single" ? s.value.text.slice(0, 80) : lineCount(s.rawLines.length),
      kind: s.kind === "multi" ? lsp.SymbolKind.Array : lsp.SymbolKind.Field,
      range: toLspRange(s.range),
      selectionRange: toLspRange(definitionRange(def)),
    };
    if (current && s.scope.section) {
      current.children!.push(sym);
      current.range = { start: current.range.start, end: toLspRange(s.range).end };
    } else top.push(sym);
  }
  if (firstLeft && lastLeft) {
    const range = { start: toLspRange(firstLeft.range).start, end: toLspRange(lastLeft.range).end };
    top.push({
      name: `… ${left.toLocaleString("en-US")} more sections and elements not listed`,
      detail: `the outline lists the first ${MAX_DOCUMENT_SYMBOLS.toLocaleString("en-US")}`,
      kind: lsp.SymbolKind.Null,
      range,
      selectionRange: { start: range.start, end: range.start },
    });
  }
  return top;
}
