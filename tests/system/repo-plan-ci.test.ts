// The plan as CI input, tested by shape: `repo plan --format github-matrix`
// is what examples/ci/github-workflow.yml feeds to strategy.matrix through
// fromJSON, and `repo plan --format gitlab` is the child pipeline that
// examples/ci/gitlab-ci.yml triggers. Runs the built CLI on the example
// tree's .buildbot with a mirror of empty subarch directories (no build
// needed); the YAML is read with python3's yaml module (skips without it).

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { machine, tmpdir } from "node:os";
import { join } from "node:path";
import { PROJECT } from "../support/shared";

const CLI = join(PROJECT, "dist", "metro-engine.js");
const CI = join(PROJECT, "examples", "ci");
const DAY = "2026-03-02";
const MATRIX_KEYS = ["release", "arch_desc", "subarch", "target", "extras", "fulldate", "nextdate", "failcount"];

/** The arch_desc examples/.buildbot picks for this host. */
function buildbotArch(): string {
  return ({ x86_64: "x86-64bit", aarch64: "arm-64bit", riscv64: "riscv-64bit" } as Record<string, string>)[machine()] ?? "x86-64bit";
}

function yamlToJson(text: string): unknown {
  const r = spawnSync("python3", ["-c", "import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin), default=str))"], { input: text, encoding: "utf8" });
  assert.equal(r.status, 0, `YAML did not parse: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

describe("repo plan for CI (GitHub matrix, GitLab child pipeline)", function () {
  this.timeout(60_000);
  let base = "";
  let tree = "";
  let mirror = "";
  const plan = (...args: string[]) => {
    const r = spawnSync(process.execPath, [CLI, "repo", "plan", "--buildbot", join(tree, ".buildbot"), "--config", join(tree, "metro.conf"), "--today", DAY, ...args], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  };
  const hold = (subarch: string) => writeFileSync(join(mirror, "tiny-current", buildbotArch(), subarch, ".control", ".multi_progress"), String(process.pid));
  const release = (subarch: string) => rmSync(join(mirror, "tiny-current", buildbotArch(), subarch, ".control", ".multi_progress"));

  before(function () {
    if (spawnSync("python3", ["-c", "import yaml"], { stdio: "ignore" }).status !== 0) {
      console.log("      (skipped: python3 has no yaml module (Debian: python3-yaml))");
      this.skip();
    }
    base = mkdtempSync(join(tmpdir(), "metro-plan-ci-"));
    tree = join(base, "examples");
    mirror = join(base, "mirror");
    cpSync(join(PROJECT, "examples"), tree, { recursive: true });
    const conf = readFileSync(join(tree, "metro.conf"), "utf8");
    writeFileSync(join(tree, "metro.conf"), conf.replace(/^: \/var\/tmp\/metro-tiny-mirror$/m, `: ${mirror}`));
    for (const subarch of ["generic", "small"]) mkdirSync(join(mirror, "tiny-current", buildbotArch(), subarch, ".control"), { recursive: true });
  });

  after(() => {
    if (base) rmSync(base, { recursive: true, force: true });
  });

  it("prints a matrix of every startable build that the example workflow's fields and concurrency group read", () => {
    const matrix = JSON.parse(plan("--format", "github-matrix")) as { include: Record<string, unknown>[] };
    assert.deepEqual(Object.keys(matrix), ["include"]);
    assert.deepEqual(matrix.include.map((e) => e.subarch), ["generic", "small"]);
    for (const entry of matrix.include) {
      assert.deepEqual(Object.keys(entry).sort(), [...MATRIX_KEYS].sort());
      assert.equal(entry.nextdate, DAY);
      assert.equal(entry.release, "tiny-current");
      assert.equal(entry.target, "full");
    }

    const text = readFileSync(join(CI, "github-workflow.yml"), "utf8");
    for (const [, key] of text.matchAll(/matrix\.([a-z_]+)/g)) assert.ok(MATRIX_KEYS.includes(key!), `the workflow reads matrix.${key}, which the plan does not give`);
    const workflow = yamlToJson(text) as { jobs: Record<string, Record<string, unknown>> };
    const build = workflow.jobs.build!;
    assert.deepEqual(build.concurrency, { group: "metro-${{ matrix.subarch }}", "cancel-in-progress": false });
    assert.deepEqual(build.strategy, { "fail-fast": false, matrix: "${{ fromJSON(needs.plan.outputs.matrix) }}" });
    assert.deepEqual(build.needs, "plan");
    assert.match(JSON.stringify(workflow.jobs.plan), /repo plan --format github-matrix/);

    // A subarch held by a live build is not in the matrix; nothing startable is an empty include, which the workflow's if skips.
    hold("generic");
    try {
      assert.deepEqual((JSON.parse(plan("--format", "github-matrix")) as { include: { subarch: string }[] }).include.map((e) => e.subarch), ["small"]);
      hold("small");
      assert.deepEqual(JSON.parse(plan("--format", "github-matrix")), { include: [] });
      assert.equal(build.if, "${{ fromJSON(needs.plan.outputs.matrix).include[0] != null }}");
    } finally {
      release("generic");
      release("small");
    }
  });

  it("prints a child pipeline with one job per build, each in its subarch's resource group", () => {
    const pipeline = yamlToJson(plan("--format", "gitlab", "--build-command", "metro-engine build --config /etc/metro/metro.conf")) as Record<string, unknown>;
    assert.deepEqual(pipeline.stages, ["build"]);
    const jobs = Object.entries(pipeline).filter(([name]) => name !== "stages") as [string, Record<string, unknown>][];
    assert.equal(jobs.length, 2);
    for (const [name, job] of jobs) {
      const vars = job.variables as Record<string, string>;
      assert.equal(job.stage, "build");
      assert.equal(job.resource_group, vars.SUBARCH, `${name}: one job per subarch at a time`);
      assert.equal(vars.NEXTDATE, DAY);
      const script = (job.script as string[]).join("\n");
      assert.match(script, /^metro-engine build --config \/etc\/metro\/metro\.conf multi: yes /);
      for (const v of ["RELEASE", "ARCH_DESC", "SUBARCH", "NEXTDATE", "TARGET"]) assert.ok(script.includes(`"$${v}"`), `${name} passes $${v}`);
    }
    assert.deepEqual(jobs.map(([, j]) => (j.variables as Record<string, string>).SUBARCH), ["generic", "small"]);

    // The example parent pipeline triggers the planner's artifact and waits for it.
    const parent = yamlToJson(readFileSync(join(CI, "gitlab-ci.yml"), "utf8")) as Record<string, Record<string, unknown>>;
    assert.deepEqual(parent.builds!.trigger, { include: [{ artifact: "builds.yml", job: "plan" }], strategy: "depend" });
    assert.match(JSON.stringify(parent.plan!.script), /repo plan --format gitlab .*> builds\.yml/);
    assert.deepEqual(parent.plan!.artifacts, { paths: ["builds.yml"] });

    // Nothing startable: still a valid child pipeline (GitLab refuses one without jobs).
    hold("generic");
    hold("small");
    try {
      const empty = yamlToJson(plan("--format", "gitlab")) as Record<string, unknown>;
      const emptyJobs = Object.keys(empty).filter((k) => k !== "stages");
      assert.equal(emptyJobs.length, 1);
      assert.equal((empty[emptyJobs[0]!] as Record<string, unknown>).resource_group, undefined);
    } finally {
      release("generic");
      release("small");
    }
  });
});
