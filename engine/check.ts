// Diagnostics of a context, each with a location: what metro would stop on or
// fail with, plus what it silently drops (uncollected files).

import { EXCERPT_ITEMS, excerpt, excerptList, excerptPath, quote, type MultiLineElement, type Range, type ReferencePart, type SingleLineElement } from "../language";
import { statSync } from "node:fs";
import { resolve } from "node:path";
import { EvaluationError } from "./errors";
import { evaluateContext, type ContextSpec, type EngineDiagnostic, type EvaluateOptions, type EvaluatedContext, type Fatal } from "./evaluate";
import { analyzeRun, type RunFailure, type RunUses } from "./stage-builder/uses";
import { findRequiredFile, type RequiredFile } from "./stage-builder/files";

/** Required files already looked for (by key and pattern) and the paths seen: a check of many contexts looks at each once. */
export interface RequiredFileCache {
  found: Map<string, RequiredFile>;
  paths: Map<string, boolean>;
}

export function newRequiredFileCache(): RequiredFileCache {
  return { found: new Map(), paths: new Map() };
}

export interface CheckOptions extends EvaluateOptions {
  required?: RequiredFileCache;
}

export interface CheckResult {
  context: EvaluatedContext;
  diagnostics: EngineDiagnostic[];
  /** What the run of this context reads (null when its setup is fatal). */
  uses: RunUses | null;
}

const ORIGIN: Range = { start: { line: 0, character: 0, offset: 0 }, end: { line: 0, character: 0, offset: 0 } };

/**
 * Evaluates a context, walks what metro's run of it reads (a multi run
 * evaluates each target's context too) and reports what fails, where:
 * errors for what the run stops on, warnings for what it never expands.
 */
export function checkContext(spec: ContextSpec, options: CheckOptions = {}): CheckResult {
  const { required, ...evaluate } = options;
  const opts = { ...evaluate, trackReferences: true };
  const context = evaluateContext(spec, opts);
  if (context.fatal) return { context, diagnostics: contextDiagnostics(context, null, required), uses: null };
  const perTarget = new Map<string, EvaluatedContext>();
  const uses = analyzeRun(context, (target) => {
    let c = perTarget.get(target);
    if (!c) perTarget.set(target, (c = evaluateContext({ config: spec.config, args: { ...spec.args, target } }, opts)));
    return c;
  });
  return { context, diagnostics: contextDiagnostics(context, uses, required), uses };
}

/**
 * The findings of a context. With `uses` (what its run reads), a value that
 * cannot be expanded is an error when the run reads it (located at the
 * failing reference, naming the chain from the key the run reads) and a
 * warning when nothing the run uses reads it.
 */
export function contextDiagnostics(context: EvaluatedContext, uses: RunUses | null, required: RequiredFileCache = newRequiredFileCache()): EngineDiagnostic[] {
  const out: EngineDiagnostic[] = [];
  const seen = new Map<string, EngineDiagnostic>();
  // One finding per place in a context: the first one added (a run's failure before the same value's own error).
  const place = (d: EngineDiagnostic) => `${d.file}\0${d.range.start.offset}\0${d.range.end.offset}\0${d.code}\0${d.missing ?? ""}`;
  const add = (d: EngineDiagnostic) => {
    const k = place(d);
    if (seen.has(k)) return;
    seen.set(k, d);
    out.push(d);
  };
  if (context.fatal) {
    add(fatalDiagnostic(context, context.fatal));
    return out;
  }
  if (uses) {
    // Metro stops at the run's first failure (failures are in the order metro reads): the others are where it would
    // stop next, each said so (a separate finding from the same failure in a run that stops there).
    const stop = uses.failures.find((f) => !f.context.fatal) ?? null;
    // Keys the run reads that nothing defines have no place of their own: one finding at the entry file names them all.
    const unplaced: RunFailure[] = [];
    for (const f of uses.failures) {
      if (f.context.fatal) continue;
      if (!f.error && f.code === "metro/undefined-element" && f.context.definitions(f.read.key).length === 0) {
        if (!unplaced.some((u) => u.read.key === f.read.key && u.read.target === f.read.target)) unplaced.push(f);
        continue;
      }
      add(failureDiagnostic(f, uses, stop));
    }
    if (unplaced.length === 1) add(failureDiagnostic(unplaced[0], uses, stop));
    else if (unplaced.length > 1) {
      const first = failureDiagnostic(unplaced[0], uses, stop);
      const keys = [...new Set(unplaced.map((u) => u.read.key))];
      const who = unplaced[0].read.target ? `the ${excerpt(unplaced[0].read.target)} run` : uses.label;
      const where = first.stopsBefore === undefined ? `metro stops at ${excerpt(keys[0])}` : `metro would stop at ${excerpt(keys[0])}, but stops before, at ${excerpt(first.stopsBefore)}`;
      add({ ...first, message: `${who} reads ${excerptList(keys)}, which are not defined: ${where}` });
    }
    // A required file (the seed, the snapshot) missing here: the machine's state, not the configuration's.
    for (const r of uses.required) {
      const cacheKey = `${r.key}\0${r.pattern}`;
      let found = required.found.get(cacheKey);
      if (!found) required.found.set(cacheKey, (found = findRequiredFile(r.key, r.pattern, required.paths)));
      if (found.ok) continue;
      const def = r.context.definitions(r.key)[0];
      add({
        file: def?.file ?? context.spec.config,
        range: def?.statement.name.range ?? ORIGIN,
        severity: "information",
        code: "metro/missing-required-file",
        message: `${found.problem} on this machine: a build of ${excerpt(r.target)} here stops before it starts`,
      });
    }
    // A target metro skips here (its output, or a QA build's status file, exists): the machine's state; its steps are not run.
    for (const t of uses.targets) {
      if (!t.skipped) continue;
      const key = t.skipped.reason === "status-exists" ? "path/mirror/target/path" : t.name === "snapshot" ? "path/mirror/snapshot" : "path/mirror/target";
      const def = t.context.definitions(key)[0];
      const why = t.skipped.reason === "status-exists"
        ? `${excerptPath(t.skipped.path)} exists (this QA build already ran), so metro skips it`
        : `its output ${excerptPath(t.skipped.path)} exists and metro/options has no replace, so metro runs only its trigger/ok/run`;
      add({
        file: def?.file ?? context.spec.config,
        range: def?.statement.name.range ?? ORIGIN,
        severity: "information",
        code: "metro/target-skipped",
        message: `target ${excerpt(t.name)} is not built on this machine: ${why}; its steps are not checked here`,
      });
    }
    // A target's own context that metro cannot set up stops the run.
    for (const t of uses.targets) {
      const fatal = t.context.fatal;
      if (!fatal || t.context === context) continue;
      const d = fatalDiagnostic(t.context, fatal);
      add({ ...d, message: `${d.message} (setting up target ${excerpt(t.name)})` });
    }
  }
  for (const u of context.uncollected) {
    const why = u.missing ? `${quote(u.missing, '"')} stays undefined` : u.reason;
    add({
      file: u.file,
      range: u.statement.path.range,
      severity: "warning",
      code: "metro/never-collected",
      message: `this file is never collected (${why}); metro drops it silently`,
      missing: u.missing,
    });
  }
  const used = uses?.used.get(context);
  const names = new Set([...context.store.raw.keys(), ...context.store.conditionals.keys()]);
  for (const name of names) {
    let error: EvaluationError | null;
    try {
      // A conditional name with no true condition is not there (metro lists only present names).
      if (!context.has(name)) continue;
      error = context.failure(name);
    } catch (e) {
      if (!(e instanceof EvaluationError)) throw e;
      error = e;
    }
    if (error) {
      let d = errorDiagnostic(context, error);
      if (error.site.element === null && d.range === ORIGIN) {
        // A condition metro cannot evaluate (listing the keys evaluates them): at the definition it governs.
        const defs = context.allDefinitions(name).filter((def) => def.file !== null && def.statement !== null);
        const def = defs.find((x) => x.condition !== null && error!.message.includes(quote(x.condition, '"'))) ?? defs[0];
        if (def) d = { ...d, file: def.file!, range: def.statement!.name.range, message: `${d.message}, which governs ${excerpt(name)}` };
      }
      if (uses && d.severity === "error") {
        // Failing here without the run failing: nothing the run uses expands it.
        d.severity = "warning";
        d.message += used?.has(name) ? ` (${uses.label} never expands this value; metro does not fail on it)` : ` (unused by ${uses.label}; metro never expands it)`;
      }
      add(d);
    }
  }
  for (const n of context.notes) add(n);
  return out;
}

/**
 * A setup metro stops on. A `<<` file missing on this machine (a mirror's
 * control file) whose mirror is not here either is the machine's state, not
 * the configuration's: information.
 */
function fatalDiagnostic(context: EvaluatedContext, f: Fatal): EngineDiagnostic {
  const file = f.file ?? context.spec.config;
  const range = f.range ?? ORIGIN;
  if (f.code === "metro/missing-file") {
    const here = missingFromMirrorHere(context, f.path);
    if (here !== null) return { file, range, severity: "error", code: f.code, message: f.message + here };
    return { file, range, severity: "information", code: f.code, message: `${f.message}: the file is not on this machine, so this context cannot be set up here (a build on this machine stops here)` };
  }
  return { file, range, severity: "error", code: f.code, message: f.message, related: f.related };
}

/** A failure of a run as one line: `file:line:col: message`. */
export function describeFailure(f: RunFailure, uses?: RunUses): string {
  const d = failureDiagnostic(f, uses ?? null, null);
  return `${d.file}:${d.range.start.line + 1}:${d.range.start.character + 1}: ${d.message}`;
}

/** `stop`: the run's first failure, where metro stops; any other failure is where it would stop next. */
function failureDiagnostic(f: RunFailure, uses: RunUses | null, stop: RunFailure | null): EngineDiagnostic {
  const chain = f.chain.length > 1 ? ` (${excerptList(f.chain, " -> ")})` : "";
  const why = f.read.kind === "step" ? `the step ${excerpt(f.read.key)}` : excerpt(f.read.key);
  const who = f.read.target ? `the ${excerpt(f.read.target)} run` : (uses?.label ?? "the run");
  const before = stop !== null && stop !== f ? stop.read.key : undefined;
  const earlier = before === undefined ? "" : `, but stops before, at ${excerpt(before)}`;
  if (f.error) {
    const d = errorDiagnostic(f.context, f.error);
    if (d.severity === "error") {
      d.message = before === undefined ? `${d.message}: ${who} reads ${why} and stops here${chain}` : `${d.message}: ${who} reads ${why}${chain}: metro would stop here${earlier}`;
      d.stopsBefore = before;
    } else d.message = `${d.message} (${who} reads ${why}${chain})`;
    if (f.error.site.element === null && d.range === ORIGIN) {
      const def = f.context.definitions(f.read.key)[0];
      if (def) return { ...d, file: def.file, range: def.statement.name.range };
    }
    return d;
  }
  const def = f.context.definitions(f.read.key)[0];
  const file = f.file ?? def?.file ?? f.context.spec.config;
  const range = f.range ?? def?.statement.name.range ?? ORIGIN;
  const undefinedKey = f.code === "metro/undefined-element";
  let message = undefinedKey ? `${who} reads ${excerpt(f.read.key)}, which is not defined: metro stops here` : f.message;
  // The run's own words for where metro stops, said of a failure metro never reaches.
  if (before !== undefined) message = message.includes("metro stops here") ? message.replace("metro stops here", () => `metro would stop here${earlier}`) : `${message} (metro stops before, at ${excerpt(before)})`;
  return { file, range, severity: "error", code: f.code, message, missing: undefinedKey ? f.read.key : undefined, stopsBefore: before };
}

/** Places an evaluation error on the reference (or element) where it happened. */
export function errorDiagnostic(context: EvaluatedContext, e: EvaluationError): EngineDiagnostic {
  const site = e.site;
  const related: EngineDiagnostic["related"] = [];
  let file = context.spec.config;
  let range: Range = ORIGIN;
  if (site.element !== null) {
    const defs = context.definitions(site.element);
    const def = defs.find((d) => d.condition === null) ?? defs[0];
    if (def) {
      file = def.file;
      // An unterminated `$[` has no written reference to look for: it is the value's unterminated one.
      const unterminated = e.code === "metro/unterminated-reference" ? referenceWhere(def.statement, site.line, (r) => !r.terminated) : null;
      range = unterminated ?? referenceRange(def.statement, site.reference, site.line) ?? fileValueRange(def.statement, site.line) ?? def.statement.name.range;
    }
  }
  if (e.code === "metro/missing-file") {
    // A file of a mirror that is on this machine (a build server's): metro, run here, stops on it.
    const here = missingFromMirrorHere(context, e.path);
    if (here !== null) return { file, range, severity: "error", code: e.code, message: e.message + here };
    // Mirror control files usually exist only on the build server: what depends on them is unknown here, not wrong.
    return { file, range, severity: "information", code: e.code, message: `${e.message}; the file is not on this machine, so the values that depend on it are unknown here` };
  }
  if (e.code === "metro/circular-reference" || e.code === "metro/undefined-element") {
    // Point at the definitions involved, when known: those of the names the message shows (a cycle through
    // every key of a tree would otherwise give each of its keys' findings a location per key).
    const names = (e.cycle ?? []).slice(0, EXCERPT_ITEMS);
    for (const n of new Set(names)) {
      for (const d of context.definitions(n)) related.push({ file: d.file, range: d.statement.name.range, message: `${quote(n, '"')} is part of the cycle` });
    }
  }
  return { file, range, severity: "error", code: e.code, message: e.message, related: related.length ? related : undefined, missing: e.missing };
}

/**
 * For a `<<` file that is not there: when the context's `path/mirror` is a
 * folder on this machine that holds it, what to add to the message (metro,
 * run here, stops on it); else null (the mirror is not here either).
 */
function missingFromMirrorHere(context: EvaluatedContext, path: string | undefined): string | null {
  if (path === undefined || !context.has("path/mirror")) return null;
  const { value, error } = context.tryGet("path/mirror");
  if (error || typeof value !== "string" || !value.startsWith("/")) return null;
  const root = resolve(value);
  if (!path.startsWith(root === "/" ? "/" : root + "/")) return null;
  try {
    if (!statSync(root).isDirectory()) return null;
  } catch {
    return null;
  }
  return `, and the mirror ${excerptPath(root)} is on this machine: a build here stops on it`;
}

/** The `<< PATH` of an element (or of line `line` of a multi-line element). */
function fileValueRange(st: SingleLineElement | MultiLineElement, line: number | undefined): Range | null {
  if (st.kind === "single") return st.value.file?.range ?? null;
  const src = line === undefined ? undefined : st.lines[1 + line];
  const b = st.body.find((x) => x.kind === "text" && x.source === src);
  return b && b.kind === "text" ? (b.value.file?.range ?? null) : null;
}

function referenceRange(st: SingleLineElement | MultiLineElement, reference: string | undefined, line: number | undefined): Range | null {
  if (reference === undefined) return null;
  return referenceWhere(st, line, (r) => r.inner === reference, reference);
}

/** The first reference of an element (or of line `line` of a multi-line element) that `hit` accepts; `whole` matches a `$[[...]]` line. */
function referenceWhere(st: SingleLineElement | MultiLineElement, line: number | undefined, hit: (r: ReferencePart) => boolean, whole?: string): Range | null {
  const refs: ReferencePart[] = [];
  if (st.kind === "single") {
    for (const p of st.value.parts) if (p.kind === "reference") refs.push(p);
  } else {
    for (const b of st.body) {
      if (line !== undefined) {
        const src = b.kind === "python" ? b.start : b.source;
        if (src.line !== st.lines[0].line + 1 + line) continue;
      }
      if (b.kind === "text") for (const p of b.value.parts) if (p.kind === "reference") refs.push(p);
      if (b.kind === "multi-reference") {
        if (whole !== undefined && b.inner.text === whole) return b.range;
        for (const p of b.inner.parts) if (p.kind === "reference") refs.push(p);
      }
    }
  }
  const found = refs.find(hit);
  return found ? found.range : null;
}
