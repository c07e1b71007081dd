// Quick fixes: "add :zap" on a reference whose element is optional by design
// (defined in the tree, but only for some builds or conditions, so some
// contexts lack it; a name no file defines gets no :zap: that is a typo or a
// missing definition, and :zap would hide it), "remove :zap" where the
// element is defined in every context, and (`lintFixes`) the fixes of the
// lints that go with the formatter (a missing final newline, lines metro
// silently ignores), which need only the document's text: any open document.

import type { DocumentRequest } from "./requests";
import * as lsp from "vscode-languageserver";
import { Codes, type DiagnosticData } from "./diagnostics";
import type { Session } from "./session";
import { excerpt, quote } from "../language";

export function codeActions(at: DocumentRequest, params: lsp.CodeActionParams): lsp.CodeAction[] {
  const out: lsp.CodeAction[] = [];
  const zapped = new Set<string>();
  const uri = params.textDocument.uri;
  for (const d of params.context.diagnostics) {
    // A name no file defines (layer 1), or that is undefined in some context (the engine's finding).
    if (d.code === Codes.undefinedReference || d.code === "metro/undefined-element") {
      const r = at.file.references.find((x) => x.part && x.nameRange.start.line === d.range.start.line && (x.nameRange.start.character === d.range.start.character || x.range.start.character === d.range.start.character));
      if (!r || !r.part || r.place === "multi-reference" || r.modifier !== null || zapped.has(r.part.inner)) continue;
      if (r.name === null || at.tree.index.definitions(r.name).length === 0) continue;
      zapped.add(r.part.inner);
      const pos = { line: r.nameRange.end.line, character: r.nameRange.end.character };
      out.push({
        title: `Add :zap to ${quote(`$[${r.part.inner}]`, "")}`,
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
        title: `Remove :zap (${excerpt(nameIn(d.data) ?? "the element")} is always defined)`,
        kind: lsp.CodeActionKind.QuickFix,
        diagnostics: [d],
        edit: { changes: { [uri]: [{ range: { start: { line: m.start.line, character: m.start.character - 1 }, end: { line: m.end.line, character: m.end.character } }, newText: "" }] } },
      });
    }
  }
  return out;
}

/** Fixes of `metro/no-final-newline` and `metro/ignored-line` (parser diagnostics: any open document). */
export function lintFixes(session: Session, params: lsp.CodeActionParams): lsp.CodeAction[] {
  const uri = params.textDocument.uri;
  const doc = session.documents.get(uri);
  if (!doc) return [];
  const out: lsp.CodeAction[] = [];
  const edit = (range: lsp.Range, newText: string): lsp.WorkspaceEdit => ({ changes: { [uri]: [{ range, newText }] } });
  const text = doc.getText();
  for (const d of params.context.diagnostics) {
    if (d.code === "metro/no-final-newline") {
      const end = doc.positionAt(text.length);
      const eol = /\r\n|\r|\n/.exec(text)?.[0] ?? "\n";
      out.push({ title: "Add a newline at the end of the file", kind: lsp.CodeActionKind.QuickFix, diagnostics: [d], isPreferred: true, edit: edit({ start: end, end }, eol) });
    } else if (d.code === "metro/ignored-line") {
      const line = d.range.start.line;
      const lineText = text.slice(doc.offsetAt({ line, character: 0 }), doc.offsetAt({ line: line + 1, character: 0 })).replace(/[\r\n]+$/, "");
      const first = lineText.search(/\S/);
      if (first < 0) continue;
      // `key:value` or `key:<TAB>value`: the first word has a colon that no space follows.
      const m = /^([^\s:]+:)(\t+|(?=\S))/.exec(lineText.slice(first));
      if (m) {
        const col = first + m[1].length;
        const name = m[1].slice(0, -1);
        out.push({
          title: m[2] ? `Replace the tab after ${quote(m[1])} with a space (metro then defines ${excerpt(name)})` : `Insert a space after ${quote(m[1])} (metro then defines ${excerpt(name)})`,
          kind: lsp.CodeActionKind.QuickFix,
          diagnostics: [d],
          edit: edit({ start: { line, character: col }, end: { line, character: col + m[2].length } }, " "),
        });
      }
      out.push({
        title: "Comment out the line (metro ignores it anyway)",
        kind: lsp.CodeActionKind.QuickFix,
        diagnostics: [d],
        isPreferred: !m,
        edit: edit({ start: { line, character: first }, end: { line, character: first } }, "# "),
      });
      out.push({
        title: "Delete the line",
        kind: lsp.CodeActionKind.QuickFix,
        diagnostics: [d],
        edit: edit({ start: { line, character: 0 }, end: { line: line + 1, character: 0 } }, ""),
      });
    }
  }
  return out;
}

/** The element a diagnostic's `data` names (the server's own data, echoed by the client: anything may come back). */
function nameIn(data: unknown): string | undefined {
  const name = (data as DiagnosticData | undefined | null)?.name;
  return typeof name === "string" ? name : undefined;
}
