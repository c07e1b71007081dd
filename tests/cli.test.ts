import assert from "node:assert/strict";
import { cpus } from "node:os";
import { join } from "node:path";
import { runCli as run } from "./support/run-cli";
import { writeTree } from "./support/trees";

describe("cli: metro-engine", () => {
  const root = writeTree({
    "metro.conf": "[collect ./more.conf]\nname: $[target]-x\nportage/MAKEOPTS: auto\nsteps: [\necho $[name]\n$[[extra:lax]]\n]\n",
    "more.conf": "[section s]\nk: v\n",
    "bad.conf": "ok: 1\n[section]\nx: $[y\nfoo:bar\n",
  });
  const config = join(root, "metro.conf");

  it("get prints one value, multi-line values as their lines", async () => {
    assert.deepEqual(await run(["get", "name", "--config", config, "target:", "stage3"]), { code: 0, out: "stage3-x\n", err: "" });
    assert.equal((await run(["get", "steps", "--config", config, "target:", "t"])).out, "echo t-x\n");
  });

  it("replaces MAKEOPTS auto with -jN, N = processors + 1", async () => {
    assert.equal((await run(["get", "portage/MAKEOPTS", "--config", config, "target:", "t"])).out, `-j${cpus().length + 1}\n`);
  });

  it("get of an undefined or failing key exits 1 with a message", async () => {
    const r = await run(["get", "name", "--config", config]);
    assert.equal(r.code, 1);
    assert.match(r.err, /"target" is not defined \[metro\/undefined-element\]/);
  });

  it("rejects bad arguments with exit 2 and a clear message", async () => {
    const cases: [string[], RegExp][] = [
      [["get", "name", "--config", config, "target", "stage3"], /"target" is not a key/],
      [["get", "name", "--config", config, "target:"], /has no value/],
      [["dump", "--config", join(root, "nope.conf")], /does not exist/],
      [["frobnicate"], /unknown command/],
      [["check", "--format", "xml", "--config", config], /--format must be/],
      [["parse"], /at least one FILE/],
    ];
    for (const [args, message] of cases) {
      const r = await run(args);
      assert.equal(r.code, 2, args.join(" "));
      assert.match(r.err, message);
      assert.doesNotMatch(r.err, /\n\s+at /);
    }
  });

  it("parse prints file:line:col diagnostics and exits 1 on errors", async () => {
    const r = await run(["parse", join(root, "bad.conf")]);
    assert.equal(r.code, 1);
    const lines = r.out.trim().split("\n");
    assert.ok(lines.some((l) => l.startsWith(`${join(root, "bad.conf")}:2:1: error:`) && l.endsWith("[metro/bad-annotation]")), r.out);
    assert.ok(lines.some((l) => l.includes(":4:1: warning:") && l.endsWith("[metro/ignored-line]")), r.out);
    assert.equal((await run(["parse", join(root, "more.conf")])).code, 0);
    const tree = JSON.parse((await run(["parse", "--json", join(root, "more.conf")])).out);
    assert.equal(tree.ast.statements[1].name.qualified, "s/k");
    assert.equal(tree.ast.statements[1].value.parts[0].text, "v");
  });

  it("dump --json has the golden shape; a fatal context exits 1", async () => {
    const r = await run(["dump", "--json", "--config", config, "target:", "t"]);
    assert.equal(r.code, 0);
    const d = JSON.parse(r.out);
    assert.deepEqual(d.collected, [config, join(root, "more.conf")]);
    assert.deepEqual(d.settings["s/k"], { value: "v" });
    assert.deepEqual(d.settings["steps"], { value: ["echo t-x"] });
    const f = await run(["dump", "--json", "--config", join(root, "bad.conf")]);
    assert.equal(f.code, 1);
    assert.equal(JSON.parse(f.out).fatal, "metro/bad-annotation");
  });

  it("check reports in text, json and SARIF, exit 1 with errors", async () => {
    const t = await run(["check", "--config", config]);
    assert.equal(t.code, 1);
    assert.match(t.out, /metro\.conf:2:7: error: "target" is not defined \[metro\/undefined-element\]/);
    const j = JSON.parse((await run(["check", "--format", "json", "--config", config])).out);
    assert.equal(j[0].code, "metro/undefined-element");
    const s = JSON.parse((await run(["check", "--format", "sarif", "--config", config])).out);
    assert.equal(s.version, "2.1.0");
    assert.equal(s.runs[0].results[0].ruleId, "metro/undefined-element");
    assert.equal(s.runs[0].results[0].locations[0].physicalLocation.region.startLine, 2);
    assert.equal((await run(["check", "--config", config, "target:", "x"])).code, 0);
  });

  it("check uses metro-contexts.json when given no context", async () => {
    const tree = writeTree({
      "metro.conf": "a: $[b]\n",
      "metro-contexts.json": JSON.stringify([{ name: "one", config: "metro.conf", args: { b: "1" } }, { name: "two", config: "metro.conf", args: {} }]),
    });
    const r = await run(["check"], tree);
    assert.equal(r.code, 1);
    assert.match(r.out, /"b" is not defined .*\(in /);
  });
});
