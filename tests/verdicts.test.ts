// Verdicts that match the build, on copies of the examples tree: what the
// run of a context uses (engine/stage-builder/uses.ts) decides whether a
// value that cannot be expanded is an error (the run stops there, with the
// chain from the key it reads), a warning (nothing the run uses reads it) or
// information (a file missing on this machine, whose mirror is not here).

import assert from "node:assert/strict";
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { checkContext } from "../engine/check";
import { evaluateContext } from "../engine/evaluate";
import { analyzeRun } from "../engine/stage-builder/uses";
import { checkAll } from "../cli/commands/check";
import { mergeFindings } from "../analysis/findings";
import { PROJECT } from "./support/shared";
import { removeTempDirs, tempDir, writeTree } from "./support/trees";
import { STAGE_TREE, dryRunOf } from "./support/stage-tree";
import { runCli } from "./support/run-cli";

/** A copy of the examples tree with its mirror's control files, edited by `edit` (path -> new text). */
function examples(edit: Record<string, (text: string) => string> = {}): { config: string; root: string } {
  const root = tempDir("metro-verdicts-");
  cpSync(join(PROJECT, "examples"), join(root, "examples"), { recursive: true });
  const control = join(root, "mirror", "tiny-current", "x86-64bit", "generic", ".control");
  for (const [rel, text] of [["strategy/seed", "stage3\n"], ["strategy/build", "remote\n"], ["version/stage3", "seed\n"]]) {
    const p = join(control, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, text);
  }
  for (const [rel, f] of Object.entries(edit)) {
    const p = join(root, "examples", rel);
    writeFileSync(p, f(readFileSync(p, "utf8")));
  }
  return { config: join(root, "examples", "metro.conf"), root };
}

const ARGS = (root: string, target: string) => ({ target, "path/mirror": join(root, "mirror"), "path/tmp": join(root, "tmp"), "target/arch_desc": "x86-64bit" });

describe("verdicts: what a build uses", () => {
  after(removeTempDirs);

  it("the example tree's stage3 run completes: no error, every step read in the class's order", () => {
    const { config, root } = examples();
    const r = checkContext({ config, args: ARGS(root, "stage3") });
    assert.deepEqual(r.diagnostics.filter((d) => d.severity === "error"), []);
    const steps = r.uses!.targets[0].steps.map((s) => s.key);
    assert.deepEqual(steps.slice(0, 2), ["steps/unpack", "steps/chroot/run"]);
    assert.ok(r.uses!.used.get(r.context)!.has("packages/stage3"), "reached through $[[steps/chroot/run/main]]");
  });

  it("a used value that cannot be expanded is an error at the failing reference, naming the chain", () => {
    const { config, root } = examples({ "targets/tiny/stage3.spec": (t) => t.replace("$[packages/stage3]", "$[packages/stage3x]") });
    const r = checkContext({ config, args: ARGS(root, "stage3") });
    const errors = r.diagnostics.filter((d) => d.severity === "error");
    assert.equal(errors.length, 1, JSON.stringify(r.diagnostics, null, 1));
    const e = errors[0];
    assert.ok(e.file.endsWith("targets/tiny/stage3.spec"));
    const line = readFileSync(e.file, "utf8").split("\n")[e.range.start.line];
    assert.equal(line.slice(e.range.start.character, e.range.end.character), "$[packages/stage3x]");
    assert.match(e.message, /"packages\/stage3x" is not defined: the stage3 run reads the step steps\/chroot\/run and stops here \(steps\/chroot\/run -> steps\/chroot\/run\/main\)/);
  });

  it("the same value in a target no context builds is a warning: unused by the run", () => {
    const { config, root } = examples({ "targets/tiny/stage3.spec": (t) => t.replace("$[packages/stage3]", "$[packages/stage3x]") });
    // stage2 collects stage3's source spec only; stage3.spec's steps are not part of its run.
    const r = checkContext({ config, args: ARGS(root, "stage2") });
    assert.deepEqual(r.diagnostics.filter((d) => d.severity === "error"), []);
    const w = r.diagnostics.filter((d) => d.message.includes("packages/stage3x"));
    for (const d of w) assert.match(d.message, /unused by the stage2 run; metro never expands it/);
  });

  it("a missing required step and a step that is not multi-line stop the run", () => {
    const { config: c2, root: r2 } = examples({ "targets/tiny/target/stage.spec": (t) => t.replace(/\nrun: \[\n#!\/bin\/sh\n\$\[\[steps\/setup\]\][\s\S]*?\n\]\n/, "\n") });
    const missing = checkContext({ config: c2, args: ARGS(r2, "stage3") });
    const e = missing.diagnostics.filter((d) => d.severity === "error");
    assert.equal(e.length, 1, JSON.stringify(missing.diagnostics, null, 1));
    assert.equal(e[0].code, "metro/missing-step");
    assert.match(e[0].message, /run_script: key 'steps\/chroot\/run' not found/);
    assert.ok(e[0].file.endsWith("/stage3.spec"), e[0].file);
    const { config: c3, root: r3 } = examples({ "targets/tiny/stage3.spec": (t) => t + "\n[section steps/chroot]\n\nprerun: not a script\n" });
    const single = checkContext({ config: c3, args: ARGS(r3, "stage3") });
    assert.ok(single.diagnostics.some((d) => d.severity === "error" && d.code === "metro/step-not-multi-line"), JSON.stringify(single.diagnostics, null, 1));
  });

  it("a mirror file missing on this machine is information, not an error", () => {
    const { config, root } = examples();
    const r = checkContext({ config, args: { ...ARGS(root, "stage3"), "path/mirror": join(root, "no-mirror") } });
    assert.deepEqual(r.diagnostics.filter((d) => d.severity === "error"), []);
    assert.ok(r.diagnostics.some((d) => d.severity === "information" && d.code === "metro/missing-file"));
    // Nor are the seed and the snapshot stage1 requires: information at the definitions of path/mirror/source and path/mirror/snapshot.
    const { config: c2, root: r2 } = examples();
    const files = checkContext({ config: c2, args: ARGS(r2, "stage1") }).diagnostics.filter((d) => d.code === "metro/missing-required-file");
    assert.deepEqual(files.map((d) => d.severity), ["information", "information"]);
    assert.match(files[0].message, /required file .* \(path\/mirror\/source\) not found on this machine: a build of stage1 here stops before it starts/);
    assert.match(files[1].message, /\(path\/mirror\/snapshot\) not found on this machine/);
  });

  it("a mirror file missing from a mirror that is on this machine is an error: a build here stops on it", () => {
    // The mirror is here (a build server's), but this subarch's control folder was never made: metro's read fails.
    const { config, root } = examples();
    rmSync(join(root, "mirror", "tiny-current", "x86-64bit", "generic", ".control"), { recursive: true });
    const r = checkContext({ config, args: ARGS(root, "stage3") });
    const errors = r.diagnostics.filter((d) => d.code === "metro/missing-file");
    assert.ok(errors.length > 0, JSON.stringify(r.diagnostics, null, 1));
    // Where the run reads it, an error; a value the run never expands stays a warning.
    assert.deepEqual(errors.filter((e) => e.severity === "information"), []);
    const stops = errors.filter((e) => e.severity === "error");
    assert.ok(stops.length > 0, JSON.stringify(errors, null, 1));
    for (const e of stops) assert.match(e.message, /\.control\/.* it does not exist, and the mirror .*\/mirror is on this machine: a build here stops on it/);
    // A path of the same context outside the mirror keeps its verdict: the mirror named elsewhere is not here.
    const away = checkContext({ config, args: { ...ARGS(root, "stage3"), "path/mirror": join(root, "no-mirror") } });
    assert.deepEqual(away.diagnostics.filter((d) => d.severity === "error"), []);
  });

  it("a multi run reads each target in its own context", () => {
    const { config, root } = examples();
    const ctx = evaluateContext({ config, args: { ...ARGS(root, "stage3"), multi: "yes", "multi/mode": "full" } }, { trackReferences: true });
    const seen: string[] = [];
    const uses = analyzeRun(ctx, (t) => {
      seen.push(t);
      return evaluateContext({ config, args: { ...ARGS(root, "stage3"), multi: "yes", "multi/mode": "full", target: t } }, { trackReferences: true });
    });
    assert.deepEqual(uses.targets.map((t) => t.name), ["snapshot", "stage1", "stage2", "stage3"]);
    assert.deepEqual(seen, ["snapshot", "stage1", "stage2", "stage3"]);
    assert.deepEqual(uses.failures, []);
  });

  it("check merges one finding across contexts: worst verdict, the active context first", () => {
    const d = (severity: "error" | "warning", message: string) => ({ file: "/t/a.conf", range: { start: { line: 1, character: 2, offset: 9 }, end: { line: 1, character: 5, offset: 12 } }, severity, code: "metro/undefined-element", message });
    const merged = mergeFindings([
      { name: "a", diagnostics: [d("warning", "x (unused by the a run)")] },
      { name: "b", diagnostics: [d("error", "x: the b run stops here")] },
      { name: "c", diagnostics: [] },
    ], "a", 3);
    assert.equal(merged.length, 1);
    assert.equal(merged[0].severity, "error");
    assert.deepEqual(merged[0].contexts, ["a", "b"]);
    assert.deepEqual(merged[0].verdictContexts, ["b"]);
    // The error names the context whose run stops; a, where it is only a warning, is named apart.
    assert.equal(merged[0].message, "x: the b run stops here (in b; a warning in a)");
    const findings = checkAll([{ config: examples().config, args: { target: "stage3" } }]);
    assert.ok(findings.every((f) => f.severity !== "error"), JSON.stringify(findings.filter((f) => f.severity === "error")));
  });

  it("check: an error found in some contexts and a warning in others names only the failing ones as failing", () => {
    // a's run reads path/mirror/target/path, which expands broken; b's run never expands broken.
    const root = writeTree({
      "metro.conf": "[section path/mirror/target]\n\ncontrol: @ROOT@/control\n\n[section release]\n\ntype: qa\n\n[section portage]\n\nMAKEOPTS: -j2\n\n[collect common.conf]\n[collect $[target].spec]\n",
      "common.conf": "broken: $[no/such]\n",
      "a.spec": "[section path/mirror/target]\n\npath: $[broken]\n",
      "b.spec": "[section path/mirror/target]\n\npath: @ROOT@/out\n",
    });
    const config = join(root, "metro.conf");
    const findings = checkAll([
      { name: "a", config, args: { target: "a" } },
      { name: "b", config, args: { target: "b" } },
      { name: "b2", config, args: { target: "b", other: "1" } },
    ]);
    const f = findings.filter((x) => x.file === join(root, "common.conf"));
    assert.equal(f.length, 1, JSON.stringify(findings, null, 1));
    assert.equal(f[0].severity, "error");
    // It said "each context's run reads path/mirror/target/path and stops here (in all 3 contexts)".
    assert.match(f[0].message, /: the a run reads path\/mirror\/target\/path and stops here .*\(in a; a warning in 2 other contexts: b; b2\)$/);
    assert.deepEqual(f[0].contexts, ["a", "b", "b2"]);
  });

  it("check: a `$[[X]]` of a single-line or undefined element is placed at that reference, not at the element's first line", () => {
    const root = writeTree({ "metro.conf": "s: 1\n\nm: [\necho one\n$[[s:lax]]\n]\n\nu: [\necho two\n  $[[nope]]\n]\n" });
    const config = join(root, "metro.conf");
    const lines = readFileSync(config, "utf8").split("\n");
    const findings = checkAll([{ config, args: {} }]).filter((f) => f.code === "metro/not-multi-line" || f.code === "metro/undefined-multi-line");
    const at = (f: (typeof findings)[0]) => [f.code, f.range.start.line + 1, lines[f.range.start.line].slice(f.range.start.character, f.range.end.character)];
    // Both were at the element's name (lines 3 and 8).
    assert.deepEqual(findings.map(at), [
      ["metro/not-multi-line", 5, "$[[s:lax]]"],
      ["metro/undefined-multi-line", 10, "$[[nope]]"],
    ], JSON.stringify(findings, null, 1));
  });

  it("check: of a run's failures, only the first is where metro stops; the others say where it stops before", () => {
    // The setup reads path/mirror/target/path (broken) before target/class (not defined anywhere).
    const root = writeTree({
      "metro.conf": "[section path/mirror/target]\n\ncontrol: @ROOT@/control\npath: $[no/such]\n\n[section release]\n\ntype: qa\n\n[section portage]\n\nMAKEOPTS: -j2\n",
    });
    const findings = checkAll([{ name: "one", config: join(root, "metro.conf"), args: { target: "a" } }]).filter((f) => f.severity === "error");
    const path = findings.find((f) => f.missing === "no/such");
    const cls = findings.find((f) => f.message.includes("target/class"));
    assert.ok(path && cls, JSON.stringify(findings, null, 1));
    assert.match(path.message, /the a run reads path\/mirror\/target\/path and stops here/);
    // It said "metro stops here" of target/class too, which metro never reaches.
    assert.match(cls.message, /target\/class, which are not defined: metro would stop at path\/mirror\/target, but stops before, at path\/mirror\/target\/path$/);
    assert.doesNotMatch(cls.message, /metro stops (here|at)/);
  });

  it("check: a path metro joins that expands to nothing (:zap) is where metro stops, with a TypeError", () => {
    const root = writeTree({
      "metro.conf": "[section path/mirror/target]\n\ncontrol: $[nope:zap]/control\npath: @ROOT@/out\n\n[section release]\n\ntype: qa\n\n[section portage]\n\nMAKEOPTS: -j2\n\n[section target]\n\nclass: stage\n",
    });
    const config = join(root, "metro.conf");
    const findings = checkAll([{ name: "one", config, args: { target: "a" } }]).filter((f) => f.severity === "error");
    const zap = findings.filter((f) => f.code === "metro/nothing-as-path");
    // metro: initial_settings["path/mirror/target/control"] + "/.multi_progress" with None; check saw nothing wrong there.
    assert.equal(zap.length, 1, JSON.stringify(findings, null, 1));
    assert.equal(zap[0].range.start.line, 2);
    assert.match(zap[0].message, /"path\/mirror\/target\/control" expands to nothing .* a TypeError stops it$/);
    assert.ok(findings.filter((f) => f !== zap[0]).every((f) => /stops before, at path\/mirror\/target\/control/.test(f.message)), JSON.stringify(findings, null, 1));
  });

  it("check: a collect that names a different missing file per context says so", () => {
    const root = writeTree({ "metro.conf": "[collect $[target].spec]\n" });
    const config = join(root, "metro.conf");
    const findings = checkAll(["x", "y"].map((t) => ({ name: t, config, args: { target: t } }))).filter((x) => x.code === "metro/missing-collect");
    assert.equal(findings.length, 1, JSON.stringify(findings, null, 1));
    // It named x.spec alone, of both contexts.
    assert.equal(findings[0].message, `file "${join(root, "x.spec")}" does not exist (and 1 other path in other contexts) (in all 2 contexts)`);
  });

  it("check: an unterminated `$[` or a bad modifier is an error only where the run expands it, reported once at the reference", () => {
    const { config, root } = examples({
      "targets/tiny/stage3.spec": (t) =>
        t.replace("$[packages/stage3]", "$[packages/stage3") + "\n[section unused]\n\nopen: a $[target/name\nodd: $[target/name:bogus]\n",
    });
    const findings = checkAll([{ config, args: ARGS(root, "stage3") }]).filter((f) => /unterminated|modifier/.test(f.code));
    const lines = readFileSync(join(root, "examples", "targets", "tiny", "stage3.spec"), "utf8").split("\n");
    const where = (f: (typeof findings)[0]) => lines[f.range.start.line].slice(f.range.start.character);
    assert.deepEqual(
      findings.map((f) => [f.severity, f.code, where(f)]),
      [
        ["error", "metro/unterminated-reference", "$[packages/stage3"],
        ["warning", "metro/unterminated-reference", "$[target/name"],
        ["warning", "metro/unknown-modifier", "$[target/name:bogus]"],
      ],
      JSON.stringify(findings, null, 1),
    );
    assert.match(findings[0].message, /the stage3 run reads the step steps\/chroot\/run and stops here/);
    assert.match(findings[1].message, /unused by the stage3 run; metro never expands it/);
  });

  it("target/class is found as metro finds it (capitalized): Stage and STAGE are the stage class", async () => {
    // metro looks up target/class.capitalize() + "Target": check said "no target class of that name", the dry run refused.
    for (const written of ["Stage", "STAGE"]) {
      const { config, root } = examples({ "targets/tiny/target/stage.spec": (t) => t.replace("class: stage", `class: ${written}`) });
      const r = checkContext({ config, args: ARGS(root, "stage3") });
      assert.deepEqual(r.diagnostics.filter((d) => d.severity === "error"), [], written);
      assert.equal(r.uses!.targets[0].cls, "stage");
      assert.ok(r.uses!.targets[0].steps.some((s) => s.key === "steps/chroot/run"), written);
    }
    const root = writeTree({ "metro.conf": STAGE_TREE.replace("class: stage", "class: STAGE"), "mirror/.control/.keep": "" });
    const dry = await dryRunOf(root);
    assert.equal(dry.code, 0, dry.errors.join("\n"));
    assert.deepEqual(dry.steps, ["steps/unpack", "steps/chroot/run", "steps/capture"]);
    // A name that is no class stays an error.
    const { config, root: r2 } = examples({ "targets/tiny/target/stage.spec": (t) => t.replace("class: stage", "class: stgae") });
    assert.ok(checkContext({ config, args: ARGS(r2, "stage3") }).diagnostics.some((d) => d.severity === "error" && d.code === "metro/unknown-target-class"));
    // metro has a VirtualBox class, which the engine does not model: it says so (it said "no target class of that name").
    const vb = examples({ "targets/tiny/target/stage.spec": (t) => t.replace("class: stage", "class: virtualbox") });
    const d = checkContext({ config: vb.config, args: ARGS(vb.root, "stage3") }).diagnostics.find((x) => x.code === "metro/unknown-target-class");
    assert.match(d?.message ?? "", /metro's virtualbox class, which metro-engine does not model/);
  });

  it("a value that expands to nothing (:zap) where metro calls a string method on it or uses it as a path stops the run, at its definition", () => {
    // Each: the file edited, the edit, the context, the key, the code; metro fails with an AttributeError or a TypeError
    // on None there (or "Setting ... glob failed"), and check reported no error.
    const cases: { file: string; edit: (t: string) => string; args?: Record<string, string>; target?: string; key: string; code: string }[] = [
      { file: "targets/tiny/target/stage.spec", edit: (t) => t.replace("class: stage", "class: $[nope:zap]stage"), key: "target/class", code: "metro/nothing-as-value" },
      { file: "metro.conf", edit: (t) => t.replace("options:\n", "options: $[nope:zap]x\n"), key: "metro/options", code: "metro/nothing-as-value" },
      { file: "metro.conf", edit: (t) => t.replace("options:\n", "options: $[nope:zap]x\n"), args: { "release/type": "qa" }, key: "metro/options", code: "metro/nothing-as-value" },
      { file: "metro.conf", edit: (t) => t.replace("cache: $[path/tmp]/cache\n", "cache: $[path/tmp]/cache\ndistfiles: $[nope:zap]/d\n"), key: "path/distfiles", code: "metro/nothing-as-path" },
      { file: "targets/tiny/stage3.spec", edit: (t) => t.replace("name/prefix: stage3-", "name/prefix: $[nope:zap]stage3-"), key: "target/name/prefix", code: "metro/nothing-as-value" },
      { file: "metro.conf", edit: (t) => t.replace("work: $[path/tmp]", "work: $[nope:zap]$[path/tmp]"), key: "path/work", code: "metro/nothing-as-value" },
      { file: "metro.conf", edit: (t) => t.replace("work: $[path/tmp]", "work: $[nope:zap]$[path/tmp]"), target: "snapshot", key: "path/work", code: "metro/nothing-as-path" },
      { file: "etc/layout.conf", edit: (t) => t.replace("target: $[:target/path]/", "target: $[nope:zap]$[:target/path]/"), key: "path/mirror/target", code: "metro/nothing-as-path" },
      { file: "etc/layout.conf", edit: (t) => t.replace("target/control: $[]/", "target/control: $[nope:zap]/"), target: "snapshot", key: "path/mirror/target/control", code: "metro/nothing-as-path" },
      { file: "targets/tiny/source/common.spec", edit: (t) => t.replace("source: $[]/", "source: $[nope:zap]$[]/"), key: "path/mirror/source", code: "metro/nothing-as-path" },
      { file: "metro.conf", edit: (t) => t.replace("owner: root", "owner: $[nope:zap]root"), key: "path/mirror/owner", code: "metro/nothing-as-value" },
      { file: "etc/multi-targets/full", edit: (t) => t.replace("targets: $[:snapshot]", "targets: $[nope:zap]$[:snapshot]"), args: { multi: "yes", "multi/mode": "full" }, key: "multi/targets", code: "metro/nothing-as-value" },
    ];
    for (const c of cases) {
      const { config, root } = examples({ [c.file]: c.edit });
      const r = checkContext({ config, args: { ...ARGS(root, c.target ?? "stage3"), ...c.args } });
      const label = `${c.key} (${c.target ?? "stage3"} ${JSON.stringify(c.args ?? {})})`;
      const errors = r.diagnostics.filter((d) => d.severity === "error" && d.code === c.code && d.message.includes(`"${c.key}" expands to nothing`));
      assert.ok(errors.length > 0, `${label}: ${JSON.stringify(r.diagnostics.filter((d) => d.severity === "error"), null, 1)}`);
      // At the key's own definition: the line the :zap was written on.
      const e = errors[0];
      assert.ok(e.file.endsWith(c.file), `${label}: ${e.file}`);
      assert.match(readFileSync(e.file, "utf8").split("\n")[e.range.start.line], /\$\[nope:zap\]/, label);
    }
  });

  it("a QA target whose path/mirror/target expands to nothing builds (metro tests the output of official targets only)", async () => {
    const { config, root } = examples({ "etc/layout.conf": (t) => t.replace("target: $[:target/path]/", "target: $[nope:zap]$[:target/path]/") });
    const qa = checkContext({ config, args: { ...ARGS(root, "stage3"), "release/type": "qa" } });
    assert.deepEqual(qa.diagnostics.filter((d) => d.severity === "error"), []);
    const tree = writeTree({ "metro.conf": STAGE_TREE.replace("type: official", "type: qa").replace("target: $[:target/path]/", "target: $[nope:zap]$[:target/path]/"), "mirror/.control/.keep": "" });
    const dry = await dryRunOf(tree);
    // It said "path/mirror/target expands to nothing (:zap)" and exited 2.
    assert.equal(dry.code, 0, dry.errors.join("\n"));
    assert.deepEqual(dry.steps, ["steps/unpack", "steps/chroot/run"]);
  });

  it("a host/arch_desc metro does not know stops its chroot targets before the first chroot step", async () => {
    // metro: "Arch specified in host/arch_desc ... not supported." (its native_support has riscv, not riscv-64bit).
    for (const host of ["mips", "riscv-64bit", "$[nope:zap]x86-64bit"]) {
      const { config, root } = examples({ "metro.conf": (t) => t.replace("[section target]\n", `[section host]\n\narch_desc: ${host}\n\n[section target]\n`) });
      const r = checkContext({ config, args: ARGS(root, "stage3") });
      const errors = r.diagnostics.filter((d) => d.severity === "error");
      assert.deepEqual(errors.map((e) => e.code), ["metro/unsupported-host-arch"], host);
      assert.ok(errors[0].file.endsWith("examples/metro.conf"));
      assert.match(readFileSync(errors[0].file, "utf8").split("\n")[errors[0].range.start.line], /^arch_desc: /);
      assert.match(errors[0].message, /metro stops here/);
    }
    const ok = examples({ "metro.conf": (t) => t.replace("[section target]\n", "[section host]\n\narch_desc: x86-64bit\n\n[section target]\n") });
    assert.deepEqual(checkContext({ config: ok.config, args: ARGS(ok.root, "stage3") }).diagnostics.filter((d) => d.severity === "error"), []);
    const tree = writeTree({ "metro.conf": STAGE_TREE.replace("[section target]\n", "[section host]\n\narch_desc: mips\n\n[section target]\n"), "mirror/.control/.keep": "" });
    const dry = await dryRunOf(tree);
    assert.equal(dry.code, 2);
    assert.ok(dry.errors.some((m) => m.includes("host/arch_desc")), dry.errors.join("\n"));
  });

  it("metro/options cache/kernel or probe without the cache's setting: metro never binds those caches, so the dry run goes on (a warning)", async () => {
    const tree = writeTree({ "metro.conf": STAGE_TREE + "\n[section metro]\n\noptions: cache/kernel probe\n", "mirror/.control/.keep": "" });
    const dry = await dryRunOf(tree);
    // It said "required setting path/cache/kernel is not defined" and exited 2.
    assert.equal(dry.code, 0, dry.errors.join("\n"));
    assert.equal(dry.warnings.filter((w) => /path\/cache\/(kernel|probe) is not defined: that cache is not bound/.test(w)).length, 2, dry.warnings.join("\n"));
  });

  it("a multi-line value where metro calls a string method on it or uses it as a path stops the run, at its definition; a multi-line release/type is only not official", async () => {
    // metro: 'list' object has no attribute 'capitalize' / 'split', or a TypeError; check reported no error.
    const cases: { file: string; edit: (t: string) => string; args?: Record<string, string>; key: string; code: string }[] = [
      { file: "targets/tiny/target/stage.spec", edit: (t) => t.replace("class: stage", "class: [\nstage\n]"), key: "target/class", code: "metro/multi-line-as-value" },
      { file: "metro.conf", edit: (t) => t.replace("options:\n", "options: [\nreplace\n]\n"), key: "metro/options", code: "metro/multi-line-as-value" },
      { file: "metro.conf", edit: (t) => t.replace(/^work: .*\n/m, "work: [\n/var/tmp/x\n]\n"), key: "path/work", code: "metro/multi-line-as-value" },
      { file: "metro.conf", edit: (t) => t.replace("cache: $[path/tmp]/cache\n", "cache: $[path/tmp]/cache\ndistfiles: [\n/d\n]\n"), key: "path/distfiles", code: "metro/multi-line-as-path" },
      { file: "etc/multi-targets/full", edit: (t) => t.replace(/^targets: .*\n/m, "targets: [\nstage1\n]\n"), args: { multi: "yes", "multi/mode": "full" }, key: "multi/targets", code: "metro/multi-line-as-value" },
    ];
    for (const c of cases) {
      const { config, root } = examples({ [c.file]: c.edit });
      const r = checkContext({ config, args: { ...ARGS(root, "stage3"), ...c.args } });
      const e = r.diagnostics.find((d) => d.severity === "error" && d.code === c.code && d.message.includes(`"${c.key}" is a multi-line value`));
      assert.ok(e, `${c.key}: ${JSON.stringify(r.diagnostics.filter((d) => d.severity === "error"), null, 1)}`);
      assert.ok(e.file.endsWith(c.file), `${c.key}: ${e.file}`);
      assert.match(readFileSync(e.file, "utf8").split("\n")[e.range.start.line], /: \[$/, c.key);
    }
    // metro compares release/type with "official": a list is not official, so a snapshot is skipped (the dry run said "a single line was expected").
    const tree = writeTree({ "metro.conf": STAGE_TREE.replace("type: official", "type: [\nofficial\n]"), "mirror/.control/.keep": "" });
    const r = await runCli(["build", "--config", join(tree, "metro.conf"), "--dry-run", join(tree, "plan"), "--json", "target:", "snapshot"]);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /"event":"target-skip","target":"snapshot"/);
  });

  it("dry run: a target it refuses on one key names metro's own first failure too, when metro reads another key first", async () => {
    // path/tmp and path/work reference each other: the plan reads path/work up front, metro fails first on
    // path/cache/build (looking for processes left in the chroot). The dry run named path/work only.
    const tree = writeTree({ "metro.conf": STAGE_TREE.replace("tmp: @ROOT@/tmp", "tmp: $[path/work]"), "mirror/.control/.keep": "" });
    const dry = await dryRunOf(tree);
    assert.equal(dry.code, 2);
    assert.ok(dry.errors.some((m) => m.includes("path/work")), dry.errors.join("\n"));
    assert.ok(dry.errors.some((m) => /reads path\/cache\/build.*\(metro stops here first\)$/.test(m)), dry.errors.join("\n"));
    // A refusal on the key metro stops on is said once (no second line).
    const once = writeTree({ "metro.conf": STAGE_TREE.replace("target: $[:target/path]/$[target].tar", "target: $[:target/path]/$[nope]"), "mirror/.control/.keep": "" });
    const d2 = await dryRunOf(once);
    assert.equal(d2.errors.length, 1, d2.errors.join("\n"));
  });
});
