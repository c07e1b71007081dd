// Rename an element across files and reference forms. `$[a/b]` and `$[[a/b]]`
// get the new name; `$[:b]` inside section `a` keeps its relative form when
// the new name stays in that section and becomes absolute otherwise; a key
// `b:` under `[section a]` can only be renamed within its section, and F2
// there offers and takes the short name (`b`). Refusals are one short
// sentence, to fit an editor's notification.

import type { DocumentRequest } from "./requests";
import { basename } from "node:path";
import * as lsp from "vscode-languageserver";
import type { Range } from "../language";
import { toLspRange } from "./convert";
import { nameOf, targetAt } from "./locate";
import { referencesOf } from "./references";
import { quote } from "../language";

export function prepareRename(at: DocumentRequest, params: lsp.PrepareRenameParams): lsp.PrepareRenameResult | null {
  const t = targetAt(at.file, params.position);
  if (!t || t.kind === "collect" || t.kind === "section") return null;
  const name = nameOf(t);
  if (!name) return null;
  // The placeholder is the name as written there: `path` for `path:` under [section profile], `tmp` in `$[:tmp]`.
  if (t.kind === "definition") {
    if (t.def.nameRange.start.offset === t.def.nameRange.end.offset) {
      throw new lsp.ResponseError(lsp.ErrorCodes.InvalidRequest, `This is ${quote(name)} as \`: value\`: rename ${quote(`[section ${t.def.writtenSection}]`, "")} instead.`);
    }
    return { range: toLspRange(t.def.nameRange), placeholder: shortName(name, t.def.writtenSection) };
  }
  const r = t.ref;
  const range = r.nameRange.start.offset === r.nameRange.end.offset ? r.range : r.nameRange;
  return { range: toLspRange(range), placeholder: r.form === "relative" && r.section ? shortName(name, r.section) : name };
}

function shortName(name: string, section: string | null): string {
  return section && name.startsWith(section + "/") ? name.slice(section.length + 1) : name;
}

/**
 * The full new name: a bare name (no `/`) typed where the name is written
 * relative to a section (a key under [section a], `$[:x]`), or for an element
 * every definition of which sits under one section, stays in that section.
 */
function fullNewName(at: DocumentRequest, t: NonNullable<ReturnType<typeof targetAt>>, oldName: string, typed: string): string {
  if (typed.includes("/")) return typed;
  let section: string | null = null;
  if (t.kind === "definition" && t.def.writtenSection) section = t.def.writtenSection;
  else if (t.kind === "reference" && t.ref.form === "relative") section = t.ref.section;
  else {
    const sections = new Set(at.tree.index.definitions(oldName).map((d) => d.writtenSection));
    if (sections.size === 1) section = [...sections][0] || null;
  }
  return section && oldName.startsWith(section + "/") ? `${section}/${typed}` : typed;
}

export function rename(at: DocumentRequest, params: lsp.RenameParams): lsp.WorkspaceEdit | null {
  const t = targetAt(at.file, params.position);
  const oldName = t && nameOf(t);
  if (!t || !oldName || t.kind === "collect") return null;
  const typed = params.newName.trim();
  if (!typed || /[\s\]\[$]/.test(typed) || typed.startsWith(":") || typed.startsWith("/") || typed.endsWith("/") || typed.includes("//")) {
    throw new lsp.ResponseError(lsp.ErrorCodes.InvalidParams, `${quote(typed)} is not a valid element name.`);
  }
  // A `:` starts a modifier in a reference (`$[a:b]`), a final `?` makes it a yes/no, a part starting with `#` is a comment as a key.
  if (typed.includes(":") || typed.endsWith("?") || /(^|\/)#/.test(typed)) {
    throw new lsp.ResponseError(lsp.ErrorCodes.InvalidParams, `${quote(typed)} is not a valid element name: it would not read back as one name (${typed.includes(":") ? "`:` starts a modifier" : typed.endsWith("?") ? "a final `?` asks yes or no" : "a key starting with `#` is a comment"}).`);
  }
  const newName = fullNewName(at, t, oldName, typed);
  // Renaming onto an element that exists would merge the two: every reference would then read one value.
  const taken = newName === oldName ? undefined : at.tree.index.definitions(newName)[0];
  if (taken) {
    throw new lsp.ResponseError(lsp.ErrorCodes.InvalidRequest, `${quote(newName)} is already defined (${basename(taken.file)}:${taken.nameRange.start.line + 1}): choose another name.`);
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
      throw new lsp.ResponseError(lsp.ErrorCodes.InvalidRequest, `${quote(oldName)} is written \`: value\` in ${basename(d.file)}: rename ${quote(`[section ${d.writtenSection}]`, "")} instead.`);
    }
    if (prefix && !newName.startsWith(prefix)) {
      throw new lsp.ResponseError(lsp.ErrorCodes.InvalidRequest, `Cannot leave ${quote(`[section ${d.writtenSection}]`, "")} (${basename(d.file)}): the new name must start with ${quote(prefix)}.`);
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
  for (const [f, l] of edits) changes[at.session.uriOf(f)] = l;
  return { changes };
}
