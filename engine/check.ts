// Diagnostics of a context, each with a location: what metro would stop on or
// fail with, plus what it silently drops (uncollected files).

import type { MultiLineElement, Range, ReferencePart, SingleLineElement } from "../language";
import { EvaluationError } from "./errors";
import { evaluateContext, type ContextSpec, type EngineDiagnostic, type EvaluateOptions, type EvaluatedContext } from "./evaluate";

export interface CheckResult {
  context: EvaluatedContext;
  diagnostics: EngineDiagnostic[];
}

const ORIGIN: Range = { start: { line: 0, character: 0, offset: 0 }, end: { line: 0, character: 0, offset: 0 } };

/** Evaluates every key of a context and reports what fails, where. */
export function checkContext(spec: ContextSpec, options: EvaluateOptions = {}): CheckResult {
  const context = evaluateContext(spec, options);
  return { context, diagnostics: contextDiagnostics(context) };
}

export function contextDiagnostics(context: EvaluatedContext): EngineDiagnostic[] {
  const out: EngineDiagnostic[] = [];
  const seen = new Set<string>();
  const add = (d: EngineDiagnostic) => {
    const k = `${d.file}\0${d.range.start.offset}\0${d.range.end.offset}\0${d.code}\0${d.message}`;
    if (seen.has(k)) return;
    seen.add(k);
    out.push(d);
  };
  if (context.fatal) {
    const f = context.fatal;
    add({ file: f.file ?? context.spec.config, range: f.range ?? ORIGIN, severity: "error", code: f.code, message: f.message, related: f.related });
    return out;
  }
  for (const u of context.uncollected) {
    const why = u.missing ? `"${u.missing}" stays undefined` : u.reason;
    add({
      file: u.file,
      range: u.statement.path.range,
      severity: "warning",
      code: "metro/never-collected",
      message: `this file is never collected (${why}); metro drops it silently`,
    });
  }
  let keys: string[];
  try {
    keys = context.keys();
  } catch (e) {
    if (!(e instanceof EvaluationError)) throw e;
    add(errorDiagnostic(context, e));
    return out;
  }
  for (const key of keys) {
    const { error } = context.tryGet(key);
    if (error) add(errorDiagnostic(context, error));
  }
  for (const n of context.notes) add(n);
  return out;
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
      range = referenceRange(def.statement, site.reference, site.line) ?? fileValueRange(def.statement, site.line) ?? def.statement.name.range;
    }
  }
  if (e.code === "metro/missing-file") {
    // Mirror control files usually exist only on the build server: what depends on them is unknown here, not wrong.
    return { file, range, severity: "information", code: e.code, message: `${e.message}: values that depend on it are unknown on this machine` };
  }
  if (e.code === "metro/circular-reference" || e.code === "metro/undefined-element") {
    // Point at the definitions involved, when known.
    const names = e.cycle ?? [];
    for (const n of new Set(names)) {
      for (const d of context.definitions(n)) related.push({ file: d.file, range: d.statement.name.range, message: `"${n}" is part of the cycle` });
    }
  }
  return { file, range, severity: "error", code: e.code, message: e.message, related: related.length ? related : undefined };
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
        if (b.inner.text === reference) return b.range;
        for (const p of b.inner.parts) if (p.kind === "reference") refs.push(p);
      }
    }
  }
  const hit = refs.find((r) => r.inner === reference);
  return hit ? hit.range : null;
}
