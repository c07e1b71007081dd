// metro-engine: the command line. Every error is a message with a location
// and an exit code, never a stack trace.

import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, isAbsolute, resolve } from "node:path";
import { parseMetroBytes, type Diagnostic } from "../../language";
import { contextDiagnostics } from "../check";
import { EvaluationError, evaluateContext, type ContextSpec, type EngineDiagnostic, type EvaluatedContext, type MetroValue } from "../evaluate";
import { PythonRunner } from "../python";
import { Workspace } from "../workspace";
import { formatSarif } from "./sarif";

export class UsageError extends Error {}

const USAGE = `usage: metro-engine COMMAND [OPTIONS] [KEY: VALUE ...]

commands:
  parse [--json] FILE...        parse files; print diagnostics (or the syntax tree with --json)
  get KEY [--config F] [KEY: VALUE ...]
                                print one value, like metro -k
  dump [--json] [--config F] [--contexts FILE] [KEY: VALUE ...]
                                print every key and its value
  check [--config F] [--contexts FILE] [--format text|json|sarif] [KEY: VALUE ...]
                                report every problem of every file reachable from the contexts
  build [--config F] [--dry-run DIR] [--json] [KEY: VALUE ...]
                                build targets the way metro does

options:
  --config FILE     the entry file (default: ~/.metro, like metro)
  --contexts FILE   a JSON list of {"config": path, "args": {...}} evaluated in one process
  --no-exec         never run <?python blocks
KEY: VALUE pairs are metro's command-line values, e.g. target: stage3 target/build: funtoo-current`;

export interface ParsedArgs {
  options: Map<string, string | true>;
  positional: string[];
  pairs: Record<string, string>;
}

const VALUE_OPTIONS = new Set(["--config", "--contexts", "--format", "--dry-run"]);
const FLAG_OPTIONS = new Set(["--json", "--no-exec", "--help", "-h"]);

/** Splits options from words; the words after the positional ones pair up as metro's KEY: VALUE arguments. */
export function parseArgs(argv: string[], positionalCount: number): ParsedArgs {
  const options = new Map<string, string | true>();
  const positional: string[] = [];
  const words: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (VALUE_OPTIONS.has(a)) {
      if (i + 1 >= argv.length) throw new UsageError(`${a} needs a value`);
      options.set(a, argv[++i]);
    } else if (a.startsWith("--") && a.includes("=") && VALUE_OPTIONS.has(a.slice(0, a.indexOf("=")))) {
      options.set(a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1));
    } else if (FLAG_OPTIONS.has(a)) options.set(a, true);
    else if (a.startsWith("--") && words.length % 2 === 0 && positional.length >= positionalCount) throw new UsageError(`unknown option ${a}`);
    else if (positional.length < positionalCount) positional.push(a);
    else words.push(a);
  }
  if (words.length % 2 !== 0) {
    throw new UsageError(`arguments pair up as KEY: VALUE, but "${words[words.length - 1]}" has no value`);
  }
  const pairs: Record<string, string> = {};
  for (let i = 0; i < words.length; i += 2) {
    const key = words[i];
    if (!key.endsWith(":") || key.length < 2) throw new UsageError(`"${key}" is not a key: keys end with a colon, as in "target: stage3"`);
    pairs[key.slice(0, -1)] = words[i + 1];
  }
  return { options, positional, pairs };
}

/** The contexts a command works on: --contexts, or --config plus KEY: VALUE pairs, or metro-contexts.json, or ~/.metro. */
export function contextsFor(args: ParsedArgs): ContextSpec[] {
  const file = args.options.get("--contexts");
  const config = args.options.get("--config");
  if (typeof file === "string") return readContextsFile(file);
  if (typeof config !== "string" && Object.keys(args.pairs).length === 0 && existsSync("metro-contexts.json")) {
    return readContextsFile("metro-contexts.json");
  }
  const entry = typeof config === "string" ? config : resolve(homedir(), ".metro");
  if (!existsSync(entry)) {
    throw new UsageError(
      typeof config === "string" ? `config file "${config}" does not exist` : `no --config given and ${entry} does not exist (copy metro.conf there, or pass --config FILE)`,
    );
  }
  return [{ config: resolve(entry), args: args.pairs }];
}

export function readContextsFile(file: string): ContextSpec[] {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new UsageError(`cannot read contexts file "${file}": ${(e as Error).message}`);
  }
  if (!Array.isArray(data)) throw new UsageError(`${file}: expected a JSON list of {"config": path, "args": {...}}`);
  return data.map((c, i) => {
    if (!c || typeof c !== "object" || typeof c.config !== "string") throw new UsageError(`${file}: entry ${i + 1} has no "config" path`);
    const args = c.args ?? {};
    if (typeof args !== "object" || Object.values(args).some((v) => typeof v !== "string")) throw new UsageError(`${file}: entry ${i + 1}: "args" must map names to strings`);
    const config = isAbsolute(c.config) ? c.config : resolve(dirname(resolve(file)), c.config);
    return { config, args };
  });
}

// ---------------------------------------------------------------------------

function formatDiagnostic(file: string, d: Pick<Diagnostic, "range" | "severity" | "message" | "code">): string {
  return `${file}:${d.range.start.line + 1}:${d.range.start.character + 1}: ${d.severity}: ${d.message} [${d.code}]`;
}

function cmdParse(argv: string[]): number {
  const args = parseArgs(argv, Number.MAX_SAFE_INTEGER);
  if (args.positional.length === 0) throw new UsageError("parse needs at least one FILE");
  let errors = false;
  const trees: unknown[] = [];
  for (const file of args.positional) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch (e) {
      process.stderr.write(`${file}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}\n`);
      errors = true;
      continue;
    }
    const ast = parseMetroBytes(bytes);
    if (ast.diagnostics.some((d) => d.severity === "error")) errors = true;
    if (args.options.has("--json")) trees.push({ file, ast });
    else for (const d of ast.diagnostics) process.stdout.write(formatDiagnostic(file, d) + "\n");
  }
  if (args.options.has("--json")) process.stdout.write(JSON.stringify(trees.length === 1 ? trees[0] : trees, null, 1) + "\n");
  return errors ? 1 : 0;
}

function printValue(key: string, v: MetroValue): string {
  if (v === null) return `${key}:`;
  if (Array.isArray(v)) return `${key}: [\n${v.map((l) => l + "\n").join("")}]`;
  return `${key}: ${v}`;
}

function cmdGet(argv: string[]): number {
  const args = parseArgs(argv, 1);
  if (args.positional.length !== 1) throw new UsageError("get needs exactly one KEY");
  const [spec] = contextsFor({ ...args, options: new Map([...args.options].filter(([k]) => k !== "--contexts")) });
  const ctx = evaluateContext(spec, { allowExec: !args.options.has("--no-exec") });
  if (ctx.fatal) return reportFatal(ctx);
  try {
    const v = ctx.get(args.positional[0]);
    if (Array.isArray(v)) for (const l of v) process.stdout.write(l + "\n");
    else if (v !== null) process.stdout.write(v + "\n");
    return 0;
  } catch (e) {
    if (!(e instanceof EvaluationError)) throw e;
    process.stderr.write(`metro-engine: ${args.positional[0]}: ${e.message} [${e.code}]\n`);
    return 1;
  }
}

function reportFatal(ctx: EvaluatedContext): number {
  const f = ctx.fatal!;
  const where = f.file ? `${f.file}:${(f.range?.start.line ?? 0) + 1}:${(f.range?.start.character ?? 0) + 1}: ` : "";
  process.stderr.write(`${where}error: ${f.message} [${f.code}]\n`);
  return 1;
}

/** Evaluates every key of each context; one python interpreter serves them all. */
export function dumpContexts(specs: ContextSpec[], allowExec: boolean): { spec: ContextSpec; ctx: EvaluatedContext; result: Record<string, unknown> }[] {
  const workspace = new Workspace();
  const python = allowExec ? new PythonRunner() : undefined;
  const contexts = specs.map((spec) => evaluateContext(spec, { allowExec, workspace, python }));
  if (python) {
    for (const ctx of contexts) {
      if (ctx.fatal) continue;
      for (const defs of ctx.store.all.values()) {
        for (const d of defs) if (Array.isArray(d.value)) {
          const blocks = ctx.expander.pythonBlocksOf(d.value);
          if (blocks.length) python.request(blocks);
        }
      }
    }
    python.flush();
  }
  return contexts.map((ctx, i) => {
    const spec = specs[i];
    const base = { config: spec.config, args: spec.args, collected: ctx.collected };
    if (ctx.fatal) return { spec, ctx, result: { ...base, fatal: ctx.fatal.code, message: ctx.fatal.message } };
    let keys: string[];
    try {
      keys = ctx.keys().sort();
    } catch (e) {
      if (!(e instanceof EvaluationError)) throw e;
      return { spec, ctx, result: { ...base, fatal: e.code, message: e.message } };
    }
    const settings: Record<string, unknown> = {};
    for (const key of keys) {
      try {
        settings[key] = { value: ctx.get(key) };
      } catch (e) {
        if (!(e instanceof EvaluationError)) throw e;
        settings[key] = { error: e.code, message: e.message };
      }
    }
    return { spec, ctx, result: { ...base, settings } };
  });
}

function cmdDump(argv: string[]): number {
  const args = parseArgs(argv, 0);
  const specs = contextsFor(args);
  const results = dumpContexts(specs, !args.options.has("--no-exec"));
  const anyFatal = results.some((r) => "fatal" in r.result);
  if (args.options.has("--json")) {
    const list = results.map((r) => r.result);
    process.stdout.write(JSON.stringify(args.options.has("--contexts") || list.length > 1 ? list : list[0]) + "\n");
    return anyFatal ? 1 : 0;
  }
  for (const r of results) {
    if (results.length > 1) process.stdout.write(`# ${r.spec.config} ${Object.entries(r.spec.args).map(([k, v]) => `${k}: ${v}`).join(" ")}\n`);
    if (r.ctx.fatal) {
      reportFatal(r.ctx);
      continue;
    }
    const settings = (r.result.settings ?? {}) as Record<string, { value?: MetroValue; error?: string; message?: string }>;
    for (const [key, s] of Object.entries(settings)) {
      if ("error" in s) process.stdout.write(`# ${key}: cannot be resolved: ${s.message} [${s.error}]\n`);
      else process.stdout.write(printValue(key, s.value ?? null) + "\n");
    }
  }
  return anyFatal ? 1 : 0;
}

export interface CheckFinding extends EngineDiagnostic {
  /** The contexts a contextual finding holds in (empty for findings of the file alone). */
  contexts: string[];
}

export function contextLabel(spec: ContextSpec): string {
  const a = spec.args;
  const parts = [a["target"], a["target/build"], a["target/subarch"]].filter(Boolean);
  return parts.length ? parts.join(" / ") : Object.entries(a).map(([k, v]) => `${k}: ${v}`).join(" ") || spec.config;
}

/** Every problem of every file the contexts read, each finding once with the contexts it holds in. */
export function checkAll(specs: ContextSpec[]): CheckFinding[] {
  const workspace = new Workspace();
  const findings = new Map<string, CheckFinding>();
  const files = new Set<string>();
  for (const spec of specs) {
    const ctx = evaluateContext(spec, { allowExec: false, workspace });
    for (const f of ctx.collected) files.add(f);
    if (ctx.fatal?.file) files.add(ctx.fatal.file);
    for (const d of contextDiagnostics(ctx)) {
      const k = `${d.file}\0${d.range.start.offset}\0${d.code}\0${d.message}`;
      const found = findings.get(k);
      if (found) found.contexts.push(contextLabel(spec));
      else findings.set(k, { ...d, contexts: [contextLabel(spec)] });
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
  for (const f of findings.values()) {
    if (total > 1 && f.contexts.length < total) f.message += ` (in ${f.contexts.join(", ")})`;
    else if (total > 1) f.message += ` (in all ${total} contexts)`;
    out.push(f);
  }
  out.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.range.start.offset - b.range.start.offset));
  return out;
}

function cmdCheck(argv: string[]): number {
  const args = parseArgs(argv, 0);
  const format = args.options.get("--format") ?? "text";
  if (format !== "text" && format !== "json" && format !== "sarif") throw new UsageError(`--format must be text, json or sarif, not "${format}"`);
  const findings = checkAll(contextsFor(args));
  if (format === "json") process.stdout.write(JSON.stringify(findings, null, 1) + "\n");
  else if (format === "sarif") process.stdout.write(JSON.stringify(formatSarif(findings), null, 1) + "\n");
  else {
    for (const f of findings) process.stdout.write(formatDiagnostic(f.file, f) + "\n");
    const errors = findings.filter((f) => f.severity === "error").length;
    process.stderr.write(`${errors} error(s), ${findings.length - errors} other finding(s)\n`);
  }
  return findings.some((f) => f.severity === "error") ? 1 : 0;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case "parse":
        return cmdParse(rest);
      case "get":
        return cmdGet(rest);
      case "dump":
        return cmdDump(rest);
      case "check":
        return cmdCheck(rest);
      case "build": {
        const { runBuildCommand } = await import("./build-command");
        return await runBuildCommand(rest);
      }
      case "help":
      case "--help":
      case "-h":
        process.stdout.write(USAGE + "\n");
        return 0;
      case undefined:
        process.stderr.write(USAGE + "\n");
        return 2;
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`metro-engine: ${e.message}\n(run "metro-engine help" for usage)\n`);
      return 2;
    }
    process.stderr.write(`metro-engine: internal error: ${(e as Error).message}\n`);
    return 70;
  }
}
