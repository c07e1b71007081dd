// --dry-run DIR: evaluate everything a build would, write each script it
// would run into DIR (numbered in order), print the plan, and change
// nothing else: no locks, no logs, no status, no mounts, no deletion.
//
// Facts a real build would stop on (a missing seed, a held lock, a
// non-native architecture without fchroot) are reported as warnings so a
// plan can be read before the inputs exist; configuration errors make the
// exit code 2, as they would for a real build. The verdict is metro's: every
// read its run would stop on (uses.ts: a required step that is missing or
// not multi-line, a value that cannot be expanded) is an error.

import { dirname, join, resolve } from "node:path";
import { ConfigError, Settings, messageOf, type ContextArgs } from "./settings";
import { TRIGGER_OK, describeAction, isOfficial, planTarget, requiredPatterns, resolveScripts, type Action } from "./plan";
import { selectTargets, targetFacts, type TargetFacts } from "./targets";
import { analyzeRun } from "./uses";
import { describeFailure } from "../check";
import { inspectLock } from "./locks";
import { SafetyError, assertKeepsNothing, checkConfiguredPaths, checkedDir, type KeptPath } from "./paths";
import { findRequiredFile } from "./files";
import { ensureDir, writeFileGuarded } from "./guarded-fs";
import { chrootArgv, hostArgv, hostScriptPath, scriptText } from "./scripts";
import { EXIT_CONFIG, EXIT_OK } from "./builder";
import type { Reporter } from "./reporter";

export interface DryRunRequest extends ContextArgs {
  reporter: Reporter;
  dir: string;
}

function fileName(index: number, key: string): string {
  return `${String(index).padStart(2, "0")}-${key.replace(/\//g, "-")}.sh`;
}

export async function dryRun(request: DryRunRequest): Promise<number> {
  const { reporter } = request;
  const started = Date.now();
  const outDir = resolve(request.dir);
  const end = (exitCode: number, status: "ok" | "config-error") => {
    reporter.emit({ event: "build-end", exitCode, status, durationMs: Date.now() - started });
    return exitCode;
  };
  let initial: Settings;
  let targets: string[];
  try {
    initial = Settings.load({ config: request.config, args: request.args });
    targets = selectTargets(initial);
  } catch (error) {
    reporter.error(messageOf(error));
    return end(EXIT_CONFIG, "config-error");
  }
  reporter.emit({ event: "build-start", targets, dryRun: true });
  const out: string[] = [];
  try {
    // Metro takes the multi lock (and reads path/mirror/target/control) only for a run with a target other than snapshot.
    if (targets.some((t) => t !== "snapshot")) {
      const control = initial.str("path/mirror/target/control");
      const lock = inspectLock(join(control, ".multi_progress"));
      out.push(`multi lock ${join(control, ".multi_progress")}: ${lock.state === "held" ? `held by PID ${lock.pid} (a build would exit 3)` : lock.state}`);
    }
    out.push(`status would be written to ${join(initial.str("path/mirror/target/path"), "status")}`);
  } catch (error) {
    reporter.error(messageOf(error));
    return end(EXIT_CONFIG, "config-error");
  }
  for (const line of out) reporter.info(line);

  let failed = false;
  let index = 0;
  const loaded = new Map<string, Settings>();
  const failedTargets = new Set<string>();
  /** Targets whose settings the plan refused on a key, with that key. */
  const refusedOn = new Map<string, string>();
  for (const name of targets) {
    index++;
    try {
      const settings = Settings.load({ config: request.config, args: { ...request.args, target: name } });
      loaded.set(name, settings);
      if (name === "snapshot" && !isOfficial(settings)) {
        reporter.emit({ event: "target-skip", target: name, reason: "snapshots are only built for official releases" });
        continue;
      }
      const facts = targetFacts(settings, name);
      const dir = join(outDir, `${String(index).padStart(2, "0")}-${name}`);
      if (!planOne(settings, facts, dir, outDir, reporter)) {
        failed = true;
        failedTargets.add(name);
      }
    } catch (error) {
      failed = true;
      failedTargets.add(name);
      if (error instanceof ConfigError && error.key !== undefined) refusedOn.set(name, error.key);
      reporter.error(messageOf(error), name);
    }
  }
  // What else metro's run reads and would stop on (the same walk `check` judges a context by).
  if (targets.every((t) => loaded.has(t))) {
    const uses = analyzeRun(initial.context, (t) => loaded.get(t)!.context);
    // A target whose settings the plan refused on one key: metro's own first failure in it too, when metro reads
    // another key first (the plan reads path/work up front; metro, a stage's caches before it).
    const named = new Set<string>();
    for (const f of uses.failures) {
      if (f.read.target !== null && failedTargets.has(f.read.target)) {
        const t = f.read.target;
        if (named.has(t)) continue;
        named.add(t);
        const refused = refusedOn.get(t);
        if (refused !== undefined && refused !== f.read.key && f.code !== "metro/unknown-target-class") {
          reporter.error(`${describeFailure(f)} (metro stops here first)`, t);
        }
        continue;
      }
      if (f.read.kind === "step" && f.code === "metro/missing-step") continue; // reported by the plan
      failed = true;
      reporter.error(describeFailure(f), f.read.target ?? undefined);
    }
  }
  return end(failed ? EXIT_CONFIG : EXIT_OK, failed ? "config-error" : "ok");
}

/** Writes one target's plan; false when a build would stop on its configuration (a required step missing). */
function planOne(settings: Settings, facts: TargetFacts, dir: string, outDir: string, reporter: Reporter): boolean {
  const name = facts.name;
  const say = (line: string) => reporter.info(line, name);
  // What a build refuses before it starts (exit 2), a dry run refuses too.
  checkConfiguredPaths(settings, facts);
  let actions: Action[] = planTarget(facts.cls, facts.official);
  if (facts.skip) {
    reporter.emit({ event: "target-skip", target: name, reason: facts.skip });
    if (!facts.official) return true;
    actions = [TRIGGER_OK];
  }
  // metro looks for the required files, in order, before it runs any step: a key it cannot expand stops the target there,
  // after the files before it were looked for and before any step (none is planned, none is judged).
  const { required, stop } = requiredPatterns(settings, facts);
  // A missing required step, or a step that cannot be expanded, is what a build (and metro) would stop on: a configuration
  // error; the plan shows it and goes on (metro runs the steps before it).
  const missing: string[] = [];
  const unusable = new Map<string, string>();
  const scripts = stop ? new Map<string, string[]>() : resolveScripts(settings, actions, (message) => missing.push(message), (key, error) => unusable.set(key, messageOf(error)));
  reporter.emit({ event: "target-start", target: name, class: facts.cls, log: facts.logPath });
  say(`${facts.official ? "official" : "QA"} build; output ${facts.output ?? "(none: path/mirror/target expands to nothing)"}`);
  const lock = inspectLock(facts.lockPath);
  say(`lock ${facts.lockPath}: ${lock.state === "held" ? `held by PID ${lock.pid} (a build would stop here)` : lock.state}`);
  if (facts.chrootProblem) reporter.warn(facts.chrootProblem, name);
  for (const note of facts.notes) reporter.warn(note, name);
  for (const message of missing) reporter.error(`${message} (a build fails there, as metro's does)`, name);
  for (const message of unusable.values()) reporter.error(`${message} (metro runs the steps before it, then stops there; a build refuses before it starts)`, name);
  for (const { key, pattern } of required) {
    const found = findRequiredFile(key, pattern);
    if (found.ok) say(`requires ${key}: ${found.path}${found.uncompressed ? " (uncompressed)" : ""}`);
    else reporter.warn(`${found.problem} (a build would fail here)`, name);
  }
  if (stop) throw stop;
  // The folder below DIR and each script are made without following a link found there: a link left in DIR
  // (by anyone who can write to it) never turns a dry run into a write elsewhere.
  ensureDir(dir, outDir);
  let step = 0;
  for (const action of actions) {
    const text = describeAction(action);
    switch (action.kind) {
      case "script": {
        const lines = scripts.get(action.key);
        if (unusable.has(action.key)) {
          say(`     ${text}: cannot be run (above): a build fails here`);
          break;
        }
        if (!lines) {
          say(`     ${text}: not defined, ${action.optional ? "skipped" : "REQUIRED: a build fails here"}`);
          break;
        }
        step++;
        const file = join(dir, fileName(step, action.key));
        writeFileGuarded(file, outDir, scriptText(lines), { mode: 0o755, what: "the step script" });
        const argv = action.chroot
          ? chrootArgv(facts.chrootCommand, facts.work, action.key, lines)
          : hostArgv(hostScriptPath(facts.tmp, action.key), lines);
        reporter.emit({ event: "plan-step", target: name, index: step, step: action.key, chroot: action.chroot, file, command: argv });
        break;
      }
      case "clean-stale-work": {
        const prefix = settings.optionalStr("target/name/prefix");
        if (prefix) say(`     remove old work directories ${join(dirname(facts.work), prefix)}*`);
        break;
      }
      case "clean-work":
        checkSafe(facts.work, facts.tmp, "path/work", facts.keep);
        say(`     ${action.recreate ? "remove and recreate (mode 0700)" : "remove"} ${facts.work}`);
        break;
      case "mount":
        say(`     mount proc at ${join(facts.work, "proc")}, bind /dev at ${join(facts.work, "dev")}`);
        for (const m of facts.mounts) say(`     bind ${m.source} at ${join(facts.work, m.inside)}`);
        break;
      case "unmount":
        say(`     unmount everything below ${facts.work}`);
        break;
      case "clean-build-cache": {
        const cache = settings.options().includes("clean/auto") ? settings.optionalStr("path/cache/build") : undefined;
        if (cache) {
          checkSafe(cache, facts.tmp, "path/cache/build", facts.keep);
          say(`     remove ${cache} (clean/auto)`);
        }
        break;
      }
    }
  }
  return missing.length === 0 && unusable.size === 0;
}

function checkSafe(path: string, tmp: string, what: string, keep: readonly KeptPath[]): void {
  try {
    checkedDir(path, tmp, what);
    assertKeepsNothing(what, path, keep);
  } catch (error) {
    if (error instanceof SafetyError) throw new SafetyError(`${error.message} (a build would refuse)`);
    throw error;
  }
}
