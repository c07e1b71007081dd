// `metro-engine check`: every problem of every file the contexts read.

import { checkContext, newRequiredFileCache } from "../../engine/check";
import type { ContextSpec, EngineDiagnostic } from "../../engine/evaluate";
import { mergeFindings, type ContextFindings, type MergedFinding } from "../../analysis/findings";
import type { ContextConfig } from "../../analysis/contexts-file";
import { findTreeRootAbove } from "../../analysis/trees";
import { EXPANSION_CODES, commandLineNames, notExpanded, sameSpot, treeFindings } from "../../analysis/tree-findings";
import { dirname } from "node:path";
import { contextLabel } from "../../analysis/contexts-file";
import { UsageError, optionValue } from "../args";
import { CONFIG_OPTION, CONTEXTS_OPTION, NO_EXEC_OPTION, contextsFor, formatDiagnostic, type Command } from "../command";
import { TreeDefinitions, addCommandLineHints, contextSources, newTreeCache } from "../command-line-names";
import { formatSarif } from "../sarif";
import { commandWorkspace } from "../heap";
import { quote } from "../../language";

export type CheckFinding = MergedFinding;

/**
 * What the parser finds in a value or a condition that metro only fails on
 * when it expands it: each context judges those itself (an error where its
 * run reads the value, else a warning), so the parser's finding is not
 * repeated. Besides the values' problems the server shares, check judges a
 * condition too: every context evaluates its conditions when its keys are
 * listed (engine/check.ts places the failure at the element it governs).
 */
const JUDGED_CODES: ReadonlySet<string> = new Set([...EXPANSION_CODES, "metro/invalid-condition"]);

/** Every problem of every file the contexts read, each finding once with the contexts it holds in. */
export function checkAll(specs: ContextConfig[] | ContextSpec[]): CheckFinding[] {
  // Every file is indexed for the findings: each is parsed once, as it is read.
  const workspace = commandWorkspace({ keepTrees: true });
  // Each tree is indexed once, from the files the contexts parsed, for the hints and for the files no context reads.
  const trees = new TreeDefinitions(workspace);
  const required = newRequiredFileCache();
  const disk = newTreeCache();
  const perContext: ContextFindings[] = [];
  const files = new Set<string>();
  const roots = new Set<string>();
  const read = new Set<string>();
  let allSetUp = true;
  const runLabels = new Map<string, string>();
  for (const spec of specs) {
    const name = ("name" in spec && spec.name) || contextLabel(spec.args, spec.config);
    const { context, diagnostics, uses } = checkContext({ config: spec.config, args: spec.args }, { allowExec: false, workspace, required });
    const sources = contextSources(context, disk);
    for (const r of sources.roots) roots.add(r);
    for (const f of sources.files) read.add(f);
    for (const f of context.collected) files.add(f);
    for (const t of uses?.targets ?? []) for (const f of t.context.collected) files.add(f);
    if (context.fatal?.file) files.add(context.fatal.file);
    if (context.fatal || uses?.targets.some((t) => t.context.fatal)) allSetUp = false;
    perContext.push({ name, diagnostics });
    if (uses) runLabels.set(name, uses.label);
  }
  const merged = mergeFindings(perContext, null, specs.length, false);
  // A finding of contexts whose runs differ ("the stage1 run", "the stage3 run") speaks of each one's run, not of the first's
  // (of the contexts that hold its verdict: the others are named apart, with their milder one).
  for (const f of merged) {
    const labels = new Set((f.verdictContexts ?? f.contexts).map((n) => runLabels.get(n)).filter((l): l is string => l !== undefined));
    if (labels.size < 2) continue;
    for (const l of labels) {
      f.message = f.message.split(l).join("each context's run");
      f.plainMessage = f.plainMessage.split(l).join("each context's run");
    }
  }
  // A fatal parse problem is already reported through the contexts.
  const reported = new Set(merged.map((f) => `${f.file}\0${f.range.start.offset}\0${f.code}`));
  const out: CheckFinding[] = [];
  for (const file of files) {
    const ast = workspace.getFile(file)?.ast;
    if (!ast) continue;
    for (const d of ast.diagnostics) {
      if (reported.has(`${file}\0${d.range.start.offset}\0${d.code}`)) continue;
      if (JUDGED_CODES.has(d.code)) {
        // metro fails on these only when it expands the value: the contexts' verdict on it (error or warning) stands.
        const statement = ast.statements.find((s) => s.range.start.offset <= d.range.start.offset && d.range.start.offset <= s.range.end.offset);
        const judged = merged.some((f) => f.file === file && f.code === d.code && (d.code === "metro/invalid-condition" || (statement !== undefined && statement.range.start.offset <= f.range.start.offset && f.range.start.offset <= statement.range.end.offset)));
        if (judged) continue;
        // A context that stopped during its setup judged none of its values: the parser's word stands.
        if (!allSetUp) {
          out.push({ file, range: d.range, severity: d.severity, code: d.code, message: d.message, plainMessage: d.message, contexts: [] });
          continue;
        }
        const message = notExpanded(d.message);
        out.push({ file, range: d.range, severity: d.severity === "error" ? "warning" : d.severity, code: d.code, message, plainMessage: message, contexts: [] });
        continue;
      }
      out.push({ file, range: d.range, severity: d.severity, code: d.code, message: d.message, plainMessage: d.message, contexts: [] });
    }
  }
  // A name the command line usually gives: say so once, in the message before the list of contexts.
  const plain = merged.map((f) => ({ ...f, message: f.plainMessage }));
  addCommandLineHints(plain, { roots: [...roots], files: [...read] }, trees);
  merged.forEach((f, i) => {
    const said = plain[i].message;
    if (said === f.plainMessage) return;
    f.message = said + f.message.slice(f.plainMessage.length);
    f.plainMessage = said;
  });
  for (const f of merged) out.push(f);
  for (const f of unreadFileFindings(specs, trees, roots, files)) out.push(f);
  out.sort(byPlace);
  return out;
}

/**
 * What the index alone knows (analysis/tree-findings.ts, as the language
 * server shows it) about the Metro files of the contexts' trees that no
 * context reads: a name no file defines there is a hint (nothing uses it);
 * what would stop a build reading the file (a bad line, a name defined twice)
 * is a warning, since no run of these contexts reads it.
 */
function unreadFileFindings(specs: ContextSpec[], trees: TreeDefinitions, roots: Set<string>, read: Set<string>): CheckFinding[] {
  const out: CheckFinding[] = [];
  const cmdline = commandLineNames(specs);
  const done = new Set<string>();
  for (const root of roots) {
    const index = trees.index(root);
    for (const [path, file] of index.files) {
      // A file of two roots (a tree and the install folder inside it) is judged once.
      if (read.has(path) || done.has(path)) continue;
      done.add(path);
      const syntax = file.ast.diagnostics;
      const findings: EngineDiagnostic[] = syntax.map((d) => ({ file: path, range: d.range, severity: d.severity, code: d.code, message: d.message }));
      for (const f of treeFindings(index, file, {
        commandLineNames: cmdline,
        readByContexts: false,
        contextsEvaluated: specs.length > 0,
        judged: (range, codes) => syntax.some((d) => codes.includes(d.code) && sameSpot(d.range, range)),
      })) findings.push(f);
      // No run of these contexts reads the file: nothing here stops a build, so nothing is an error.
      for (const f of findings) {
        const message = f.severity === "error" ? `${f.message} (no context reads this file)` : f.message;
        out.push({ file: path, range: f.range, severity: f.severity === "error" ? "warning" : f.severity, code: f.code, message, plainMessage: message, related: f.related, contexts: [] });
      }
    }
  }
  return out;
}

/** The base of SARIF locations: the tree holding the first context's entry file, or that file's folder. */
function sarifRoot(specs: ContextSpec[]): string | undefined {
  const config = specs[0]?.config;
  return config === undefined ? undefined : (findTreeRootAbove(config) ?? dirname(config));
}

function byPlace(a: EngineDiagnostic, b: EngineDiagnostic): number {
  return a.file < b.file ? -1 : a.file > b.file ? 1 : a.range.start.offset - b.range.start.offset;
}

export const checkCommand: Command = {
  name: "check",
  summary: "report every problem of every file the contexts read",
  synopsis: "check [--config FILE | --contexts FILE] [--format text|json|sarif] [--strict] [--no-exec] [KEY: VALUE ...]",
  details: `Judges each context the way metro's run of it would go. An error is
something the run stops on: a value the run reads (a step, a path, the
target class, and everything they reference) that cannot be expanded, a
required step that is missing or not multi-line, a duplicate definition.
A warning is a value that cannot be expanded but that the run never
expands, a collect metro silently drops, an ignored line. Information is
the machine's state (a mirror file missing here). A finding common to
several contexts is reported once, naming them. --format sarif writes
SARIF 2.1.0 for code scanning.

Exit codes: 0 no errors, 1 an error (or, with --strict, a warning), 2 usage.`,
  options: [CONFIG_OPTION, CONTEXTS_OPTION, { name: "--format", value: "FORMAT", help: "text (default), json or sarif" },
    { name: "--strict", help: "also exit 1 on warnings" }, { ...NO_EXEC_OPTION, help: "accepted like dump's: check never runs <?python blocks" }],
  maxPositional: 0,
  run(args) {
    const format = optionValue(args, "--format") ?? "text";
    if (format !== "text" && format !== "json" && format !== "sarif") throw new UsageError(`--format must be text, json or sarif, not ${quote(format, '"')}`);
    const specs = contextsFor(args);
    const findings = checkAll(specs);
    if (format === "json") process.stdout.write(JSON.stringify(findings, null, 1) + "\n");
    else if (format === "sarif") process.stdout.write(JSON.stringify(formatSarif(findings, sarifRoot(specs)), null, 1) + "\n");
    else {
      for (const f of findings) process.stdout.write(formatDiagnostic(f.file, f) + "\n");
      const count = (s: string) => findings.filter((f) => f.severity === s).length;
      process.stderr.write(`${count("error")} error(s), ${count("warning")} warning(s), ${count("information") + count("hint")} other finding(s)\n`);
    }
    const strict = args.options.has("--strict");
    return findings.some((f) => f.severity === "error" || (strict && f.severity === "warning")) ? 1 : 0;
  },
};
