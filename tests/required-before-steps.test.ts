// metro looks for a stage target's required files (path/mirror/source, and
// path/mirror/snapshot for an official build) before it runs any step. When
// one of those keys cannot be expanded, that is where its run stops: no step
// runs, and a step that could not have been expanded either is never reached.
// The dry run and the build must stop there too and name that key, not a
// later step. Found on a real tree that leaves path/mirror/snapshot to its own
// runner and whose livecd step reads a setting some builds lack.

import assert from "node:assert/strict";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { runCli } from "./support/run-cli";
import { writeTree } from "./support/trees";
import { STAGE_TREE, checkErrorsOf, dryRunOf } from "./support/stage-tree";

// The stage tree with a seed whose name reads seed/version, which no file defines, and a step that reads kernel/package.
const TREE = STAGE_TREE.replace("source: $[]/seed.tar\nsnapshot: $[]/snap.tar", "source: $[]/seed-$[seed/version].tar").replace("echo $[target]", "echo $[kernel/package]");

describe("a required file's key that cannot be expanded stops the target before its steps", () => {
  let root: string;
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it("path/mirror/snapshot not defined and a step that cannot be expanded: the dry run names path/mirror/snapshot only and plans no step", async () => {
    root = writeTree({ "metro.conf": TREE.replace("source: $[]/seed-$[seed/version].tar", "source: $[]/seed.tar"), "mirror/.control/.keep": "" });
    const r = await dryRunOf(root);
    assert.equal(r.code, 2);
    assert.equal(r.errors.length, 1, r.errors.join("\n"));
    assert.match(r.errors[0], /path\/mirror\/snapshot/);
    assert.doesNotMatch(r.errors[0], /kernel\/package|steps\/chroot\/run/);
    assert.deepEqual(r.steps, [], "metro runs no step");
    // metro looked for path/mirror/source before: the dry run still says that file is missing here.
    assert.ok(r.warnings.some((w) => /seed\.tar \(path\/mirror\/source\) not found/.test(w)), r.warnings.join("\n"));
    assert.ok(checkErrorsOf(root).some((m) => m.includes("path/mirror/snapshot")));
  });

  it("path/mirror/source cannot be expanded: that is the error, before path/mirror/snapshot and the steps", async () => {
    root = writeTree({ "metro.conf": TREE, "mirror/.control/.keep": "" });
    const r = await dryRunOf(root);
    assert.equal(r.code, 2);
    assert.equal(r.errors.length, 1, r.errors.join("\n"));
    assert.match(r.errors[0], /path\/mirror\/source: "seed\/version" is not defined/);
    assert.deepEqual(r.steps, []);
  });

  it("once the keys expand, the step that cannot be expanded is the error again", async () => {
    root = writeTree({
      "metro.conf": TREE.replace("source: $[]/seed-$[seed/version].tar", "source: $[]/seed.tar\nsnapshot: $[]/snap.tar"),
      "mirror/.control/.keep": "",
    });
    const r = await dryRunOf(root);
    assert.equal(r.code, 2);
    assert.ok(r.errors.some((e) => /steps\/chroot\/run: "kernel\/package" is not defined/.test(e)), r.errors.join("\n"));
    assert.ok(!r.errors.some((e) => e.includes("path/mirror/snapshot")), r.errors.join("\n"));
  });

  it("the build (not a dry run) stops with the same error, before anything is unpacked", async function () {
    // Everything the build may touch (path/tmp, path/work, the mirror) lies inside this tree.
    if (process.getuid?.() !== 0) this.skip();
    root = writeTree({ "metro.conf": TREE.replace("source: $[]/seed-$[seed/version].tar", "source: $[]/seed.tar"), "mirror/.control/.keep": "" });
    const r = await runCli(["build", "--config", join(root, "metro.conf"), "target:", "t1"]);
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, /path\/mirror\/snapshot/);
    assert.doesNotMatch(r.err, /kernel\/package/);
    assert.ok(!existsSync(join(root, "tmp", "work", "t1")), "nothing unpacked");
  });
});
