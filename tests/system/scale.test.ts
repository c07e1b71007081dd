// Inputs of a size the fast suite should not pay for every day: a chain of
// 100,000 collected files, a folder of 20,001 files for `fmt`.

import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { evaluateContext } from "../../engine/evaluate";
import { CLI } from "../support/shared";
import { tempDir, writeTree } from "../support/trees";

describe("scale: large trees and folders", function () {
  this.timeout(300_000);

  it("reads a 100,000-deep chain of collects (one file each), and still names a loop closed at its end", () => {
    // Each file's chain of collects is kept for loop detection: copied per file, a chain of N files cost N² (minutes at this depth).
    const depth = 100_000;
    const files: Record<string, string> = {};
    for (let i = 0; i < depth; i++) files[`f${i}.conf`] = `[collect ./f${i + 1}.conf]\n`;
    files[`f${depth}.conf`] = "a: end\n";
    const root = writeTree(files);
    try {
      const ctx = evaluateContext({ config: join(root, "f0.conf"), args: {} }, { makeopts: false });
      assert.equal(ctx.fatal, null);
      assert.equal(ctx.collected.length, depth + 1);
      assert.equal(ctx.collected[depth], join(root, `f${depth}.conf`));
      assert.equal(ctx.get("a"), "end");
      // The last file collects one it came through: the loop is found at the chain's end and named from there.
      writeFileSync(join(root, `f${depth}.conf`), `[collect ./f${depth - 2}.conf]\n`);
      const loop = evaluateContext({ config: join(root, "f0.conf"), args: {} }, { makeopts: false });
      assert.equal(loop.fatal?.code, "metro/collect-loop");
      const name = (i: number) => join(root, `f${i}.conf`);
      assert.equal(loop.fatal!.message, `collect loop: ${name(depth - 2)} -> ${name(depth - 1)} -> ${name(depth)} -> ${name(depth - 2)} (metro would never stop collecting)`);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("fmt --check of a folder of 20,001 files reads every one (the listing once stopped at 20,000 without a word)", () => {
    const dir = tempDir("metro-fmt-many-");
    try {
      mkdirSync(join(dir, "many"));
      for (let i = 0; i <= 20_000; i++) writeFileSync(join(dir, "many", `f${i}.conf`), "  a: 1\n");
      const many = spawnSync(process.execPath, [CLI, "fmt", "--check", "many"], { cwd: dir, encoding: "utf8", maxBuffer: 1 << 26 });
      assert.equal(many.status, 1);
      assert.equal(many.stdout.split("\n").filter(Boolean).length, 20_001);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
