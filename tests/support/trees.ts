// Small Metro trees written to temporary directories for tests.

import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

const madeDirs: string[] = [];

/** A new temporary folder, as its real path; `removeTempDirs` removes those made so far (the run's TMPDIR goes at the end anyway). */
export function tempDir(prefix = "metro-tree-"): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), prefix)));
  madeDirs.push(dir);
  return dir;
}

/** A temporary folder made elsewhere, to be removed with those of `tempDir`. */
export function adoptTempDir(dir: string): void {
  madeDirs.push(dir);
}

export function removeTempDirs(): void {
  for (const dir of madeDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** Writes files (path -> text; the text @ROOT@ becomes the tree's path) and returns the root (a `tempDir`: `removeTempDirs` removes it). */
export function writeTree(files: Record<string, string>): string {
  const root = tempDir();
  for (const [rel, text] of Object.entries(files)) {
    const p = join(root, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, text.split("@ROOT@").join(root));
  }
  return root;
}

/** A deterministic pseudo-random generator (LCG) for seeded fuzzing. */
export function seeded(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n: number) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s >>> 8) % n;
  };
}

/**
 * A generated tree: `elements` elements spread over `files` files collected
 * from metro.conf, in `depth` layers: each element references two elements
 * of the next layer (one expanded, one as a boolean), and every element of a
 * layer is referenced by two of the layer above (diamonds), so every chain
 * from the first layer is `depth` references deep and values stay short.
 */
export function generatedTree(elements: number, files: number, depth: number): { root: string; keys: number } {
  const perFile = Math.ceil(elements / files);
  const width = Math.ceil(elements / depth);
  const nameOf = (n: number) => `g${Math.floor(n / perFile)}/e${n}`;
  const out: Record<string, string> = {};
  const collects: string[] = [];
  let n = 0;
  for (let f = 0; f < files && n < elements; f++) {
    const lines: string[] = [`[section g${f}]`];
    for (let i = 0; i < perFile && n < elements; i++, n++) {
      const layer = Math.floor(n / width);
      const pos = n % width;
      const next = (layer + 1) * width;
      if (next + width <= elements) {
        lines.push(`e${n}: x$[${nameOf(next + ((pos * 2) % width))}]$[${nameOf(next + ((pos * 2 + 1) % width))}?]`);
      } else {
        lines.push(`e${n}: leaf${pos}`);
      }
    }
    out[`conf/f${f}.conf`] = lines.join("\n") + "\n";
    collects.push(`[collect ./conf/f${f}.conf]`);
  }
  out["metro.conf"] = collects.join("\n") + "\n";
  return { root: writeTree(out), keys: n };
}
