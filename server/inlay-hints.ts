// Inlay hints after each `:zap` reference: what it does in the active
// context (the value it takes, or that the line, value or collect is dropped).

import type { DocumentRequest } from "./requests";
import * as lsp from "vscode-languageserver";
import { valueIn } from "../analysis/contexts";
import { contains } from "./convert";
import { zapConsequence } from "./hover";

export function inlayHints(at: DocumentRequest, params: lsp.InlayHintParams): lsp.InlayHint[] {
  const { tree, file } = at;
  const ctx = tree.contexts.active;
  if (!ctx || !ctx.evaluated) return [];
  const out: lsp.InlayHint[] = [];
  for (const r of file.references) {
    if (r.modifier !== "zap" || r.name === null || !r.part) continue;
    const end = r.range.end;
    if (!contains(params.range, end)) continue;
    const v = valueIn(ctx, r.name);
    let label: string;
    if (v.kind === "undefined" || (v.kind === "value" && (v.value === "" || v.value === null))) {
      label = `⇒ ${zapConsequence(r.place, r.element).replace(/`/g, "")}`;
    } else if (v.kind === "value") {
      const s = Array.isArray(v.value) ? `${v.value.length} lines` : v.value!;
      label = `= ${s.length > 40 ? s.slice(0, 39) + "…" : s}`;
    } else if (v.kind === "unknown") label = "= unknown";
    else if (v.kind === "pending") continue;
    else label = "⇒ error";
    out.push({
      position: { line: end.line, character: end.character },
      label,
      kind: lsp.InlayHintKind.Parameter,
      paddingLeft: true,
      tooltip: `:zap in ${ctx.name}`,
    });
  }
  return out;
}
