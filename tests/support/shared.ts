// Access to the conformance kit in ../shared (beside the project). Tests that
// need it skip with a message when it is absent (a user's clone).

import { copyFileSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync, lstatSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";

/** The project root: the nearest folder above the (bundled) test holding package.json. */
export const PROJECT = (() => {
  let dir = __dirname;
  while (!existsSync(join(dir, "package.json")) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
})();
export const SHARED = resolve(PROJECT, "..", "shared");
export const CASES = join(SHARED, "conformance", "cases");
export const CLI = join(PROJECT, "dist", "metro-engine.js");

/** The built CLI's files: the executable, the bundle it loads and that bundle's code cache (cli/code-cache.ts). */
const CLI_FILES = ["metro-engine.js", "metro-engine.bundle.js", "metro-engine.code-cache"];

/** Copies the built CLI into `dir` (a private copy that a rebuild of dist/ cannot change); returns its executable. */
export function copyBuiltCli(dir: string): string {
  for (const name of CLI_FILES) {
    const from = join(PROJECT, "dist", name);
    if (existsSync(from)) copyFileSync(from, join(dir, name));
  }
  return join(dir, CLI_FILES[0]);
}

export function haveShared(): boolean {
  return existsSync(CASES);
}

/** Call at the top of a test or hook: skips it with a message when ../shared is absent. */
export function requireShared(ctx: Mocha.Context): void {
  if (!haveShared()) {
    console.log(`      (skipped: ${SHARED} is not present)`);
    ctx.skip();
  }
}

export function caseNames(): string[] {
  return readdirSync(CASES).filter((n) => existsSync(join(CASES, n, "golden.json"))).sort();
}

export function walkFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = lstatSync(p);
    if (st.isDirectory()) out.push(...walkFiles(p));
    else if (st.isFile()) out.push(p);
  }
  return out.sort();
}

export interface MaterializedCase {
  root: string;
  contexts: { entry: string; args: Record<string, string> }[];
  golden: GoldenEntry[];
}

export interface GoldenEntry {
  entry: string;
  args: Record<string, string>;
  collected: string[];
  settings?: Record<string, { value: string | string[] | null } | { error: string }>;
  fatal?: string;
}

/** Copies a case's files into a fresh temporary root and substitutes @ROOT@, as the kit's run.py does. */
export function materialize(name: string): MaterializedCase {
  const dir = join(CASES, name);
  const root = join(realpathSync(mkdtempSync(join(tmpdir(), "metro-case-"))), "root");
  cpSync(join(dir, "files"), root, { recursive: true, verbatimSymlinks: true });
  for (const f of walkFiles(root)) {
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(readFileSync(f));
    } catch {
      continue;
    }
    if (text.includes("@ROOT@")) writeFileSync(f, text.split("@ROOT@").join(root));
  }
  return {
    root,
    contexts: JSON.parse(readFileSync(join(dir, "contexts.json"), "utf8")),
    golden: JSON.parse(readFileSync(join(dir, "golden.json"), "utf8")),
  };
}

/** The funtoo tree materialized for a test or a benchmark, optionally without its mirror (a laptop's view). */
export function funtooCopy(withMirror = true): string {
  const { root } = materialize("funtoo-metro");
  if (!withMirror) rmSync(join(root, "mirror"), { recursive: true, force: true });
  return root;
}

/** The funtoo case's contexts with configs relative to the tree root, as metro-contexts.json and the server take them. */
export function funtooContexts(): { config: string; args: Record<string, string> }[] {
  return JSON.parse(readFileSync(join(CASES, "funtoo-metro", "contexts.json"), "utf8")).map((c: { entry: string; args: Record<string, string> }) => ({ config: c.entry, args: c.args }));
}

function norm(v: unknown, root: string): unknown {
  if (typeof v === "string") return v.split(root).join("@ROOT@");
  if (Array.isArray(v)) return v.map((x) => norm(x, root));
  return v;
}

/** Compares one evaluated context with its golden entry like run.py; returns the first difference or null. */
export function compareWithGolden(gold: GoldenEntry, got: { collected: string[]; fatal?: unknown; settings?: Record<string, { value?: unknown; error?: unknown }> }, root: string): string | null {
  if (("fatal" in gold) !== (got.fatal !== undefined)) return `fatal: expected ${gold.fatal ?? "none"}, got ${String(got.fatal ?? "none")}`;
  const collected = norm(got.collected, root);
  if (JSON.stringify(collected) !== JSON.stringify(gold.collected)) return `collected: expected ${JSON.stringify(gold.collected)}, got ${JSON.stringify(collected)}`;
  if (gold.fatal) return null;
  const mine = got.settings ?? {};
  for (const [key, want] of Object.entries(gold.settings ?? {})) {
    const have = mine[key];
    if (!have) return `missing key ${key}`;
    if ("error" in want) {
      if (!("error" in have)) return `key ${key}: expected an error, got ${JSON.stringify(have)}`;
    } else if (!("value" in have) || JSON.stringify(norm(have.value, root)) !== JSON.stringify(want.value)) {
      return `key ${key}: expected ${JSON.stringify(want)}, got ${JSON.stringify(have)}`;
    }
  }
  const extra = Object.keys(mine).filter((k) => !(k in (gold.settings ?? {})));
  if (extra.length) return `unexpected keys ${extra.slice(0, 5).join(", ")}`;
  return null;
}

export function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}
