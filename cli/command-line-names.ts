// Names metro takes from its command line (target/build, target/subarch,
// ...): the tree references them and no file of it defines them. Forgetting
// one makes everything that depends on it undefined; the first finding about
// each such name says how to pass it, once.

import { existsSync, statSync } from "node:fs";
import { findTreeRootAbove, isTreeRoot } from "../analysis/trees";
import { WorkspaceIndex, indexFile, type FileIndex } from "../analysis/workspace-index";
import type { EngineDiagnostic, EvaluatedContext } from "../engine/evaluate";
import { Workspace } from "../engine/workspace";
import { excerpt } from "../language";

/** What a context reads: the tree holding its entry file, the one its path/install names, and the files it collected. */
export interface ContextSources {
  roots: string[];
  files: string[];
}

/** What is known of the disk while many contexts are looked at: the tree above each entry file, whether a folder is a tree. */
export interface TreeCache {
  above: Map<string, string | undefined>;
  isTree: Map<string, boolean>;
}

export function newTreeCache(): TreeCache {
  return { above: new Map(), isTree: new Map() };
}

export function contextSources(ctx: EvaluatedContext, cache: TreeCache = newTreeCache()): ContextSources {
  return { roots: contextTrees(ctx, cache), files: [...ctx.collected] };
}

function contextTrees(ctx: EvaluatedContext, cache: TreeCache): string[] {
  const roots = new Set<string>();
  const config = ctx.spec.config;
  if (!cache.above.has(config)) cache.above.set(config, findTreeRootAbove(config));
  const above = cache.above.get(config);
  if (above) roots.add(above);
  if (!ctx.fatal) {
    try {
      const install = ctx.has("path/install") ? ctx.get("path/install") : null;
      if (typeof install === "string") {
        let tree = cache.isTree.get(install);
        if (tree === undefined) cache.isTree.set(install, (tree = existsSync(install) && statSync(install).isDirectory() && isTreeRoot(install)));
        if (tree) roots.add(install);
      }
    } catch {
      // path/install cannot be expanded: the entry file's tree is all there is
    }
  }
  return [...roots];
}

/** Answers "does any file of these trees define NAME?", scanning each tree once. */
export class TreeDefinitions {
  private readonly indexes = new Map<string, WorkspaceIndex>();
  private readonly files = new Map<string, FileIndex | null>();

  /** `workspace`: the parsed files to reuse (a check passes the one its contexts were read with). */
  constructor(private readonly workspace = new Workspace()) {}

  private file(path: string): FileIndex | null {
    let fi = this.files.get(path);
    if (fi === undefined) {
      const ast = this.workspace.getFile(path)?.ast;
      fi = ast ? indexFile(path, ast) : null;
      this.files.set(path, fi);
    }
    return fi;
  }

  /** The index of a tree, scanned once. */
  index(root: string): WorkspaceIndex {
    let index = this.indexes.get(root);
    if (!index) {
      index = new WorkspaceIndex(root, { parse: (p) => this.workspace.getFile(p)?.ast });
      index.scan();
      this.indexes.set(root, index);
    }
    return index;
  }

  /** True when `name` is referenced in the sources and defined in none of their files. */
  isCommandLineName(name: string, sources: ContextSources): boolean {
    let referenced = false;
    for (const root of sources.roots) {
      const index = this.index(root);
      if (index.definitions(name).length > 0) return false;
      if (index.references(name).length > 0) referenced = true;
    }
    for (const path of sources.files) {
      const fi = this.file(path);
      if (!fi) continue;
      if (fi.definitions.some((d) => d.name === name)) return false;
      if (fi.references.some((r) => r.name === name)) referenced = true;
    }
    return referenced;
  }
}

export function commandLineHint(name: string): string {
  return `no file of the tree defines it: pass it on the command line: ${excerpt(name)}: VALUE`;
}

/**
 * Adds the hint to the first finding about each name the command line should
 * have given (findings in report order); the others stay as they are.
 */
export function addCommandLineHints<T extends EngineDiagnostic>(findings: T[], sources: ContextSources, defs = new TreeDefinitions()): T[] {
  const said = new Set<string>();
  // An error carries the hint rather than a warning about a file it leaves uncollected.
  const order = [...findings.filter((f) => f.severity === "error"), ...findings.filter((f) => f.severity !== "error")];
  for (const f of order) {
    const name = f.missing;
    if (name === undefined || said.has(name)) continue;
    said.add(name);
    if (defs.isCommandLineName(name, sources)) f.message += `; ${commandLineHint(name)}`;
  }
  return findings;
}
