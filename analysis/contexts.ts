// Build contexts of one tree: where they come from (the `metro.contexts`
// setting, `metro-contexts.json` at the tree root, or derived from the tree),
// their evaluation through the engine, the active one, and re-evaluation of
// only the contexts that read an edited file. The engine is always called
// with allowExec false: nothing from the workspace is ever executed.

import { existsSync, lstatSync, readdirSync, realpathSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { checkContext, errorDiagnostic } from "../engine/check";
import { excerpt, type Range } from "../language";
import type { EngineDiagnostic, EvaluatedContext, MetroValue } from "../engine/evaluate";
import { Workspace, type FileKind, type WorkspaceFile } from "../engine/workspace";
import { readRegularText } from "../engine/files";
import type { EntryBudget, WorkspaceIndex } from "./workspace-index";
import { Emitter } from "./events";
import { CONTEXTS_FILE, contextLabel, parseContextEntries, readContextsFile, type ContextConfig } from "./contexts-file";

export { CONTEXTS_FILE, type ContextConfig } from "./contexts-file";

/**
 * Evaluations run in slices of this many milliseconds. Between slices the
 * event loop answers requests and flushes outgoing messages (each message
 * written to stdout needs a turn of the loop), so slices stay short.
 */
const STEP_BUDGET_MS = 4;

/**
 * After a change, only the active context is re-evaluated until no change
 * came for this long: while the user types, every keystroke is answered at
 * once instead of waiting behind the other contexts' re-evaluation.
 */
const PAUSE_AFTER_CHANGE_MS = 80;

export type ContextSource = "setting" | "file" | "derived";

/**
 * The engine's workspace, recording every path an evaluation asks for, so
 * that an edit of any file a context read (collected files and `<<` files
 * alike) re-evaluates exactly that context.
 */
export class RecordingWorkspace extends Workspace {
  recorder: Set<string> | null = null;

  override getFile(path: string): WorkspaceFile | undefined {
    this.recorder?.add(path);
    return super.getFile(path);
  }

  override readText(path: string): string | undefined {
    this.recorder?.add(path);
    return super.readText(path);
  }

  // A collect of a missing file asks only what is there: the context reads it again when the file appears.
  override kind(path: string): FileKind {
    this.recorder?.add(path);
    return super.kind(path);
  }
}

export interface ContextState extends ContextConfig {
  evaluated: EvaluatedContext | null;
  /** Every path the evaluation read or tried to read. */
  reads: Set<string>;
  diagnostics: EngineDiagnostic[];
  /** Every element the run of this context reads or reaches (null unless it is evaluated and its run goes through). */
  used: Set<string> | null;
  /** Bumped each time the context is evaluated again. */
  generation: number;
  /** Set while an edit made the evaluation out of date. */
  stale: boolean;
  /** While stale: per edited file, the offset up to which the text this evaluation read is unchanged. */
  unchangedUpTo: Map<string, number>;
}

/** What a tree offers for building contexts: the quick picks of "add context". */
export interface ContextCandidates {
  configs: string[];
  targets: string[];
  builds: string[];
  arches: { arch: string; subarches: string[] }[];
  /** From the mirror's layout, when the mirror exists: build -> arch -> subarches. */
  mirror: Record<string, Record<string, string[]>>;
}

export type ContextEvents = {
  /** A round of evaluations finished; the diagnostics of these files may have changed. */
  evaluated: [files: Set<string>];
  /** The active context is fresh after an edit while others still wait: the edited files can be shown. */
  progress: [files: Set<string>];
};

export class ContextManager extends Emitter<ContextEvents> {
  contexts: ContextState[] = [];
  source: ContextSource = "derived";
  private activeName: string | null = null;
  private queue = new Set<ContextState>();
  private running = false;
  private waiters: (() => void)[] = [];

  constructor(
    readonly root: string,
    private readonly workspace: RecordingWorkspace,
    private readonly index: WorkspaceIndex,
    /** Element names the evaluated contexts may hold together, shared by the trees of a project; unlimited when absent. */
    private readonly elementBudget?: EntryBudget,
  ) {
    super();
  }

  private editedFiles = new Set<string>();
  /** Background re-evaluation waits until then (a change just came). */
  private pausedUntil = 0;
  /** Whether the active context was re-evaluated since the last change. */
  private activeDone = false;
  /** Restarts a pump that waits for the end of a pause. */
  private wake: (() => void) | null = null;

  /**
   * Set by the editor layer: true while edits are still coming in, and then
   * `resume` is called once they stop. Evaluation waits meanwhile: an
   * evaluation of a text that the next edit replaces is wasted.
   */
  editing: ((resume: () => void) => boolean) | null = null;

  /** Evaluations run so far (the server reports it: a test sees that a burst of edits cost one). */
  evaluations = 0;

  /** `metro-contexts.json` at the tree root. */
  get contextsFile(): string {
    return join(this.root, CONTEXTS_FILE);
  }

  /** Why the tree's metro-contexts.json was not used, when it is there but unusable. */
  contextsFileProblems: string[] = [];
  /** What is wrong with the `metro.contexts` setting (entries left out, or the setting as a whole); the server says it. */
  settingProblems: string[] = [];
  /** Contexts listed (setting or file) beyond MAX_CONTEXTS, which are not used. */
  contextsLeftOut = 0;
  /** Where metro-contexts.json stops being JSON (1-based), when that is why it is not used. */
  contextsFileAt: { line: number; column: number } | undefined = undefined;


  /** The context the user chose last for this tree (remembered by the client), used when it is among the contexts. */
  preferredName: string | null = null;

  /** The chosen context; else the remembered one; else the first listed (setting, file) or the main stage build (derived). */
  get active(): ContextState | null {
    return (
      this.contexts.find((c) => c.name === this.activeName) ??
      this.contexts.find((c) => c.name === this.preferredName) ??
      (this.source === "derived" ? defaultContext(this.contexts) : this.contexts[0]) ??
      null
    );
  }

  setActive(name: string): boolean {
    if (!this.contexts.some((c) => c.name === name)) return false;
    this.activeName = name;
    return true;
  }

  /** Chooses the contexts: the setting wins, then metro-contexts.json, then derived ones. */
  configure(settingEntries: unknown): void {
    let configs: ContextConfig[] = [];
    const setting = settingEntries === undefined || settingEntries === null ? { contexts: [], problems: [] } : parseContextEntries(settingEntries, this.root);
    const fromSetting = setting.contexts.filter((c) => existsSync(c.config));
    this.settingProblems = [...setting.problems];
    this.contextsFileProblems = [];
    this.contextsFileAt = undefined;
    if (fromSetting.length) {
      configs = fromSetting;
      this.source = "setting";
    } else {
      const read = readContextsFile(this.contextsFile);
      const fromFile = read.contexts;
      // A contexts file that is there but unusable says why (a missing one is no problem).
      this.contextsFileProblems = existsSync(this.contextsFile) || read.problems.some((p) => !p.startsWith("does not exist")) ? read.problems : [];
      this.contextsFileAt = read.at;
      if (fromFile.length) {
        configs = fromFile;
        this.source = "file";
      } else {
        configs = deriveContexts(this.root, this.index);
        this.source = "derived";
      }
    }
    // Every context is evaluated in the background: a list of thousands would keep the server busy for minutes.
    this.contextsLeftOut = Math.max(0, configs.length - MAX_CONTEXTS);
    if (this.contextsLeftOut) {
      configs = configs.slice(0, MAX_CONTEXTS);
      if (this.source === "setting") this.settingProblems.push(`${this.contextsLeftOut} contexts past the first ${MAX_CONTEXTS} are not used`);
    }
    const same =
      configs.length === this.contexts.length &&
      configs.every((c, i) => c.name === this.contexts[i].name && c.config === this.contexts[i].config && JSON.stringify(c.args) === JSON.stringify(this.contexts[i].args));
    if (same) return;
    const files = this.affectedFiles();
    for (const c of this.contexts) this.release(c);
    this.contexts = configs.map((c) => ({ ...c, evaluated: null, reads: new Set<string>(), diagnostics: [], used: null, generation: 0, stale: true, unchangedUpTo: new Map<string, number>() }));
    if (this.activeName && !this.contexts.some((c) => c.name === this.activeName)) this.activeName = null;
    for (const c of this.contexts) this.queue.add(c);
    this.pump(files);
  }

  /**
   * Re-evaluates the contexts that read (or tried to read) `path`, and fatal
   * ones when a Metro file changed (they may have stopped before reading it).
   */
  fileChanged(path: string, metroFile = true, unchangedPrefix = 0): void {
    for (const c of this.contexts) {
      if (!c.evaluated || (c.evaluated.fatal && metroFile) || c.reads.has(path) || c.config === path) {
        c.unchangedUpTo.set(path, Math.min(c.unchangedUpTo.get(path) ?? Infinity, c.evaluated ? unchangedPrefix : 0));
        c.stale = true;
        this.queue.add(c);
      }
    }
    this.editedFiles.add(path);
    this.pausedUntil = performance.now() + PAUSE_AFTER_CHANGE_MS;
    const active = this.active;
    // The active context does not read the edited file: nothing it says changes, so the file can be shown at once.
    this.activeDone = !active || !this.queue.has(active);
    if (this.activeDone && this.queue.size) {
      const edited = new Set(this.editedFiles);
      setImmediate(() => this.emit("progress", edited));
    }
    this.pump(new Set([path]));
  }

  /** The tree is closed: nothing more is evaluated, and what its contexts held goes back to the budget. */
  dispose(): void {
    this.queue.clear();
    for (const c of this.contexts) this.release(c);
    this.contexts = [];
  }

  /** Element names each evaluated context holds against the budget. */
  private readonly held = new Map<ContextState, number>();

  private release(c: ContextState): void {
    const n = this.held.get(c);
    if (n === undefined) return;
    this.elementBudget!.held -= n;
    this.held.delete(c);
  }

  /** Stops evaluating (the server shuts down): nothing queued runs, nothing more is reported. */
  stop(): void {
    this.queue.clear();
    this.stopped = true;
    this.wake = null;
    const w = this.waiters;
    this.waiters = [];
    for (const r of w) r();
  }

  private stopped = false;

  /** Resolves when no evaluation is queued or running. */
  settled(): Promise<void> {
    if (!this.running && this.queue.size === 0) return Promise.resolve();
    return new Promise((r) => this.waiters.push(r));
  }

  get busy(): boolean {
    return this.running || this.queue.size > 0;
  }

  /** Whether the active context (if any) is evaluated for the current texts. */
  get activeFresh(): boolean {
    const a = this.active;
    return !a || !a.stale;
  }

  private affectedFiles(): Set<string> {
    const out = new Set<string>();
    for (const c of this.contexts) {
      for (const d of c.diagnostics) out.add(d.file);
      for (const f of c.reads) out.add(f);
    }
    return out;
  }

  /**
   * Evaluates queued contexts, the active one first, yielding to the event
   * loop between contexts so requests are answered meanwhile.
   */
  private pump(changed: Set<string>): void {
    for (const f of changed) this.pendingFiles.add(f);
    if (this.running) {
      // A change while the pump waits out a pause: the active context goes first, now.
      this.wake?.();
      return;
    }
    this.running = true;
    let turns = 0;
    const step = () => {
      this.wake = null;
      if (this.stopped) {
        this.running = false;
        return;
      }
      if (this.editing?.(() => setImmediate(step))) return;
      const started = performance.now();
      // The first slices are short so the edited file's fresh diagnostics get written out quickly.
      const budget = turns++ < 4 ? STEP_BUDGET_MS : 4 * STEP_BUDGET_MS;
      let active: ContextState | null = null;
      while (this.queue.size) {
        active = this.active;
        const activeQueued = active !== null && this.queue.has(active);
        // Paused after a change: only the active context is brought up to date.
        if (!activeQueued && performance.now() < this.pausedUntil) break;
        const next = activeQueued ? active! : this.queue.values().next().value!;
        this.queue.delete(next);
        this.evaluate(next);
        // After an edit, publish the edited file as soon as the active context is fresh.
        if (next === active && this.editedFiles.size && !this.activeDone) {
          this.activeDone = true;
          if (this.queue.size) this.emit("progress", this.editedFiles);
          break;
        }
        if (performance.now() - started > budget) break;
      }
      if (this.queue.size) {
        const wait = this.pausedUntil - performance.now();
        active = this.active;
        if (wait > 0 && !(active && this.queue.has(active))) {
          const timer = setTimeout(step, wait);
          this.wake = () => {
            clearTimeout(timer);
            this.wake = null;
            setImmediate(step);
          };
        } else setImmediate(step);
        return;
      }
      this.running = false;
      this.editedFiles = new Set();
      const files = this.pendingFiles;
      this.pendingFiles = new Set();
      this.emit("evaluated", files);
      const w = this.waiters;
      this.waiters = [];
      for (const r of w) r();
    };
    setImmediate(step);
  }

  private pendingFiles = new Set<string>();

  private evaluate(c: ContextState): void {
    this.evaluations++;
    for (const d of c.diagnostics) this.pendingFiles.add(d.file);
    for (const f of c.reads) this.pendingFiles.add(f);
    const reads = new Set<string>();
    this.workspace.recorder = reads;
    try {
      this.release(c);
      const budget = this.elementBudget;
      const r = checkContext({ config: c.config, args: { ...c.args } }, { workspace: this.workspace, allowExec: false, maxElements: budget?.max });
      const size = r.context.store.all.size;
      if (budget && budget.held + size > budget.max) {
        // Kept, it would take what the other contexts need: say so on the entry file instead.
        c.evaluated = null;
        c.used = null;
        const at = { line: 0, character: 0, offset: 0 };
        c.diagnostics = [{ file: c.config, range: { start: at, end: at }, severity: "warning", code: "metro/too-many-elements", message: `the context ${excerpt(c.name)} is not evaluated: with the contexts already evaluated it would hold more than ${budget.max} elements` }];
      } else {
        c.evaluated = r.context;
        c.diagnostics = r.diagnostics;
        // Known only for a run that goes through (one that stops early reads less than a build does).
        c.used = r.uses && r.uses.failures.length === 0 ? new Set([...r.uses.used.values()].flatMap((u) => [...u])) : null;
        if (budget) {
          budget.held += size;
          this.held.set(c, size);
        }
      }
    } catch (e) {
      c.evaluated = null;
      c.diagnostics = [];
      c.used = null;
      process.stderr.write(`metro-language-server: evaluating ${c.name} failed: ${(e as Error).stack ?? e}\n`);
    } finally {
      this.workspace.recorder = null;
    }
    if (c.evaluated) for (const f of c.evaluated.filesRead) reads.add(f);
    c.reads = reads;
    c.generation++;
    c.stale = false;
    c.unchangedUpTo.clear();
    for (const d of c.diagnostics) this.pendingFiles.add(d.file);
    if (c.evaluated?.fatal?.file) this.pendingFiles.add(c.evaluated.fatal.file);
    // Hints and `:zap` findings of every file the context read may change with its values.
    for (const f of c.reads) this.pendingFiles.add(f);
  }

  /** The contexts that read `file`. */
  contextsReading(file: string): ContextState[] {
    return this.contexts.filter((c) => c.evaluated && (c.reads.has(file) || c.config === file));
  }
}

// ---------------------------------------------------------------------------
// Deriving contexts from the tree when nobody configured any

function isLinkToSibling(dir: string, name: string): boolean {
  try {
    if (!lstatSync(join(dir, name)).isSymbolicLink()) return false;
    const target = realpathSync(join(dir, name));
    return dirname(target) === realpathSync(dir);
  } catch {
    return false;
  }
}

function subdirs(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((n) => !n.startsWith(".") && statSync(join(dir, n)).isDirectory())
      .sort();
  } catch {
    return [];
  }
}

/** A single-line value written literally (no references) in the tree, for names such as metro/target; `prefer` first. */
function literalValue(index: WorkspaceIndex, name: string, prefer?: string): string | null {
  const defs = [...index.definitions(name)].sort((a, b) => Number(b.file === prefer) - Number(a.file === prefer));
  for (const d of defs) {
    if (d.statement.kind === "single" && d.condition === null && !d.statement.value.text.includes("$[")) return d.statement.value.text.trim();
  }
  return null;
}

/** The most contexts a tree evaluates (the first ones of the setting or metro-contexts.json). */
export const MAX_CONTEXTS = 1024;

export function contextCandidates(root: string, index: WorkspaceIndex): ContextCandidates {
  const configs: string[] = [];
  if (existsSync(join(root, "metro.conf"))) configs.push(join(root, "metro.conf"));
  const home = join(homedir(), ".metro");
  if (existsSync(home)) configs.push(home);
  const install = installRoot(root);
  const metroTarget = literalValue(index, "metro/target") ?? subdirs(join(install, "targets"))[0] ?? "gentoo";
  let targets: string[] = [];
  try {
    targets = readdirSync(join(install, "targets", metroTarget))
      .filter((n) => n.endsWith(".spec"))
      .map((n) => n.slice(0, -5))
      .sort();
  } catch {
    /* no targets */
  }
  const buildsDir = join(install, "etc", "builds");
  // One build per real folder: a link to a sibling (funtoo-current -> 1.2-release-std) is that build again.
  const builds = subdirs(buildsDir).filter((b) => existsSync(join(buildsDir, b, "build.conf")) && !isLinkToSibling(buildsDir, b));
  const arches: { arch: string; subarches: string[] }[] = [];
  const mirror = literalValue(index, "path/mirror", configs[0]);
  const mirrorArches = new Map<string, Set<string>>();
  // No prototypes: folder names such as `__proto__` are names like any other.
  const layout: Record<string, Record<string, string[]>> = Object.create(null);
  if (mirror && existsSync(mirror)) {
    for (const b of subdirs(mirror)) for (const a of subdirs(join(mirror, b))) for (const s of subdirs(join(mirror, b, a))) {
      let set = mirrorArches.get(a);
      if (!set) mirrorArches.set(a, (set = new Set()));
      set.add(s);
      ((layout[b] ??= Object.create(null) as Record<string, string[]>)[a] ??= []).push(s);
    }
  }
  if (mirrorArches.size) for (const [arch, subs] of [...mirrorArches].sort()) arches.push({ arch, subarches: [...subs].sort() });
  else {
    try {
      for (const n of readdirSync(join(install, "etc", "builds", "packages")).sort()) {
        if (n.endsWith(".conf")) arches.push({ arch: n.slice(0, -5), subarches: ["generic"] });
      }
    } catch {
      /* none */
    }
  }
  return { configs, targets, builds, arches, mirror: layout };
}

/** The folder holding `etc/master.conf` for this tree (the tree itself, or where its metro.conf's path/install points). */
function installRoot(root: string): string {
  if (existsSync(join(root, "etc", "master.conf"))) return root;
  try {
    const m = /^\s*install:\s*(\S+)/m.exec(readRegularText(join(root, "metro.conf")));
    if (m && existsSync(join(m[1], "etc", "master.conf"))) return m[1];
  } catch {
    /* no metro.conf */
  }
  return root;
}

function today(): string {
  const d = new Date();
  return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, "0")}-${String(d.getUTCDate()).padStart(2, "0")}`;
}

/** metro's arch_desc for the machine this runs on. */
export function hostArchDesc(): string {
  switch (process.arch) {
    case "arm64":
      return "arm-64bit";
    case "arm":
      return "arm-32bit";
    case "ia32":
      return "x86-32bit";
    case "riscv64":
      return "riscv-64bit";
    default:
      return "x86-64bit";
  }
}

/** Build names newest first: by their version number (1.4 before 1.3), then `std` builds, then by name. */
export function newestFirst(builds: string[]): string[] {
  const version = (b: string) => (/^(\d+(?:\.\d+)*)/.exec(b)?.[1].split(".").map(Number) ?? []);
  const cmp = (a: string, b: string) => {
    const va = version(a);
    const vb = version(b);
    for (let i = 0; i < Math.max(va.length, vb.length); i++) {
      const d = (vb[i] ?? -1) - (va[i] ?? -1);
      if (d) return d;
    }
    const sa = /(^|-)std($|-)/.test(a) ? 0 : 1;
    const sb = /(^|-)std($|-)/.test(b) ? 0 : 1;
    return sa - sb || (a < b ? -1 : a > b ? 1 : 0);
  };
  return [...builds].sort(cmp);
}

/** The main stage build among contexts: stage3 of the newest build for this host's arch (each condition dropped when none meets it). */
export function defaultContext<T extends ContextConfig>(contexts: T[]): T | undefined {
  let pool = contexts;
  const narrow = (keep: (c: T) => boolean) => {
    const kept = pool.filter(keep);
    if (kept.length) pool = kept;
  };
  narrow((c) => c.args.target === "stage3");
  narrow((c) => c.args["target/arch_desc"] === hostArchDesc());
  const newest = newestFirst([...new Set(pool.map((c) => c.args["target/build"] ?? ""))])[0];
  narrow((c) => (c.args["target/build"] ?? "") === newest);
  return pool[0];
}

/** A small representative set: every target once and every build once. */
export function deriveContexts(root: string, index: WorkspaceIndex): ContextConfig[] {
  const cand = contextCandidates(root, index);
  const config = cand.configs[0];
  if (!config || cand.targets.length === 0 || cand.builds.length === 0) return [];
  const base: Record<string, string> = {};
  // A metro checkout's own metro.conf points path/install elsewhere (/root/metro): point it here.
  if (config === join(root, "metro.conf") && existsSync(join(root, "etc", "master.conf"))) base["path/install"] = root;
  const target0 = cand.targets.includes("stage3") ? "stage3" : cand.targets[0];
  const arch0 = cand.arches.find((a) => a.arch === hostArchDesc()) ?? cand.arches.find((a) => a.arch === "x86-64bit") ?? cand.arches[0] ?? { arch: hostArchDesc(), subarches: ["generic"] };
  // The newest build (its stage3 is the main stage build, the default active context).
  const build0 = newestFirst(cand.builds)[0];
  const sub0 = arch0.subarches[0] ?? "generic";
  const make = (target: string, build: string): ContextConfig => {
    // Prefer an arch and subarch the mirror has for this build: its control files are then there.
    let arch = arch0.arch;
    let sub = sub0;
    const inMirror = cand.mirror[build];
    if (inMirror && !inMirror[arch]?.includes(sub)) {
      const a = inMirror[arch] ? arch : Object.keys(inMirror).sort()[0];
      if (a) {
        arch = a;
        sub = inMirror[a][0];
      }
    }
    const args = { ...base, target, "target/build": build, "target/arch_desc": arch, "target/subarch": sub, "target/version": today() };
    return { name: contextLabel(args, config), config, args };
  };
  const out: ContextConfig[] = [];
  for (const t of cand.targets) out.push(make(t, build0));
  for (const b of cand.builds) if (b !== build0) out.push(make(target0, b));
  return out;
}

/** Where an expansion fails. */
export interface ErrorPlace {
  file: string;
  range: Range;
}

/** The value of a key in a context, or what went wrong, for hover and hints. */
export type ValueOutcome =
  | { kind: "value"; value: MetroValue }
  | { kind: "undefined" }
  | { kind: "unknown"; message: string; where?: ErrorPlace }
  | { kind: "error"; code: string; message: string; where?: ErrorPlace }
  | { kind: "fatal"; message: string }
  | { kind: "pending" };

export function valueIn(c: ContextState, key: string): ValueOutcome {
  const ev = c.evaluated;
  if (!ev) return { kind: "pending" };
  if (ev.fatal) return { kind: "fatal", message: ev.fatal.message };
  if (!ev.has(key)) return { kind: "undefined" };
  const { value, error } = ev.tryGet(key);
  if (!error) return { kind: "value", value };
  // Where it fails: the reference (or `<<`) that cannot be expanded (none when the key itself is the problem).
  const d = error.site.element === null ? null : errorDiagnostic(ev, error);
  const where: ErrorPlace | undefined = d ? { file: d.file, range: d.range } : undefined;
  if (error.code === "metro/missing-file") return { kind: "unknown", message: error.message, where };
  return { kind: "error", code: error.code, message: error.message, where };
}
