// Rename an element across files and reference forms. `$[a/b]` and `$[[a/b]]`
// get the new name; `$[:b]` inside section `a` keeps its relative form when
// the new name stays in that section and becomes absolute otherwise; a key
// `b:` under `[section a]` can only be renamed within its section.

import type { DocumentRequest } from "./requests";
import * as lsp from "vscode-languageserver";
import type { Range } from "../language";
import { pathToUri, toLspRange } from "./convert";
import { nameOf, targetAt } from "./locate";
import { referencesOf } from "./references";

export function prepareRename(at: DocumentRequest, params: lsp.PrepareRenameParams): lsp.PrepareRenameResult | null {
  const t = targetAt(at.file, params.position);
  if (!t || t.kind === "collect" || t.kind === "section") return null;
  const name = nameOf(t);
  if (!name) return null;
  if (t.kind === "definition") {
    if (t.def.nameRange.start.offset === t.def.nameRange.end.offset) return null;
    return { range: toLspRange(t.def.nameRange), placeholder: name };
  }
  const r = t.ref;
  const range = r.nameRange.start.offset === r.nameRange.end.offset ? r.range : r.nameRange;
  return { range: toLspRange(range), placeholder: name };
}

export function rename(at: DocumentRequest, params: lsp.RenameParams): lsp.WorkspaceEdit | null {
  const t = targetAt(at.file, params.position);
  const oldName = t && nameOf(t);
  if (!t || !oldName || t.kind === "collect") return null;
  const newName = params.newName.trim();
  if (!newName || /[\s\]\[$]/.test(newName) || newName.startsWith(":")) {
    throw new lsp.ResponseError(lsp.ErrorCodes.InvalidParams, `\`${newName}\` is not a valid element name`);
  }
  const edits = new Map<string, lsp.TextEdit[]>();
  const add = (file: string, range: Range, text: string) => {
    let l = edits.get(file);
    if (!l) edits.set(file, (l = []));
    if (!l.some((e) => e.range.start.line === range.start.line && e.range.start.character === range.start.character)) l.push({ range: toLspRange(range), newText: text });
  };
  for (const d of at.tree.index.definitions(oldName)) {
    const prefix = d.writtenSection ? d.writtenSection + "/" : "";
    if (d.nameRange.start.offset === d.nameRange.end.offset) {
      throw new lsp.ResponseError(lsp.ErrorCodes.InvalidRequest, `\`${oldName}\` is defined by \`: value\` under [section ${d.writtenSection}] in ${d.file}: rename the section instead`);
    }
    if (prefix && !newName.startsWith(prefix)) {
      throw new lsp.ResponseError(lsp.ErrorCodes.InvalidRequest, `\`${oldName}\` is defined under [section ${d.writtenSection}] in ${d.file}: the new name must start with \`${prefix}\``);
    }
    add(d.file, d.nameRange, newName.slice(prefix.length));
  }
  for (const r of referencesOf(at.tree, oldName, false)) {
    switch (r.form) {
      case "absolute":
      case "multi":
      case "condition":
        add(r.file, r.nameRange, newName);
        break;
      case "relative": {
        const prefix = r.section + "/";
        if (newName.startsWith(prefix)) add(r.file, r.nameRange, newName.slice(prefix.length));
        else add(r.file, { start: { ...r.nameRange.start, character: r.nameRange.start.character - 1, offset: r.nameRange.start.offset - 1 }, end: r.nameRange.end }, newName);
        break;
      }
      case "section": {
        // `$[]` or `$[:]` (maybe with `?`): write the new name out in full.
        const inner = r.part!.innerRange;
        const end = r.part!.boolean ? { ...inner.end, character: inner.end.character - 1, offset: inner.end.offset - 1 } : inner.end;
        add(r.file, { start: inner.start, end }, newName);
        break;
      }
    }
  }
  const changes: Record<string, lsp.TextEdit[]> = {};
  for (const [f, l] of edits) changes[pathToUri(f)] = l;
  return { changes };
}
