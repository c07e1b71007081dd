// Finding Metro trees and the Metro files inside them. A tree is a folder
// holding `etc/master.conf` or `metro.conf`. Clients may send no workspace
// folder at all, so a tree is also found by walking up from an opened file.

import { readdirSync, statSync, type Dirent } from "node:fs";
import { basename, dirname, join, relative, sep } from "node:path";
import { FileProblem, MAX_FILE_BYTES, describeKind, problemOf, tooLarge, isInside, isTreeRoot, realPath, treeRootAbove } from "../engine/files";

export { isInside, isTreeRoot } from "../engine/files";

/** The nearest folder at or above `file`'s folder that is a tree root, or undefined. */
export function findTreeRootAbove(file: string): string | undefined {
  return treeRootAbove(dirname(file));
}

/**
 * Tree roots at or below `folder` (a workspace folder need not be a tree
 * itself). Each real folder is looked at once, so links to `.` or to a
 * parent cannot multiply the search.
 */
export function findTreeRootsBelow(folder: string, depth = 3, limit = Infinity, seen = new Set<string>()): string[] {
  const real = realPath(folder);
  if (real === undefined || seen.has(real) || limit <= 0) return [];
  seen.add(real);
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
      if (!statSync(p).isDirectory()) continue;
    } catch {
      continue; /* unreadable: not ours */
    }
    for (const r of findTreeRootsBelow(p, depth - 1, limit - out.length, seen)) out.push(r);
    if (out.length >= limit) break;
  }
  return out;
}

const SKIPPED_DIRS = new Set(["node_modules", ".git", "fsroot", "dist", "out"]);

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

export interface TreeListing {
  /** Regular files, as paths under the root (a file reached by two names is listed under both). */
  files: string[];
  /** Metro files (by name) that are not read: not regular files, or too large. */
  skipped: Map<string, FileProblem>;
  /** The walk stopped at its limit: files past it are not listed. */
  truncated: boolean;
  /** Folders that could not be listed (permission denied, gone), with the reason: their files are not listed. */
  unlisted: [string, FileProblem][];
}

/** Files (and folders) a tree's walk lists at most. */
export const MAX_TREE_FILES = 20000;

/** Names listed first in a folder, so a huge folder still has its entry files listed. */
const FIRST_NAMES = new Map(["metro.conf", "metro-contexts.json", "etc", "targets"].map((n, i) => [n, i]));

/**
 * Every regular file under `root` (skipping VCS, package and fsroot folders),
 * for collect-path matching. Each real folder is walked once and only when
 * it lies inside the tree: a link to `.`, to a parent or out of the tree is
 * not followed, so the walk ends after at most `limit` folders and `limit`
 * files whatever links the tree holds. Links to regular files are listed
 * (they are read with the size limit like any file).
 */
export function walkTree(root: string, limit = MAX_TREE_FILES): TreeListing {
  const files: string[] = [];
  const skipped = new Map<string, FileProblem>();
  const unlisted: [string, FileProblem][] = [];
  const rootReal = realPath(root);
  if (rootReal === undefined) return { files, skipped, truncated: false, unlisted };
  let truncated = false;
  const seen = new Set<string>([rootReal]);
  // Breadth first, real folders before links to folders, so a folder is listed under its own name.
  const queue: string[] = [root];
  /** The real path of each queued folder: a folder in it that is not a link is found under it without asking the system. */
  const reals: string[] = [rootReal];
  let walked = 0;
  for (; walked < queue.length && files.length < limit; walked++) {
    const dir = queue[walked];
    const dirReal = reals[walked];
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (e) {
      unlisted.push([dir, problemOf(e)]);
      continue;
    }
    // In a fixed order (the directory's own order is the file system's): the entry files first, then by name.
    const rank = (e: Dirent) => FIRST_NAMES.get(e.name) ?? FIRST_NAMES.size;
    entries.sort((a, b) => Number(a.isSymbolicLink()) - Number(b.isSymbolicLink()) || rank(a) - rank(b) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (files.length >= limit) {
        truncated = true;
        break;
      }
      const name = entry.name;
      if (SKIPPED_DIRS.has(name) || name.startsWith(".")) continue;
      const p = join(dir, name);
      const metro = !entry.isDirectory() && isMetroFileName(root, p);
      // A file that is not a Metro file is listed as it is; only a link, a Metro file (its size) or another kind is looked at.
      if (entry.isFile() && !metro) {
        files.push(p);
        continue;
      }
      let st;
      if (entry.isDirectory()) st = null;
      else {
        try {
          st = statSync(p);
        } catch {
          continue; // a dangling link, a loop of links, or gone
        }
      }
      if (st === null || st.isDirectory()) {
        const real = st === null ? join(dirReal, name) : realPath(p);
        if (real === undefined || seen.has(real) || !isInside(rootReal, real)) continue;
        if (seen.size >= limit) {
          truncated = true;
          continue;
        }
        seen.add(real);
        queue.push(p);
        reals.push(real);
      } else if (!st.isFile()) {
        if (metro) skipped.set(p, new FileProblem("not-regular", describeKind(st)));
      } else if (st.size > MAX_FILE_BYTES && metro) {
        skipped.set(p, tooLarge(st.size));
      } else files.push(p);
    }
  }
  // Folders left in the queue when the files reached the limit are not walked.
  if (walked < queue.length) truncated = true;
  return { files, skipped, truncated, unlisted };
}
