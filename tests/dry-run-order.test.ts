// The dry run and check fail where metro's run fails, on small trees written
// here: a step whose value cannot be expanded still lets the steps before it
// be planned (metro runs them); a target whose output path cannot be
// expanded fails on that path, which metro reads before it looks at the
// target's class; a target metro skips on this machine (an official output
// that exists, a QA build's status file) is not judged by its steps.

import assert from "node:assert/strict";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { writeTree } from "./support/trees";
import { STAGE_TREE, checkErrorsOf, dryRunOf } from "./support/stage-tree";
import { checkAll } from "../cli/commands/check";

describe("dry run: where metro's run stops", () => {
  let root: string;
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it("the tree builds: three steps planned, no error", async () => {
    root = writeTree({ "metro.conf": STAGE_TREE, "mirror/.control/.keep": "" });
    const r = await dryRunOf(root, "metro.conf");
    assert.equal(r.code, 0, r.errors.join("\n"));
    assert.deepEqual(r.events.filter((e) => e.event === "plan-step").map((e) => e.step), ["steps/unpack", "steps/chroot/run", "steps/capture"]);
  });

  it("a step that cannot be expanded fails the run there, and the steps metro runs before it are still planned", async () => {
    root = writeTree({
      "metro.conf": STAGE_TREE,
      "mirror/.control/.keep": "",
      // metro runs steps/unpack and steps/unpack/post, then stops on steps/chroot/prerun.
      "broken.conf": "[collect ./metro.conf]\n\n[section steps]\n\nunpack/post: [\n#!/bin/sh\necho post\n]\n\nchroot/prerun: [\n#!/bin/sh\necho $[nowhere/defined]\n]\n",
    });
    const r = await dryRunOf(root, "broken.conf");
    assert.equal(r.code, 2);
    const planned = r.events.filter((e) => e.event === "plan-step");
    assert.deepEqual(planned.slice(0, 2).map((e) => e.step), ["steps/unpack", "steps/unpack/post"]);
    assert.equal(readFileSync(planned[1].file!, "utf8"), "#!/bin/sh\necho post\n");
    assert.ok(!planned.some((e) => e.step === "steps/chroot/prerun"), "the step that cannot be expanded is not written");
    assert.equal(r.errors.length, 1, r.errors.join("\n"));
    assert.match(r.errors[0], /steps\/chroot\/prerun: "nowhere\/defined" is not defined/);
    assert.equal(r.events[r.events.length - 1].exitCode, 2);
    assert.ok(checkErrorsOf(root, "broken.conf").some((m) => m.includes("steps/chroot/prerun")));
  });

  it("an output path that cannot be expanded is the error, not the missing class metro never gets to", async () => {
    // metro reads path/mirror/target/control and path/mirror/target before target/class.
    root = writeTree({
      "metro.conf": STAGE_TREE.replace("class: stage\n", "").replace("target: $[:target/path]/$[target].tar", "target: $[:target/path]/$[target/basename]"),
      "mirror/.control/.keep": "",
    });
    const r = await dryRunOf(root, "metro.conf");
    assert.equal(r.code, 2);
    assert.equal(r.errors.length, 1, r.errors.join("\n"));
    assert.match(r.errors[0], /path\/mirror\/target: "target\/basename" is not defined/);
    assert.doesNotMatch(r.errors[0], /target\/class/);
    assert.ok(!existsSync(join(root, "plan")), "nothing planned");
    assert.ok(checkErrorsOf(root, "metro.conf").some((m) => m.includes("path/mirror/target")));
  });

  describe("a target metro skips on this machine", () => {
    // The tree cannot build t1 (no steps/chroot/run): metro stops there, unless it skips t1.
    const NO_RUN = STAGE_TREE.replace("chroot/run: [\n#!/bin/sh\necho $[target]\n]\n\n", "");

    function findings(config: string) {
      return checkAll([{ config: join(root, config), args: { target: "t1" } }]);
    }

    it("without its output, the missing step is an error (check and dry run)", async () => {
      assert.notEqual(NO_RUN, STAGE_TREE);
      root = writeTree({ "metro.conf": NO_RUN, "mirror/.control/.keep": "" });
      assert.ok(checkErrorsOf(root, "metro.conf").some((m) => m.includes("steps/chroot/run")));
      assert.equal((await dryRunOf(root, "metro.conf")).code, 2);
    });

    it("an official target whose output exists is skipped: no error, information naming the output", async () => {
      root = writeTree({ "metro.conf": NO_RUN, "mirror/.control/.keep": "", "mirror/out/t1.tar": "" });
      const f = findings("metro.conf");
      assert.deepEqual(f.filter((x) => x.severity === "error").map((x) => x.message), []);
      const skipped = f.filter((x) => x.code === "metro/target-skipped");
      assert.equal(skipped.length, 1);
      assert.equal(skipped[0].severity, "information");
      assert.match(skipped[0].message, /target t1 is not built on this machine: its output \S*mirror\/out\/t1\.tar exists/);
      const r = await dryRunOf(root, "metro.conf");
      assert.equal(r.code, 0, r.errors.join("\n"));
      assert.deepEqual(r.events.filter((e) => e.event === "plan-step"), []);
    });

    it("a QA target whose status file exists is skipped", async () => {
      root = writeTree({ "metro.conf": NO_RUN.replace("type: official", "type: qa"), "mirror/.control/.keep": "", "mirror/out/status": "" });
      const f = findings("metro.conf");
      assert.deepEqual(f.filter((x) => x.severity === "error").map((x) => x.message), []);
      assert.match(f.find((x) => x.code === "metro/target-skipped")?.message ?? "", /mirror\/out\/status exists \(this QA build already ran\)/);
      assert.equal((await dryRunOf(root, "metro.conf")).code, 0);
    });
  });

  describe("the QA hook", () => {
    it("qa/type jira without qa/url fails the run after its targets (check and dry run name qa/url)", async () => {
      root = writeTree({ "metro.conf": STAGE_TREE + "\n[section qa]\n\ntype: jira\n", "mirror/.control/.keep": "" });
      const errors = checkErrorsOf(root, "metro.conf");
      assert.equal(errors.length, 1, errors.join("\n"));
      assert.match(errors[0], /qa\/url/);
      const r = await dryRunOf(root, "metro.conf");
      assert.equal(r.code, 2);
      assert.ok(r.errors.some((e) => e.includes("qa/url")), r.errors.join("\n"));
      assert.deepEqual(r.events.filter((e) => e.event === "plan-step").map((e) => e.step), ["steps/unpack", "steps/chroot/run", "steps/capture"]);
    });

    it("with its url, user and password, or with another qa/type, the run completes", async () => {
      root = writeTree({
        "jira.conf": STAGE_TREE + "\n[section qa]\n\ntype: jira\nurl: https://qa.example\nusername: u\npassword: p\n",
        "other.conf": STAGE_TREE + "\n[section qa]\n\ntype: none\n",
        "mirror/.control/.keep": "",
      });
      for (const config of ["jira.conf", "other.conf"]) {
        assert.deepEqual(checkErrorsOf(root, config), []);
        assert.equal((await dryRunOf(root, config)).code, 0);
      }
    });
  });
});
