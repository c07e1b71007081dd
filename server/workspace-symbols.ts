// Workspace symbols: every definition of every tree, matched by substring (or subsequence) of the query.

import * as lsp from "vscode-languageserver";
import { location } from "./convert";
import type { Session } from "./session";

/** Whether `name` holds `query`, as a substring or a subsequence, ignoring case. */
export function matches(name: string, query: string): boolean {
  if (!query) return true;
  const n = name.toLowerCase();
  const q = query.toLowerCase();
  if (n.includes(q)) return true;
  let i = 0;
  for (const ch of n) if (ch === q[i]) i++;
  return i === q.length;
}

export function workspaceSymbols(session: Session, params: lsp.WorkspaceSymbolParams): lsp.SymbolInformation[] {
  const out: lsp.SymbolInformation[] = [];
  for (const tree of session.trees.values()) {
    for (const f of tree.index.files.values()) {
      for (const d of f.definitions) {
        if (!d.name || !matches(d.name, params.query)) continue;
        out.push({ name: d.name, kind: d.statement.kind === "multi" ? lsp.SymbolKind.Array : lsp.SymbolKind.Field, location: location(d.file, d.nameRange, session), containerName: d.section ?? undefined });
        if (out.length >= 1000) return out;
      }
    }
  }
  return out;
}
