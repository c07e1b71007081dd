// Inlay hints after each `:zap` reference: what it does in the active
// context (the value it takes, or that the line, value or collect is dropped).

import type { DocumentRequest } from "./requests";
import * as lsp from "vscode-languageserver";
import { contains } from "./convert";
import { zapConsequence, zapOutcome } from "../analysis/zap";

export function inlayHints(at: DocumentRequest, params: lsp.InlayHintParams): lsp.InlayHint[] {
  const { tree, file } = at;
  const ctx = tree.contexts.active;
  if (!ctx || !ctx.evaluated) return [];
  const out: lsp.InlayHint[] = [];
  for (const r of file.references) {
    if (r.modifier !== "zap" || r.name === null || !r.part) continue;
    const end = r.range.end;
    if (!contains(params.range, end)) continue;
    const zap = zapOutcome(ctx, r.name);
    let label: string;
    if (zap.kind === "fires") label = `⇒ ${zapConsequence(r.place, r.element).replace(/`/g, "")}`;
    else if (zap.kind === "keeps") {
      const s = Array.isArray(zap.value) ? `${zap.value.length} ${zap.value.length === 1 ? "line" : "lines"}` : zap.value;
      label = `= ${s.length > 40 ? s.slice(0, 39) + "…" : s}`;
    } else if (zap.why === "missing-file") label = "= unknown";
    else if (zap.why === "pending") continue;
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
