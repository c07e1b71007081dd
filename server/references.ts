// Find references: every place that names an element, whatever the form
// (`$[a/b]`, `$[:b]` in section a, `$[]` in section a/b, `$[[a/b]]`, conditions),
// across the tree's files.

import type { DocumentRequest } from "./requests";
import type * as lsp from "vscode-languageserver";
import type { Range } from "../language";
import { location } from "./convert";
import { quote } from "../language";
import { nameOf, targetAt } from "./locate";
import type { MetroTree } from "./session";
import type { DefinitionEntry, ReferenceEntry } from "../analysis/workspace-index";
import { MAX_REFERENCES } from "./limits";

/** References of `name`; `dynamic` adds `$[[steps/$[target]]]`-style references whose pattern can match it. */
export function referencesOf(tree: MetroTree, name: string, dynamic: boolean): ReferenceEntry[] {
  const out = [...tree.index.references(name)];
  if (dynamic) for (const f of tree.index.files.values()) for (const r of f.references) if (r.pattern && r.pattern.test(name)) out.push(r);
  return out;
}

export function references(at: DocumentRequest, params: lsp.ReferenceParams): lsp.Location[] {
  const t = targetAt(at.file, params.position);
  const name = t && nameOf(t);
  if (!name) return [];
  const out: lsp.Location[] = [];
  // The protocol has no room for "and N more": past MAX_REFERENCES the log says how many were left out.
  let all = 0;
  const add = (file: string, range: Range) => {
    if (all++ < MAX_REFERENCES) out.push(location(file, range, at.session));
  };
  if (params.context.includeDeclaration) for (const d of at.tree.index.definitions(name)) add(d.file, definitionRange(d));
  for (const r of referencesOf(at.tree, name, true)) add(r.file, r.place === "multi-reference" || r.form === "condition" ? r.nameRange : r.range);
  if (all > MAX_REFERENCES) at.log(`references of ${quote(name)}: the first ${MAX_REFERENCES} of ${all} places are listed`);
  return out;
}

/** The name of a definition, or its lone `:` when the name is empty (`: value` under a section). */
export function definitionRange(d: DefinitionEntry): Range {
  const r = d.nameRange;
  if (r.start.offset !== r.end.offset) return r;
  return { start: r.start, end: { line: r.end.line, character: r.end.character + 1, offset: r.end.offset + 1 } };
}
