// Which targets a build runs, and the per-target facts derived from its
// settings (lock path, output, log, skip rules, bind mounts), shared by the
// real run and --dry-run.

import { existsSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { machine } from "node:os";
import { ConfigError, type Settings } from "./settings";
import { isOfficial, targetClass, type TargetClass } from "./plan";
import type { BindMount } from "./mounts";
import { keptPaths, type KeptPath } from "./paths";
import { hostArch, NATIVE_SUPPORT } from "./processes";
import { excerpt, excerptPath } from "../../language";

/** metro's target list: `multi/targets` plus `multi/extras` when `multi` is `yes`, else `target`. */
export function selectTargets(initial: Settings): string[] {
  if (initial.has("multi") && initial.value("multi") === "yes") {
    return parseTargetList(initial.str("multi/targets"), initial.has("multi/extras") ? initial.str("multi/extras") : undefined);
  }
  if (!initial.has("target")) {
    throw new ConfigError(`${initial.label}: nothing to build: give target: NAME (or multi: yes with multi/targets)`, "target");
  }
  return [initial.str("target")];
}

/** `multi/targets` split into words, then `multi/extras` (split on "+" when it has one, else into words). */
export function parseTargetList(targets: string, extras: string | undefined): string[] {
  const out = targets.split(/\s+/).filter((t) => t !== "");
  if (extras !== undefined) {
    const words = extras.includes("+") ? extras.split("+") : extras.split(/\s+/);
    out.push(...words.map((w) => w.trim()).filter((w) => w !== ""));
  }
  return out;
}

/** The caches metro can bind into a chroot: the setting, the metro/options word that enables it (null: always), where it appears inside. */
export const CACHES: readonly { key: string; option: string | null; inside: string }[] = [
  { key: "path/cache/package", option: null, inside: "/var/tmp/cache/package" },
  { key: "path/cache/kernel", option: "cache/kernel", inside: "/var/tmp/cache/kernel" },
  { key: "path/cache/probe", option: "probe", inside: "/var/tmp/cache/probe" },
];

export interface TargetFacts {
  name: string;
  cls: TargetClass;
  official: boolean;
  /** The file this target produces (its existence skips official builds); null for a QA target whose path/mirror/target expands to nothing (metro never tests it). */
  output: string | null;
  lockPath: string;
  /** path/mirror/target/path/log/<target>.txt, or null when the target path cannot be resolved (snapshots). */
  logPath: string | null;
  work: string;
  tmp: string;
  /** Why the target is skipped, or null. */
  skip: string | null;
  /** Argument vector prefix that enters the chroot: [linux32?] chroot|fchroot. */
  chrootCommand: string[];
  /** Set when the target needs a non-native chroot helper that is missing. */
  chrootProblem: string | null;
  /** What the builder does beyond metro and leaves out here (a cache metro/options asks for that is not defined). */
  notes: string[];
  mounts: BindMount[];
  /** What no tree this target removes may hold: the mirror, the configuration, the seed, the caches (paths.ts keptPaths). */
  keep: KeptPath[];
}

/**
 * Why metro skips a target on this machine: an official target whose output
 * already exists (metro/options has no replace; only trigger/ok/run runs), or
 * a QA target whose target path holds a status file (a build that already ran).
 */
export interface TargetSkip {
  reason: "output-exists" | "status-exists";
  /** The file whose presence skips it. */
  path: string;
}

/** The facts of this machine a run depends on: which files exist (the mirror's outputs, status files). */
export interface RunMachine {
  exists(path: string): boolean;
}

export const THIS_MACHINE: RunMachine = { exists: (path) => existsSync(path) };

/**
 * metro's rule for skipping a target, for the build and for the run's
 * analysis (uses.ts). Only what the rule reads is asked for: the options and
 * the output of an official target, the target path of a QA one.
 */
export function targetSkip(
  official: boolean,
  read: { options(): string[]; output(): string | undefined; targetPath(): string | undefined },
  machine: RunMachine = THIS_MACHINE,
): TargetSkip | null {
  if (official) {
    if (read.options().includes("replace")) return null;
    const output = read.output();
    return output !== undefined && machine.exists(output) ? { reason: "output-exists", path: output } : null;
  }
  const targetPath = read.targetPath();
  if (targetPath === undefined) return null;
  const status = join(targetPath, "status");
  return machine.exists(status) ? { reason: "status-exists", path: status } : null;
}

export function targetFacts(settings: Settings, name: string): TargetFacts {
  // In metro's order, so that a context that cannot be built fails on the
  // value metro fails on: the lock (path/mirror/target/control) and the
  // output (path/mirror/target, path/mirror/snapshot), the log
  // (path/mirror/target/path, read when the target's CommandRunner is made),
  // and only then the class (find_target).
  let output: string | null;
  let lockPath: string;
  if (name === "snapshot") {
    output = settings.str("path/mirror/snapshot");
    lockPath = join(dirname(output), `.${basename(output)}_progress`);
  } else {
    lockPath = join(settings.str("path/mirror/target/control"), `.${name}_progress`);
    // Read here, tested (os.path.exists) only for an official target: nothing (a :zap) stops only those.
    output = settings.has("path/mirror/target") && settings.value("path/mirror/target") === null ? null : settings.str("path/mirror/target");
  }
  const targetPath = name === "snapshot" ? safeOptional(settings, "path/mirror/target/path") : settings.str("path/mirror/target/path");
  const cls = targetClass(settings);
  const official = isOfficial(settings);
  if (official && output === null) settings.str("path/mirror/target"); // the error: it expands to nothing
  const options = settings.options();
  const targetName = settings.optionalStr("target") ?? name;
  const logPath = targetPath ? join(targetPath, "log", `${targetName}.txt`) : null;

  const skipped = targetSkip(official, { options: () => options, output: () => output ?? undefined, targetPath: () => targetPath || undefined });
  const skip = skipped === null ? null
    : skipped.reason === "output-exists" ? `${excerptPath(skipped.path)} already exists (add replace to metro/options to rebuild)`
    : `${skipped.path} exists (this QA build already ran)`;

  const facts: TargetFacts = {
    name, cls, official, output, lockPath, logPath, skip,
    work: settings.str("path/work"),
    tmp: settings.str("path/tmp"),
    chrootCommand: ["chroot"],
    chrootProblem: null,
    notes: [],
    mounts: [],
    keep: keptPaths(settings, resolve(settings.spec.config)),
  };
  if (cls !== "snapshot") {
    facts.mounts = bindMounts(settings, cls, options, facts.notes);
    const chroot = chrootCommand(settings);
    facts.chrootCommand = chroot.command;
    facts.chrootProblem = chroot.problem;
  }
  return facts;
}

function safeOptional(settings: Settings, key: string): string | null {
  try {
    return settings.optionalStr(key) ?? null;
  } catch {
    return null;
  }
}

/**
 * The caches bound into a chroot: the package cache always (metro requires its
 * setting); the kernel and probe caches when metro/options asks and their
 * setting is defined (metro's classes never bind them, so a missing one is a
 * note, not an error metro would not make).
 */
function bindMounts(settings: Settings, cls: TargetClass, options: string[], notes: string[]): BindMount[] {
  const mounts: BindMount[] = [];
  for (const { key, option, inside } of CACHES) {
    if (option !== null && !options.includes(option)) continue;
    if (option !== null && !settings.has(key)) {
      notes.push(`metro/options asks for ${option}, but ${key} is not defined: that cache is not bound (metro itself never binds it)`);
      continue;
    }
    if (!settings.has(key)) {
      throw new ConfigError(`${settings.label}: required setting ${key} is not defined (for ${option ?? "cache/package"} support)`, key);
    }
    const source = settings.optionalStr(key);
    if (source) mounts.push({ source, inside });
  }
  if (cls === "stage") {
    const distfiles = settings.optionalStr("path/distfiles");
    if (distfiles) mounts.push({ source: distfiles, inside: "/var/cache/portage/distfiles" });
  }
  return mounts;
}

function chrootCommand(settings: Settings): { command: string[]; problem: string | null } {
  const targetArch = settings.str("target/arch_desc");
  const host = hostArch(settings.optionalStr("host/arch_desc"), machine());
  const command: string[] = [];
  if (targetArch === "x86-32bit" && machine() === "x86_64") command.push("linux32");
  if (host === null) {
    return { command: [...command, "chroot"], problem: `unrecognized host architecture ${machine()}; set host/arch_desc (x86-64bit, arm-64bit, ...)` };
  }
  if (host === targetArch || (NATIVE_SUPPORT[host] ?? []).includes(targetArch)) return { command: [...command, "chroot"], problem: null };
  // Not native: metro's "franken-chroot" through fchroot (qemu user mode).
  const helper = ["/root/fchroot/bin/fchroot-simple", "/usr/bin/fchroot-simple"].find((p) => existsSync(p));
  if (helper) return { command: [...command, helper], problem: null };
  return {
    command: [...command, "fchroot-simple"],
    problem: `target/arch_desc ${excerpt(targetArch)} does not run natively on a ${host} host; install fchroot (fchroot-simple in /usr/bin or /root/fchroot/bin)`,
  };
}
