// Document links on collect paths (and `<< PATH` files): the file a path
// reads, exact in the active context, otherwise when the path has a single
// candidate without one.

import { existsSync } from "node:fs";
import { dirname, isAbsolute, normalize, resolve } from "node:path";
import type { DocumentRequest } from "./requests";
import type * as lsp from "vscode-languageserver";
import type { Value } from "../language";
import { valueIn } from "../analysis/contexts";
import { pathToUri, toLspRange } from "./convert";
import type { MetroTree } from "./session";
import type { CollectEntry } from "../analysis/workspace-index";

/** Expands a value's references with the active context's values; null when a `:zap` makes it nothing or a value is unknown. */
export function expandInActive(tree: MetroTree, value: Value["parts"], section: string | null): string | null {
  const c = tree.contexts.active;
  let text = "";
  for (const p of value) {
    if (p.kind === "text") {
      text += p.text;
      continue;
    }
    if (!c) return null;
    let name = p.name;
    if (p.form === "relative") name = section ? section + "/" + p.name : "";
    else if (p.form === "section") name = section ?? "";
    if (!name) return null;
    const v = valueIn(c, name);
    if (v.kind === "undefined" && (p.boolean || p.modifier === "lax")) text += p.boolean ? "no" : "";
    else if (v.kind !== "value" || v.value === null || Array.isArray(v.value)) return null;
    else if (p.boolean) text += "yes";
    else if (p.modifier === "zap" && v.value === "") return null;
    else text += v.value;
  }
  return text;
}

/** The file a collect reads in the active context, when it exists. */
export function expandedCollectPath(tree: MetroTree, c: CollectEntry): string | null {
  if (c.staticPath) return existsSync(c.staticPath) ? c.staticPath : null;
  const text = expandInActive(tree, c.statement.path.parts, null);
  if (!text) return null;
  const p = isAbsolute(text) ? normalize(text) : resolve(dirname(c.file), text);
  return existsSync(p) ? p : null;
}

export function documentLinks(at: DocumentRequest): lsp.DocumentLink[] {
  const { tree, file } = at;
  const out: lsp.DocumentLink[] = [];
  for (const c of file.collects) {
    let target = expandedCollectPath(tree, c);
    if (!target) {
      const cands = tree.index.collectCandidates(c).filter((f) => existsSync(f));
      if (cands.length === 1) target = cands[0];
    }
    if (target) out.push({ range: toLspRange(c.statement.path.range), target: pathToUri(target), tooltip: target });
  }
  for (const d of file.definitions) {
    if (d.statement.kind !== "single" || !d.statement.value.file) continue;
    const f = d.statement.value.file;
    const text = expandInActive(tree, f.parts, d.section);
    if (text && isAbsolute(text) && existsSync(text)) out.push({ range: toLspRange(f.pathRange), target: pathToUri(text), tooltip: text });
  }
  return out;
}
