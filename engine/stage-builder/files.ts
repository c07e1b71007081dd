// Required input files (the seed stage, the snapshot): globbed like metro,
// with its fallback to the uncompressed tarball when only `x.tar` exists
// for a required `x.tar.xz` (capture steps that leave compression to a
// later job produce exactly that).

import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { excerptPath } from "../../language";

function hasMagic(part: string): boolean {
  return /[*?[]/.test(part);
}

function partToRegExp(part: string): RegExp {
  let re = "";
  for (let i = 0; i < part.length; i++) {
    const c = part[i]!;
    if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else if (c === "[") {
      const end = part.indexOf("]", i + 2);
      if (end === -1) {
        re += "\\[";
        continue;
      }
      let body = part.slice(i + 1, end);
      if (body.startsWith("!")) body = "^" + body.slice(1);
      re += `[${body.replace(/\\/g, "\\\\")}]`;
      i = end;
    } else re += c.replace(/[.+^${}()|\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

function exists(path: string, known?: Map<string, boolean>): boolean {
  let there = known?.get(path);
  if (there === undefined) {
    try {
      there = statSync(path, { throwIfNoEntry: false }) !== undefined;
    } catch {
      there = false;
    }
    known?.set(path, there);
  }
  return there;
}

/**
 * Shell-style glob of an absolute or relative pattern (`*`, `?`, `[...]`);
 * hidden files need an explicit dot. `known`: paths already found (or not)
 * in this run, for a caller that globs many patterns with common folders.
 */
export function glob(pattern: string, known?: Map<string, boolean>): string[] {
  const absolute = pattern.startsWith("/");
  const parts = pattern.split("/").filter((p, i) => p !== "" || i === 0);
  let current = [absolute ? "/" : "."];
  for (const part of parts.slice(absolute ? 1 : 0)) {
    const next: string[] = [];
    for (const base of current) {
      if (!hasMagic(part)) {
        const path = join(base, part);
        if (exists(path, known)) next.push(path);
        continue;
      }
      let names: string[];
      try {
        names = readdirSync(base);
      } catch {
        continue;
      }
      const re = partToRegExp(part);
      for (const name of names.sort()) {
        if (name.startsWith(".") && !part.startsWith(".")) continue;
        if (re.test(name)) next.push(join(base, name));
      }
    }
    current = next;
  }
  return absolute ? current : current.map((p) => (p.startsWith("./") ? p.slice(2) : p));
}

export type RequiredFile =
  | { ok: true; key: string; pattern: string; path: string; uncompressed: boolean }
  | { ok: false; key: string; pattern: string; problem: string };

const COMPRESSED = [".tar.xz", ".tar.gz", ".tar.bz2"];

export function findRequiredFile(key: string, pattern: string, known?: Map<string, boolean>): RequiredFile {
  const matches = glob(pattern, known);
  if (matches.length > 1) {
    return { ok: false, key, pattern, problem: `${key} (${excerptPath(pattern)}) matches ${matches.length} files; exactly one is required` };
  }
  if (matches.length === 1) return { ok: true, key, pattern, path: matches[0]!, uncompressed: false };
  const ending = COMPRESSED.find((e) => pattern.endsWith(e));
  if (ending) {
    const plain = pattern.slice(0, pattern.length - ending.length + ".tar".length);
    const found = glob(plain, known);
    if (found.length === 1) return { ok: true, key, pattern, path: found[0]!, uncompressed: true };
  }
  return { ok: false, key, pattern, problem: `required file ${excerptPath(pattern)} (${key}) not found` };
}
