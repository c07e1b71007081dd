// What is under the cursor: a reference, a definition's name, a section
// name, a collect path. Shared by definition, references, rename and hover.

import type * as lsp from "vscode-languageserver";
import { contains } from "./convert";
import type { CollectEntry, DefinitionEntry, FileIndex, ReferenceEntry, SectionEntry } from "../analysis/workspace-index";

export type Target =
  | { kind: "reference"; ref: ReferenceEntry }
  | { kind: "definition"; def: DefinitionEntry }
  | { kind: "section"; section: SectionEntry }
  | { kind: "collect"; collect: CollectEntry };

export function targetAt(file: FileIndex, pos: lsp.Position): Target | undefined {
  // References inside collect paths and values come first: they are inside the larger statements.
  let best: ReferenceEntry | undefined;
  for (const r of file.references) {
    if (r.place === "multi-reference") {
      if (contains(r.nameRange, pos) && !best) best = r;
      continue;
    }
    if (contains(r.range, pos)) best = r;
  }
  if (best) return { kind: "reference", ref: best };
  for (const d of file.definitions) {
    if (d.nameRange.start.offset !== d.nameRange.end.offset ? contains(d.nameRange, pos) : pos.line === d.nameRange.start.line && pos.character <= 1) {
      return { kind: "definition", def: d };
    }
  }
  for (const s of file.sections) if (contains(s.nameRange, pos)) return { kind: "section", section: s };
  for (const c of file.collects) if (contains(c.statement.path.range, pos)) return { kind: "collect", collect: c };
  return undefined;
}

/** The absolute name a target stands for (an element name), if any. */
export function nameOf(t: Target): string | null {
  switch (t.kind) {
    case "reference":
      return t.ref.name;
    case "definition":
      return t.def.name;
    case "section":
      return t.section.name;
    case "collect":
      return null;
  }
}
