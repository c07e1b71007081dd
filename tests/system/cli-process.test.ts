// The bundled metro-engine executable as a separate process: the conformance
// kit through `dump --json --contexts`, exit codes, and output to a closed pipe.

import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { caseNames, CLI, compareWithGolden, haveShared, materialize, requireShared } from "../support/shared";

describe("metro-engine executable", function () {
  this.timeout(120_000);

  it("prints its version and exits 2 on a usage error, without a stack trace", () => {
    const v = spawnSync(process.execPath, [CLI, "--version"], { encoding: "utf8" });
    assert.equal(v.status, 0);
    assert.match(v.stdout, /^metro-engine \d+\.\d+\.\d+\n$/);
    const u = spawnSync(process.execPath, [CLI, "chek"], { encoding: "utf8" });
    assert.equal(u.status, 2);
    assert.match(u.stderr, /did you mean "check"/);
    assert.doesNotMatch(u.stderr, /\n\s+at /);
  });

  for (const name of haveShared() ? caseNames() : ["(kit absent)"]) {
    it(`${name}: every context identical through dump --json --contexts`, function () {
      requireShared(this);
      const c = materialize(name);
      const batch = join(mkdtempSync(join(tmpdir(), "metro-batch-")), "contexts.json");
      writeFileSync(batch, JSON.stringify(c.contexts.map((x) => ({ config: join(c.root, x.entry), args: x.args ?? {} }))));
      const p = spawnSync(process.execPath, [CLI, "dump", "--json", "--contexts", batch], { encoding: "utf8", maxBuffer: 1 << 28 });
      assert.ok(!/internal error/.test(p.stderr), p.stderr);
      const answers = JSON.parse(p.stdout);
      assert.equal(answers.length, c.golden.length);
      answers.forEach((a: never, i: number) => assert.equal(compareWithGolden(c.golden[i], a, c.root), null, `context ${i}`));
      assert.equal(p.status, c.golden.some((g) => g.fatal) ? 1 : 0);
    });
  }

  it("fmt - formats standard input to standard output", () => {
    const r = spawnSync(process.execPath, [CLI, "fmt", "-"], { input: "[ section  s ]\nx: 1\n", encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, "[section s]\n\nx: 1\n");
    const check = spawnSync(process.execPath, [CLI, "fmt", "--check", "-"], { input: "  x: 1\n", encoding: "utf8" });
    assert.equal(check.status, 1);
    assert.equal(check.stdout, "-\n");
  });

  it("parse - reads standard input; fmt - and parse - refuse more than a file's 1 MiB of it (an endless producer ends)", () => {
    const r = spawnSync(process.execPath, [CLI, "parse", "-"], { input: "a: $[b\n", encoding: "utf8" });
    assert.equal(r.status, 1);
    assert.match(r.stdout, /^<stdin>:1:4: error: .*\[metro\/unterminated-reference\]\n$/);
    assert.equal(spawnSync(process.execPath, [CLI, "parse", "-"], { input: "a: 1\n", encoding: "utf8" }).status, 0);
    assert.equal(spawnSync(process.execPath, [CLI, "parse", "-", "x.conf"], { encoding: "utf8" }).status, 2);
    for (const cmd of ["parse", "fmt"]) {
      // `yes | metro-engine fmt -`: the output of yes never ends.
      const p = spawnSync("sh", ["-c", `yes | "${process.execPath}" "${CLI}" ${cmd} -`], { encoding: "utf8" });
      assert.equal(p.status, 1, `${cmd}: ${p.stderr}`);
      assert.equal(p.stderr, "<stdin>: is more than the 1 MiB metro-engine reads of one file\n");
    }
  });
});
