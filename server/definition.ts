// Go to definition: from any reference form to every definition of the name
// (conditional ones and per-build ones included), from a collect path to the
// file(s) it reads, from `[section x]` to the element x or the other places
// that open the same section.

import { existsSync } from "node:fs";
import type { DocumentRequest } from "./requests";
import type * as lsp from "vscode-languageserver";
import { expandedCollectPath } from "./document-links";
import { location } from "./convert";
import { targetAt } from "./locate";

export function definition(at: DocumentRequest, params: lsp.DefinitionParams): lsp.Location[] {
  const { tree, file } = at;
  const t = targetAt(file, params.position);
  if (!t) return [];
  const zero = { start: { line: 0, character: 0, offset: 0 }, end: { line: 0, character: 0, offset: 0 } };
  switch (t.kind) {
    case "reference": {
      if (t.ref.name !== null) return tree.index.definitions(t.ref.name).map((d) => location(d.file, d.nameRange));
      if (t.ref.pattern) return tree.index.definitionsMatching(t.ref.pattern).map((d) => location(d.file, d.nameRange));
      return [];
    }
    case "definition":
      // Already on a definition: the other definitions of the same name.
      return tree.index.definitions(t.def.name).map((d) => location(d.file, d.nameRange));
    case "section": {
      const own = tree.index.definitions(t.section.name);
      if (own.length) return own.map((d) => location(d.file, d.nameRange));
      const out: lsp.Location[] = [];
      for (const f of tree.index.files.values()) for (const s of f.sections) if (s.name === t.section.name && s !== t.section) out.push(location(s.file, s.nameRange));
      return out;
    }
    case "collect": {
      // The file of the active context first, then every other file the path can name in other builds.
      const exact = expandedCollectPath(tree, t.collect);
      const files = tree.index.collectCandidates(t.collect).filter((f) => f !== exact && existsSync(f));
      return (exact ? [exact, ...files] : files).map((f) => location(f, zero));
    }
  }
}
