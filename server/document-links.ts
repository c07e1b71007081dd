// Document links on collect paths (and `<< PATH` files): the file a path
// reads, exact in the active context, otherwise when the path has a single
// candidate without one.

import { existsSync } from "node:fs";
import { dirname, isAbsolute, normalize, resolve } from "node:path";
import type { DocumentRequest } from "./requests";
import type * as lsp from "vscode-languageserver";
import { toLspRange } from "./convert";
import type { MetroTree } from "./session";
import type { CollectEntry } from "../analysis/workspace-index";

/** Text expanded by the engine in the active context (as a value of `element`, or as a collect path); null when it cannot be. */
export function expandInActive(tree: MetroTree, text: string, element: string | null): string | null {
  const ev = tree.contexts.active?.evaluated;
  if (!ev || ev.fatal) return null;
  return ev.expandText(text, element).value ?? null;
}

/** The file a collect reads in the active context, when it exists. */
export function expandedCollectPath(tree: MetroTree, c: CollectEntry): string | null {
  if (c.staticPath) return existsSync(c.staticPath) ? c.staticPath : null;
  const text = expandInActive(tree, c.statement.path.text, null);
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
    if (target) out.push({ range: toLspRange(c.statement.path.range), target: at.session.uriOf(target), tooltip: target });
  }
  for (const d of file.definitions) {
    if (d.statement.kind !== "single" || !d.statement.value.file) continue;
    const f = d.statement.value.file;
    const text = expandInActive(tree, f.pathText, d.name);
    if (text && isAbsolute(text) && existsSync(text)) out.push({ range: toLspRange(f.pathRange), target: at.session.uriOf(text), tooltip: text });
  }
  return out;
}
