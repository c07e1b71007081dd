// Hover on a reference or a key: where the element is defined, its raw value,
// and its value expanded in the active context. Multi-line values are fenced
// shell blocks cut at 30 lines with a link to the whole value; `<?python`
// blocks are shown as written and never run; `:zap` outcomes are spelled out.

import { relative } from "node:path";
import type { DocumentRequest } from "./requests";
import * as lsp from "vscode-languageserver";
import { valueIn, type ContextState, type ValueOutcome } from "../analysis/contexts";
import { lineCount, toLspRange } from "./convert";
import { markup } from "./markup";
import { expandedCollectPath } from "./document-links";
import { targetAt } from "./locate";
import { zapConsequence, zapOutcome } from "../analysis/zap";
import { ClientCommands } from "./protocol";
import { definitionRange } from "./references";
import type { MetroTree, Session } from "./session";
import type { ReferenceEntry } from "../analysis/workspace-index";
import { quote, quotePath } from "../language";
import { MAX_HOVER_LINE } from "./limits";

export const HOVER_LINES = 30;

export function hover(at: DocumentRequest, params: lsp.HoverParams): lsp.Hover | null {
  const { tree, file } = at;
  const t = targetAt(file, params.position);
  if (!t) return null;
  let md: string[] = [];
  let range: lsp.Range;
  switch (t.kind) {
    case "reference":
      range = toLspRange(t.ref.range);
      if (t.ref.name === null) {
        md.push(t.ref.pattern ? `Names one of: ${matchingNames(tree, t.ref.pattern)}` : "This reference has no current section here: expanding it fails.");
        break;
      }
      md = elementHover(tree, t.ref.name, t.ref);
      break;
    case "definition":
      range = toLspRange(definitionRange(t.def));
      md = elementHover(tree, t.def.name, null);
      break;
    case "section":
      range = toLspRange(t.section.nameRange);
      md = [`**${quote(`[section ${t.section.name}]`, "")}**: the names below define ${quote(`${t.section.name}/NAME`)}.`];
      if (tree.index.definitions(t.section.name).length) md.push("", ...elementHover(tree, t.section.name, null));
      break;
    case "collect": {
      range = toLspRange(t.collect.statement.path.range);
      const exact = expandedCollectPath(tree, t.collect);
      const ctx = tree.contexts.active;
      md.push(`**collect** ${quotePath(t.collect.statement.path.text, "`")}`);
      if (exact && ctx) md.push("", `${contextHeading(tree, ctx)}: reads ${quotePath(rel(tree, exact), "`")}`);
      else {
        const c = tree.index.collectCandidates(t.collect);
        if (c.length) md.push("", "May read: " + c.slice(0, 10).map((f) => "`" + rel(tree, f) + "`").join(", ") + (c.length > 10 ? `, … (${c.length})` : ""));
      }
      break;
    }
  }
  return { contents: markup(at.session.hoverFormat, md.join("\n")), range };
}

/** The first 12 names a pattern reference can name, and how many there are in all. */
function matchingNames(tree: MetroTree, pattern: RegExp): string {
  const names = new Set<string>();
  for (const d of tree.index.definitionsMatching(pattern)) names.add(d.name);
  const first = [...names].slice(0, 12).map((n) => "`" + n + "`");
  return first.join(", ") + (names.size > 12 ? `, … (${names.size})` : "");
}

function rel(tree: MetroTree, f: string): string {
  const r = relative(tree.root, f);
  return r.startsWith("..") ? f : r;
}

function contextHeading(tree: MetroTree, c: ContextState): string {
  const src = tree.contexts.source === "derived" ? ", derived from the tree" : tree.contexts.source === "file" ? ", from metro-contexts.json" : "";
  return `In **${c.name}** (active context${src})`;
}

/**
 * The first HOVER_LINES lines of a value, each cut at MAX_HOVER_LINE characters, and a
 * note saying so: a hover is at most about 12 KB however large the expansion.
 */
function fence(lines: string[], name: string, tree: MetroTree): string[] {
  const shown = lines.slice(0, HOVER_LINES);
  let cut = 0;
  const out = ["```sh"];
  for (const l of shown) {
    const line = l.length > MAX_HOVER_LINE ? (cut++, l.slice(0, MAX_HOVER_LINE) + "…") : l;
    out.push(line.replace(/```/g, "`\u200b``"));
  }
  out.push("```");
  const notes: string[] = [];
  if (lines.length > HOVER_LINES) notes.push(`${lines.length - HOVER_LINES} more lines`);
  if (cut) notes.push(`${cut === 1 ? "1 line" : `${cut} lines`} cut at ${MAX_HOVER_LINE} characters`);
  if (notes.length) {
    const args = encodeURIComponent(JSON.stringify([{ tree: tree.root, name }]));
    out.push(`${notes.join("; ")} — [open the whole value](command:${ClientCommands.showExpandedValue}?${args})`);
  }
  return out;
}

function inlineCode(s: string): string {
  if (s === "") return "*(empty)*";
  const shown = s.length > MAX_HOVER_LINE ? s.slice(0, MAX_HOVER_LINE) + "…" : s;
  return "`` " + shown.replace(/`/g, "'") + " ``";
}

/** `file:line:col`, relative to the tree root when inside it. */
function placeText(where: { file: string; range: { start: { line: number; character: number } } }, root?: string): string {
  const file = root && where.file.startsWith(root + "/") ? where.file.slice(root.length + 1) : where.file;
  return `${file}:${where.range.start.line + 1}:${where.range.start.character + 1}`;
}

export function describeOutcome(v: ValueOutcome, root?: string): string {
  switch (v.kind) {
    case "undefined":
      return "undefined";
    case "unknown":
      return `unknown: ${v.message}${v.where ? ` (${placeText(v.where, root)})` : ""}`;
    case "error":
      return `error: ${v.message}${v.where ? ` (at ${placeText(v.where, root)})` : ""}`;
    case "fatal":
      return `the context stops: ${v.message}`;
    case "pending":
      return "not evaluated yet";
    case "value":
      return v.value === null ? "nothing (a `:zap` fired)" : Array.isArray(v.value) ? lineCount(v.value.length) : inlineCode(v.value);
  }
}

/** Documentation of a completed name: the hover of its element. */
export function elementDocumentation(session: Session, item: lsp.CompletionItem): lsp.CompletionItem {
  const data = item.data as { tree?: unknown; name?: unknown } | undefined;
  const tree = typeof data?.tree === "string" ? session.trees.get(data.tree) : undefined;
  if (!tree || typeof data?.name !== "string") return item;
  return { ...item, documentation: markup(session.completionFormat, elementHover(tree, data.name, null).join("\n")) };
}

function elementHover(tree: MetroTree, name: string, ref: ReferenceEntry | null): string[] {
  const defs = tree.index.definitions(name);
  const md: string[] = [];
  const kind = defs[0]?.statement.kind === "multi" ? "multi-line element" : defs.length ? "element" : "not defined in this tree";
  md.push(`**${quote(name)}** — ${kind}`);
  if (defs.length) {
    md.push("");
    for (const d of defs.slice(0, 6)) {
      md.push(`- ${rel(tree, d.file)}:${d.nameRange.start.line + 1}${d.condition ? ` when ${quote(d.condition)}` : ""}`);
    }
    if (defs.length > 6) md.push(`- … ${defs.length - 6} more`);
  }
  const ctx = tree.contexts.active;
  const v = ctx ? valueIn(ctx, name) : null;
  const d = defs[0];
  // A multi-line raw value is only worth its lines when there is no expanded one to read instead.
  if (d && (d.statement.kind === "single" || !v || v.kind !== "value")) {
    md.push("", defs.length > 1 ? "Raw value (first definition):" : "Raw value:");
    if (d.statement.kind === "single") md.push(inlineCode(d.statement.value.text));
    else md.push(...fence(d.statement.rawLines, name, tree));
  }
  if (!ctx || !v) {
    md.push("", "*No build context: configure `metro.contexts` or add `metro-contexts.json` to see expanded values.*");
    return md;
  }
  md.push("", contextHeading(tree, ctx) + ":");
  if (v.kind === "value" && Array.isArray(v.value)) {
    md.push(...fence(v.value, name, tree));
    if (v.value.some((l) => l.trimStart().startsWith("<?python"))) md.push("", "*`<?python` blocks are shown as written: the language server never runs them.*");
  } else md.push(describeOutcome(v, tree.root));
  const zap = ref && ref.modifier === "zap" ? zapOutcome(ctx, name) : null;
  if (ref && zap?.kind === "fires") md.push("", `\`:zap\` fires here: ${quote(name)} is ${zap.because}, so ${zapConsequence(ref.place, ref.element)}.`);
  if (ref && zap?.kind === "keeps") md.push("", `\`:zap\` does nothing here: ${quote(name)} has a value. If it were undefined or empty, ${zapConsequence(ref.place, ref.element)}.`);
  if (ref && ref.boolean) md.push("", `${quote(`$[${name}?]`)} expands to \`${v.kind === "undefined" ? "no" : "yes"}\`.`);
  return md;
}

/** The whole expanded value, for the "show expanded value" command. */
export function expandedValueText(tree: MetroTree, name: string): { text: string; context: string | null } {
  const ctx = tree.contexts.active;
  if (!ctx) return { text: `# ${name}: no build context`, context: null };
  const v = valueIn(ctx, name);
  if (v.kind === "value" && Array.isArray(v.value)) return { text: v.value.join("\n") + "\n", context: ctx.name };
  if (v.kind === "value" && typeof v.value === "string") return { text: v.value + "\n", context: ctx.name };
  return { text: `# ${name} in ${ctx.name}: ${describeOutcome(v, tree.root)}\n`, context: ctx.name };
}
