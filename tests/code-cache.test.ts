// The CLI's start: the executable loads the bundle with the V8 code cache the
// build made (cli/code-cache.ts). The cache must be one V8 takes (a flag the
// CLI sets before the cache is written would make V8 refuse it every time),
// must never serve other bytes of the same length (V8 itself would take it),
// and the CLI must run the same without it.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CLI, PROJECT, copyBuiltCli } from "./support/shared";
import { removeTempDirs, tempDir } from "./support/trees";

const DIST = join(PROJECT, "dist");
const BUNDLE = join(DIST, "metro-engine.bundle.js");
const CACHE = join(DIST, "metro-engine.code-cache");
const EXAMPLE = join(PROJECT, "examples", "metro.conf");

/** Loads a bundle through the executable's own loader in a fresh Node; what it says of the cache. */
function load(dir: string): { cacheUsed: boolean; exports: string[] } {
  const script = `const l = require(${JSON.stringify(join(dir, "metro-engine.js"))});
const r = l.loadBundle(${JSON.stringify(join(dir, "metro-engine.bundle.js"))}, ${JSON.stringify(join(dir, "metro-engine.code-cache"))});
process.stdout.write(JSON.stringify({ cacheUsed: r.cacheUsed, exports: Object.keys(r.exports).sort() }));`;
  const r = spawnSync(process.execPath, ["-e", script], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

function run(cli: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [cli, ...args], { encoding: "utf8" });
}

describe("the CLI's code cache", function () {
  this.timeout(60000);
  after(removeTempDirs);

  it("is made by the build and taken by V8 when the executable loads the bundle", () => {
    assert.ok(existsSync(CACHE), "scripts/build.mjs makes dist/metro-engine.code-cache");
    assert.deepEqual(load(DIST), { cacheUsed: true, exports: ["main", "start"] });
  });

  it("is not handed to V8 for a bundle of other bytes, though V8 would take it", () => {
    const dir = tempDir("metro-cli-");
    copyBuiltCli(dir);
    const bundle = join(dir, "metro-engine.bundle.js");
    const text = readFileSync(bundle, "utf8");
    // The same length, other bytes: a comment of the bundle changed.
    const changed = text.replace("// cli/start.ts", "// cli/START.ts");
    assert.notEqual(changed, text);
    assert.equal(changed.length, text.length);
    writeFileSync(bundle, changed);
    assert.deepEqual(load(dir), { cacheUsed: false, exports: ["main", "start"] });
    // Why the digest is there: V8 checks the source's length only, and takes the stale cache.
    const probe = `const { Script } = require("node:vm");
const c = require("node:fs").readFileSync(${JSON.stringify(join(dir, "metro-engine.code-cache"))}).subarray(32);
const src = "(function (exports, require, module, __filename, __dirname) { " + require("node:fs").readFileSync(${JSON.stringify(bundle)}, "utf8") + "\\n});";
process.stdout.write(String(new Script(src, { filename: ${JSON.stringify(bundle)}, cachedData: c }).cachedDataRejected));`;
    const r = spawnSync(process.execPath, ["-e", probe], { encoding: "utf8" });
    assert.equal(r.stdout, "false", r.stderr);
    assert.equal(run(join(dir, "metro-engine.js"), ["--version"]).status, 0);
  });

  it("the executable without its bundle says which file is missing, without a stack trace", () => {
    const dir = tempDir("metro-cli-");
    copyFileSync(CLI, join(dir, "metro-engine.js"));
    const r = run(join(dir, "metro-engine.js"), ["--version"]);
    assert.equal(r.status, 70);
    assert.equal(r.stdout, "");
    assert.equal(r.stderr, `metro-engine: cannot load ${join(dir, "metro-engine.bundle.js")}: it is missing (copy dist/ whole)\n`);
  });

  it("the executable gives the same answers without the cache", () => {
    const dir = tempDir("metro-cli-");
    copyFileSync(CLI, join(dir, "metro-engine.js"));
    copyFileSync(BUNDLE, join(dir, "metro-engine.bundle.js"));
    assert.deepEqual(load(dir), { cacheUsed: false, exports: ["main", "start"] });
    for (const args of [["--version"], ["check", "--no-exec", "--config", EXAMPLE, "target:", "stage3"], ["dump", "--json", "--no-exec", "--config", EXAMPLE, "target:", "stage3"]]) {
      const cached = run(CLI, args);
      const plain = run(join(dir, "metro-engine.js"), args);
      assert.equal(plain.status, cached.status);
      assert.equal(plain.stdout, cached.stdout);
      assert.equal(plain.stderr, cached.stderr);
      assert.ok(cached.stdout.length > 0);
    }
  });
});
