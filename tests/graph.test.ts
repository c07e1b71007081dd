// The build graph: the model of a small tree with every kind of collect, the
// funtoo tree (a node per file read, step keys on their specs), --key, and
// `metro-engine graph` through main(). tests/system/graph-render.test.ts
// parses the SVG with a real XML parser and the DOT with Graphviz.

import * as assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { evaluateContext } from "../engine/evaluate";
import { collectGraph, keyGraph, toDot, toSvg, type BuildGraph } from "../engine/graph";
import { GraphRequest, type GraphResult } from "../server/protocol";
import { StdioClient, uriOf } from "../server/testing/stdio-client";
import { GRAPH_VIEW_SCRIPT, graphViewHtml } from "../client-vscode/src/graph-view";
import { runCli } from "./support/run-cli";
import { materialize, requireShared, funtooContexts } from "./support/shared";

const TREE: Record<string, string> = {
  "metro.conf": `[collect ./a.conf]
[collect ./b.conf when flag]
[collect ./c.conf when flag is no]
[collect ./$[undefined/thing].conf]
[collect ./$[nothing:zap]] # skipped: the path becomes nothing
[collect ./d&<e>.conf]

[section target]

name: x & <y>
`,
  "a.conf": `flag: yes

steps/run: [
echo $[target/name]
]
`,
  "d&<e>.conf": "",
  "b.conf": `[section steps]

other: $[steps/run] $[target/name]
`,
  "c.conf": "c: 1\n",
};

function writeTree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "metro-graph-"));
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), text);
  }
  return root;
}

describe("graph: a small tree", () => {
  let root = "";
  let graph: BuildGraph;
  before(() => {
    root = writeTree(TREE);
    graph = collectGraph(evaluateContext({ config: join(root, "metro.conf"), args: {} }, { allowExec: false }));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it("draws every file read and every collect with what became of it, labelled as written", () => {
    const files = graph.nodes.filter((n) => n.file && (n.kind === "entry" || n.kind === "file")).map((n) => n.id).sort();
    assert.deepEqual(files, ["a.conf", "b.conf", "d&<e>.conf", "metro.conf"].map((f) => join(root, f)).sort());
    const byLabel = new Map(graph.edges.map((e) => [e.label, e]));
    assert.equal(byLabel.get("[collect ./a.conf]")?.status, "collected");
    assert.equal(byLabel.get("[collect ./b.conf when flag]")?.status, "collected");
    assert.equal(byLabel.get("[collect ./b.conf when flag]")?.condition, "flag");
    const notTaken = byLabel.get("[collect ./c.conf when flag is no]")!;
    assert.equal(notTaken.status, "dropped");
    assert.match(notTaken.reason!, /false/);
    const undef = byLabel.get("[collect ./$[undefined/thing].conf]")!;
    assert.equal(undef.status, "dropped");
    assert.match(undef.reason!, /undefined\/thing/);
    assert.equal(byLabel.get("[collect ./$[nothing:zap]]")?.status, "skipped", "the comment is not part of the label");
    assert.equal(graph.edges.length, 6);
  });

  it("lists the step keys on the file that defines them", () => {
    const node = (f: string) => graph.nodes.find((n) => n.id === join(root, f))!;
    assert.deepEqual(node("a.conf").details, ["steps/run"]);
    assert.deepEqual(node("b.conf").details, ["steps/other"]);
    assert.deepEqual(node("metro.conf").details, []);
  });

  it("renders SVG with a node per file and the text escaped", () => {
    const svg = toSvg(graph);
    assert.equal(svg.match(/<g class="node"/g)?.length, graph.nodes.length);
    for (const f of ["metro.conf", "a.conf", "b.conf"]) assert.ok(svg.includes(`data-file="${join(root, f)}"`), f);
    assert.ok(svg.includes(`data-file="${join(root, "d&amp;&lt;e&gt;.conf")}"`));
    assert.ok(!svg.includes("d&<e>"));
  });

  it("renders DOT with a cluster per folder and an edge per collect", () => {
    const dot = toDot(graph);
    assert.equal(dot.match(/ -> /g)?.length, graph.edges.length);
    assert.match(dot, /style=dashed, color="#c0392b"/);
    assert.match(dot, /\(taken: flag\)/);
  });

  it("--key draws who uses a key and what it uses, in the files that define them", () => {
    const ctx = evaluateContext({ config: join(root, "metro.conf"), args: {} }, { allowExec: false, trackReferences: true });
    const g = keyGraph(ctx, "steps/run");
    const uses = g.edges.filter((e) => e.from === "steps/run").map((e) => e.to);
    const usedBy = g.edges.filter((e) => e.to === "steps/run").map((e) => e.from);
    assert.deepEqual(uses, ["target/name"]);
    assert.deepEqual(usedBy, ["steps/other"]);
    assert.equal(g.nodes.find((n) => n.id === "steps/other")?.group, "b.conf");
    assert.equal(g.nodes.find((n) => n.id === "target/name")?.group, "metro.conf");
    assert.equal(toSvg(g).match(/<g class="node"/g)?.length, 3);
  });

  it("metro-engine graph prints DOT, SVG and JSON, and rejects a bad format", async () => {
    const run = (...args: string[]) => runCli(["graph", "--config", join(root, "metro.conf"), ...args]);
    const dot = await run();
    assert.equal(dot.code, 0, dot.err);
    assert.match(dot.out, /^digraph /);
    const json = JSON.parse((await run("--format", "json")).out) as BuildGraph;
    assert.equal(json.edges.length, 6);
    assert.equal((await run("--format", "svg")).out.match(/<g class="node"/g)?.length, json.nodes.length);
    assert.equal((await run("--format", "png")).code, 2);
    const missing = await run("--key", "no/such/key");
    assert.equal(missing.code, 1);
    assert.match(missing.err, /no\/such\/key/);
  });

  it("metro-engine graph --format svg of a file collecting 3,000 files says it cannot lay them out side by side (the layout ran for hours); 300 are drawn; dot draws them all", async () => {
    const files: Record<string, string> = {};
    const wide = (n: number) => Array.from({ length: n }, (_, i) => `[collect ./w/f${i}.conf]\n`).join("");
    files["wide.conf"] = wide(3000);
    files["wide300.conf"] = wide(300);
    for (let i = 0; i < 3000; i++) files[`w/f${i}.conf`] = `k${i}: 1\n`;
    const root = writeTree(files);
    try {
      const svg = await runCli(["graph", "--format", "svg", "--config", join(root, "wide.conf")]);
      assert.equal(svg.code, 1, svg.err);
      assert.equal(svg.out, "");
      assert.equal(svg.err, "metro-engine graph: the graph (3001 files, 3000 collects; 3000 files side by side) is too wide to lay out as SVG here (at most 300 side by side); --format dot draws it with Graphviz\n");
      const drawn = await runCli(["graph", "--format", "svg", "--config", join(root, "wide300.conf")]);
      assert.equal(drawn.code, 0, drawn.err);
      assert.equal(drawn.out.match(/<g class="node"/g)?.length, 301);
      const dot = await runCli(["graph", "--config", join(root, "wide.conf")]);
      assert.equal(dot.code, 0);
      assert.equal(dot.out.match(/ -> /g)?.length, 3000);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("metro-engine graph --format svg of a chain of 10,000 collects says it cannot lay it out (it was an internal error); dot still draws it", async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 10_000; i++) files[`f${i}.conf`] = `[collect ./f${i + 1}.conf]\n`;
    files["f10000.conf"] = "a: 1\n";
    const deep = writeTree(files);
    try {
      const svg = await runCli(["graph", "--format", "svg", "--config", join(deep, "f0.conf")]);
      assert.equal(svg.code, 1, svg.err);
      assert.equal(svg.out, "");
      assert.equal(svg.err, "metro-engine graph: the graph (10001 files, 10000 collects) is too deep to lay out as SVG here; --format dot draws it with Graphviz\n");
      const dot = await runCli(["graph", "--config", join(deep, "f0.conf")]);
      assert.equal(dot.code, 0);
      assert.equal(dot.out.match(/ -> /g)?.length, 10_000);
    } finally {
      rmSync(deep, { recursive: true, force: true });
    }
  });

  it("metro-engine graph --context with an unknown name lists the contexts there are, named or not", async () => {
    const r = await runCli(["graph", "--config", join(root, "metro.conf"), "--context", "nope", "target:", "stage3"]);
    assert.equal(r.code, 2);
    // The one context of --config has no name: it is listed by its label (it was an empty list).
    assert.match(r.err, /no context named "nope"; the contexts are: "[^"]*stage3[^"]*"\n/);
  });
});

describe("graph: the language server's metro/graph", function () {
  this.timeout(30000);
  let root = "";
  let client: StdioClient;
  before(async () => {
    root = writeTree(TREE);
    client = await StdioClient.start({ root, settings: { metro: { contexts: [{ name: "only", config: join(root, "metro.conf"), args: {} }] } } });
    await client.settled();
  });
  after(async () => {
    await client?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it("draws the active context of the document's tree, nodes carrying the files to open", async () => {
    const r = await client.request<GraphResult | null>(GraphRequest.method, { uri: uriOf(join(root, "a.conf")) });
    assert.ok(r);
    assert.equal(r.context, "only");
    for (const f of ["metro.conf", "a.conf", "b.conf"]) assert.ok(r.svg.includes(`data-file="${join(root, f)}"`), f);
    const k = await client.request<GraphResult | null>(GraphRequest.method, { tree: root, key: "steps/run" });
    assert.equal(k?.svg.match(/<g class="node"/g)?.length, 3);
  });

  it("draws the uses of the element under the cursor", async () => {
    const b = join(root, "b.conf");
    const line = TREE["b.conf"].split("\n").findIndex((l) => l.startsWith("other:"));
    client.open(b);
    const r = await client.request<GraphResult | null>(GraphRequest.method, { uri: uriOf(b), position: { line, character: 1 } });
    assert.ok(r && r.svg.includes("uses of steps/other"), r?.svg.slice(0, 300));
    assert.equal(await client.request(GraphRequest.method, { uri: uriOf(b), position: { line: 1, character: 0 } }), null, "a blank line names no element");
  });

  it("the VS Code page shows the SVG under a nonce-only script policy, and its script compiles", async () => {
    const r = (await client.request<GraphResult | null>(GraphRequest.method, { tree: root }))!;
    const html = graphViewHtml(r.svg, "vscode-resource:", "abc123");
    assert.ok(!html.includes("<?xml"), "the XML declaration is dropped inside HTML");
    assert.match(html, /script-src 'nonce-abc123'/);
    assert.equal(html.match(/<script/g)?.length, 1);
    assert.match(html, /<script nonce="abc123">/);
    assert.ok(html.includes(`data-file="${join(root, "a.conf")}"`));
    assert.doesNotThrow(() => new Function("acquireVsCodeApi", "document", GRAPH_VIEW_SCRIPT));
  });

  it("answers null for a folder that is no tree", async () => {
    assert.equal(await client.request(GraphRequest.method, { tree: "/" }), null);
  });
});

describe("graph: the funtoo tree", function () {
  this.timeout(120000);
  it("has a node per file each context reads and the step keys on the specs defining them", function () {
    requireShared(this);
    const c = materialize("funtoo-metro");
    try {
      for (const spec of funtooContexts().slice(0, 4)) {
        const ctx = evaluateContext({ config: join(c.root, spec.config), args: spec.args }, { allowExec: false });
        const g = collectGraph(ctx);
        for (const f of ctx.collected) assert.ok(g.nodes.some((n) => n.id === f), f);
        assert.equal(g.edges.length, ctx.collects.length);
        const steps = ctx.keys().filter((k) => k.startsWith("steps/"));
        assert.ok(steps.length > 0);
        for (const k of steps) {
          const file = ctx.definitions(k)[0].file;
          assert.ok(g.nodes.find((n) => n.id === file)?.details.some((d) => d.startsWith(k)), `${k} on ${file}`);
        }
        assert.equal(toSvg(g).match(/<g class="node"/g)?.length, g.nodes.length);
      }
    } finally {
      rmSync(dirname(c.root), { recursive: true, force: true });
    }
  });
});
