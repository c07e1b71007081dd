// Every context of every conformance case that records metro's own runner
// (runner.json): the dry run runs metro's steps in metro's order, host or
// chroot alike, with byte-identical scripts; it fails (exit 2) exactly where
// metro fails; `check` reports an error exactly when metro's run fails on
// configuration, naming the key metro failed on.

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { CLI, requireShared } from "../support/shared";
import { caseAgreement, runnerCases } from "../support/runner";

describe("agreement with metro's runner (runner.json)", function () {
  this.timeout(600_000);

  before(function () {
    requireShared(this);
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing (run node scripts/build.mjs)`);
  });

  it("has at least one case with a runner.json", () => {
    assert.ok(runnerCases().length > 0);
  });

  for (const name of existsSync(CLI) ? runnerCases() : []) {
    it(`${name}: same steps, same scripts, same verdicts (dry run and check)`, async () => {
      const results = await caseAgreement(name);
      const problems = results.flatMap((r) => r.problems.map((p) => `${r.label}: ${p}`));
      assert.deepEqual(problems, []);
      assert.ok(results.every((r) => r.dryRunAgrees && r.checkAgrees));
      assert.ok(results.reduce((a, r) => a + r.scripts, 0) > 0, "metro ran steps");
    });
  }
});
