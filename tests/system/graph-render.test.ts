// The build graph's pictures read by real tools: the SVG by python3's XML
// parser (well-formed, a node per file), the DOT by Graphviz (skipped when
// `dot` is not installed; .ci/run installs it), both from the executable.

import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { CLI } from "../support/shared";

const TREE: Record<string, string> = {
  "metro.conf": "[collect ./a.conf]\n[collect ./sub/b&<c>.conf when flag]\n[collect ./$[undefined/thing].conf]\n[collect ./$[nothing:zap]]\n",
  "a.conf": "flag: yes\nsteps/run: [\necho \"<&>\"\n]\n",
  "sub/b&<c>.conf": "[section steps]\n\nother: $[steps/run]\n",
};

/** Parses XML with python3's parser: the number of `<g class="node">` elements and their data-file values. */
function parseSvg(svg: string): { nodes: number; files: string[] } {
  const py = `
import sys, json, xml.etree.ElementTree as E
root = E.fromstring(sys.stdin.buffer.read())
nodes = [g for g in root.iter("{http://www.w3.org/2000/svg}g") if g.get("class") == "node"]
print(json.dumps({"nodes": len(nodes), "files": [g.get("data-file") for g in nodes if g.get("data-file")]}))
`;
  const r = spawnSync("python3", ["-c", py], { input: svg, encoding: "utf8" });
  assert.equal(r.status, 0, `not well-formed XML: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

describe("metro-engine graph, rendered", function () {
  this.timeout(60_000);
  let root = "";
  before(() => {
    root = mkdtempSync(join(tmpdir(), "metro-graph-"));
    for (const [rel, text] of Object.entries(TREE)) {
      mkdirSync(dirname(join(root, rel)), { recursive: true });
      writeFileSync(join(root, rel), text);
    }
  });
  after(() => rmSync(root, { recursive: true, force: true }));
  const graph = (...args: string[]) => spawnSync(process.execPath, [CLI, "graph", "--config", join(root, "metro.conf"), ...args], { encoding: "utf8" });

  it("SVG: well-formed XML with a node per file read", () => {
    const r = graph("--format", "svg");
    assert.equal(r.status, 0, r.stderr);
    const svg = parseSvg(r.stdout);
    const model = JSON.parse(graph("--format", "json").stdout) as { nodes: { file: string | null; kind: string }[] };
    assert.equal(svg.nodes, model.nodes.length);
    for (const f of ["metro.conf", "a.conf", "sub/b&<c>.conf"]) assert.ok(svg.files.includes(join(root, f)), f);
    assert.equal(parseSvg(graph("--format", "svg", "--key", "steps/run").stdout).nodes, 2);
  });

  it("DOT: Graphviz reads it and draws a node per node of the model", function () {
    if (spawnSync("dot", ["-V"]).status !== 0) {
      console.log("      (skipped: Graphviz's dot is not installed)");
      this.skip();
    }
    const model = JSON.parse(graph("--format", "json").stdout) as { nodes: unknown[] };
    const r = spawnSync("dot", ["-Tsvg"], { input: graph().stdout, encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(parseSvg(r.stdout).nodes, model.nodes.length);
  });
});
