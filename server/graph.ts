// metro/graph: the picture of the active context of a tree (the collect
// graph, or the uses of one key), drawn by engine/graph.ts as for
// `metro-engine graph --format svg`. Nothing is executed (allowExec false).

import { evaluateContext } from "../engine/evaluate";
import { collectGraph, keyGraph, toSvg } from "../engine/graph";
import type { GraphParams, GraphResult } from "./protocol";
import type { MetroTree } from "./session";

export function graphOf(tree: MetroTree, params: GraphParams): GraphResult | null {
  const active = tree.contexts.active;
  if (!active) return null;
  const spec = { config: active.config, args: active.args };
  if (params.key) {
    // References are recorded as values expand: a fresh evaluation that records them, over the same files (unsaved edits included).
    const ctx = evaluateContext(spec, { allowExec: false, workspace: tree.workspace, trackReferences: true });
    return { context: active.name, svg: toSvg(keyGraph(ctx, params.key)) };
  }
  const ctx = active.evaluated && !active.stale ? active.evaluated : evaluateContext(spec, { allowExec: false, workspace: tree.workspace });
  return { context: active.name, svg: toSvg(collectGraph(ctx)) };
}
