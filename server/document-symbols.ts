// Document symbols: sections holding their elements; elements outside a section at the top.

import type { DocumentRequest } from "./requests";
import * as lsp from "vscode-languageserver";
import { toLspRange } from "./convert";
import { definitionRange } from "./references";

export function documentSymbols(at: DocumentRequest): lsp.DocumentSymbol[] {
  const { file } = at;
  const top: lsp.DocumentSymbol[] = [];
  let current: lsp.DocumentSymbol | null = null;
  for (const s of file.ast.statements) {
    if (s.kind === "section") {
      if (current) current.range = { start: current.range.start, end: { line: Math.max(current.range.start.line, s.range.start.line - 1), character: 0 } };
      current = { name: `[section ${s.name}]`, detail: s.condition ? `when ${s.condition}` : undefined, kind: lsp.SymbolKind.Namespace, range: toLspRange(s.range), selectionRange: toLspRange(s.nameRange), children: [] };
      top.push(current);
      continue;
    }
    if (s.kind !== "single" && s.kind !== "multi") continue;
    const def = file.definitions.find((d) => d.statement === s)!;
    const sym: lsp.DocumentSymbol = {
      name: def.name || "(empty name)",
      detail: s.kind === "single" ? s.value.text.slice(0, 80) : `${s.rawLines.length} lines`,
      kind: s.kind === "multi" ? lsp.SymbolKind.Array : lsp.SymbolKind.Field,
      range: toLspRange(s.range),
      selectionRange: toLspRange(definitionRange(def)),
    };
    if (current && s.scope.section) {
      current.children!.push(sym);
      current.range = { start: current.range.start, end: toLspRange(s.range).end };
    } else top.push(sym);
  }
  return top;
}
