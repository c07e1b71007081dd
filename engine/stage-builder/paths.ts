// Which paths the builder may act on. Every kill, unmount and delete takes a
// CheckedDir, and the only way to get one is `checkedDir`, which holds the
// path to these rules at the moment of use:
// - absolute and normalised (no `.`, `..`, `//` or trailing `/`), not `/`;
// - strictly inside `path/tmp`, which is itself absolute, normalised, not `/`
//   and reached through no symbolic link (its real path is its path);
// - no component below `path/tmp` is a symbolic link, and the real path of
//   what exists of it is the path itself.
// - `path/tmp` and every folder above it belong to root (or the builder's
//   user) and no one else can write to them (a sticky folder such as /tmp or
//   /var/tmp excepted); every folder from `path/tmp` down to the one acted on
//   belongs to the builder's user and no one else can write to it. Otherwise
//   another user could swap the build's scripts or its chroot for their own
//   between the check and the use, and root would run them.
// - A tree removed holds none of the paths the build must keep (`keptPaths`:
//   the mirror, the configuration tree, the seed, the snapshot, the caches
//   bound into the chroot, the distfiles).
// Paths that land unquoted in step scripts (metro's own steps do that) must
// be plain: no white space and no shell metacharacters.

import { lstatSync, realpathSync, type Stats } from "node:fs";
import { dirname, isAbsolute, join, normalize } from "node:path";
import { ConfigError, type Settings } from "./settings";
import type { TargetFacts } from "./targets";
import { GuardedFsError, assertNoLinks, isBelow } from "./guarded-fs";
import { EXCERPT_PATH_CHARS, excerptPath, quoteJson, quotePath } from "../../language";

/** A path refused at the moment the builder would act on it (a link on the way, a path that moved). */
export class SafetyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SafetyError";
  }
}

declare const checked: unique symbol;
/** A directory that passed `checkedDir`: the only kind of path processes are killed in, unmounted below or deleted. */
export type CheckedDir = string & { readonly [checked]: true };

/** Linux's PATH_MAX: the bytes of a path, its terminating NUL included. */
const PATH_MAX = 4096;

/** `path` normalised, without a trailing `/` (but `/` itself). */
function normalised(path: string): string {
  return normalize(path).replace(/(.)\/$/, "$1");
}

/** Characters a path may hold when it is pasted into a shell script unquoted. */
const PLAIN = /^[A-Za-z0-9._+,:@%/=~-]*$/;

/** Refuses white space and shell metacharacters in a path that steps use unquoted. */
export function checkPlainPath(key: string, value: string): void {
  // Longer than Linux takes (PATH_MAX, 4,096 bytes with its terminating NUL): every use would fail, each message naming it whole.
  if (value.length >= PATH_MAX) throw new ConfigError(`${key} is ${quotePath(value)}, longer than the ${(PATH_MAX - 1).toLocaleString("en-US")} characters Linux takes in a path`, key);
  if (PLAIN.test(value)) return;
  const bad = [...value].find((c) => !PLAIN.test(c))!;
  const at = value.indexOf(bad) + 1;
  const what = /\s/.test(bad) ? "white space" : bad.charCodeAt(0) < 32 || bad.charCodeAt(0) === 127 ? "a control character" : `the shell metacharacter ${JSON.stringify(bad)}`;
  throw new ConfigError(
    `${key} is ${quoteJson(value, EXCERPT_PATH_CHARS)}, which contains ${what} (character ${at}); step scripts use this path unquoted, so it may only hold letters, digits and . _ + , : @ % / = ~ -`,
    key,
  );
}

function checkShape(key: string, path: string): void {
  if (!path || !path.trim()) throw new ConfigError(`${key} is empty; it must be an absolute path`, key);
  if (!isAbsolute(path)) throw new ConfigError(`${key} is ${quotePath(path)}, not an absolute path`, key);
  if (normalize(path) !== path || (path.length > 1 && path.endsWith("/"))) {
    throw new ConfigError(`${key} is ${quotePath(path)}, which is not normalised (write it as ${excerptPath(normalised(path))})`, key);
  }
  if (path === "/") throw new ConfigError(`${key} is /; the builder never acts on the root directory`, key);
}

/** The real path of what exists of `path` (the longest existing prefix, resolved, plus the rest). */
function realOfExisting(path: string): string {
  let head = path;
  const tail: string[] = [];
  for (;;) {
    try {
      const real = realpathSync(head);
      return [real === "/" ? "" : real, ...tail].join("/") || "/";
    } catch {
      const parent = dirname(head);
      if (parent === head) return path;
      tail.unshift(head.slice(parent === "/" ? 1 : parent.length + 1));
      head = parent;
    }
  }
}

/** The user the builder runs as (root for a real build). */
function builderUid(): number {
  return typeof process.geteuid === "function" ? process.geteuid() : 0;
}

/**
 * Why another user could change what is in `dir` (null when no one but root
 * and the builder can): it belongs to someone else, or others may write to
 * it (allowed for a sticky folder when `sticky`, where no one can rename or
 * remove what root made).
 */
function ownershipProblem(dir: string, st: Stats, sticky: boolean): string | null {
  const me = builderUid();
  if (st.uid !== me && st.uid !== 0) return `${excerptPath(dir)} belongs to user ${st.uid}`;
  if ((st.mode & 0o022) === 0 || (sticky && (st.mode & 0o1000) !== 0)) return null;
  return `${excerptPath(dir)} can be written by ${st.mode & 0o002 ? "every user" : "its group"} (mode ${(st.mode & 0o7777).toString(8).padStart(4, "0")})`;
}

/** The existing folders from `from` (excluded; "/" included when from is null) down to `path`, with their lstat. */
function existingWay(path: string, from: string | null): { dir: string; st: Stats }[] {
  const out: { dir: string; st: Stats }[] = [];
  let current = from ?? "/";
  const parts = path.slice(current === "/" ? 1 : current.length + 1).split("/").filter((p) => p !== "");
  const all = from === null ? ["/"] : [];
  for (const part of parts) {
    current = join(current, part);
    all.push(current);
  }
  for (const dir of all) {
    let st: Stats;
    try {
      st = lstatSync(dir);
    } catch {
      break;
    }
    out.push({ dir, st });
  }
  return out;
}

/** path/tmp as the builder needs it: a ConfigError for its shape, a SafetyError when a link leads to it or another user could change it. */
export function checkTmpRoot(tmp: string, key = "path/tmp"): string {
  checkShape(key, tmp);
  checkPlainPath(key, tmp);
  const real = realOfExisting(tmp);
  if (real !== tmp) {
    throw new SafetyError(`${key} ${tmp} is reached through a symbolic link (its real path is ${real}); give the real path`);
  }
  for (const { dir, st } of existingWay(tmp, null)) {
    const problem = ownershipProblem(dir, st, true);
    if (problem) {
      throw new SafetyError(
        `${key} ${excerptPath(tmp)} is not safe for a build: ${problem}, so another user could replace the build's scripts or its chroot before they run; give ${key} a folder that only root can change`,
      );
    }
  }
  return tmp;
}

/** Every existing folder below path/tmp on the way to `path` (itself included) belongs to the builder and no one else can write to it. */
function checkPrivateWay(path: string, tmp: string): void {
  for (const { dir, st } of existingWay(path, tmp)) {
    if (!st.isDirectory()) return; // the link and kind checks name it
    const problem = ownershipProblem(dir, st, false);
    if (problem) throw new SafetyError(`${problem}, so another user could change what the build runs there; remove it (or give it to root, mode 0755 or stricter)`);
  }
}

/**
 * The shape rules for a directory inside path/tmp (configuration errors):
 * empty, relative, unnormalised, not strictly inside path/tmp, metacharacters.
 */
export function checkInsideTmpShape(key: string, path: string, tmp: string): void {
  checkShape(key, path);
  checkPlainPath(key, path);
  if (!isBelow(path, tmp)) {
    throw new ConfigError(`${key} is ${excerptPath(path)}, which is not inside path/tmp (${tmp}); the builder only cleans, unmounts and kills inside path/tmp`, key);
  }
}

/**
 * Validates `path` (a directory the builder is about to kill in, unmount
 * below or delete) against `tmp` now, on the file system: shape, no link
 * below path/tmp, real path equal to the path.
 */
export function checkedDir(path: string, tmp: string, what: string, verb = "clean"): CheckedDir {
  try {
    checkTmpRoot(tmp);
    checkInsideTmpShape(what, path, tmp);
    assertNoLinks(path, tmp, what);
    checkPrivateWay(path, tmp);
  } catch (error) {
    if (error instanceof ConfigError || error instanceof GuardedFsError || error instanceof SafetyError) {
      throw new SafetyError(`refusing to ${verb} ${what}: ${error.message}`);
    }
    throw error;
  }
  const real = realOfExisting(path);
  if (real !== path) throw new SafetyError(`refusing to ${verb} ${what}: ${path} resolves to ${real}`);
  return path as CheckedDir;
}

/** Paths that metro's steps paste into scripts unquoted: they must be plain. */
const PLAIN_PATH_KEYS = [
  "path/tmp", "path/work", "path/mirror", "path/chroot", "path/chroot/stage",
  "path/mirror/target", "path/mirror/target/path", "path/mirror/target/control",
  "path/cache", "path/cache/build", "path/distfiles",
];

/** Where the steps unpack, build and clean: at or below path/work. */
const INSIDE_WORK_KEYS = new Set(["path/chroot", "path/chroot/stage"]);

/**
 * A path the steps use (unquoted): plain, absolute, not the root directory
 * once normalised (metro's trees write `$[path/work]$[portage/ROOT]`, so a
 * trailing `/` is fine), and the chroot paths at or below path/work.
 */
function checkStepPath(key: string, value: string, work: string): void {
  checkPlainPath(key, value);
  if (!isAbsolute(value)) throw new ConfigError(`${key} is ${quotePath(value)}, not an absolute path`, key);
  const path = normalised(value);
  if (path === "/") throw new ConfigError(`${key} is ${quotePath(value)}, the root directory; the steps write there (a seed unpacked into it would overwrite the host)`, key);
  if (INSIDE_WORK_KEYS.has(key) && path !== work && !isBelow(path, work)) {
    throw new ConfigError(`${key} is ${excerptPath(value)}, which is not inside path/work (${excerptPath(work)}); the steps unpack, build and clean there, and the builder only mounts, unmounts and cleans inside path/work`, key);
  }
}

/** path/mirror, the root below which no link is followed: absolute, normalised, not /, plain. */
export function checkedMirror(settings: Settings): string {
  const mirror = settings.str("path/mirror");
  checkShape("path/mirror", mirror);
  checkPlainPath("path/mirror", mirror);
  return mirror;
}

/**
 * A target's paths as configured, before anything is done (a real build and
 * --dry-run alike): path/mirror and path/tmp, path/work strictly inside
 * path/tmp, path/cache/build inside it when clean/auto removes it, and the
 * paths steps use unquoted free of white space and shell metacharacters.
 * A ConfigError for what is wrong as written, a SafetyError when path/tmp is
 * reached through a link.
 */
export function checkConfiguredPaths(settings: Settings, facts: TargetFacts): { tmp: string; mirror: string } {
  try {
    return checkConfiguredPathsAt(settings, facts);
  } catch (error) {
    // Where the setting is written (file:line:column), or the command line.
    if (error instanceof ConfigError && error.key && !error.message.startsWith("/")) {
      const where = error.key in settings.spec.args ? "the command line" : (settings.definedAt(error.key) ?? settings.label);
      throw new ConfigError(`${where}: ${error.message}`, error.key);
    }
    throw error;
  }
}

function checkConfiguredPathsAt(settings: Settings, facts: TargetFacts): { tmp: string; mirror: string } {
  const mirror = checkedMirror(settings);
  const tmp = checkTmpRoot(facts.tmp);
  checkInsideTmpShape("path/work", facts.work, tmp);
  checkKeepsNothing("path/work", facts.work, facts.keep);
  for (const key of PLAIN_PATH_KEYS) {
    let value: unknown = null;
    try {
      value = settings.has(key) ? settings.value(key) : null;
    } catch {
      continue; // not expandable for this target (a snapshot has no target path): a step that uses it fails on its own
    }
    if (typeof value === "string" && value !== "") checkStepPath(key, value, facts.work);
  }
  for (const m of facts.mounts) checkPlainPath(`the cache bound at ${m.inside}`, m.source);
  if (settings.options().includes("clean/auto")) {
    const cache = settings.optionalStr("path/cache/build");
    if (cache) {
      checkInsideTmpShape("path/cache/build", cache, tmp);
      checkKeepsNothing("path/cache/build", cache, facts.keep);
    }
  }
  return { tmp, mirror };
}

/** A path a build must never delete, with the setting that names it. */
export interface KeptPath {
  key: string;
  path: string;
}

/** Settings whose paths a build reads or publishes: no tree it removes may hold them. */
const KEPT_KEYS = [
  "path/mirror", "path/config", "path/install", "path/distfiles",
  "path/mirror/source", "path/mirror/snapshot", "path/mirror/target", "snapshot/source",
  "path/cache/package", "path/cache/kernel", "path/cache/probe",
];

/** The paths of `KEPT_KEYS` this target has (those it cannot expand are left out), and the configuration file. */
export function keptPaths(settings: Settings, configFile?: string): KeptPath[] {
  const out: KeptPath[] = [];
  for (const key of KEPT_KEYS) {
    let value: unknown;
    try {
      value = settings.has(key) ? settings.value(key) : null;
    } catch {
      continue;
    }
    if (typeof value === "string" && isAbsolute(value)) out.push({ key, path: normalised(value) });
  }
  if (configFile && isAbsolute(configFile)) out.push({ key: "the configuration file", path: configFile });
  return out;
}

/**
 * The first kept path that `dir` (a tree about to be removed) is or holds,
 * as written or once links are resolved (then named as both); null when
 * there is none.
 */
export function keptInside(dir: string, keep: readonly KeptPath[]): KeptPath | null {
  const realDir = realOfExisting(dir);
  for (const k of keep) {
    const real = realOfExisting(k.path);
    for (const p of [k.path, real]) {
      for (const d of [dir, realDir]) {
        if (p === d || isBelow(p, d)) return p === k.path ? k : { key: k.key, path: `${excerptPath(k.path)}, really ${excerptPath(real)}` };
      }
    }
  }
  return null;
}

/** A configured tree the build removes that holds a kept path: a ConfigError naming both settings. */
function checkKeepsNothing(key: string, dir: string, keep: readonly KeptPath[]): void {
  const k = keptInside(dir, keep);
  if (k) throw new ConfigError(`${key} is ${excerptPath(dir)}, which holds ${k.key} (${excerptPath(k.path)}); the build removes ${key}, so it must not hold what the build keeps`, key);
}

/** Refuses to remove `dir` when it is or holds a kept path (a SafetyError naming both). */
export function assertKeepsNothing(what: string, dir: string, keep: readonly KeptPath[]): void {
  const k = keptInside(dir, keep);
  if (k) throw new SafetyError(`refusing to clean ${what}: ${excerptPath(dir)} holds ${k.key} (${excerptPath(k.path)}), which a build never deletes`);
}
