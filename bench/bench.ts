// npm run bench: the figures the issues name, measured on this machine.
// Parts that need ../shared (the funtoo tree) are skipped with a note when it is absent.
//
//   npm run bench [-- --reference DIR] [--runs N] [--node PATH] [--no-server] [--side-by-side-only] [--repo-only]
//
// With --reference DIR (a checkout of funtoo/metro), metro's own parser
// (DIR/modules/flexdata.py, driven by bench/metro-driver.py) evaluates the
// same contexts in the same run, and the side-by-side figures print ratios.
// Whole-process figures are measured by bench/measure.py (wall time, processor
// time, peak resident memory of that process), the same way for both sides;
// --node PATH runs our side with another Node (the in-process figures use
// the Node running the benchmark).

import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { formatText, parseMetro } from "../language";
import { collectGraph, toSvg } from "../engine/graph";
import { dumpContexts } from "../cli/main";
import { evaluateContext } from "../engine/evaluate";
import { Workspace } from "../engine/workspace";
import { CASES, CLI, SHARED, haveShared, materialize, walkFiles } from "../tests/support/shared";
import { generatedTree, writeTree } from "../tests/support/trees";
import { writeGeneratedTree, writeMatrix } from "./generate";
import { generateMirror } from "./buildrepo-mirror";

const PROJECT = join(__dirname, "..", "..");
const MEASURE = join(PROJECT, "bench", "measure.py");
const DRIVER = join(PROJECT, "bench", "metro-driver.py");

/** The Node that runs our side of the whole-process figures (--node PATH; this one by default). */
let NODE = process.execPath;

/**
 * Variables of this environment that change what a Node process does at
 * start but are no part of the program measured: both sides run without
 * them. NODE_EXTRA_CA_CERTS makes Node 20 read and parse a certificate file
 * before any of our code runs (about 30 ms on the development machine, which
 * sets it for its package registry; `fixedAndPerContext` prints the cost);
 * NODE_OPTIONS would add a user's flags.
 */
const UNMEASURED = ["NODE_EXTRA_CA_CERTS", "NODE_OPTIONS"];
const MEASURED_ENV: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !UNMEASURED.includes(k)));

interface Measured {
  wall_ms: number;
  cpu_ms: number;
  max_rss_kb: number;
  status: number;
}

type Run = Measured & { bytes: number };

/** One run of a command through measure.py, its output written to `out`. */
function measureOnce(cmd: string[], out: string, okStatus: number[], env: NodeJS.ProcessEnv = MEASURED_ENV): Run {
  const p = spawnSync("python3", [MEASURE, out, "--", ...cmd], { encoding: "utf8", env });
  if (p.status !== 0) throw new Error(`measure.py failed: ${p.stderr}`);
  const m = JSON.parse(p.stdout) as Measured;
  if (!okStatus.includes(m.status)) throw new Error(`${cmd.join(" ")} exited ${m.status}: ${p.stderr.slice(0, 2000)}`);
  return { ...m, bytes: statSync(out).size };
}

/** The median run by wall time. */
function medianRun(all: Run[]): Run {
  return [...all].sort((a, b) => a.wall_ms - b.wall_ms)[Math.floor(all.length / 2)];
}

/** Runs a command `runs` times through measure.py; the median run (by wall time) and its output's size. */
function measure(cmd: string[], runs: number, okStatus: number[] = [0], env: NodeJS.ProcessEnv = MEASURED_ENV): Run {
  const dir = mkdtempSync(join(tmpdir(), "metro-bench-"));
  try {
    const all: Run[] = [];
    for (let r = 0; r < runs; r++) all.push(measureOnce(cmd, join(dir, "out"), okStatus, env));
    return medianRun(all);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Paired {
  ours: Run;
  theirs: Run | null;
  /** metro's wall time over ours, for each pair of runs made one after the other. */
  ratios: number[];
}

/**
 * Our command `runs` times and metro's `refRuns` times, taking turns (ours,
 * metro's, ours, ...), so that both sides see the machine in the same state:
 * on a shared machine whose speed drifts, runs made apart compare the drift
 * as much as the programs. Each of metro's runs is paired with the run of
 * ours just before it.
 */
function measurePaired(ours: string[], theirs: string[] | null, runs: number, refRuns: number, okStatus: number[] = [0]): Paired {
  const dir = mkdtempSync(join(tmpdir(), "metro-bench-"));
  try {
    const mine: Run[] = [];
    const ref: Run[] = [];
    const ratios: number[] = [];
    for (let r = 0; r < Math.max(runs, theirs ? refRuns : 0); r++) {
      const a = measureOnce(ours, join(dir, "ours"), okStatus);
      if (r < runs) mine.push(a);
      if (theirs && r < refRuns) {
        const b = measureOnce(theirs, join(dir, "theirs"), [0]);
        ref.push(b);
        ratios.push(b.wall_ms / a.wall_ms);
      }
    }
    return { ours: medianRun(mine), theirs: ref.length ? medianRun(ref) : null, ratios };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const sec = (m: Measured) => `${(m.wall_ms / 1000).toFixed(2)} s (cpu ${(m.cpu_ms / 1000).toFixed(2)} s)`;
const mbOf = (m: Measured) => `${(m.max_rss_kb / 1024).toFixed(0)} MB`;

/** Our figure beside metro's: time (wall and processor) and peak memory, with the ratios (and the range of the paired runs' ratios). */
function sideBySide(name: string, { ours, theirs, ratios }: Paired, goal: string): void {
  if (!theirs) {
    record(name, `${sec(ours)}, ${mbOf(ours)}`, goal);
    return;
  }
  // The median of the paired runs' ratios: each pair saw the machine in the same state.
  const range = ratios.length > 1 ? ` (pairs ${Math.min(...ratios).toFixed(1)}x to ${Math.max(...ratios).toFixed(1)}x)` : "";
  const ratio = `${median(ratios).toFixed(1)}x faster${range} (cpu ${(theirs.cpu_ms / ours.cpu_ms).toFixed(1)}x), ${(ours.max_rss_kb / theirs.max_rss_kb).toFixed(2)}x the memory`;
  record(name, `${sec(ours)}, ${mbOf(ours)}`, `metro ${sec(theirs)}, ${mbOf(theirs)}: ${ratio}; ${goal}`);
}

function sideBySideFigures(reference: string | null, runs: number): void {
  const modules = reference ? join(reference, "modules") : null;
  if (modules && !existsSync(join(modules, "flexdata.py"))) throw new Error(`--reference ${reference}: no modules/flexdata.py there (a checkout of funtoo/metro is expected)`);
  const refRuns = Math.max(1, Math.min(runs, 3));
  console.log(`side by side (median of ${runs} runs${modules ? `, metro's parser median of ${refRuns}, the two taking turns` : ""}; our figure vs metro's):`);
  const work = mkdtempSync(join(tmpdir(), "metro-bench-"));
  try {
    if (haveShared()) {
      const m = writeMatrix(work);
      try {
        const driver = (mode: string) => (modules ? ["python3", DRIVER, modules, m.contexts, mode] : null);
        const check = measurePaired([NODE, CLI, "check", "--no-exec", "--contexts", m.contexts], driver("check"), runs, refRuns, [0, 1]);
        const dump = measurePaired([NODE, CLI, "dump", "--json", "--no-exec", "--contexts", m.contexts], driver("dump"), runs, refRuns, [0, 1]);
        sideBySide(`check --no-exec, ${m.count} funtoo contexts, whole process`, check, "goal >= 10x");
        sideBySide(`dump --json --no-exec, ${m.count} contexts (${(dump.ours.bytes / 1e6).toFixed(1)} MB)`, dump, "goal >= 6x");
        fixedAndPerContext(m.contexts, m.count, runs, { check: check.theirs, dump: dump.theirs });
      } finally {
        rmSync(join(m.root, ".."), { recursive: true, force: true });
      }
    } else {
      console.log("(../shared absent: the funtoo matrix is skipped)");
    }
    const dump = (n: number) => [NODE, CLI, "dump", "--json", "--no-exec", "--config", join(work, `tree-${n}`, "metro.conf")];
    for (const n of [10_000, 100_000, 1_000_000]) writeGeneratedTree(n, join(work, `tree-${n}`));
    const small = measure(dump(10_000), runs);
    record(`generated tree, 10,000 elements, dump --json, whole process`, `${sec(small)}, ${mbOf(small)}`, "");
    let theirs: string[] | null = null;
    if (modules) {
      const contexts = join(work, "contexts-100000.json");
      writeFileSync(contexts, JSON.stringify([{ config: join(work, "tree-100000", "metro.conf"), args: {} }]));
      theirs = ["python3", DRIVER, modules, contexts, "dump"];
    }
    sideBySide(`generated tree, 100,000 elements, dump --json, whole process`, measurePaired(dump(100_000), theirs, runs, refRuns), "goal >= 3x faster, <= 1.5x memory");
    // The growth, like the ratios to metro, from runs taking turns (100,000, 1,000,000, ...): the machine's drift between two runs a minute apart is no part of it.
    const growth = measurePaired(dump(100_000), dump(1_000_000), runs, runs);
    const large = growth.theirs!;
    record(`generated tree, 1,000,000 elements, dump --json, whole process`, `${sec(large)}, ${mbOf(large)}`, "");
    const ratios = growth.ratios;
    record(
      "  growth 100,000 -> 1,000,000 elements (time)",
      `${median(ratios).toFixed(1)}x (pairs ${Math.min(...ratios).toFixed(1)}x to ${Math.max(...ratios).toFixed(1)}x; cpu ${(large.cpu_ms / growth.ours.cpu_ms).toFixed(1)}x)`,
      "goal <= 11x",
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  console.log("");
}

/**
 * Where our time on the matrix goes, measured rather than remembered: Node's
 * own start, the start of the CLI (its bundle loaded, `--version`), each
 * command on the matrix's first context alone (the tree's files read, and for
 * check parsed and indexed whole, plus one context), and what each further
 * context adds. Beside each, the time metro's figure over the goal's ratio
 * leaves us.
 */
function fixedAndPerContext(contexts: string, count: number, runs: number, metro: { check: Run | null; dump: Run | null }): void {
  const dir = mkdtempSync(join(tmpdir(), "metro-bench-"));
  try {
    const first = join(dir, "first.json");
    writeFileSync(first, JSON.stringify(JSON.parse(readFileSync(contexts, "utf8")).slice(0, 1)));
    const node = measure([NODE, "-e", "0"], runs);
    const start = measure([NODE, CLI, "--version"], runs);
    const ms = (m: Measured) => `${m.wall_ms.toFixed(0)} ms`;
    record("  of which: Node's start; the CLI's start (--version)", `${ms(node)}; ${ms(start)}`, "");
    const unmeasured = UNMEASURED.filter((k) => process.env[k] !== undefined);
    if (unmeasured.length) {
      const withThem = measure([NODE, "-e", "0"], runs, [0], process.env);
      record(`  Node's start with this environment's ${unmeasured.join(", ")}`, ms(withThem), "not part of the figures");
    }
    for (const [command, args, ratio] of [
      ["check", ["check", "--no-exec"], 10],
      ["dump", ["dump", "--json", "--no-exec"], 6],
    ] as const) {
      const one = measure([NODE, CLI, ...args, "--contexts", first], runs, [0, 1]);
      const all = measure([NODE, CLI, ...args, "--contexts", contexts], runs, [0, 1]);
      const each = (all.wall_ms - one.wall_ms) / (count - 1);
      const theirs = metro[command];
      const budget = theirs ? `; goal's budget ${(theirs.wall_ms / ratio).toFixed(0)} ms in all` : "";
      record(`  ${command}: first context alone; each further context`, `${ms(one)}; ${each.toFixed(2)} ms`, budget.slice(2));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

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
  const argv = process.argv.slice(2);
  const flag = (name: string) => argv.includes(name);
  const value = (name: string) => {
    const i = argv.indexOf(name);
    if (i === -1) return null;
    if (i + 1 >= argv.length) throw new Error(`${name} needs a value`);
    return argv[i + 1];
  };
  const reference = value("--reference");
  const runs = Number(value("--runs") ?? 3);
  NODE = resolve(value("--node") ?? process.execPath);
  const ours = spawnSync(NODE, ["--version"], { encoding: "utf8" });
  if (ours.status !== 0) throw new Error(`--node ${NODE}: cannot run it`);
  const dropped = UNMEASURED.filter((k) => process.env[k] !== undefined);
  console.log(`metro-engine benchmark (${new Date().toISOString().slice(0, 10)}; in process: node ${process.version}; our whole-process figures: node ${ours.stdout.trim()}${NODE === process.execPath ? "" : ` (${NODE})`})`);
  console.log(dropped.length ? `measured processes run without this environment's ${dropped.join(", ")} (see bench.ts)\n` : "");
  if (flag("--repo-only")) return repoBench(runs);
  sideBySideFigures(reference ? resolve(reference) : null, runs);
  if (flag("--side-by-side-only")) return;

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
      const [p, t] = time(() => spawnSync(NODE, [CLI, "dump", "--json", "--contexts", batch], { maxBuffer: 1 << 28, env: MEASURED_ENV }));
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
    // The materialized case and the batch file each live in a folder of their own.
    rmSync(dirname(c.root), { recursive: true, force: true });
    rmSync(dirname(batch), { recursive: true, force: true });
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

  // --- Verdicts: agreement with metro's runner, findings on the pristine funtoo tree
  if (haveShared()) {
    const verdicts = join(__dirname, "verdicts-bench.js");
    if (existsSync(verdicts)) {
      const load = require;
      const { runnerFigures, pristineFigures } = load(verdicts) as { runnerFigures: () => Promise<Record<string, string>>; pristineFigures: () => Promise<Record<string, string>> };
      for (const [k, val] of Object.entries({ ...(await runnerFigures()), ...(await pristineFigures()) })) record(k, val, "");
    }
  }

  await repoBench(runs);

  // --- Language server (through the real server over stdio)
  if (flag("--no-server")) return;
  const serverBenchFile = join(__dirname, "server-bench.js");
  if (existsSync(serverBenchFile)) {
    // Loaded at run time: it is bundled as its own entry point beside this one.
    const load = require;
    type Figures = () => Promise<Record<string, number | string>>;
    const { serverBench, typingBench, burstBench } = load(serverBenchFile) as { serverBench: Figures; typingBench: Figures; burstBench: Figures };
    const figures = await serverBench();
    for (const [k, val] of Object.entries(figures)) record(k, String(val), "");
    // Typing with the funtoo build matrix in metro-contexts.json: goals p95 < 50 ms, memory after 500 edits < 200 MB.
    const typing = await typingBench();
    for (const [k, val] of Object.entries(typing)) record(k, String(val), "");
    // 500 edits sent without waiting to a file of a 5,000-file collect chain: the last text's diagnostics within one or two evaluations.
    for (const [k, val] of Object.entries(await burstBench())) record(k, String(val), "");
  }

  // --- Build farm (root and Buildbot only)
  const farmBenchFile = join(__dirname, "farm-bench.js");
  if (existsSync(farmBenchFile)) {
    const load = require;
    const { farmBench } = load(farmBenchFile) as { farmBench: () => Promise<Record<string, string>> };
    for (const [k, val] of Object.entries(await farmBench())) record(k, val, "");
  }
}

/** `repo plan` and `nextbuild` on a generated mirror of 500 builds, and the buildrepo cases through their run.py. */
async function repoBench(runs: number): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), "metro-bench-repo-"));
  try {
    const g = generateMirror(root);
    const args = ["--json", "--buildbot", g.buildbot, "--config", g.config, "--today", g.today];
    const plan = measure([NODE, CLI, "repo", "plan", ...args], Math.max(runs, 5));
    record(`repo plan --json, ${g.builds} builds in ${g.subarches} subarches, whole process`, `${sec(plan)}, ${mbOf(plan)}`, "median run");
    const next = measure([NODE, CLI, "repo", "nextbuild", ...args], Math.max(runs, 5), [0, 1]);
    record(`repo nextbuild --json, same mirror, whole process`, `${sec(next)}, ${mbOf(next)}`, "median run");
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  const runPy = join(SHARED, "buildrepo", "run.py");
  const cases = join(SHARED, "buildrepo", "cases");
  if (!existsSync(runPy) || !existsSync(cases)) {
    console.log("(../shared/buildrepo absent: buildrepo figure skipped)");
    return;
  }
  const dirs = readdirSync(cases).map((n) => join(cases, n)).sort();
  const [p, t] = time(() => spawnSync("python3", [runPy, PROJECT, ...dirs], { encoding: "utf8", maxBuffer: 1 << 26 }));
  const last = (p.stdout ?? "").trim().split("\n").pop() ?? "";
  const m = /^buildrepo: (\d+\/\d+) commands identical$/.exec(last);
  record("buildrepo cases (../shared/buildrepo/run.py)", m ? `${m[1]} identical` : "run.py failed", `${(t / 1000).toFixed(0)} s for the run`);
}

if (process.argv[2] === "--generated") {
  generatedChild(Number(process.argv[3]), Number(process.argv[4]), Number(process.argv[5]));
} else {
  main().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
