// The build loop: metro's run_targets, with safer cleanup and clear exit codes.
//
//   0  every target built or was skipped
//   1  a target failed (a step, a missing input, an interrupt, a safety refusal)
//   2  usage or configuration error (nothing more is attempted)
//   3  another build holds a lock
//   141 the reader of its output went away (stopped and cleaned up first)
//
// Differences from metro, on purpose:
// - A held per-target lock exits 3 and leaves `status` alone (metro wrote
//   `ok` in that case).
// - An interrupt records `status: fail` (and `.failcount` for official
//   builds) after unmounting; metro recorded nothing.
// - Every step that exists is expanded before the target starts, so a
//   configuration error stops the build before anything is unpacked (the
//   required files' keys first: metro looks for those before any step, so
//   one that cannot be expanded is the error named).
// - A skipped official target's log is appended to, not truncated.
// - Snapshot targets log to path/mirror/target/path/log/snapshot.txt too
//   (metro printed their output only).
// - A configuration error met while preparing a target (a bad value, an
//   unknown class, a missing required step) exits 2 and leaves `status` and
//   `.failcount` alone: nothing was attempted.
// - Before anything is locked or unpacked, every target's paths are checked
//   (paths.ts) and so are the files the build writes in the mirror: a path
//   that is wrong as written exits 2; a link on the way, a lock that is a
//   directory and the like exit 1 with the file's path, recording nothing.
// - The build also locks path/tmp (`.metro-engine.lock`); a held one exits 3.
// - Each step is the first process of its own PID namespace (namespace.ts):
//   what it leaves running in the background ends when it ends (metro killed
//   only chroot processes, at unmount), and nothing outlives the builder.

import { chmodSync, closeSync, existsSync, lstatSync, readdirSync, rmdirSync, type Dirent } from "node:fs";
import { dirname, join } from "node:path";
import { ConfigError, Settings, messageOf, type ContextArgs } from "./settings";
import { TRIGGER_OK, describeAction, isOfficial, planTarget, requiredPatterns, resolveScripts, type Action } from "./plan";
import { selectTargets, targetFacts, type TargetFacts } from "./targets";
import { Lock, LockHeldError, incrementFailCount, inspectLock, removeFailCount, tmpLockPath } from "./locks";
import { bindChroot, safeRemove, unmountBelow } from "./mounts";
import { SafetyError, checkConfiguredPaths, checkTmpRoot, checkedDir, checkedMirror, type CheckedDir, type KeptPath } from "./paths";
import { GuardedFsError, assertNoLinks, assertRegularOrMissing, ensureDir, openForAppend, pickLines, resolveOwner, unlinkGuarded, writeFileGuarded, writeToFd } from "./guarded-fs";
import { INTERRUPTS, stepIsolationPrefix } from "./namespace";
import { RunningScript, killProcessesInside } from "./processes";
import { findRequiredFile } from "./files";
import { chrootArgv, chrootScriptPath, extractErrors, hostArgv, hostScriptPath, scriptText, stepEnvironment } from "./scripts";
import type { Reporter } from "./reporter";
import { handleOutputLoss } from "../output-loss";

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_CONFIG = 2;
export const EXIT_LOCKED = 3;
/** The reader of the build's output went away: stopped and cleaned up like an interrupt. */
export const EXIT_OUTPUT_GONE = 141;


/** A step or a target failed: status fail, exit 1. */
export class BuildFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BuildFailure";
  }
}

class Interrupted extends Error {
  constructor(readonly signal: NodeJS.Signals) {
    super(`interrupted by ${signal}`);
    this.name = "Interrupted";
  }
}

export interface BuildRequest extends ContextArgs {
  reporter: Reporter;
}

/**
 * One target's log: messages from the builder and every step's output, in
 * one file. Opened without following links (guarded-fs); a write that fails
 * (a full disk) is remembered, reported once, and fails the target.
 */
class TargetLog {
  private fd: number | null = null;
  /** The first write failure, naming the file. */
  failure: string | null = null;

  constructor(readonly path: string | null, settings: Settings, mirror: string, truncate: boolean, private readonly onFailure: (message: string) => void) {
    if (!path) return;
    const owner = resolveOwner(settings.optionalStr("path/mirror/owner"), settings.optionalStr("path/mirror/group"));
    const mode = settings.optionalStr("path/mirror/dirmode");
    const dir = dirname(path);
    // Like metro's `install -d -o -g -m`: the log directory gets the mirror's owner and mode when it is created.
    ensureDir(dirname(dir), mirror);
    ensureDir(dir, mirror, { last: { uid: owner.uid, gid: owner.gid, mode: mode && /^[0-7]{3,4}$/.test(mode) ? parseInt(mode, 8) : undefined } });
    this.fd = openForAppend(path, mirror, { truncate, uid: owner.uid, gid: owner.gid, what: "the log" });
    if (owner.problem) this.write(`note: ${owner.problem}; the log keeps its current owner`);
  }

  /** File descriptor for a step's stdout and stderr ("ignore" when there is no log). */
  get output(): number | "inherit" {
    return this.fd ?? "inherit";
  }

  write(line: string): void {
    if (this.fd === null || this.failure) return;
    try {
      writeToFd(this.fd, line + "\n", this.path!, "the log");
    } catch (error) {
      this.failure = messageOf(error);
      this.onFailure(this.failure);
    }
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

/** What a build checks of every target before it takes a lock or touches anything. */
interface TargetPaths {
  tmp: string;
  mirror: string;
}

export class Builder {
  private interrupted: NodeJS.Signals | null = null;
  private firstSignalAt = 0;
  private current: RunningScript | null = null;
  private readonly started = Date.now();

  constructor(private readonly request: BuildRequest) {}

  private get reporter(): Reporter {
    return this.request.reporter;
  }

  /**
   * Runs the build; for its duration SIGINT, SIGTERM and SIGHUP (a closed
   * terminal or connection) interrupt it, and so does a lost standard output
   * or error (engine/output-loss.ts): the step is stopped and the target
   * cleaned up as for SIGINT.
   */
  async run(): Promise<number> {
    const onSignal = (signal: NodeJS.Signals) => this.onSignal(signal);
    for (const signal of INTERRUPTS) process.on(signal, onSignal);
    let outputGone = false;
    const stopHandling = handleOutputLoss((why) => {
      outputGone = true;
      this.reporter.outputLost();
      this.onSignal("SIGPIPE", `the build's output is gone (${why})`);
    });
    try {
      const code = await this.runTargets();
      // As a tool stopped by SIGPIPE (cli/start.ts), once the build is cleaned up.
      return outputGone ? EXIT_OUTPUT_GONE : code;
    } finally {
      stopHandling();
      for (const signal of INTERRUPTS) process.off(signal, onSignal);
    }
  }

  private onSignal(signal: NodeJS.Signals, why = `received ${signal}`): void {
    const now = Date.now();
    if (this.interrupted) {
      // A second, later signal: stop being gentle with the running step.
      if (now - this.firstSignalAt > 2000) void this.current?.stop(0);
      return;
    }
    this.interrupted = signal;
    this.firstSignalAt = now;
    this.reporter.warn(`${why}: stopping the running step, then cleaning up`);
    void this.current?.stop();
  }

  private checkInterrupt(): void {
    if (this.interrupted) throw new Interrupted(this.interrupted);
  }

  private finish(exitCode: number, status: "ok" | "fail" | "skipped" | "locked" | "config-error" | "interrupted"): number {
    this.reporter.emit({ event: "build-end", exitCode, status, durationMs: Date.now() - this.started });
    return exitCode;
  }

  private async runTargets(): Promise<number> {
    const { config, args } = this.request;
    let initial: Settings;
    let targets: string[];
    try {
      initial = Settings.load({ config, args });
      targets = selectTargets(initial);
    } catch (error) {
      this.reporter.error(messageOf(error));
      return this.finish(EXIT_CONFIG, "config-error");
    }
    this.reporter.emit({ event: "build-start", targets, dryRun: false });

    // Before any lock, kill, unmount or write: every target's paths and the
    // files the build will write in the mirror.
    const tmps = new Set<string>();
    let mirror: string;
    let statusPath: string;
    let failCountPath: string;
    let official: boolean;
    try {
      mirror = checkedMirror(initial);
      const control = initial.str("path/mirror/target/control");
      const targetPath = initial.str("path/mirror/target/path");
      statusPath = join(targetPath, "status");
      failCountPath = join(control, ".failcount");
      official = isOfficial(initial);
      for (const file of [statusPath, join(targetPath, ".targets"), failCountPath]) checkMirrorFile(file, mirror);
      if (targets.some((t) => t !== "snapshot")) inspectLock(join(control, ".multi_progress"));
      for (const name of targets) {
        const paths = this.preflight(name);
        if (paths) tmps.add(paths.tmp);
      }
    } catch (error) {
      this.reporter.error(messageOf(error));
      return error instanceof ConfigError ? this.finish(EXIT_CONFIG, "config-error") : this.finish(EXIT_FAILED, "fail");
    }
    const isolation = stepIsolationPrefix();
    if (!isolation.prefix.length) this.reporter.warn(`steps run without a private PID namespace (${isolation.why}): a killed builder may leave step processes behind`);

    const locks: Lock[] = [];
    const releaseAll = () => {
      for (const lock of locks.reverse()) lock.release();
      locks.length = 0;
    };
    try {
      // path/tmp first: two builds sharing it (whatever their mirrors) never clean each other's work.
      for (const tmp of tmps) {
        ensureDir(tmp, "/", { mode: 0o700 });
        checkTmpRoot(tmp); // again: it may have been made by someone else since the first check
        const lock = new Lock(tmpLockPath(tmp), tmp);
        lock.acquire((l) => this.reporter.info(l));
        locks.push(lock);
      }
      const building = targets.filter((t) => t !== "snapshot");
      if (building.length) {
        const control = initial.str("path/mirror/target/control");
        // Like metro, any build of non-snapshot targets takes the multi lock of its control directory.
        const multiLock = new Lock(join(control, ".multi_progress"), mirror);
        multiLock.acquire((l) => this.reporter.info(l));
        locks.push(multiLock);
        writeFileGuarded(join(initial.str("path/mirror/target/path"), ".targets"), mirror, building.map((t) => t + "\n").join(""), { what: "the target list" });
      }
    } catch (error) {
      releaseAll();
      if (error instanceof LockHeldError) {
        this.reporter.error(`${error.message}; not building`);
        return this.finish(EXIT_LOCKED, "locked");
      }
      this.reporter.error(messageOf(error));
      return error instanceof ConfigError ? this.finish(EXIT_CONFIG, "config-error") : this.finish(EXIT_FAILED, "fail");
    }

    let outcome: "ok" | "skipped" | "fail" | "config" | "locked" | "interrupted" = "skipped";
    try {
      for (const name of targets) {
        const result = await this.runOneTarget(name, mirror);
        if (result === "ok") outcome = "ok";
        if (result === "fail" || result === "config" || result === "locked" || result === "interrupted") {
          outcome = result;
          break;
        }
      }
    } finally {
      releaseAll();
    }

    if (outcome === "config") return this.finish(EXIT_CONFIG, "config-error");
    if (outcome === "locked") return this.finish(EXIT_LOCKED, "locked");
    try {
      if (outcome === "fail" || outcome === "interrupted") {
        if (official) {
          const count = incrementFailCount(failCountPath, mirror);
          this.reporter.info(`failure count is now ${count} (${failCountPath})`);
        }
        writeFileGuarded(statusPath, mirror, "fail", { what: "the status file" });
      } else {
        if (official) removeFailCount(failCountPath, mirror);
        writeFileGuarded(statusPath, mirror, "ok", { what: "the status file" });
      }
    } catch (error) {
      this.reporter.error(`could not record the build status: ${messageOf(error)}`);
      return this.finish(EXIT_FAILED, "fail");
    }
    if (outcome === "fail") return this.finish(EXIT_FAILED, "fail");
    if (outcome === "interrupted") return this.finish(EXIT_FAILED, "interrupted");
    return this.finish(EXIT_OK, outcome);
  }

  /**
   * One target's paths, checked before the build takes a lock or touches
   * anything: path/tmp, path/work (strictly inside it), the paths steps use
   * unquoted, path/cache/build when clean/auto removes it, and the files the
   * target writes in the mirror. A ConfigError (exit 2) for a path that is
   * wrong as written; a SafetyError or GuardedFsError (exit 1) for what is on
   * disk (a link on the way, a lock that is a directory). Null for a target
   * that will not run (a snapshot of a QA build).
   */
  private preflight(name: string): TargetPaths | null {
    const settings = Settings.load({ config: this.request.config, args: { ...this.request.args, target: name } });
    if (name === "snapshot" && !isOfficial(settings)) return null;
    const facts = targetFacts(settings, name);
    const { tmp, mirror } = checkConfiguredPaths(settings, facts);
    checkedDir(facts.work, tmp, "path/work");
    if (facts.logPath) {
      checkMirrorFile(facts.logPath, mirror);
      checkMirrorFile(join(dirname(facts.logPath), "errors.json"), mirror);
    }
    assertNoLinks(dirname(facts.lockPath), mirror, "the lock directory");
    inspectLock(facts.lockPath);
    return { tmp, mirror };
  }

  private async runOneTarget(name: string, mirror: string): Promise<"ok" | "skipped" | "fail" | "config" | "locked" | "interrupted"> {
    if (this.interrupted) return "interrupted";
    let settings: Settings;
    let facts: TargetFacts;
    let actions: Action[];
    let scripts: Map<string, string[]>;
    let required: { key: string; pattern: string }[];
    try {
      settings = Settings.load({ config: this.request.config, args: { ...this.request.args, target: name } });
      if (name === "snapshot" && !isOfficial(settings)) {
        this.reporter.emit({ event: "target-skip", target: name, reason: "snapshots are only built for official releases" });
        return "skipped";
      }
      facts = targetFacts(settings, name);
      actions = planTarget(facts.cls, facts.official);
      // metro looks for the required files before any step: a key it cannot expand is where it stops.
      const patterns = requiredPatterns(settings, facts);
      if (patterns.stop !== null) throw patterns.stop;
      required = patterns.required;
      scripts = resolveScripts(settings, facts.skip ? [TRIGGER_OK] : actions);
    } catch (error) {
      this.reporter.error(messageOf(error), name);
      return "config";
    }

    if (facts.skip) {
      this.reporter.emit({ event: "target-skip", target: name, reason: facts.skip });
      if (!facts.official) return "skipped";
      // metro still runs the success trigger of an official target that exists (links, control files).
      let log: TargetLog | null = null;
      try {
        log = new TargetLog(facts.logPath, settings, mirror, false, (m) => this.reporter.error(m, name));
        log.write(`${facts.output} already exists - skipping`);
        await this.runScriptAction(facts, log, scripts, TRIGGER_OK, mirror);
        if (log.failure) throw new BuildFailure(log.failure);
        return "skipped";
      } catch (error) {
        this.reporter.error(messageOf(error), name);
        return error instanceof Interrupted ? "interrupted" : "fail";
      } finally {
        log?.close();
        removeHostScripts(facts.tmp, facts.keep);
      }
    }

    if (facts.official && facts.output !== null && settings.options().includes("replace") && existsSync(facts.output)) {
      this.reporter.info(`removing existing ${facts.output} (replace is in metro/options)`, name);
      try {
        unlinkGuarded(facts.output, mirror, "the existing output");
      } catch (error) {
        this.reporter.error(`cannot remove ${facts.output}: ${messageOf(error)}`, name);
        return "fail";
      }
    }

    const lock = new Lock(facts.lockPath, mirror);
    try {
      lock.acquire((l) => this.reporter.info(l, name));
    } catch (error) {
      if (error instanceof LockHeldError && name === "snapshot") {
        // metro waits for another snapshot of the same tree; if it finishes, the snapshot exists.
        return await this.waitForSnapshot(facts, error);
      }
      this.reporter.error(messageOf(error), name);
      return error instanceof LockHeldError ? "locked" : "fail";
    }

    const started = Date.now();
    let log: TargetLog;
    try {
      log = new TargetLog(facts.logPath, settings, mirror, true, (m) => this.reporter.error(m, name));
    } catch (error) {
      lock.release();
      this.reporter.error(messageOf(error), name);
      return "fail";
    }
    const mesg = (line: string) => {
      log.write(line);
      this.reporter.info(line, name);
    };
    this.reporter.emit({ event: "target-start", target: name, class: facts.cls, log: facts.logPath });
    log.write(`Running target ${name} with class ${facts.cls}`);
    for (const note of facts.notes) mesg(note);
    let result: "ok" | "fail" | "interrupted" = "ok";
    let message: string | undefined;
    try {
      if (facts.chrootProblem) throw new BuildFailure(facts.chrootProblem);
      for (const { key, pattern } of required) {
        const found = findRequiredFile(key, pattern);
        if (!found.ok) throw new BuildFailure(found.problem);
        if (found.uncompressed) mesg(`found uncompressed file ${found.path}`);
      }
      for (const action of actions) {
        this.checkInterrupt();
        await this.runAction(action, facts, settings, log, scripts, mirror);
        if (log.failure) throw new BuildFailure(log.failure);
      }
      this.checkInterrupt();
    } catch (error) {
      result = error instanceof Interrupted ? "interrupted" : "fail";
      message = messageOf(error);
      log.write(`Target failed: ${message}`);
      if (facts.cls !== "snapshot") {
        try {
          this.unmountWork(facts, log);
        } catch (cleanupError) {
          const text = messageOf(cleanupError);
          log.write(text);
          this.reporter.error(text, name);
        }
      }
    } finally {
      lock.release();
      removeHostScripts(facts.tmp, facts.keep);
      log.write(result === "ok" ? "Target run complete" : `Target ${name}: ${result}`);
      log.close();
    }
    this.reporter.emit({ event: "target-end", target: name, status: result === "ok" ? "ok" : "fail", durationMs: Date.now() - started, log: facts.logPath, error: message });
    return result;
  }

  private async waitForSnapshot(facts: TargetFacts, error: LockHeldError): Promise<"skipped" | "fail" | "interrupted"> {
    this.reporter.info(`${error.message}; waiting up to 15 minutes for that snapshot`, facts.name);
    const deadline = Date.now() + 15 * 60 * 1000;
    while (Date.now() < deadline) {
      if (this.interrupted) return "interrupted";
      try {
        if (inspectLock(facts.lockPath).state !== "held") return "skipped";
      } catch (error) {
        this.reporter.error(messageOf(error), facts.name);
        return "fail";
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
    this.reporter.error(`the other snapshot did not finish within 15 minutes`, facts.name);
    return "fail";
  }

  /** Kills what runs in the chroot and unmounts everything below path/work, once path/work is checked again. */
  private unmountWork(facts: TargetFacts, log: TargetLog): void {
    const say = (l: string) => log.write(l);
    const work = checkedDir(facts.work, facts.tmp, "path/work");
    killProcessesInside(work, say);
    unmountBelow(work, say, () => killProcessesInside(work, say));
  }

  private async runAction(action: Action, facts: TargetFacts, settings: Settings, log: TargetLog, scripts: Map<string, string[]>, mirror: string): Promise<void> {
    const say = (l: string) => log.write(l);
    const killInside = (dir: CheckedDir) => killProcessesInside(dir, say);
    switch (action.kind) {
      case "script":
        return this.runScriptAction(facts, log, scripts, action, mirror);
      case "clean-stale-work": {
        const prefix = settings.optionalStr("target/name/prefix");
        if (!prefix) return;
        const parent = dirname(facts.work);
        for (const path of staleWorkDirs(parent, prefix)) {
          say(`cleaning ${path}`);
          try {
            safeRemove(path, facts.tmp, "an old work directory", facts.keep, say, killInside);
          } catch (error) {
            throw new BuildFailure(messageOf(error));
          }
        }
        return;
      }
      case "clean-work":
        return this.timed(facts, action, log, () => {
          if (existsSync(facts.work)) say(`cleaning up ${facts.work}`);
          safeRemove(facts.work, facts.tmp, "path/work", facts.keep, say, killInside);
          if (action.recreate) {
            prepareTmp(facts.tmp, say);
            ensureDir(facts.work, facts.tmp, { mode: 0o700, last: { mode: 0o700 } });
            checkedDir(facts.work, facts.tmp, "path/work"); // what existed on the way is root's alone
          }
        });
      case "mount":
        return this.timed(facts, action, log, () => bindChroot(checkedDir(facts.work, facts.tmp, "path/work"), facts.tmp, facts.mounts, say));
      case "unmount":
        return this.timed(facts, action, log, () => this.unmountWork(facts, log));
      case "clean-build-cache": {
        if (!settings.options().includes("clean/auto")) return;
        const cache = settings.optionalStr("path/cache/build");
        if (!cache) return;
        return this.timed(facts, action, log, () => safeRemove(cache, facts.tmp, "path/cache/build", facts.keep, say));
      }
    }
  }

  /** Non-script actions get a step line too, so the output shows where time goes. */
  private async timed(facts: TargetFacts, action: Action, log: TargetLog, body: () => void): Promise<void> {
    const step = describeAction(action);
    const started = Date.now();
    try {
      body();
    } catch (error) {
      this.reporter.emit({ event: "step-end", target: facts.name, step, exitCode: null, durationMs: Date.now() - started, log: facts.logPath, ok: false });
      if (error instanceof SafetyError || error instanceof ConfigError || error instanceof GuardedFsError) throw new BuildFailure(error.message);
      throw new BuildFailure(`${step}: ${messageOf(error)}`);
    }
    log.write(`${step}: done`);
    this.reporter.emit({ event: "step-end", target: facts.name, step, exitCode: 0, durationMs: Date.now() - started, log: facts.logPath, ok: true });
  }

  private async runScriptAction(facts: TargetFacts, log: TargetLog, scripts: Map<string, string[]>, action: Action & { kind: "script" }, mirror: string): Promise<void> {
    const lines = scripts.get(action.key);
    if (!lines) return; // optional and not defined
    let path: string;
    let argv: string[];
    // A chroot step's script goes into the unpacked tree, which is not ours:
    // no link below path/work is followed (a tmp -> /etc in a seed is refused).
    let root: string;
    if (action.chroot) {
      path = join(facts.work, chrootScriptPath(action.key));
      argv = chrootArgv(facts.chrootCommand, facts.work, action.key, lines);
      root = checkedDir(facts.work, facts.tmp, "path/work");
    } else {
      path = hostScriptPath(facts.tmp, action.key);
      argv = hostArgv(path, lines);
      root = facts.tmp;
    }
    try {
      if (!action.chroot) {
        // Root runs this file: path/tmp and every folder down to it must be root's alone (paths.ts).
        ensureDir(dirname(path), root);
        checkedDir(dirname(path), facts.tmp, "the host scripts' folder", "write in");
      }
      writeFileGuarded(path, root, scriptText(lines), { mode: 0o755, what: `the script of ${action.key}` });
    } catch (error) {
      throw new BuildFailure(messageOf(error));
    }
    argv = [...stepIsolationPrefix().prefix, ...argv];

    log.write(`run_script: running ${action.key}: ${argv.join(" ")}`);
    this.reporter.emit({ event: "step-start", target: facts.name, step: action.key, chroot: action.chroot, script: path });
    const started = Date.now();
    this.reporter.startProgress(action.key, facts.logPath);
    const running = new RunningScript(argv, stepEnvironment(), log.output === "inherit" ? 2 : log.output, process.cwd());
    this.current = running;
    if (this.interrupted) void running.stop();
    const result = await running.done;
    this.current = null;
    this.reporter.stopProgress();
    const ok = result.exitCode === 0 && !this.interrupted;
    const durationMs = Date.now() - started;
    this.reporter.emit({ event: "step-end", target: facts.name, step: action.key, exitCode: result.exitCode, signal: result.signal, durationMs, log: facts.logPath, ok });
    if (this.interrupted) throw new Interrupted(this.interrupted);
    if (!ok) {
      const why = result.spawnError ? `could not start: ${result.spawnError}` : result.signal ? `killed by ${result.signal}` : `exit code ${result.exitCode}`;
      log.write(`Command exited with ${why}`);
      if (action.errorScan && facts.logPath) this.scanErrors(facts.logPath, log, mirror);
      throw new BuildFailure(`step ${action.key} failed (${why}); see ${facts.logPath ?? "the output above"}`);
    }
    // A clean step may have removed its own script already.
    try {
      unlinkGuarded(path, root, `the script of ${action.key}`);
    } catch (error) {
      throw new BuildFailure(messageOf(error));
    }
  }

  private scanErrors(logPath: string, log: TargetLog, mirror: string): void {
    let errors: { ebuild: string; phase: string }[];
    try {
      // The whole log, line by line: a log of any size is scanned in constant memory.
      errors = extractErrors([...(pickLines(logPath, "the log", (line) => line.startsWith(" * ERROR: ")) ?? [])].join("\n"));
    } catch {
      return;
    }
    if (!errors.length) return;
    const out = join(dirname(logPath), "errors.json");
    log.write(`Detected failed ebuilds... writing to ${out}.`);
    try {
      writeFileGuarded(out, mirror, JSON.stringify(errors, null, 4), { what: "the failed-ebuild list" });
    } catch (error) {
      log.write(messageOf(error));
      this.reporter.error(messageOf(error));
    }
  }
}

/** Host scripts live in <path/tmp>/pid/<our pid>/; nothing is ever mounted there. */
function removeHostScripts(tmp: string, keep: readonly KeptPath[]): void {
  const dir = dirname(hostScriptPath(tmp, "x"));
  try {
    safeRemove(dir, tmp, "host scripts", keep, () => undefined);
    rmdirSync(checkedDir(dirname(dir), tmp, "host scripts"));
  } catch {
    // not empty (another build's scripts), already gone, or refused (reported when it was written)
  }
}

/** Work directories of earlier builds of the same target: siblings of path/work starting with the prefix. */
function staleWorkDirs(parent: string, prefix: string): string[] {
  let entries: Dirent[];
  try {
    entries = readdirSync(parent, { withFileTypes: true });
  } catch {
    return [];
  }
  // Folders (and links, which safeRemove refuses by name); never a file such as path/tmp's lock.
  return entries.filter((e) => e.name.startsWith(prefix) && (e.isDirectory() || e.isSymbolicLink())).map((e) => join(parent, e.name));
}

/**
 * metro makes path/tmp mode 0700 so world-writable directories in the
 * chroots cannot be reached by other users. A shared, sticky directory
 * (someone configured path/tmp: /tmp) is left alone.
 */
function prepareTmp(tmp: string, say: (l: string) => void): void {
  checkTmpRoot(tmp);
  if (!existsSync(tmp)) {
    ensureDir(tmp, "/", { mode: 0o700 });
    return;
  }
  const mode = lstatSync(tmp).mode;
  if (mode & 0o1000) {
    say(`path/tmp ${tmp} is a shared sticky directory; leaving its permissions alone`);
    return;
  }
  chmodSync(tmp, 0o700);
}

/** A file the build writes in the mirror: no link on its way below path/mirror, and itself a regular file or missing. */
function checkMirrorFile(path: string, mirror: string): void {
  assertNoLinks(dirname(path), mirror, "the directory");
  assertRegularOrMissing(path, "the file");
}
