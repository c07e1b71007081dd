// `metro-engine build --dry-run DIR` over every context of the real funtoo
// tree (../shared/conformance) and over the project's examples: every step
// script is written, in order, with exactly the evaluated value; nothing
// else changes anywhere.

import { adoptTempDir, removeTempDirs, tempDir } from "../support/trees";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { PROJECT, copyBuiltCli, materialize, requireShared, walkFiles, type MaterializedCase } from "../support/shared";

const BUILT_CLI = join(PROJECT, "dist", "metro-engine.js");
/** A private copy of the built CLI, so a rebuild of dist/ while the tests run cannot change it under them. */
let CLI = BUILT_CLI;
function useCliCopy(): void {
  if (CLI !== BUILT_CLI || !existsSync(BUILT_CLI)) return;
  CLI = copyBuiltCli(tempDir("metro-cli-"));
}

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[]): Promise<CliResult> {
  return new Promise((resolveRun) => {
    const env = { ...process.env };
    // The funtoo tree's <?python block prints these; the golden files were made without them.
    for (const k of ["http_proxy", "ftp_proxy", "RSYNC_PROXY"]) delete env[k];
    const child = spawn(process.execPath, [CLI, "build", ...args], { cwd: PROJECT, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => resolveRun({ code, stdout, stderr }));
  });
}

function argv(args: Record<string, string>): string[] {
  return Object.entries(args).flatMap(([k, v]) => [`${k}:`, v]);
}

/** File names and modification times: the whole state a dry run must not touch. */
function snapshotTree(dir: string): Map<string, number> {
  return new Map(walkFiles(dir).map((f) => [f, statSync(f).mtimeMs]));
}


async function inBatches<T>(items: T[], size: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) {
    await Promise.all(items.slice(i, i + size).map((item, j) => work(item, i + j)));
  }
}

describe("metro-engine build --dry-run", function () {
  this.timeout(300_000);

  // A dry run mounts nothing, so plain recursive removal is safe here.
  after(() => {
    removeTempDirs();
  });

  before(function () {
    if (!existsSync(BUILT_CLI)) throw new Error(`${BUILT_CLI} is missing (run node scripts/build.mjs)`);
    useCliCopy();
  });

  describe("on every context of the funtoo tree", function () {
    let kit: MaterializedCase;
    let out: string;

    before(function () {
      requireShared(this);
      kit = materialize("funtoo-metro");
      adoptTempDir(dirname(kit.root));
      out = tempDir("metro-dry-run-");
    });

    it("writes each step's script, in order, with the evaluated value, and changes nothing else", async () => {
      const before = snapshotTree(kit.root);
      const tmpExisted = existsSync("/var/tmp/metro");
      const failures: string[] = [];
      await inBatches(kit.contexts, 4, async (ctx, i) => {
        const dir = join(out, String(i));
        const r = await runCli(["-c", join(kit.root, ctx.entry), "--dry-run", dir, ...argv(ctx.args)]);
        const label = `context ${i} ${JSON.stringify(ctx.args)}`;
        // funtoo's stage3-test defines no steps/chroot/run: metro stops there, so the dry run is a configuration error.
        const cls = kit.golden[i]!.settings!["target/class"];
        const missingStep = !(cls && "value" in cls && cls.value === "snapshot") && !kit.golden[i]!.settings!["steps/chroot/run"];
        if (r.code !== (missingStep ? 2 : 0)) {
          failures.push(`${label}: exit ${r.code}: ${r.stderr.trim()}`);
          return;
        }
        const golden = kit.golden[i]!.settings!;
        const expected = (key: string): string => {
          const v = golden[key];
          assert.ok(v && "value" in v && Array.isArray(v.value), `${label}: golden ${key} is a script`);
          return (v.value as string[]).join("\n").split("@ROOT@").join(kit.root) + "\n";
        };
        const targets = readdirSync(dir).sort();
        const multi = ctx.args["multi"] === "yes";
        assert.equal(targets.length, multi ? 4 : 1, `${label}: ${targets.join(" ")}`);
        // For a single target, the golden file has every value the scripts must equal.
        const targetDir = join(dir, targets[targets.length - 1]!);
        const scripts = readdirSync(targetDir).sort();
        const keys = scripts.map((f) => f.replace(/^\d+-/, "").replace(/\.sh$/, ""));
        if (golden["target/class"] && "value" in golden["target/class"] && golden["target/class"].value === "snapshot") {
          assert.deepEqual(keys, ["steps-run", "trigger-ok-run"], label);
          assert.equal(readFileSync(join(targetDir, scripts[0]!), "utf8"), expected("steps/run"), label);
        } else {
          assert.equal(keys[0], "steps-unpack", label);
          assert.ok(keys.includes("steps-capture"), `${label}: ${keys.join(" ")}`);
          if (golden["steps/chroot/run"]) assert.ok(keys.includes("steps-chroot-run"), label);
          // funtoo's stage3-test defines no steps/chroot/run: the plan says where a build would fail.
          else assert.match(r.stderr, /error: .*required step steps\/chroot\/run is not defined \(a build fails there, as metro's does\)/, label);
          // The order of metro's stage class, official build (every funtoo context is official).
          const order = ["steps-unpack", "steps-unpack-post", "steps-chroot-prerun", "steps-chroot-run", "steps-chroot-grabinfo",
            "steps-precapture", "steps-chroot-postrun", "steps-chroot-clean", "steps-chroot-test", "steps-chroot-postclean",
            "steps-clean", "steps-capture", "trigger-ok-run"];
          assert.deepEqual(keys, order.filter((k) => keys.includes(k)), `${label}: order`);
          for (let n = 0; n < scripts.length; n++) {
            assert.equal(readFileSync(join(targetDir, scripts[n]!), "utf8"), expected(keys[n]!.replace(/-/g, "/")), `${label}: ${scripts[n]}`);
          }
          const arch = ctx.args["target/arch_desc"];
          if (arch === "x86-32bit") assert.match(r.stdout, /runs: linux32 chroot /, label);
          if (arch === "arm-64bit") assert.match(r.stderr, /does not run natively on a x86-64bit host; install fchroot/, label);
        }
        assert.match(r.stdout, /Dry run of/);
      });
      assert.deepEqual(failures, []);
      const after = snapshotTree(kit.root);
      assert.deepEqual([...after.entries()], [...before.entries()], "the tree and its mirror are untouched");
      if (!tmpExisted) assert.ok(!existsSync("/var/tmp/metro"), "path/tmp was not created");
    });
  });

  it("plans the examples' multi-target chain without touching the mirror", async () => {
    const base = tempDir("metro-dry-examples-");
    const mirror = join(base, "mirror");
    // The control files seed.sh would write (the seed tarball itself is not needed to plan).
    const control = join(mirror, "tiny-current", "x86-64bit", "generic", ".control");
    mkdirSync(join(control, "strategy"), { recursive: true });
    mkdirSync(join(control, "version"));
    writeFileSync(join(control, "strategy", "seed"), "stage3\n");
    writeFileSync(join(control, "strategy", "build"), "remote\n");
    writeFileSync(join(control, "version", "stage3"), "seed\n");
    const before = snapshotTree(mirror);
    const r = await runCli(["-c", join(PROJECT, "examples", "metro.conf"), "--dry-run", join(base, "plan"), "--json",
      "multi:", "yes", "multi/mode:", "full", "path/mirror:", mirror, "path/tmp:", join(base, "tmp"), "target/arch_desc:", "x86-64bit"]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const events = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
    const run = readFileSync(join(base, "plan", "04-stage3", "02-steps-chroot-run.sh"), "utf8");
    assert.deepEqual(events.filter((e) => e.event === "target-start").map((e) => e.target), ["snapshot", "stage1", "stage2", "stage3"]);
    assert.deepEqual(readdirSync(join(base, "plan")).sort(), ["01-snapshot", "02-stage1", "03-stage2", "04-stage3"]);
    const planned = events.filter((e) => e.event === "plan-step" && e.target === "stage3");
    assert.deepEqual(planned.map((e) => e.step), ["steps/unpack", "steps/chroot/run", "steps/chroot/grabinfo", "steps/precapture",
      "steps/chroot/postrun", "steps/chroot/clean", "steps/chroot/test", "steps/chroot/postclean", "steps/clean", "steps/capture", "trigger/ok/run"]);
    const chrootRun = planned[1];
    assert.equal(chrootRun.chroot, true);
    assert.deepEqual(chrootRun.command.slice(0, 1).concat(chrootRun.command.slice(-1)), ["chroot", "/tmp/steps/chroot/run.metro"]);
    assert.equal(readFileSync(chrootRun.file, "utf8"), run);
    assert.match(run, /^#!\/bin\/sh\nset -e\n/);
    assert.match(run, /tiny-install @stage3\nchroot \$ROOT \/usr\/bin\/hello\n/);
    assert.deepEqual([...snapshotTree(mirror).entries()], [...before.entries()]);
    assert.ok(!existsSync(join(base, "tmp")), "path/tmp was not created");
    assert.equal(events[events.length - 1].event, "build-end");
  });

  /** A copy of the examples tree with its mirror's control files, `edit` applied (path below examples/ -> new text). */
  function examplesCopy(edit: Record<string, (text: string) => string>): { base: string; args: string[] } {
    const base = tempDir("metro-dry-edited-");
    cpSync(join(PROJECT, "examples"), join(base, "examples"), { recursive: true });
    const control = join(base, "mirror", "tiny-current", "x86-64bit", "generic", ".control");
    for (const [rel, text] of [["strategy/seed", "stage3\n"], ["strategy/build", "remote\n"], ["version/stage3", "seed\n"]]) {
      mkdirSync(dirname(join(control, rel)), { recursive: true });
      writeFileSync(join(control, rel), text);
    }
    for (const [rel, f] of Object.entries(edit)) {
      const p = join(base, "examples", rel);
      writeFileSync(p, f(existsSync(p) ? readFileSync(p, "utf8") : ""));
    }
    return { base, args: ["-c", join(base, "examples", "metro.conf"), "--dry-run", join(base, "plan"), "--json", "path/mirror:", join(base, "mirror"), "path/tmp:", join(base, "tmp"), "target/arch_desc:", "x86-64bit"] };
  }

  it("a step that cannot be expanded: the plan holds the steps metro runs before it, and exits 2 naming it", async () => {
    const { args } = examplesCopy({ "targets/tiny/stage3.spec": (t) => t.replace("$[packages/stage3]", "$[packages/stage3x]") });
    const r = await runCli([...args, "target:", "stage3"]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    const events = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
    // Metro unpacks the seed, then stops when it expands steps/chroot/run; the plan showed nothing at all.
    const planned = events.filter((e) => e.event === "plan-step").map((e) => e.step);
    assert.deepEqual(planned.slice(0, 1), ["steps/unpack"], JSON.stringify(events));
    assert.ok(!planned.includes("steps/chroot/run"));
    const errors = events.filter((e) => e.event === "message" && e.level === "error").map((e) => e.text);
    assert.equal(errors.length, 1, JSON.stringify(errors));
    assert.match(errors[0], /"packages\/stage3x" is not defined \(while expanding steps\/chroot\/run\) \[target stage3\] \(metro runs the steps before it, then stops there/);
  });

  it("a target that lacks several settings: the error names the one metro stops on first (its output before its class)", async () => {
    // An empty target file: neither target/name (so path/mirror/target) nor target/class is defined.
    const { args } = examplesCopy({ "targets/tiny/bare.spec": () => "" });
    const r = await runCli([...args, "target:", "bare"]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    const errors = r.stdout.trim().split("\n").map((l) => JSON.parse(l)).filter((e) => e.event === "message" && e.level === "error").map((e) => e.text);
    // It named target/class, which metro reads only after path/mirror/target (run_targets, then find_target).
    assert.equal(errors.length, 1, JSON.stringify(errors));
    assert.match(errors[0], /path\/mirror\/target: "target\/name" is not defined \[target bare\]/);
  });

  it("a run of the snapshot alone reads the control folder only after the snapshot is built (the multi lock is for other targets)", async () => {
    const { args } = examplesCopy({ "etc/layout.conf": (t) => t.replace(/^target\/control: .*$/m, "target/control: $[nowhere/defined]") });
    const r = await runCli([...args, "target:", "snapshot"]);
    const events = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
    // metro builds the snapshot, then fails on its fail counter's folder (path/mirror/target/control + "/.failcount").
    const planned = events.filter((e) => e.event === "plan-step").map((e) => e.step);
    assert.deepEqual(planned, ["steps/run", "trigger/ok/run"], r.stdout + r.stderr);
    const errors = events.filter((e) => e.event === "message" && e.level === "error").map((e) => e.text);
    assert.equal(errors.length, 1, JSON.stringify(errors));
    assert.match(errors[0], /"nowhere\/defined" is not defined: the run reads path\/mirror\/target\/control/);
    assert.equal(r.code, 2);
  });

  it("exits 2 on a configuration error and names it", async () => {
    const base = tempDir("metro-dry-bad-");
    const r = await runCli(["-c", join(PROJECT, "examples", "metro.conf"), "--dry-run", join(base, "plan"),
      "target:", "stage3", "target/arch_desc:", "sparc-64bit", "path/mirror:", join(base, "m"), "path/tmp:", join(base, "t")]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /layout\.conf:\d+:\d+: strategy\/build: cannot read .*\.control\/strategy\/build.*\[target stage3\]/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
    assert.ok(!existsSync(join(base, "plan")) && !existsSync(join(base, "m")), "nothing written");
  });
});
