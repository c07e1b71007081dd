import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { checkContext } from "../engine/check";
import { dumpContexts } from "../cli/main";
import { EvaluationError, evaluateContext, type MetroValue } from "../engine/evaluate";
import { PythonRunner } from "../engine/python";
import { Workspace } from "../engine/workspace";
import { caseNames, compareWithGolden, haveShared, materialize, requireShared } from "./support/shared";
import { writeTree } from "./support/trees";
import { runCli } from "./support/run-cli";

for (const v of ["http_proxy", "ftp_proxy", "RSYNC_PROXY"]) delete process.env[v];

/** Evaluates `key` in a tree of files; returns the value or "ERROR:<code>" / "FATAL:<code>". */
function value(files: Record<string, string>, key: string, args: Record<string, string> = {}, allowExec = false): MetroValue | string {
  const root = writeTree(files);
  const ctx = evaluateContext({ config: join(root, "metro.conf"), args }, { allowExec, makeopts: false });
  if (ctx.fatal) return `FATAL:${ctx.fatal.code}`;
  try {
    return ctx.get(key);
  } catch (e) {
    if (e instanceof EvaluationError) return `ERROR:${e.code}`;
    throw e;
  }
}

describe("engine: expansion semantics (spec section 3)", () => {
  const cases: [string, Record<string, string>, string, MetroValue | string, Record<string, string>?][] = [
    ["single reference", { "metro.conf": "a: x$[b]y\nb: B\n" }, "a", "xBy"],
    ["definition order does not matter", { "metro.conf": "a: $[b]\n[section s]\nb: late\n" }, "a", "ERROR:metro/undefined-element"],
    ["section reference $[]", { "metro.conf": "[section s]\n: S\nk: <$[]>\n" }, "s/k", "<S>"],
    ["relative reference $[:x]", { "metro.conf": "[section s]\nx: X\nk: $[:x]\n" }, "s/k", "X"],
    ["$[:zap] names SECTION/zap", { "metro.conf": "[section s]\nzap: Z\nk: $[:zap]\n" }, "s/k", "Z"],
    ["no section for $[:x] outside a section", { "metro.conf": "k: $[:x]\n" }, "k", "ERROR:metro/no-section"],
    ["boolean of defined blank is yes", { "metro.conf": "b:\nk: $[b?]\n" }, "k", "yes"],
    ["boolean of undefined is no", { "metro.conf": "k: $[u?]\n" }, "k", "no"],
    ["zap of undefined makes the whole value nothing", { "metro.conf": "k: a $[u:zap] $[undefined]\n" }, "k", null],
    ["references left of a zap still fail", { "metro.conf": "k: $[undefined] $[u:zap]\n" }, "k", "ERROR:metro/undefined-element"],
    ["zap propagates through enclosing references", { "metro.conf": "k: <$[m]>\nm: $[e:zap]\ne:\n" }, "k", null],
    ["zap in a conditional element is an error", { "metro.conf": "x: 1\nk: $[c]\n[when x]\nc: $[u:zap]\n" }, "k", "ERROR:metro/zap-in-conditional"],
    ["lax is inherited", { "metro.conf": "a: $[b:lax]\nb: x$[c]y\n" }, "a", "xy"],
    ["lax does not apply to b itself", { "metro.conf": "a: $[b:lax]\nb: x$[c]y\n" }, "b", "ERROR:metro/undefined-element"],
    ["circular reference", { "metro.conf": "a: $[b]\nb: $[a]\n" }, "a", "ERROR:metro/circular-reference"],
    ["circularity is checked before booleans", { "metro.conf": "a: $[b]\nb: $[a?]\n" }, "a", "ERROR:metro/circular-reference"],
    ["b alone is yes", { "metro.conf": "a: $[b]\nb: $[a?]\n" }, "b", "yes"],
    ["self boolean is yes", { "metro.conf": "c: $[c?]\n" }, "c", "yes"],
    ["multi-line in a single-line position", { "metro.conf": "k: <$[m]>\nm: [\n  one\n\n two $[x]\n]\nx: X\n" }, "k", "<one  two X>"],
    ["unknown modifier", { "metro.conf": "k: $[a:foo]\na: 1\n" }, "k", "ERROR:metro/unknown-modifier"],
    ["unterminated reference", { "metro.conf": "k: a $[b\n" }, "k", "ERROR:metro/unterminated-reference"],
    // metro's lookup of the empty name fails (an IndexError) even where `: x` outside a section defines it; "?" tests it like any name.
    ["the empty name, defined by `: x`, cannot be looked up", { "metro.conf": ": x\n" }, "", "ERROR:metro/empty-name"],
    ["? of the undefined empty name is no", { "metro.conf": "a: 1\n" }, "?", "no"],
    ["? of the defined empty name fails", { "metro.conf": ": x\n" }, "?", "ERROR:metro/empty-name"],
    ["$[[ is literal in single-line values", { "metro.conf": "k: $[[foo]] $[b]\nb: B\n" }, "k", "$[[foo]] B"],
    ["multi-line references and :zap lines", { "metro.conf": "m: [\n$[[n]]\ndrop $[u:zap]\nkeep\n]\nn: [\n  inner\n]\n" }, "m", ["  inner", "keep"]],
    ["dynamic multi-line reference", { "metro.conf": "t: x\nm: [\n$[[steps/$[t]]]\n]\nsteps/x: [\nX\n]\n" }, "m", ["X"]],
    ["$[[x:lax]] of an undefined element is nothing", { "metro.conf": "m: [\na\n$[[nope:lax]]\n]\n" }, "m", ["a"]],
    ["$[[x]] of an undefined element is an error", { "metro.conf": "m: [\n$[[nope]]\n]\n" }, "m", "ERROR:metro/undefined-multi-line"],
    ["$[[x]] of a single-line element is an error", { "metro.conf": "s: 1\nm: [\n$[[s]]\n]\n" }, "m", "ERROR:metro/not-multi-line"],
    ["circular multi-line references", { "metro.conf": "a: [\n$[[b]]\n]\nb: [\n$[[a]]\n]\n" }, "a", "ERROR:metro/circular-reference"],
    ["conditions: is", { "metro.conf": "t: stage3\n[when t is stage1 stage3]\nk: yes\n[when t is stage2]\nk: no\n" }, "k", "yes"],
    ["conditions: no true condition", { "metro.conf": "t: other\n[when t is stage1]\nk: 1\n" }, "k", "ERROR:metro/undefined-element"],
    ["conditions: several true", { "metro.conf": "a: 1\nb: 1\n[when a]\nk: 1\n[when b]\nk: 2\n" }, "k", "ERROR:metro/multiple-true-conditions"],
    ["unconditional wins over conditional", { "metro.conf": "k: u\na: 1\n[when a]\nk: c\n" }, "k", "u"],
    ["mixed conditional kinds are an error", { "metro.conf": "a: 1\n[when a]\nk: [\nx\n]\n[when b]\nk: y\n" }, "k", "ERROR:metro/mixed-conditional"],
    ["command-line value replaces the entry file's", { "metro.conf": "k: file\n" }, "k", "cli", { k: "cli" }],
    ["command-line value clashes with a collected definition", { "metro.conf": "[collect ./b.conf]\n", "b.conf": "k: file\n" }, "k", "FATAL:metro/duplicate-definition", { k: "cli" }],
    ["duplicate definition is fatal", { "metro.conf": "k: 1\nk: 2\n" }, "k", "FATAL:metro/duplicate-definition"],
    ["<< reads a file, lines joined by spaces", { "metro.conf": "k: << @ROOT@/v\n", v: "one\ntwo\n" }, "k", "one two"],
    ["<< of a missing file is an error", { "metro.conf": "k: << @ROOT@/missing\n" }, "k", "ERROR:metro/missing-file"],
    ["<<  with two spaces is literal", { "metro.conf": "k: <<  /x\n" }, "k", "<<  /x"],
    ["a final line without newline is read whole", { "metro.conf": "c: hello" }, "c", "hello"],
    ["path/config is the entry's directory", { "metro.conf": "k: $[path/config]/x\n" }, "k", "@DIR@/x"],
  ];
  for (const [title, files, key, want, args] of cases) {
    it(title, () => {
      const root = writeTree(files);
      const ctx = evaluateContext({ config: join(root, "metro.conf"), args: args ?? {} }, { makeopts: false });
      let got: MetroValue | string;
      if (ctx.fatal) got = `FATAL:${ctx.fatal.code}`;
      else {
        try {
          got = ctx.get(key);
        } catch (e) {
          if (!(e instanceof EvaluationError)) throw e;
          got = `ERROR:${e.code === "metro/no-true-condition" ? "metro/undefined-element" : e.code}`;
        }
      }
      const expected = typeof want === "string" ? want.replace("@ROOT@", root).replace("@DIR@", root) : want;
      assert.deepEqual(got, expected);
    });
  }
});

describe("engine: collection (spec section 4)", () => {
  it("rotates entries whose path is not yet defined and keeps the order of reading", () => {
    const root = writeTree({
      "metro.conf": "[collect ./$[later]/x.conf]\n[collect ./first.conf]\n",
      "first.conf": "later: dir\n",
      "dir/x.conf": "x: 1\n",
    });
    const ctx = evaluateContext({ config: join(root, "metro.conf"), args: {} });
    assert.equal(ctx.fatal, null);
    assert.deepEqual(ctx.collected, [join(root, "metro.conf"), join(root, "first.conf"), join(root, "dir/x.conf")]);
  });

  it("reports collects that are never collected, with the undefined name", () => {
    const root = writeTree({ "metro.conf": "[collect ./$[nope]/x.conf]\n" });
    const { diagnostics } = checkContext({ config: join(root, "metro.conf"), args: {} });
    const d = diagnostics.find((x) => x.code === "metro/never-collected");
    assert.ok(d, JSON.stringify(diagnostics));
    assert.match(d.message, /"nope"/);
    assert.equal(d.range.start.character, 9);
  });

  it("skips an unconditional collect whose path is zapped", () => {
    const root = writeTree({ "metro.conf": "[collect $[u:zap]]\nk: 1\n" });
    const ctx = evaluateContext({ config: join(root, "metro.conf"), args: {} });
    assert.equal(ctx.fatal, null);
    assert.deepEqual(ctx.collected, [join(root, "metro.conf")]);
  });

  it("collects conditionally", () => {
    const root = writeTree({ "metro.conf": "[collect ./a.conf when flavor is blue]\n", "a.conf": "a: 1\n" });
    assert.equal(evaluateContext({ config: join(root, "metro.conf"), args: { flavor: "blue" } }).collected.length, 2);
    assert.equal(evaluateContext({ config: join(root, "metro.conf"), args: { flavor: "red" } }).collected.length, 1);
  });

  it("stops a file that collects itself with a fatal error naming the loop", () => {
    const root = writeTree({ "metro.conf": "[collect ./loop.conf]\n", "loop.conf": "[collect ./loop.conf]\n" });
    const ctx = evaluateContext({ config: join(root, "metro.conf"), args: {} });
    assert.equal(ctx.fatal?.code, "metro/collect-loop");
    assert.match(ctx.fatal!.message, /loop\.conf -> .*loop\.conf/);
  });

  it("names what stops metro on a loop through a file that defines something: the name defined twice, not a run that never ends", () => {
    const root = writeTree({ "metro.conf": "[collect ./l2.conf]\n", "l2.conf": "k: 1\n[collect ./l3.conf]\n", "l3.conf": "[collect ./l2.conf]\n" });
    const ctx = evaluateContext({ config: join(root, "metro.conf"), args: {} });
    assert.equal(ctx.fatal?.code, "metro/collect-loop");
    assert.match(ctx.fatal!.message, /l2\.conf -> .*l3\.conf -> .*l2\.conf \(metro reads .*l2\.conf again and stops: "k" is defined twice\)$/);
    // metro read both files once before it stopped.
    assert.deepEqual(ctx.collected, [join(root, "metro.conf"), join(root, "l2.conf"), join(root, "l3.conf")]);
  });

  it("lists a definition-free file collected twice from different places twice", () => {
    const root = writeTree({ "metro.conf": "[collect ./e.conf]\n[collect ./f.conf]\n", "f.conf": "[collect ./e.conf]\n", "e.conf": "# empty\n" });
    const ctx = evaluateContext({ config: join(root, "metro.conf"), args: {} });
    assert.equal(ctx.fatal, null);
    assert.equal(ctx.collected.filter((c) => c.endsWith("e.conf")).length, 2);
  });

  it("reports a missing collect file at the annotation", () => {
    const root = writeTree({ "metro.conf": "\n[collect ./missing.conf]\n" });
    const ctx = evaluateContext({ config: join(root, "metro.conf"), args: {} });
    assert.equal(ctx.fatal?.code, "metro/missing-collect");
    assert.equal(ctx.fatal?.range?.start.line, 1);
  });

  it("reports both sites of a duplicate definition", () => {
    const root = writeTree({ "metro.conf": "[collect ./b.conf]\nk: 1\n", "b.conf": "\nk: 2\n" });
    const { diagnostics } = checkContext({ config: join(root, "metro.conf"), args: {} });
    const d = diagnostics[0];
    assert.equal(d.code, "metro/duplicate-definition");
    assert.equal(d.file, join(root, "b.conf"));
    assert.equal(d.range.start.line, 1);
    assert.equal(d.related?.[0].file, join(root, "metro.conf"));
  });
});

describe("engine: python blocks", () => {
  it("runs blocks in python3 with shared locals, one interpreter for many values", () => {
    const lines = ["gen0: [", "<?python", "x = 3", "?>", "<?python", "print(x * 2)", "?>", "]"];
    const files: Record<string, string> = { "metro.conf": "" };
    for (let i = 0; i < 50; i++) files["metro.conf"] += lines.join("\n").replace("gen0", `gen${i}`).replace("x * 2", `x * ${i}`) + "\n";
    const root = writeTree(files);
    const python = new PythonRunner();
    const [r] = dumpContexts([{ config: join(root, "metro.conf"), args: {} }], true);
    void python;
    const s = r.result.settings as Record<string, { value: unknown }>;
    assert.deepEqual(s["gen7"].value, ["", "21\n"]);
    assert.deepEqual(s["gen0"].value, ["", "0\n"]);
  });

  it("starts a single interpreter for a batch", () => {
    const python = new PythonRunner();
    for (let i = 0; i < 100; i++) python.request([`print(${i})`]);
    python.flush();
    assert.equal(python.run(["print(1000)"]).outputs[0], "1000\n");
    assert.equal(python.run(["print(7)"]).outputs[0], "7\n");
    assert.equal(python.interpreters, 2, "one batch, then one for the value not requested in advance");
  });

  it("turns a python exception into an error of the key, and never runs python without permission", () => {
    const files = { "metro.conf": "v: [\n<?python\nraise ValueError('no')\n?>\n]\nw: [\n<?python\nprint(1)\n?>\n]\n" };
    assert.equal(value(files, "v", {}, true), "ERROR:metro/python-error");
    assert.deepEqual(value(files, "w", {}, false), ["<?python", "print(1)", "?>"]);
  });
});

describe("engine: scale", () => {
  it("expands a 10,000-deep reference chain without overflowing the stack", () => {
    const lines = [];
    for (let i = 0; i < 10_000; i++) lines.push(`c${i}: $[c${i + 1}]`);
    lines.push("c10000: bottom");
    assert.equal(value({ "metro.conf": lines.join("\n") + "\n" }, "c0"), "bottom");
  });

  it("expands a 3,000-deep multi-line reference chain", () => {
    const lines = [];
    for (let i = 0; i < 3000; i++) lines.push(`m${i}: [`, `$[[m${i + 1}]]`, "]");
    lines.push("m3000: [", "end", "]");
    assert.deepEqual(value({ "metro.conf": lines.join("\n") + "\n" }, "m0"), ["end"]);
  });

  it("check of a 2,000-element cycle points each finding at the definitions its message names, not at all 2,000 (2,000^2 locations in all)", () => {
    const lines = [];
    for (let i = 0; i < 2000; i++) lines.push(`c${i}: $[c${i + 1}]`);
    lines.push("c2000: $[c0]");
    const root = writeTree({ "metro.conf": lines.join("\n") + "\n" });
    const { diagnostics } = checkContext({ config: join(root, "metro.conf"), args: {} });
    const cycles = diagnostics.filter((d) => d.code === "metro/circular-reference");
    assert.ok(cycles.length > 0);
    for (const d of cycles) assert.ok((d.related?.length ?? 0) <= 10, `${d.related?.length} related locations`);
  });

  it("memoizes diamonds: 2^40 paths (without memoization this never ends within the test's timeout)", () => {
    const lines = [];
    for (let i = 0; i < 40; i++) lines.push(`d${i}: $[d${i + 1}]$[d${i + 1}?]`);
    lines.push("d40: x");
    assert.equal(value({ "metro.conf": lines.join("\n") + "\n" }, "d0"), "x" + "yes".repeat(40));
  });
});

describe("engine: literal lines shared by the contexts of a workspace", () => {
  // The second context of a workspace keeps the literal lines of multi-line values as runs shared by all contexts.
  function both(files: Record<string, string>, args: Record<string, string>[]) {
    const root = writeTree(files);
    const config = join(root, "metro.conf");
    const alone = args.map((a) => evaluateContext({ config, args: a }, { makeopts: false }));
    const workspace = new Workspace();
    const shared = args.map((a) => evaluateContext({ config, args: a }, { makeopts: false, workspace }));
    return { root, alone, shared };
  }

  it("a value of literal runs, references, includes and a python block reads the same, and its JSON is JSON.stringify's", () => {
    const files = {
      "metro.conf": [
        "who: world",
        "inc: [",
        "included one",
        "included two",
        "]",
        "script: [",
        "#!/bin/sh",
        'echo "quote \\ and tab\there"',
        "hello $[who]",
        "$[[inc]]",
        "<?python",
        "print('x')",
        "?>",
        "after one",
        "after two",
        "$[[$[which]]]",
        "last",
        "]",
        "lit: [",
        "a",
        "b",
        "]",
        "",
      ].join("\n"),
    };
    const { root, alone, shared } = both(files, [{ which: "inc" }, { which: "lit" }]);
    try {
      for (let i = 0; i < 2; i++) {
        for (const key of ["script", "inc", "lit", "who"]) {
          const value = alone[i].get(key);
          assert.deepEqual(shared[i].get(key), value, key);
          assert.equal(shared[i].getJson(key), JSON.stringify(value), key);
          assert.equal(alone[i].getJson(key), JSON.stringify(value), key);
        }
      }
      assert.deepEqual((shared[1].get("script") as string[]).slice(-3), ["a", "b", "last"]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("literal lines that make a value too large name the line that does, as they do line by line", () => {
    // big: 2^14 lines of 1,000 characters (16,400,384 with their newlines), then three literal lines of 150,000.
    const lines = ["k0: [", "$[[k1]]", "$[[k1]]", "]"];
    for (let i = 1; i < 14; i++) lines.push(`k${i}: [`, `$[[k${i + 1}]]`, `$[[k${i + 1}]]`, "]");
    lines.push("k14: [", "x".repeat(1000), "]", "big: [", "$[[k0]]", "a".repeat(150_000), "b".repeat(150_000), "c".repeat(150_000), "d", "]", "");
    const { root, alone, shared } = both({ "metro.conf": lines.join("\n") }, [{}, {}]);
    try {
      const site = (ctx: ReturnType<typeof evaluateContext>) => {
        try {
          ctx.getJson("big");
        } catch (e) {
          assert.ok(e instanceof EvaluationError && e.code === "metro/value-too-large", String(e));
          return e.site;
        }
        assert.fail("no error");
      };
      assert.deepEqual(site(alone[1]), { element: "big", line: 3 });
      assert.deepEqual(site(shared[1]), { element: "big", line: 3 });
      assert.equal(shared[1].getJson("k13"), JSON.stringify(alone[1].get("k13")));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe("engine: values that grow without bound, deep include chains", () => {
  function doubling(multi: boolean): string {
    const lines = [];
    for (let i = 0; i < 40; i++) {
      if (multi) lines.push(`k${i}: [`, `$[[k${i + 1}]]`, `$[[k${i + 1}]]`, "]");
      else lines.push(`k${i}: $[k${i + 1}]$[k${i + 1}]`);
    }
    lines.push(multi ? "k40: [\nab\n]" : "k40: ab", "other: fine");
    return lines.join("\n") + "\n";
  }

  for (const multi of [false, true]) {
    const how = multi ? "through $[[...]]" : "single-line";
    it(`a value that doubles 40 times (${how}) is an error on its keys; the other keys evaluate`, async () => {
      const root = writeTree({ "metro.conf": doubling(multi) });
      try {
        const ctx = evaluateContext({ config: join(root, "metro.conf"), args: {} }, { makeopts: false });
        assert.equal(ctx.fatal, null);
        assert.throws(() => ctx.get("k0"), (e: unknown) => e instanceof EvaluationError && e.code === "metro/value-too-large" && e.site.element !== null);
        assert.equal(ctx.get("other"), "fine");
        const small = ctx.get("k36");
        assert.equal(multi ? (small as string[]).length : (small as string).length, multi ? 16 : 32);
        // check places the error on a definition of the chain.
        const found = checkContext({ config: join(root, "metro.conf"), args: {} }, { makeopts: false }).diagnostics.filter((d) => d.code === "metro/value-too-large");
        assert.ok(found.length > 0);
        assert.equal(found[0].file, join(root, "metro.conf"));
        assert.ok(found[0].range.start.line > 0);
        // The command line prints every other key and reports the error on the keys that grow.
        const p = await runCli(["dump", "--json", "--no-exec", "--config", join(root, "metro.conf")]);
        assert.equal(p.code, 0, p.err);
        const settings = JSON.parse(p.out).settings;
        assert.deepEqual(settings.other, { value: "fine" });
        assert.equal(settings.k0.error, "metro/value-too-large");
        assert.ok("value" in settings.k40);
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    });
  }

  it("expands a 100,000-deep $[[...]] chain that adds a line at every level", () => {
    const depth = 100_000;
    // Files hold at most 1 MiB: the chain is spread over 20 files of 5,000 levels.
    const files: Record<string, string> = {};
    const collects: string[] = [];
    for (let f = 0; f < 20; f++) {
      const lines = [];
      for (let i = f * 5000; i < (f + 1) * 5000; i++) lines.push(`m${i}: [`, `line ${i}`, `$[[m${i + 1}]]`, "]");
      if (f === 19) lines.push(`m${depth}: [`, "end", "]");
      files[`chain/${f}.conf`] = lines.join("\n") + "\n";
      collects.push(`[collect ./chain/${f}.conf]`);
    }
    files["metro.conf"] = collects.join("\n") + "\n";
    const root = writeTree(files);
    try {
      const ctx = evaluateContext({ config: join(root, "metro.conf"), args: {} }, { makeopts: false });
      assert.equal(ctx.fatal, null);
      const got = ctx.get("m0") as string[];
      assert.equal(got.length, depth + 1);
      assert.equal(got[0], "line 0");
      assert.equal(got[depth - 1], `line ${depth - 1}`);
      assert.equal(got[depth], "end");
      assert.deepEqual(ctx.get(`m${depth - 2}`), [`line ${depth - 2}`, `line ${depth - 1}`, "end"]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe("engine: conformance kit, in process", () => {
  before(function () {
    requireShared(this);
  });
  for (const name of haveShared() ? caseNames() : ["(kit absent)"]) {
    it(`${name}: every context identical to metro's, in process`, function () {
      requireShared(this);
      const c = materialize(name);
      const specs = c.contexts.map((x) => ({ config: join(c.root, x.entry), args: x.args ?? {} }));
      const results = dumpContexts(specs, true);
      results.forEach((r, i) => {
        const diff = compareWithGolden(c.golden[i], r.result as never, c.root);
        assert.equal(diff, null, `${name} context ${i} ${JSON.stringify(c.contexts[i].args)}: ${diff}`);
      });
    });
  }

  it("check finds the funtoo tree's latent bug: portage/SYNC refers to snapshot/source/remote", function () {
    requireShared(this);
    const c = materialize("funtoo-metro");
    const ctx = c.contexts[0];
    const { diagnostics } = checkContext({ config: join(c.root, ctx.entry), args: ctx.args });
    const bug = diagnostics.find((d) => d.code === "metro/undefined-element" && d.message.includes("snapshot/source/remote"));
    assert.ok(bug, JSON.stringify(diagnostics.map((d) => d.message)));
    assert.match(bug.file, /etc\/builds\/common\.conf$/);
  });
});
