// npm run bench: the figures the issues name, measured on this machine.
// Parts that need ../shared (the funtoo tree) are skipped with a note when it is absent.

import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatText, parseMetro } from "../language";
import { collectGraph, toSvg } from "../engine/graph";
import { dumpContexts } from "../cli/main";
import { evaluateContext } from "../engine/evaluate";
import { Workspace } from "../engine/workspace";
import { CASES, CLI, haveShared, materialize, walkFiles } from "../tests/support/shared";
import { generatedTree, writeTree } from "../tests/support/trees";

const results: [string, string, string][] = [];
function record(name: string, value: string, goal: string): void {
  results.push([name, value, goal]);
  console.log(`${name.padEnd(58)} ${value.padStart(14)}   ${goal}`);
}
const ms = (ns: bigint) => Number(ns) / 1e6;
function time<T>(f: () => T): [T, number] {
  const t = process.hrtime.bigint();
  const r = f();
  return [r, ms(process.hrtime.bigint() - t)];
}
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** All keys of a generated tree, in a child process so that its peak memory is its own. */
function generatedChild(elements: number, files: number, depth: number): void {
  const { root, keys } = generatedTree(elements, files, depth);
  const start = process.hrtime.bigint();
  const ctx = evaluateContext({ config: join(root, "metro.conf"), args: {} }, { makeopts: false });
  if (ctx.fatal) throw new Error(ctx.fatal.message);
  let n = 0;
  for (const k of ctx.keys()) {
    ctx.get(k);
    n++;
  }
  const elapsed = ms(process.hrtime.bigint() - start);
  rmSync(root, { recursive: true, force: true });
  process.stdout.write(JSON.stringify({ elapsed, keys: n, expected: keys, maxRssMB: process.resourceUsage().maxRSS / 1024 }));
}

function runGenerated(elements: number, files: number, depth: number): { elapsed: number; keys: number; maxRssMB: number } {
  const p = spawnSync(process.execPath, [__filename, "--generated", String(elements), String(files), String(depth)], { encoding: "utf8", maxBuffer: 1 << 24 });
  if (p.status !== 0) throw new Error(p.stderr);
  return JSON.parse(p.stdout);
}

async function main(): Promise<void> {
  console.log(`metro-engine benchmark (node ${process.version}, ${new Date().toISOString().slice(0, 10)})\n`);

  // --- Parser throughput on the funtoo corpus
  if (haveShared()) {
    const texts = walkFiles(join(CASES, "funtoo-metro", "files", "corpus")).map((f) => readFileSync(f, "utf8"));
    const bytes = texts.reduce((a, t) => a + Buffer.byteLength(t), 0);
    for (let r = 0; r < 30; r++) for (const t of texts) parseMetro(t);
    const rounds = 200;
    const [, t] = time(() => {
      for (let r = 0; r < rounds; r++) for (const t of texts) parseMetro(t);
    });
    record("parse throughput, funtoo corpus (one core)", `${((bytes * rounds) / 1e6 / (t / 1000)).toFixed(1)} MB/s`, "goal >= 20 MB/s");
  }

  // --- The formatter on the funtoo corpus (its own safety check included: a second parse per file)
  if (haveShared()) {
    const texts = walkFiles(join(CASES, "funtoo-metro", "files", "corpus")).map((f) => readFileSync(f, "utf8"));
    const lines = texts.reduce((a, t) => a + t.split("\n").length - 1, 0);
    for (let r = 0; r < 5; r++) for (const t of texts) formatText(t);
    const runs: number[] = [];
    for (let r = 0; r < 20; r++) runs.push(time(() => texts.forEach((t) => formatText(t)))[1]);
    record(`format the funtoo corpus (${texts.length} files, ${lines} lines; median of 20)`, `${median(runs).toFixed(1)} ms`, "safety check included");
  }

  // --- The 53 funtoo contexts
  if (haveShared()) {
    const c = materialize("funtoo-metro");
    const specs = c.contexts.map((x) => ({ config: join(c.root, x.entry), args: x.args }));
    const runs: number[] = [];
    for (let r = 0; r < 15; r++) {
      const [, t] = time(() => {
        const workspace = new Workspace();
        for (const spec of specs) {
          const ctx = evaluateContext(spec, { workspace });
          for (const k of ctx.keys()) {
            try {
              ctx.get(k);
            } catch {
              /* errors are results too */
            }
          }
        }
      });
      runs.push(t);
    }
    record("53 funtoo contexts, every key, in process (median of 15)", `${median(runs).toFixed(1)} ms`, "goal < 40 ms (reference ~400 ms)");
    const [, first] = time(() => dumpContexts(specs, true));
    record("  same, first run, with python3 for <?python blocks", `${first.toFixed(1)} ms`, "one interpreter for all");
    const batch = join(mkdtempSync(join(tmpdir(), "metro-bench-")), "contexts.json");
    writeFileSync(batch, JSON.stringify(specs));
    const procRuns: number[] = [];
    for (let r = 0; r < 5; r++) {
      const [p, t] = time(() => spawnSync(process.execPath, [CLI, "dump", "--json", "--contexts", batch], { maxBuffer: 1 << 28 }));
      if (p.status !== 0) throw new Error(String(p.stderr));
      procRuns.push(t);
    }
    record("dump --json --contexts (53 contexts), whole process", `${median(procRuns).toFixed(0)} ms`, "median of 5");
    const graphRuns: number[] = [];
    let nodes = 0;
    for (let r = 0; r < 10; r++) {
      graphRuns.push(time(() => {
        const g = collectGraph(evaluateContext(specs[0], { allowExec: false }));
        nodes = g.nodes.length;
        return toSvg(g);
      })[1]);
    }
    record(`graph --format svg of a funtoo context (${nodes} nodes; median of 10)`, `${median(graphRuns).toFixed(1)} ms`, "evaluate, lay out, draw");
    rmSync(c.root, { recursive: true, force: true });
  } else {
    console.log("(../shared absent: funtoo figures skipped)");
  }

  // --- Generated trees
  const small = runGenerated(10_000, 200, 50);
  const big = runGenerated(100_000, 2_000, 50);
  record("generated tree 10,000 elements / 200 files, all keys", `${small.elapsed.toFixed(0)} ms`, `${small.keys} keys`);
  record("generated tree 100,000 elements / 2,000 files, all keys", `${big.elapsed.toFixed(0)} ms`, "goal < 1500 ms");
  record("  growth 10k -> 100k (10x elements)", `${(big.elapsed / small.elapsed).toFixed(1)}x`, "linear: about 10x");
  record("  peak memory (100k tree, whole process)", `${big.maxRssMB.toFixed(0)} MB`, "goal < 500 MB");

  // --- A 10,000-deep chain
  const lines: string[] = [];
  for (let i = 0; i < 10_000; i++) lines.push(`c${i}: $[c${i + 1}]`);
  lines.push("c10000: bottom");
  const root = writeTree({ "metro.conf": lines.join("\n") + "\n" });
  const [v, t] = time(() => evaluateContext({ config: join(root, "metro.conf"), args: {} }).get("c0"));
  record("10,000-deep reference chain", `${t.toFixed(1)} ms`, v === "bottom" ? "no stack overflow" : "WRONG VALUE");
  rmSync(root, { recursive: true, force: true });

  // --- Language server (through the real server over stdio)
  const serverBenchFile = join(__dirname, "server-bench.js");
  if (existsSync(serverBenchFile)) {
    // Loaded at run time: it is bundled as its own entry point beside this one.
    const load = require;
    const { serverBench } = load(serverBenchFile) as { serverBench: () => Promise<Record<string, number | string>> };
    const figures = await serverBench();
    for (const [k, val] of Object.entries(figures)) record(k, String(val), "");
  }

  // --- Build farm (root and Buildbot only)
  const farmBenchFile = join(__dirname, "farm-bench.js");
  if (existsSync(farmBenchFile)) {
    const load = require;
    const { farmBench } = load(farmBenchFile) as { farmBench: () => Promise<Record<string, string>> };
    for (const [k, val] of Object.entries(await farmBench())) record(k, val, "");
  }
}

if (process.argv[2] === "--generated") {
  generatedChild(Number(process.argv[3]), Number(process.argv[4]), Number(process.argv[5]));
} else {
  main().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
