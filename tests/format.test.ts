// The formatter: fixtures (tests/fixtures/format/NAME.conf formatted is
// NAME.conf.expected; `npm run test:update` rewrites the expectations), the
// safety rule over every conformance case (every Metro file formatted, every
// context's dump identical), idempotence, range formatting, random input that
// must never lose meaning, `metro-engine fmt` through main(), and the
// server's formatting and quick fixes (in process; tests/system/ runs the
// executables).

import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { dumpContexts } from "../cli/main";
import { writeInPlace } from "../cli/commands/fmt";
import { applyEdits, formatEdits, formatText, parseMetro, sameMeaning } from "../language";
import { StdioClient, uriOf } from "../server/testing/stdio-client";
import { expectFixture, fixtureNames, FIXTURES } from "./support/fixtures";
import { runCli } from "./support/run-cli";
import { caseNames, haveShared, materialize, walkFiles } from "./support/shared";

describe("formatter: fixtures", () => {
  const inputs = fixtureNames("format", ".conf");
  it("has fixtures", () => assert.ok(inputs.length >= 5));
  for (const name of inputs) {
    it(name, () => {
      const input = readFileSync(join(FIXTURES, "format", name), "utf8");
      const got = formatText(input);
      expectFixture(join(FIXTURES, "format", name + ".expected"), got);
      assert.equal(formatText(got), got, "formatting twice changes nothing");
      assert.ok(sameMeaning(parseMetro(input), parseMetro(got)));
    });
  }
});

describe("formatter: rules", () => {
  it("never touches a value, a block body or an ignored line", () => {
    const text = "a:  x\nb: y  # c\nkey:value\nfoo bar\nm: [\n   kept   \n\n]\n";
    assert.equal(formatText(text), text);
  });

  it("tidies annotations, indentation, the closing bracket and blank lines", () => {
    assert.equal(formatText("\n\n  a: 1  \n\n\n[ collect   x.conf ]\nm: [\n  body\n    ]\nz: 2\n"), "a: 1\n\n[collect x.conf]\nm: [\n  body\n]\n\nz: 2\n");
  });

  it("puts a blank line around [section] but keeps the comments above it attached", () => {
    assert.equal(formatText("a: 1\n# about s\n[section s]\nb: 2\n"), "a: 1\n\n# about s\n[section s]\n\nb: 2\n");
  });

  it("leaves the last line alone when the file has no final newline (metro drops its last character)", () => {
    assert.equal(formatText("a: 1  \nb: 2  "), "a: 1\nb: 2  ");
    assert.equal(formatText("m: [\nx\n  ]"), "m: [\nx\n  ]");
  });

  it("does not turn a word into a comment when it re-spaces an annotation", () => {
    // `[when a<TAB>#b]` is the condition `a #b`; with a space the `#b]` would start a comment and metro would ignore the line.
    const text = "[when a\t#b]\nx: 1\n";
    assert.equal(formatText(text), text);
  });

  it("keeps CRLF line endings", () => {
    assert.equal(formatText("a: 1 \r\n\r\n\r\nb: 2\r\n"), "a: 1\r\n\r\nb: 2\r\n");
  });

  it("range formatting returns only the edits of the lines in the range", () => {
    const file = parseMetro("  a: 1\n  b: 2\n  c: 3\n");
    const all = formatEdits(file);
    const some = formatEdits(file, { startLine: 1, endLine: 1 });
    assert.equal(all.length, 3);
    assert.deepEqual(some, [all[1]]);
    assert.equal(applyEdits(file.text, some), "  a: 1\nb: 2\n  c: 3\n");
  });

  it("keeps what random files evaluate to (the engine's dump, not the formatter's own check) and is idempotent on them", function () {
    this.timeout(120000);
    const pieces = ["a: x", "  b:  y  ", "c: z # c", "r: $[a]-$[b]", "\t[ section  s ]", "[when a  is x]", "[when *]", "[collect  ./f.conf  when  a ]", "[collect  ./f.conf ]", "[collect x", "key:value", "k:\tv",
      "m: [", "  body $[a] ", "]", "   ]  ", "", "   ", "# note", "[section s]  # c", "[when a\t#b]", "[option  parse/lax ]", "foo bar", "d: [  # x", "\u00a0e: 1\u00a0", "q: $[s/x:zap]"];
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const eols = ["\n", "\n", "\n", "\r\n", "\r"];
    const dir = mkdtempSync(join(tmpdir(), "metro-fmt-random-"));
    const config = join(dir, "metro.conf");
    writeFileSync(join(dir, "f.conf"), "f: from f\n");
    const dump = (text: string) => {
      writeFileSync(config, text);
      return canonical(dumpContexts([{ config, args: {} }], false));
    };
    let changed = 0;
    const rounds = 600;
    try {
      for (let i = 0; i < rounds; i++) {
        const n = 1 + rand(12);
        let text = "";
        for (let j = 0; j < n; j++) text += pieces[rand(pieces.length)] + (j === n - 1 && rand(4) === 0 ? "" : eols[rand(eols.length)]);
        const out = formatText(text);
        assert.equal(formatText(out), out, `not idempotent for ${JSON.stringify(text)}`);
        if (out === text) continue;
        changed++;
        assert.equal(dump(out), dump(text), `the dump changed for ${JSON.stringify(text)} -> ${JSON.stringify(out)}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assert.ok(changed > rounds / 3, `only ${changed} of ${rounds} random files were changed: the test would prove little`);
  });
});

/** Every file of a materialized case except the ones a context reads as `<< FILE` data. */
function metroFilesOf(root: string, dataFiles: Set<string>): string[] {
  return walkFiles(root).filter((f) => !dataFiles.has(f));
}

function canonical(results: ReturnType<typeof dumpContexts>): string {
  return JSON.stringify(results.map((r) => r.result));
}

describe("formatter: safety over the conformance cases", function () {
  this.timeout(300000);
  for (const name of haveShared() ? caseNames() : []) {
    it(`formatting every file of ${name} leaves every context's dump unchanged`, () => {
      const c = materialize(name);
      try {
        const specs = c.contexts.map((x) => ({ config: join(c.root, x.entry), args: x.args }));
        const before = dumpContexts(specs, false);
        const data = new Set<string>();
        for (const r of before) for (const f of r.ctx.filesRead) if (!r.ctx.collected.includes(f)) data.add(f);
        let changed = 0;
        for (const f of metroFilesOf(c.root, data)) {
          let text: string;
          try {
            text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(readFileSync(f));
          } catch {
            continue; // not UTF-8: metro cannot read it, and fmt refuses it
          }
          const out = formatText(text);
          assert.equal(formatText(out), out, `formatting ${f} twice changes it again`);
          if (out !== text) {
            writeFileSync(f, out);
            changed++;
          }
        }
        const after = dumpContexts(specs, false);
        assert.equal(canonical(after), canonical(before));
        if (name === "funtoo-metro") assert.ok(changed > 0, "the funtoo tree has files the formatter changes");
      } finally {
        rmSync(dirname(c.root), { recursive: true, force: true });
      }
    });
  }
  if (!haveShared()) it("(skipped: ../shared is not present)", function () { this.skip(); });
});

describe("formatter: metro-engine fmt", () => {
  let dir = "";
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "metro-fmt-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const run = (args: string[]) => runCli(["fmt", ...args], dir);

  it("--check lists the files that would change and exits 1; without it rewrites them in place", async () => {
    writeFileSync(join(dir, "a.conf"), "  a: 1\n");
    writeFileSync(join(dir, "b.conf"), "b: 2\n");
    let r = await run(["--check", "a.conf", "b.conf"]);
    assert.equal(r.code, 1, r.err);
    assert.equal(r.out, "a.conf\n");
    assert.equal(readFileSync(join(dir, "a.conf"), "utf8"), "  a: 1\n");
    r = await run(["a.conf", "b.conf"]);
    assert.equal(r.code, 0, r.err);
    assert.equal(readFileSync(join(dir, "a.conf"), "utf8"), "a: 1\n");
    r = await run(["--check", "a.conf", "b.conf"]);
    assert.deepEqual(r, { code: 0, out: "", err: "" });
    assert.deepEqual(readdirSync(dir).sort(), ["a.conf", "b.conf"], "no temporary file is left beside them");
  });

  it("a missing file or one that is not UTF-8 is an error with its name; the others are still formatted", async () => {
    writeFileSync(join(dir, "a.conf"), "  a: 1\n");
    writeFileSync(join(dir, "latin1.conf"), Buffer.from([0x20, 0x61, 0x3a, 0x20, 0xe9, 0x0a]));
    const r = await run(["nope.conf", "latin1.conf", "a.conf"]);
    assert.equal(r.code, 1);
    assert.match(r.err, /nope\.conf: /);
    assert.match(r.err, /latin1\.conf:1:5: not valid UTF-8: metro cannot read it; left as it is/);
    assert.doesNotMatch(r.err, /\n\s+at /);
    assert.equal(readFileSync(join(dir, "a.conf"), "utf8"), "a: 1\n");
    assert.deepEqual([...readFileSync(join(dir, "latin1.conf"))], [0x20, 0x61, 0x3a, 0x20, 0xe9, 0x0a]);
  });

  it("a folder stands for the Metro files below it, never fsroot/ or other files", async () => {
    mkdirSync(join(dir, "tree", "etc", "builds", "x", "fsroot", "etc"), { recursive: true });
    mkdirSync(join(dir, "tree", "targets"), { recursive: true });
    const messy = "  a: 1\n";
    for (const f of ["tree/metro.conf", "tree/targets/t.spec", "tree/etc/builds/x/fsroot/etc/x.conf", "tree/README.rst", "tree/etc/builds/x/notes.txt"]) writeFileSync(join(dir, f), messy);
    const r = await run(["--check", "tree"]);
    assert.equal(r.code, 1, r.err);
    assert.deepEqual(r.out.trim().split("\n"), ["tree/metro.conf", "tree/targets/t.spec"]);
    assert.equal((await run(["tree"])).code, 0);
    assert.equal(readFileSync(join(dir, "tree/targets/t.spec"), "utf8"), "a: 1\n");
    assert.equal(readFileSync(join(dir, "tree/README.rst"), "utf8"), messy);
    assert.equal(readFileSync(join(dir, "tree/etc/builds/x/fsroot/etc/x.conf"), "utf8"), messy);
  });

  it("a folder never leads fmt to a file outside it through a link; a link named as FILE is written through", async () => {
    mkdirSync(join(dir, "tree", "etc"), { recursive: true });
    mkdirSync(join(dir, "outside"));
    const messy = "  a: 1\n";
    writeFileSync(join(dir, "outside", "victim.conf"), messy);
    writeFileSync(join(dir, "tree", "etc", "own.conf"), messy);
    writeFileSync(join(dir, "tree", "etc", "real.conf"), messy);
    symlinkSync("../../outside/victim.conf", join(dir, "tree", "etc", "out.conf"));
    symlinkSync("real.conf", join(dir, "tree", "etc", "in.conf"));
    const r = await run(["--check", "tree"]);
    assert.deepEqual(r.out.trim().split("\n"), ["tree/etc/in.conf", "tree/etc/own.conf", "tree/etc/real.conf"]);
    assert.equal((await run(["tree"])).code, 0);
    assert.equal(readFileSync(join(dir, "outside", "victim.conf"), "utf8"), messy);
    assert.equal(readFileSync(join(dir, "tree", "etc", "own.conf"), "utf8"), "a: 1\n");
    assert.equal(readFileSync(join(dir, "tree", "etc", "real.conf"), "utf8"), "a: 1\n");
    assert.equal((await run(["tree/etc/out.conf"])).code, 0);
    assert.equal(readFileSync(join(dir, "outside", "victim.conf"), "utf8"), "a: 1\n");
  });

  it("a folder's Metro files that cannot be read are named and fail the run", async () => {
    mkdirSync(join(dir, "tree"));
    spawnSync("mkfifo", [join(dir, "tree", "fifo.conf")]);
    writeFileSync(join(dir, "tree", "big.conf"), "a".repeat(2 * 1024 * 1024));
    const r = await run(["--check", "tree"]);
    assert.equal(r.code, 1);
    assert.equal(r.out, "");
    assert.match(r.err, /^tree\/big\.conf: is \S+ \S+, more than the 1 MiB .*; left as it is\ntree\/fifo\.conf: is a FIFO, not a regular file; left as it is\n$/);
  });

  it("a read-only file is left as it is and named (also for root); the others are formatted", async () => {
    writeFileSync(join(dir, "ro.conf"), "  a: 1\n");
    chmodSync(join(dir, "ro.conf"), 0o444);
    writeFileSync(join(dir, "rw.conf"), "  b: 1\n");
    const r = await run(["ro.conf", "rw.conf"]);
    assert.equal(r.code, 1);
    assert.equal(r.err, "ro.conf: is read-only; left as it is (make it writable to format it)\n");
    assert.equal(readFileSync(join(dir, "ro.conf"), "utf8"), "  a: 1\n");
    assert.equal(readFileSync(join(dir, "rw.conf"), "utf8"), "b: 1\n");
  });

  it("a formatted file keeps its mode and, formatted by root, its owner", async function () {
    writeFileSync(join(dir, "a.conf"), "  a: 1\n");
    chmodSync(join(dir, "a.conf"), 0o640);
    if (process.getuid?.() === 0) chownSync(join(dir, "a.conf"), 65534, 65534);
    const before = statSync(join(dir, "a.conf"));
    assert.equal((await run(["a.conf"])).code, 0);
    const after = statSync(join(dir, "a.conf"));
    assert.equal(readFileSync(join(dir, "a.conf"), "utf8"), "a: 1\n");
    assert.deepEqual([after.mode & 0o7777, after.uid, after.gid], [0o640, before.uid, before.gid]);
  });

  it("a file changed after fmt read it is left as it is (the change is not lost), and nothing is left beside it", () => {
    writeFileSync(join(dir, "a.conf"), "  a: 1\n  b: 2\n");
    // fmt read "  a: 1\n" and formatted it; someone has since added a line.
    assert.throws(() => writeInPlace(join(dir, "a.conf"), "a: 1\n", Buffer.from("  a: 1\n")), /^Error: changed while it was being formatted; left as it is \(run fmt again\)$/);
    assert.equal(readFileSync(join(dir, "a.conf"), "utf8"), "  a: 1\n  b: 2\n");
    assert.deepEqual(readdirSync(dir), ["a.conf"]);
    writeInPlace(join(dir, "a.conf"), "a: 1\nb: 2\n", Buffer.from("  a: 1\n  b: 2\n"));
    assert.equal(readFileSync(join(dir, "a.conf"), "utf8"), "a: 1\nb: 2\n");
  });

  it("never writes through a link at the name of its temporary file", async () => {
    writeFileSync(join(dir, "victim.txt"), "keep me\n");
    writeFileSync(join(dir, "a.conf"), "  a: 1\n");
    // runCli runs fmt in this process: its temporary name holds this PID.
    symlinkSync(join(dir, "victim.txt"), join(dir, `.a.conf.fmt-${process.pid}`));
    assert.equal((await run(["a.conf"])).code, 0);
    assert.equal(readFileSync(join(dir, "victim.txt"), "utf8"), "keep me\n");
    assert.equal(readFileSync(join(dir, "a.conf"), "utf8"), "a: 1\n");
    assert.deepEqual(readdirSync(dir).sort(), ["a.conf", "victim.txt"]);
  });

  it("no FILE, or - mixed with files, is a usage error", async () => {
    assert.equal((await run([])).code, 2);
    assert.equal((await run(["-", "a.conf"])).code, 2);
  });
});

describe("formatter: language server", function () {
  this.timeout(30000);
  let dir = "";
  let client: StdioClient;
  const TEXT = "[ section  s ]\n  a: 1\nkey:value\nfoo bar\nb: 2";
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "metro-fmt-ls-"));
    writeFileSync(join(dir, "metro.conf"), TEXT);
    client = await StdioClient.start({ root: dir });
    client.open(join(dir, "metro.conf"));
    await client.settled();
  });
  after(async () => {
    await client?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  type Edit = { range: { start: { line: number; character: number }; end: { line: number; character: number } }; newText: string };
  const uri = () => uriOf(join(dir, "metro.conf"));
  const apply = (text: string, edits: Edit[]) => {
    const lines = text.split("\n");
    const offset = (p: { line: number; character: number }) => lines.slice(0, p.line).reduce((n, l) => n + l.length + 1, 0) + p.character;
    let out = text;
    for (const e of [...edits].sort((x, y) => offset(y.range.start) - offset(x.range.start))) out = out.slice(0, offset(e.range.start)) + e.newText + out.slice(offset(e.range.end));
    return out;
  };

  it("answers textDocument/formatting with the result of metro-engine fmt", async () => {
    const edits = await client.request<Edit[]>("textDocument/formatting", { textDocument: { uri: uri() }, options: { tabSize: 2, insertSpaces: true } });
    assert.equal(apply(TEXT, edits), formatText(TEXT));
    assert.equal(apply(TEXT, edits), "[section s]\n\na: 1\nkey:value\nfoo bar\nb: 2");
  });

  it("answers rangeFormatting with the edits of the selected lines only", async () => {
    const edits = await client.request<Edit[]>("textDocument/rangeFormatting", {
      textDocument: { uri: uri() },
      range: { start: { line: 1, character: 0 }, end: { line: 2, character: 0 } },
      options: { tabSize: 2, insertSpaces: true },
    });
    assert.equal(apply(TEXT, edits), "[ section  s ]\n\na: 1\nkey:value\nfoo bar\nb: 2");
  });

  it("offers quick fixes for a missing final newline and for lines metro ignores", async () => {
    await client.waitFor(() => client.diagnosticsOf(join(dir, "metro.conf")).some((d) => d.code === "metro/no-final-newline"), 10000, "diagnostics");
    const diags = client.diagnosticsOf(join(dir, "metro.conf"));
    const ask = (code: string, nth = 0) => {
      const d = diags.filter((x) => x.code === code)[nth];
      assert.ok(d, `no ${code} in ${JSON.stringify(diags)}`);
      return client.request<{ title: string; edit: { changes: Record<string, Edit[]> } }[]>("textDocument/codeAction", { textDocument: { uri: uri() }, range: d.range, context: { diagnostics: [d] } });
    };
    const newline = await ask("metro/no-final-newline");
    assert.equal(newline[0].title, "Add a newline at the end of the file");
    assert.equal(apply(TEXT, newline[0].edit.changes[uri()]), TEXT + "\n");
    const keyValue = await ask("metro/ignored-line", 0);
    assert.deepEqual(keyValue.map((a) => a.title), ["Insert a space after `key:` (metro then defines key)", "Comment out the line (metro ignores it anyway)", "Delete the line"]);
    assert.match(apply(TEXT, keyValue[0].edit.changes[uri()]), /\nkey: value\n/);
    const stray = await ask("metro/ignored-line", 1);
    assert.equal(stray[0].title, "Comment out the line (metro ignores it anyway)");
    const commented = apply(TEXT, stray[0].edit.changes[uri()]);
    assert.match(commented, /\n# foo bar\n/);
    // Commenting out an ignored line changes nothing metro reads.
    assert.equal(JSON.stringify(parseMetro(commented).statements.filter((x) => x.kind !== "blank" && x.kind !== "ignored").map((x) => x.kind)), JSON.stringify(parseMetro(TEXT).statements.filter((x) => x.kind !== "blank" && x.kind !== "ignored").map((x) => x.kind)));
  });
});
