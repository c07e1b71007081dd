// Code lens above each definition: how many references name it in the tree.

import type { DocumentRequest } from "./requests";
import type * as lsp from "vscode-languageserver";
import { pathToUri, toLspRange } from "./convert";
import { referencesOf } from "./references";

export const SHOW_REFERENCES_COMMAND = "metro.showReferences";

export function codeLenses(at: DocumentRequest): lsp.CodeLens[] {
  const out: lsp.CodeLens[] = [];
  for (const d of at.file.definitions) {
    if (!d.name) continue;
    const refs = referencesOf(at.tree, d.name, true);
    const range = toLspRange(d.statement.range);
    const pos = { line: d.nameRange.start.line, character: d.nameRange.start.character };
    out.push({
      range: { start: range.start, end: range.start },
      command: {
        title: refs.length === 1 ? "1 reference" : `${refs.length} references`,
        command: SHOW_REFERENCES_COMMAND,
        arguments: [pathToUri(d.file), pos, refs.map((r) => ({ uri: pathToUri(r.file), range: toLspRange(r.range) }))],
      },
    });
  }
  return out;
}
