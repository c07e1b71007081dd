// Finding Metro trees and the Metro files inside them. A tree is a folder
// holding `etc/master.conf` or `metro.conf`. Clients may send no workspace
// folder at all, so a tree is also found by walking up from an opened file.

import { existsSync, readdirSync, statSync } from "node:fs";
import { basename, dirname, join, relative, sep } from "node:path";

export function isTreeRoot(dir: string): boolean {
  return existsSync(join(dir, "etc", "master.conf")) || existsSync(join(dir, "metro.conf"));
}

/** The nearest folder at or above `file`'s folder that is a tree root, or undefined. */
export function findTreeRootAbove(file: string): string | undefined {
  let dir = dirname(file);
  for (;;) {
    if (isTreeRoot(dir)) return dir;
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

/** Tree roots at or below `folder` (a workspace folder need not be a tree itself). */
export function findTreeRootsBelow(folder: string, depth = 3): string[] {
  if (isTreeRoot(folder)) return [folder];
  if (depth === 0) return [];
  const out: string[] = [];
  let names: string[] = [];
  try {
    names = readdirSync(folder);
  } catch {
    return out;
  }
  for (const name of names) {
    if (SKIPPED_DIRS.has(name) || name.startsWith(".")) continue;
    const p = join(folder, name);
    try {
      if (statSync(p).isDirectory()) out.push(...findTreeRootsBelow(p, depth - 1));
    } catch {
      /* unreadable: not ours */
    }
  }
  return out;
}

const SKIPPED_DIRS = new Set(["node_modules", ".git", "fsroot", "dist", "out"]);

export function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === "" || (!rel.startsWith("..") && !rel.startsWith(sep) && !/^[a-zA-Z]:/.test(rel));
}

/**
 * Whether a path inside a tree is a Metro file by its name alone: `*.conf`,
 * `*.spec`, and the extension-less files metro collects by convention
 * (`etc/multi-targets/*`, `targets/**\/strategy/**`, files directly in
 * `etc/builds/`). `fsroot/` folders hold files copied into images and are
 * never Metro files.
 */
export function isMetroFileName(root: string, path: string): boolean {
  const rel = relative(root, path).split(sep);
  if (rel.includes("fsroot") || rel.some((p) => p.startsWith("."))) return false;
  const name = basename(path);
  if (name.endsWith(".conf") || name.endsWith(".spec")) return true;
  if (name.includes(".")) return false;
  const i = rel.indexOf("etc");
  if (i >= 0 && rel[i + 1] === "multi-targets") return true;
  if (i >= 0 && rel[i + 1] === "builds" && rel.length === i + 3) return true;
  const t = rel.indexOf("targets");
  if (t >= 0 && rel.slice(t + 1, -1).includes("strategy")) return true;
  return false;
}

/** Every regular file under `root` (skipping VCS, package and fsroot folders), for collect-path matching. */
export function listFiles(root: string, limit = 20000): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names) {
      if (out.length >= limit) return;
      if (SKIPPED_DIRS.has(name) || name.startsWith(".")) continue;
      const p = join(dir, name);
      let st;
      try {
        st = statSync(p);
      } catch {
        continue;
      }
      if (st.isDirectory()) walk(p);
      else if (st.isFile()) out.push(p);
    }
  };
  walk(root);
  return out;
}
