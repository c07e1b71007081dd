// `metro-engine dump`: every key of one or more contexts.

import { EvaluationError, evaluateContext, type ContextSpec, type EvaluatedContext, type MetroValue } from "../../engine/evaluate";
import { PythonRunner } from "../../engine/python";
import { Workspace } from "../../engine/workspace";
import { CONFIG_OPTION, CONTEXTS_OPTION, JSON_OPTION, NO_EXEC_OPTION, contextsFor, type Command } from "../command";

export function reportFatal(ctx: EvaluatedContext): number {
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
      const { value, error } = ctx.tryGet(key);
      settings[key] = error ? { error: error.code, message: error.message } : { value };
    }
    return { spec, ctx, result: { ...base, settings } };
  });
}

function printValue(key: string, v: MetroValue): string {
  if (v === null) return `${key}:`;
  if (Array.isArray(v)) return `${key}: [\n${v.map((l) => l + "\n").join("")}]`;
  return `${key}: ${v}`;
}

export const dumpCommand: Command = {
  name: "dump",
  summary: "print every key and its value",
  synopsis: "dump [--json] [--config FILE | --contexts FILE] [--no-exec] [KEY: VALUE ...]",
  details: `Evaluates each context and prints every key with its value (a key that
cannot be expanded prints as a comment with the reason). --json prints the
conformance kit's shape; with --contexts a list in the file's order.

Exit codes: 0, 1 when a context is fatal, 2 usage.`,
  options: [CONFIG_OPTION, CONTEXTS_OPTION, { ...JSON_OPTION, help: "print JSON (config, args, collected, settings)" }, NO_EXEC_OPTION],
  maxPositional: 0,
  run(args) {
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
  },
};
