// What the language server's model holds at most, at a small scale: bytes
// of files read, statements and references indexed, element names kept by
// evaluated contexts; each limit reached is a diagnostic, never a crash.

import * as assert from "node:assert/strict";
import { evaluateContext } from "../engine/evaluate";
import { Workspace } from "../engine/workspace";
import { MetroTree, type ProjectBudgets } from "../analysis/project";
import { writeTree } from "./support/trees";

function budgets(bytes: number, entries: number, elements: number): ProjectBudgets {
  return { bytes: { max: bytes, held: 0 }, entries: { max: entries, held: 0 }, elements: { max: elements, held: 0 } };
}

describe("budgets: what a hostile tree can cost", () => {
  it("stops an evaluation at maxElements with a located fatal", () => {
    const root = writeTree({ "metro.conf": "a: 1\nb: 2\nc: 3\nd: 4\n" });
    const ctx = evaluateContext({ config: `${root}/metro.conf`, args: {} }, { maxElements: 3 });
    assert.equal(ctx.fatal?.code, "metro/too-many-elements");
    assert.equal(ctx.fatal?.range?.start.line, 3);
    assert.match(ctx.fatal!.message, /define more than 3 elements/);
    assert.equal(evaluateContext({ config: `${root}/metro.conf`, args: {} }).fatal, null, "unlimited by default");
  });

  it("refuses a file once the workspace's byte budget is spent, and gives bytes back when a file is forgotten", () => {
    const root = writeTree({ "a.conf": "a: 1\n", "b.conf": "b: 2\n" });
    const budget = { max: 8, held: 0 };
    const ws = new Workspace({ budget });
    assert.ok(ws.getFile(`${root}/a.conf`));
    assert.equal(budget.held, 5);
    assert.equal(ws.getFile(`${root}/b.conf`), undefined);
    assert.match(ws.problem(`${root}/b.conf`)!.words, /would exceed 8 bytes in total/);
    ws.diskChanged(`${root}/a.conf`);
    assert.equal(budget.held, 0);
    ws.diskChanged(`${root}/b.conf`);
    assert.ok(ws.getFile(`${root}/b.conf`));
  });

  it("indexes files until the entry budget is spent; the rest are skipped with a reason, and closing the tree gives everything back", () => {
    const root = writeTree({ "metro.conf": "a: $[b]\n", "x.conf": "x: $[y] $[z]\ny: 1\n" });
    const b = budgets(1 << 20, 4, 1000);
    const tree = new MetroTree(root, () => undefined, b);
    tree.index.scan();
    assert.equal(tree.index.files.size, 1);
    const [skipped] = [...tree.index.skipped.entries()];
    assert.match(skipped[1].words, /holds \d statements and references; with the files already indexed that is more than the 4/);
    assert.ok(b.entries.held > 0 && b.bytes.held > 0);
    tree.dispose();
    assert.deepEqual([b.entries.held, b.bytes.held], [0, 0]);
  });

  it("keeps evaluated contexts until the element budget is spent; the next one says why it is not evaluated", async () => {
    const root = writeTree({ "metro.conf": "a: 1\nb: 2\nc: 3\n" });
    // Each context holds a, b, c, path/config and its command-line value: 5 names.
    const b = budgets(1 << 20, 1000, 8);
    const tree = new MetroTree(root, () => undefined, b);
    tree.index.scan();
    tree.contexts.configure([
      { name: "one", config: "metro.conf", args: { k: "1" } },
      { name: "two", config: "metro.conf", args: { k: "2" } },
    ]);
    await tree.contexts.settled();
    const [one, two] = tree.contexts.contexts;
    assert.ok(one.evaluated);
    assert.equal(two.evaluated, null);
    assert.equal(two.diagnostics[0].code, "metro/too-many-elements");
    assert.match(two.diagnostics[0].message, /the context two is not evaluated: with the contexts already evaluated it would hold more than 8 elements/);
    assert.equal(b.elements.held, 5);
    tree.dispose();
    assert.equal(b.elements.held, 0);
  });
});
