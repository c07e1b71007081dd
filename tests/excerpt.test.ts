// Messages quote a bounded excerpt of the text they name (language/excerpt.ts):
// a value, name, condition or path of 100 KB makes a message of a few hundred
// characters, in the evaluator, in `check` (text, JSON and SARIF) and in `get`.
// (The language server's diagnostics: tests/system/server-params.test.ts.)

import assert from "node:assert/strict";
import { join } from "node:path";
import { PROJECT } from "./support/shared";
import { evaluateContext } from "../engine/evaluate";
import { checkPlainPath } from "../engine/stage-builder/paths";
import { EXCERPT_CHARS, excerpt, excerptList, quote, quoteJson, quotePath } from "../language";
import { runCli } from "./support/run-cli";
import { removeTempDirs, tempDir, writeTree } from "./support/trees";

const KB100 = 100_000;
/** The mark a cut text of 100,000 characters ends with. */
const MARK = "(100,000 characters)";

after(() => removeTempDirs());

describe("excerpt: bounded quotes of user text", () => {
  it("keeps a short text whole and cuts a long one to its first characters, saying how long it is", () => {
    assert.equal(excerpt("abc"), "abc");
    assert.equal(quote("abc"), "`abc`");
    assert.equal(quote("abc", '"'), '"abc"');
    assert.equal(quoteJson('a"b'), '"a\\"b"');
    const long = "x".repeat(KB100);
    assert.equal(excerpt(long), "x".repeat(EXCERPT_CHARS) + "… " + MARK);
    assert.equal(quote(long), "`" + "x".repeat(EXCERPT_CHARS) + "…` " + MARK);
    assert.equal(quoteJson(long), JSON.stringify("x".repeat(EXCERPT_CHARS) + "…") + " " + MARK);
    assert.equal(quote("x".repeat(EXCERPT_CHARS)), "`" + "x".repeat(EXCERPT_CHARS) + "`");
    // A path keeps more of itself (real paths are long), and is bounded too.
    const path = "/" + "d/".repeat(100);
    assert.equal(quotePath(path), JSON.stringify(path));
    assert.ok(quotePath("/" + "p".repeat(KB100)).length < 400);
  });

  it("never splits a surrogate pair, and names at most ten items of a list", () => {
    const text = "x".repeat(EXCERPT_CHARS - 1) + "😀".repeat(10);
    const cut = excerpt(text);
    assert.ok(cut.startsWith("x".repeat(EXCERPT_CHARS - 1) + "…"), cut.slice(0, 120));
    assert.equal(excerptList(["a", "b"], " -> "), "a -> b");
    const many = Array.from({ length: 50_000 }, (_, i) => `name${i}`);
    assert.equal(excerptList(many, " -> "), many.slice(0, 10).join(" -> ") + " -> … (50,000 in all)");
  });
});

describe("excerpt: messages about a value of 100 KB", () => {
  const big = "v".repeat(KB100);
  const name = "n".repeat(KB100);
  const tree = () =>
    writeTree({
      "metro.conf": [
        `unterminated: $[${big}`,
        `undefined: $[${name}]`,
        `modifier: $[a:${big}]`,
        `[when ${big} is]`,
        `x: 1`,
        `[when]`,
        `[collect ./${name}]`,
        `${name}: 1`,
        `${name}: 2`,
        ``,
      ].join("\n"),
    });

  it("the evaluator's error on an unterminated reference quotes an excerpt of the value", () => {
    const root = writeTree({ "metro.conf": `x: a $[${big}\n` });
    const ctx = evaluateContext({ config: join(root, "metro.conf"), args: {} }, { allowExec: false });
    const r = ctx.tryGet("x");
    assert.ok(r.error, JSON.stringify(r).slice(0, 200));
    assert.equal(r.error.code, "metro/unterminated-reference");
    assert.ok(r.error.message.length < 300, `${r.error.message.length} characters`);
    assert.ok(r.error.message.includes(`"$[" without a closing "]" in "a $[vvvv`), r.error.message);
    assert.ok(r.error.message.endsWith("(100,004 characters)"), r.error.message);
  });

  it("check's findings stay short in text, JSON and SARIF, and still say what they are about", async () => {
    const root = tree();
    const conf = join(root, "metro.conf");
    const text = await runCli(["check", "--config", conf]);
    assert.equal(text.code, 1, text.err.slice(0, 500));
    const lines = (text.out + text.err).split("\n").filter((l) => l !== "");
    assert.ok(lines.length >= 4, text.out.slice(0, 2000));
    for (const l of lines) assert.ok(l.length < 1000, `a line of ${l.length} characters: ${l.slice(0, 300)}`);
    const all = text.out + text.err;
    assert.ok(all.length < 20_000, `${all.length} characters of output`);
    // Each cut text says how long it was.
    assert.match(all, /\(100,0\d\d characters\)/);
    for (const format of ["json", "sarif"]) {
      const r = await runCli(["check", "--format", format, "--config", conf]);
      assert.ok(r.out.length < 30_000, `--format ${format}: ${r.out.length} characters`);
      const messages: string[] = [];
      JSON.stringify(JSON.parse(r.out), (k, v) => {
        if ((k === "message" || k === "text") && typeof v === "string") messages.push(v);
        return v;
      });
      assert.ok(messages.length >= 4, `--format ${format}: ${messages.length} messages`);
      for (const m of messages) assert.ok(m.length < 1000, `--format ${format}: a message of ${m.length} characters`);
    }
  });

  it("get's error on a key whose value cannot be expanded stays short", async () => {
    const root = writeTree({ "metro.conf": `x: $[${name}]\n` });
    const r = await runCli(["get", "--config", join(root, "metro.conf"), "x"]);
    assert.equal(r.code, 1);
    assert.ok(r.err.length < 1000, `${r.err.length} characters: ${r.err.slice(0, 300)}`);
    assert.match(r.err, /"nnnn+…" \(100,000 characters\) is not defined/);
  });
});

describe("excerpt: the builder's errors about a path or target of 100 KB", () => {
  for (const [key, value] of [
    ["path/mirror", "/" + "m".repeat(KB100)],
    ["target/arch_desc", "a".repeat(KB100)],
    ["target", "s".repeat(KB100)],
  ]) {
    it(`build --dry-run with ${key} of 100 KB stops with a short message naming it`, async () => {
      const base = tempDir("metro-excerpt-");
      const r = await runCli(["build", "-c", join(PROJECT, "examples", "metro.conf"), "--dry-run", join(base, "plan"),
        "target:", "stage3", "target/arch_desc:", "x86-64bit", "path/mirror:", join(base, "m"), "path/tmp:", join(base, "t"), `${key}:`, value]);
      assert.equal(r.code, 2, r.err.slice(0, 500));
      for (const l of (r.out + r.err).split("\n")) assert.ok(l.length < 1000, `a line of ${l.length} characters: ${l.slice(0, 300)}`);
      assert.match(r.err, /\(100,\d{3} characters\)/);
    });
  }
});

describe("excerpt: a configured path longer than Linux takes", () => {
  it("is a configuration error naming the key, with an excerpt of the path", () => {
    checkPlainPath("path/tmp", "/" + "t".repeat(4094));
    assert.throws(
      () => checkPlainPath("path/tmp", "/" + "t".repeat(KB100)),
      (e: Error) => e.message.length < 500 && /^path\/tmp is "\/t+…" \(100,001 characters\), longer than the 4,095 characters Linux takes in a path$/.test(e.message),
    );
  });
});

