// Expansion of values, step for step as metro's parser does it (spec section
// 3), with two differences that do not change results: expansions are
// memoized, and single-line expansion runs on an explicit stack so that deep
// reference chains cannot overflow the JavaScript stack.
//
// Memoization. The result of expanding element V depends on the store, on the
// inherited `:lax` option, on whether V's direct referrer is lax, and on the
// chain of enclosing elements (circular references). A result is cached under
// (V, referrer lax, inherited lax) only when no circular reference met while
// computing it pointed into the chain *above* V: such a result is the same
// from whatever chain V is reached.

import { absoluteName, blockLineKind, excerpt, excerptList, fileLines, quote, quoteJson, quotePath, isPythonEnd, modifierProblem, nextReference, parseReferenceInner, pySplit, pyStrip } from "../language";
import { EvaluationError, type ErrorCode, type ErrorSite } from "./errors";
import type { PythonRunner } from "./python";
import type { Definition, RawValue, Store } from "./store";
import type { Workspace } from "./workspace";
import { problemCode } from "./files";
import { Trace } from "./trace";
import { resolve } from "node:path";

/** `string`: a value; `string[]`: a multi-line value; `null`: nothing (the :zap result). */
export type MetroValue = string | string[] | null;

/**
 * The largest expanded value, in characters (a multi-line value counts one
 * more per line). A value that grows without bound (`a: $[b]$[b]`, `b:
 * $[c]$[c]`, ...) is an error on the keys that reach it instead of
 * exhausting memory; metro itself would run out of memory there.
 */
export const MAX_VALUE_SIZE = 16 * 1024 * 1024;

/**
 * A multi-line result: its own lines and the results of the elements it
 * includes through `$[[...]]`, shared rather than copied, so that a deep
 * include chain costs time linear in its depth. `lines()` flattens it.
 */
interface MultiResult {
  parts: (string | LiteralRun | MultiResult)[];
  /** Characters plus one per line. */
  size: number;
}

/**
 * Consecutive lines of a multi-line value that hold no reference: the same
 * in every context, so a workspace that serves many keeps them with the
 * value, and their JSON is made once.
 */
class LiteralRun {
  /** The lines' JSON without its brackets, once asked for. */
  json: string | undefined = undefined;
  constructor(
    readonly lines: string[],
    /** Characters plus one per line. */
    readonly size: number,
  ) {}
}

/** Visits the parts of a multi-line result in order: its lines, and its literal runs whole. */
function eachPart(r: MultiResult, visit: (part: string | LiteralRun) => void): void {
  const stack: { r: MultiResult; i: number }[] = [{ r, i: 0 }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    if (top.i >= top.r.parts.length) {
      stack.pop();
      continue;
    }
    const p = top.r.parts[top.i++];
    if (typeof p === "string" || p instanceof LiteralRun) visit(p);
    else stack.push({ r: p, i: 0 });
  }
}

/** Whether a top-level result is a multi-line value. */
function isMulti(value: string | null | MultiResult): value is MultiResult {
  return value !== null && typeof value === "object";
}

function flatten(r: MultiResult): string[] {
  const out: string[] = [];
  eachPart(r, (p) => {
    if (typeof p === "string") out.push(p);
    else for (const l of p.lines) out.push(l);
  });
  return out;
}

/** JSON.stringify of a multi-line result's lines, with each literal run's JSON made once for all the contexts that share it. */
function multiJson(r: MultiResult): string {
  // Lines of this context are stringified together, a run at a time: one call into JSON.stringify each.
  const pieces: string[] = [];
  const lines: string[] = [];
  eachPart(r, (p) => {
    if (typeof p === "string") {
      lines.push(p);
      return;
    }
    if (lines.length !== 0) {
      pieces.push(JSON.stringify(lines).slice(1, -1));
      lines.length = 0;
    }
    pieces.push((p.json ??= JSON.stringify(p.lines).slice(1, -1)));
  });
  if (lines.length !== 0) pieces.push(JSON.stringify(lines).slice(1, -1));
  return "[" + pieces.join(",") + "]";
}

function tooLarge(element: string | null, site: ErrorSite): EvaluationError {
  const what = element === null ? "this value" : `the value of ${quote(element, '"')}`;
  return new EvaluationError("metro/value-too-large", `${what} grows beyond ${MAX_VALUE_SIZE / (1024 * 1024)} MiB when expanded (metro would exhaust memory)`, false, site);
}

/**
 * Values up to this many characters are made flat (one piece of text) when
 * they are kept; longer ones stay joined pieces that share the values they
 * include (a deep chain must not copy each level's text again).
 */
const FLAT_UP_TO = 1024;

/**
 * How deep the choice of a conditional value may nest (a condition that
 * expands a value that reaches another conditional name, ...). metro's
 * Python stops with a RecursionError at about this depth (measured with
 * funtoo/metro's flexdata under python3's default limit: a chain of 198
 * such levels expands, one of 199 does not; called from deeper in metro's
 * runner, a little less); deeper, or in a cycle (a condition that reaches
 * its own name), is an error here too, instead of exhausting the stack.
 */
export const MAX_CONDITION_DEPTH = 198;

/**
 * A value about to be kept in the memo. Appending makes a tree of joined
 * pieces; flattened now, while its parts were just made, it is one copy of
 * flat parts, and the pieces die young instead of ageing in the old
 * generation until someone reads the value (and then flattening it walks
 * them all, long since cold: the dump of a million elements spent most of
 * its time there). A regular expression's match flattens its subject in
 * place, in every V8: reading a character did on Node 20 (V8 11) but no
 * longer does on Node 24 (V8 13), where JSON.stringify then walked each
 * value's pieces again (the million-element dump: 2.9 s in JSON.stringify
 * against 0.2 s with the values flattened).
 */
const FLATTEN = /^/;
function settled(value: string | null): string | null {
  if (value !== null && value.length <= FLAT_UP_TO && value.length > 0) FLATTEN.test(value);
  return value;
}

// ---------------------------------------------------------------------------
// Scanning single-line text for references

/**
 * A reference as written. For the absolute form with at most one valid
 * modifier, the name and modifier are worked out once (`name` is then the
 * name looked up); the section forms depend on the element being expanded and
 * are resolved each time (`name` is null). One object per reference: a
 * context of a million elements keeps one for each reference it expanded.
 */
interface RefSegment {
  /** The text between `$[` and `]`. */
  written: string;
  name: string | null;
  boolean: boolean;
  zap: boolean;
  lax: boolean;
}
/** Where a `$[` has no closing `]`: the scan stops there. */
const UNTERMINATED = 0;
/** Literal text, a reference, or an unterminated reference. */
type Segment = string | RefSegment | typeof UNTERMINATED;

function refSegment(written: string): RefSegment {
  const syntax = parseReferenceInner(written);
  if (syntax.form !== "absolute" || modifierProblem(syntax.modifier)) return { written, name: null, boolean: false, zap: false, lax: false };
  // The name is most often the whole text: one string for both.
  const name = syntax.name === written ? written : syntax.name;
  return { written, name, boolean: syntax.boolean, zap: syntax.modifier === "zap", lax: syntax.modifier === "lax" };
}

interface Prepared {
  /** The expansion itself when the text holds no reference and names no file. */
  literal: string | null;
  /** `<< PATH`: the text to expand is the path, and the result names a file. */
  fromFile: boolean;
  /** The text scanned (for error messages). */
  text: string;
  segments: Segment[];
}

/** Segments are gathered here and copied out at their exact length (an array grown by push keeps room for 17). */
const scratch: Segment[] = [];

function scan(text: string): Segment[] {
  const out = scratch;
  out.length = 0;
  let pos = 0;
  for (let span = nextReference(text, 0); span; span = nextReference(text, pos)) {
    if (span.start > pos) out.push(text.slice(pos, span.start));
    if (!span.terminated) {
      out.push(UNTERMINATED);
      pos = text.length;
      break;
    }
    out.push(refSegment(text.slice(span.innerStart, span.innerEnd)));
    pos = span.innerEnd + 1;
  }
  if (pos < text.length) out.push(text.slice(pos));
  const segments = out.slice();
  out.length = 0;
  return segments;
}

const preparedStrings = new Map<string, Prepared>();
const preparedLists = new WeakMap<string[], Prepared>();

/** The scan of a value, kept (and shared by equal texts) when `keep`, else made afresh and left to the caller. */
function prepare(value: RawValue, keep = true): Prepared {
  if (!keep) return typeof value === "string" ? prepareText(value, pyStrip(value)) : prepareJoined(value);
  if (typeof value === "string") {
    let p = preparedStrings.get(value);
    if (!p) {
      if (preparedStrings.size > 500_000) preparedStrings.clear();
      p = prepareText(value, pyStrip(value));
      preparedStrings.set(value, p);
    }
    return p;
  }
  let p = preparedLists.get(value);
  if (!p) {
    p = prepareJoined(value);
    preparedLists.set(value, p);
  }
  return p;
}

/** A multi-line value read as single-line text: its lines stripped and joined. */
function prepareJoined(lines: string[]): Prepared {
  const joined = pyStrip(lines.map((l) => pyStrip(l)).join(" "));
  return prepareText(joined, joined);
}

/**
 * The prepared value of a definition, kept on it when `keep` (for the
 * contexts to come) or when it is literal (small, and read by every
 * reference to it); otherwise made for this expansion only: the expansion's
 * result is what the context keeps.
 */
function preparedDef(def: Definition, keep: boolean): Prepared {
  const p = def.prepared as Prepared | undefined;
  if (p !== undefined) return p;
  const fresh = prepare(def.value, keep);
  if (keep || fresh.literal !== null) def.prepared = fresh;
  return fresh;
}

function prepareText(text: string, stripped: string): Prepared {
  const words = stripped.split(" ");
  if (words.length === 2 && words[0] === "<<") return { literal: null, fromFile: true, text: words[1], segments: scan(words[1]) };
  const segments = scan(text);
  const literal = segments.every((s) => typeof s === "string") ? segments.join("") : null;
  return { literal, fromFile: false, text, segments };
}

// ---------------------------------------------------------------------------

interface Frame {
  /** The element being expanded (null for a line of a multi-line value or a collect path). */
  myvar: string | null;
  /** Position of this frame in the chain; the frame's stack is chain[0 .. depth). */
  depth: number;
  lax: boolean;
  prepared: Prepared;
  next: number;
  ex: string;
  /** Smallest chain index a circular reference in this frame's subtree pointed at. */
  low: number;
  /** Cache slot of this frame's result: the element's name in memo[memoMode]; null when not cached. */
  memoKey: string | null;
  memoMode: number;
  /** The definition in force for memoKey (its result may be kept on it: Expander.memoGet). */
  memoDef: Definition | null;
  /** How the pending child's result is used. */
  childZap: boolean;
  childConditional: boolean;
  childName: string;
  /** The reference as written that led to the pending child. */
  childWritten: string;
  /** The element (and line) this text belongs to, for error sites. */
  site: ErrorSite;
  /** What this frame looks up, while tracing (see trace.ts). */
  trace: Trace | null;
}

const enum LineKind {
  Text,
  Python,
}

/** A line's kind: a python start, the text of a `$[[...]]` reference, or a text line, scanned. */
type LineInfo = LineKind.Python | string | Prepared;

const lineKindCache = new WeakMap<string[], LineInfo[]>();

/** For each line of a multi-line value: the text of a `$[[...]]` reference, a python start, or text (spec 3.4); kept when `keep`. */
function lineKinds(lines: string[], keep = true): LineInfo[] {
  let kinds = lineKindCache.get(lines);
  if (!kinds) {
    kinds = lines.map((line) => {
      const k = blockLineKind(line);
      return k.kind === "multi-reference" ? line.slice(k.innerStart, k.innerEnd) : k.kind === "python-start" ? LineKind.Python : prepare(line, keep);
    });
    if (keep) lineKindCache.set(lines, kinds);
  }
  return kinds;
}

/** The literal text lines of a value from `pos` on, up to the first line that is not one, and their size (characters plus one per line). */
function literalLines(kinds: LineInfo[], pos: number): { texts: string[]; size: number } {
  const texts: string[] = [];
  let size = 0;
  for (let i = pos; i < kinds.length; i++) {
    const k = kinds[i];
    if (typeof k !== "object" || k.literal === null) break;
    texts.push(k.literal);
    size += k.literal.length + 1;
  }
  return { texts, size };
}

const literalMultiCache = new WeakMap<string[], MultiResult | null>();

/**
 * The result of a multi-line value without references, python blocks or
 * includes: its lines as written, the same in every context, so it is made
 * once and shared (a build matrix expands the same scripts in every context).
 */
function literalMulti(lines: string[], keep: boolean): MultiResult | null {
  let r = literalMultiCache.get(lines);
  if (r === undefined) {
    r = null;
    const { texts, size } = literalLines(lineKinds(lines, keep), 0);
    if (texts.length === lines.length && size <= MAX_VALUE_SIZE) r = { parts: keep && texts.length > 1 ? [new LiteralRun(texts, size)] : texts, size };
    literalMultiCache.set(lines, r);
  }
  return r;
}

const literalRunCache = new WeakMap<string[], Map<number, LiteralRun | null>>();

/**
 * The run of literal text lines of `lines` that starts at `pos` (a workspace
 * serving many contexts keeps it), or null when fewer than two lines are
 * literal there.
 */
function literalRunAt(lines: string[], kinds: LineInfo[], pos: number): LiteralRun | null {
  let runs = literalRunCache.get(lines);
  if (runs === undefined) literalRunCache.set(lines, (runs = new Map()));
  let run = runs.get(pos);
  if (run === undefined) {
    const { texts, size } = literalLines(kinds, pos);
    run = texts.length > 1 ? new LiteralRun(texts, size) : null;
    runs.set(pos, run);
  }
  return run;
}

interface MultiFrame {
  name: string;
  lines: string[];
  lax: boolean;
  key: string;
  pos: number;
  out: MultiResult;
  /** Smallest index in the multi-line stack a circular reference below this frame pointed at. */
  low: number;
  pythonBlocks: string[] | null;
  pythonIndex: number;
  /** What this frame looks up, while tracing. */
  trace: Trace | null;
}

type Outcome = { ok: true; value: string | null } | { ok: false; error: EvaluationError };

export interface ExpanderHooks {
  /** Called for every reference met while expanding `from` (the element, or the multi-line element whose line it is). */
  onReference?(from: string | null, to: string): void;
  /** Called for every file a `<< PATH` value reads (or tries to: a missing file is reported too). */
  onFileRead?(path: string): void;
  /** Called when a `<<` file ends without a newline (metro would drop its last character). */
  onFileWithoutFinalNewline?(path: string): void;
}

export class Expander {
  /** Expansions by element name, one table per mode: the value (null for :zap), or why it failed. */
  private readonly memo: Map<string, string | null | EvaluationError>[] = [new Map(), new Map(), new Map(), new Map()];
  private multiMemo = new Map<string, { lines: MultiResult } | { error: EvaluationError }>();
  /** Top-level lookups; a multi-line result is kept shared and flattened on each lookup. */
  private topMemo = new Map<string, { ok: true; value: string | null | MultiResult } | { ok: false; error: EvaluationError }>();
  private memoVersion = -1;
  /**
   * While tracing: the trace of the computation running now (trace.ts), and
   * the trace of each kept result, beside the result itself.
   */
  private trace: Trace | null = null;
  private readonly memoTraces: Map<string, Trace>[] = [new Map(), new Map(), new Map(), new Map()];
  private readonly multiTraces = new Map<string, Trace>();
  private readonly topTraces = new Map<string, Trace>();

  /** Whether scanned values are kept on their definitions for other contexts (see Workspace.contextsServed). */
  private readonly keep: boolean;
  /**
   * When the workspace serves only this context, plain-mode results are kept
   * on the definitions themselves (no table of every name; one look-up per
   * reference), stamped with `stamp`, which changes whenever the store does.
   */
  private stamp: object = {};

  constructor(
    private readonly store: Store,
    private readonly workspace: Workspace,
    private readonly python: PythonRunner | null,
    private readonly hooks: ExpanderHooks = {},
  ) {
    this.keep = workspace.contextsServed > 1;
  }

  private fresh(): void {
    if (this.memoVersion !== this.store.version) {
      // The collect queue changes the store after almost every expansion: clear only what holds something.
      for (const m of this.memo) if (m.size) m.clear();
      if (this.multiMemo.size) this.multiMemo.clear();
      if (this.topMemo.size) this.topMemo.clear();
      for (const m of this.memoTraces) if (m.size) m.clear();
      if (this.multiTraces.size) this.multiTraces.clear();
      if (this.topTraces.size) this.topTraces.clear();
      this.stamp = {};
      this.memoVersion = this.store.version;
    }
  }

  // -------------------------------------------------------------------------
  // Tracing (trace.ts)

  /** Runs `fn`, recording in `trace` what it looks up (at any depth). */
  traced<T>(trace: Trace, fn: () => T): T {
    const saved = this.trace;
    this.trace = trace;
    try {
      return fn();
    } finally {
      this.trace = saved;
    }
  }

  /** Forgets every kept result (and trace): a trace then never meets a result kept without one. */
  forgetKept(): void {
    this.memoVersion = -1;
  }

  /** A trace for a computation of the running one (that looks up `name` first), or null when not tracing. */
  private childTrace(name: string | null): Trace | null {
    const parent = this.trace;
    if (parent === null) return null;
    const t = new Trace();
    parent.uses.push(t);
    if (name !== null) t.names.push(name);
    return t;
  }

  /** Adds a kept result's trace to the running trace (which is not null). */
  private usedKept(traces: Map<string, Trace>, key: string): void {
    const t = traces.get(key);
    if (t !== undefined) this.trace!.uses.push(t);
    else this.trace!.unknown = true;
  }

  // -------------------------------------------------------------------------
  // Conditions (spec 2.1)

  conditionTrue(cond: string): boolean {
    const c = pySplit(cond);
    if (this.trace !== null && c.length !== 0) this.trace.names.push(c[0]);
    if (c.length === 1) return this.store.raw.has(c[0]);
    if (c.length >= 3 && (c[1] === "is" || c[1] === "in")) {
      if (!this.store.raw.has(c[0])) return false;
      for (const want of c.slice(2)) if (this.lookup(c[0]) === want) return true;
      return false;
    }
    throw new EvaluationError("metro/invalid-condition", `invalid condition ${quote(cond, '"')}: expected NAME, NAME is VALUE... or NAME in VALUE...`, false);
  }

  /** Whether the condition tests a name that only has conditional definitions (metro refuses that for collects). */
  conditionOnConditional(cond: string): boolean {
    const c = pySplit(cond);
    if (c.length === 0) throw new EvaluationError("metro/invalid-condition", `invalid empty condition`, false);
    if (this.trace !== null) this.trace.names.push(c[0]);
    if (c.length >= 3 && c[1] !== "is" && c[1] !== "in") throw new EvaluationError("metro/invalid-condition", `invalid condition ${quote(cond, '"')}: expected "is" or "in"`, false);
    if (c.length === 2) return false;
    return !this.store.raw.has(c[0]) && this.store.conditionals.has(c[0]);
  }

  /** The value of the one true condition of a conditional name, or null when none is true. */
  conditionalValue(name: string): Definition | null {
    if (this.trace !== null) this.trace.names.push(name);
    const byCond = this.store.conditionals.get(name);
    if (!byCond) return null;
    // A condition `NAME is V` expands NAME, which may reach another conditional name (or this one again): each
    // such level nests a look-up on the JavaScript stack, as it nests calls in metro's Python.
    if (this.conditionDepth >= MAX_CONDITION_DEPTH) {
      throw new EvaluationError("metro/conditions-too-deep", `the conditions of ${quote(name, '"')} test values that reach conditional elements more than ${MAX_CONDITION_DEPTH} deep (or reach ${quote(name, '"')} itself): metro stops with a RecursionError`, false, { element: name });
    }
    this.conditionDepth++;
    try {
      return this.chooseCondition(name, byCond);
    } finally {
      this.conditionDepth--;
    }
  }

  /** How many conditional values are being chosen, one inside another (conditionalValue). */
  private conditionDepth = 0;

  private chooseCondition(name: string, byCond: Map<string, Definition>): Definition | null {
    const trueOnes: string[] = [];
    for (const cond of byCond.keys()) {
      if (this.conditionTrue(cond)) trueOnes.push(cond);
      if (trueOnes.length > 1) {
        throw new EvaluationError("metro/multiple-true-conditions", `more than one condition of ${quote(name, '"')} is true: ${trueOnes.map((c) => quote(`[when ${c}]`, "")).join(", ")}`, false, { element: name });
      }
    }
    if (trueOnes.length === 0) return null;
    const chosen = byCond.get(trueOnes[0])!;
    const kinds = new Set([...byCond.values()].map((d) => typeof d.value));
    if (kinds.size > 1) {
      throw new EvaluationError("metro/mixed-conditional", `the conditional definitions of ${quote(name, '"')} mix single-line and multi-line values (metro would misread them character by character)`, false, { element: name });
    }
    return chosen;
  }

  // -------------------------------------------------------------------------
  // Top-level lookup (metro's settings[key])

  /** Expands `key` as a top-level lookup; throws EvaluationError. */
  lookup(key: string): MetroValue {
    const result = this.topLevel(key);
    if (result.ok) return isMulti(result.value) ? flatten(result.value) : result.value;
    throw result.error;
  }

  /** JSON.stringify of a top-level look-up's value (a multi-line value's literal runs are written once for all contexts); throws EvaluationError. */
  lookupJson(key: string): string {
    const result = this.topLevel(key);
    if (!result.ok) throw result.error;
    return isMulti(result.value) ? multiJson(result.value) : JSON.stringify(result.value);
  }

  /** Why `key` cannot be expanded as a top-level lookup, or null when it can (no multi-line value is flattened). */
  lookupError(key: string): EvaluationError | null {
    const result = this.topLevel(key);
    return result.ok ? null : result.error;
  }

  /** Whether `key`'s top-level value is multi-line (its lines are not made); throws EvaluationError. */
  lookupIsMultiLine(key: string): boolean {
    const result = this.topLevel(key);
    if (!result.ok) throw result.error;
    return isMulti(result.value);
  }

  private topLevel(key: string): { ok: true; value: string | null | MultiResult } | { ok: false; error: EvaluationError } {
    this.fresh();
    const outer = this.trace;
    if (outer !== null) outer.names.push(key.endsWith("?") ? key.slice(0, -1) : key);
    // Most keys name an unconditional single-line value: its result is kept with the element's (expandElement), not here.
    // (A key ending in "?" asks whether the name before it is defined, whatever defines that key itself.)
    // (metro cannot look up the empty name, even where a line `: x` outside a section defines it.)
    const raw = key.endsWith("?") || key === "" ? undefined : this.store.raw.get(key);
    if (raw !== undefined && typeof raw.value === "string") {
      try {
        return { ok: true, value: this.expandElement(key, raw) };
      } catch (e) {
        if (!(e instanceof EvaluationError)) throw e;
        return { ok: false, error: e };
      }
    }
    const cached = this.topMemo.get(key);
    if (cached) {
      if (outer !== null) this.usedKept(this.topTraces, key);
      return cached;
    }
    let result: { ok: true; value: string | null | MultiResult } | { ok: false; error: EvaluationError };
    const own = this.childTrace(null);
    if (own !== null) this.trace = own;
    try {
      result = { ok: true, value: this.lookupUncached(key) };
    } catch (e) {
      if (!(e instanceof EvaluationError)) throw e;
      result = { ok: false, error: e };
    } finally {
      this.trace = outer;
    }
    // Besides multi-line and conditional values, what reaches here is a `?` test or the answer for an undefined
    // (or lax) name: single-line answers found again at once, not worth a table of every key.
    if (this.memoVersion === this.store.version && !(result.ok && typeof result.value === "string" && !this.store.conditionals.has(key))) {
      this.topMemo.set(key, result);
      if (own !== null) this.topTraces.set(key, own);
    }
    return result;
  }

  private lookupUncached(key: string): string | null | MultiResult {
    let name = key;
    let boolean = false;
    if (name.endsWith("?")) {
      boolean = true;
      name = name.slice(0, -1);
    }
    if (this.trace !== null) this.trace.names.push(name);
    if (name === "") {
      // metro answers "?" like any test of an undefined name; the empty name itself it cannot look up.
      if (boolean && !this.store.raw.has("") && !this.store.conditionals.has("")) return "no";
      throw new EvaluationError("metro/empty-name", "the empty name cannot be looked up", true, { element: null });
    }
    let typetest: RawValue;
    const raw = this.store.raw.get(name);
    if (raw) typetest = raw.value;
    else if (this.store.conditionals.has(name)) typetest = this.store.conditionals.get(name)!.values().next().value!.value;
    else if (this.store.laxVars.get(name)) return boolean ? "no" : "";
    else if (boolean) return "no";
    else throw new EvaluationError("metro/undefined-element", `${quote(name, '"')} is not defined`, false, { element: null }, name);
    if (Array.isArray(typetest)) return boolean ? "yes" : this.expandMulti(name);
    // A single-line (or conditional) element: expandString(myvar=name).
    if (raw) return this.expandElement(name, raw);
    const def = this.conditionalValue(name);
    if (!def) throw new EvaluationError("metro/no-true-condition", `no condition of ${quote(name, '"')} is true`, true, { element: null }, name);
    return this.expandElement(name, def);
  }

  /** Expands text as a single-line value of `element` is expanded (its section resolves `$[:x]`), a fresh chain. */
  expandAs(element: string, text: string): string | null {
    this.fresh();
    return this.runFrames(element, prepare(text, this.keep), false, null, 0, { element });
  }

  /** Expands text the way a collect path or a line of a multi-line value is expanded: no element, a fresh chain. */
  expandText(text: string, lax: boolean, site: ErrorSite): string | null {
    this.fresh();
    return this.runFrames(null, prepare(text, this.keep), lax, null, 0, site);
  }

  /** The memo table for an expansion mode: whether the referrer is lax, whether :lax is inherited. */
  private memoMode(referrerLax: boolean, lax: boolean): number {
    return (referrerLax ? 2 : 0) + (lax ? 1 : 0);
  }

  /** The kept expansion of `name` (whose definition in force is `def`) in `mode`, if any. */
  private memoGet(mode: number, name: string, def: Definition | null): string | null | EvaluationError | undefined {
    if (this.trace !== null) {
      // Tracing: only the tables, which hold each result's trace beside it.
      const hit = this.memo[mode].get(name);
      if (hit !== undefined) this.usedKept(this.memoTraces[mode], name);
      return hit;
    }
    if (mode === 0 && def !== null && !this.keep) return def.memoStamp === this.stamp ? (def.memo as string | null | EvaluationError) : undefined;
    return this.memo[mode].get(name);
  }

  /** Keeps a result; `trace` is what computing it looked up (null when not tracing). */
  private memoSet(mode: number, name: string, def: Definition | null, value: string | null | EvaluationError, trace: Trace | null): void {
    if (trace !== null) {
      this.memo[mode].set(name, value);
      this.memoTraces[mode].set(name, trace);
    } else if (mode === 0 && def !== null && !this.keep) {
      def.memo = value;
      def.memoStamp = this.stamp;
    } else this.memo[mode].set(name, value);
  }

  // -------------------------------------------------------------------------
  // Single-line expansion on an explicit stack

  /** Expands element `name` (definition `def`) as a top-level lookup does: its kept result, or a fresh chain. */
  private expandElement(name: string, def: Definition): string | null {
    const hit = this.memoGet(0, name, def);
    if (hit !== undefined) {
      if (hit instanceof EvaluationError) throw hit;
      return hit;
    }
    return this.runFrames(name, preparedDef(def, this.keep), false, name, 0, { element: name }, def);
  }

  private runFrames(myvar: string | null, prepared: Prepared, lax: boolean, memoKey: string | null, memoMode: number, site: ErrorSite, memoDef: Definition | null = null): string | null {
    if (memoKey !== null) {
      const hit = this.memoGet(memoMode, memoKey, memoDef);
      if (hit !== undefined) {
        if (hit instanceof EvaluationError) throw hit;
        return hit;
      }
    }
    const literal = prepared.literal;
    if (literal !== null) return literal;
    const outer = this.trace;
    const own = this.childTrace(myvar);
    if (own !== null) this.trace = own;
    try {
      const quick = this.quick(myvar, prepared, lax, myvar ?? site.element);
      if (quick !== undefined) {
        if (memoKey !== null && this.memoVersion === this.store.version) this.memoSet(memoMode, memoKey, memoDef, settled(quick), own);
        return quick;
      }
      // The outermost run reuses one set of stacks; a nested run (a condition evaluated mid-expansion) gets its own.
      const reuse = this.running === 0;
      const chain: (string | null)[] = reuse ? this.sharedChain : [];
      /** Names in chain[0 .. top.depth): the stack of the frame on top. */
      const onStack: Map<string, number> = reuse ? this.sharedOnStack : new Map();
      const frames: Frame[] = reuse ? this.sharedFrames : [];
      chain.length = 0;
      frames.length = 0;
      onStack.clear();
      this.running++;
      try {
        return this.runMachine(myvar, prepared, lax, memoKey, memoMode, site, chain, onStack, frames, memoDef);
      } finally {
        this.running--;
      }
    } finally {
      this.trace = outer;
    }
  }

  /**
   * The expansion of text whose references all name elements already
   * expanded in the mode they are read in (or literal, or tested with `?`),
   * without frames; undefined when any reference needs more (an element to
   * expand, a conditional or undefined name, a section, an error): the
   * frames then do all of it. Each step is the one `step` takes.
   */
  private quick(myvar: string | null, prepared: Prepared, lax: boolean, from: string | null): string | null | undefined {
    if (prepared.fromFile) return undefined;
    const segs = prepared.segments;
    const store = this.store;
    const referrerLax = myvar !== null && store.laxVars.get(myvar) === true;
    // First, without effects: can every reference be answered at once? (Each answer is kept for the second pass.)
    const answers = this.answers;
    answers.length = 0;
    let size = 0;
    for (let i = 0; i < segs.length; i++) {
      const seg = segs[i];
      if (typeof seg === "string") {
        size += seg.length;
        continue;
      }
      if (seg === UNTERMINATED || seg.name === null) return undefined;
      if (this.trace !== null) this.trace.names.push(seg.name);
      const raw = store.raw.get(seg.name);
      if (raw === undefined) return undefined;
      if (seg.boolean) {
        size += 3;
        answers.push("yes");
        continue;
      }
      const hit = this.memoGet(this.memoMode(referrerLax, lax || seg.lax), seg.name, raw);
      if (hit !== undefined) {
        if (hit instanceof EvaluationError) return undefined;
        if (hit !== null) size += hit.length;
        answers.push(hit);
        continue;
      }
      // A value not scanned yet is left to the frames when nothing is kept (they scan it once).
      const p = (raw.prepared as Prepared | undefined) ?? (this.keep ? preparedDef(raw, true) : undefined);
      if (p === undefined || p.literal === null) return undefined;
      size += p.literal.length;
      answers.push(p.literal);
    }
    if (size > MAX_VALUE_SIZE) return undefined;
    // Then as step does it.
    let ex = "";
    for (let i = 0, n = 0; i < segs.length; i++) {
      const seg = segs[i];
      if (typeof seg === "string") {
        ex += seg;
        continue;
      }
      const r = seg as RefSegment;
      this.hooks.onReference?.(from, r.name!);
      const value = answers[n++];
      if (value === null || (value === "" && r.zap && !r.boolean)) return null;
      ex += value;
    }
    return ex;
  }

  /** The answers of quick's first pass, in order (one array, used again). */
  private readonly answers: (string | null)[] = [];

  private running = 0;
  private readonly sharedChain: (string | null)[] = [];
  private readonly sharedOnStack = new Map<string, number>();
  private readonly sharedFrames: Frame[] = [];

  private runMachine(
    myvar: string | null,
    prepared: Prepared,
    lax: boolean,
    memoKey: string | null,
    memoMode: number,
    site: ErrorSite,
    chain: (string | null)[],
    onStack: Map<string, number>,
    frames: Frame[],
    memoDef: Definition | null,
  ): string | null {
    const push = (f: Frame) => {
      if (frames.length > 0) {
        const parent = frames[frames.length - 1];
        if (parent.myvar !== null && !onStack.has(parent.myvar)) onStack.set(parent.myvar, parent.depth);
        if (parent.trace !== null) {
          // A trace of its own: the child's result may be kept, and used again by itself.
          const t = new Trace();
          parent.trace.uses.push(t);
          if (f.myvar !== null) t.names.push(f.myvar);
          f.trace = t;
        }
      } else f.trace = this.trace;
      chain.push(f.myvar);
      frames.push(f);
    };
    const pop = (): Frame => {
      const f = frames.pop()!;
      chain.pop();
      if (frames.length > 0) {
        const parent = frames[frames.length - 1];
        if (parent.myvar !== null && onStack.get(parent.myvar) === parent.depth) onStack.delete(parent.myvar);
      }
      return f;
    };
    push(this.frame(myvar, prepared, lax, memoKey, memoMode, 0, site, memoDef));

    let delivered: Outcome | null = null;
    for (;;) {
      const f = frames[frames.length - 1];
      let outcome: Outcome | null = null;
      if (delivered) {
        // A child finished: use its result.
        const child: Outcome = delivered;
        delivered = null;
        if (!child.ok) outcome = child;
        else if (child.value === null) {
          if (f.childConditional) {
            outcome = { ok: false, error: this.err("metro/zap-in-conditional", `${quote(f.childName, '"')} is conditional and its value became nothing (:zap)`, false, f) };
          } else outcome = { ok: true, value: null };
        } else if (child.value === "" && f.childZap) outcome = { ok: true, value: null };
        else if (f.ex.length + child.value.length > MAX_VALUE_SIZE) outcome = { ok: false, error: tooLarge(f.myvar, { ...f.site, reference: f.childWritten }) };
        else f.ex += child.value;
      }
      if (!outcome) {
        if (f.trace !== null) this.trace = f.trace;
        try {
          outcome = this.step(f, (child) => push(child), chain, onStack);
        } catch (e) {
          if (!(e instanceof EvaluationError)) throw e;
          outcome = { ok: false, error: e };
        }
      }
      if (!outcome) continue; // a child was pushed
      // This frame is finished.
      pop();
      if (f.memoKey !== null && f.low >= f.depth && this.memoVersion === this.store.version) this.memoSet(f.memoMode, f.memoKey, f.memoDef, outcome.ok ? settled(outcome.value) : outcome.error, f.trace);
      if (frames.length === 0) {
        if (outcome.ok) return outcome.value;
        throw outcome.error;
      }
      const parent = frames[frames.length - 1];
      if (f.low < parent.low) parent.low = f.low;
      delivered = outcome;
    }
  }

  private err(code: ErrorCode, message: string, retryable: boolean, f: Frame, reference?: string, missing?: string, cycle?: string[]): EvaluationError {
    return new EvaluationError(code, message, retryable, { ...f.site, reference }, missing, cycle);
  }

  /**
   * Advances frame f: returns its outcome when it is finished, or null after
   * pushing a child frame whose result it needs.
   */
  private step(f: Frame, push: (child: Frame) => void, chain: (string | null)[], onStack: Map<string, number>): Outcome | null {
    const segs = f.prepared.segments;
    const store = this.store;
    while (f.next < segs.length) {
      const seg = segs[f.next++];
      if (typeof seg === "string") {
        this.append(f, seg, undefined);
        continue;
      }
      if (seg === UNTERMINATED) {
        throw this.err("metro/unterminated-reference", `"$[" without a closing "]" in ${quoteJson(f.prepared.text)}`, false, f);
      }
      const written = seg.written;
      let name: string;
      let boolean: boolean;
      let lax = f.lax;
      let zap = false;
      if (seg.name !== null) {
        name = seg.name;
        boolean = seg.boolean;
        zap = seg.zap;
        lax ||= seg.lax;
      } else {
        const syntax = parseReferenceInner(written);
        boolean = syntax.boolean;
        name = syntax.name;
        if (syntax.form !== "absolute") {
          const section = f.myvar === null ? undefined : store.sectionFor.get(f.myvar);
          if (section === undefined) {
            throw this.err("metro/no-section", `${quote(`$[${written}]`, '"')} is relative to the current section, but ${f.myvar === null ? "this text belongs to no element" : `${quote(f.myvar, '"')} was not defined in a section`}`, false, f, written);
          }
          name = absoluteName(syntax, section)!;
        }
        const problem = modifierProblem(syntax.modifier);
        if (problem === "unknown-modifier") throw this.err("metro/unknown-modifier", `unknown modifier ${quote(`:${syntax.modifier}`, '"')} in ${quote(`$[${written}]`, '"')}: expected :zap or :lax`, false, f, written);
        if (problem === "repeated-modifier") throw this.err("metro/repeated-modifier", `${quote(`$[${written}]`, '"')} has more than one modifier`, false, f, written);
        zap = syntax.modifier === "zap";
        if (syntax.modifier === "lax") lax = true;
      }
      this.hooks.onReference?.(f.myvar ?? f.site.element, name);
      if (f.trace !== null) f.trace.names.push(name);
      const at = onStack.get(name);
      if (at !== undefined) {
        if (at < f.low) f.low = at;
        const cycle = [...chain.slice(at), name].filter((x): x is string => x !== null);
        throw this.err("metro/circular-reference", `circular reference: ${excerptList(cycle, " -> ")}`, true, f, written, undefined, cycle);
      }
      const raw = store.raw.get(name);
      if (raw) {
        if (boolean) {
          this.append(f, "yes", written);
          continue;
        }
        const referrerLax = f.myvar !== null && store.laxVars.get(f.myvar) === true;
        const mode = this.memoMode(referrerLax, lax);
        const hit = this.memoGet(mode, name, raw);
        if (hit !== undefined) {
          if (hit instanceof EvaluationError) throw hit;
          if (hit === null || (hit === "" && zap)) return { ok: true, value: null };
          this.append(f, hit, written);
          continue;
        }
        const prepared = preparedDef(raw, this.keep);
        const literal = prepared.literal;
        if (literal !== null) {
          if (literal === "" && zap) return { ok: true, value: null };
          this.append(f, literal, written);
          continue;
        }
        f.childZap = zap;
        f.childConditional = false;
        f.childName = name;
        f.childWritten = written;
        push(this.frame(name, prepared, lax, name, mode, f.depth + 1, { element: name }, raw));
        return null;
      }
      if (store.conditionals.has(name)) {
        const def = this.conditionalValue(name);
        if (!def) throw this.err("metro/no-true-condition", `no condition of ${quote(name, '"')} is true`, true, f, written, name);
        if (boolean) {
          this.append(f, "yes", written);
          continue;
        }
        f.childZap = false;
        f.childConditional = true;
        f.childName = name;
        f.childWritten = written;
        push(this.frame(name, preparedDef(def, this.keep), lax, null, 0, f.depth + 1, { element: name }));
        return null;
      }
      if (zap) return { ok: true, value: null };
      const laxHere = lax || (f.depth > 0 && chain[f.depth - 1] !== null && store.laxVars.get(chain[f.depth - 1]!) === true);
      if (laxHere) this.append(f, boolean ? "no" : "", written);
      else if (boolean) this.append(f, "no", written);
      else throw this.err("metro/undefined-element", `${quote(name, '"')} is not defined`, true, f, written, name);
    }
    if (!f.prepared.fromFile) return { ok: true, value: f.ex };
    return { ok: true, value: this.readFileValue(f) };
  }

  private append(f: Frame, text: string, reference: string | undefined): void {
    if (f.ex.length + text.length > MAX_VALUE_SIZE) throw tooLarge(f.myvar, { ...f.site, reference });
    f.ex += text;
  }

  private frame(name: string | null, prepared: Prepared, lax: boolean, key: string | null, mode: number, depth: number, site: ErrorSite, memoDef: Definition | null = null): Frame {
    return {
      memoDef,
      myvar: name,
      depth,
      lax,
      prepared,
      next: 0,
      ex: "",
      low: Infinity,
      memoKey: key,
      memoMode: mode,
      childZap: false,
      childConditional: false,
      childName: "",
      childWritten: "",
      site,
      trace: null,
    };
  }

  private readFileValue(f: Frame): string {
    const path = resolve(f.ex);
    this.hooks.onFileRead?.(path);
    const text = this.workspace.readText(path);
    if (text === undefined) {
      const problem = this.workspace.problem(path);
      const named = `${quotePath(f.ex)} (named by ${quotePath(`<< ${f.prepared.text}`)})`;
      if (!problem || problem.kind === "missing") {
        throw new EvaluationError("metro/missing-file", `cannot read ${named}: it ${problem?.words ?? "does not exist"}`, false, f.site, undefined, undefined, path);
      }
      const why = problem.kind === "invalid-utf8" ? `${problem.words}: metro cannot read it` : problem.words;
      throw this.err(problemCode(problem.kind), `${named} ${why}`, false, f);
    }
    const { lines, lastLineUnterminated } = fileLines(text);
    if (lastLineUnterminated) this.hooks.onFileWithoutFinalNewline?.(path);
    const value = lines.join(" ");
    if (value.length > MAX_VALUE_SIZE) throw tooLarge(f.myvar, f.site);
    return value;
  }

  // -------------------------------------------------------------------------
  // Multi-line expansion (spec 3.4)

  /**
   * Expands a multi-line element (metro's expandMulti) as a top-level
   * lookup. Runs on an explicit stack of frames, one per element being
   * expanded, like single-line expansion; the names on that stack are
   * indexed, and an included result is shared, not copied, so that a chain
   * of `$[[...]]` includes costs time linear in its depth.
   */
  private expandMulti(written: string): MultiResult {
    const frames: MultiFrame[] = [];
    /** The elements on the stack, in order, and the position of each. */
    const names: string[] = [];
    const index = new Map<string, number>();
    const open = (w: string, lax: boolean): MultiResult | null => {
      const r = this.openMulti(w, names, index, lax);
      if (r.kind === "done") return r.lines;
      frames.push(r.frame);
      index.set(r.frame.name, names.length);
      names.push(r.frame.name);
      return null;
    };
    const close = (): void => {
      frames.pop();
      index.delete(names.pop()!);
    };
    const outer = this.trace;
    try {
      return this.runMulti(written, frames, open, close);
    } finally {
      this.trace = outer;
    }
  }

  private runMulti(written: string, frames: MultiFrame[], open: (w: string, lax: boolean) => MultiResult | null, close: () => void): MultiResult {
    const first = open(written, false);
    if (first) return first;
    let failure: EvaluationError | null = null;
    while (frames.length > 0) {
      const f = frames[frames.length - 1];
      if (f.trace !== null) this.trace = f.trace;
      let pushed = false;
      if (!failure) {
        try {
          pushed = this.stepMulti(f, open);
        } catch (e) {
          if (!(e instanceof EvaluationError)) throw e;
          failure = e;
        }
      }
      if (pushed) continue;
      // f is finished (or failed).
      close();
      // Kept, and maybe included: at its exact length (an array grown by push holds room for 17).
      if (!failure && f.out.parts.length < 16) f.out.parts = f.out.parts.slice();
      const depth = frames.length;
      // A frame a circular reference passes through fails with one from whatever chain it is reached (the chain
      // only changes where the cycle is first seen): its failure is kept too, or each element of a cycle of
      // n elements would walk the whole cycle again (n^2 for a dump).
      const cyclic = failure !== null && failure.code === "metro/circular-reference";
      if ((f.low >= depth || cyclic) && this.memoVersion === this.store.version) {
        this.multiMemo.set(f.key, failure ? { error: failure } : { lines: f.out });
        if (f.trace !== null) this.multiTraces.set(f.key, f.trace);
      }
      if (frames.length === 0) {
        if (failure) throw failure;
        return f.out;
      }
      const parent = frames[frames.length - 1];
      if (f.low < parent.low) parent.low = f.low;
      if (!failure) {
        try {
          this.include(parent, f.out);
        } catch (e) {
          if (!(e instanceof EvaluationError)) throw e;
          failure = e;
        }
      }
    }
    throw new Error("unreachable");
  }

  /** Adds an included result to a frame's result (shared, not copied). */
  private include(f: MultiFrame, r: MultiResult): void {
    if (r.parts.length === 0) return;
    if (f.out.size + r.size > MAX_VALUE_SIZE) throw tooLarge(f.name, { element: f.name });
    f.out.size += r.size;
    f.out.parts.push(r.parts.length === 1 ? r.parts[0] : r);
  }

  /** Adds a line to a frame's result. */
  private addLine(f: MultiFrame, line: string, at: number): void {
    if (f.out.size + line.length + 1 > MAX_VALUE_SIZE) throw tooLarge(f.name, { element: f.name, line: at });
    f.out.size += line.length + 1;
    f.out.parts.push(line);
  }

  /** Resolves a multi-line reference: its lines when known at once, or a frame to expand. */
  private openMulti(written: string, stack: string[], index: Map<string, number>, inheritedLax: boolean): { kind: "done"; lines: MultiResult } | { kind: "frame"; frame: MultiFrame } {
    let name = written;
    let lax = inheritedLax;
    const split = name.split(":");
    const holder = stack[stack.length - 1] ?? null;
    if (split.length === 2) {
      if (split[1] !== "lax") throw new EvaluationError("metro/unknown-modifier", `${quote(`$[[${written}]]`, '"')}: only :lax is allowed in a multi-line reference`, false, { element: holder });
      lax = true;
      name = split[0];
    }
    if (this.trace !== null) {
      this.trace.names.push(name);
      if (holder !== null) this.trace.names.push(holder);
    }
    const seen = index.get(name);
    if (seen !== undefined) {
      const cycle = [...stack.slice(seen), name];
      throw Object.assign(new EvaluationError("metro/circular-reference", `circular multi-line reference: ${excerptList(cycle, " -> ")}`, false, { element: holder, reference: written }, undefined, cycle), { chainIndex: seen });
    }
    let value: RawValue;
    const raw = this.store.raw.get(name);
    if (raw) {
      if (!Array.isArray(raw.value)) throw new EvaluationError("metro/not-multi-line", `${quote(`$[[${name}]]`, '"')} names a single-line element`, false, { element: holder, reference: written });
      value = raw.value;
    } else {
      const def = this.conditionalValue(name);
      if (!def) {
        if (lax || (holder !== null && this.store.laxVars.get(holder) === true)) return { kind: "done", lines: { parts: [], size: 0 } };
        throw new EvaluationError("metro/undefined-multi-line", `multi-line element ${quote(name, '"')} is not defined`, false, { element: holder, reference: written }, name);
      }
      if (!Array.isArray(def.value)) throw new EvaluationError("metro/not-multi-line", `${quote(`$[[${name}]]`, '"')} names a conditional single-line element`, false, { element: holder, reference: written });
      value = def.value;
    }
    const literal = literalMulti(value, this.keep);
    if (literal) return { kind: "done", lines: literal };
    const key = (lax ? "1" : "0") + name;
    const hit = this.multiMemo.get(key);
    if (hit) {
      if (this.trace !== null) this.usedKept(this.multiTraces, key);
      if ("error" in hit) throw hit.error;
      return { kind: "done", lines: hit.lines };
    }
    return { kind: "frame", frame: { name, lines: value, lax, key, pos: 0, out: { parts: [], size: 0 }, low: Infinity, pythonBlocks: null, pythonIndex: 0, trace: this.childTrace(name) } };
  }

  /** Advances a multi-line frame; returns true after opening a child frame. */
  private stepMulti(f: MultiFrame, open: (written: string, lax: boolean) => MultiResult | null): boolean {
    const lines = f.lines;
    const kinds = lineKinds(lines, this.keep);
    while (f.pos < lines.length) {
      const pos = f.pos++;
      const kind = kinds[pos];
      if (typeof kind === "string") {
        const ref = kind;
        const target = this.expandText(ref, false, { element: f.name, line: pos, reference: ref });
        if (target === null) throw new EvaluationError("metro/zap-in-multi-reference", `the name in ${quote(`$[[${ref}]]`, '"')} became nothing (:zap)`, false, { element: f.name, line: pos, reference: ref });
        // The element the line includes (its name may be built from other references).
        this.hooks.onReference?.(f.name, target.split(":")[0]);
        let done: MultiResult | null;
        try {
          done = open(target, f.lax);
        } catch (e) {
          const at = (e as { chainIndex?: number }).chainIndex;
          if (at !== undefined && at < f.low) f.low = at;
          throw e;
        }
        if (done === null) return true;
        this.include(f, done);
        continue;
      }
      if (kind === LineKind.Python) {
        const code: string[] = [];
        let end = pos + 1;
        while (end < lines.length && !isPythonEnd(lines[end])) code.push(lines[end++]);
        f.pos = end + 1;
        if (!this.python) {
          // Not allowed to execute: show the block as written.
          for (let i = pos; i < Math.min(end + 1, lines.length); i++) this.addLine(f, lines[i], i);
          continue;
        }
        f.pythonBlocks ??= this.pythonBlocksOf(lines);
        const outcome = this.python.run(f.pythonBlocks);
        if (f.pythonIndex >= outcome.outputs.length) {
          throw new EvaluationError("metro/python-error", `python block failed: ${excerpt(outcome.error ?? "no output", 1000)}`, false, { element: f.name, line: pos });
        }
        this.addLine(f, outcome.outputs[f.pythonIndex++], pos);
        continue;
      }
      const prepared = kind as Prepared;
      if (prepared.literal !== null && this.keep) {
        // Literal lines from here on: one shared part (unless they would make the value too large: then line by line, for the error's line).
        const run = literalRunAt(lines, kinds, pos);
        if (run !== null && f.out.size + run.size <= MAX_VALUE_SIZE) {
          f.out.size += run.size;
          f.out.parts.push(run);
          f.pos = pos + run.lines.length;
          continue;
        }
      }
      let expanded = prepared.literal !== null ? prepared.literal : this.quick(null, prepared, f.lax, f.name);
      if (expanded === undefined) expanded = this.runFrames(null, prepared, f.lax, null, 0, { element: f.name, line: pos });
      if (expanded !== null) this.addLine(f, expanded, pos);
    }
    return false;
  }

  /** The code of every python block of a multi-line value, in order. */
  pythonBlocksOf(lines: string[]): string[] {
    const blocks: string[] = [];
    for (let pos = 0; pos < lines.length; pos++) {
      if (blockLineKind(lines[pos]).kind !== "python-start") continue;
      let code = "";
      pos++;
      while (pos < lines.length && !isPythonEnd(lines[pos])) code += lines[pos++] + "\n";
      blocks.push(code);
    }
    return blocks;
  }
}
