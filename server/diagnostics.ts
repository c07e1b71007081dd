// Diagnostics of one file: the parser's, the index's (layer 1: names no file
// defines, names defined twice in one file) and the engine's for every
// context that read the file (layer 2), merged so that one finding met in
// several contexts is one diagnostic naming them.

import * as lsp from "vscode-languageserver";
import type { Diagnostic as SyntaxDiagnostic } from "../language";
import type { EngineDiagnostic } from "../engine/evaluate";
import type { ContextState } from "../analysis/contexts";
import { zapOutcome } from "../analysis/zap";
import { location, toLspRange, toLspSeverity } from "./convert";
import type { MetroTree } from "./session";
import { SETUP_NAMES, type FileIndex, type ReferenceEntry } from "../analysis/workspace-index";

export const SOURCE = "metro";

export const Codes = {
  undefinedReference: "metro/undefined-reference",
  duplicateDefinition: "metro/duplicate-definition",
  noSection: "metro/no-section",
  zapNotNeeded: "metro/zap-not-needed",
  missingFile: "metro/missing-file",
} as const;

/** Data attached to diagnostics for code actions. */
export interface DiagnosticData {
  name?: string;
  contexts?: string[];
}

export function fileDiagnostics(tree: MetroTree, file: FileIndex): lsp.Diagnostic[] {
  const out: lsp.Diagnostic[] = file.ast.diagnostics.map((d) => syntaxDiagnostic(d));
  out.push(...indexDiagnostics(tree, file));
  out.push(...contextDiagnostics(tree, file, out));
  return out;
}

export function syntaxDiagnostic(d: SyntaxDiagnostic): lsp.Diagnostic {
  return {
    range: toLspRange(d.range),
    severity: toLspSeverity(d.severity),
    code: d.code,
    source: SOURCE,
    message: d.message,
    relatedInformation: d.related?.map((r) => ({ location: { uri: r.uri, range: toLspRange(r.range) }, message: r.message })),
  };
}

/** Names a context's command line defines: never "undefined" in the tree. */
function commandLineNames(tree: MetroTree): Set<string> {
  const names = new Set(SETUP_NAMES);
  for (const c of tree.contexts.contexts) for (const k of Object.keys(c.args)) names.add(k);
  return names;
}

export function isUndefinedInTree(tree: MetroTree, r: ReferenceEntry, cmdline = commandLineNames(tree)): boolean {
  if (r.name === null) return false;
  if (r.modifier === "zap" || r.modifier === "lax" || r.boolean) return false;
  if (r.place === "condition") return false;
  if (cmdline.has(r.name)) return false;
  return tree.index.definitions(r.name).length === 0;
}

function indexDiagnostics(tree: MetroTree, file: FileIndex): lsp.Diagnostic[] {
  const out: lsp.Diagnostic[] = [];
  const cmdline = commandLineNames(tree);
  for (const r of file.references) {
    if (r.part && !r.part.terminated) continue;
    if (r.name === null && (r.form === "relative" || r.form === "section") && r.place !== "multi-line") {
      out.push({
        range: toLspRange(r.range),
        severity: lsp.DiagnosticSeverity.Warning,
        code: Codes.noSection,
        source: SOURCE,
        message: `\`${r.part ? "$[" + r.part.inner + "]" : ""}\` is relative to the current section, but there is none here: expanding it fails`,
      });
      continue;
    }
    if (!isUndefinedInTree(tree, r, cmdline)) continue;
    if (r.place === "multi-reference" && r.modifier === "lax") continue;
    const data: DiagnosticData = { name: r.name! };
    out.push({
      range: toLspRange(r.nameRange.start.offset === r.nameRange.end.offset ? r.range : r.nameRange),
      severity: lsp.DiagnosticSeverity.Warning,
      code: Codes.undefinedReference,
      source: SOURCE,
      message: `no file in this tree defines \`${r.name}\` and it is not a command-line name: expanding this fails unless a context defines it${r.place === "multi-reference" ? "" : " (add :zap to make the value nothing when it is undefined)"}`,
      data,
    });
  }
  // A name defined twice in one file: fatal for metro when both are unconditional or share a condition.
  const seen = new Map<string, typeof file.definitions[number]>();
  for (const d of file.definitions) {
    const key = d.name + "\u0000" + (d.condition ?? "");
    const first = seen.get(key);
    if (!first) {
      seen.set(key, d);
      continue;
    }
    out.push({
      range: toLspRange(d.nameRange.start.offset === d.nameRange.end.offset ? d.statement.range : d.nameRange),
      severity: lsp.DiagnosticSeverity.Error,
      code: Codes.duplicateDefinition,
      source: SOURCE,
      message: `\`${d.name}\` is already defined${d.condition ? ` under the condition \`${d.condition}\`` : ""} in this file: metro stops with a duplicate-definition error`,
      relatedInformation: [{ location: location(first.file, first.nameRange), message: `first definition of \`${d.name}\`` }],
    });
  }
  return out;
}

/** "in stage3 / 1.4-release-std / amd64-jaguar", "in 3 of 20 contexts: a; b; c", "in all 20 contexts". */
export function describeContexts(names: string[], total: number): string {
  if (total > 1 && names.length === total) return `in all ${total} contexts`;
  if (names.length === 1) return `in ${names[0]}`;
  const shown = names.slice(0, 4).join("; ");
  return `in ${names.length} of ${total} contexts: ${shown}${names.length > 4 ? "; …" : ""}`;
}

function contextDiagnostics(tree: MetroTree, file: FileIndex, existing: lsp.Diagnostic[]): lsp.Diagnostic[] {
  const contexts = tree.contexts.contexts;
  if (contexts.length === 0) return [];
  const merged = new Map<string, { d: EngineDiagnostic; names: string[]; paths: Set<string> }>();
  const addFinding = (c: ContextState, d: EngineDiagnostic) => {
    // A missing `<<` file names a different path per context: one finding per `<<` line all the same.
    const missing = d.code === Codes.missingFile;
    const key = `${d.code}\u0000${d.range.start.offset}\u0000${d.range.end.offset}\u0000${missing ? "" : d.message}`;
    let m = merged.get(key);
    if (!m) merged.set(key, (m = { d, names: [], paths: new Set() }));
    if (!m.names.includes(c.name)) m.names.push(c.name);
    if (missing) m.paths.add(d.message);
  };
  for (const c of contexts) {
    // A context queued after an edit has findings for the old text: leave them out until it is evaluated again.
    if (c.stale && c.evaluated && c.reads.has(file.path)) continue;
    for (const d of c.diagnostics) if (d.file === file.path) addFinding(c, d);
    const fatal = c.evaluated?.fatal;
    if (fatal && fatal.file === file.path && fatal.range && !c.diagnostics.some((d) => d.file === file.path && d.code === fatal.code)) {
      addFinding(c, { file: file.path, range: fatal.range, severity: "error", code: fatal.code, message: fatal.message });
    }
  }
  const out: lsp.Diagnostic[] = [];
  const syntaxKeys = new Set(existing.map((e) => `${e.code}\u0000${e.range.start.line}:${e.range.start.character}`));
  for (const { d, names, paths } of merged.values()) {
    if (syntaxKeys.has(`${d.code}\u0000${d.range.start.line}:${d.range.start.character}`)) continue;
    const missing = d.code === Codes.missingFile;
    const data: DiagnosticData = { contexts: names };
    const message = missing
      ? `${d.message}${paths.size > 1 ? ` (and ${paths.size - 1} other path${paths.size > 2 ? "s" : ""})` : ""}: the file is not on this machine, so the values that depend on it are unknown`
      : d.message;
    out.push({
      range: toLspRange(d.range),
      severity: missing ? lsp.DiagnosticSeverity.Information : toLspSeverity(d.severity),
      code: d.code,
      source: SOURCE,
      message: `${message} (${describeContexts(names, contexts.length)})`,
      relatedInformation: d.related?.map((r) => ({ location: location(r.file, r.range), message: r.message })),
      data,
    });
  }
  out.push(...zapHints(tree, file));
  return out;
}

/** A `:zap` whose element is defined, and not empty, in every context: the `:zap` never fires. */
function zapHints(tree: MetroTree, file: FileIndex): lsp.Diagnostic[] {
  const contexts = tree.contexts.contexts.filter((c) => c.evaluated && !c.evaluated.fatal && c.reads.has(file.path));
  if (contexts.some((c) => c.stale)) return [];
  if (contexts.length === 0) return [];
  const out: lsp.Diagnostic[] = [];
  for (const r of file.references) {
    if (r.modifier !== "zap" || r.name === null || !r.part?.modifierRange) continue;
    const always = contexts.every((c) => zapOutcome(c, r.name!).kind === "keeps");
    if (!always) continue;
    out.push({
      range: toLspRange(r.part.modifierRange),
      severity: lsp.DiagnosticSeverity.Hint,
      code: Codes.zapNotNeeded,
      source: SOURCE,
      message: `\`${r.name}\` is defined and not empty in every context (${contexts.length}), so this :zap never drops anything`,
      data: { name: r.name } satisfies DiagnosticData,
      tags: [lsp.DiagnosticTag.Unnecessary],
    });
  }
  return out;
}
