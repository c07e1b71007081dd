// A context: an entry file plus command-line values, set up the way metro
// sets up its settings (spec sections 4 and 5): read the entry file, define
// path/config and the command-line values, run the collect queue, replace a
// MAKEOPTS of `auto`.

import { cpus } from "node:os";
import { dirname, resolve } from "node:path";
import { excerptList, quote, quotePath, type CollectAnnotation, type MultiLineElement, type Range, type Severity, type SingleLineElement } from "../language";
import { EvaluationError } from "./errors";
import { Expander, type MetroValue } from "./expand";
import { PythonRunner } from "./python";
import { Store, type Definition } from "./store";
import { FileCollect, type FileDefinition } from "./file-model";
import { Workspace } from "./workspace";
import { FileProblem, problemCode } from "./files";
import { pyNormpath } from "./paths";
import { CollectQueue, type Queued } from "./collect-queue";
import { Trace } from "./trace";

export type { MetroValue } from "./expand";
export { EvaluationError } from "./errors";

export interface ContextSpec {
  config: string;
  args: Record<string, string>;
}

export interface DefinitionSite {
  file: string;
  statement: SingleLineElement | MultiLineElement;
  condition: string | null;
}

export interface EngineDiagnostic {
  file: string;
  range: Range;
  severity: Severity;
  code: string;
  message: string;
  related?: { file: string; range: Range; message: string }[];
  /** For an undefined element: the name that is undefined. */
  missing?: string;
  /** For a failure of a run that metro never reaches: the key of the run's first failure, where metro stops before. */
  stopsBefore?: string;
}

export interface Fatal {
  message: string;
  code: string;
  file?: string;
  range?: Range;
  related?: { file: string; range: Range; message: string }[];
  /** For a `<<` file that is not there: its absolute path. */
  path?: string;
}

/** A collect annotation still queued when the queue stopped: the reference silently drops it. */
export interface UncollectedEntry {
  file: string;
  statement: CollectAnnotation;
  reason: string;
  /** The name that stayed undefined, when that is why. */
  missing?: string;
}

/** What became of one queued `[collect]`, in the order the queue settled them (the build graph draws these). */
export interface CollectRecord {
  /** The file holding the annotation. */
  file: string;
  statement: CollectAnnotation;
  /** The condition in force for it (its own, or the surrounding `[when]`), or null. */
  condition: string | null;
  /**
   * collected: read; skipped: an unconditional path that became nothing or
   * empty; dropped: still queued when the queue stopped; failed: reading it
   * stopped the context (missing file, duplicate, fatal line).
   */
  outcome: "collected" | "skipped" | "dropped" | "failed";
  /** The file read (normalised), for a collected or failed entry. */
  target: string | null;
  /** Why it was dropped or failed. */
  reason?: string;
}

export interface EvaluateOptions {
  /** Run `<?python` blocks (CLI and builds). The language server never sets it. */
  allowExec?: boolean;
  /** Parsed files shared between contexts. */
  workspace?: Workspace;
  /** Shared python runner (one interpreter for many contexts). */
  python?: PythonRunner;
  /** Record which element references which as values are expanded (the dependency graph; `referrers`). */
  trackReferences?: boolean;
  /** Replace `portage/MAKEOPTS: auto` with -jN as metro does (default true). */
  makeopts?: boolean;
  /**
   * Stop with a fatal `metro/too-many-elements` when the files define more
   * element names than this (the language server bounds what one context of
   * a hostile tree can cost). Unlimited when absent.
   */
  maxElements?: number;
}

/** A key's expansion, or why it cannot be expanded. */
export type ValueOrError = { value: MetroValue; error?: undefined } | { error: EvaluationError; value?: undefined };

export interface EvaluatedContext {
  readonly spec: ContextSpec;
  /** Set when setup stopped the way metro stops (a bad file, a duplicate definition, ...). */
  readonly fatal: Fatal | null;
  /** Files completely read, in order (absolute, normalised). */
  readonly collected: string[];
  /** Every file this evaluation read (collected files and `<<` files). */
  readonly filesRead: Set<string>;
  readonly uncollected: UncollectedEntry[];
  /** Every queued collect and what became of it (collected, skipped or dropped), in the order they settled. */
  readonly collects: CollectRecord[];
  /** Warnings met while evaluating (a `<<` file without a final newline, ...). */
  readonly notes: EngineDiagnostic[];
  has(key: string): boolean;
  /** Expands a key; throws EvaluationError. */
  get(key: string): MetroValue;
  /** Expands a key; an evaluation error is returned as a value. */
  tryGet(key: string): ValueOrError;
  /** JSON.stringify(get(key)), cheaper: the JSON of lines every context shares is made once. Throws EvaluationError. */
  getJson(key: string): string;
  /** Why a key cannot be expanded, or null when it can (cheaper than tryGet: the value is not built). */
  failure(key: string): EvaluationError | null;
  /**
   * Expands a piece of text as metro would: as a value of `element` (its
   * section resolves `$[:x]` and `$[]`), or with no element as a collect path
   * is. The value null means a `:zap` made it nothing.
   */
  expandText(text: string, element: string | null): { value: string | null; error?: undefined } | { error: EvaluationError; value?: undefined };
  /** Every key, as metro lists them; throws EvaluationError when a condition cannot be evaluated. */
  keys(): string[];
  definitions(key: string): DefinitionSite[];
  /** Definitions read for a name, including conditional ones and replaced ones. */
  allDefinitions(key: string): Definition[];
  sectionOf(key: string): string | null;
  /** The element names whose values reference `key` (filled as values are expanded, with `trackReferences`). */
  referrers(key: string): string[];
  /** The element names `key`'s value referenced when it was expanded (with `trackReferences`); "" for the setup's collect paths. */
  references(key: string): string[];
  /** The expander (for advanced callers: the checker). */
  readonly expander: Expander;
  readonly store: Store;
}

class Fail extends Error {
  constructor(readonly fatal: Fatal) {
    super(fatal.message);
  }
}

class QueueEntry implements Queued {
  next: Queued | null = null;
  prev: Queued | null = null;
  retry = true;
  trace: Trace | null = null;
  /** Set when an attempt failed untraced: its next attempts are traced (a failed traced one then waits on its names). */
  failedOnce = false;
  lastFailure: EvaluationError | undefined = undefined;
  constructor(
    readonly path: string,
    readonly origin: string,
    /** The collect of the file (its statement found again only for a location). */
    readonly collect: FileCollect,
    /** Files whose collects led to this entry, for loop detection. */
    readonly provenance: Provenance,
  ) {}
}

/**
 * The chain of files whose collects led to a file, innermost first: shared
 * by every entry the file queues (a chain of N files costs N links, not N²).
 */
interface Provenance {
  readonly path: string;
  readonly parent: Provenance | null;
}

/** The files of a chain, outermost first. */
function chainFiles(p: Provenance | null): string[] {
  const out: string[] = [];
  for (let n = p; n; n = n.parent) out.push(n.path);
  return out.reverse();
}

class Context implements EvaluatedContext {
  readonly store = new Store();
  readonly expander: Expander;
  fatal: Fatal | null = null;
  readonly collected: string[] = [];
  readonly filesRead = new Set<string>();
  readonly uncollected: UncollectedEntry[] = [];
  readonly collects: CollectRecord[] = [];
  readonly notes: EngineDiagnostic[] = [];
  private readonly workspace: Workspace;
  private readonly queue = new CollectQueue<QueueEntry>();
  /** Whether the queue runs (definitions and conditions then tell it which entries to try again). */
  private collecting = false;
  private readonly collectorCond = new Map<string, string>();
  /** Every file read by a collect (or as the entry): only those can close a loop. */
  private readonly entered = new Set<string>();
  private lax = false;
  /** Referrers of each name, built from `edges` when asked (`referrers`). */
  private readonly usedBy = new Map<string, Set<string>>();
  /** Each new reference (from, to), in the order met; `usedBy` holds the first `edgesIndexed` of them. */
  private readonly edges: string[] = [];
  private edgesIndexed = 0;
  private readonly uses = new Map<string, Set<string>>();
  private readonly maxElements: number;

  constructor(
    readonly spec: ContextSpec,
    options: EvaluateOptions,
  ) {
    this.workspace = options.workspace ?? new Workspace();
    this.maxElements = options.maxElements ?? Infinity;
    const python = options.allowExec ? (options.python ?? new PythonRunner()) : null;
    this.workspace.contextsServed++;
    this.expander = new Expander(this.store, this.workspace, python, {
      onReference: options.trackReferences
        ? (from, to) => {
            // Text that belongs to no element (a collect path) is read by the setup: recorded under "".
            if (from === null) {
              let d = this.uses.get("");
              if (!d) this.uses.set("", (d = new Set()));
              d.add(to);
              return;
            }
            let d = this.uses.get(from);
            if (!d) this.uses.set(from, (d = new Set()));
            const size = d.size;
            d.add(to);
            if (d.size !== size) this.edges.push(from, to);
          }
        : undefined,
      onFileRead: (path) => this.filesRead.add(path),
      onFileWithoutFinalNewline: (path) => {
        this.filesRead.add(path);
        this.notes.push({
          file: path,
          range: { start: { line: 0, character: 0, offset: 0 }, end: { line: 0, character: 0, offset: 0 } },
          severity: "warning",
          code: "metro/no-final-newline",
          message: "this file has no final newline: metro drops the last character of its last line when it reads it with <<",
        });
      },
    });
    try {
      this.setup(options.makeopts !== false);
    } catch (e) {
      if (e instanceof Fail) this.fatal = e.fatal;
      else if (e instanceof EvaluationError) this.fatal = { message: e.message, code: e.code };
      else throw e;
    }
  }

  private setup(makeopts: boolean): void {
    const entry = resolve(this.spec.config);
    this.collect(entry, null, null);
    this.store.setRaw({ name: "path/config", value: dirname(entry), file: null, statement: null, condition: null, origin: "setup" });
    for (const [k, v] of Object.entries(this.spec.args)) {
      this.store.setRaw({ name: k, value: v, file: null, statement: null, condition: null, origin: "command-line" });
    }
    this.runCollector();
    if (makeopts && this.store.raw.has("portage/MAKEOPTS")) {
      let value: MetroValue = null;
      try {
        value = this.expander.lookup("portage/MAKEOPTS");
      } catch {
        value = null;
      }
      if (value === "auto") {
        const prev = this.store.raw.get("portage/MAKEOPTS")!;
        const replaced: Definition = {
          name: prev.name,
          value: `-j${cpus().length + 1}`,
          file: prev.file,
          get statement() {
            return prev.statement;
          },
          condition: prev.condition,
          origin: "setup",
        };
        this.store.replaceRaw(replaced);
      }
    }
  }

  // -------------------------------------------------------------------------
  // Reading files

  private collect(path: string, entry: QueueEntry | null, provenance: Provenance | null): void {
    const kind = this.workspace.kind(path);
    const where = () => (entry ? { file: entry.origin, range: entry.collect.statement.path.range } : {});
    const refuse = (problem: FileProblem | undefined): Fail => {
      if (kind === "missing" || !problem || problem.kind === "missing") {
        return new Fail({ code: "metro/missing-collect", message: `file ${quotePath(path)} ${problem?.words ?? "does not exist"}`, ...where() });
      }
      return new Fail({ code: problemCode(problem.kind), message: `${quotePath(path)} ${problem.words}`, ...where() });
    };
    if (kind !== "file") throw refuse(this.workspace.problem(path));
    const file = this.workspace.getFile(path);
    if (!file) throw refuse(this.workspace.problem(path) ?? new FileProblem("other", "cannot be read"));
    const normalised = pyNormpath(path);
    this.filesRead.add(normalised);
    const model = file.model;
    const laxAtStart = this.lax;
    const chain: Provenance = { path: normalised, parent: provenance };
    this.entered.add(normalised);
    // metro stops reading at a fatal line; the context is lost either way, so nothing of the file is applied.
    if (model.fatal) throw new Fail({ code: model.fatal.code, message: model.fatal.message, file: normalised, range: model.fatal.range });
    this.store.startFile(file, laxAtStart);
    const items = model.items;
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      if (item instanceof FileCollect) {
        if (item.condition && this.collectorCond.get(item.path) !== item.condition) {
          this.collectorCond.set(item.path, item.condition);
          if (this.collecting) this.queue.conditionChanged(item.path);
        }
        this.queue.push(new QueueEntry(item.path, normalised, item, chain));
      } else this.define(item, normalised, laxAtStart);
    }
    if (model.laxAtEnd !== null) this.lax = model.laxAtEnd;
    this.collected.push(normalised);
  }

  private define(def: FileDefinition, file: string, laxAtStart: boolean): void {
    const name = def.name;
    const cond = def.condition;
    if (this.store.all.size >= this.maxElements && !this.store.all.has(name)) {
      throw this.stop(def, laxAtStart, { code: "metro/too-many-elements", message: `the files of this context define more than ${this.maxElements} elements, the limit here`, file, range: def.statement.name.range });
    }
    if (cond) {
      const existing = this.store.conditionals.get(name)?.get(cond);
      if (existing) throw this.stop(def, laxAtStart, duplicate(name, file, def, existing, `for the condition ${quote(cond, '"')}`));
      this.store.setConditional(def as Definition & { condition: string });
    } else {
      const existing = this.store.defineRaw(def);
      if (existing) throw this.stop(def, laxAtStart, duplicate(name, file, def, existing, ""));
    }
    if (this.collecting) this.queue.defined(name);
  }

  /**
   * The store works out a name's section and lax mark from its definitions;
   * metro sets them before it finds a duplicate or (here) too many names, so
   * they are set directly on the way to those errors.
   */
  private stop(def: FileDefinition, laxAtStart: boolean, fatal: Fatal): Fail {
    this.store.markName(def.name, def.recordedSection, def.lax ?? laxAtStart);
    return new Fail(fatal);
  }

  // -------------------------------------------------------------------------
  // The collect queue (spec 4)

  private runCollector(): void {
    this.lax = false;
    const queue = this.queue;
    // Attempts after an entry's first failure are traced (collect-queue.ts): results kept without a trace are
    // forgotten before each, and the traces kept with results go when the queue ends.
    this.collecting = true;
    this.expander.forgetKept();
    try {
      this.runQueue();
    } finally {
      this.collecting = false;
      this.expander.forgetKept();
    }
    for (const item of queue.entries()) {
      this.uncollected.push(new Uncollected(item.origin, item.collect, item.lastFailure?.message ?? "never processed", item.lastFailure?.missing));
      this.collects.push(collectRecord(item, this.collectorCond.get(item.path) ?? null, "dropped", null, item.lastFailure?.message ?? "never processed"));
    }
  }

  private runQueue(): void {
    const queue = this.queue;
    let failures = 0;
    while (queue.length !== 0 && failures < queue.length) {
      const item = queue.front!;
      if (!queue.mustTry(item)) {
        // Nothing it looked up has changed since it failed: it fails the same way.
        failures++;
        queue.rotate();
        continue;
      }
      const site = () => ({ file: item.origin, range: item.collect.statement.path.range });
      const cond = this.collectorCond.get(item.path);
      // An entry's first attempt is not traced (most entries are read at once, and tracing costs); one that
      // failed is traced from its next attempt on, with no result kept before it (a trace must see every look-up).
      let trace: Trace | null = null;
      let outcome: ReturnType<Context["attempt"]>;
      if (item.failedOnce) {
        trace = new Trace();
        this.expander.forgetKept();
        outcome = this.expander.traced(trace, () => this.attempt(item, cond));
      } else outcome = this.attempt(item, cond);
      if (outcome.failure !== undefined) {
        item.lastFailure = outcome.failure;
        failures++;
        if (trace !== null) queue.failed(item, trace);
        else item.failedOnce = true;
        queue.rotate();
        continue;
      }
      const target = outcome.target;
      if (cond !== undefined || (target !== null && target !== "")) {
        if (target === null) throw new Fail({ code: "metro/zap-in-conditional", message: `the path of the conditional ${quotePath(`[collect ${item.path}]`, "")} became nothing (:zap)`, ...site() });
        const path = target.startsWith("/") ? target : pyNormpath(dirname(item.origin) + "/" + target);
        const normalised = pyNormpath(path);
        // Only a file read before can be on the chain: the chain is walked only then.
        const files = this.entered.has(normalised) ? chainFiles(item.provenance) : null;
        if (files !== null && files.includes(normalised)) {
          const ring = files.slice(files.indexOf(normalised));
          const loop = excerptList([...ring, normalised], " -> ");
          // metro reads the files of the loop again, in turn: the first that defines something stops it (a name defined twice).
          let again: { file: string; name: string } | null = null;
          for (const f of ring) {
            const def = this.workspace.getFile(f)?.model.items.find((i): i is FileDefinition => !(i instanceof FileCollect));
            if (def) {
              again = { file: f, name: def.name };
              break;
            }
          }
          const metro = again ? `metro reads ${again.file} again and stops: ${quote(again.name, '"')} is defined twice` : "metro would never stop collecting";
          throw new Fail({ code: "metro/collect-loop", message: `collect loop: ${loop} (${metro})`, ...site() });
        }
        try {
          this.collect(path, item, item.provenance);
        } catch (e) {
          if (e instanceof Fail) this.collects.push(collectRecord(item, cond ?? null, "failed", normalised, e.fatal.message));
          throw e;
        }
        this.collects.push(collectRecord(item, cond ?? null, "collected", normalised));
      } else {
        this.collects.push(collectRecord(item, null, "skipped", null));
      }
      queue.shift();
      failures = 0;
    }
  }

  /**
   * One attempt at an entry: its condition, then its path. Returns the path
   * (null: nothing), or the failure that moves the entry to the back; any
   * other failure stops the context (a Fail).
   */
  private attempt(item: QueueEntry, cond: string | undefined): { target: string | null; failure?: undefined } | { failure: EvaluationError; target?: undefined } {
    const ex = this.expander;
    const site = () => ({ file: item.origin, range: item.collect.statement.path.range });
    try {
      if (cond !== undefined) {
        if (ex.conditionOnConditional(cond)) {
          throw new Fail({ code: "metro/condition-on-conditional", message: `the condition ${quote(cond, '"')} of ${quotePath(`[collect ${item.path}]`, "")} tests an element that only has conditional definitions`, ...site() });
        }
        if (!ex.conditionTrue(cond)) return { failure: new EvaluationError("metro/invalid-condition", `its condition ${quote(cond, '"')} is false`, true) };
      }
      try {
        return { target: ex.expandText(item.path, false, { element: null }) };
      } catch (e) {
        if (e instanceof EvaluationError && e.retryable) return { failure: e };
        throw e;
      }
    } catch (e) {
      if (e instanceof EvaluationError) throw new Fail({ code: e.code, message: `in ${quotePath(`[collect ${item.path}]`, "")}: ${e.message}`, ...site(), path: e.path });
      throw e;
    }
  }

  // -------------------------------------------------------------------------
  // Queries

  has(key: string): boolean {
    if (this.store.raw.has(key)) return true;
    if (!this.store.conditionals.has(key)) return false;
    return this.expander.conditionalValue(key) !== null;
  }

  get(key: string): MetroValue {
    return this.expander.lookup(key);
  }

  expandText(text: string, element: string | null): { value: string | null; error?: undefined } | { error: EvaluationError; value?: undefined } {
    try {
      return { value: element === null ? this.expander.expandText(text, false, { element: null }) : this.expander.expandAs(element, text) };
    } catch (e) {
      if (e instanceof EvaluationError) return { error: e };
      throw e;
    }
  }

  getJson(key: string): string {
    return this.expander.lookupJson(key);
  }

  failure(key: string): EvaluationError | null {
    return this.expander.lookupError(key);
  }

  tryGet(key: string): ValueOrError {
    try {
      return { value: this.expander.lookup(key) };
    } catch (e) {
      if (e instanceof EvaluationError) return { error: e };
      throw e;
    }
  }

  keys(): string[] {
    const out = [...this.store.raw.keys()];
    for (const name of this.store.conditionals.keys()) {
      // metro tests the conditions of every conditional name, also of one defined unconditionally
      // (its errors make the listing fail); such a name is listed once.
      const chosen = this.expander.conditionalValue(name);
      if (chosen !== null && !this.store.raw.has(name)) out.push(name);
    }
    return out;
  }

  definitions(key: string): DefinitionSite[] {
    return (this.store.all.get(key) ?? [])
      .filter((d) => d.file !== null && d.statement !== null)
      .map((d) => ({ file: d.file!, statement: d.statement!, condition: d.condition }));
  }

  allDefinitions(key: string): Definition[] {
    return this.store.all.get(key) ?? [];
  }

  sectionOf(key: string): string | null {
    return this.store.sectionFor.get(key) ?? null;
  }

  referrers(key: string): string[] {
    for (; this.edgesIndexed < this.edges.length; this.edgesIndexed += 2) {
      const from = this.edges[this.edgesIndexed];
      const to = this.edges[this.edgesIndexed + 1];
      let s = this.usedBy.get(to);
      if (!s) this.usedBy.set(to, (s = new Set()));
      s.add(from);
    }
    return [...(this.usedBy.get(key) ?? [])];
  }

  references(key: string): string[] {
    return [...(this.uses.get(key) ?? [])];
  }
}

/** What became of a queued collect; its statement is found again only when asked for (a getter on the class: no closure per record). */
class Collected implements CollectRecord {
  reason?: string;
  constructor(
    readonly file: string,
    private readonly collect: FileCollect,
    readonly condition: string | null,
    readonly outcome: CollectRecord["outcome"],
    readonly target: string | null,
    reason: string | undefined,
  ) {
    if (reason !== undefined) this.reason = reason;
  }
  get statement(): CollectAnnotation {
    return this.collect.statement;
  }
}

function collectRecord(item: QueueEntry, condition: string | null, outcome: CollectRecord["outcome"], target: string | null, reason?: string): CollectRecord {
  return new Collected(item.origin, item.collect, condition, outcome, target, reason);
}

/** A collect still queued when the queue stopped. */
class Uncollected implements UncollectedEntry {
  constructor(
    readonly file: string,
    private readonly collect: FileCollect,
    readonly reason: string,
    readonly missing: string | undefined,
  ) {}
  get statement(): CollectAnnotation {
    return this.collect.statement;
  }
}

function duplicate(name: string, file: string, def: FileDefinition, existing: Definition, what: string): Fatal {
  const first =
    existing.file && existing.statement
      ? [{ file: existing.file, range: existing.statement.name.range, message: `first definition of ${quote(name, '"')}` }]
      : [];
  const where = existing.origin === "command-line" ? " on the command line" : existing.file ? ` in ${existing.file}` : "";
  return {
    code: "metro/duplicate-definition",
    message: `${quote(name, '"')} is already defined${what ? " " + what : ""}${where}: an element may be defined only once`,
    file,
    range: def.statement.name.range,
    related: first,
  };
}

export function evaluateContext(spec: ContextSpec, options: EvaluateOptions = {}): EvaluatedContext {
  return new Context(spec, options);
}
