// What a build uses: the one definition of the keys metro's runner (the
// `metro` script and its target classes) reads for a context, in the order it
// reads them, and every element those values reference, transitively
// (`$[[...]]` includes and the names conditions test included).
//
// The stage builder's plan (plan.ts: the step order of each class, the
// required files; targets.ts: the target list and the caches) says what a
// target does; this module walks the same definitions over an evaluated
// context without running anything, and records each read that fails the
// way metro's run would fail there. `check`, the language server and the dry
// run's verdict all judge a context through it.

import { excerpt, excerptList, quote, type Range } from "../../language";
import { EvaluationError } from "../errors";
import type { EvaluatedContext, MetroValue } from "../evaluate";
import { CACHES, THIS_MACHINE, parseTargetList, targetSkip, type RunMachine, type TargetSkip } from "./targets";
import { TARGET_CLASSES, TRIGGER_OK, metroClass, planTarget, requiredFileKeys, type TargetClass } from "./plan";
import { METRO_HOST_ARCHES } from "./processes";

/** How the runner reads a key: `settings[key]`, `key in settings`, or as a step it runs. */
export type ReadKind = "value" | "presence" | "step";

export interface RunRead {
  key: string;
  kind: ReadKind;
  /** The target whose run reads it (null: the run's setup, before or after the targets). */
  target: string | null;
}

/** A read metro's run would stop on. */
export interface RunFailure {
  read: RunRead;
  /** The context the read was made in (a multi run reads each target in its own). */
  context: EvaluatedContext;
  code: string;
  message: string;
  /** The evaluation error, when expanding a value failed. */
  error: EvaluationError | null;
  /** Elements from the read key to the element where the expansion failed. */
  chain: string[];
  /** A file the failure is about when no element is (the target's spec for a missing step). */
  file?: string;
  range?: Range;
}

export interface TargetRun {
  name: string;
  context: EvaluatedContext;
  cls: TargetClass | null;
  official: boolean;
  /** Steps the run executes, in order, with their scripts. */
  steps: { key: string; chroot: boolean; lines: string[] }[];
  /** Set when metro skips the target on this machine (its class's steps are not run). */
  skipped: TargetSkip | null;
}


/** A file the run requires before a target starts (metro globs it): its presence is this machine's state. */
export interface RequiredRead {
  key: string;
  pattern: string;
  target: string;
  context: EvaluatedContext;
}

export interface RunUses {
  targets: TargetRun[];
  /** The required files of the targets, with the patterns their keys expand to. */
  required: RequiredRead[];
  reads: RunRead[];
  /** Reads the run would stop on, in the order met (metro reports the first). */
  failures: RunFailure[];
  /** Per evaluated context: every element the run reads or reaches through references. */
  used: Map<EvaluatedContext, Set<string>>;
  /** The label of the run in messages: "the stage3 run", "the snapshot+stage1 run". */
  label: string;
}

/** The keys metro's setup and runner read, in the order it reads them, for one context. */
export function analyzeRun(initial: EvaluatedContext, contextFor: (target: string) => EvaluatedContext, machine: RunMachine = THIS_MACHINE): RunUses {
  const reads: RunRead[] = [];
  const failures: RunFailure[] = [];
  const readBy = new Map<EvaluatedContext, Set<string>>();
  const targets: TargetRun[] = [];
  const required: RequiredRead[] = [];

  const record = (ctx: EvaluatedContext, read: RunRead) => {
    reads.push(read);
    let s = readBy.get(ctx);
    if (!s) readBy.set(ctx, (s = new Set()));
    s.add(read.key);
  };
  const fail = (ctx: EvaluatedContext, read: RunRead, code: string, message: string, error: EvaluationError | null = null, where?: { file: string; range: Range }) => {
    // A key read again (path/work by several parts of a class) fails once; a value that is nothing or a list, once whatever metro does with it.
    const kindOf = (c: string) => (/^metro\/(nothing|multi-line)-as-/.test(c) ? "shape" : c);
    if (failures.some((f) => f.context === ctx && f.read.key === read.key && f.read.target === read.target && kindOf(f.code) === kindOf(code))) return;
    failures.push({ read, context: ctx, code, message, error, chain: [read.key], ...where });
  };
  /** Records `read` and makes it with `get`; an evaluation error is the run's failure there (recorded), and gives undefined. */
  const attempt = <T>(ctx: EvaluatedContext, read: RunRead, get: () => T): T | undefined => {
    record(ctx, read);
    try {
      return get();
    } catch (e) {
      if (!(e instanceof EvaluationError)) throw e;
      fail(ctx, read, e.code, e.message, e);
      return undefined;
    }
  };
  /** `key in settings`: false when it cannot be told (recorded as a failure). */
  const present = (ctx: EvaluatedContext, key: string, target: string | null): boolean => attempt(ctx, { key, kind: "presence", target }, () => ctx.has(key)) ?? false;
  /** `settings[key]`: undefined when it fails (recorded). */
  const value = (ctx: EvaluatedContext, key: string, target: string | null): MetroValue | undefined => {
    const read: RunRead = { key, kind: "value", target };
    return attempt(ctx, read, () => {
      if (ctx.has(key)) return ctx.get(key);
      fail(ctx, read, "metro/undefined-element", `${quote(key, '"')} is not defined`);
      return undefined;
    });
  };
  /** `settings[key]` read as a step: whether it is multi-line (its lines are made when asked for: Step), undefined when it fails (recorded). */
  const isMultiLine = (ctx: EvaluatedContext, key: string, target: string | null): boolean | undefined =>
    attempt(ctx, { key, kind: "step", target }, () => ctx.expander.lookupIsMultiLine(key));
  const str = (v: MetroValue | undefined): string | undefined => (typeof v === "string" ? v : undefined);
  /**
   * `v`, read from `key`, where metro needs a string (`as` a path, or a `value` it calls a string's method on
   * or joins; `how` says what metro does with it): nothing (a :zap, metro's None) or a multi-line value (a
   * list) stops the run there.
   */
  const notString = (ctx: EvaluatedContext, key: string, target: string | null, v: MetroValue | undefined, as: "path" | "value", how: string): void => {
    if (v !== null && !Array.isArray(v)) return;
    const what = v === null ? "expands to nothing (a :zap dropped it)" : "is a multi-line value";
    fail(ctx, { key, kind: "value", target }, `metro/${v === null ? "nothing" : "multi-line"}-as-${as}`, `${quote(key, '"')} ${what}, and metro ${how}`);
  };
  const asPath = (ctx: EvaluatedContext, key: string, target: string | null, v: MetroValue | undefined, how = "uses it as a path: a TypeError stops it"): void =>
    notString(ctx, key, target, v, "path", how);
  /**
   * `settings[key]` used as a path (joined, tested with os.path.exists): a value that expands to nothing (a
   * `:zap` of an undefined or empty name) is None in metro, and the path operation raises a TypeError there.
   */
  const pathValue = (ctx: EvaluatedContext, key: string, target: string | null): MetroValue | undefined => {
    const v = value(ctx, key, target);
    asPath(ctx, key, target, v);
    return v;
  };
  const optional = (ctx: EvaluatedContext, key: string, target: string | null): MetroValue | undefined =>
    present(ctx, key, target) ? value(ctx, key, target) : undefined;
  const asString = (ctx: EvaluatedContext, key: string, target: string | null, v: MetroValue | undefined, how: string): void =>
    notString(ctx, key, target, v, "value", how);

  // metro's setup replaces a MAKEOPTS of "auto" (it reads the value, defined or not).
  value(initial, "portage/MAKEOPTS", null);
  // The target list.
  let list: string[] = [];
  const multi = present(initial, "multi", null) ? str(value(initial, "multi", null)) : undefined;
  if (multi === "yes") {
    const targetsValue = value(initial, "multi/targets", null);
    asString(initial, "multi/targets", null, targetsValue, "splits it into the target list: an AttributeError stops it");
    const t = str(targetsValue);
    const extrasValue = present(initial, "multi/extras", null) ? value(initial, "multi/extras", null) : undefined;
    asString(initial, "multi/extras", null, extrasValue, "looks for a + in it: a TypeError stops it");
    const extras = str(extrasValue);
    list = t === undefined ? [] : parseTargetList(t, extras);
  } else {
    const t = str(value(initial, "target", null));
    if (t !== undefined) list = [t];
  }
  // run_targets: the multi lock (control + "/.multi_progress"), then os.path.exists of the target path.
  if (list.some((t) => t !== "snapshot")) pathValue(initial, "path/mirror/target/control", null);
  pathValue(initial, "path/mirror/target/path", null);

  for (const name of list) {
    const ctx = multi === "yes" ? contextFor(name) : initial;
    const run: TargetRun = { name, context: ctx, cls: null, official: false, steps: [], skipped: null };
    targets.push(run);
    if (ctx.fatal) continue;
    const v = (key: string) => value(ctx, key, name);
    const has = (key: string) => present(ctx, key, name);
    let output: string | undefined;
    let outputValue: MetroValue | undefined;
    if (name === "snapshot") {
      if (str(v("release/type")) !== "official") continue;
      output = str(pathValue(ctx, "path/mirror/snapshot", name));
    } else {
      pathValue(ctx, "path/mirror/target/control", name);
      outputValue = v("path/mirror/target");
      output = str(outputValue);
      // The log: path/mirror/target/path/log/<target>.txt, its folder made with the mirror's owner and mode.
      pathValue(ctx, "path/mirror/target/path", name);
      v("target");
      for (const k of ["path/mirror/owner", "path/mirror/group", "path/mirror/dirmode"]) {
        const o = v(k);
        // The log file is given to the mirror's owner and group (pwd.getpwnam, grp.getgrnam).
        if (k !== "path/mirror/dirmode") asString(ctx, k, name, o, "looks the log file's owner up by it: a TypeError stops it");
      }
    }
    const clsValue = v("target/class");
    asString(ctx, "target/class", name, clsValue, "calls .capitalize() on it: an AttributeError stops it");
    const clsName = str(clsValue);
    if (clsName === undefined) continue;
    // metro looks the class up as target/class.capitalize() + "Target" among its target classes.
    const cls = metroClass(clsName);
    if (cls === null) {
      const read: RunRead = { key: "target/class", kind: "value", target: name };
      // metro also has a VirtualBox class (and an EC2 one where boto is installed); metro-engine does not model them.
      const other = /^(virtualbox|ec2)$/i.test(clsName);
      fail(ctx, read, "metro/unknown-target-class", other
        ? `target/class is ${quote(clsName, '"')}: metro's ${clsName.toLowerCase()} class, which metro-engine does not model (it checks and builds ${TARGET_CLASSES.join(", ")}); this run is not checked further`
        : `target/class is ${quote(clsName, '"')}: no target class of that name (known: ${TARGET_CLASSES.join(", ")})`);
      continue;
    }
    run.cls = cls;
    // The class's constructor: caches, the stage's snapshot and distfiles.
    if (cls !== "snapshot") {
      for (const cache of CACHES) {
        if (cache.option !== null) continue; // metro's classes enable only the package cache
        if (!has(cache.key)) {
          fail(ctx, { key: cache.key, kind: "presence", target: name }, "metro/undefined-element", `${quote(cache.key, '"')} is not defined (metro requires it for cache/package support)`);
        } else v(cache.key);
      }
    }
    const official = str(v("release/type")) === "official";
    run.official = official;
    const distfiles = cls === "stage" ? optional(ctx, "path/distfiles", name) : undefined;
    /** Reads a step the way run_script does: present (or optional), multi-line; a step that runs is kept with its lines. */
    let chrootRead = false;
    const readStep = (action: { key: string; chroot: boolean; optional: boolean }) => {
      if (action.chroot && !chrootRead) {
        // Before the first chroot step, metro works out the host and target architectures.
        chrootRead = true;
        if (has("host/arch_desc")) {
          const host = v("host/arch_desc");
          if (host === undefined) return;
          if (typeof host !== "string" || !(METRO_HOST_ARCHES as readonly string[]).includes(host)) {
            fail(ctx, { key: "host/arch_desc", kind: "value", target: name }, "metro/unsupported-host-arch",
              `host/arch_desc is ${host === null ? "nothing (a :zap dropped it)" : quote(Array.isArray(host) ? host.join("\n") : host, '"')}: metro stops here ("Arch specified in host/arch_desc ... not supported"; known: ${METRO_HOST_ARCHES.join(", ")})`);
            return;
          }
        }
        v("target/arch_desc");
        // The bind mounts: a distfiles folder that expands to nothing is a TypeError (os.path.exists).
        asPath(ctx, "path/distfiles", name, distfiles);
      }
      const read: RunRead = { key: action.key, kind: "step", target: name };
      if (!has(action.key)) {
        if (action.optional) return;
        fail(ctx, read, "metro/missing-step", `metro stops here: run_script: key ${quote(action.key, "'")} not found (target ${excerpt(name)}, class ${excerpt(cls)}, needs the step ${excerpt(action.key)})`, null, targetFile(ctx, name));
        return;
      }
      const multiLine = isMultiLine(ctx, action.key, name);
      if (multiLine === undefined) return;
      if (!multiLine) {
        const def = ctx.definitions(action.key)[0];
        fail(ctx, read, "metro/step-not-multi-line", `metro stops here: run_script: key ${quote(action.key, "'")} is not a multi-line element (a step must be written [ ... ])`, null,
          def ? { file: def.file, range: def.statement.name.range } : undefined);
        return;
      }
      run.steps.push(new Step(ctx, action.key, action.chroot));
      if (action.chroot) v("path/work");
      else v("path/tmp");
    };
    // Whether metro builds the target on this machine: an official output that exists is kept
    // (only its success trigger runs) unless metro/options says replace; a QA build with a status file already ran.
    // An official target's output is tested with os.path.exists: nothing there is a TypeError.
    if (official) asPath(ctx, "path/mirror/target", name, outputValue);
    run.skipped = targetSkip(official, {
      options: () => {
        const o = optional(ctx, "metro/options", name);
        asString(ctx, "metro/options", name, o, "splits it into words: an AttributeError stops it");
        return (str(o) ?? "").split(/\s+/);
      },
      output: () => output,
      targetPath: () => str(v("path/mirror/target/path")),
    }, machine);
    if (run.skipped) {
      if (run.skipped.reason === "output-exists") readStep(TRIGGER_OK);
      continue;
    }
    if (has("target/name/prefix")) {
      // The old work folders: path/work split on "/", the prefix joined to it.
      asString(ctx, "path/work", name, v("path/work"), "splits it on /: an AttributeError stops it");
      asString(ctx, "target/name/prefix", name, v("target/name/prefix"), "joins it to path/work's folder: a TypeError stops it");
    }
    for (const key of requiredFileKeys(cls, official)) {
      const p = v(key);
      if (p === null || Array.isArray(p)) {
        asPath(ctx, key, name, p, `globs it: metro stops here ("Setting ${key} is set to ...; glob failed")`);
        break;
      }
      const pattern = str(p);
      if (pattern === undefined) break;
      required.push({ key, pattern, target: name, context: ctx });
    }
    if (cls !== "snapshot") pathValue(ctx, "path/cache/build", name); // looking for processes left in the chroot
    pathValue(ctx, "path/work", name);
    pathValue(ctx, "path/tmp", name);
    for (const action of planTarget(cls, official)) {
      if (action.kind === "script") readStep(action);
    }
    if (cls === "stage") {
      const o = optional(ctx, "metro/options", name);
      asString(ctx, "metro/options", name, o, "splits it into words: an AttributeError stops it");
      const options = str(o);
      if (options?.split(/\s+/).includes("clean/auto")) optional(ctx, "path/cache/build", name);
    }
  }
  // After the targets: the status files and the QA hook.
  value(initial, "release/type", null);
  pathValue(initial, "path/mirror/target/control", null); // + "/.failcount"
  pathValue(initial, "path/mirror/target/path", null); // + "/status"
  // A JIRA hook reads its server's settings (metro fails on the first that is missing, after the targets ran).
  if (str(optional(initial, "qa/type", null)) === "jira") {
    for (const key of ["qa/url", "qa/username", "qa/password"]) if (value(initial, key, null) === undefined) break;
  }

  const used = new Map<EvaluatedContext, Set<string>>();
  // The setup reads what the collect paths name (recorded under "").
  for (const [ctx, keys] of readBy) {
    const reached = reachable(ctx, [...keys, ""]);
    reached.delete("");
    used.set(ctx, reached);
  }
  for (const f of failures) f.chain = chainTo(f.context, f.read.key, f.error?.site.element ?? null);
  const names = [...new Set(list)];
  return { targets, required, reads, failures, used, label: `the ${names.length ? excerptList(names, "+") : "(no target)"} run` };
}

/** A step the run executes; its script is made when asked for (a check of hundreds of contexts never asks). */
class Step {
  constructor(
    private readonly ctx: EvaluatedContext,
    readonly key: string,
    readonly chroot: boolean,
  ) {}
  get lines(): string[] {
    return this.ctx.get(this.key) as string[];
  }
}

/** The spec file collected for a target (`.../<target>.spec`), where a missing step is reported. */
function targetFile(ctx: EvaluatedContext, target: string): { file: string; range: Range } | undefined {
  const file = ctx.collected.find((f) => f.endsWith(`/${target}.spec`));
  const zero = { line: 0, character: 0, offset: 0 };
  if (file) return { file, range: { start: zero, end: zero } };
  const def = ctx.definitions("target/class")[0];
  return def ? { file: def.file, range: def.statement.name.range } : undefined;
}

/** The names a conditional element's conditions test. */
function conditionNames(ctx: EvaluatedContext, name: string): string[] {
  const byCond = ctx.store.conditionals.get(name);
  if (!byCond) return [];
  const out: string[] = [];
  for (const cond of byCond.keys()) {
    const first = cond.trim().split(/\s+/)[0];
    if (first) out.push(first);
  }
  return out;
}

function edges(ctx: EvaluatedContext, name: string): string[] {
  return [...ctx.references(name), ...conditionNames(ctx, name)];
}

/** Every element reached from `roots` through references and conditions. */
export function reachable(ctx: EvaluatedContext, roots: Iterable<string>): Set<string> {
  const seen = new Set<string>();
  const todo = [...roots];
  while (todo.length) {
    const n = todo.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    for (const m of edges(ctx, n)) if (!seen.has(m)) todo.push(m);
  }
  return seen;
}

/** The shortest chain of references from `root` to `element` (just [root] when unknown). */
export function chainTo(ctx: EvaluatedContext, root: string, element: string | null): string[] {
  if (element === null || element === root) return [root];
  const parent = new Map<string, string | null>([[root, null]]);
  const queue = [root];
  for (let i = 0; i < queue.length; i++) {
    const n = queue[i];
    for (const m of edges(ctx, n)) {
      if (parent.has(m)) continue;
      parent.set(m, n);
      if (m === element) {
        const chain = [m];
        for (let p = parent.get(m) ?? null; p !== null; p = parent.get(p) ?? null) chain.unshift(p);
        return chain;
      }
      queue.push(m);
    }
  }
  return [root, element];
}
