// Pictures of how a build is put together, from one evaluated context.
//
// The collect graph: every file read is a node (grouped by folder), every
// queued `[collect ...]` an edge labelled with the annotation as written,
// whether it was collected, skipped (a path that became nothing) or dropped
// (still queued when metro's queue stopped: metro drops it silently). A
// spec's `steps/...` keys are listed on the node of the file that defines them.
//
// The key graph (`keyGraph`): one element, the elements whose values use it
// and the elements it uses, each placed in the file that defines it.
//
// Both render to DOT (Graphviz), to SVG without Graphviz (layout by dagre,
// drawn here), and to JSON (the model itself).

import * as dagre from "@dagrejs/dagre";
import { basename, dirname, relative, sep } from "node:path";
import type { CollectAnnotation } from "../language";
import { EvaluationError } from "./errors";
import type { EvaluatedContext } from "./evaluate";

export interface GraphNode {
  id: string;
  /** What the node shows: a file name, a key, or a collect path that led nowhere. */
  label: string;
  /** failed: a file whose reading stopped the context; dropped: a collect path that led nowhere. */
  kind: "entry" | "file" | "failed" | "dropped" | "skipped" | "key" | "focus";
  /** The file (absolute) a click opens, when there is one. */
  file: string | null;
  /** 0-based line to open at, when known. */
  line?: number;
  /** The folder the node is drawn in (relative to the graph's root; "" for the root itself). */
  group: string;
  /** Extra lines under the label: the `steps/...` keys a spec defines. */
  details: string[];
}

export interface GraphEdge {
  from: string;
  to: string;
  /** The annotation as written (`[collect ./x.spec when a is b]`), or "uses" in a key graph. */
  label: string;
  status: "collected" | "skipped" | "dropped" | "failed" | "uses";
  /** The condition the collect carries (its own or the surrounding `[when]`). */
  condition: string | null;
  /** Why a collect was dropped or failed. */
  reason?: string;
  /** Where the annotation is written. */
  file?: string;
  line?: number;
}

export interface BuildGraph {
  kind: "collect" | "key";
  /** The folder node groups are relative to. */
  root: string;
  context: { config: string; args: Record<string, string> };
  /** Set when the context stopped (what was read up to there is still drawn). */
  fatal: string | null;
  /** The key of a key graph. */
  key?: string;
  nodes: GraphNode[];
  edges: GraphEdge[];
}

/** The annotation as written: the line without indentation and without a comment metro strips. */
function annotationText(st: CollectAnnotation): string {
  const line = st.lines[0].text;
  const end = st.comment ? st.comment.range.start.character : line.length;
  return line.slice(0, end).trim();
}

function commonFolder(paths: string[]): string {
  if (paths.length === 0) return "/";
  let parts = dirname(paths[0]).split(sep);
  for (const p of paths.slice(1)) {
    const q = dirname(p).split(sep);
    let i = 0;
    while (i < parts.length && i < q.length && parts[i] === q[i]) i++;
    parts = parts.slice(0, i);
  }
  return parts.join(sep) || sep;
}

function groupOf(root: string, file: string): string {
  const rel = relative(root, dirname(file));
  return rel === "" ? "" : rel.split(sep).join("/");
}

/** The collect graph of an evaluated context. */
export function collectGraph(ctx: EvaluatedContext): BuildGraph {
  const entry = ctx.spec.config;
  const files = [entry, ...ctx.collected.filter((f) => f !== entry), ...ctx.collects.map((c) => c.file)];
  const root = commonFolder([...new Set(files)]);
  const nodes = new Map<string, GraphNode>();
  const fileNode = (file: string, kind: GraphNode["kind"] = "file"): string => {
    if (!nodes.has(file)) nodes.set(file, { id: file, label: basename(file), kind, file, group: groupOf(root, file), details: [] });
    return file;
  };
  fileNode(entry, "entry");
  for (const f of ctx.collected) fileNode(f);
  const edges: GraphEdge[] = [];
  for (const c of ctx.collects) {
    const from = fileNode(c.file);
    const line = c.statement.range.start.line;
    let to: string;
    if (c.target) to = fileNode(c.target, c.outcome === "failed" && !ctx.collected.includes(c.target) ? "failed" : "file");
    else {
      to = `${c.outcome}:${c.file}:${line}`;
      nodes.set(to, { id: to, label: c.statement.path.text || "(empty)", kind: c.outcome === "skipped" ? "skipped" : "dropped", file: c.file, line, group: groupOf(root, c.file), details: [] });
    }
    edges.push({ from, to, label: annotationText(c.statement), status: c.outcome, condition: c.condition, reason: c.reason, file: c.file, line });
  }
  // The step keys, on the file that defines them.
  if (!ctx.fatal) {
    const keys = listedKeys(ctx) ?? [...ctx.store.all.keys()];
    for (const key of keys.filter((k) => k.startsWith("steps/")).sort()) {
      for (const d of ctx.definitions(key)) nodes.get(d.file)?.details.push(d.condition ? `${key} (when ${d.condition})` : key);
    }
  }
  return { kind: "collect", root, context: { config: ctx.spec.config, args: { ...ctx.spec.args } }, fatal: ctx.fatal?.code ?? null, nodes: [...nodes.values()], edges };
}

/** Every key as metro lists them, or null when listing fails (a condition that cannot be evaluated). */
function listedKeys(ctx: EvaluatedContext): string[] | null {
  try {
    return ctx.keys();
  } catch (e) {
    if (!(e instanceof EvaluationError)) throw e;
    return null;
  }
}

/**
 * Who uses `key` and what it uses: the context must be evaluated with
 * `trackReferences` (references are recorded as values are expanded; every
 * key is expanded here first).
 */
export function keyGraph(ctx: EvaluatedContext, key: string): BuildGraph {
  if (!ctx.fatal) for (const k of listedKeys(ctx) ?? []) ctx.tryGet(k);
  const users = ctx.referrers(key).sort();
  const uses: string[] = [];
  for (const k of ctx.store.all.keys()) if (ctx.referrers(k).includes(key)) uses.push(k);
  for (const k of ctx.store.raw.keys()) if (!uses.includes(k) && ctx.referrers(k).includes(key)) uses.push(k);
  uses.sort();
  const where = (name: string) => ctx.definitions(name)[0];
  const allFiles = [key, ...users, ...uses].map((n) => where(n)?.file).filter((f): f is string => !!f);
  const root = commonFolder(allFiles.length ? allFiles : [ctx.spec.config]);
  const nodes = new Map<string, GraphNode>();
  const keyNode = (name: string, kind: GraphNode["kind"]) => {
    if (nodes.has(name)) return;
    const d = where(name);
    const raw = ctx.allDefinitions(name)[0];
    const origin = d ? "" : raw?.origin === "command-line" ? "command line" : raw?.origin === "setup" ? "metro's setup" : "undefined";
    nodes.set(name, {
      id: name,
      label: name,
      kind,
      file: d?.file ?? null,
      line: d?.statement.name.range.start.line,
      group: d ? (relative(root, d.file).split(sep).join("/") || basename(d.file)) : `(${origin})`,
      details: d?.condition ? [`when ${d.condition}`] : [],
    });
  };
  keyNode(key, "focus");
  const edges: GraphEdge[] = [];
  for (const u of users) {
    keyNode(u, "key");
    edges.push({ from: u, to: key, label: "uses", status: "uses", condition: null });
  }
  for (const u of uses) {
    keyNode(u, "key");
    edges.push({ from: key, to: u, label: "uses", status: "uses", condition: null });
  }
  return { kind: "key", key, root, context: { config: ctx.spec.config, args: { ...ctx.spec.args } }, fatal: ctx.fatal?.code ?? null, nodes: [...nodes.values()], edges };
}

// ---------------------------------------------------------------------------
// DOT

function dotString(s: string): string {
  return '"' + s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\r?\n|\r/g, "\\n") + '"';
}

function edgeCaption(e: GraphEdge): string {
  if (e.status === "dropped") return `${e.label}\n(dropped: ${e.reason ?? "never collected"})`;
  if (e.status === "skipped") return `${e.label}\n(skipped: the path became nothing)`;
  if (e.status === "failed") return `${e.label}\n(stopped here: ${e.reason ?? "fatal"})`;
  if (e.status === "collected" && e.condition) return `${e.label}\n(taken: ${e.condition})`;
  return e.label;
}

export function toDot(g: BuildGraph): string {
  const out: string[] = [];
  const title = g.kind === "key" ? `uses of ${g.key}` : `collects of ${g.context.config}`;
  out.push(`digraph ${dotString(title)} {`);
  out.push(`  graph [rankdir=LR, fontname="monospace", fontsize=11, label=${dotString(title + (g.fatal ? ` (stopped: ${g.fatal})` : ""))}, labelloc=t];`);
  out.push(`  node [shape=box, style="rounded,filled", fillcolor="#ffffff", fontname="monospace", fontsize=11];`);
  out.push(`  edge [fontname="monospace", fontsize=9];`);
  const groups = new Map<string, GraphNode[]>();
  for (const n of g.nodes) {
    const list = groups.get(n.group) ?? [];
    list.push(n);
    groups.set(n.group, list);
  }
  let i = 0;
  for (const [group, members] of groups) {
    out.push(`  subgraph cluster_${i++} {`);
    out.push(`    label=${dotString(group || (g.kind === "collect" ? "." : "(tree)"))}; style="rounded,filled"; fillcolor="#f4f6f8"; color="#b0b8c0";`);
    for (const n of members) {
      const label = [n.label, ...n.details].join("\n");
      const attrs = [`label=${dotString(label)}`];
      if (n.file) attrs.push(`tooltip=${dotString(n.file)}`);
      if (n.kind === "entry" || n.kind === "focus") attrs.push(`penwidth=2`, `fillcolor="#e3f0ff"`);
      if (n.kind === "dropped" || n.kind === "failed") attrs.push(`style="rounded,dashed"`, `color="#c0392b"`, `fontcolor="#c0392b"`);
      if (n.kind === "skipped") attrs.push(`style="rounded,dotted"`, `color="#7f8c8d"`, `fontcolor="#7f8c8d"`);
      out.push(`    ${dotString(n.id)} [${attrs.join(", ")}];`);
    }
    out.push("  }");
  }
  for (const e of g.edges) {
    const attrs = [`label=${dotString(edgeCaption(e))}`];
    if (e.status === "dropped") attrs.push(`style=dashed`, `color="#c0392b"`, `fontcolor="#c0392b"`);
    if (e.status === "failed") attrs.push(`color="#c0392b"`, `fontcolor="#c0392b"`, `penwidth=2`);
    if (e.status === "skipped") attrs.push(`style=dotted`, `color="#7f8c8d"`);
    if (e.status === "collected" && e.condition) attrs.push(`color="#2471a3"`);
    out.push(`  ${dotString(e.from)} -> ${dotString(e.to)} [${attrs.join(", ")}];`);
  }
  out.push("}");
  return out.join("\n") + "\n";
}

// ---------------------------------------------------------------------------
// SVG (layout by dagre; no Graphviz needed)

const CHAR_W = 7;
const LINE_H = 15;
const PAD = 8;
const GROUP_BAND = 14;

function xml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function textBox(lines: string[], scale = 1): { width: number; height: number } {
  const w = Math.max(...lines.map((l) => l.length)) * CHAR_W * scale;
  return { width: Math.ceil(w + 2 * PAD), height: Math.ceil(lines.length * LINE_H * scale + PAD) };
}

function edgeColor(e: GraphEdge): string {
  if (e.status === "dropped" || e.status === "failed") return "#c0392b";
  if (e.status === "skipped") return "#7f8c8d";
  if (e.status === "collected" && e.condition) return "#2471a3";
  return "#4a5560";
}

/**
 * A graph the SVG layout cannot place: its recursion outgrows the stack on a
 * chain of thousands of files, and its time grows faster than the square of
 * the number of nodes side by side (one file collecting 800 takes half a
 * minute, 3,000 hours).
 */
export class GraphLayoutError extends Error {}

/** The most nodes the SVG layout takes at one distance from the graph's sources. */
export const MAX_SVG_RANK = 300;

/** The most nodes at one distance (in edges, breadth first) from the nodes nothing points at. */
function widestRank(g: BuildGraph): number {
  const into = new Map<string, number>();
  const out = new Map<string, string[]>();
  for (const e of g.edges) {
    into.set(e.to, (into.get(e.to) ?? 0) + 1);
    let list = out.get(e.from);
    if (!list) out.set(e.from, (list = []));
    list.push(e.to);
  }
  const depth = new Map<string, number>();
  const queue: string[] = [];
  for (const n of g.nodes) if (!into.has(n.id)) (depth.set(n.id, 0), queue.push(n.id));
  for (let i = 0; i < queue.length; i++) {
    const d = depth.get(queue[i])! + 1;
    for (const to of out.get(queue[i]) ?? []) if (!depth.has(to)) (depth.set(to, d), queue.push(to));
  }
  const counts = new Map<number, number>();
  let widest = 0;
  for (const n of g.nodes) {
    const d = depth.get(n.id) ?? -1; // in a cycle no source reaches: one rank of their own
    const c = (counts.get(d) ?? 0) + 1;
    counts.set(d, c);
    if (c > widest) widest = c;
  }
  return widest;
}

export function toSvg(g: BuildGraph): string {
  const widest = widestRank(g);
  if (widest > MAX_SVG_RANK) {
    throw new GraphLayoutError(`the graph (${g.nodes.length} files, ${g.edges.length} collects; ${widest} files side by side) is too wide to lay out as SVG here (at most ${MAX_SVG_RANK} side by side); --format dot draws it with Graphviz`);
  }
  const layout = new dagre.graphlib.Graph({ compound: true, multigraph: true });
  layout.setGraph({ rankdir: "LR", nodesep: 3 * GROUP_BAND + 8, ranksep: 50, edgesep: 12, marginx: 16, marginy: 16 + GROUP_BAND });
  layout.setDefaultEdgeLabel(() => ({}));
  const groupId = (group: string) => `group:${group}`;
  const groups = new Set(g.nodes.map((n) => n.group));
  for (const group of groups) layout.setNode(groupId(group), { label: group, width: 0, height: 0, paddingTop: 24 });
  for (const n of g.nodes) {
    const box = textBox([n.label, ...n.details.map((d) => "  " + d)]);
    layout.setNode(n.id, { width: box.width, height: box.height });
    layout.setParent(n.id, groupId(n.group));
  }
  g.edges.forEach((e, i) => {
    const caption = edgeCaption(e).split("\n");
    const box = textBox(caption, 9 / 11);
    layout.setEdge(e.from, e.to, { width: box.width, height: box.height, labelpos: "c" }, `e${i}`);
  });
  try {
    dagre.layout(layout);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    throw new GraphLayoutError(`the graph (${g.nodes.length} files, ${g.edges.length} collects) is too deep to lay out as SVG here; --format dot draws it with Graphviz`);
  }
  const graph = layout.graph();
  const width = Math.ceil((graph.width ?? 0) + 0);
  const title = g.kind === "key" ? `uses of ${g.key}` : `collects of ${g.context.config}`;
  const top = 28;
  const out: string[] = [];
  out.push(`<?xml version="1.0" encoding="UTF-8"?>`);
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${Math.max(width, title.length * CHAR_W + 32)}" height="${Math.ceil((graph.height ?? 0) + top)}" font-family="monospace" font-size="11">`);
  out.push(`<title>${xml(title)}</title>`);
  const colors = [...new Set(g.edges.map(edgeColor))];
  out.push(`<defs>${colors.map((c) => `<marker id="arrow-${c.slice(1)}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="${c}"/></marker>`).join("")}</defs>`);
  out.push(`<rect width="100%" height="100%" fill="#ffffff"/>`);
  out.push(`<text x="16" y="18" font-size="12" font-weight="bold">${xml(title + (g.fatal ? ` (stopped: ${g.fatal})` : ""))}</text>`);
  out.push(`<g transform="translate(0,${top})">`);
  for (const group of groups) {
    const c = layout.node(groupId(group));
    if (!c || c.x === undefined || c.y === undefined) continue;
    // The folder's name sits in a band above its nodes.
    const x = c.x - c.width / 2;
    const y = c.y - c.height / 2 - GROUP_BAND;
    out.push(`<g class="group"><rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${c.width.toFixed(1)}" height="${(c.height + GROUP_BAND).toFixed(1)}" rx="6" fill="#f4f6f8" stroke="#b0b8c0"/>`);
    let name = group || (g.kind === "collect" ? "." : "(tree)");
    const fits = Math.max(4, Math.floor((c.width - 12) / CHAR_W));
    if (name.length > fits) name = "…" + name.slice(name.length - fits + 1);
    out.push(`<text x="${(x + 6).toFixed(1)}" y="${(y + 12).toFixed(1)}" fill="#56616c"><title>${xml(group)}</title>${xml(name)}</text></g>`);
  }
  g.edges.forEach((e, i) => {
    const le = layout.edge({ v: e.from, w: e.to, name: `e${i}` });
    const pts: dagre.Point[] = le?.points ?? [];
    if (pts.length < 2) return;
    const d = `M${pts.map((p) => `${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(" L")}`;
    const color = edgeColor(e);
    const dash = e.status === "dropped" ? ` stroke-dasharray="6,4"` : e.status === "skipped" ? ` stroke-dasharray="2,3"` : "";
    out.push(`<g class="edge" data-status="${e.status}"${e.file ? ` data-file="${xml(e.file)}" data-line="${e.line ?? 0}"` : ""}>`);
    out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="1.3"${dash} marker-end="url(#arrow-${color.slice(1)})"/>`);
    if (le.x !== undefined && le.y !== undefined) {
      const caption = edgeCaption(e).split("\n");
      const box = textBox(caption, 9 / 11);
      const lineH = LINE_H * (9 / 11);
      const x0 = le.x;
      const y0 = le.y - ((caption.length - 1) * lineH) / 2;
      out.push(`<rect x="${(x0 - box.width / 2 + PAD / 2).toFixed(1)}" y="${(y0 - lineH / 2 - 1).toFixed(1)}" width="${(box.width - PAD).toFixed(1)}" height="${(caption.length * lineH + 2).toFixed(1)}" fill="#ffffff" opacity="0.9"/>`);
      caption.forEach((line, k) => {
        out.push(`<text x="${x0.toFixed(1)}" y="${(y0 + k * lineH + 3).toFixed(1)}" text-anchor="middle" font-size="9" fill="${color}">${xml(line)}</text>`);
      });
    }
    out.push(`</g>`);
  });
  for (const n of g.nodes) {
    const p = layout.node(n.id);
    if (p.x === undefined || p.y === undefined) continue;
    const x = p.x - p.width / 2;
    const y = p.y - p.height / 2;
    const strong = n.kind === "entry" || n.kind === "focus";
    const dropped = n.kind === "dropped" || n.kind === "failed";
    const skipped = n.kind === "skipped";
    const stroke = dropped ? "#c0392b" : skipped ? "#7f8c8d" : strong ? "#2471a3" : "#4a5560";
    out.push(`<g class="node" data-id="${xml(n.id)}"${n.file ? ` data-file="${xml(n.file)}" data-line="${n.line ?? 0}"` : ""} style="cursor:${n.file ? "pointer" : "default"}">`);
    out.push(`<title>${xml(n.file ?? n.label)}</title>`);
    out.push(`<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${p.width.toFixed(1)}" height="${p.height.toFixed(1)}" rx="4" fill="${strong ? "#e3f0ff" : "#ffffff"}" stroke="${stroke}" stroke-width="${strong ? 2 : 1}"${dropped ? ` stroke-dasharray="5,3"` : skipped ? ` stroke-dasharray="2,3"` : ""}/>`);
    const lines = [n.label, ...n.details.map((d) => "  " + d)];
    lines.forEach((line, k) => {
      const fill = dropped ? "#c0392b" : skipped ? "#7f8c8d" : k === 0 ? "#1b2229" : "#56616c";
      const weight = k === 0 && strong ? ` font-weight="bold"` : "";
      out.push(`<text x="${(x + PAD).toFixed(1)}" y="${(y + PAD / 2 + LINE_H * (k + 1) - 4).toFixed(1)}" fill="${fill}"${weight}>${xml(line)}</text>`);
    });
    out.push(`</g>`);
  }
  out.push(`</g>`);
  out.push(`</svg>`);
  return out.join("\n") + "\n";
}
