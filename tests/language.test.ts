import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  parseMetro,
  parseMetroBytes,
  printMetro,
  type CollectAnnotation,
  type Diagnostic,
  type MetroFile,
  type MultiLineElement,
  type ReferencePart,
  type SingleLineElement,
  type Statement,
} from "../language";
import { CASES, haveShared, requireShared, walkFiles } from "./support/shared";

function only<K extends Statement["kind"]>(file: MetroFile, kind: K): Extract<Statement, { kind: K }>[] {
  return file.statements.filter((s) => s.kind === kind) as Extract<Statement, { kind: K }>[];
}
function single(text: string): SingleLineElement {
  return only(parseMetro(text), "single")[0];
}
function refs(el: SingleLineElement): ReferencePart[] {
  return el.value.parts.filter((p): p is ReferencePart => p.kind === "reference");
}
function codes(text: string): string[] {
  return parseMetro(text).diagnostics.map((d) => d.code);
}
function slice(text: string, r: { start: { offset: number }; end: { offset: number } }): string {
  return text.slice(r.start.offset, r.end.offset);
}

describe("language: lines and single-line elements", () => {
  it("keeps inner runs of spaces and drops a comment after one space", () => {
    assert.equal(single("a:  b\n").value.text, " b");
    assert.equal(single("a: b # c\n").value.text, "b");
    assert.equal(single("a: b  # c\n").value.text, "b ");
    assert.equal(single("a: b#c\n").value.text, "b#c");
    assert.equal(single("a:\n").value.text, "");
  });

  it("qualifies names under a section and records the section", () => {
    const f = parseMetro("[section path]\nmirror: /m\n: /x\n");
    const [m, self] = only(f, "single");
    assert.equal(m.name.qualified, "path/mirror");
    assert.equal(m.name.recordedSection, "path");
    assert.equal(self.name.qualified, "path");
    assert.equal(self.name.recordedSection, null);
  });

  it("gives exact ranges for names, values and references", () => {
    const text = "[section s]\nkey: a $[b/c:zap] $[:d?] $[]\n";
    const el = single(text);
    assert.equal(slice(text, el.name.range), "key");
    assert.equal(el.name.range.start.line, 1);
    assert.equal(el.name.range.start.character, 0);
    assert.equal(slice(text, el.value.range), "a $[b/c:zap] $[:d?] $[]");
    const [r1, r2, r3] = refs(el);
    assert.equal(slice(text, r1.range), "$[b/c:zap]");
    assert.equal(slice(text, r1.nameRange), "b/c");
    assert.equal(slice(text, r1.modifierRange!), "zap");
    assert.deepEqual([r1.form, r1.modifier, r1.boolean], ["absolute", "zap", false]);
    assert.deepEqual([r2.form, r2.name, r2.boolean], ["relative", "d", true]);
    assert.equal(slice(text, r2.nameRange), "d");
    assert.equal(r3.form, "section");
    assert.equal(r1.range.start.character, 7);
  });

  it("copies $[[ literally in single-line values", () => {
    const el = single("a: $[[foo]] $[b]\n");
    assert.deepEqual(refs(el).map((r) => r.inner), ["b"]);
  });

  it("recognises << file values", () => {
    const text = "a: << $[path]/f\n";
    const el = single(text);
    assert.ok(el.value.file);
    assert.equal(slice(text, el.value.file!.pathRange), "$[path]/f");
    assert.equal(single("a: <<  /f\n").value.file, null);
  });

  it("reports unterminated references and bad modifiers", () => {
    assert.deepEqual(codes("a: $[b\n"), ["metro/unterminated-reference"]);
    assert.deepEqual(codes("a: $[b:zip]\n"), ["metro/unknown-modifier"]);
    assert.deepEqual(codes("a: $[b:zap:lax]\n"), ["metro/repeated-modifier"]);
    assert.deepEqual(codes("a: $[u?:zap]\n"), [], "a zap reference to an element named u?");
  });

  it("warns about lines metro ignores", () => {
    assert.deepEqual(codes("foo:bar\n"), ["metro/ignored-line"]);
    assert.deepEqual(codes("foo bar\n"), ["metro/ignored-line"]);
    assert.deepEqual(codes("key:\tvalue\n"), ["metro/ignored-line"]);
    assert.equal(only(parseMetro("foo:bar\n"), "ignored").length, 1);
  });

  it("warns about a [ that does not start a block", () => {
    assert.deepEqual(codes("key:  [\n"), ["metro/bracket-lookalike"]);
    assert.deepEqual(codes("key: [  # c\n"), ["metro/bracket-lookalike"]);
    assert.equal(only(parseMetro("key: [ # note\n]\n"), "multi").length, 1);
  });
});

describe("language: multi-line elements", () => {
  it("takes lines verbatim until a line that is only ]", () => {
    const text = "steps: [\n  echo $[a] # not a comment\n\n$[[other]]\n  ]  \n";
    const f = parseMetro(text);
    const m = only(f, "multi")[0];
    assert.deepEqual(m.rawLines, ["  echo $[a] # not a comment", "", "$[[other]]"]);
    assert.equal(m.body[0].kind, "text");
    assert.equal(m.body[2].kind, "multi-reference");
    assert.ok(m.close);
    assert.equal(f.diagnostics.length, 0);
  });

  it("groups <?python blocks and multi-line references", () => {
    const m = only(parseMetro("v: [\n<?python\nprint(1)\n?>\n$[[steps/$[target]]]\n$[[x]] $[[y]]\n$[[x]]  $[[y]]\n]\n"), "multi")[0] as MultiLineElement;
    assert.deepEqual(m.body.map((b) => b.kind), ["python", "multi-reference", "multi-reference", "text"]);
    const oneSpace = m.body[2];
    assert.ok(oneSpace.kind === "multi-reference" && oneSpace.inner.text === "x]] $[[y", "one space: a reference to the name x]] $[[y");
    const py = m.body[0];
    assert.ok(py.kind === "python" && py.code.length === 1 && py.end !== null);
  });

  it("reports an unterminated block as fatal with its range", () => {
    const text = "a: b\nsteps: [\necho\n";
    const f = parseMetro(text);
    assert.equal(f.fatal?.code, "metro/unterminated-block");
    assert.equal(f.fatal?.range.start.line, 1);
    assert.equal(printMetro(f), text);
  });
});

describe("language: annotations", () => {
  it("parses section, when, collect and option", () => {
    const f = parseMetro("[section a when x is 1]\n[when *]\n[collect ./f when y]\n[option parse/lax]\n[when z]\n[collect $[p]/g]\n");
    const sec = only(f, "section")[0];
    assert.equal(sec.name, "a");
    assert.equal(sec.condition, "x is 1");
    assert.equal(only(f, "when")[0].condition, null);
    const [c1, c2] = only(f, "collect") as CollectAnnotation[];
    assert.deepEqual([c1.path.text, c1.condition, c1.conditionSource], ["./f", "y", "own"]);
    assert.deepEqual([c2.path.text, c2.condition, c2.conditionSource], ["$[p]/g", "z", "surrounding"]);
    assert.equal(only(f, "option")[0].option, "parse/lax");
    assert.equal(f.diagnostics.length, 0);
    assert.equal(f.laxAtEnd, true);
  });

  it("re-joins condition words with single spaces", () => {
    assert.equal(only(parseMetro("[when a  is  x]\n"), "when")[0].condition, "a is x");
  });

  it("reports every annotation metro rejects, as fatal", () => {
    const bad: [string, string][] = [
      ["[]\n", "metro/bad-annotation"],
      ["[section]\n", "metro/bad-annotation"],
      ["[section a b]\n", "metro/bad-annotation"],
      ["[option]\n", "metro/bad-annotation"],
      ["[option parse/loose]\n", "metro/bad-annotation"],
      ["[foo]\n", "metro/unknown-annotation"],
      ["[collect]\n", "metro/collect-arity"],
      ["[collect a b]\n", "metro/collect-arity"],
      ["[collect a when]\n", "metro/collect-arity"],
      ["[collect a x y]\n", "metro/collect-arity"],
      ["[when c]\n[collect a when d]\n", "metro/collect-arity"],
      ["[section s]  # c\n", "metro/annotation-comment"],
    ];
    for (const [text, code] of bad) {
      const f = parseMetro(text);
      assert.equal(f.fatal?.code, code, text);
      assert.equal(f.fatal?.severity, "error");
    }
    assert.equal(parseMetro("[section s] # c\n").fatal, null);
  });

  it("reports invalid conditions", () => {
    assert.deepEqual(codes("[when a b]\n"), ["metro/invalid-condition"]);
    assert.deepEqual(codes("[when a is b c]\n"), []);
  });
});

describe("language: file-level diagnostics and losslessness", () => {
  it("warns about CRLF, a byte-order mark and a missing final newline, and round-trips them", () => {
    for (const text of ["a: b\r\nc: d\r\n", "\ufeffa: b\n", "a: b\nc: d", "a: b\rc: d\r"]) {
      assert.equal(printMetro(parseMetro(text)), text);
    }
    assert.ok(codes("a: b\r\n").includes("metro/line-endings"));
    assert.ok(codes("\ufeffa: b\n").includes("metro/byte-order-mark"));
    assert.ok(codes("a: b").includes("metro/no-final-newline"));
    assert.equal(single("c: hello").value.text, "hello", "the last line is read whole");
  });

  it("reports invalid UTF-8 with a location", () => {
    const f = parseMetroBytes(Uint8Array.from([0x61, 0x3a, 0x20, 0x62, 0x0a, 0x63, 0x3a, 0x20, 0xff, 0x0a]));
    assert.equal(f.fatal?.code, "metro/invalid-utf8");
    assert.equal(f.fatal?.range.start.line, 1);
  });

  it("never throws on odd input", () => {
    for (const text of ["", "\n", "]", "[", "$[", "a: $[", "x: [\n]\n]\n", "[ section  a ]\n", ": [\n]\n", "\r", "a::\n"]) {
      const f = parseMetro(text);
      assert.equal(printMetro(f), text);
    }
  });
});

describe("language: the funtoo corpus", () => {
  const corpus = join(CASES, "funtoo-metro", "files", "corpus");

  it("parses every corpus file with zero errors and prints it back byte for byte", function () {
    requireShared(this);
    const files = walkFiles(corpus);
    assert.ok(files.length > 50);
    for (const f of files) {
      const bytes = readFileSync(f);
      const ast = parseMetroBytes(bytes);
      const errors = ast.diagnostics.filter((d: Diagnostic) => d.severity === "error");
      assert.deepEqual(errors, [], f);
      assert.equal(printMetro(ast), bytes.toString("utf8"), f);
    }
  });

  it("survives 20,000 seeded mutations of corpus files, each printed back exactly", function () {
    requireShared(this);
    this.timeout(300_000);
    const texts = walkFiles(corpus).map((f) => readFileSync(f, "utf8")).filter((t) => t.length > 0);
    let seed = 12345;
    const rand = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    const alphabet = ["$[", "]", "[", ":", " ", "\n", "\r", "\r\n", "#", "?", ":zap", "$[[", "]]", "<<", "<?python", "?>", "\t", "\ufeff", "é", "\u00a0", "[section x]", "[when a is b]", "[collect c]"];
    for (let i = 0; i < 20_000; i++) {
      let t = texts[rand(texts.length)];
      const edits = 1 + rand(4);
      for (let e = 0; e < edits; e++) {
        const at = rand(t.length + 1);
        const kind = rand(3);
        if (kind === 0) t = t.slice(0, at) + alphabet[rand(alphabet.length)] + t.slice(at);
        else if (kind === 1) t = t.slice(0, at) + t.slice(at + 1 + rand(20));
        else t = t.slice(0, at) + t.slice(rand(t.length + 1));
      }
      let ast = parseMetro(t);
      assert.equal(printMetro(ast), t);
      ast = undefined as never;
    }
  });
});

if (!haveShared()) describe("language: the funtoo corpus (shared kit absent)", () => it("is skipped", function () { this.skip(); }));
