// Which paths the builder may act on. Every kill, unmount and delete takes a
// CheckedDir, and the only way to get one is `checkedDir`, which holds the
// path to these rules at the moment of use:
// - absolute and normalised (no `.`, `..`, `//` or trailing `/`), not `/`;
// - strictly inside `path/tmp`, which is itself absolute, normalised, not `/`
//   and reached through no symbolic link (its real path is its path);
// - no component below `path/tmp` is a symbolic link, and the real path of
//   what exists of it is the path itself.
// Paths that land unquoted in step scripts (metro's own steps do that) must
// be plain: no white space and no shell metacharacters.

import { realpathSync } from "node:fs";
import { dirname, isAbsolute, normalize } from "node:path";
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
    throw new ConfigError(`${key} is ${quotePath(path)}, which is not normalised (write it as ${excerptPath(normalize(path).replace(/(.)\/$/, "$1"))})`, key);
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

/** path/tmp as the builder needs it: a ConfigError for its shape, a SafetyError when a link leads to it. */
export function checkTmpRoot(tmp: string, key = "path/tmp"): string {
  checkShape(key, tmp);
  checkPlainPath(key, tmp);
  const real = realOfExisting(tmp);
  if (real !== tmp) {
    throw new SafetyError(`${key} ${tmp} is reached through a symbolic link (its real path is ${real}); give the real path`);
  }
  return tmp;
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
export function checkedDir(path: string, tmp: string, what: string): CheckedDir {
  try {
    checkTmpRoot(tmp);
    checkInsideTmpShape(what, path, tmp);
    assertNoLinks(path, tmp, what);
  } catch (error) {
    if (error instanceof ConfigError || error instanceof GuardedFsError || error instanceof SafetyError) {
      throw new SafetyError(`refusing to clean ${what}: ${error.message}`);
    }
    throw error;
  }
  const real = realOfExisting(path);
  if (real !== path) throw new SafetyError(`refusing to clean ${what}: ${path} resolves to ${real}`);
  return path as CheckedDir;
}

/** Paths that metro's steps paste into scripts unquoted: they must be plain. */
const PLAIN_PATH_KEYS = [
  "path/tmp", "path/work", "path/mirror", "path/chroot", "path/chroot/stage",
  "path/mirror/target", "path/mirror/target/path", "path/mirror/target/control",
  "path/cache", "path/cache/build", "path/distfiles",
];

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
  const mirror = checkedMirror(settings);
  const tmp = checkTmpRoot(facts.tmp);
  checkInsideTmpShape("path/work", facts.work, tmp);
  for (const key of PLAIN_PATH_KEYS) {
    let value: unknown = null;
    try {
      value = settings.has(key) ? settings.value(key) : null;
    } catch {
      continue; // not expandable for this target (a snapshot has no target path): a step that uses it fails on its own
    }
    if (typeof value === "string" && value !== "") checkPlainPath(key, value);
  }
  for (const m of facts.mounts) checkPlainPath(`the cache bound at ${m.inside}`, m.source);
  if (settings.options().includes("clean/auto")) {
    const cache = settings.optionalStr("path/cache/build");
    if (cache) checkInsideTmpShape("path/cache/build", cache, tmp);
  }
  return { tmp, mirror };
}
