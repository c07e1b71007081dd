// The evaluator reads a file's definitions and collects without building its
// syntax tree (language/outline.ts), and finds a statement again in the tree
// only when a location is asked for. Both readings must agree on every file:
// the same definitions and collects, in the same order, under the same
// statement indexes, and the same `[option]` mode at the end; a file with a
// line metro stops on is left to the parser.

import assert from "node:assert/strict";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { outlineMetro, parseMetro, type MetroFile } from "../language";
import { evaluateContext } from "../engine/evaluate";
import { FileDefinition, lowerFile, outlineFile, type FileModel } from "../engine/file-model";
import { Workspace } from "../engine/workspace";
import { PROJECT, SHARED, haveShared, walkFiles } from "./support/shared";
import { seeded, writeTree } from "./support/trees";

interface Item {
  kind: string;
  name?: string;
  value?: string | string[];
  path?: string;
  condition: string | null;
  recordedSection?: string | null;
  lax?: boolean | null;
  statement: number;
}

/** What the parser's tree says a file defines and collects. */
function fromTree(ast: MetroFile): { items: Item[]; laxAtEnd: boolean | null } {
  const items: Item[] = [];
  ast.statements.forEach((st, i) => {
    if (st.kind === "single" || st.kind === "multi") {
      items.push({ kind: "definition", name: st.name.qualified, value: st.kind === "single" ? st.value.text : st.rawLines, condition: st.scope.condition, recordedSection: st.name.recordedSection, lax: st.scope.lax, statement: i });
    } else if (st.kind === "collect") items.push({ kind: "collect", path: st.path.text, condition: st.condition, statement: i });
  });
  return { items, laxAtEnd: ast.laxAtEnd };
}

/** What the outline says, or undefined when it leaves the file to the parser. */
function fromOutline(text: string): { items: Item[]; laxAtEnd: boolean | null } | undefined {
  const items: Item[] = [];
  const laxAtEnd = outlineMetro(text, {
    definition: (name, value, condition, recordedSection, lax, statement) => items.push({ kind: "definition", name, value, condition, recordedSection, lax, statement }),
    collect: (path, condition, statement) => items.push({ kind: "collect", path, condition, statement }),
  });
  return laxAtEnd === undefined ? undefined : { items, laxAtEnd };
}

/** Checks one text; returns whether the outline read it (false: it has a fatal line and is left to the parser). */
function agree(text: string, label: string): boolean {
  const ast = parseMetro(text);
  const outline = fromOutline(text);
  if (outline === undefined) {
    assert.ok(ast.fatal, `${label}: the outline gave up on a file metro reads to the end`);
    return false;
  }
  assert.equal(ast.fatal, null, `${label}: the outline read a file with a fatal line (${ast.fatal?.code})`);
  assert.deepEqual(outline, fromTree(ast), label);
  return true;
}

function metroFilesUnder(dir: string): string[] {
  return walkFiles(dir).filter((f) => /\.(conf|spec)$|metro\.conf$|\/etc\/[^/]+$|\/targets\//.test(f) && statSync(f).size < 1 << 20);
}

describe("outline: definitions and collects read without a syntax tree", () => {
  it("agrees with the parser on the example tree, the test fixtures and (when present) every conformance case", function () {
    const files = [...metroFilesUnder(join(PROJECT, "examples")), ...walkFiles(join(PROJECT, "tests", "fixtures")).filter((f) => !f.endsWith(".expected"))];
    if (haveShared()) files.push(...metroFilesUnder(join(SHARED, "conformance", "cases")));
    let outlined = 0;
    for (const f of files) if (agree(readFileSync(f, "utf8"), f)) outlined++;
    assert.ok(outlined > 20, `only ${outlined} of ${files.length} files were outlined`);
  });

  it("agrees with the parser on line endings, comments, blocks, sections, conditions, options and the lines metro stops on", () => {
    const cases = [
      "",
      "\n\n",
      "a: 1",
      "a: 1\r\nb: 2\rc: 3\n",
      "a:  two  spaces # c\n#x\n  \n[section s]\nb: 1\n: empty\n",
      "x: [\nline\n\n  ]  \ny: 1\n",
      "x: [\nline one\n",
      "x: [ # not a block\n",
      "[section s when a is b]\nm: [\n$[[n]]\n<?python\nprint(1)\n?>\n]\n[when *]\nz: 1\n",
      "[when a]\n[collect ./x]\n[when]\n[collect ./y when b is c]\n[collect ./z]\n",
      "[when a]\n[collect ./x when b]\n",
      "[collect ./x y]\n",
      "[collect]\n",
      "[option parse/lax]\na: 1\n[option parse/strict]\nb: 2\n",
      "[option parse/other]\n",
      "[section]\n",
      "[section s x]\n",
      "[bogus]\n",
      "[]\n",
      "[section s]  # two spaces\n",
      "key:value\nfoo bar\n[section s] trailing\n",
      "[section s]\n: [\nx\n]\n",
      "\ufeffa: 1\n",
      "a: $[b\n",
    ];
    cases.forEach((t, i) => agree(t, `case ${i}: ${JSON.stringify(t)}`));
  });

  it("agrees with the parser on 2,000 random files", () => {
    const rand = seeded(12);
    const pick = <T>(xs: T[]) => xs[rand(xs.length)];
    const pieces = [
      "a: 1", "b: $[a]", "s/x: v", ": v", "c:  x  ", "d: [", "]", " ] ", "$[[d]]", "<?python", "?>", "", " ", "# c", "x # c",
      "[section s]", "[section t when a]", "[section u when *]", "[section]", "[section s q]",
      "[when a]", "[when a is 1]", "[when *]", "[when]", "[collect ./f]", "[collect ./f when a]", "[collect ./f x]", "[collect]",
      "[option parse/lax]", "[option parse/strict]", "[option x]", "[bad]", "[section s]  # c", "key:value", "foo bar", "e:\tv",
    ];
    let outlined = 0;
    for (let n = 0; n < 2000; n++) {
      const lines: string[] = [];
      for (let i = rand(25); i > 0; i--) lines.push(pick(pieces));
      const text = lines.join(pick(["\n", "\n", "\r\n", "\r"])) + pick(["\n", "", "\r\n"]);
      if (agree(text, `random file ${n}: ${JSON.stringify(text)}`)) outlined++;
    }
    // Both kinds must be met for the comparison to mean something.
    assert.ok(outlined > 200 && outlined < 1900, `${outlined} of 2000 random files outlined`);
  });

  it("finds each definition's and collect's statement again in the tree, with its location", () => {
    const text = "[section s]\n\na: 1 # c\nm: [\nx\n]\n[when a]\n[collect ./f.conf]\n";
    const source = { normalised: "/t/metro.conf", get ast() { return parseMetro(text); } };
    const model: FileModel = outlineFile(text, source)!;
    assert.deepEqual(model, lowerFile(parseMetro(text), source));
    const [a, m, collect] = model.items;
    assert.ok(a instanceof FileDefinition && m instanceof FileDefinition);
    assert.equal(a.statement.name.qualified, "s/a");
    assert.deepEqual(a.statement.name.range.start, { line: 2, character: 0, offset: 13 });
    assert.equal(m.statement.kind, "multi");
    assert.equal(a.file, "/t/metro.conf");
    assert.equal(collect.statement.kind, "collect");
    assert.equal(collect.statement.path.range.start.line, 7);
  });

  it("an evaluation holds no syntax tree until a location is asked for, and then reports the same location", () => {
    const root = writeTree({ "metro.conf": "[collect ./a.conf]\n", "a.conf": "[section s]\nx: 1\ny: $[s/x]\nx: 2\n" });
    const workspace = new Workspace();
    const ctx = evaluateContext({ config: join(root, "metro.conf"), args: {} }, { workspace });
    // The duplicate is fatal: its location comes from the tree, parsed again for it.
    assert.equal(ctx.fatal?.code, "metro/duplicate-definition");
    assert.deepEqual(ctx.fatal?.range?.start, { line: 3, character: 0, offset: 27 });
    assert.deepEqual(ctx.fatal?.related?.[0].range.start, { line: 1, character: 0, offset: 12 });
    const clean = writeTree({ "metro.conf": "[collect ./a.conf]\n", "a.conf": "[section s]\nx: 1\ny: $[s/x]\n" });
    const w2 = new Workspace();
    const c2 = evaluateContext({ config: join(clean, "metro.conf"), args: {} }, { workspace: w2 });
    assert.equal(c2.get("s/y"), "1");
    const file = w2.getFile(join(clean, "a.conf"))!;
    assert.equal((file as unknown as { tree: MetroFile | null }).tree, null, "the evaluation kept a syntax tree");
    assert.deepEqual(c2.definitions("s/y")[0].statement.name.range.start, { line: 2, character: 0, offset: 17 });
    assert.notEqual((file as unknown as { tree: MetroFile | null }).tree, null);
  });
});
