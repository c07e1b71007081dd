// Quick fixes: "add :zap" on a reference no file defines, "remove :zap" where
// the element is defined in every context.

import type { DocumentRequest } from "./requests";
import * as lsp from "vscode-languageserver";
import { Codes, type DiagnosticData } from "./diagnostics";

export function codeActions(at: DocumentRequest, params: lsp.CodeActionParams): lsp.CodeAction[] {
  const out: lsp.CodeAction[] = [];
  const uri = params.textDocument.uri;
  for (const d of params.context.diagnostics) {
    // A name no file defines (layer 1), or that is undefined in some context (the engine's finding).
    if (d.code === Codes.undefinedReference || d.code === "metro/undefined-element") {
      const r = at.file.references.find((x) => x.part && x.nameRange.start.line === d.range.start.line && (x.nameRange.start.character === d.range.start.character || x.range.start.character === d.range.start.character));
      if (!r || !r.part || r.place === "multi-reference" || r.modifier !== null || out.some((a) => a.title.endsWith(`$[${r.part!.inner}]`))) continue;
      const pos = { line: r.nameRange.end.line, character: r.nameRange.end.character };
      out.push({
        title: `Add :zap to $[${r.part.inner}]`,
        kind: lsp.CodeActionKind.QuickFix,
        diagnostics: [d],
        isPreferred: true,
        edit: { changes: { [uri]: [{ range: { start: pos, end: pos }, newText: ":zap" }] } },
      });
    } else if (d.code === Codes.zapNotNeeded) {
      const r = at.file.references.find((x) => x.part?.modifierRange && x.part.modifierRange.start.line === d.range.start.line && x.part.modifierRange.start.character === d.range.start.character);
      if (!r || !r.part?.modifierRange) continue;
      const m = r.part.modifierRange;
      out.push({
        title: `Remove :zap (${(d.data as DiagnosticData | undefined)?.name ?? "the element"} is always defined)`,
        kind: lsp.CodeActionKind.QuickFix,
        diagnostics: [d],
        edit: { changes: { [uri]: [{ range: { start: { line: m.start.line, character: m.start.character - 1 }, end: { line: m.end.line, character: m.end.character } }, newText: "" }] } },
      });
    }
  }
  return out;
}
