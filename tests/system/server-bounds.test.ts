// The language server's bounds against a client that opens too much, asks
// about huge files, or names one file through several URIs. Every test runs
// the real bundled server over stdio with its heap capped at 512 MB: a
// server that held every document, or built an answer as large as the
// input squared, would die of the cap or never answer.

import { removeTempDirs, tempDir as newTempDir } from "../support/trees";
import * as assert from "node:assert/strict";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { StdioClient, uriOf, type PublishedDiagnostics } from "../../server/testing/stdio-client";
import { PROJECT } from "../support/shared";

const SERVER = join(PROJECT, "dist", "metro-language-server.js");
const HEAP_CAP = ["--max-old-space-size=512"];
/** Resident memory the server may hold (as tests/system/server-hostile.test.ts). */
const MAX_RSS = 768 * 1024 * 1024;
const ONE_CONTEXT = JSON.stringify([{ name: "only", config: "metro.conf", args: {} }]);

after(() => removeTempDirs());

function write(root: string, files: Record<string, string>): void {
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), text);
  }
}

async function start(files: Record<string, string>): Promise<{ client: StdioClient; root: string }> {
  const root = newTempDir("metro-bounds-");
  write(root, files);
  const client = await StdioClient.start({ serverPath: SERVER, root, nodeArgs: HEAP_CAP });
  await client.settled();
  return { client, root };
}

const shown = (client: StdioClient, re: RegExp) => client.notifications.filter((n) => n.method === "window/showMessage" && re.test((n.params as { message: string }).message));
const logged = (client: StdioClient, re: RegExp) => client.notifications.filter((n) => n.method === "window/logMessage" && re.test((n.params as { message: string }).message));
const openAt = (client: StdioClient, uri: string, text: string) => client.notify("textDocument/didOpen", { textDocument: { uri, languageId: "metro", version: 1, text } });
const published = (client: StdioClient, uri: string): PublishedDiagnostics | undefined => client.diagnostics.get(uri);

describe("language server: the open documents together", function () {
  this.timeout(120000);

  it("stops following documents opened past 128 MiB in all, saying so once and on each, and serves the others", async () => {
    const { client, root } = await start({ "metro.conf": "[section path]\ntmp: /var/tmp/metro\nrun: $[path/tmp]\n", "metro-contexts.json": ONE_CONTEXT });
    try {
      const conf = join(root, "metro.conf");
      client.open(conf);
      // Three documents of 33 MiB fit in 128 MiB; a fourth does not, nor does one of 4 MiB of empty
      // lines (each line's offset weighs 8 bytes more: 36 MiB).
      const text = ("k: " + "v".repeat(1020) + "\n").repeat(33 * 1024);
      const docs = [1, 2, 3].map((i) => join(root, `big${i}.conf`));
      docs.push(join(root, "lines.conf"), join(root, "big4.conf"));
      for (const d of docs) {
        client.open(d, d.endsWith("lines.conf") ? "\n".repeat(4 * 1024 * 1024) : text);
        await client.sent();
      }
      await client.settled();
      const notFollowed = (d: string) => client.diagnosticsOf(d).some((x) => x.code === "metro/document-not-followed");
      await client.waitFor(() => notFollowed(docs[3]) && notFollowed(docs[4]), 30000, "the warnings on the documents not followed");
      assert.deepEqual(docs.map(notFollowed), [false, false, false, true, true]);
      assert.match(client.diagnosticsOf(docs[3])[0].message, /would hold 135\.\d MiB \(their text and lines\), more than the 128 MiB the server follows together: the language server does not follow it until it is closed and opened again/);
      assert.equal(shown(client, /the open documents hold more than 128 MiB together: the language server does not follow .*lines\.conf/).length, 1, "said once");
      assert.equal(logged(client, /not following .*(lines|big4)\.conf/).length, 2, "each one logged");
      // The others are served; what is not followed is not known to the server.
      assert.match((await client.hover(conf, 2, 8))!.contents.value, /\/var\/tmp\/metro/);
      assert.ok(await client.request("textDocument/documentSymbol", { textDocument: { uri: uriOf(docs[0]) } }));
      await assert.rejects(client.request("textDocument/hover", { textDocument: { uri: uriOf(docs[4]) }, position: { line: 0, character: 0 } }), /unknown document/);
      assert.ok(client.memory() < MAX_RSS, `the server holds ${client.memory()} bytes`);
      // Closing two makes room: a document closed and opened again is followed, its warning gone.
      client.close(docs[0]);
      client.close(docs[4]);
      await client.waitFor(() => !notFollowed(docs[4]), 10000, "the warning cleared on close");
      client.open(docs[4], "a: 1\n");
      await client.settled();
      assert.deepEqual(client.diagnosticsOf(docs[4]), []);
      assert.ok(await client.request("textDocument/documentSymbol", { textDocument: { uri: uriOf(docs[4]) } }));
      assert.ok(client.alive());
    } finally {
      await client.stop();
    }
  });
});

describe("language server: many open documents", function () {
  this.timeout(120000);

  it("counts what each open document costs beyond its text: past 32,768 empty documents, the next are not followed", async () => {
    const { client, root } = await start({ "metro.conf": "a: 1\n", "metro-contexts.json": ONE_CONTEXT });
    try {
      const outside = newTempDir("metro-bounds-loose-");
      const uri = (i: number) => uriOf(join(outside, `d${i}.conf`));
      for (let i = 0; i < 32800; i++) {
        openAt(client, uri(i), "");
        if (i % 1000 === 0) await client.sent();
      }
      await client.settled();
      const notFollowed = (i: number) => client.diagnostics.get(uri(i))?.diagnostics.some((x) => x.code === "metro/document-not-followed") ?? false;
      const first = [...Array(32800).keys()].find(notFollowed);
      assert.equal(first, 32768, "4 KiB each: 32,768 fill the 128 MiB");
      assert.ok(notFollowed(32799));
      assert.ok(await client.hover(join(root, "metro.conf"), 0, 0));
      assert.ok(client.memory() < MAX_RSS, `the server holds ${client.memory()} bytes`);
    } finally {
      await client.stop();
    }
  });
});

describe("language server: answers to requests about a huge file", function () {
  this.timeout(120000);
  const N = 6000;
  let client: StdioClient;
  let conf: string;
  const doc = () => ({ textDocument: { uri: uriOf(conf) } });

  before(async () => {
    // N definitions of one name and N references to it, N elements, a multi-line value with a line of 10,000 characters.
    let text = "[section s]\n";
    for (let i = 0; i < N; i++) text += "x: 1\n";
    for (let i = 0; i < N; i++) text += `y${i}: $[s/x]\n`;
    text += `long: [\n${"w".repeat(10000)}\n]\nuse: $[s/long]\nfold: [\n${"a\n".repeat(3)}]\n`.repeat(1) + "f: [\na\n]\n".repeat(N);
    let root: string;
    ({ client, root } = await start({ "metro.conf": text, "metro-contexts.json": ONE_CONTEXT }));
    conf = join(root, "metro.conf");
    client.open(conf);
    await client.settled();
  });
  after(async () => {
    await client?.stop();
  });

  it("lists the first 1,000 places of a code lens and at most 1,000 lenses, the title saying how many are listed", async () => {
    const lenses = await client.request<{ command: { title: string; arguments: [string, unknown, unknown[]] } }[]>("textDocument/codeLens", doc());
    assert.equal(lenses.length, 1000);
    assert.equal(lenses[0].command.title, `${N} references (1000 listed)`);
    assert.equal(lenses[0].command.arguments[2].length, 1000);
    const listed = lenses.reduce((n, l) => n + l.command.arguments[2].length, 0);
    assert.equal(listed, 20000, "at most 20,000 places in all");
    assert.equal(lenses[lenses.length - 1].command.title, `${N} references (0 listed)`, "past that, the count alone");
  });

  it("ends an outline of more than 5,000 symbols with one saying how many are not listed", async () => {
    const symbols = await client.request<{ name: string; children?: unknown[] }[]>("textDocument/documentSymbol", doc());
    const last = symbols[symbols.length - 1];
    const listed = symbols.reduce((n, s) => n + 1 + (s.children?.length ?? 0), 0) - 1;
    assert.equal(listed, 5000);
    assert.match(last.name, /^… [\d,]+ more sections and elements not listed$/);
    assert.equal(Number(last.name.replace(/\D/g, "")), 3 * N + 4 - 5000);
  });

  it("lists at most 10,000 references and logs how many were left out", async () => {
    const refs = await client.request<unknown[]>("textDocument/references", { ...doc(), position: { line: 1, character: 0 }, context: { includeDeclaration: true } });
    assert.equal(refs.length, 10000);
    await client.waitFor(() => logged(client, new RegExp(`references of \`s/x\`: the first 10000 of ${2 * N} places are listed`)).length === 1, 10000, "the log line");
  });

  it("completes from a list marked incomplete, filtered by what is typed, when names are many", async () => {
    const line = 1 + N; // `y0: $[s/x]`
    const list = await client.request<{ isIncomplete: boolean; items: { label: string }[] }>("textDocument/completion", { ...doc(), position: { line, character: "y0: $[".length } });
    assert.equal(list.isIncomplete, true);
    assert.equal(list.items.length, 1000);
    client.change(conf, { start: { line, character: 6 }, end: { line, character: 10 } }, "y599");
    const typed = await client.request<{ label: string }[] | { items: { label: string }[] }>("textDocument/completion", { ...doc(), position: { line, character: 10 } });
    const labels = (Array.isArray(typed) ? typed : typed.items).map((i) => i.label);
    assert.ok(labels.includes("s/y5999") && labels.length < 1000, `${labels.length} items`);
    client.change(conf, { start: { line, character: 6 }, end: { line, character: 10 } }, "s/x]");
    await client.settled();
  });

  it("cuts a hover's lines at 400 characters and says so", async () => {
    const line = 1 + 2 * N + 3; // `use: $[s/long]`
    const h = await client.hover(conf, line, 8);
    assert.match(h!.contents.value, /w{400}…\n/);
    assert.doesNotMatch(h!.contents.value, /w{401}/);
    assert.match(h!.contents.value, /1 line cut at 400 characters — \[open the whole value\]/);
  });

  it("gives at most 5,000 folding ranges, the first ones", async () => {
    const folds = await client.request<{ startLine: number }[]>("textDocument/foldingRange", doc());
    assert.equal(folds.length, 5000);
    assert.equal(folds[0].startLine, 0, "the section's first");
    assert.ok(client.memory() < MAX_RSS);
  });
});

describe("language server: one file named by several URIs", function () {
  this.timeout(60000);
  let client: StdioClient;
  let root: string;
  let conf: string;
  const CONF = "[section path]\ntmp: /var/tmp/one\n";
  const USE = "[section steps]\nrun: $[path/tmp]\n";
  /** metro.conf's URI spelled another way: `-` as `%2D`, a `./` and a `dir/../` segment. */
  const otherUri = () => uriOf(root).replace(/-/g, "%2D") + "/etc/.././metro.conf";
  const hoverRun = () => client.request<{ contents: { value: string } } | null>("textDocument/hover", { textDocument: { uri: uriOf(join(root, "use.conf")) }, position: { line: 1, character: 9 } });

  beforeEach(async () => {
    ({ client, root } = await start({ "metro.conf": CONF + "[collect use.conf]\n", "use.conf": USE, "etc/x.conf": "", "metro-contexts.json": ONE_CONTEXT }));
    conf = join(root, "metro.conf");
  });
  afterEach(async () => {
    await client?.stop();
  });

  it("publishes to the URI the client used, and reads the text of the document opened first", async () => {
    const other = otherUri();
    assert.notEqual(other, uriOf(conf));
    openAt(client, other, "[section path]\ntmp: /var/tmp/two\n[collect use.conf]\nbad: $[path/nope]\n");
    client.open(join(root, "use.conf"));
    await client.settled();
    // The only URI of metro.conf the client knows is its own: diagnostics, versions and locations use it.
    await client.waitFor(() => (published(client, other)?.diagnostics.length ?? 0) > 0, 10000, "diagnostics at the client's URI");
    assert.equal(published(client, other)!.version, 1);
    assert.deepEqual(published(client, uriOf(conf))?.diagnostics, [], "what the disk's text had under the file's own URI is cleared");
    assert.match((await hoverRun())!.contents.value, /\/var\/tmp\/two/, "the open text is evaluated");
    const defs = await client.definition(join(root, "use.conf"), 1, 9);
    assert.deepEqual(defs.map((d) => d.uri), [other]);

    // The same file opened again under its plain URI with another text: the first opened still wins.
    client.open(conf, CONF + "[collect use.conf]\n");
    await client.settled();
    assert.match((await hoverRun())!.contents.value, /\/var\/tmp\/two/);
    await client.waitFor(() => client.diagnosticsOf(conf).some((d) => d.code === "metro/open-twice"), 10000, "the note on the second document");
    assert.match(client.diagnosticsOf(conf)[0].message, /also open as ".*%2D.*metro\.conf", opened first, with another text/);
    assert.equal(await client.hover(conf, 1, 1), null, "no answers from a text the server does not follow");
    // Editing the second changes nothing evaluated; closing the first hands the file to the second.
    client.change(conf, { start: { line: 1, character: 14 }, end: { line: 1, character: 17 } }, "three");
    await client.settled();
    assert.match((await hoverRun())!.contents.value, /\/var\/tmp\/two/);
    client.notify("textDocument/didClose", { textDocument: { uri: other } });
    await client.settled();
    assert.match((await hoverRun())!.contents.value, /\/var\/tmp\/three/);
    await client.waitFor(() => !client.diagnosticsOf(conf).some((d) => d.code === "metro/open-twice"), 10000, "the note gone");
    await client.waitFor(() => (published(client, other)?.diagnostics.length ?? 0) === 0, 10000, "the closed URI cleared");
    assert.deepEqual((await client.definition(join(root, "use.conf"), 1, 9)).map((d) => d.uri), [uriOf(conf)]);
  });

  it("gives two URIs of one file holding the same text the same diagnostics, each under its own URI and version", async () => {
    const text = CONF + "[collect use.conf]\nbad: $[path/nope]\n";
    client.open(conf, text);
    const other = otherUri();
    openAt(client, other, text);
    await client.settled();
    await client.waitFor(() => (published(client, other)?.diagnostics.length ?? 0) > 0 && client.diagnosticsOf(conf).length > 0, 10000, "both published");
    assert.deepEqual(published(client, other)!.diagnostics, client.diagnosticsOf(conf));
    assert.ok(!client.diagnosticsOf(conf).some((d) => d.code === "metro/open-twice"));
  });

  it("reads one text for a file open through a symbolic link and its own path, the first opened", async () => {
    const link = join(root, "link.conf");
    symlinkSync("metro.conf", link);
    client.open(link, "[section path]\ntmp: /var/tmp/link\n[collect use.conf]\n");
    client.open(conf, CONF + "[collect use.conf]\n");
    client.open(join(root, "use.conf"));
    await client.settled();
    assert.match((await hoverRun())!.contents.value, /\/var\/tmp\/link/, "the context reads metro.conf: the link's text, opened first");
    await client.waitFor(() => client.diagnosticsOf(conf).some((d) => d.code === "metro/open-twice"), 10000, "the note on metro.conf");
    client.close(link);
    await client.settled();
    assert.match((await hoverRun())!.contents.value, /\/var\/tmp\/one/);
  });
});
