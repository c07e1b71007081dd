// `metro-engine dump`: every key of one or more contexts.

import { EvaluationError, evaluateContext, type ContextSpec, type EvaluatedContext, type MetroValue } from "../../engine/evaluate";
import { PythonRunner } from "../../engine/python";
import { commandWorkspace } from "../heap";
import { CONFIG_OPTION, CONTEXTS_OPTION, JSON_OPTION, NO_EXEC_OPTION, contextsFor, type Command } from "../command";

export function reportFatal(ctx: EvaluatedContext): number {
  const f = ctx.fatal!;
  const where = f.file ? `${f.file}:${(f.range?.start.line ?? 0) + 1}:${(f.range?.start.character ?? 0) + 1}: ` : "";
  process.stderr.write(`${where}error: ${f.message} [${f.code}]\n`);
  return 1;
}

export interface DumpedContext {
  spec: ContextSpec;
  ctx: EvaluatedContext;
  /** The context's problem that stops it (a fatal setup error, or keys that cannot be listed). */
  fatal: { code: string; message: string } | null;
  /** Every key, sorted; empty when fatal. Each is evaluated when `settingOf` asks for it, so that a writer holds one at a time. */
  keys: string[];
}

export type Setting = { value: MetroValue } | { error: string; message: string };

/** A key's value or its evaluation error. */
export function settingOf(d: DumpedContext, key: string): Setting {
  const { value, error } = d.ctx.tryGet(key);
  return error ? { error: error.code, message: error.message } : { value };
}

/**
 * Sets up each context and lists its keys, and hands it to `onContext`,
 * which evaluates the keys one at a time (`settingOf`) as it writes them;
 * nothing of a context is kept after that, so a build matrix never holds more
 * than one context's answer, and no answer is held as a whole beside the
 * context's own cache. With `allowExec`, every
 * context is set up first so that one python interpreter runs the blocks of
 * them all.
 */
export function eachDumpedContext(specs: ContextSpec[], allowExec: boolean, onContext: (d: DumpedContext) => void): void {
  const workspace = commandWorkspace();
  const python = allowExec ? new PythonRunner() : undefined;
  let ready: (EvaluatedContext | null)[] | null = null;
  if (python) {
    ready = specs.map((spec) => evaluateContext(spec, { allowExec, workspace, python }));
    for (const ctx of ready) {
      if (!ctx || ctx.fatal) continue;
      for (const defs of ctx.store.all.values()) {
        for (const d of defs) if (Array.isArray(d.value)) {
          const blocks = ctx.expander.pythonBlocksOf(d.value);
          if (blocks.length) python.request(blocks);
        }
      }
    }
    python.flush();
  }
  for (let i = 0; i < specs.length; i++) {
    const spec = specs[i];
    const ctx = ready ? ready[i]! : evaluateContext(spec, { allowExec, workspace, python });
    if (ready) ready[i] = null;
    onContext(dumpOne(spec, ctx));
  }
}

function dumpOne(spec: ContextSpec, ctx: EvaluatedContext): DumpedContext {
  if (ctx.fatal) return { spec, ctx, fatal: { code: ctx.fatal.code, message: ctx.fatal.message }, keys: [] };
  let keys: string[];
  try {
    keys = ctx.keys().sort();
  } catch (e) {
    if (!(e instanceof EvaluationError)) throw e;
    return { spec, ctx, fatal: { code: e.code, message: e.message }, keys: [] };
  }
  return { spec, ctx, fatal: null, keys };
}

/** The conformance kit's shape of a dumped context (config, args, collected, then fatal and message, or settings). */
export function dumpedResult(d: DumpedContext): Record<string, unknown> {
  const base = { config: d.spec.config, args: d.spec.args, collected: d.ctx.collected };
  if (d.fatal) return { ...base, fatal: d.fatal.code, message: d.fatal.message };
  const settings: Record<string, unknown> = Object.create(null);
  for (const k of d.keys) settings[k] = settingOf(d, k);
  return { ...base, settings };
}

/** Evaluates every key of each context; one python interpreter serves them all. */
export function dumpContexts(specs: ContextSpec[], allowExec: boolean): { spec: ContextSpec; ctx: EvaluatedContext; result: Record<string, unknown> }[] {
  const out: { spec: ContextSpec; ctx: EvaluatedContext; result: Record<string, unknown> }[] = [];
  eachDumpedContext(specs, allowExec, (d) => out.push({ spec: d.spec, ctx: d.ctx, result: dumpedResult(d) }));
  return out;
}

/**
 * Collects output text and writes it in large pieces. The text is encoded
 * into a buffer as it comes (no joined copy of each piece, which for a
 * million keys would be hundreds of megabytes of large strings for the
 * garbage collector). The buffer is used again once stdout has written it
 * (a file, a pipe on Linux); a stream that still holds it (a pipe written
 * asynchronously) keeps it, and another is started.
 */
class Output {
  private static readonly SIZE = 1 << 20;
  /** Pieces are joined into text of up to this many characters before they are encoded (one call into the encoder, not one a piece). */
  private static readonly PENDING = 1 << 14;
  private buffer = Buffer.allocUnsafeSlow(Output.SIZE);
  private used = 0;
  private pending = "";
  write(s: string): void {
    if (this.pending.length + s.length <= Output.PENDING) {
      this.pending += s;
      return;
    }
    this.encode(this.pending);
    this.pending = "";
    if (s.length <= Output.PENDING) this.pending = s;
    else this.encode(s);
  }
  flush(): void {
    this.encode(this.pending);
    this.pending = "";
    this.writeBuffer();
  }
  /** Encodes text after what the buffer holds (writing the buffer first when the text may not fit). */
  private encode(s: string): void {
    if (s === "") return;
    // A UTF-16 code unit takes at most three bytes in UTF-8.
    if (this.used + s.length * 3 > Output.SIZE) {
      this.writeBuffer();
      if (s.length * 3 > Output.SIZE) {
        process.stdout.write(s);
        return;
      }
    }
    this.used += this.buffer.write(s, this.used);
  }
  private writeBuffer(): void {
    if (this.used === 0) return;
    process.stdout.write(this.buffer.subarray(0, this.used));
    // A file, or a pipe on Linux, is written at once; a stream still holding the buffer gets to keep it.
    if (process.stdout.writableLength !== 0) this.buffer = Buffer.allocUnsafeSlow(Output.SIZE);
    this.used = 0;
  }
}

/** One context as JSON, the same text JSON.stringify gives for dumpedResult (keys in sorted order). */
function writeJson(out: Output, d: DumpedContext): void {
  const J = JSON.stringify;
  out.write(`{"config":${J(d.spec.config)},"args":${J(d.spec.args)},"collected":${J(d.ctx.collected)}`);
  if (d.fatal) {
    out.write(`,"fatal":${J(d.fatal.code)},"message":${J(d.fatal.message)}}`);
    return;
  }
  out.write(`,"settings":{`);
  let first = true;
  for (const key of d.keys) {
    out.write(first ? J(key) : "," + J(key));
    first = false;
    let value: string;
    try {
      value = d.ctx.getJson(key);
    } catch (e) {
      if (!(e instanceof EvaluationError)) throw e;
      out.write(`:{"error":${J(e.code)},"message":${J(e.message)}}`);
      continue;
    }
    out.write(':{"value":');
    out.write(value);
    out.write("}");
  }
  out.write("}}");
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
    const json = args.options.has("--json");
    const list = args.options.has("--contexts") || specs.length > 1;
    const out = new Output();
    let anyFatal = false;
    let n = 0;
    if (json && list) out.write("[");
    eachDumpedContext(specs, !args.options.has("--no-exec"), (d) => {
      if (d.fatal) anyFatal = true;
      if (json) {
        if (n++ > 0) out.write(",");
        writeJson(out, d);
        return;
      }
      if (specs.length > 1) out.write(`# ${d.spec.config} ${Object.entries(d.spec.args).map(([k, v]) => `${k}: ${v}`).join(" ")}\n`);
      if (d.ctx.fatal) {
        out.flush();
        reportFatal(d.ctx);
        return;
      }
      if (d.fatal) {
        // The keys could not be listed (a condition that cannot be evaluated).
        out.flush();
        process.stderr.write(`error: ${d.fatal.message} [${d.fatal.code}]\n`);
        return;
      }
      for (const key of d.keys) {
        const s = settingOf(d, key);
        if ("error" in s) out.write(`# ${key}: cannot be resolved: ${s.message} [${s.error}]\n`);
        else out.write(printValue(key, s.value ?? null) + "\n");
      }
    });
    if (json) out.write(list ? "]\n" : "\n");
    out.flush();
    return anyFatal ? 1 : 0;
  },
};
