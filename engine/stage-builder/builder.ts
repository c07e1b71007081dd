// The build loop: metro's run_targets, with safer cleanup and clear exit codes.
//
//   0  every target built or was skipped
//   1  a target failed (a step, a missing input, an interrupt, a safety refusal)
//   2  usage or configuration error (nothing more is attempted)
//   3  another build holds a lock
//
// Differences from metro, on purpose:
// - A held per-target lock exits 3 and leaves `status` alone (metro wrote
//   `ok` in that case).
// - An interrupt records `status: fail` (and `.failcount` for official
//   builds) after unmounting; metro recorded nothing.
// - Every step that exists is expanded before the target starts, so a
//   configuration error stops the build before anything is unpacked.
// - A skipped official target's log is appended to, not truncated.
// - Snapshot targets log to path/mirror/target/path/log/snapshot.txt too
//   (metro printed their output only).
// - A configuration error met while preparing a target (a bad value, an
//   unknown class, a missing required step) exits 2 and leaves `status` and
//   `.failcount` alone: nothing was attempted.

import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync, unlinkSync, writeFileSync, writeSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { ConfigError, Settings, messageOf, type ContextArgs } from "./settings";
import { describeAction, planTarget, requiredFileKeys, resolveScripts, type Action } from "./plan";
import { selectTargets, targetFacts, type TargetFacts } from "./targets";
import { Lock, LockHeldError, incrementFailCount, inspectLock, removeFailCount } from "./locks";
import { SafetyError, bindChroot, canonical, checkDeletable, isInside, safeRemove, unmountBelow } from "./mounts";
import { RunningScript, killProcessesInside } from "./processes";
import { findRequiredFile } from "./files";
import { chrootArgv, chrootScriptPath, extractErrors, hostArgv, hostScriptPath, scriptText, stepEnvironment } from "./scripts";
import type { Reporter } from "./reporter";

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_CONFIG = 2;
export const EXIT_LOCKED = 3;

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

/** One target's log: messages from the builder and every step's output, in one file. */
class TargetLog {
  private fd: number | null = null;

  constructor(readonly path: string | null, settings: Settings, truncate: boolean) {
    if (!path) return;
    const dir = dirname(path);
    if (!existsSync(dir)) {
      const owner = settings.optionalStr("path/mirror/owner");
      const group = settings.optionalStr("path/mirror/group");
      const mode = settings.optionalStr("path/mirror/dirmode");
      mkdirSync(dirname(dir), { recursive: true });
      const args = ["-d", ...(owner ? ["-o", owner] : []), ...(group ? ["-g", group] : []), ...(mode ? ["-m", mode] : []), dir];
      const r = spawnSync("install", args, { encoding: "utf8" });
      if (r.status !== 0) mkdirSync(dir, { recursive: true });
    }
    if (truncate || !existsSync(path)) writeFileSync(path, "");
    this.fd = openSync(path, "a");
    const owner = settings.optionalStr("path/mirror/owner");
    if (owner) spawnSync("chown", [`${owner}:${settings.optionalStr("path/mirror/group") ?? ""}`.replace(/:$/, ""), path]);
  }

  /** File descriptor for a step's stdout and stderr ("ignore" when there is no log). */
  get output(): number | "inherit" {
    return this.fd ?? "inherit";
  }

  write(line: string): void {
    if (this.fd !== null) writeSync(this.fd, line + "\n");
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
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

  /** Runs the build; installs SIGINT/SIGTERM handlers for its duration. */
  async run(): Promise<number> {
    const onSignal = (signal: NodeJS.Signals) => this.onSignal(signal);
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    try {
      return await this.runTargets();
    } finally {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    }
  }

  private onSignal(signal: NodeJS.Signals): void {
    const now = Date.now();
    if (this.interrupted) {
      // A second, later signal: stop being gentle with the running step.
      if (now - this.firstSignalAt > 2000) void this.current?.stop(0);
      return;
    }
    this.interrupted = signal;
    this.firstSignalAt = now;
    this.reporter.warn(`received ${signal}: stopping the running step, then cleaning up`);
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

    let multiLock: Lock | null = null;
    let statusPath: string;
    let failCountPath: string;
    let official: boolean;
    try {
      const control = initial.str("path/mirror/target/control");
      const targetPath = initial.str("path/mirror/target/path");
      statusPath = join(targetPath, "status");
      failCountPath = join(control, ".failcount");
      official = initial.optionalStr("release/type") === "official";
      const building = targets.filter((t) => t !== "snapshot");
      if (building.length) {
        // Like metro, any build of non-snapshot targets takes the multi lock of its control directory.
        multiLock = new Lock(join(control, ".multi_progress"));
        multiLock.acquire((l) => this.reporter.info(l));
        mkdirSync(targetPath, { recursive: true });
        writeFileSync(join(targetPath, ".targets"), building.map((t) => t + "\n").join(""));
      }
    } catch (error) {
      multiLock?.release();
      if (error instanceof LockHeldError) {
        this.reporter.error(`${error.message}; not building`);
        return this.finish(EXIT_LOCKED, "locked");
      }
      this.reporter.error(messageOf(error));
      return this.finish(EXIT_CONFIG, "config-error");
    }

    let outcome: "ok" | "skipped" | "fail" | "config" | "locked" | "interrupted" = "skipped";
    try {
      for (const name of targets) {
        const result = await this.runOneTarget(name);
        if (result === "ok") outcome = "ok";
        if (result === "fail" || result === "config" || result === "locked" || result === "interrupted") {
          outcome = result;
          break;
        }
      }
    } finally {
      multiLock?.release();
    }

    if (outcome === "config") return this.finish(EXIT_CONFIG, "config-error");
    if (outcome === "locked") return this.finish(EXIT_LOCKED, "locked");
    try {
      mkdirSync(dirname(statusPath), { recursive: true });
      if (outcome === "fail" || outcome === "interrupted") {
        if (official) {
          const count = incrementFailCount(failCountPath);
          this.reporter.info(`failure count is now ${count} (${failCountPath})`);
        }
        writeFileSync(statusPath, "fail");
      } else {
        if (official) removeFailCount(failCountPath);
        writeFileSync(statusPath, "ok");
      }
    } catch (error) {
      this.reporter.error(`could not record the build status: ${messageOf(error)}`);
      return this.finish(EXIT_FAILED, "fail");
    }
    if (outcome === "fail") return this.finish(EXIT_FAILED, "fail");
    if (outcome === "interrupted") return this.finish(EXIT_FAILED, "interrupted");
    return this.finish(EXIT_OK, outcome);
  }

  private async runOneTarget(name: string): Promise<"ok" | "skipped" | "fail" | "config" | "locked" | "interrupted"> {
    if (this.interrupted) return "interrupted";
    let settings: Settings;
    let facts: TargetFacts;
    let actions: Action[];
    let scripts: Map<string, string[]>;
    try {
      settings = Settings.load({ config: this.request.config, args: { ...this.request.args, target: name } });
      if (name === "snapshot" && settings.optionalStr("release/type") !== "official") {
        this.reporter.emit({ event: "target-skip", target: name, reason: "snapshots are only built for official releases" });
        return "skipped";
      }
      facts = targetFacts(settings, name);
      actions = planTarget(facts.cls, facts.official);
      scripts = resolveScripts(settings, facts.skip ? [{ kind: "script", key: "trigger/ok/run", chroot: false, optional: true, errorScan: false }] : actions);
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
        log = new TargetLog(facts.logPath, settings, false);
        log.write(`${facts.output} already exists - skipping`);
        await this.runScriptAction(facts, log, scripts, { kind: "script", key: "trigger/ok/run", chroot: false, optional: true, errorScan: false });
        return "skipped";
      } catch (error) {
        this.reporter.error(messageOf(error), name);
        return error instanceof Interrupted ? "interrupted" : "fail";
      } finally {
        log?.close();
        removeHostScripts(facts.tmp);
      }
    }

    if (facts.official && settings.options().includes("replace") && existsSync(facts.output)) {
      this.reporter.info(`removing existing ${facts.output} (replace is in metro/options)`, name);
      try {
        unlinkSync(facts.output);
      } catch (error) {
        this.reporter.error(`cannot remove ${facts.output}: ${messageOf(error)}`, name);
        return "fail";
      }
    }

    const lock = new Lock(facts.lockPath);
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
      log = new TargetLog(facts.logPath, settings, true);
    } catch (error) {
      lock.release();
      this.reporter.error(`cannot open the log ${facts.logPath}: ${messageOf(error)}`, name);
      return "fail";
    }
    const mesg = (line: string) => {
      log.write(line);
      this.reporter.info(line, name);
    };
    this.reporter.emit({ event: "target-start", target: name, class: facts.cls, log: facts.logPath });
    log.write(`Running target ${name} with class ${facts.cls}`);
    let result: "ok" | "fail" | "interrupted" = "ok";
    let message: string | undefined;
    try {
      if (facts.chrootProblem) throw new BuildFailure(facts.chrootProblem);
      for (const key of requiredFileKeys(facts.cls, facts.official)) {
        const found = findRequiredFile(key, settings.str(key));
        if (!found.ok) throw new BuildFailure(found.problem);
        if (found.uncompressed) mesg(`found uncompressed file ${found.path}`);
      }
      for (const action of actions) {
        this.checkInterrupt();
        await this.runAction(action, facts, settings, log, scripts);
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
      removeHostScripts(facts.tmp);
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
      if (inspectLock(facts.lockPath).state !== "held") return "skipped";
      await new Promise((r) => setTimeout(r, 1000));
    }
    this.reporter.error(`the other snapshot did not finish within 15 minutes`, facts.name);
    return "fail";
  }

  private unmountWork(facts: TargetFacts, log: TargetLog): void {
    const say = (l: string) => log.write(l);
    killProcessesInside(facts.work, say);
    unmountBelow(facts.work, say, () => killProcessesInside(facts.work, say));
  }

  private async runAction(action: Action, facts: TargetFacts, settings: Settings, log: TargetLog, scripts: Map<string, string[]>): Promise<void> {
    const say = (l: string) => log.write(l);
    const killInside = () => killProcessesInside(facts.work, say);
    switch (action.kind) {
      case "script":
        return this.runScriptAction(facts, log, scripts, action);
      case "clean-stale-work": {
        const prefix = settings.optionalStr("target/name/prefix");
        if (!prefix) return;
        const parent = dirname(facts.work);
        for (const path of staleWorkDirs(parent, prefix)) {
          say(`cleaning ${path}`);
          safeRemove(path, facts.tmp, "an old work directory", say, () => killProcessesInside(path, say));
        }
        return;
      }
      case "clean-work":
        return this.timed(facts, action, log, () => {
          if (existsSync(facts.work)) say(`cleaning up ${facts.work}`);
          safeRemove(facts.work, facts.tmp, "path/work", say, killInside);
          if (action.recreate) {
            prepareTmp(facts.tmp, say);
            mkdirSync(facts.work, { recursive: true, mode: 0o700 });
            chmodSync(facts.work, 0o700);
          }
        });
      case "mount":
        return this.timed(facts, action, log, () => bindChroot(facts.work, facts.mounts, say));
      case "unmount":
        return this.timed(facts, action, log, () => this.unmountWork(facts, log));
      case "clean-build-cache": {
        if (!settings.options().includes("clean/auto")) return;
        const cache = settings.optionalStr("path/cache/build");
        if (!cache) return;
        return this.timed(facts, action, log, () => safeRemove(cache, facts.tmp, "path/cache/build", say));
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
      if (error instanceof SafetyError || error instanceof ConfigError) throw new BuildFailure(error.message);
      throw new BuildFailure(`${step}: ${messageOf(error)}`);
    }
    log.write(`${step}: done`);
    this.reporter.emit({ event: "step-end", target: facts.name, step, exitCode: 0, durationMs: Date.now() - started, log: facts.logPath, ok: true });
  }

  private async runScriptAction(facts: TargetFacts, log: TargetLog, scripts: Map<string, string[]>, action: Action & { kind: "script" }): Promise<void> {
    const lines = scripts.get(action.key);
    if (!lines) return; // optional and not defined
    let path: string;
    let argv: string[];
    if (action.chroot) {
      path = join(facts.work, chrootScriptPath(action.key));
      argv = chrootArgv(facts.chrootCommand, facts.work, action.key, lines);
    } else {
      path = hostScriptPath(facts.tmp, action.key);
      argv = hostArgv(path, lines);
    }
    mkdirSync(dirname(path), { recursive: true });
    if (action.chroot && !isInside(canonical(path), canonical(facts.work))) {
      throw new BuildFailure(`refusing to write ${action.key}: ${path} resolves outside the chroot (${canonical(path)})`);
    }
    writeFileSync(path, scriptText(lines), { mode: 0o755 });
    chmodSync(path, 0o755);

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
      if (action.errorScan && facts.logPath) this.scanErrors(facts.logPath, log);
      throw new BuildFailure(`step ${action.key} failed (${why}); see ${facts.logPath ?? "the output above"}`);
    }
    // A clean step may have removed its own script already.
    if (existsSync(path)) unlinkSync(path);
  }

  private scanErrors(logPath: string, log: TargetLog): void {
    let errors: { ebuild: string; phase: string }[];
    try {
      errors = extractErrors(readFileSync(logPath, "utf8"));
    } catch {
      return;
    }
    if (!errors.length) return;
    const out = join(dirname(logPath), "errors.json");
    log.write(`Detected failed ebuilds... writing to ${out}.`);
    writeFileSync(out, JSON.stringify(errors, null, 4));
  }
}

/** Host scripts live in <path/tmp>/pid/<our pid>/; nothing is ever mounted there. */
function removeHostScripts(tmp: string): void {
  const dir = dirname(hostScriptPath(tmp, "x"));
  try {
    checkDeletable(dir, tmp, "host scripts");
    rmSync(dir, { recursive: true, force: true });
    rmdirSync(dirname(dir));
  } catch {
    // not empty (another build's scripts) or already gone
  }
}

/** Work directories of earlier builds of the same target: siblings of path/work starting with the prefix. */
function staleWorkDirs(parent: string, prefix: string): string[] {
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return [];
  }
  return names.filter((n) => n.startsWith(prefix)).map((n) => join(parent, n));
}

/**
 * metro makes path/tmp mode 0700 so world-writable directories in the
 * chroots cannot be reached by other users. A shared, sticky directory
 * (someone configured path/tmp: /tmp) is left alone.
 */
function prepareTmp(tmp: string, say: (l: string) => void): void {
  if (!existsSync(tmp)) {
    mkdirSync(tmp, { recursive: true, mode: 0o700 });
    return;
  }
  const mode = statSync(tmp).mode;
  if (mode & 0o1000) {
    say(`path/tmp ${tmp} is a shared sticky directory; leaving its permissions alone`);
    return;
  }
  chmodSync(tmp, 0o700);
}
