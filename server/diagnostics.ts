// Diagnostics of one file: the parser's, the index's (layer 1: names no file
// defines, names defined twice in one file) and the engine's for every
// context that read the file (layer 2), merged so that one finding met in
// several contexts is one diagnostic naming them.

import * as lsp from "vscode-languageserver";
import type { Diagnostic as SyntaxDiagnostic } from "../language";
import { CONTEXTS_FILE } from "../analysis/contexts";
import { zapOutcome } from "../analysis/zap";
import { mergeFindings, type ContextFindings } from "../analysis/findings";
import { problemCode } from "../engine/files";
import { location, toLspRange, toLspSeverity, type UriNames } from "./convert";
import type { MetroTree } from "./session";
import type { FileIndex } from "../analysis/workspace-index";
import { EXPANSION_CODES, commandLineNames, judgedSyntaxFinding, treeFindings } from "../analysis/tree-findings";
import { quote } from "../language";

export const SOURCE = "metro";

export const Codes = {
  undefinedReference: "metro/undefined-reference",
  duplicateDefinition: "metro/duplicate-definition",
  noSection: "metro/no-section",
  zapNotNeeded: "metro/zap-not-needed",
  missingFile: "metro/missing-file",
  unused: "metro/unused",
  tooManyFindings: "metro/too-many-findings",
  badContextsFile: "metro/bad-contexts-file",
} as const;

/** Data attached to diagnostics for code actions. */
export interface DiagnosticData {
  name?: string;
  contexts?: string[];
}

/**
 * At most this many diagnostics are published for one file (a generated file
 * may hold a hundred thousand findings; the first thousand tell the story and
 * a message of that size stays cheap for every client).
 */
export const MAX_DIAGNOSTICS_PER_FILE = 1000;

/** The diagnostics of a file; places in other files are named by the URIs of `names` (the session: the client's). */
export function fileDiagnostics(tree: MetroTree, file: FileIndex, names: UriNames): lsp.Diagnostic[] {
  let syntax = file.ast.diagnostics.map((d) => syntaxDiagnostic(d));
  // Problems only an expansion meets are judged by the contexts that read the file, once all are fresh.
  const judging = contextsJudge(tree, file);
  const fromContexts = contextDiagnostics(tree, file, judging ? syntax.filter((d) => !EXPANSION_CODES.has(String(d.code))) : syntax, names);
  if (judging) {
    // The contexts' findings by line and code: a file may hold a hundred thousand of each.
    const byLine = new Map<string, lsp.Range[]>();
    for (const c of fromContexts) {
      if (!EXPANSION_CODES.has(String(c.code))) continue;
      const key = `${c.range.start.line}\0${c.code}`;
      const ranges = byLine.get(key);
      if (ranges) ranges.push(c.range);
      else byLine.set(key, [c.range]);
    }
    const judged: lsp.Diagnostic[] = [];
    for (const d of syntax) {
      const there = byLine.get(`${d.range.start.line}\0${d.code}`) ?? [];
      const j = judgedSyntaxFinding(d, there.some((r) => overlaps(r, d.range)), lsp.DiagnosticSeverity.Warning);
      if (j) judged.push(j);
    }
    syntax = judged;
  } else if (readByNoContext(tree, file)) {
    // No run of these contexts reads the file: nothing in it stops a build (as `check` says of such files).
    syntax = syntax.map((d) => (d.severity === lsp.DiagnosticSeverity.Error ? { ...d, severity: lsp.DiagnosticSeverity.Warning, message: `${d.message} (no context reads this file)` } : d));
  }
  // Loops, not push(...list): spreading a list of 150,000 findings overflows the stack.
  const out: lsp.Diagnostic[] = [];
  for (const d of syntax) out.push(d);
  for (const d of fromContexts) out.push(d);
  for (const d of indexDiagnostics(tree, file, out, names)) out.push(d);
  for (const d of zapHints(tree, file)) out.push(d);
  for (const d of unusedHints(tree, file)) out.push(d);
  return capped(out);
}

/** Whether the contexts' verdicts judge this file: some evaluated context read it and none waits for a new evaluation. */
function contextsJudge(tree: MetroTree, file: FileIndex): boolean {
  const contexts = tree.contexts.contexts;
  if (contexts.some((c) => c.stale || !c.evaluated)) return false;
  return contexts.some((c) => c.reads.has(file.path));
}

/** Whether every context is evaluated, up to date, and none read this file. */
function readByNoContext(tree: MetroTree, file: FileIndex): boolean {
  const contexts = tree.contexts.contexts;
  if (contexts.length === 0 || contexts.some((c) => c.stale || !c.evaluated)) return false;
  return !contexts.some((c) => c.reads.has(file.path));
}

/** The first MAX_DIAGNOSTICS_PER_FILE diagnostics, and one saying how many more there are. */
export function capped(all: lsp.Diagnostic[]): lsp.Diagnostic[] {
  if (all.length <= MAX_DIAGNOSTICS_PER_FILE) return all;
  const out = all.slice(0, MAX_DIAGNOSTICS_PER_FILE);
  out.push({
    range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } },
    severity: lsp.DiagnosticSeverity.Information,
    code: Codes.tooManyFindings,
    source: SOURCE,
    message: `${all.length - MAX_DIAGNOSTICS_PER_FILE} more findings in this file are not shown (the first ${MAX_DIAGNOSTICS_PER_FILE} are); \`metro-engine check\` lists them all`,
  });
  return out;
}

/** The first few problems, then how many more (a file of thousands of bad entries gets a message of a few lines). */
export function problemList(problems: string[], shown = 5): string {
  const more = problems.length - shown;
  return problems.slice(0, shown).join("; ") + (more > 0 ? `; and ${more} more` : "");
}

/**
 * Diagnostics of a file of the tree that is not indexed: a Metro file that
 * is skipped (a FIFO, a device, too large) or an unusable metro-contexts.json.
 * One diagnostic each; undefined when the path is neither.
 */
export function unreadFileDiagnostics(tree: MetroTree, path: string): lsp.Diagnostic[] | undefined {
  const start = { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };
  const problem = tree.index.skipped.get(path);
  if (problem) {
    return [{ range: start, severity: lsp.DiagnosticSeverity.Warning, code: problem.kind === "missing" ? Codes.missingFile : problemCode(problem.kind), source: SOURCE, message: `this file ${problem.words}: the language server skips it` }];
  }
  const leftOut = tree.contexts.source === "file" ? tree.contexts.contextsLeftOut : 0;
  if (path === tree.contexts.contextsFile && (tree.contexts.contextsFileProblems.length || leftOut)) {
    const problems = tree.contexts.contextsFileProblems;
    // Entries that could be read are used: say which were left out, not that the file is ignored.
    const used = tree.contexts.source === "file" ? tree.contexts.contexts.length : 0;
    const listed = problemList(problems);
    const message = !used
      ? `${CONTEXTS_FILE} is not used: ${listed}`
      : problems.length
        ? `${CONTEXTS_FILE}: ${problems.length} of its ${problems.length + used + leftOut} entries ${problems.length === 1 ? "is" : "are"} left out (the others are used): ${listed}`
        : `${CONTEXTS_FILE}: only its first ${used} contexts are used (${leftOut} more are listed)`;
    // Where the file stops being JSON, when that is its problem.
    const at = tree.contexts.contextsFileAt;
    const range = at ? { start: { line: at.line - 1, character: at.column - 1 }, end: { line: at.line - 1, character: at.column - 1 } } : start;
    return [{ range, severity: lsp.DiagnosticSeverity.Warning, code: Codes.badContextsFile, source: SOURCE, message }];
  }
  return undefined;
}

/**
 * A definition no context's run reads or reaches: dead in every build the
 * tree is checked for. Only when every context is evaluated and its run goes
 * through (a run that stops early leaves what a build would use unknown).
 */
function unusedHints(tree: MetroTree, file: FileIndex): lsp.Diagnostic[] {
  const contexts = tree.contexts.contexts;
  if (contexts.length === 0 || contexts.some((c) => c.stale || !c.used)) return [];
  const out: lsp.Diagnostic[] = [];
  for (const d of file.definitions) {
    if (contexts.some((c) => c.used!.has(d.name))) continue;
    if (d.nameRange.start.offset === d.nameRange.end.offset) continue;
    out.push({
      range: toLspRange(d.nameRange),
      severity: lsp.DiagnosticSeverity.Hint,
      code: Codes.unused,
      source: SOURCE,
      message: `unused: no context's run reads ${quote(d.name)} (${contexts.length === 1 ? "the only context" : `none of the ${contexts.length} contexts`})`,
      tags: [lsp.DiagnosticTag.Unnecessary],
      data: { name: d.name } satisfies DiagnosticData,
    });
  }
  return out;
}

/** Whether two diagnostics are about the same text: same line, overlapping ranges. */
function overlaps(a: lsp.Range, b: lsp.Range): boolean {
  if (a.start.line !== b.start.line) return false;
  return a.start.character <= b.end.character && b.start.character <= a.end.character;
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

/** Layer 1 (analysis/tree-findings.ts): where the engine or the parser already judged a place, that verdict stands alone. */
function indexDiagnostics(tree: MetroTree, file: FileIndex, existing: lsp.Diagnostic[], names: UriNames): lsp.Diagnostic[] {
  const evaluated = tree.contexts.contexts.filter((c) => c.evaluated);
  const findings = treeFindings(tree.index, file, {
    commandLineNames: commandLineNames(tree.contexts.contexts),
    readByContexts: evaluated.some((c) => c.reads.has(file.path)),
    contextsEvaluated: evaluated.length > 0,
    judged: (range, codes) => existing.some((e) => codes.includes(String(e.code)) && overlaps(e.range, toLspRange(range))),
  });
  return findings.map((f) => ({
    range: toLspRange(f.range),
    severity: toLspSeverity(f.severity),
    code: f.code,
    source: SOURCE,
    message: f.message,
    relatedInformation: f.related?.map((r) => ({ location: location(r.file, r.range, names), message: r.message })),
    ...(f.name ? { data: { name: f.name } satisfies DiagnosticData } : {}),
  }));
}

/**
 * The engine's findings in this file for every context that read it, merged
 * (analysis/findings.ts): one diagnostic per place and kind, the active
 * context's verdict first, "in N of M contexts" naming the active one first.
 */
function contextDiagnostics(tree: MetroTree, file: FileIndex, syntax: lsp.Diagnostic[], names: UriNames): lsp.Diagnostic[] {
  const contexts = tree.contexts.contexts;
  if (contexts.length === 0) return [];
  const perContext: ContextFindings[] = [];
  const stale: ContextFindings[] = [];
  for (const c of contexts) {
    const mine = c.diagnostics.filter((d) => d.file === file.path);
    if (!mine.length) continue;
    // A context queued after an edit has findings for the old text: they stand only where a fresh
    // context finds the same thing at the same place, so counts do not drop while it waits.
    if (c.stale && c.evaluated && c.reads.has(file.path)) stale.push({ name: c.name, diagnostics: mine });
    else perContext.push({ name: c.name, diagnostics: mine });
  }
  if (stale.length) {
    // Findings before the first changed character still stand; later ones only where a fresh context agrees.
    const fresh = new Set(perContext.flatMap((p) => p.diagnostics.map((d) => `${d.range.start.offset}\0${d.range.end.offset}\0${d.code}`)));
    for (const s of stale) {
      const unchanged = contexts.find((c) => c.name === s.name)?.unchangedUpTo.get(file.path) ?? 0;
      const kept = s.diagnostics.filter((d) => d.range.end.offset < unchanged || fresh.has(`${d.range.start.offset}\0${d.range.end.offset}\0${d.code}`));
      if (kept.length) perContext.push({ name: s.name, diagnostics: kept });
    }
  }
  const out: lsp.Diagnostic[] = [];
  for (const f of mergeFindings(perContext, tree.contexts.active?.name ?? null, contexts.length)) {
    const range = toLspRange(f.range);
    // The parser already reports it at this place (an unknown modifier, a bad line): once is enough.
    if (syntax.some((x) => x.code === f.code && overlaps(x.range, range))) continue;
    const data: DiagnosticData = { contexts: f.contexts };
    if (f.code === "metro/undefined-element" || f.code === "metro/undefined-multi-line") {
      const name = /^"([^"]+)"|multi-line element "([^"]+)"/.exec(f.plainMessage);
      if (name) data.name = name[1] ?? name[2];
    }
    out.push({
      range,
      severity: toLspSeverity(f.severity),
      code: f.code,
      source: SOURCE,
      message: f.message,
      relatedInformation: f.related?.map((r) => ({ location: location(r.file, r.range, names), message: r.message })),
      data,
    });
  }
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
      message: `${quote(r.name)} is defined and not empty in every context (${contexts.length}), so this :zap never drops anything`,
      data: { name: r.name } satisfies DiagnosticData,
      tags: [lsp.DiagnosticTag.Unnecessary],
    });
  }
  return out;
}
