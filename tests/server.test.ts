// The language server, feature by feature, on small trees written to
// temporary folders. Every test talks JSON-RPC to the server like an editor
// does; the server runs in this process (tests/system/ covers the bundled
// executable over stdio).

import * as assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { StdioClient, uriOf } from "../server/testing/stdio-client";

/** Writes files (path -> text, `@ROOT@` replaced by the folder) into a new temporary folder. */
export function writeTree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "metro-ls-"));
  for (const [rel, text] of Object.entries(files)) {
    const p = join(root, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, text.replaceAll("@ROOT@", root));
  }
  return root;
}

/** Position of the `nth` occurrence of `needle` in a file, plus `delta` characters. */
export function at(path: string, needle: string, delta = 0, nth = 0): { line: number; character: number } {
  const lines = readFileSync(path, "utf8").split("\n");
  let seen = 0;
  for (let i = 0; i < lines.length; i++) {
    let from = 0;
    for (;;) {
      const c = lines[i].indexOf(needle, from);
      if (c < 0) break;
      if (seen++ === nth) return { line: i, character: c + delta };
      from = c + 1;
    }
  }
  throw new Error(`${needle} not found in ${path}`);
}

const TINY: Record<string, string> = {
  "metro.conf": `[section path]

install: @ROOT@
tmp: /var/tmp/metro

[section path/mirror]

: @ROOT@/mirror

[section portage]

MAKEOPTS: -j2

[collect $[path/install]/etc/master.conf]
`,
  "etc/master.conf": `[collect ../targets/$[target].spec]
[collect builds/$[target/build]/build.conf]

[section path]

cache: $[:tmp]/cache
work: $[path/tmp]/work/$[target]

[section path/mirror]

control: $[]/control

[section steps]

run: [
#!/bin/sh
echo $[path/cache]
$[[steps/extra:lax]]
echo $[optional:zap] here
echo $[target/name:zap]
]

script: [
<?python
open("PWNED", "w").write("ran")
print("from python")
?>
]
`,
  "targets/stage3.spec": `[section target]

name: stage3-$[target/subarch]

[section source]

version: << $[path/mirror/control]/version
label: v$[source/version]

[section emerge]

packages: $[nowhere/defined] tail
`,
  "targets/stage1.spec": `[section target]

name: stage1-$[target/subarch]

[section steps]

extra: [
echo extra
]
`,
  "etc/builds/current/build.conf": `[section release]

tag: current
note: $[release/flag]
`,
  "etc/builds/dup/build.conf": `[section release]

tag: dup
tag: again
`,
  "etc/builds/next/build.conf": `[section release]

tag: next

[when release/tag is next]

flag: yes
`,
  "mirror/control/version": "2026.01\n",
};

function ctx(target: string, build = "current") {
  return { config: "metro.conf", args: { target, "target/build": build, "target/arch_desc": "x86-64bit", "target/subarch": "amd64", "target/version": "1" } };
}

async function startTiny(extra: Record<string, string> = {}, settings: unknown = [ctx("stage3"), ctx("stage1", "next")], markupFormats?: string[]) {
  const root = writeTree({ ...TINY, ...extra });
  const client = await StdioClient.start({ root, settings: { metro: { contexts: settings } }, markupFormats });
  await client.settled();
  return { root, client };
}

describe("language server: layer 1 (no context needed)", function () {
  let root: string;
  let client: StdioClient;
  before(async function () {
    ({ root, client } = await startTiny({}, []));
    // No setting, no metro-contexts.json, no targets/builds that derive well: layer 1 must still work.
  });
  after(async () => {
    await client?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it("reports parse errors, undefined names and duplicates with related locations", async () => {
    const spec = join(root, "targets/stage3.spec");
    const build = join(root, "etc/builds/dup/build.conf");
    await client.waitFor(() => client.diagnosticsOf(spec).length > 0, 5000, "stage3.spec diagnostics");
    const undef = client.diagnosticsOf(spec).find((d) => d.code === "metro/undefined-reference");
    assert.ok(undef, JSON.stringify(client.diagnosticsOf(spec)));
    assert.match(undef.message, /nowhere\/defined/);
    assert.deepEqual(undef.range.start, at(spec, "nowhere/defined"));
    const dup = client.diagnosticsOf(build).find((d) => d.code === "metro/duplicate-definition");
    assert.ok(dup);
    assert.equal(dup.severity, 1);
    assert.equal(dup.relatedInformation?.[0].location.uri, uriOf(build));
    // A broken annotation in an open, unsaved document is reported as the user types.
    client.open(spec);
    client.change(spec, { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, "[bogus thing]\n");
    await client.waitFor(() => client.diagnosticsOf(spec).some((d) => d.code === "metro/unknown-annotation"), 5000, "parse error");
  });

  it("updates other files' findings when an edit defines the missing name", async () => {
    const spec = join(root, "targets/stage3.spec");
    const build = join(root, "etc/builds/next/build.conf");
    const text = readFileSync(build, "utf8");
    client.open(build, text);
    client.change(build, null, text + "\n[section nowhere]\n\ndefined: here\n");
    await client.waitFor(() => !client.diagnosticsOf(spec).some((d) => d.code === "metro/undefined-reference"), 5000, "warning gone in another file");
    client.change(build, null, text);
    await client.waitFor(() => client.diagnosticsOf(spec).some((d) => d.code === "metro/undefined-reference"), 5000, "warning back");
    client.close(build);
  });

  it("does not warn about command-line names, :zap or :lax references", () => {
    const master = join(root, "etc/master.conf");
    const names = client.diagnosticsOf(master).filter((d) => d.code === "metro/undefined-reference").map((d) => d.message);
    assert.deepEqual(names, []);
  });

  it("goes to definition from every reference form", async () => {
    const master = join(root, "etc/master.conf");
    const conf = join(root, "metro.conf");
    // $[:tmp] in [section path] -> tmp: in metro.conf
    let defs = await client.definition(master, at(master, "$[:tmp]", 3).line, at(master, "$[:tmp]", 3).character);
    assert.deepEqual(defs.map((d) => [d.uri, d.range.start.line]), [[uriOf(conf), at(conf, "tmp:").line]]);
    // $[] in [section path/mirror] -> `: @ROOT@/mirror`
    const p = at(master, "control: $[]", 10);
    defs = await client.definition(master, p.line, p.character);
    assert.deepEqual(defs.map((d) => d.range.start.line), [at(conf, ": " + root + "/mirror").line]);
    // $[[steps/extra:lax]] -> stage1.spec
    const q = at(master, "$[[steps/extra", 5);
    defs = await client.definition(master, q.line, q.character);
    assert.deepEqual(defs.map((d) => d.uri), [uriOf(join(root, "targets/stage1.spec"))]);
    // reference inside a collect path -> path/install
    const r = at(conf, "$[path/install]", 4);
    defs = await client.definition(conf, r.line, r.character);
    assert.deepEqual(defs.map((d) => d.range.start.line), [at(conf, "install:").line]);
    // the name in a condition -> its definitions (one per build)
    const build = join(root, "etc/builds/next/build.conf");
    const c = at(build, "release/tag is", 2);
    defs = await client.definition(build, c.line, c.character);
    assert.equal(defs.length, 4); // current, next and the two in dup
    // several definitions: target/name is defined per target
    const s = at(master, "$[target/name", 4);
    defs = await client.definition(master, s.line, s.character);
    assert.equal(defs.length, 2);
  });

  it("goes from a collect path to the files it may read, and from [section x]", async () => {
    const master = join(root, "etc/master.conf");
    const p = at(master, "../targets", 2);
    const defs = await client.definition(master, p.line, p.character);
    assert.deepEqual(defs.map((d) => d.uri).sort(), [uriOf(join(root, "targets/stage1.spec")), uriOf(join(root, "targets/stage3.spec"))]);
    const conf = join(root, "metro.conf");
    const s = at(conf, "[section path/mirror]", 12);
    const sec = await client.definition(conf, s.line, s.character);
    assert.deepEqual(sec.map((d) => d.range.start.line), [at(conf, ": " + root + "/mirror").line]);
  });

  it("finds references across files and forms, and renames them", async () => {
    const conf = join(root, "metro.conf");
    const master = join(root, "etc/master.conf");
    const p = at(conf, "tmp:");
    const refs = await client.request<{ uri: string; range: { start: { line: number } } }[]>("textDocument/references", {
      textDocument: { uri: uriOf(conf) },
      position: p,
      context: { includeDeclaration: true },
    });
    const lines = refs.map((r) => `${r.uri === uriOf(conf) ? "conf" : "master"}:${r.range.start.line}`).sort();
    assert.deepEqual(lines, [`conf:${p.line}`, `master:${at(master, "$[:tmp]").line}`, `master:${at(master, "$[path/tmp]").line}`].sort());
    const edit = await client.request<{ changes: Record<string, { range: { start: { line: number; character: number } }; newText: string }[]> }>("textDocument/rename", {
      textDocument: { uri: uriOf(conf) },
      position: p,
      newName: "path/temp",
    });
    const m = edit.changes[uriOf(master)].map((e) => e.newText).sort();
    assert.deepEqual(m, ["path/temp", "temp"]);
    assert.deepEqual(edit.changes[uriOf(conf)].map((e) => e.newText), ["temp"]);
    // Leaving the section is refused for a key written under [section path].
    await assert.rejects(client.request("textDocument/rename", { textDocument: { uri: uriOf(conf) }, position: p, newName: "other/tmp" }));
  });

  it("renames path/mirror in $[path/mirror], the mirror: key under [section path], $[:mirror] and $[]", async () => {
    const r = writeTree({
      "metro.conf": "[section path]\n\nmirror: /m\nsnap: $[:mirror]/snap\n\n[section path/mirror]\n\nself: $[]\n\n[section other]\n\nx: $[path/mirror]/x\n",
    });
    const c2 = await StdioClient.start({ root: r });
    try {
      await c2.settled();
      const conf = join(r, "metro.conf");
      const p = at(conf, "$[path/mirror]", 4);
      const edit = await c2.request<{ changes: Record<string, { range: { start: { line: number; character: number }; end: { character: number } }; newText: string }[]> }>("textDocument/rename", {
        textDocument: { uri: uriOf(conf) },
        position: p,
        newName: "path/store",
      });
      const text = readFileSync(conf, "utf8").split("\n");
      const edits = edit.changes[uriOf(conf)].sort((a, b) => b.range.start.line - a.range.start.line || b.range.start.character - a.range.start.character);
      for (const e of edits) {
        const l = text[e.range.start.line];
        text[e.range.start.line] = l.slice(0, e.range.start.character) + e.newText + l.slice(e.range.end.character);
      }
      assert.equal(
        text.join("\n"),
        "[section path]\n\nstore: /m\nsnap: $[:store]/snap\n\n[section path/mirror]\n\nself: $[path/store]\n\n[section other]\n\nx: $[path/store]/x\n",
      );
    } finally {
      await c2.stop();
      rmSync(r, { recursive: true, force: true });
    }
  });

  it("renames by the short name: F2 on a key under [section x] offers and takes the name as written", async () => {
    const r = writeTree({
      "metro.conf": "[section profile]\n\npath: /p\nuse: $[:path]/x\n\n[section other]\n\nx: $[profile/path]\n",
    });
    const c2 = await StdioClient.start({ root: r });
    try {
      await c2.settled();
      const conf = join(r, "metro.conf");
      const key = at(conf, "path:");
      const prep = await c2.request<{ placeholder: string; range: { start: { character: number }; end: { character: number } } }>("textDocument/prepareRename", { textDocument: { uri: uriOf(conf) }, position: key });
      assert.equal(prep.placeholder, "path");
      assert.deepEqual([prep.range.start.character, prep.range.end.character], [0, 4]);
      const rel = await c2.request<{ placeholder: string }>("textDocument/prepareRename", { textDocument: { uri: uriOf(conf) }, position: at(conf, "$[:path]", 3) });
      assert.equal(rel.placeholder, "path");
      const abs = await c2.request<{ placeholder: string }>("textDocument/prepareRename", { textDocument: { uri: uriOf(conf) }, position: at(conf, "$[profile/path]", 3) });
      assert.equal(abs.placeholder, "profile/path");
      // A bare name stays in the section, from the key, from $[:path] and from $[profile/path].
      for (const position of [key, at(conf, "$[:path]", 3), at(conf, "$[profile/path]", 3)]) {
        const edit = await c2.request<{ changes: Record<string, { range: { start: { line: number; character: number }; end: { character: number } }; newText: string }[]> }>("textDocument/rename", {
          textDocument: { uri: uriOf(conf) },
          position,
          newName: "ppath",
        });
        const text = readFileSync(conf, "utf8").split("\n");
        for (const e of edit.changes[uriOf(conf)].sort((a, b) => b.range.start.line - a.range.start.line || b.range.start.character - a.range.start.character)) {
          const l = text[e.range.start.line];
          text[e.range.start.line] = l.slice(0, e.range.start.character) + e.newText + l.slice(e.range.end.character);
        }
        assert.equal(text.join("\n"), "[section profile]\n\nppath: /p\nuse: $[:ppath]/x\n\n[section other]\n\nx: $[profile/ppath]\n");
      }
      // Leaving the section is refused in one short sentence without a path.
      const refusal = await c2.request("textDocument/rename", { textDocument: { uri: uriOf(conf) }, position: key, newName: "other/path" }).then(
        () => null,
        (e: Error) => e.message,
      );
      assert.ok(refusal && refusal.length <= 100 && !refusal.includes(r), String(refusal));
      assert.match(refusal!, /must start with `profile\/`/);
    } finally {
      await c2.stop();
      rmSync(r, { recursive: true, force: true });
    }
  });

  it("offers completion of names, relative names, modifiers, annotations and collect paths", async () => {
    const spec = join(root, "targets/stage1.spec");
    const text = readFileSync(spec, "utf8");
    client.open(spec, text);
    const ask = async (line: string) => {
      const lines = text.split("\n").length;
      client.change(spec, { start: { line: lines - 1, character: 0 }, end: { line: lines - 1, character: 0 } }, line);
      const items = await client.request<{ label: string }[]>("textDocument/completion", { textDocument: { uri: uriOf(spec) }, position: { line: lines - 1, character: line.length } });
      client.change(spec, { start: { line: lines - 1, character: 0 }, end: { line: lines - 1, character: line.length } }, "");
      return items.map((i) => i.label);
    };
    const names = await ask("x: $[path/");
    assert.ok(names.includes("path/tmp"), names.join());
    assert.ok((await ask("x: $[[st")).includes("steps/extra"));
    const rel = await ask("x: $[:ex");
    assert.ok(rel.includes("extra") && !rel.includes("name"), rel.join());
    assert.deepEqual((await ask("x: $[path/tmp:")).sort(), ["lax", "zap"]);
    assert.deepEqual((await ask("[")).sort(), ["collect", "option", "section", "when"]);
    const paths = await ask("[collect ./");
    assert.ok(paths.includes("stage3.spec"), paths.join());
  });

  it("completes at the end of the line when the cursor is past it, and never past a collect's closing bracket", async () => {
    const spec = join(root, "targets/stage3.spec");
    client.open(spec, "[collect ./st\nx: $[path/\n[collect ./stage1.spec]\n");
    type Item = { label: string; textEdit: { range: { start: { line: number; character: number }; end: { line: number; character: number } } } };
    const ask = (line: number, character: number) => client.request<Item[]>("textDocument/completion", { textDocument: { uri: uriOf(spec) }, position: { line, character } });
    const paths = await ask(0, 1000);
    assert.ok(paths.some((i) => i.label === "stage3.spec"), JSON.stringify(paths));
    for (const i of paths) assert.deepEqual(i.textEdit.range, { start: { line: 0, character: "[collect ./".length }, end: { line: 0, character: "[collect ./st".length } });
    const names = await ask(1, 2 ** 31);
    assert.ok(names.some((i) => i.label === "path/tmp"));
    for (const i of names) assert.deepEqual(i.textEdit.range, { start: { line: 1, character: 5 }, end: { line: 1, character: 10 } });
    // After `]`, a path completion would replace the bracket.
    assert.deepEqual(await ask(2, "[collect ./stage1.spec]".length), []);
    client.close(spec);
  });

  it("gives document symbols, workspace symbols, folding ranges, semantic tokens and code lenses", async () => {
    const master = join(root, "etc/master.conf");
    const uri = uriOf(master);
    const symbols = await client.request<{ name: string; children?: { name: string }[] }[]>("textDocument/documentSymbol", { textDocument: { uri } });
    const steps = symbols.find((s) => s.name === "[section steps]");
    assert.deepEqual(steps?.children?.map((c) => c.name), ["steps/run", "steps/script"]);
    const ws = await client.request<{ name: string }[]>("workspace/symbol", { query: "mirror/cont" });
    assert.deepEqual(ws.map((s) => s.name), ["path/mirror/control"]);
    const folds = await client.request<{ startLine: number; endLine: number }[]>("textDocument/foldingRange", { textDocument: { uri } });
    assert.ok(folds.some((f) => f.startLine === at(master, "run: [").line && f.endLine === at(master, "echo $[target/name:zap]").line + 1));
    const tokens = await client.request<{ data: number[] }>("textDocument/semanticTokens/full", { textDocument: { uri } });
    assert.ok(tokens.data.length > 20 && tokens.data.length % 5 === 0);
    const lenses = await client.request<{ command: { title: string } }[]>("textDocument/codeLens", { textDocument: { uri: uriOf(join(root, "metro.conf")) } });
    assert.ok(lenses.some((l) => l.command.title === "2 references"), JSON.stringify(lenses.map((l) => l.command.title)));
  });

  it("links collect paths to files", async () => {
    const master = join(root, "etc/master.conf");
    client.open(join(root, "metro.conf"));
    const links = await client.request<{ target: string }[]>("textDocument/documentLink", { textDocument: { uri: uriOf(join(root, "metro.conf")) } });
    assert.deepEqual(links.map((l) => l.target), [uriOf(master)]);
  });
});

describe("language server: contexts", function () {
  let root: string;
  let client: StdioClient;
  before(async function () {
    ({ root, client } = await startTiny());
  });
  after(async () => {
    await client?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it("hovers with the definition, the raw value and the value in the active context", async () => {
    const spec = join(root, "targets/stage3.spec");
    const p = at(spec, "$[source/version]", 3);
    const h = await client.hover(spec, p.line, p.character);
    const text = h!.contents.value;
    assert.match(text, /targets\/stage3\.spec:\d+/);
    assert.match(text, /<< \$\[path\/mirror\/control\]\/version/);
    assert.match(text, /2026\.01/);
    assert.match(text, /stage3 \/ current \/ amd64/);
  });

  it("shows multi-line values fenced, python blocks as written and never run", async () => {
    const master = join(root, "etc/master.conf");
    const p = at(master, "script:");
    const h = await client.hover(master, p.line, p.character + 1);
    assert.match(h!.contents.value, /```sh\n<\?python/);
    assert.equal(existsSync(join(root, "PWNED")), false);
    assert.equal(existsSync("PWNED"), false);
  });

  it("spells out :zap outcomes in hover and inlay hints", async () => {
    const master = join(root, "etc/master.conf");
    const p = at(master, "$[optional:zap]", 3);
    const h = await client.hover(master, p.line, p.character);
    assert.match(h!.contents.value, /:zap` fires here: `optional` is undefined, so this line is dropped/);
    const hints = await client.request<{ label: string; position: { line: number } }[]>("textDocument/inlayHint", {
      textDocument: { uri: uriOf(master) },
      // The whole file: up to the line after the last (as Neovim asks), which is the end of the document.
      range: { start: { line: 0, character: 0 }, end: { line: readFileSync(master, "utf8").split("\n").length, character: 0 } },
    });
    const labels = hints.map((x) => `${x.position.line}:${x.label}`);
    assert.ok(labels.includes(`${p.line}:⇒ this line is dropped`), labels.join(", "));
    assert.ok(labels.includes(`${at(master, "target/name:zap").line}:= stage3-amd64`), labels.join(", "));
  });

  it("hints that a :zap never fires, and offers add :zap only where the value is optional by design", async () => {
    const master = join(root, "etc/master.conf");
    const spec = join(root, "targets/stage3.spec");
    const build = join(root, "etc/builds/current/build.conf");
    await client.waitFor(() => client.diagnosticsOf(master).some((d) => d.code === "metro/zap-not-needed"), 5000, "zap hint");
    type Action = { title: string; edit: { changes: Record<string, { newText: string; range: { start: { character: number } } }[]> } };
    const actionsFor = (path: string, d: { range: unknown }) =>
      client.request<Action[]>("textDocument/codeAction", { textDocument: { uri: uriOf(path) }, range: d.range, context: { diagnostics: [d] } });
    // A name no file defines: a typo or a missing definition, which :zap would hide.
    const undef = client.diagnosticsOf(spec).find((d) => d.code === "metro/undefined-element" && d.message.includes("nowhere/defined"))!;
    assert.deepEqual((await actionsFor(spec, undef)).map((a) => a.title), []);
    // release/flag is defined for the "next" build only: optional by design.
    const optional = client.diagnosticsOf(build).find((d) => d.code === "metro/undefined-element")!;
    assert.ok(optional, JSON.stringify(client.diagnosticsOf(build)));
    const actions = await actionsFor(build, optional);
    assert.equal(actions[0].title, "Add :zap to $[release/flag]");
    const e = actions[0].edit.changes[uriOf(build)][0];
    assert.equal(e.newText, ":zap");
    assert.equal(e.range.start.character, at(build, "release/flag]").character + "release/flag".length);
  });

  it("names the contexts a finding holds in, once for several contexts", async () => {
    const master = join(root, "etc/master.conf");
    // `steps/extra` only exists for stage1; engine findings for stage3 only say so.
    const spec = join(root, "targets/stage3.spec");
    const d = client.diagnosticsOf(spec).filter((x) => x.code === "metro/undefined-element");
    assert.equal(d.length, 1, JSON.stringify(client.diagnosticsOf(spec)));
    assert.match(d[0].message, /\(in stage3 \/ current \/ amd64\)$/);
    assert.ok(client.diagnosticsOf(master).every((x) => x.code !== "metro/undefined-element"), JSON.stringify(client.diagnosticsOf(master)));
  });

  it("switches the active context by command and reports it", async () => {
    const spec = join(root, "targets/stage1.spec");
    const list = await client.request<{ trees: { active: string; contexts: { name: string }[] }[] }>("metro/contexts", {});
    assert.deepEqual(list.trees[0].contexts.map((c) => c.name), ["stage3 / current / amd64", "stage1 / next / amd64"]);
    const r = await client.request<{ ok: boolean }>("workspace/executeCommand", { command: "metro.server.setActiveContext", arguments: [{ tree: root, name: "stage1 / next / amd64" }] });
    assert.equal(r.ok, true);
    await client.waitFor(() => client.notifications.some((n) => n.method === "metro/status" && (n.params as { active: string }).active === "stage1 / next / amd64"), 3000, "status");
    const p = at(spec, "name:");
    const h = await client.hover(spec, p.line, p.character + 1);
    assert.match(h!.contents.value, /stage1-amd64/);
    const v = await client.request<{ text: string }>("metro/expandedValue", { tree: root, name: "release/tag" });
    assert.equal(v.text, "next\n");
  });

  it("re-evaluates after an edit and after a change on disk", async () => {
    const build = join(root, "etc/builds/next/build.conf");
    client.open(build);
    client.change(build, { start: { line: 2, character: 5 }, end: { line: 2, character: 9 } }, "$[missing/thing]");
    await client.waitFor(() => client.diagnosticsOf(build).some((d) => d.code === "metro/undefined-element" && /stage1/.test(d.message)), 5000, "engine finding after edit");
    client.change(build, null, "[section release]\n\ntag: next\n");
    await client.waitFor(() => !client.diagnosticsOf(build).some((d) => d.code === "metro/undefined-element"), 5000, "finding gone");
    client.close(build);
    const spec = join(root, "targets/stage3.spec");
    writeFileSync(spec, readFileSync(spec, "utf8").replace("$[nowhere/defined]", "fine"));
    client.notify("workspace/didChangeWatchedFiles", { changes: [{ uri: uriOf(spec), type: 2 }] });
    await client.waitFor(() => !client.diagnosticsOf(spec).some((d) => d.code === "metro/undefined-reference"), 5000, "re-index after disk change");
  });
});

describe("language server: problems only an expansion meets", function () {
  it("are errors only where a context's run expands the value, each once, at the `$[`", async () => {
    const { root, client } = await startTiny({
      "etc/master.conf": TINY["etc/master.conf"].replace("work: $[path/tmp]/work/$[target]", "work: $[path/tmp").replace("echo $[path/cache]", "echo $[path/cache"),
      "etc/builds/current/build.conf": `[section release]

tag: current
note: $[release/flag:zap]
broken: $[release/tag
odd: $[release/tag:bogus]

[when release/tag is nothing]

never: x $[release/tag

[section path/mirror/target]

path: $[release/tag
`,
    });
    try {
      const build = join(root, "etc/builds/current/build.conf");
      const master = join(root, "etc/master.conf");
      // One diagnostic per problem (the parser and the contexts would each say it), placed on the `$[`.
      const on = (path: string, needle: string, delta = 0) => {
        const p = at(path, needle, delta);
        const here = client.diagnosticsOf(path).filter((d) => d.range.start.line === p.line && /modifier|unterminated/.test(String(d.code)));
        assert.equal(here.length, 1, `${needle}: ${JSON.stringify(client.diagnosticsOf(path))}`);
        assert.equal(here[0].range.start.character, p.character, `${needle}: ${JSON.stringify(here[0])}`);
        return here[0];
      };
      // A value the run reads: an error; the only one in this file (metro stops before it, at path/mirror/target/control,
      // which this tree does not define: that one is reported at the entry file).
      const read = on(build, "path: $[release/tag", "path: ".length);
      assert.equal(read.severity, 1);
      assert.match(read.message, /the stage3 run reads path\/mirror\/target\/path: metro would stop here, but stops before, at path\/mirror\/target\/control/);
      assert.equal(client.diagnosticsOf(build).filter((d) => d.severity === 1).length, 1, JSON.stringify(client.diagnosticsOf(build)));
      assert.equal(client.diagnosticsOf(master).filter((d) => d.severity === 1).length, 0, JSON.stringify(client.diagnosticsOf(master)));
      // Values no run expands: warnings that say why, never errors.
      for (const [path, needle, delta, why] of [
        [build, "broken: $[release/tag", "broken: ".length, /unused by the stage3 run; metro never expands it/],
        [build, "odd: $[release/tag:bogus]", "odd: ".length, /unused by the stage3 run/],
        [build, "never: x $[release/tag", "never: x ".length, /metro fails on it only when a value is expanded; no context here expands it/],
        [master, "work: $[path/tmp", "work: ".length, /unused by the stage3 run/],
        [master, "echo $[path/cache", "echo ".length, /unused by the stage3 run/],
      ] as const) {
        const d = on(path, needle, delta);
        assert.equal(d.severity, 2, `${needle}: ${d.message}`);
        assert.match(d.message, why);
      }
    } finally {
      await client.stop();
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe("language server: files no context reads", function () {
  it("shows what would stop a build reading them as warnings that say no context reads the file", async () => {
    const block = "[section odd]\n\nk: [\nnever closed\n";
    const { root, client } = await startTiny({ "etc/unread.conf": block, "targets/stage3.spec": TINY["targets/stage3.spec"] + "\n" + block });
    try {
      const unread = client.diagnosticsOf(join(root, "etc/unread.conf")).filter((d) => d.code === "metro/unterminated-block");
      assert.equal(unread.length, 1, JSON.stringify(client.diagnosticsOf(join(root, "etc/unread.conf"))));
      assert.equal(unread[0].severity, 2);
      assert.match(unread[0].message, /is never closed: add a line with only `\]` \(no context reads this file\)$/);
      // The same text in a file the stage3 context reads stops that context: an error.
      const read = client.diagnosticsOf(join(root, "targets/stage3.spec")).filter((d) => d.code === "metro/unterminated-block");
      assert.ok(read.length >= 1 && read.every((d) => d.severity === 1), JSON.stringify(read));
    } finally {
      await client.stop();
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe("language server: plain-text clients", function () {
  it("answers hover and completion documentation in plain text when the client does not offer Markdown", async function () {
    for (const formats of [["plaintext"], ["markdown", "plaintext"]]) {
      const { root, client } = await startTiny({}, undefined, formats);
      try {
        const master = join(root, "etc/master.conf");
        const markdown = formats.includes("markdown");
        const p = at(master, "script:");
        const h = (await client.hover(master, p.line, p.character + 1))!;
        assert.equal(h.contents.kind, markdown ? "markdown" : "plaintext");
        const text = h.contents.value;
        assert.match(text, /steps\/script/);
        assert.match(text, /<\?python/);
        if (markdown) assert.match(text, /\*\*`steps\/script`\*\*|```sh/);
        else assert.doesNotMatch(text, /\*\*|```|`/, text);
        const q = at(join(root, "targets/stage3.spec"), "$[source/version]", 3);
        const h2 = (await client.hover(join(root, "targets/stage3.spec"), q.line, q.character))!;
        if (!markdown) {
          assert.match(h2.contents.value, /^source\/version — element/m, h2.contents.value);
          assert.match(h2.contents.value, /<< \$\[path\/mirror\/control\]\/version/);
        }
        client.open(master, readFileSync(master, "utf8"));
        const items = await client.request<{ label: string; data?: unknown }[]>("textDocument/completion", {
          textDocument: { uri: uriOf(master) },
          position: at(master, "$[path/cache]", 2),
        });
        const item = items.find((x) => x.label === "path/cache");
        assert.ok(item, items.map((x) => x.label).join(" "));
        const resolved = await client.request<{ documentation?: { kind: string; value: string } }>("completionItem/resolve", item);
        assert.equal(resolved.documentation?.kind, markdown ? "markdown" : "plaintext");
        assert.match(resolved.documentation!.value, /path\/cache/);
        if (!markdown) assert.doesNotMatch(resolved.documentation!.value, /\*\*|`/);
      } finally {
        await client.stop();
        rmSync(root, { recursive: true, force: true });
      }
    }
  });
});

describe("language server: typing", function () {
  it("answers every keystroke, and re-evaluates every context with the last text once typing stops", async () => {
    const contexts = [ctx("stage3"), ctx("stage1", "next"), ctx("stage3", "next"), ctx("stage1")];
    const { root, client } = await startTiny({}, contexts);
    try {
      const master = join(root, "etc/master.conf");
      client.open(master);
      await client.settled();
      const line = readFileSync(master, "utf8").split("\n").length - 1;
      const typed = "typed: $[nope/one]";
      for (let i = 0; i < typed.length; i++) {
        const v = client.change(master, { start: { line, character: i }, end: { line, character: i } }, typed[i]);
        await client.waitFor(() => (client.diagnostics.get(uriOf(master))?.version ?? -1) >= v, 10000, `diagnostics of keystroke ${i + 1}`);
      }
      await client.settled();
      const found = client.diagnosticsOf(master).filter((d) => d.code === "metro/undefined-element" && /nope\/one/.test(d.message));
      assert.equal(found.length, 1, JSON.stringify(client.diagnosticsOf(master)));
      assert.equal((found[0].data as { contexts: string[] }).contexts.length, contexts.length);
      // Deleting the line again: every context forgets the finding.
      client.change(master, { start: { line, character: 0 }, end: { line, character: typed.length } }, "");
      await client.settled();
      await client.waitFor(() => !client.diagnosticsOf(master).some((d) => /nope\/one/.test(d.message)), 10000, "finding gone");
    } finally {
      await client.stop();
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("publishes, for edits sent without waiting, only diagnostics of the text of the version they name, the last text's last", async () => {
    const { root, client } = await startTiny({}, [ctx("stage3"), ctx("stage1", "next")]);
    try {
      const master = join(root, "etc/master.conf");
      const uri = uriOf(master);
      client.open(master);
      await client.settled();
      const from = client.published.length;
      const line = readFileSync(master, "utf8").split("\n").length - 1;
      // Edit i writes a reference to a name of its own: a publication says which text it was computed for.
      const nameOf = new Map<number, number>();
      let version = 0;
      for (let i = 0; i < 200; i++) {
        version = client.change(master, { start: { line, character: 0 }, end: { line: i === 0 ? line : line + 1, character: 0 } }, `typed: $[gone${i}]\n`);
        nameOf.set(version, i);
        // Requests between edits (as an editor sends them) see the text they came after.
        if (i % 40 === 39) {
          type Symbol = { name: string; detail?: string; children?: Symbol[] };
          const symbols = await client.request<Symbol[]>("textDocument/documentSymbol", { textDocument: { uri } });
          const typed = symbols.flatMap((s) => [s, ...(s.children ?? [])]).filter((s) => s.name.endsWith("typed"));
          assert.deepEqual(typed.map((s) => s.detail), [`$[gone${i}]`]);
        }
      }
      await client.settled();
      assert.equal(client.diagnostics.get(uri)?.version, version);
      const mine = client.published.slice(from).filter((p) => p.uri === uri);
      for (const [k, p] of mine.entries()) {
        assert.ok(k === 0 || p.version! >= mine[k - 1].version!, "a publication never follows one of a later version");
        const names = new Set(p.diagnostics.flatMap((d) => [...d.message.matchAll(/"gone(\d+)"/g)].map((m) => Number(m[1]))));
        assert.deepEqual([...names], [nameOf.get(p.version!)], `version ${p.version}: ${JSON.stringify(p.diagnostics.map((d) => d.message))}`);
      }
    } finally {
      await client.stop();
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe("language server: missing << files", function () {
  it("report one information per `<<` line naming the contexts, and no cascade", async function () {
    const { root, client } = await startTiny({}, [ctx("stage3"), { ...ctx("stage3"), args: { ...ctx("stage3").args, "target/subarch": "other" } }]);
    try {
      rmSync(join(root, "mirror"), { recursive: true });
      const spec = join(root, "targets/stage3.spec");
      client.notify("workspace/didChangeWatchedFiles", { changes: [{ uri: uriOf(join(root, "mirror/control/version")), type: 3 }] });
      await client.waitFor(() => client.diagnosticsOf(spec).some((d) => d.code === "metro/missing-file"), 5000, "missing file info").catch((e) => {
        throw new Error(e.message + JSON.stringify(client.diagnosticsOf(spec)));
      });
      const d = client.diagnosticsOf(spec);
      const missing = d.filter((x) => x.code === "metro/missing-file");
      assert.equal(missing.length, 1);
      assert.equal(missing[0].severity, 3);
      assert.match(missing[0].message, /in all 2 contexts/);
      assert.equal(missing[0].range.start.line, at(spec, "version: <<").line);
      // `label: v$[source/version]` depends on it: no error there.
      assert.ok(!d.some((x) => x.range.start.line === at(spec, "label:").line), JSON.stringify(d));
      const p = at(spec, "$[source/version]", 3);
      const h = await client.hover(spec, p.line, p.character);
      assert.match(h!.contents.value, /unknown: cannot read/);
    } finally {
      await client.stop();
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe("language server: any client, any folder", function () {
  before(function () {
  });

  it("derives one build per real folder and starts on stage3 of the newest build; a remembered choice wins", async () => {
    const root = writeTree({
      "metro.conf": "[collect ./etc/master.conf]\n",
      "etc/master.conf": "[collect ../targets/gentoo/$[target].spec]\n[collect builds/$[target/build]/build.conf]\n",
      "targets/gentoo/snapshot.spec": "kind: snapshot\n",
      "targets/gentoo/stage1.spec": "kind: stage1\n",
      "targets/gentoo/stage3.spec": "kind: stage3\n",
      "etc/builds/1.3-release-std/build.conf": "b: 1.3\n",
      "etc/builds/1.4-release-sel/build.conf": "b: 1.4sel\n",
      "etc/builds/1.4-release-std/build.conf": "b: 1.4\n",
    });
    symlinkSync("1.3-release-std", join(root, "etc/builds/funtoo-current"));
    type Listed = { trees: { root: string; active: string; contexts: { name: string; args: Record<string, string> }[] }[] };
    let client = await StdioClient.start({ root });
    try {
      await client.settled();
      const list = await client.request<Listed>("metro/contexts", {});
      const tree = list.trees[0];
      const builds = [...new Set(tree.contexts.map((c) => c.args["target/build"]))].sort();
      assert.deepEqual(builds, ["1.3-release-std", "1.4-release-sel", "1.4-release-std"], "the link to a sibling is not a build of its own");
      const active = tree.contexts.find((c) => c.name === tree.active)!;
      assert.equal(active.args.target, "stage3");
      assert.equal(active.args["target/build"], "1.4-release-std");
      const archs: Record<string, string> = { x64: "x86-64bit", arm64: "arm-64bit" };
      if (archs[process.arch]) assert.equal(active.args["target/arch_desc"], archs[process.arch]);
      // F12 on a name the derived context gives: the file it was derived from.
      const master = join(root, "etc/master.conf");
      const p = at(master, "$[target/build]", 3);
      const defs = await client.definition(master, p.line, p.character);
      assert.deepEqual(defs.map((d) => d.uri), [uriOf(join(root, "etc/builds/1.4-release-std/build.conf"))]);
      const other = tree.contexts.find((c) => c.args.target === "stage1")!;
      await client.stop();
      client = await StdioClient.start({ root, initializationOptions: { activeContexts: { [tree.root]: other.name } } });
      await client.settled();
      const again = await client.request<Listed>("metro/contexts", {});
      assert.equal(again.trees[0].active, other.name);
    } finally {
      await client.stop();
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("reads contexts from initializationOptions when the client has no workspace/configuration", async () => {
    const root = writeTree(TINY);
    const client = await StdioClient.start({ root, noConfiguration: true, initializationOptions: { contexts: [{ name: "mine", ...ctx("stage1", "next") }] } });
    try {
      await client.settled();
      const list = await client.request<{ trees: { source: string; contexts: { name: string }[] }[] }>("metro/contexts", {});
      assert.equal(list.trees[0].source, "setting");
      assert.deepEqual(list.trees[0].contexts.map((c) => c.name), ["mine"]);
    } finally {
      await client.stop();
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("says which entries of metro-contexts.json are left out when the others are used", async () => {
    const entries = [{ name: "good", ...ctx("stage3") }, { name: "bad" }, 7];
    const root = writeTree({ ...TINY, "metro-contexts.json": JSON.stringify(entries) });
    const client = await StdioClient.start({ root });
    try {
      await client.settled();
      const list = await client.request<{ trees: { source: string; contexts: { name: string }[] }[] }>("metro/contexts", {});
      assert.equal(list.trees[0].source, "file");
      assert.deepEqual(list.trees[0].contexts.map((c) => c.name), ["good"]);
      const file = join(root, "metro-contexts.json");
      await client.waitFor(() => client.diagnosticsOf(file).length > 0, 5000, "the contexts file's diagnostic");
      const d = client.diagnosticsOf(file);
      assert.equal(d.length, 1);
      assert.equal(d[0].message, 'metro-contexts.json: 2 of its 3 entries are left out (the others are used): entry 2 has no "config" path; entry 3 is not an object');
      // None usable: the file is not used at all, and the contexts are derived.
      writeFileSync(file, JSON.stringify([{ name: "bad" }]));
      client.notify("workspace/didChangeWatchedFiles", { changes: [{ uri: uriOf(file), type: 2 }] });
      await client.waitFor(() => /is not used/.test(client.diagnosticsOf(file)[0]?.message ?? ""), 5000, "the file's new diagnostic");
      assert.equal(client.diagnosticsOf(file)[0].message, 'metro-contexts.json is not used: entry 1 has no "config" path');
    } finally {
      await client.stop();
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("reads metro-contexts.json at the tree root, config relative to it", async () => {
    const entries = [
      { name: "other", config: "metro.conf", args: { ...ctx("stage3").args, "target/subarch": "zen" } },
      { name: "from file", config: "metro.conf", args: ctx("stage3").args },
    ];
    const root = writeTree({ ...TINY, "metro-contexts.json": JSON.stringify(entries, null, 2) });
    const client = await StdioClient.start({ root, initializationOptions: { activeContexts: { [root]: "from file" } } });
    try {
      await client.settled();
      const list = await client.request<{ trees: { source: string; active: string; contexts: { name: string; config: string; fatal: string | null }[] }[] }>("metro/contexts", {});
      assert.equal(list.trees[0].source, "file");
      assert.deepEqual(list.trees[0].contexts.map((c) => [c.name, c.config, c.fatal]), [["other", join(root, "metro.conf"), null], ["from file", join(root, "metro.conf"), null]]);
      assert.equal(list.trees[0].active, "from file");
      // F12 on a name the context gives goes to it in the active context's entry.
      const spec = join(root, "targets/stage3.spec");
      const p = at(spec, "$[target/subarch]", 3);
      const defs = await client.definition(spec, p.line, p.character);
      const json = join(root, "metro-contexts.json");
      assert.deepEqual(defs.map((d) => [d.uri, d.range.start.line]), [[uriOf(json), at(json, '"target/subarch"', 0, 1).line]]);
    } finally {
      await client.stop();
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("keeps several trees found from opened files independent when no folder is sent", async () => {
    const a = writeTree(TINY);
    const b = writeTree({ ...TINY, "targets/stage3.spec": TINY["targets/stage3.spec"].replace("$[nowhere/defined]", "$[only/in/b]") });
    const client = await StdioClient.start({ root: null });
    try {
      const fa = join(a, "targets/stage3.spec");
      const fb = join(b, "targets/stage3.spec");
      client.open(fa);
      client.open(fb);
      await client.waitFor(() => client.diagnosticsOf(fa).length > 0 && client.diagnosticsOf(fb).length > 0, 5000, "both trees");
      const s = await client.settled();
      assert.deepEqual(s.trees.map((t) => t.root).sort(), [a, b].sort());
      assert.ok(client.diagnosticsOf(fa).some((d) => d.message.includes("nowhere/defined")));
      assert.ok(!client.diagnosticsOf(fa).some((d) => d.message.includes("only/in/b")));
      assert.ok(client.diagnosticsOf(fb).some((d) => d.message.includes("only/in/b")));
      // Definitions stay inside their own tree.
      const p = at(fb, "$[source/version]", 3);
      const defs = await client.definition(fb, p.line, p.character);
      assert.deepEqual(defs.map((d) => d.uri), [uriOf(fb)]);
    } finally {
      await client.stop();
      rmSync(a, { recursive: true, force: true });
      rmSync(b, { recursive: true, force: true });
    }
  });

  it("answers for a Metro file outside any tree with the parser's diagnostics only", async () => {
    const dir = mkdtempSync(join(tmpdir(), "metro-loose-"));
    const client = await StdioClient.start({ root: null });
    try {
      const f = join(dir, "lonely.conf");
      writeFileSync(f, "[section a]\nx: [\n");
      client.open(f);
      await client.waitFor(() => client.diagnosticsOf(f).some((d) => d.code === "metro/unterminated-block"), 5000, "parser diagnostics");
      assert.equal((await client.settled()).trees.length, 0);
    } finally {
      await client.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("language server: random edits", function () {
  it("stays alive and answering through 400 random edits, garbage included", async function () {
    const { root, client } = await startTiny();
    try {
      const files = ["etc/master.conf", "targets/stage3.spec", "metro.conf"].map((f) => join(root, f));
      const texts = new Map(files.map((f) => [f, readFileSync(f, "utf8")]));
      for (const f of files) client.open(f);
      let seed = 7;
      const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
      const bits = ["$[", "]", "[section x]\n", "a: $[b:zap]\n", "[collect ./nope]\n", "\n", "x: [\n", "]\n", "$[:", "[when a is b]\n", "<?python\n", "<< /nope"];
      for (let i = 0; i < 400; i++) {
        const f = files[Math.floor(rand() * files.length)];
        const text = texts.get(f)!;
        const lines = text.split("\n");
        const line = Math.floor(rand() * lines.length);
        const ch = Math.floor(rand() * (lines[line].length + 1));
        const offset = lines.slice(0, line).reduce((a, l) => a + l.length + 1, 0) + ch;
        if (rand() < 0.6) {
          const ins = bits[Math.floor(rand() * bits.length)];
          client.change(f, { start: { line, character: ch }, end: { line, character: ch } }, ins);
          texts.set(f, text.slice(0, offset) + ins + text.slice(offset));
        } else {
          const len = Math.min(lines[line].length - ch, 1 + Math.floor(rand() * 8));
          client.change(f, { start: { line, character: ch }, end: { line, character: ch + len } }, "");
          texts.set(f, text.slice(0, offset) + text.slice(offset + len));
        }
        if (i % 20 === 0) await client.hover(f, line, ch);
      }
      await client.settled();
      assert.ok(client.alive());
      // The server's view of the documents matches ours: semantic tokens and symbols answer for the final text.
      for (const f of files) {
        const symbols = await client.request<unknown[]>("textDocument/documentSymbol", { textDocument: { uri: uriOf(f) } });
        assert.ok(Array.isArray(symbols));
      }
      for (const f of files) client.change(f, null, readFileSync(f, "utf8"));
      await client.settled();
      const p = at(join(root, "metro.conf"), "tmp:");
      const h = await client.hover(join(root, "metro.conf"), p.line, p.character);
      assert.match(h!.contents.value, /\/var\/tmp\/metro/);
    } finally {
      await client.stop();
      rmSync(root, { recursive: true, force: true });
    }
  });
});
