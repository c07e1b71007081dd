// Build contexts of one tree: where they come from (the `metro.contexts`
// setting, `metro-contexts.json` at the tree root, or derived from the tree),
// their evaluation through the engine, the active one, and re-evaluation of
// only the contexts that read an edited file. The engine is always called
// with allowExec false: nothing from the workspace is ever executed.

import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { checkContext } from "../engine/check";
import type { EngineDiagnostic, EvaluatedContext, MetroValue } from "../engine/evaluate";
import { Workspace, type WorkspaceFile } from "../engine/workspace";
import type { WorkspaceIndex } from "./workspace-index";
import { Emitter } from "./events";
import { CONTEXTS_FILE, contextLabel, parseContextEntries, readContextsFile, type ContextConfig } from "./contexts-file";

export { CONTEXTS_FILE, type ContextConfig } from "./contexts-file";

/**
 * Evaluations run in slices of this many milliseconds. Between slices the
 * event loop answers requests and flushes outgoing messages (each message
 * written to stdout needs a turn of the loop), so slices stay short.
 */
const STEP_BUDGET_MS = 4;

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
}

export interface ContextState extends ContextConfig {
  evaluated: EvaluatedContext | null;
  /** Every path the evaluation read or tried to read. */
  reads: Set<string>;
  diagnostics: EngineDiagnostic[];
  /** Bumped each time the context is evaluated again. */
  generation: number;
  /** Set while an edit made the evaluation out of date. */
  stale: boolean;
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
  ) {
    super();
  }

  private editedFiles = new Set<string>();

  get active(): ContextState | null {
    return this.contexts.find((c) => c.name === this.activeName) ?? this.contexts[0] ?? null;
  }

  setActive(name: string): boolean {
    if (!this.contexts.some((c) => c.name === name)) return false;
    this.activeName = name;
    return true;
  }

  /** Chooses the contexts: the setting wins, then metro-contexts.json, then derived ones. */
  configure(settingEntries: unknown): void {
    let configs: ContextConfig[] = [];
    const fromSetting = parseContextEntries(settingEntries, this.root).contexts.filter((c) => existsSync(c.config));
    if (fromSetting.length) {
      configs = fromSetting;
      this.source = "setting";
    } else {
      const file = join(this.root, CONTEXTS_FILE);
      const fromFile = readContextsFile(file).contexts;
      if (fromFile.length) {
        configs = fromFile;
        this.source = "file";
      } else {
        configs = deriveContexts(this.root, this.index);
        this.source = "derived";
      }
    }
    const same =
      configs.length === this.contexts.length &&
      configs.every((c, i) => c.name === this.contexts[i].name && c.config === this.contexts[i].config && JSON.stringify(c.args) === JSON.stringify(this.contexts[i].args));
    if (same) return;
    const files = this.affectedFiles();
    this.contexts = configs.map((c) => ({ ...c, evaluated: null, reads: new Set<string>(), diagnostics: [], generation: 0, stale: true }));
    if (this.activeName && !this.contexts.some((c) => c.name === this.activeName)) this.activeName = null;
    for (const c of this.contexts) this.queue.add(c);
    this.pump(files);
  }

  /**
   * Re-evaluates the contexts that read (or tried to read) `path`, and fatal
   * ones when a Metro file changed (they may have stopped before reading it).
   */
  fileChanged(path: string, metroFile = true): void {
    for (const c of this.contexts) {
      if (!c.evaluated || (c.evaluated.fatal && metroFile) || c.reads.has(path) || c.config === path) {
        c.stale = true;
        this.queue.add(c);
      }
    }
    this.editedFiles.add(path);
    this.pump(new Set([path]));
  }

  /** Resolves when no evaluation is queued or running. */
  settled(): Promise<void> {
    if (!this.running && this.queue.size === 0) return Promise.resolve();
    return new Promise((r) => this.waiters.push(r));
  }

  get busy(): boolean {
    return this.running || this.queue.size > 0;
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
    if (this.running) {
      for (const f of changed) this.pendingFiles.add(f);
      return;
    }
    for (const f of changed) this.pendingFiles.add(f);
    this.running = true;
    let turns = 0;
    let activeDone = false;
    const step = () => {
      const started = performance.now();
      // The first slices are short so the edited file's fresh diagnostics get written out quickly.
      const budget = turns++ < 4 ? STEP_BUDGET_MS : 4 * STEP_BUDGET_MS;
      while (this.queue.size) {
        const active = this.active;
        const next = active && this.queue.has(active) ? active : this.queue.values().next().value!;
        this.queue.delete(next);
        this.evaluate(next);
        // After an edit, publish the edited file as soon as the active context is fresh.
        if (next === active && this.editedFiles.size && !activeDone) {
          activeDone = true;
          if (this.queue.size) this.emit("progress", this.editedFiles);
          break;
        }
        if (performance.now() - started > budget) break;
      }
      if (this.queue.size) {
        setImmediate(step);
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
    for (const d of c.diagnostics) this.pendingFiles.add(d.file);
    for (const f of c.reads) this.pendingFiles.add(f);
    const reads = new Set<string>();
    this.workspace.recorder = reads;
    try {
      const r = checkContext({ config: c.config, args: { ...c.args } }, { workspace: this.workspace, allowExec: false });
      c.evaluated = r.context;
      c.diagnostics = r.diagnostics;
    } catch (e) {
      c.evaluated = null;
      c.diagnostics = [];
      process.stderr.write(`metro-language-server: evaluating ${c.name} failed: ${(e as Error).stack ?? e}\n`);
    } finally {
      this.workspace.recorder = null;
    }
    if (c.evaluated) for (const f of c.evaluated.filesRead) reads.add(f);
    c.reads = reads;
    c.generation++;
    c.stale = false;
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
  const builds = subdirs(join(install, "etc", "builds")).filter((b) => existsSync(join(install, "etc", "builds", b, "build.conf")));
  const arches: { arch: string; subarches: string[] }[] = [];
  const mirror = literalValue(index, "path/mirror", configs[0]);
  const mirrorArches = new Map<string, Set<string>>();
  const layout: Record<string, Record<string, string[]>> = {};
  if (mirror && existsSync(mirror)) {
    for (const b of subdirs(mirror)) for (const a of subdirs(join(mirror, b))) for (const s of subdirs(join(mirror, b, a))) {
      let set = mirrorArches.get(a);
      if (!set) mirrorArches.set(a, (set = new Set()));
      set.add(s);
      ((layout[b] ??= {})[a] ??= []).push(s);
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
    const m = /^\s*install:\s*(\S+)/m.exec(readFileSync(join(root, "metro.conf"), "utf8"));
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

/** A small representative set: every target once and every build once. */
export function deriveContexts(root: string, index: WorkspaceIndex): ContextConfig[] {
  const cand = contextCandidates(root, index);
  const config = cand.configs[0];
  if (!config || cand.targets.length === 0 || cand.builds.length === 0) return [];
  const base: Record<string, string> = {};
  // A metro checkout's own metro.conf points path/install elsewhere (/root/metro): point it here.
  if (config === join(root, "metro.conf") && existsSync(join(root, "etc", "master.conf"))) base["path/install"] = root;
  const target0 = cand.targets.includes("stage3") ? "stage3" : cand.targets[0];
  const arch0 = cand.arches.find((a) => a.arch === "x86-64bit") ?? cand.arches[0] ?? { arch: "x86-64bit", subarches: ["generic"] };
  // The build with the most mirror content is the most representative default.
  const mirrorBuilds = cand.builds.filter((b) => cand.mirror[b]);
  const build0m = mirrorBuilds.sort((a, b) => Object.keys(cand.mirror[b]).length - Object.keys(cand.mirror[a]).length || (a < b ? 1 : -1))[0];
  const build0 = build0m ?? [...cand.builds].reverse().find((b) => /std/.test(b)) ?? cand.builds[cand.builds.length - 1];
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

/** The value of a key in a context, or what went wrong, for hover and hints. */
export type ValueOutcome =
  | { kind: "value"; value: MetroValue }
  | { kind: "undefined" }
  | { kind: "unknown"; message: string }
  | { kind: "error"; code: string; message: string }
  | { kind: "fatal"; message: string }
  | { kind: "pending" };

export function valueIn(c: ContextState, key: string): ValueOutcome {
  const ev = c.evaluated;
  if (!ev) return { kind: "pending" };
  if (ev.fatal) return { kind: "fatal", message: ev.fatal.message };
  if (!ev.has(key)) return { kind: "undefined" };
  const { value, error } = ev.tryGet(key);
  if (!error) return { kind: "value", value };
  if (error.code === "metro/missing-file") return { kind: "unknown", message: error.message };
  return { kind: "error", code: error.code, message: error.message };
}
