// The collect queue (spec section 4): metro's rotate-and-retry order, kept
// while an entry is tried again only when something its last attempt looked
// up has changed (engine/collect-queue.ts). The expected orders below are
// worked out from the spec's rules by hand; where a checkout of funtoo/metro
// sits beside the project (../metro-ref, its modules/flexdata.py), generated
// trees are also compared with metro's own parser.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { evaluateContext, type EvaluatedContext } from "../engine/evaluate";
import { PROJECT } from "./support/shared";
import { seeded, tempDir, writeTree } from "./support/trees";

function evaluate(files: Record<string, string>, args: Record<string, string> = {}): { ctx: EvaluatedContext; root: string } {
  const root = writeTree(files);
  return { ctx: evaluateContext({ config: join(root, "metro.conf"), args }), root };
}

/** The collected files, relative to the tree. */
function order(ctx: EvaluatedContext, root: string): string[] {
  return ctx.collected.map((f) => f.slice(root.length + 1));
}

/** The entries left in the queue, in its order: "file: path". */
function leftover(ctx: EvaluatedContext, root: string): string[] {
  return ctx.uncollected.map((u) => `${u.file.slice(root.length + 1)}: ${u.statement.path.text}`);
}

/** A chain of `n` files whose collects the entry file lists last-readable first: each pass can read one file. */
function reversedChain(n: number): Record<string, string> {
  const files: Record<string, string> = {};
  const entry = ["c1: 1"];
  for (let i = n; i >= 1; i--) entry.push(`[collect ./f$[c${i}].conf]`);
  files["metro.conf"] = entry.join("\n") + "\n";
  for (let i = 1; i <= n; i++) files[`f${i}.conf`] = `c${i + 1}: ${i + 1}\nv${i}: $[c${i}]\n`;
  return files;
}

describe("collect queue", () => {
  it("reads a reversed chain in chain order, one file per pass", () => {
    const { ctx, root } = evaluate(reversedChain(40));
    assert.equal(ctx.fatal, null);
    assert.deepEqual(order(ctx, root), ["metro.conf", ...Array.from({ length: 40 }, (_, i) => `f${i + 1}.conf`)]);
    assert.deepEqual(ctx.uncollected, []);
  });

  it("keeps metro's order among entries that become readable together, and the queue's order at the stop", () => {
    // Queue [x, a, y, r, u]: x fails on p and goes to the back; a is read and defines p; the queue is
    // [y, r, u, x]: y is read, r and u fail, x is read; [r, u] then fail once each and are left, in that order.
    const { ctx, root } = evaluate({
      "metro.conf": "[collect ./$[p]x.conf]\n[collect ./a.conf]\n[collect ./$[p]y.conf]\n[collect ./$[r].conf]\n[collect ./$[u].conf]\n",
      "a.conf": "p: k\n",
      "kx.conf": "dx: 1\n",
      "ky.conf": "dy: 1\n",
    });
    assert.equal(ctx.fatal, null);
    assert.deepEqual(order(ctx, root), ["metro.conf", "a.conf", "ky.conf", "kx.conf"]);
    // After kx (the last progress) the queue is [r, u]: both fail once more and stay in that order.
    assert.deepEqual(leftover(ctx, root), ["metro.conf: ./$[r].conf", "metro.conf: ./$[u].conf"]);
    assert.equal(ctx.uncollected[0].missing, "r");
  });

  it("tries an entry again when a name it reached through a value (at any depth, or a kept result) is defined", () => {
    // Both paths fail on deep, two references down; the second meets mid's kept failure, not deep itself.
    const { ctx, root } = evaluate({
      "metro.conf": "[collect ./$[a].conf]\n[collect ./$[b].conf]\n[collect ./g.conf]\na: $[mid]\nb: $[mid]x\nmid: $[deep]\n",
      "g.conf": "deep: p\n",
      "p.conf": "dp: 1\n",
      "px.conf": "dpx: 1\n",
    });
    assert.equal(ctx.fatal, null);
    assert.deepEqual(order(ctx, root), ["metro.conf", "g.conf", "p.conf", "px.conf"]);
  });

  it("tries an entry again when a conditional definition makes a name it read lax", () => {
    // x: $[y], y: q$[u] fails on u; a conditional definition of x read in lax mode makes x lax (the last
    // definition read decides), and u, met while expanding y reached from the lax x, becomes "".
    const { ctx, root } = evaluate({
      "metro.conf": "[collect ./$[x].conf]\n[collect ./lx.conf]\nx: $[y]\ny: q$[u]\n",
      "lx.conf": "[option parse/lax]\n[when never]\nx: z\n",
      "q.conf": "dq: 1\n",
    });
    assert.equal(ctx.fatal, null);
    assert.deepEqual(order(ctx, root), ["metro.conf", "lx.conf", "q.conf"]);
  });

  it("tries an entry again when the name a conditional value's condition tests is defined", () => {
    // b has only a conditional definition, no condition true: the path fails even with :zap. s defines on:
    // b's condition holds, its blank value is not zapped (a conditional element), and ./k.conf is read.
    const { ctx, root } = evaluate({
      "metro.conf": "[when on]\nb:\n[when *]\n[collect ./$[b:zap]k.conf]\n[collect ./s.conf]\n",
      "s.conf": "on: yes\n",
      "k.conf": "dk: 1\n",
    });
    assert.equal(ctx.fatal, null);
    assert.deepEqual(order(ctx, root), ["metro.conf", "s.conf", "k.conf"]);
  });

  it("tries an entry again when its path text gets another condition, though no name it tested changed", () => {
    // The first entry's condition is flag (never defined). other.conf writes a new condition for the same
    // path text, ready, which holds: both entries of ./h.conf read it (h defines nothing, so it is listed twice).
    const { ctx, root } = evaluate({
      "metro.conf": "[collect ./h.conf when flag]\n[collect ./other.conf]\n",
      "other.conf": "ready: yes\n[collect ./h.conf when ready]\n",
      "h.conf": "# nothing\n",
    });
    assert.equal(ctx.fatal, null);
    assert.deepEqual(order(ctx, root), ["metro.conf", "other.conf", "h.conf", "h.conf"]);
  });

  it("reads a path that :zap made nothing as skipped once its name is defined empty, in queue order", () => {
    // ./$[w]$[z:zap] fails on w (z is never looked up); once w and z are defined (z empty) the path is
    // nothing and the entry is skipped, after the entry queued before it in the pass.
    const { ctx, root } = evaluate({
      "metro.conf": "[collect ./$[w]$[z:zap]]\n[collect ./$[n].conf]\n[collect ./d.conf]\n",
      "d.conf": "w: a\nz:\nn: e\n",
      "e.conf": "de: 1\n",
    });
    assert.equal(ctx.fatal, null);
    assert.deepEqual(order(ctx, root), ["metro.conf", "d.conf", "e.conf"]);
    assert.deepEqual(
      ctx.collects.map((c) => `${c.statement.path.text} ${c.outcome}`),
      ["./d.conf collected", "./$[w]$[z:zap] skipped", "./$[n].conf collected"],
    );
  });

  it("tries an entry again when a name of a circular reference it met gains a definition", () => {
    // a: $[b], b: $[c:zap]$[a]: while c is undefined, b is nothing and so is the path (skipped); here c
    // is defined (non-empty) in metro.conf, so the path meets a circular reference a -> b -> a and waits.
    // A conditional definition of b read in lax mode changes nothing of the cycle: it stays and is dropped.
    const { ctx, root } = evaluate({
      "metro.conf": "c: 1\na: $[b]\nb: $[c:zap]$[a]\n[collect ./$[a].conf]\n[collect ./m.conf]\n",
      "m.conf": "[option parse/lax]\n[when never]\nb: x\n",
    });
    assert.equal(ctx.fatal, null);
    assert.deepEqual(order(ctx, root), ["metro.conf", "m.conf"]);
    assert.match(ctx.uncollected[0]?.reason ?? "", /circular reference/);
  });

  it("a condition that tests a name later given only conditional definitions stops the context when tried again", () => {
    // The entry's condition tests g: false at first; once g has a conditional definition, trying the entry
    // again is fatal (metro refuses a collect condition on a conditional name), so it must be tried again.
    const { ctx } = evaluate({
      "metro.conf": "[collect ./x.conf when g]\n[collect ./y.conf]\n",
      "y.conf": "[when q]\ng: 1\n",
    });
    assert.equal(ctx.fatal?.code, "metro/condition-on-conditional");
  });

  it("a chain of conditions nests as deep as metro's Python does, and deeper is an error in words, not a stack overflow", () => {
    // c_i reads v_(i+1), which only a condition on c_(i+1) defines: choosing v1 nests n choices.
    const chain = (n: number) => {
      const lines: string[] = [];
      for (let i = 1; i <= n; i++) lines.push(`c${i}: $[v${i + 1}]`, `[when c${i} is 1]`, `v${i}: 1`, "[when]");
      lines.push(`v${n + 1}: 1`, "z: $[v1]");
      return { "metro.conf": lines.join("\n") + "\n" };
    };
    // funtoo/metro's flexdata expands a chain of 198 and stops with a RecursionError at 199.
    assert.equal(evaluate(chain(198)).ctx.get("z"), "1");
    for (const n of [199, 5000]) {
      const { error } = evaluate(chain(n)).ctx.tryGet("z");
      assert.equal(error?.code, "metro/conditions-too-deep", `chain of ${n}`);
    }
  });

  describe("against metro's own parser (../metro-ref)", () => {
    const reference = resolve(PROJECT, "..", "metro-ref");
    const have = existsSync(join(reference, "modules", "flexdata.py"));

    it("collects generated trees in metro's order, with metro's leftovers and fatal contexts", function () {
      if (!have) {
        console.log(`      (skipped: no checkout of funtoo/metro at ${reference})`);
        this.skip();
      }
      this.timeout(120_000);
      const rand = seeded(2026_11_22);
      const trees: { root: string; config: string }[] = [];
      for (let i = 0; i < 250; i++) {
        const root = writeTree(queueTree(rand));
        trees.push({ root, config: join(root, "metro.conf") });
      }
      // Three reversed chains too, one through values two references deep.
      for (const n of [3, 8, 25]) {
        const root = writeTree(reversedChain(n));
        trees.push({ root, config: join(root, "metro.conf") });
      }
      const metro = runMetro(reference, trees.map((t) => t.config));
      let compared = 0;
      for (const [i, t] of trees.entries()) {
        const want = metro[i];
        const ctx = evaluateContext({ config: t.config, args: {} });
        const where = `tree ${i} (${t.root})`;
        assert.equal(ctx.fatal !== null, want.fatal !== undefined, `${where}: fatal ${ctx.fatal?.message ?? "none"}, metro ${want.fatal ?? "none"}`);
        assert.deepEqual(ctx.collected, want.collected, where);
        if (want.fatal === undefined) {
          assert.deepEqual(
            ctx.uncollected.map((u) => [u.statement.path.text, u.file]),
            want.leftover,
            `${where}: leftovers`,
          );
          compared++;
        }
      }
      // Most trees must set up (a fuzz of fatal contexts would compare little).
      assert.ok(compared > trees.length / 2, `only ${compared} of ${trees.length} trees set up`);
    });
  });
});

/**
 * A random tree whose collects wait on each other: paths built from names
 * that files define unconditionally, conditionally, through other names,
 * with :zap and ? and in lax mode, and collect conditions. Every file defines
 * a name of its own, so a file read twice stops the context (as in metro: no
 * endless loop).
 */
function queueTree(rand: (n: number) => number): Record<string, string> {
  const FILES = 7;
  const NAMES = 6;
  const pick = <T>(xs: T[]) => xs[rand(xs.length)];
  const name = () => `v${rand(NAMES)}`;
  const value = () =>
    pick([String(rand(FILES)), String(rand(FILES)), `$[${name()}]`, `$[${name()}]`, `$[${name()}:zap]`, `$[${name()}:lax]`, `$[${name()}?]`, `${rand(FILES)}$[${name()}:zap]`, ""]);
  const collect = () => {
    const path = pick([`./f$[${name()}].conf`, `./f$[${name()}].conf`, `./f${rand(FILES)}.conf`, `$[${name()}:zap]`, `./f$[${name()}:zap].conf`, `./f$[${name()}?].conf`]);
    return `[collect ${path}${rand(4) === 0 ? ` when ${pick([name(), `${name()} is ${rand(FILES)}`])}` : ""}]`;
  };
  // Each name has one file for its unconditional definition (or none).
  const owner = Array.from({ length: NAMES }, () => rand(FILES + 2) - 1);
  const files: Record<string, string> = {};
  for (let f = -1; f < FILES; f++) {
    const lines: string[] = [f < 0 ? "top: 1" : `d${f}: ${f}`];
    for (let j = 0; j < NAMES; j++) if (owner[j] === f) lines.push(`v${j}: ${value()}`);
    for (let k = rand(5); k > 0; k--) {
      switch (rand(6)) {
        case 0:
        case 1:
          lines.push(collect());
          break;
        case 2:
          lines.push(`[when ${pick([name(), `${name()} is ${rand(FILES)}`])}]`, `${name()}: ${value()}`, "[when *]");
          break;
        case 3:
          lines.push(`[option parse/${pick(["lax", "strict"])}]`);
          break;
        default:
          lines.push(collect());
      }
    }
    // Collects mostly come first in the entry file: the queue then holds several at once.
    if (f < 0) lines.push(collect(), collect(), collect());
    files[f < 0 ? "metro.conf" : `f${f}.conf`] = lines.join("\n") + "\n";
  }
  // Paths built from a boolean or nothing name these.
  files["fyes.conf"] = "dyes: 1\n";
  files["fno.conf"] = "dno: 1\n";
  files["f.conf"] = "dempty: 1\n";
  return files;
}

interface MetroResult {
  collected: string[];
  leftover: [string, string][];
  fatal?: string;
}

/** Sets up each entry file with metro's parser (collect, path/config, the queue), in one python3. */
function runMetro(reference: string, configs: string[]): MetroResult[] {
  const dir = tempDir("metro-queue-");
  const input = join(dir, "configs.json");
  writeFileSync(input, JSON.stringify(configs));
  const driver = [
    "import json, os, sys",
    "sys.path.insert(0, sys.argv[1])",
    "import flexdata",
    "out = os.fdopen(os.dup(1), 'w')",
    "os.dup2(os.open(os.devnull, os.O_WRONLY), 1)",
    "results = []",
    "for config in json.load(open(sys.argv[2])):",
    "    s = flexdata.collection(False)",
    "    r = {}",
    "    try:",
    "        s.collect(config, None)",
    "        s['path/config'] = os.path.dirname(config)",
    "        s.runCollector()",
    "        r['leftover'] = [list(x) for x in s.collector]",
    "    except Exception as e:",
    "        r['fatal'] = type(e).__name__",
    "    r['collected'] = s.collected",
    "    results.append(r)",
    "json.dump(results, out)",
    "out.flush()",
  ].join("\n");
  const p = spawnSync("python3", ["-c", driver, join(reference, "modules"), input], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024, timeout: 60_000 });
  assert.equal(p.status, 0, `metro's parser failed: ${p.stderr || p.error}`);
  const results = JSON.parse(p.stdout) as MetroResult[];
  assert.equal(results.length, configs.length, basename(input));
  return results;
}
