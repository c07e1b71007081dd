// Completion of element names after `$[`, `$[[` and `$[:`, of modifiers after
// a name's `:`, of annotation words after `[`, of paths after `[collect `.

import { opendirSync, statSync, type Dir } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { DocumentRequest } from "./requests";
import { parseReferenceInner } from "../language";
import * as lsp from "vscode-languageserver";
import { MAX_COMPLETION_ITEMS, MAX_FOLDER_ENTRIES_READ } from "./limits";
import { matches } from "./workspace-symbols";

const ANNOTATIONS = ["section", "when", "collect", "option"];
const OPTIONS = ["parse/lax", "parse/strict"];

export function completion(at: DocumentRequest, params: lsp.CompletionParams): lsp.CompletionItem[] | lsp.CompletionList {
  const doc = at.session.documents.get(at.uri);
  if (!doc) return [];
  // The cursor's line up to the cursor (a position past the end of its line came clamped to that end: params.ts).
  const pos = params.position;
  const line = doc.getText({ start: { line: pos.line, character: 0 }, end: pos });
  const replace = (typed: string): lsp.Range => ({ start: { line: pos.line, character: pos.character - typed.length }, end: pos });

  let m = /^\s*\[option\s+(\S*)$/.exec(line);
  if (m) return OPTIONS.map((o) => ({ label: o, kind: lsp.CompletionItemKind.EnumMember, textEdit: { range: replace(m![1]), newText: o } }));
  // After the closing `]` there is no path to complete.
  m = /^\s*\[collect\s+([^\s\]]*)$/.exec(line);
  if (m && !m[1].includes("$[")) return pathItems(at.path, m[1], replace);
  m = /^\s*\[(\w*)$/.exec(line);
  if (m) return ANNOTATIONS.map((a) => ({ label: a, kind: lsp.CompletionItemKind.Keyword, textEdit: { range: replace(m![1]), newText: a } }));

  // Inside an unterminated reference on this line?
  const open = line.lastIndexOf("$[");
  if (open < 0 || line.indexOf("]", open) >= 0) return [];
  let inner = line.slice(open + 2);
  if (inner.startsWith("[")) inner = inner.slice(1);
  const syntax = parseReferenceInner(inner);
  if (syntax.modifier !== null) {
    const typed = syntax.modifier;
    return [
      { label: "zap", kind: lsp.CompletionItemKind.Keyword, detail: "undefined or empty makes the whole value nothing", textEdit: { range: replace(typed), newText: "zap" } },
      { label: "lax", kind: lsp.CompletionItemKind.Keyword, detail: "undefined expands to the empty string", textEdit: { range: replace(typed), newText: "lax" } },
    ];
  }
  if (syntax.form !== "absolute" && inner.startsWith(":")) {
    // `$[:x`: names relative to the section of the element holding the reference.
    const typed = syntax.name;
    const section = sectionAt(at.file, pos.line);
    if (!section) return [];
    const prefix = section + "/";
    return capped(
      at.tree.index.names().filter((n) => n.startsWith(prefix)),
      (n) => n.slice(prefix.length),
      typed,
      (n) => nameItem(n.slice(prefix.length), n, replace(typed), at.tree.root),
    );
  }
  const names = new Set(at.tree.index.names());
  for (const c of at.tree.contexts.contexts) for (const k of Object.keys(c.args)) names.add(k);
  names.delete("");
  return capped([...names], (n) => n, inner, (n) => nameItem(n, n, replace(inner), at.tree.root));
}

/**
 * Items for `names`: all of them when there are at most MAX_COMPLETION_ITEMS, else the
 * first ones whose label holds what is typed (as the client filters), in a list marked
 * incomplete so that the client asks again as the user types.
 */
function capped(names: string[], label: (n: string) => string, typed: string, item: (n: string) => lsp.CompletionItem): lsp.CompletionItem[] | lsp.CompletionList {
  if (names.length <= MAX_COMPLETION_ITEMS) return names.map(item);
  const items: lsp.CompletionItem[] = [];
  for (const n of names) {
    if (!matches(label(n), typed)) continue;
    if (items.length === MAX_COMPLETION_ITEMS) return { isIncomplete: true, items };
    items.push(item(n));
  }
  return items;
}

/** `data` lets completionItem/resolve add the element's documentation. */
function nameItem(label: string, full: string, range: lsp.Range, tree: string): lsp.CompletionItem {
  return { label, kind: lsp.CompletionItemKind.Variable, detail: full, textEdit: { range, newText: label }, data: { tree, name: full } };
}

function sectionAt(file: import("../analysis/workspace-index").FileIndex, line: number): string | null {
  for (const d of file.definitions) if (d.statement.range.start.line <= line && line <= d.statement.range.end.line) return d.section;
  let section: string | null = null;
  for (const s of file.sections) if (s.range.start.line <= line) section = s.name;
  return section;
}

/**
 * Entries of the folder a collect path names. The folder is read an entry at a time: at most
 * MAX_FOLDER_ENTRIES_READ entries and MAX_COMPLETION_ITEMS items that hold what is typed (a
 * list marked incomplete past either, so that the client asks again as the user types).
 */
function pathItems(file: string, typed: string, replace: (t: string) => lsp.Range): lsp.CompletionItem[] | lsp.CompletionList {
  const slash = typed.lastIndexOf("/");
  const dirPart = slash >= 0 ? typed.slice(0, slash + 1) : "";
  const dir = resolve(dirname(file), dirPart || ".");
  const last = typed.slice(slash + 1);
  const names: string[] = [];
  let incomplete = false;
  let folder: Dir | undefined;
  try {
    folder = opendirSync(dir);
    for (let read = 0, e = folder.readSync(); e; e = folder.readSync()) {
      if (++read > MAX_FOLDER_ENTRIES_READ || names.length === MAX_COMPLETION_ITEMS) {
        incomplete = true;
        break;
      }
      if (!e.name.startsWith(".") && matches(e.name, last)) names.push(e.name);
    }
  } catch {
    return [];
  } finally {
    folder?.closeSync();
  }
  const items = names
    .map((n) => {
      let isDir = false;
      try {
        isDir = statSync(join(dir, n)).isDirectory();
      } catch {
        /* ignore */
      }
      return {
        label: isDir ? n + "/" : n,
        kind: isDir ? lsp.CompletionItemKind.Folder : lsp.CompletionItemKind.File,
        textEdit: { range: replace(last), newText: isDir ? n + "/" : n },
        command: isDir ? { title: "", command: "editor.action.triggerSuggest" } : undefined,
      };
    });
  return incomplete ? { isIncomplete: true, items } : items;
}
