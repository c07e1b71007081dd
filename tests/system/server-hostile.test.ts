// The language server against folders, documents and bytes an attacker
// would send: links that loop or leave the tree, FIFOs and devices where
// files are expected, huge files and documents, requests before
// `initialize`, broken message framing. Every test runs the real bundled
// server over stdio with its heap capped at 512 MB (its budgets keep the
// worst case near 300 MB): a server that hung would time the test out, one
// that buffered without bound would die of the cap.

import { removeTempDirs, tempDir as newTempDir } from "../support/trees";
import * as assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync, closeSync, openSync } from "node:fs";
import { dirname, join } from "node:path";
import { createMessageConnection, StreamMessageReader, StreamMessageWriter, ResponseError } from "vscode-jsonrpc/node";
import { StdioClient, uriOf } from "../../server/testing/stdio-client";
import { PROJECT } from "../support/shared";
import { initializeAndShutDown } from "../support/raw-server";

const SERVER = join(PROJECT, "dist", "metro-language-server.js");
const HEAP_CAP = ["--max-old-space-size=512"];
/** Resident memory a server may hold after opening any of these folders (it holds about 60 MB on a small tree). */
const MAX_RSS = 768 * 1024 * 1024;

after(() => removeTempDirs());

/** A new temporary folder (removed after the tests), as its real path. */
const tempDir = () => newTempDir("metro-hostile-");

function write(root: string, files: Record<string, string>): void {
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), text);
  }
}

function mkfifo(path: string): void {
  execFileSync("mkfifo", [path]);
}

const ONE_CONTEXT = JSON.stringify([{ name: "only", config: "metro.conf", args: {} }]);

/** Starts the server on `root` with a capped heap and waits until it has indexed and evaluated everything. */
async function open(root: string): Promise<{ client: StdioClient; files: number }> {
  const client = await StdioClient.start({ serverPath: SERVER, root, nodeArgs: HEAP_CAP });
  const settled = await client.settled();
  // The heap cap does not bound buffers outside the heap (a read of /dev/zero): check the whole process.
  assert.ok(client.memory() < MAX_RSS, `the server holds ${client.memory()} bytes after opening the folder`);
  return { client, files: settled.trees.reduce((n, t) => n + t.files, 0) };
}

/** Waits until `path` has diagnostics with `code`, and returns them. */
async function diagnosticsWithCode(client: StdioClient, path: string, code: string) {
  await client.waitFor(() => client.diagnosticsOf(path).some((d) => d.code === code), 20000, `${code} on ${path}`);
  return client.diagnosticsOf(path);
}

describe("language server: hostile folders", function () {
  this.timeout(60000);

  it("walks a tree holding two links to `.` once (no exponential walk)", async () => {
    const root = tempDir();
    write(root, { "metro.conf": "a: 1\n", "etc/builds/x.conf": "b: 2\n" });
    symlinkSync(".", join(root, "self1"));
    symlinkSync(".", join(root, "self2"));
    symlinkSync("../..", join(root, "etc", "builds", "top"));
    const { client, files } = await open(root);
    try {
      assert.equal(files, 2, "metro.conf and etc/builds/x.conf, each once");
      assert.ok(client.alive());
    } finally {
      await client.stop();
    }
  });

  it("does not follow a link to the parent folder out of the tree", async () => {
    const parent = tempDir();
    const root = join(parent, "tree");
    write(parent, { "tree/metro.conf": "a: 1\n", "sibling/other.conf": "b: 2\n", "sibling/deep/more.conf": "c: 3\n" });
    symlinkSync("..", join(root, "up"));
    const { client, files } = await open(root);
    try {
      assert.equal(files, 1, "only the tree's own metro.conf");
      assert.deepEqual(client.diagnosticsOf(join(root, "up", "sibling", "other.conf")), []);
      assert.ok(client.alive());
    } finally {
      await client.stop();
    }
  });

  it("refuses a link placeholder that points to /dev/zero, with one diagnostic and a located error at the collect", async () => {
    const root = tempDir();
    const climb = "../".repeat(root.split("/").length + 2);
    write(root, {
      "metro.conf": "[collect etc/zero.conf]\nk: << etc/zero-data\n",
      "etc/zero.conf": `${climb}dev/zero`,
      "etc/zero-data": `${climb}dev/zero`,
      "metro-contexts.json": ONE_CONTEXT,
    });
    const { client } = await open(root);
    try {
      const atCollect = (await diagnosticsWithCode(client, join(root, "metro.conf"), "metro/link-outside-tree")).filter((d) => d.code === "metro/link-outside-tree");
      assert.equal(atCollect.length, 1);
      assert.equal(atCollect[0].range.start.line, 0);
      assert.match(atCollect[0].message, /link placeholder to ".*dev\/zero", outside the tree/);
      const own = await diagnosticsWithCode(client, join(root, "etc", "zero.conf"), "metro/link-outside-tree");
      assert.equal(own.length, 1, "one diagnostic on the placeholder itself");
      assert.ok(client.alive());
    } finally {
      await client.stop();
    }
  });

  it("reports a FIFO collected by a file at the collect line, and once on the FIFO", async () => {
    const root = tempDir();
    write(root, { "metro.conf": "a: 1\n[collect fifo.conf]\n", "metro-contexts.json": ONE_CONTEXT });
    mkfifo(join(root, "fifo.conf"));
    const { client } = await open(root);
    try {
      const d = (await diagnosticsWithCode(client, join(root, "metro.conf"), "metro/not-a-file")).find((x) => x.code === "metro/not-a-file")!;
      assert.equal(d.range.start.line, 1);
      assert.match(d.message, /fifo\.conf" is a FIFO, not a regular file/);
      const own = await diagnosticsWithCode(client, join(root, "fifo.conf"), "metro/not-a-file");
      assert.equal(own.length, 1);
      assert.match(own[0].message, /is a FIFO/);
    } finally {
      await client.stop();
    }
  });

  it("settles when metro.conf itself is a FIFO, saying so on it", async () => {
    const root = tempDir();
    write(root, { "etc/builds/x/build.conf": "a: 1\n", "targets/gentoo/stage3.spec": "b: 2\n" });
    mkfifo(join(root, "metro.conf"));
    const { client } = await open(root);
    try {
      const own = await diagnosticsWithCode(client, join(root, "metro.conf"), "metro/not-a-file");
      assert.equal(own.length, 1);
      assert.ok(client.alive());
    } finally {
      await client.stop();
    }
  });

  it("settles when metro-contexts.json is a FIFO, saying so on it and deriving contexts instead", async () => {
    const root = tempDir();
    write(root, { "metro.conf": "a: 1\n" });
    mkfifo(join(root, "metro-contexts.json"));
    const { client } = await open(root);
    try {
      const own = await diagnosticsWithCode(client, join(root, "metro-contexts.json"), "metro/bad-contexts-file");
      assert.equal(own.length, 1);
      assert.match(own[0].message, /is a FIFO, not a regular file/);
      const contexts = await client.request<{ trees: { source: string }[] }>("metro/contexts", {});
      assert.equal(contexts.trees[0].source, "derived");
      // Writing the contexts file does not block on the FIFO either.
      const w = await client.request<{ ok: boolean; message?: string }>("workspace/executeCommand", { command: "metro.server.writeContextsFile", arguments: [{ tree: root }] });
      assert.equal(w.ok, false);
      assert.match(w.message!, /metro-contexts\.json was not written: it is a FIFO/);
    } finally {
      await client.stop();
    }
  });

  it("does not write metro-contexts.json through a symbolic link", async () => {
    const parent = tempDir();
    const root = join(parent, "tree");
    write(parent, { "tree/metro.conf": "a: 1\n", "victim.txt": "untouched\n" });
    symlinkSync("../victim.txt", join(root, "metro-contexts.json"));
    const { client } = await open(root);
    try {
      const w = await client.request<{ ok: boolean; message?: string }>("workspace/executeCommand", { command: "metro.server.writeContextsFile", arguments: [{ tree: root }] });
      assert.equal(w.ok, false);
      assert.match(w.message!, /is a symbolic link: not written through/);
      assert.equal(readFileSync(join(parent, "victim.txt"), "utf8"), "untouched\n");
    } finally {
      await client.stop();
    }
  });

  it("skips a Metro file larger than the limit with one diagnostic", async () => {
    const root = tempDir();
    write(root, { "metro.conf": "a: 1\n" });
    const big = join(root, "big.conf");
    closeSync(openSync(big, "w"));
    truncateSync(big, 20 * 1024 * 1024); // sparse: 20 MiB that take no disk space
    const { client } = await open(root);
    try {
      const own = await diagnosticsWithCode(client, big, "metro/file-too-large");
      assert.equal(own.length, 1);
      assert.match(own[0].message, /is 20 MiB, more than the 1 MiB/);
    } finally {
      await client.stop();
    }
  });

  it("holds at most its budget of a tree's files: beyond it, files are skipped with a diagnostic each", async () => {
    const root = tempDir();
    // Eight files of 700 KB: 5.6 MB of Metro text, more than the 4 MiB a tree may hold.
    const line = (i: number, j: number) => `f${i}/key${j}: value ${j} of file ${i}\n`;
    const files: Record<string, string> = { "metro.conf": "a: 1\n" };
    for (let i = 0; i < 8; i++) {
      let text = "";
      for (let j = 0; text.length < 700 * 1024; j++) text += line(i, j);
      files[`part${i}.conf`] = text;
    }
    write(root, files);
    const { client, files: indexed } = await open(root);
    try {
      assert.ok(indexed >= 2 && indexed < 9, `some but not all files indexed (${indexed})`);
      const skipped = Object.keys(files).filter((f) => client.diagnosticsOf(join(root, f)).some((d) => d.code === "metro/file-too-large"));
      assert.equal(skipped.length, 9 - indexed);
      assert.match(client.diagnosticsOf(join(root, skipped[0]))[0].message, /exceed 4 MiB in total/);
      assert.ok(client.alive());
    } finally {
      await client.stop();
    }
  });

  it("lists a folder of more than 20,000 files in name order, entry files first, and says it stopped", async () => {
    const root = tempDir();
    write(root, { "metro.conf": "k: $[nowhere]\n", "metro-contexts.json": ONE_CONTEXT });
    // Names that sort before metro.conf, more than the walk lists.
    for (let i = 0; i <= 20000; i++) writeFileSync(join(root, `a${String(i).padStart(5, "0")}.txt`), "");
    const client = await StdioClient.start({ serverPath: SERVER, root, nodeArgs: HEAP_CAP });
    try {
      await client.settled();
      const entry = await diagnosticsWithCode(client, join(root, "metro.conf"), "metro/undefined-element");
      assert.ok(entry.some((d) => d.code === "metro/undefined-element" && d.message.includes('"nowhere"')), JSON.stringify(entry));
      const warnings = client.notifications.filter((n) => n.method === "window/showMessage").map((n) => (n.params as { message: string }).message);
      assert.equal(warnings.length, 1, warnings.join("\n"));
      assert.match(warnings[0], /holds more than 20000 files and folders; only the first 20000 \(in name order, metro\.conf and etc\/ first\) are analysed/);
    } finally {
      await client.stop();
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("opens at most 64 trees of a folder holding thousands, and says so once", async () => {
    const root = tempDir();
    const files: Record<string, string> = {};
    for (let i = 0; i < 300; i++) files[`t${i}/metro.conf`] = `a${i}: 1\n`;
    write(root, files);
    const client = await StdioClient.start({ serverPath: SERVER, root, nodeArgs: HEAP_CAP });
    try {
      const settled = await client.settled();
      assert.equal(settled.trees.length, 64);
      const warnings = client.notifications.filter((n) => n.method === "window/showMessage");
      assert.equal(warnings.length, 1);
      assert.match((warnings[0].params as { message: string }).message, /more than 64 Metro trees were found; only the first 64 are open/);
    } finally {
      await client.stop();
    }
  });

  it("indexes at most its budget of statements and references: a folder of dense files costs bounded memory", async () => {
    const root = tempDir();
    // Four files of 120,000 references each (600 KB apiece): more than the 200,000 a project indexes.
    const dense = (i: number) => `f${i}: ${"$[u] ".repeat(60)}\n`.repeat(2000);
    write(root, { "metro.conf": "a: 1\n", "d0.conf": dense(0), "d1.conf": dense(1), "d2.conf": dense(2), "d3.conf": dense(3) });
    const { client, files } = await open(root);
    try {
      assert.equal(files, 2, "metro.conf and one dense file");
      const skipped = ["d0.conf", "d1.conf", "d2.conf", "d3.conf"].filter((f) => client.diagnosticsOf(join(root, f)).some((d) => d.code === "metro/file-too-large"));
      assert.equal(skipped.length, 3);
      assert.match(client.diagnosticsOf(join(root, skipped[0]))[0].message, /holds 122000 statements and references; with the files already indexed that is more than the 200000/);
      assert.ok(client.alive());
    } finally {
      await client.stop();
    }
  });
});

describe("language server: huge inputs", function () {
  this.timeout(120000);

  it("starts on a file with 150,000 undefined references and publishes a bounded list of them", async () => {
    const root = tempDir();
    // 3,000 lines of 50 references to an undefined name: 750 KB, under the size limit.
    let n = 0;
    const text = `k: ${"$[u] ".repeat(50)}\n`.repeat(3000).replace(/^k:/gm, () => `k${n++}:`);
    write(root, { "metro.conf": text, "metro-contexts.json": ONE_CONTEXT });
    const { client } = await open(root);
    try {
      const path = join(root, "metro.conf");
      await client.waitFor(() => client.diagnosticsOf(path).length > 0, 60000, "diagnostics of the huge file");
      const d = client.diagnosticsOf(path);
      assert.equal(d.length, 1001, "1,000 findings and one saying how many more");
      assert.equal(d.at(-1)!.code, "metro/too-many-findings");
      // The context's finding on each of the 3,000 keys (where it fails first) and the run's error at the entry
      // file; the index's guesses about the same references are left to the context's verdicts (one per problem).
      assert.match(d.at(-1)!.message, /^2001 more findings in this file are not shown/);
      assert.ok(client.alive());
    } finally {
      await client.stop();
    }
  });

  it("evaluates a chain of 100,000 files each collecting the next, and hovers the value at its end", async () => {
    const root = tempDir();
    const n = 100000;
    write(root, { "metro.conf": "[collect c0.conf]\nk: $[v0]\n", "metro-contexts.json": ONE_CONTEXT });
    for (let i = 0; i < n; i++) writeFileSync(join(root, `c${i}.conf`), i < n - 1 ? `v${i}: $[v${i + 1}]\n[collect c${i + 1}.conf]\n` : `v${i}: end\n`);
    const { client } = await open(root);
    try {
      const h = await client.hover(join(root, "metro.conf"), 1, 5);
      assert.match(h!.contents.value, /In \*\*only\*\* \(active context[^\n]*\n`` end ``/);
      assert.ok(client.alive());
    } finally {
      await client.stop();
      // Removed here, within the test's time: 100,000 files take longer than the after-all hook may.
      rmSync(root, { recursive: true, force: true });
    }
  });

  for (const [what, make] of [
    ["a 20 MB document of short lines", () => "k: v\n".repeat(4 * 1024 * 1024)],
    ["a 20 MB document on one line", () => "k: " + "$[x]".repeat(5 * 1024 * 1024) + "\n"],
  ] as const) {
    it(`stays alive and answering when ${what} is opened in a tree and outside any tree`, async () => {
      const root = tempDir();
      write(root, { "metro.conf": "a: 1\n", "big.conf": "b: 2\n" });
      const loose = join(tempDir(), "loose.conf");
      const { client } = await open(root);
      try {
        const text = make();
        const path = join(root, "big.conf");
        client.open(path, text);
        client.open(loose, text);
        const d = await diagnosticsWithCode(client, path, "metro/file-too-large");
        assert.equal(d.length, 1);
        assert.match(d[0].message, /this file is 20 MiB, more than the 1 MiB/);
        const l = await diagnosticsWithCode(client, loose, "metro/file-too-large");
        assert.equal(l.length, 1);
        // Still answering requests, on the huge document and elsewhere.
        assert.equal(await client.hover(path, 0, 1), null);
        const h = await client.hover(join(root, "metro.conf"), 0, 0);
        assert.ok(h, "hover on a normal file answers");
        // Back to a sane size: analysed again.
        client.change(path, null, "b: $[nowhere]\n");
        await diagnosticsWithCode(client, path, "metro/undefined-reference");
        assert.ok(client.alive());
      } finally {
        await client.stop();
      }
    });
  }
});

/** Spawns the server with a capped heap; resolves with its exit code and stderr once it ends. */
function spawnServer() {
  const proc = spawn(process.execPath, [...HEAP_CAP, SERVER, "--stdio"], { stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  proc.stderr!.on("data", (d) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; stderr: string }>((resolve) => proc.on("exit", (code) => resolve({ code, stderr })));
  return { proc, exited };
}

describe("language server: protocol", function () {
  this.timeout(30000);

  it("answers a request before initialize with ServerNotInitialized (-32002), then initializes normally", async () => {
    const { proc, exited } = spawnServer();
    const connection = createMessageConnection(new StreamMessageReader(proc.stdout!), new StreamMessageWriter(proc.stdin!));
    connection.listen();
    try {
      const root = tempDir();
      write(root, { "metro.conf": "a: 1\n" });
      await assert.rejects(
        connection.sendRequest("textDocument/hover", { textDocument: { uri: uriOf(join(root, "metro.conf")) }, position: { line: 0, character: 0 } }),
        (e: unknown) => e instanceof ResponseError && e.code === -32002 && /not initialized/.test(e.message),
      );
      await assert.rejects(connection.sendRequest("metro/settled", null), (e: unknown) => e instanceof ResponseError && e.code === -32002);
      // A notification before initialize is dropped, not queued.
      void connection.sendNotification("textDocument/didOpen", { textDocument: { uri: uriOf(join(root, "metro.conf")), languageId: "metro", version: 1, text: "a: 1\n" } });
      await initializeAndShutDown(connection, root, process.pid);
      assert.equal((await exited).code, 0);
    } finally {
      connection.dispose();
      proc.kill();
    }
  });

  const framing: [string, string | Buffer, RegExp][] = [
    ["a Content-Length that is not a number", "Content-Length: abc\r\n\r\n{}", /Content-Length is not a number of bytes: "abc"/],
    ["a Content-Length of a terabyte", "Content-Length: 1099511627776\r\n\r\n{", /announces 1099511627776 bytes, more than the 67108864/],
    ["no Content-Length", "Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n{}", /no Content-Length header/],
    ["a header line without a colon", "Content-Length 10\r\n\r\n0123456789", /header line is malformed: "Content-Length 10"/],
    ["a header that never ends", Buffer.alloc(1024 * 1024, "x"), /longer than 8192 bytes without ending/],
  ];
  for (const [what, bytes, message] of framing) {
    it(`stops with a clear message on stderr at ${what}`, async () => {
      const { proc, exited } = spawnServer();
      proc.stdin!.on("error", () => {}); // the server may stop before reading everything
      proc.stdin!.write(bytes);
      const { code, stderr } = await exited;
      assert.equal(code, 1);
      assert.match(stderr, /^metro-language-server: stopping: /);
      assert.match(stderr, message);
      assert.doesNotMatch(stderr, /\n\s+at /, "no stack trace");
    });
  }

  it("passes well-formed messages split at every byte", async () => {
    const { proc, exited } = spawnServer();
    const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { processId: null, rootUri: null, capabilities: {} } });
    const message = Buffer.from(`Content-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n${body}`);
    let out = "";
    const answered = new Promise<void>((resolve) =>
      proc.stdout!.on("data", (d) => {
        out += d.toString();
        if (/"capabilities"/.test(out)) resolve();
      }),
    );
    for (let i = 0; i < message.length; i++) proc.stdin!.write(message.subarray(i, i + 1));
    await answered;
    proc.stdin!.end();
    const { code } = await exited;
    assert.equal(code, 1, "stdin closed without shutdown: exit 1, as the protocol says");
  });
});

describe("language server: a careless client", function () {
  this.timeout(60000);
  const CONF = "[section path]\n\ninstall: /x\ntmp: /var/tmp/metro\n\n[section steps]\n\nrun: echo $[path/tmp]\n";
  let root: string;
  let conf: string;
  let client: StdioClient;
  const doc = () => ({ uri: uriOf(conf) });
  const logged = (re: RegExp) => client.notifications.filter((n) => n.method === "window/logMessage" && re.test((n.params as { message: string }).message));
  const shown = (re: RegExp) => client.notifications.filter((n) => n.method === "window/showMessage" && re.test((n.params as { message: string }).message));
  const hoverTmp = () => client.hover(conf, 7, 14);
  /** Asserts the request is refused with `code` and a message matching `message`. */
  async function refused(method: string, params: unknown, code: number, message: RegExp): Promise<void> {
    await assert.rejects(client.request(method, params), (e: unknown) => e instanceof ResponseError && e.code === code && message.test(e.message) && !/\n\s+at /.test(e.message));
  }

  beforeEach(async () => {
    root = tempDir();
    write(root, { "metro.conf": CONF, "metro-contexts.json": ONE_CONTEXT });
    conf = join(root, "metro.conf");
    ({ client } = await open(root));
    client.open(conf);
    await client.settled();
  });
  afterEach(async () => {
    await client?.stop();
  });

  it("drops a malformed didOpen or didChange with a warning naming the field, keeping the document's text", async () => {
    client.notify("textDocument/didOpen", { textDocument: { uri: uriOf(join(root, "other.conf")) } });
    const v = { uri: uriOf(conf), version: 2 };
    client.notify("textDocument/didChange", { textDocument: v, contentChanges: [{ text: 42 }] });
    client.notify("textDocument/didChange", { textDocument: v, contentChanges: [{ range: { start: { line: 5, character: 0 }, end: { line: 2, character: 3 } }, text: "x" }] });
    client.notify("textDocument/didChange", { textDocument: v, contentChanges: [{ range: { start: { line: -1, character: 0 }, end: { line: 0, character: 0 } }, text: "x" }] });
    client.notify("textDocument/didChange", { textDocument: v, contentChanges: "nope" });
    await client.settled();
    assert.ok(client.alive(), "the server is alive");
    assert.equal(logged(/textDocument\/didOpen ignored: "textDocument.languageId" must be a string, not missing/).length, 1);
    assert.equal(logged(/didChange ignored: "contentChanges\[0\]\.text" must be a string, not 42/).length, 1);
    assert.equal(logged(/didChange ignored: "contentChanges\[0\]\.range" ends \(line 2, character 3\) before it starts/).length, 1);
    assert.equal(logged(/didChange ignored: "contentChanges\[0\]\.range\.start\.line" must be a whole number of 0 or more, not -1/).length, 1);
    assert.equal(logged(/didChange ignored: "contentChanges" must be an array/).length, 1);
    assert.match((await hoverTmp())!.contents.value, /\/var\/tmp\/metro/, "the text is the one opened");
    const formatted = await client.request<unknown[]>("textDocument/formatting", { textDocument: doc(), options: { tabSize: 2, insertSpaces: true } });
    assert.deepEqual(formatted, [], "nothing was inserted into the document");
  });

  it("refuses a rename onto an element that exists, or to a name that would not read back as one name", async () => {
    const at = { textDocument: doc(), position: { line: 7, character: 16 } };
    await refused("textDocument/rename", { ...at, newName: "path/install" }, -32600, /`path\/install` is already defined \(metro\.conf:3\)/);
    await refused("textDocument/rename", { ...at, newName: "install" }, -32600, /already defined/);
    await refused("textDocument/rename", { ...at, newName: "path/a:b" }, -32602, /`:` starts a modifier/);
    await refused("textDocument/rename", { ...at, newName: "path/t?" }, -32602, /final `\?`/);
    await refused("textDocument/rename", { ...at, newName: "path/#t" }, -32602, /`#` is a comment/);
    const edit = await client.request<{ changes: Record<string, { newText: string }[]> }>("textDocument/rename", { ...at, newName: "path/temp" });
    assert.deepEqual(Object.values(edit.changes)[0].map((e) => e.newText).sort(), ["path/temp", "temp"]);
  });

  it("refuses the methods it makes up for itself, a second initialize and every request after shutdown", async () => {
    await refused("$/metro/invalidInitialize", null, -32601, /unknown method "\$\/metro\/invalidInitialize"/);
    await refused("$/metro/notInitialized", { method: "x" }, -32601, /unknown method/);
    await refused("initialize", { processId: null, rootUri: null, capabilities: {} }, -32600, /already initialized/);
    await client.request("shutdown", null);
    await refused("textDocument/hover", { textDocument: doc(), position: { line: 7, character: 14 } }, -32600, /shut down: it answers no more requests \("textDocument\/hover"\)/);
    await refused("metro/settled", null, -32600, /shut down/);
  });

  it("refuses to format a document larger than it analyses, and stays answering", async () => {
    const big = join(root, "big.conf");
    client.open(big, "a: b\n".repeat(300 * 1024));
    await refused("textDocument/formatting", { textDocument: { uri: uriOf(big) }, options: { tabSize: 2, insertSpaces: true } }, -32803, /The document is 1\.5 MiB|The document is [\d,.]+ (MiB|bytes), larger than the 1 MiB the server formats/);
    await refused("textDocument/rangeFormatting", { textDocument: { uri: uriOf(big) }, range: { start: { line: 0, character: 0 }, end: { line: 1, character: 0 } }, options: { tabSize: 2, insertSpaces: true } }, -32803, /larger than the 1 MiB/);
    assert.ok(await hoverTmp());
  });

  it("evaluates at most 1,024 contexts of a long setting and says what is wrong with a malformed one", async () => {
    const set = async (contexts: unknown) => {
      client.settings = { metro: { contexts } };
      client.notify("workspace/didChangeConfiguration", { settings: { metro: { contexts } } });
      await client.settled();
      await client.settled();
    };
    await set("metro.conf");
    await client.waitFor(() => shown(/metro\.contexts setting: it must be a list of .*not a string: it is ignored/).length === 1, 10000, "the warning about a string");
    await set([1, { name: "x" }, { name: "y", config: "metro.conf", args: "z" }]);
    await client.waitFor(() => shown(/entry 1 is not an object; entry 2 has no "config" path; entry 3: "args" must be an object/).length === 1, 10000, "the warning about bad entries");
    await set(Array.from({ length: 1100 }, (_, i) => ({ name: `c${i}`, config: "metro.conf", args: { k: `$[${i}` } })));
    await client.waitFor(() => shown(/76 contexts past the first 1024 are not used/).length === 1, 10000, "the warning about the limit");
    const settled = await client.settled();
    assert.equal(settled.trees[0].contexts, 1024);
  });

  it("stops following a document that edits grow past what one message carries, saying so once", async () => {
    const grown = join(root, "grown.conf");
    client.open(grown, "a: 1\n");
    const chunk = ("x: " + "y".repeat(1020) + "\n").repeat(40 * 1024); // 40 MiB of long lines
    for (const version of [2, 3]) {
      client.notify("textDocument/didChange", { textDocument: { uri: uriOf(grown), version }, contentChanges: [{ range: { start: { line: 1, character: 0 }, end: { line: 1, character: 0 } }, text: chunk }] });
    }
    await client.settled();
    await client.waitFor(() => shown(/grown\.conf has grown past 64 MiB: the language server stops following it until it is closed and opened again/).length === 1, 20000, "the warning");
    await refused("textDocument/hover", { textDocument: { uri: uriOf(grown) }, position: { line: 0, character: 0 } }, -32602, /unknown document/);
    assert.ok(client.memory() < MAX_RSS, `the server holds ${client.memory()} bytes`);
    assert.ok(await hoverTmp(), "other documents are answered");
  });

  it("names a few of a contexts file's thousands of bad entries, and does not read metro-contexts.json as a Metro file when it is opened", async () => {
    const file = join(root, "metro-contexts.json");
    writeFileSync(file, JSON.stringify(Array.from({ length: 5000 }, () => 5)));
    client.notify("workspace/didChangeWatchedFiles", { changes: [{ uri: uriOf(file), type: 2 }] });
    const [d] = await diagnosticsWithCode(client, file, "metro/bad-contexts-file");
    assert.match(d.message, /entry 5 is not an object; and 4995 more$/);
    assert.ok(d.message.length < 400, `a message of ${d.message.length} characters`);
    writeFileSync(file, ONE_CONTEXT);
    client.notify("workspace/didChangeWatchedFiles", { changes: [{ uri: uriOf(file), type: 2 }] });
    await client.waitFor(() => client.diagnosticsOf(file).length === 0, 10000, "no diagnostics on a good contexts file");
    client.notify("textDocument/didOpen", { textDocument: { uri: uriOf(file), languageId: "json", version: 1, text: ONE_CONTEXT } });
    const settled = await client.settled();
    assert.equal(settled.trees[0].files, 1, "only metro.conf is a Metro file");
    assert.deepEqual(client.diagnosticsOf(file), []);
    assert.equal(await client.request("textDocument/hover", { textDocument: { uri: uriOf(file) }, position: { line: 0, character: 3 } }), null);
  });
});

describe("language server: writing metro-contexts.json", function () {
  this.timeout(60000);
  const start = async (root: string) => (await open(root)).client;
  for (const [what, text, message] of [
    ["not valid JSON", '[{"name": "x", "config": "metro.conf",\n', /not written: it holds entries the server does not use \(not valid JSON/],
    ["holding an entry that is left out", JSON.stringify([{ name: "x", config: "metro.conf", args: {} }, { name: "y", config: "metro.conf", args: { k: 5 } }]), /not written: it holds entries the server does not use \(entry 2: the value of "k" must be a string\)/],
    ["listing more contexts than are evaluated", JSON.stringify(Array.from({ length: 1030 }, (_, i) => ({ name: `c${i}`, config: "metro.conf", args: {} }))), /not written: it holds entries the server does not use \(6 past the first 1024\)/],
  ] as [string, string, RegExp][]) {
    it(`does not overwrite a metro-contexts.json ${what}`, async () => {
      const root = tempDir();
      write(root, { "metro.conf": "a: 1\n", "metro-contexts.json": text });
      const client = await start(root);
      try {
        const w = await client.request<{ ok: boolean; message?: string }>("workspace/executeCommand", { command: "metro.server.writeContextsFile", arguments: [{ tree: root }] });
        assert.equal(w.ok, false);
        assert.match(w.message!, message);
        assert.equal(readFileSync(join(root, "metro-contexts.json"), "utf8"), text, "the file is as it was");
      } finally {
        await client.stop();
      }
    });
  }

  it("rewrites a metro-contexts.json whose entries are all in use", async () => {
    const root = tempDir();
    write(root, { "metro.conf": "a: 1\n", "metro-contexts.json": ONE_CONTEXT });
    const client = await start(root);
    try {
      const w = await client.request<{ ok: boolean }>("workspace/executeCommand", { command: "metro.server.writeContextsFile", arguments: [{ tree: root }] });
      assert.equal(w.ok, true);
      assert.deepEqual(JSON.parse(readFileSync(join(root, "metro-contexts.json"), "utf8")), JSON.parse(ONE_CONTEXT));
    } finally {
      await client.stop();
    }
  });
});
