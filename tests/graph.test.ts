// The build graph: the model of a small tree with every kind of collect, the
// funtoo tree (a node per file read, step keys on their specs), SVG parsed by
// a real XML parser, DOT parsed by Graphviz when it is installed, --key.

import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { evaluateContext } from "../engine/evaluate";
import { collectGraph, keyGraph, toDot, toSvg, type BuildGraph } from "../engine/graph";
import { CLI, materialize, requireShared, funtooContexts } from "./support/shared";

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

/** Parses XML with python3's parser; returns the number of `<g class="node">` elements and their data-file values. */
function parseSvg(svg: string): { nodes: number; files: string[] } {
  const py = `
import sys, json, xml.etree.ElementTree as E
root = E.fromstring(sys.stdin.buffer.read())
ns = "{http://www.w3.org/2000/svg}"
nodes = [g for g in root.iter(ns + "g") if g.get("class") == "node"]
print(json.dumps({"nodes": len(nodes), "files": [g.get("data-file") for g in nodes if g.get("data-file")]}))
`;
  const r = spawnSync("python3", ["-c", py], { input: svg, encoding: "utf8" });
  assert.equal(r.status, 0, `the SVG is not well-formed XML: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

const haveDot = spawnSync("dot", ["-V"]).status === 0;

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

  it("renders SVG that an XML parser reads, with a node per file and escaped text", () => {
    const svg = toSvg(graph);
    const parsed = parseSvg(svg);
    assert.equal(parsed.nodes, graph.nodes.length);
    for (const f of ["metro.conf", "a.conf", "b.conf", "d&<e>.conf"]) assert.ok(parsed.files.includes(join(root, f)), f);
  });

  it("renders DOT that Graphviz reads", function () {
    if (!haveDot) {
      console.log("      (skipped: Graphviz's dot is not installed)");
      this.skip();
    }
    const r = spawnSync("dot", ["-Tsvg"], { input: toDot(graph), encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(parseSvg(r.stdout).nodes, graph.nodes.length); // Graphviz's SVG has a <g class="node"> per node too
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
    assert.equal(parseSvg(toSvg(g)).nodes, 3);
  });

  it("metro-engine graph prints DOT, SVG and JSON, and rejects a bad format", () => {
    const run = (...args: string[]) => spawnSync(process.execPath, [CLI, "graph", "--config", join(root, "metro.conf"), ...args], { encoding: "utf8" });
    const dot = run();
    assert.equal(dot.status, 0, dot.stderr);
    assert.match(dot.stdout, /^digraph /);
    const json = JSON.parse(run("--format", "json").stdout) as BuildGraph;
    assert.equal(json.edges.length, 6);
    assert.equal(parseSvg(run("--format", "svg").stdout).nodes, json.nodes.length);
    assert.equal(run("--format", "png").status, 2);
    const missing = run("--key", "no/such/key");
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /no\/such\/key/);
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
        const svg = parseSvg(toSvg(g));
        assert.equal(svg.nodes, g.nodes.length);
      }
    } finally {
      rmSync(dirname(c.root), { recursive: true, force: true });
    }
  });
});
