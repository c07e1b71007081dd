// Language-server figures (issues 4 and 6), measured through the real server
// over stdio on the funtoo tree from the shared conformance data:
// start-up indexing with all 53 contexts, fresh diagnostics after an edit,
// hover and definition latency, memory, a 5,000-edit random session, and the
// no-configuration experience (first contextual diagnostics, memory with
// every file open), and a burst of edits sent without waiting to a file of a
// 5,000-file collect chain. `bench/bench.ts` calls serverBench(), typingBench()
// and burstBench().

import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { StdioClient, uriOf } from "../server/testing/stdio-client";
import { funtooContexts, funtooCopy } from "../tests/support/shared";
import { writeMatrix } from "./generate";
import { writeFileSync } from "node:fs";

const PROJECT = resolve(__dirname, "..", "..");
const SERVER = process.env.METRO_BENCH_SERVER ?? join(PROJECT, "dist", "metro-language-server.js");
const CASE = join(PROJECT, "..", "shared", "conformance", "cases", "funtoo-metro");

function metroFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const n of readdirSync(dir)) {
      const p = join(dir, n);
      if (n === "fsroot" || n === "mirror" || n.startsWith(".")) continue;
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.(conf|spec)$/.test(n) || /\/(multi-targets|strategy)\//.test(p)) out.push(p);
    }
  };
  walk(root);
  return out.sort();
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] : NaN;
}

const round = (x: number) => Math.round(x * 10) / 10;
const mb = (bytes: number) => Math.round((bytes / 1e6) * 10) / 10;

/** A deterministic pseudo-random generator, so runs are comparable. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

interface RefSite {
  file: string;
  line: number;
  character: number;
}

function referenceSites(files: string[]): RefSite[] {
  const out: RefSite[] = [];
  for (const f of files) {
    const lines = readFileSync(f, "utf8").split("\n");
    lines.forEach((l, i) => {
      for (let c = l.indexOf("$["); c >= 0; c = l.indexOf("$[", c + 2)) out.push({ file: f, line: i, character: c + 3 });
    });
  }
  return out;
}

/** Waits for diagnostics of `path` published for document version `version`. */
function diagnosticsFor(client: StdioClient, path: string, version: number, timeout = 10000): Promise<void> {
  const uri = uriOf(path);
  return client.waitFor(() => (client.diagnostics.get(uri)?.version ?? -1) >= version, timeout, `diagnostics of ${path} v${version}`);
}

/**
 * Typing in a file every context reads, with the funtoo build matrix in
 * metro-contexts.json: each keystroke is sent as soon as the diagnostics of
 * the previous one arrive. Returns the latency of those diagnostics and the
 * server's memory after the edits.
 */
export async function typingBench(edits = 500): Promise<Record<string, number | string>> {
  const out: Record<string, number | string> = {};
  if (!existsSync(CASE)) return { ls_typing_skipped: `shared conformance data absent (${CASE})` };
  if (!existsSync(SERVER)) return { ls_typing_skipped: `${SERVER} not built` };
  const m = writeMatrix(join(PROJECT, "out", "bench-matrix"));
  const root = m.root;
  try {
    const contexts = JSON.parse(readFileSync(m.contexts, "utf8")) as { config: string; args: Record<string, string> }[];
    writeFileSync(join(root, "metro-contexts.json"), JSON.stringify(contexts.map((c) => ({ config: "metro.conf", args: c.args })), null, 1));
    const t0 = performance.now();
    const client = await StdioClient.start({ serverPath: SERVER, root });
    const s = await client.settled();
    out.ls_matrix_contexts = s.trees[0]?.contexts ?? 0;
    out.ls_matrix_start_ms = round(performance.now() - t0);
    out.ls_matrix_memory_after_start_mb = mb(client.memory());
    const file = join(root, "corpus/etc/builds/common.conf");
    client.open(file);
    await client.settled();
    // Type a definition a character at a time on a new line at the end, then delete it a character at a time.
    const lines = readFileSync(file, "utf8").split("\n");
    const line = lines.length - 1;
    const word = "typed/by/bench: $[target/build] and some more text";
    const latency: number[] = [];
    let col = 0;
    for (let i = 0; i < edits; i++) {
      const typing = Math.floor(i / word.length) % 2 === 0;
      const t = performance.now();
      let v: number;
      if (typing) {
        v = client.change(file, { start: { line, character: col }, end: { line, character: col } }, word[col]);
        col++;
      } else {
        v = client.change(file, { start: { line, character: col - 1 }, end: { line, character: col } }, "");
        col--;
      }
      await diagnosticsFor(client, file, v, 60000);
      latency.push(performance.now() - t);
    }
    out.ls_typing_edits = edits;
    out.ls_typing_diagnostics_p50_ms = round(percentile(latency, 50));
    out.ls_typing_diagnostics_p95_ms = round(percentile(latency, 95));
    out.ls_typing_memory_after_edits_mb = mb(client.memory());
    await client.settled();
    out.ls_typing_memory_settled_mb = mb(client.memory());
    out.ls_typing_heap_after_gc_mb = mb((await client.request<{ heapUsed: number }>("metro/memory", { gc: true })).heapUsed);
    await client.stop();
  } finally {
    rmSync(join(root, ".."), { recursive: true, force: true });
    rmSync(join(PROJECT, "out", "bench-matrix"), { recursive: true, force: true });
  }
  return out;
}

/**
 * A burst of edits sent without waiting (an editor replaying changes, a
 * refactoring applied as hundreds of changes) to the middle file of a chain
 * of `files` files, each collecting the next (one context reads them all):
 * how long until the diagnostics of the last text arrive, against the time
 * one edit takes (one evaluation of the chain), and how many evaluations the
 * burst cost.
 */
export async function burstBench(files = 5000, edits = 500): Promise<Record<string, number | string>> {
  const out: Record<string, number | string> = {};
  if (!existsSync(SERVER)) return { ls_burst_skipped: `${SERVER} not built` };
  const root = join(PROJECT, "out", "bench-burst");
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  try {
    writeFileSync(join(root, "metro.conf"), "[collect c0.conf]\nk: $[v0]\n");
    writeFileSync(join(root, "metro-contexts.json"), JSON.stringify([{ name: "chain", config: "metro.conf", args: {} }]));
    for (let i = 0; i < files; i++) writeFileSync(join(root, `c${i}.conf`), i < files - 1 ? `v${i}: $[v${i + 1}]\n[collect c${i + 1}.conf]\n` : `v${i}: end\n`);
    const client = await StdioClient.start({ serverPath: SERVER, root });
    await client.settled();
    const file = join(root, `c${Math.floor(files / 2)}.conf`);
    client.open(file);
    await client.settled();
    // Line 2 (empty at first) is replaced by each edit with a definition of its own.
    let first = true;
    const edit = (text: string) => {
      const v = client.change(file, { start: { line: 2, character: 0 }, end: { line: first ? 2 : 3, character: 0 } }, text);
      first = false;
      return v;
    };
    const single: number[] = [];
    const lookupsBefore = (await client.settled()).trees[0]?.diskLookups ?? NaN;
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      const v = edit(`one${i}: $[v0]\n`);
      await diagnosticsFor(client, file, v, 120000);
      single.push(performance.now() - t);
      await client.settled();
    }
    // What the workspace asked the disk for the 5 edits (lstat, stat, realpath): an edit changes nothing there.
    const lookups = ((await client.settled()).trees[0]?.diskLookups ?? NaN) - lookupsBefore;
    const before = (await client.settled()).trees[0]?.evaluations ?? NaN;
    const t = performance.now();
    let v = 0;
    for (let i = 0; i < edits; i++) v = edit(`w${i}: $[gone${i}]\n`);
    await diagnosticsFor(client, file, v, 600000);
    out.ls_burst_chain_files = files;
    out.ls_burst_edits = edits;
    out.ls_burst_one_edit_median_ms = round(percentile(single, 50));
    out.ls_burst_one_edit_disk_lookups = lookups / single.length;
    out.ls_burst_last_text_diagnostics_ms = round(performance.now() - t);
    out.ls_burst_evaluations = ((await client.settled()).trees[0]?.evaluations ?? NaN) - before;
    out.ls_burst_last_text_right = client.diagnosticsOf(file).some((d) => d.message.includes(`"gone${edits - 1}"`)) ? "yes" : "no";
    await client.stop();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return out;
}

export async function serverBench(): Promise<Record<string, number | string>> {
  const out: Record<string, number | string> = {};
  if (!existsSync(CASE)) return { ls_skipped: `shared conformance data absent (${CASE})` };
  if (!existsSync(SERVER)) return { ls_skipped: `${SERVER} not built` };
  const contexts = funtooContexts();

  // --- Issue 4: all 53 contexts from the setting ------------------------------------------
  const root = funtooCopy();
  try {
    let t0 = performance.now();
    const client = await StdioClient.start({ serverPath: SERVER, root, settings: { metro: { contexts } } });
    const s = await client.settled();
    out.ls_start_index_and_53_contexts_ms = round(performance.now() - t0);
    out.ls_start_scan_ms = round(s.trees[0]?.scanMs ?? NaN);
    out.ls_files_indexed = s.trees[0]?.files ?? 0;
    out.ls_memory_after_start_mb = mb(client.memory());

    const files = metroFiles(root);
    const sites = referenceSites(files);
    const rand = rng(4);

    // Hover and definition latency on random references.
    const hover: number[] = [];
    const definition: number[] = [];
    for (let i = 0; i < 300; i++) {
      const site = sites[Math.floor(rand() * sites.length)];
      t0 = performance.now();
      await client.hover(site.file, site.line, site.character);
      hover.push(performance.now() - t0);
      t0 = performance.now();
      await client.definition(site.file, site.line, site.character);
      definition.push(performance.now() - t0);
    }
    out.ls_hover_p95_ms = round(percentile(hover, 95));
    out.ls_definition_p95_ms = round(percentile(definition, 95));

    // Fresh diagnostics after an edit: the edited file's diagnostics for the new version
    // (parse, index, and the active context re-evaluated), then every context that read it.
    const editTargets = [
      join(root, "corpus/etc/master.conf"),
      join(root, "corpus/etc/builds/common.conf"),
      join(root, "corpus/targets/gentoo/stage3.spec"),
      join(root, "corpus/targets/gentoo/target/stage.spec"),
      join(root, "corpus/etc/builds/1.4-release-std/build.conf"),
      join(root, "corpus/targets/gentoo/steps/capture/tar.spec"),
    ];
    for (const f of editTargets) client.open(f);
    await client.settled();
    const fresh: number[] = [];
    const allContexts: number[] = [];
    for (let i = 0; i < 60; i++) {
      const f = editTargets[i % editTargets.length];
      const n = readFileSync(f, "utf8").split("\n").length;
      const line = Math.floor(rand() * n);
      t0 = performance.now();
      const v = client.change(f, { start: { line, character: 0 }, end: { line, character: 0 } }, i % 2 ? "bench/edit: x\n" : "# edit\n");
      await diagnosticsFor(client, f, v);
      fresh.push(performance.now() - t0);
      await client.settled();
      allContexts.push(performance.now() - t0);
      const v2 = client.change(f, { start: { line, character: 0 }, end: { line: line + 1, character: 0 } }, "");
      await diagnosticsFor(client, f, v2);
      await client.settled();
    }
    out.ls_edit_fresh_diagnostics_p95_ms = round(percentile(fresh, 95));
    out.ls_edit_fresh_diagnostics_p50_ms = round(percentile(fresh, 50));
    out.ls_edit_all_contexts_reevaluated_p95_ms = round(percentile(allContexts, 95));
    out.ls_memory_after_edits_mb = mb(client.memory());

    // A 5,000-edit random session: insertions and deletions anywhere (garbage included),
    // a hover every 25 edits; the server must stay alive and answer, memory flat.
    const texts = new Map(editTargets.map((f) => [f, readFileSync(f, "utf8")]));
    const garbage = ["$[", "]", "[section x]\n", "a: $[b:zap]\n", "[collect ./nope]\n", "\n", "x: [\n", "]\n", "# c\n", "$[path/mirror]", "[when a is b]\n"];
    const mem: number[] = [];
    const heap: number[] = [];
    const originalSize = new Map([...texts].map(([f, t]) => [f, t.length]));
    t0 = performance.now();
    let answered = 0;
    for (let i = 0; i < 5000; i++) {
      const f = editTargets[Math.floor(rand() * editTargets.length)];
      let text = texts.get(f)!;
      const lines = text.split("\n");
      const line = Math.floor(rand() * lines.length);
      const ch = Math.floor(rand() * (lines[line].length + 1));
      const offset = lines.slice(0, line).reduce((a, l) => a + l.length + 1, 0) + ch;
      // Inserts and deletions balance out, so the documents keep their size and memory can stay flat.
      const size = originalSize.get(f)!;
      const insert = text.length < size * 0.95 ? true : text.length > size * 1.05 ? false : rand() < 0.5;
      if (insert) {
        const ins = garbage[Math.floor(rand() * garbage.length)];
        client.change(f, { start: { line, character: ch }, end: { line, character: ch } }, ins);
        text = text.slice(0, offset) + ins + text.slice(offset);
      } else {
        const len = Math.min(lines[line].length - ch, 1 + Math.floor(rand() * 12));
        client.change(f, { start: { line, character: ch }, end: { line, character: ch + len } }, "");
        text = text.slice(0, offset) + text.slice(offset + len);
      }
      texts.set(f, text);
      if (i % 25 === 24) {
        const site = sites[Math.floor(rand() * sites.length)];
        await client.hover(site.file, 0, 0);
        answered++;
        void site;
      }
      if (i % 1000 === 999) {
        await client.settled();
        mem.push(client.memory());
        heap.push((await client.request<{ heapUsed: number }>("metro/memory", { gc: true })).heapUsed);
      }
    }
    await client.settled();
    out.ls_random_session_edits = 5000;
    out.ls_random_session_ms = round(performance.now() - t0);
    out.ls_random_session_alive = client.alive() && answered === 200 ? "yes" : "no";
    out.ls_random_session_memory_first_mb = mb(mem[0]);
    out.ls_random_session_memory_last_mb = mb(mem[mem.length - 1]);
    out.ls_random_session_memory_max_mb = mb(Math.max(...mem));
    out.ls_random_session_heap_after_gc_first_mb = mb(heap[0]);
    out.ls_random_session_heap_after_gc_last_mb = mb(heap[heap.length - 1]);
    await client.stop();
  } finally {
    rmSync(join(root, ".."), { recursive: true, force: true }); // the case folder holding root
  }

  // --- Issue 6: no configuration at all ------------------------------------------------------
  const root2 = funtooCopy();
  try {
    const t0 = performance.now();
    const client = await StdioClient.start({ serverPath: SERVER, root: root2 });
    await client.waitFor(() => [...client.diagnostics.values()].some((p) => p.diagnostics.some((d) => (d.data as { contexts?: string[] } | undefined)?.contexts)), 20000, "contextual diagnostics");
    out.ls_noconfig_first_contextual_diagnostics_ms = round(performance.now() - t0);
    const s = await client.settled();
    out.ls_noconfig_derived_contexts = s.trees[0]?.contexts ?? 0;
    const files = metroFiles(root2);
    for (const f of files) client.open(f);
    await client.request("textDocument/hover", { textDocument: { uri: uriOf(files[files.length - 1]) }, position: { line: 0, character: 0 } });
    await client.settled();
    out.ls_noconfig_files_opened = files.length;
    out.ls_noconfig_memory_all_files_open_mb = mb(client.memory());
    await client.stop();
  } finally {
    rmSync(join(root2, ".."), { recursive: true, force: true });
  }
  return out;
}

// Run on its own: node out/bench/server-bench.js
if (/server-bench\.js$/.test(process.argv[1] ?? "")) {
  const run = { "--typing": () => typingBench(Number(process.argv[3] ?? 500)), "--burst": () => burstBench(Number(process.argv[3] ?? 5000), Number(process.argv[4] ?? 500)) }[process.argv[2] ?? ""] ?? serverBench;
  run().then(
    (r) => {
      for (const [k, v] of Object.entries(r)) console.log(`${k.padEnd(52)} ${v}`);
    },
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
