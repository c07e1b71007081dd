// Go to definition: from any reference form to every definition of the name
// (conditional ones and per-build ones included), from a collect path to the
// file(s) it reads, from `[section x]` to the element x or the other places
// that open the same section. A name no file defines but the active context
// gives (target/build, target/arch_desc: metro's command line) goes to where
// the context gives it: its entry in metro-contexts.json, or for a derived
// context the file the value was derived from (the build's build.conf, the
// target's .spec, the arch's folder or file).

import { existsSync, readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { CONTEXTS_FILE, type ContextState } from "../analysis/contexts";
import type { MetroTree } from "./session";
import type { DocumentRequest } from "./requests";
import type * as lsp from "vscode-languageserver";
import { expandedCollectPath } from "./document-links";
import { location, type UriNames } from "./convert";
import { targetAt } from "./locate";
import { MAX_REFERENCES } from "./limits";

/** Where the element, section or file under the cursor is defined: at most MAX_REFERENCES places, the log saying how many were left out. */
export function definition(at: DocumentRequest, params: lsp.DefinitionParams): lsp.Location[] {
  const all = definitions(at, params);
  if (all.length <= MAX_REFERENCES) return all;
  at.log(`definition: the first ${MAX_REFERENCES} of ${all.length} places are listed`);
  return all.slice(0, MAX_REFERENCES);
}

function definitions(at: DocumentRequest, params: lsp.DefinitionParams): lsp.Location[] {
  const { tree, file } = at;
  const t = targetAt(file, params.position);
  if (!t) return [];
  const zero = { start: { line: 0, character: 0, offset: 0 }, end: { line: 0, character: 0, offset: 0 } };
  switch (t.kind) {
    case "reference": {
      if (t.ref.name !== null) {
        const defs = tree.index.definitions(t.ref.name).map((d) => location(d.file, d.nameRange, at.session));
        return defs.length ? defs : contextArgument(tree, t.ref.name, at.session);
      }
      if (t.ref.pattern) return tree.index.definitionsMatching(t.ref.pattern).map((d) => location(d.file, d.nameRange, at.session));
      return [];
    }
    case "definition":
      // Already on a definition: the other definitions of the same name.
      return tree.index.definitions(t.def.name).map((d) => location(d.file, d.nameRange, at.session));
    case "section": {
      const own = tree.index.definitions(t.section.name);
      if (own.length) return own.map((d) => location(d.file, d.nameRange, at.session));
      const out: lsp.Location[] = [];
      for (const f of tree.index.files.values()) for (const s of f.sections) if (s.name === t.section.name && s !== t.section) out.push(location(s.file, s.nameRange, at.session));
      return out;
    }
    case "collect": {
      // The file of the active context first, then every other file the path can name in other builds.
      const exact = expandedCollectPath(tree, t.collect);
      const files = tree.index.collectCandidates(t.collect).filter((f) => f !== exact && existsSync(f));
      return (exact ? [exact, ...files] : files).map((f) => location(f, zero, at.session));
    }
  }
}

const ORIGIN = { start: { line: 0, character: 0, offset: 0 }, end: { line: 0, character: 0, offset: 0 } };

/** Where the active context gives `name` as a command-line value, or nothing. */
function contextArgument(tree: MetroTree, name: string, names: UriNames): lsp.Location[] {
  const ctx = tree.contexts.active;
  if (!ctx || !(name in ctx.args)) return [];
  if (tree.contexts.source === "file") {
    const file = join(tree.root, CONTEXTS_FILE);
    const at = argumentInContextsFile(file, ctx, name, names);
    return at ? [at] : [location(file, ORIGIN, names)];
  }
  if (tree.contexts.source === "derived") {
    const value = ctx.args[name];
    const files = [...tree.index.files.keys()];
    const install = dirname(dirname(files.find((f) => f.endsWith(join("etc", "master.conf"))) ?? join(tree.root, "etc", "master.conf")));
    const candidates: string[] = [];
    if (name === "target/build") candidates.push(join(install, "etc", "builds", value, "build.conf"));
    else if (name === "target") candidates.push(...files.filter((f) => basename(f) === `${value}.spec` && f.includes(`${join(install, "targets")}`)));
    else if (name === "target/arch_desc" || name === "target/subarch") {
      candidates.push(join(install, "etc", "builds", "packages", `${value}.conf`));
      candidates.push(...files.filter((f) => f.split(/[\\/]/).includes(value) || basename(f) === `${value}.conf`));
    }
    const hit = candidates.find((f) => existsSync(f));
    return hit ? [location(hit, ORIGIN, names)] : [];
  }
  return [];
}

/** The `"name": value` of a context's entry in metro-contexts.json. */
function argumentInContextsFile(file: string, ctx: ContextState, name: string, names: UriNames): lsp.Location | null {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return null;
  }
  for (const [start, end] of topLevelElements(text)) {
    let entry: { name?: unknown; args?: Record<string, unknown> };
    try {
      entry = JSON.parse(text.slice(start, end));
    } catch {
      continue;
    }
    const sameArgs = entry.args && Object.keys(entry.args).length === Object.keys(ctx.args).length && Object.entries(ctx.args).every(([k, v]) => entry.args![k] === v);
    if (!sameArgs || (typeof entry.name === "string" && entry.name !== ctx.name)) continue;
    const key = JSON.stringify(name);
    const re = new RegExp(key.replace(/[.*+?^${}()|[\]\\]/g, "\\$&") + "\\s*:", "g");
    re.lastIndex = start;
    const m = re.exec(text);
    if (!m || m.index >= end) continue;
    const before = text.slice(0, m.index).split("\n");
    const line = before.length - 1;
    const character = before[line].length;
    return { uri: names.uriOf(file), range: { start: { line, character }, end: { line, character: character + key.length } } };
  }
  return null;
}

/** Offsets of the elements of the top-level JSON array (strings and nesting skipped). */
function topLevelElements(text: string): [number, number][] {
  const out: [number, number][] = [];
  let depth = 0;
  let start = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === "\\") i++;
      continue;
    }
    if (c === "[" || c === "{") {
      if (depth === 1 && c === "{") start = i;
      depth++;
    } else if (c === "]" || c === "}") {
      depth--;
      if (depth === 1 && c === "}" && start >= 0) {
        out.push([start, i + 1]);
        start = -1;
      }
    }
  }
  return out;
}
