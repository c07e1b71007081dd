// `metro-engine check`: every problem of every file the contexts read.

import { contextDiagnostics } from "../../engine/check";
import { evaluateContext, type ContextSpec, type EngineDiagnostic } from "../../engine/evaluate";
import { Workspace } from "../../engine/workspace";
import { findTreeRootAbove } from "../../analysis/trees";
import { dirname } from "node:path";
import { contextLabel } from "../../analysis/contexts-file";
import { UsageError, optionValue } from "../args";
import { CONFIG_OPTION, CONTEXTS_OPTION, NO_EXEC_OPTION, contextsFor, formatDiagnostic, type Command } from "../command";
import { addCommandLineHints, contextSources } from "../command-line-names";
import { formatSarif } from "../sarif";

export interface CheckFinding extends EngineDiagnostic {
  /** The contexts a contextual finding holds in (empty for findings of the file alone). */
  contexts: string[];
}

/** Every problem of every file the contexts read, each finding once with the contexts it holds in. */
export function checkAll(specs: ContextSpec[]): CheckFinding[] {
  const workspace = new Workspace();
  const findings = new Map<string, CheckFinding>();
  const files = new Set<string>();
  const roots = new Set<string>();
  const read = new Set<string>();
  for (const spec of specs) {
    const ctx = evaluateContext(spec, { allowExec: false, workspace });
    const sources = contextSources(ctx);
    for (const r of sources.roots) roots.add(r);
    for (const f of sources.files) read.add(f);
    for (const f of ctx.collected) files.add(f);
    if (ctx.fatal?.file) files.add(ctx.fatal.file);
    for (const d of contextDiagnostics(ctx)) {
      const k = `${d.file}\0${d.range.start.offset}\0${d.code}\0${d.message}`;
      const found = findings.get(k);
      if (found) found.contexts.push(contextLabel(spec.args, spec.config));
      else findings.set(k, { ...d, contexts: [contextLabel(spec.args, spec.config)] });
    }
  }
  const out: CheckFinding[] = [];
  // A fatal parse problem is already reported through the contexts.
  const reported = new Set([...findings.values()].map((f) => `${f.file}\0${f.range.start.offset}\0${f.code}`));
  for (const file of files) {
    const ast = workspace.getFile(file)?.ast;
    if (!ast) continue;
    for (const d of ast.diagnostics) {
      if (reported.has(`${file}\0${d.range.start.offset}\0${d.code}`)) continue;
      out.push({ file, range: d.range, severity: d.severity, code: d.code, message: d.message, contexts: [] });
    }
  }
  const total = specs.length;
  addCommandLineHints([...findings.values()].sort(byPlace), { roots: [...roots], files: [...read] });
  for (const f of findings.values()) {
    if (total > 1 && f.contexts.length < total) f.message += ` (in ${f.contexts.join(", ")})`;
    else if (total > 1) f.message += ` (in all ${total} contexts)`;
    out.push(f);
  }
  out.sort(byPlace);
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
  synopsis: "check [--config FILE | --contexts FILE] [--format text|json|sarif] [--no-exec] [KEY: VALUE ...]",
  details: `Lints every file reachable from each context: duplicate definitions, undefined
and circular references, collects metro silently drops, missing files,
conditions. A finding common to several contexts is reported once, naming
them. --format sarif writes SARIF 2.1.0 for code scanning.

Exit codes: 0 no errors, 1 an error, 2 usage.`,
  options: [CONFIG_OPTION, CONTEXTS_OPTION, { name: "--format", value: "FORMAT", help: "text (default), json or sarif" }, { ...NO_EXEC_OPTION, help: "accepted like dump's: check never runs <?python blocks" }],
  maxPositional: 0,
  run(args) {
    const format = optionValue(args, "--format") ?? "text";
    if (format !== "text" && format !== "json" && format !== "sarif") throw new UsageError(`--format must be text, json or sarif, not "${format}"`);
    const specs = contextsFor(args);
    const findings = checkAll(specs);
    if (format === "json") process.stdout.write(JSON.stringify(findings, null, 1) + "\n");
    else if (format === "sarif") process.stdout.write(JSON.stringify(formatSarif(findings, sarifRoot(specs)), null, 1) + "\n");
    else {
      for (const f of findings) process.stdout.write(formatDiagnostic(f.file, f) + "\n");
      const errors = findings.filter((f) => f.severity === "error").length;
      process.stderr.write(`${errors} error(s), ${findings.length - errors} other finding(s)\n`);
    }
    return findings.some((f) => f.severity === "error") ? 1 : 0;
  },
};
