// Code lens above each definition: how many references name it in the tree.
// The count of a name is worked out once per answer (a name defined many
// times, or many names against the same `$[[...$[x]]]` patterns, costs one
// look-up each), at most MAX_CODE_LENSES lenses a document, and the places a
// lens's command lists are capped (MAX_LENS_LOCATIONS) with the title saying
// how many are listed.

import type { DocumentRequest } from "./requests";
import type * as lsp from "vscode-languageserver";
import { toLspRange } from "./convert";
import { MAX_CODE_LENSES, MAX_LENS_LOCATIONS, MAX_LENS_LOCATIONS_TOTAL } from "./limits";
import type { ReferenceEntry } from "../analysis/workspace-index";

export const SHOW_REFERENCES_COMMAND = "metro.showReferences";

export function codeLenses(at: DocumentRequest): lsp.CodeLens[] {
  const out: lsp.CodeLens[] = [];
  // References whose pattern may name an element (`$[[steps/$[target]]]`), gathered once.
  const patterns: ReferenceEntry[] = [];
  for (const f of at.tree.index.files.values()) for (const r of f.references) if (r.pattern) patterns.push(r);
  // Per name: how many references name it, and the first MAX_LENS_LOCATIONS of them.
  const refsOf = new Map<string, { count: number; first: ReferenceEntry[] }>();
  let listed = 0;
  for (const d of at.file.definitions) {
    if (!d.name) continue;
    if (out.length >= MAX_CODE_LENSES) break;
    let refs = refsOf.get(d.name);
    if (!refs) {
      const named = at.tree.index.references(d.name);
      refs = { count: named.length, first: named.slice(0, MAX_LENS_LOCATIONS) };
      for (const r of patterns) {
        if (!r.pattern!.test(d.name)) continue;
        refs.count++;
        if (refs.first.length < MAX_LENS_LOCATIONS) refs.first.push(r);
      }
      refsOf.set(d.name, refs);
    }
    const shown = refs.first.slice(0, Math.max(0, MAX_LENS_LOCATIONS_TOTAL - listed));
    listed += shown.length;
    const range = toLspRange(d.statement.range);
    const pos = { line: d.nameRange.start.line, character: d.nameRange.start.character };
    const count = refs.count === 1 ? "1 reference" : `${refs.count} references`;
    out.push({
      range: { start: range.start, end: range.start },
      command: {
        title: shown.length < refs.count ? `${count} (${shown.length} listed)` : count,
        command: SHOW_REFERENCES_COMMAND,
        arguments: [at.session.uriOf(d.file), pos, shown.map((r) => ({ uri: at.session.uriOf(r.file), range: toLspRange(r.range) }))],
      },
    });
  }
  return out;
}
