// Malformed request parameters against the bundled server over stdio: every
// request the server answers refuses them with the JSON-RPC error "invalid
// params" (-32602) and a sentence naming the field, and keeps answering
// well-formed requests; a character past the end of its line is taken as
// the line's end (LSP 3.17, Position), not refused.

import * as assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { createMessageConnection, ResponseError, StreamMessageReader, StreamMessageWriter } from "vscode-jsonrpc/node";
import { StdioClient, uriOf } from "../../server/testing/stdio-client";
import { PROJECT } from "../support/shared";
import { initializeAndShutDown } from "../support/raw-server";
import { removeTempDirs, writeTree } from "../support/trees";

const SERVER = join(PROJECT, "dist", "metro-language-server.js");
const INVALID_PARAMS = -32602;

const METRO_CONF = `[section path]

install: @ROOT@
tmp: /var/tmp/metro

[section steps]

run: echo $[path/tmp]
chroot: [
echo $[path/install]
]
`;

/** Asserts that the request is refused as invalid params with a message matching `message`; returns the message. */
async function refused(client: StdioClient, method: string, params: unknown, message: RegExp): Promise<string> {
  const error = await client.request(method, params).then(
    (answer) => assert.fail(`${method} ${JSON.stringify(params)?.slice(0, 300)} was answered ${JSON.stringify(answer)?.slice(0, 300)}`),
    (e: unknown) => e,
  );
  assert.ok(error instanceof ResponseError, `${method}: ${String(error)}`);
  assert.equal(error.code, INVALID_PARAMS, `${method} ${JSON.stringify(params).slice(0, 300)}: ${error.code} ${error.message}`);
  assert.match(error.message, message, `${method} ${JSON.stringify(params)?.slice(0, 300)}: ${error.message}`);
  return error.message;
}

describe("language server: malformed request parameters (stdio)", function () {
  this.timeout(60_000);
  let root: string;
  let conf: string;
  let uri: string;
  let client: StdioClient;
  /** The line of `run: echo $[path/tmp]` and its length. */
  let runLine: number;
  let runLength: number;
  let lineCount: number;

  before(async function () {
    if (!existsSync(SERVER)) throw new Error(`${SERVER} is missing (run npm run build)`);
    root = writeTree({ "metro.conf": METRO_CONF, "metro-contexts.json": JSON.stringify([{ name: "only", config: "metro.conf", args: {} }]) });
    conf = join(root, "metro.conf");
    uri = uriOf(conf);
    const lines = readFileSync(conf, "utf8").split("\n");
    runLine = lines.findIndex((l) => l.startsWith("run: "));
    runLength = lines[runLine].length;
    lineCount = lines.length;
    client = await StdioClient.start({ serverPath: SERVER, root, nodeArgs: ["--max-old-space-size=256"] });
    await client.settled();
    client.open(conf);
  });

  after(async () => {
    await client?.stop();
    removeTempDirs();
  });

  const doc = () => ({ uri });
  const position = () => ({ line: runLine, character: 5 });
  const range = () => ({ start: { line: 0, character: 0 }, end: { line: runLine, character: 0 } });
  /** Each document request with well-formed parameters. */
  const requests: [string, () => Record<string, unknown>][] = [
    ["textDocument/hover", () => ({ textDocument: doc(), position: position() })],
    ["textDocument/definition", () => ({ textDocument: doc(), position: position() })],
    ["textDocument/references", () => ({ textDocument: doc(), position: position(), context: { includeDeclaration: true } })],
    ["textDocument/prepareRename", () => ({ textDocument: doc(), position: position() })],
    ["textDocument/rename", () => ({ textDocument: doc(), position: { line: runLine, character: runLength - 3 }, newName: "path/temp" })],
    ["textDocument/completion", () => ({ textDocument: doc(), position: position() })],
    ["textDocument/inlayHint", () => ({ textDocument: doc(), range: range() })],
    ["textDocument/codeAction", () => ({ textDocument: doc(), range: range(), context: { diagnostics: [] } })],
    ["textDocument/rangeFormatting", () => ({ textDocument: doc(), range: range(), options: { tabSize: 2, insertSpaces: true } })],
    ["textDocument/formatting", () => ({ textDocument: doc(), options: { tabSize: 2, insertSpaces: true } })],
    ["textDocument/documentSymbol", () => ({ textDocument: doc() })],
    ["textDocument/foldingRange", () => ({ textDocument: doc() })],
    ["textDocument/semanticTokens/full", () => ({ textDocument: doc() })],
    ["textDocument/documentLink", () => ({ textDocument: doc() })],
    ["textDocument/codeLens", () => ({ textDocument: doc() })],
  ];

  it("answers each document request when its parameters are well formed", async () => {
    for (const [method, params] of requests) await client.request(method, params());
    const hover = await client.request<{ contents: { value: string } } | null>("textDocument/hover", { textDocument: doc(), position: { line: runLine, character: runLength - 3 } });
    assert.match(hover!.contents.value, /\/var\/tmp\/metro/);
  });

  it("refuses parameters that are not an object, a missing or malformed textDocument, and an unknown document", async () => {
    for (const [method, params] of requests) {
      // vscode-jsonrpc itself refuses parameters that are not an object for these requests.
      await refused(client, method, null, /parameters/);
      await refused(client, method, { ...params(), textDocument: undefined }, /"textDocument" must be an object, not missing/);
      await refused(client, method, { ...params(), textDocument: { uri: 42 } }, /"textDocument\.uri" must be a string, not 42/);
      await refused(client, method, { ...params(), textDocument: { uri: "metro.conf" } }, /"textDocument\.uri" must be a URI/);
      const unknown = uriOf(join(root, "nowhere", "x.conf"));
      const m = await refused(client, method, { ...params(), textDocument: { uri: unknown } }, /unknown document/);
      assert.ok(m.includes(unknown), m);
    }
  });

  it("refuses a negative, fractional or non-numeric position and a line past the end of the document", async () => {
    for (const [method, params] of requests) {
      const p = params();
      if (!("position" in p)) continue;
      await refused(client, method, { ...p, position: undefined }, /"position" must be an object, not missing/);
      await refused(client, method, { ...p, position: { line: -1, character: 0 } }, /"position\.line" must be a whole number of 0 or more, not -1/);
      await refused(client, method, { ...p, position: { line: 0, character: 1.5 } }, /"position\.character" must be a whole number of 0 or more, not 1\.5/);
      await refused(client, method, { ...p, position: { line: "3", character: 0 } }, /"position\.line" must be a whole number of 0 or more, not "3" \(a string\)/);
      await refused(client, method, { ...p, position: [runLine, 0] }, /"position" must be an object, not an array/);
      await refused(client, method, { ...p, position: { line: 1_000_000, character: 0 } }, new RegExp(`"position" is on line 1000000, past the end of the document \\(lines 0 to ${lineCount - 1}\\)`));
      await refused(client, method, { ...p, position: { line: lineCount + 1, character: 0 } }, /past the end of the document/);
    }
  });

  it("refuses a range that ends before it starts or has a malformed end", async () => {
    for (const [method, params] of requests) {
      const p = params();
      if (!("range" in p)) continue;
      await refused(client, method, { ...p, range: { start: { line: 3, character: 2 }, end: { line: 1, character: 0 } } }, /"range" ends \(line 1, character 0\) before it starts \(line 3, character 2\)/);
      await refused(client, method, { ...p, range: { start: { line: 3, character: 2 }, end: { line: 3, character: 1 } } }, /"range" ends \(line 3, character 1\) before it starts/);
      await refused(client, method, { ...p, range: { start: { line: 0, character: 0 } } }, /"range\.end" must be an object, not missing/);
      await refused(client, method, { ...p, range: { start: { line: 0, character: 0 }, end: { line: 0, character: -4 } } }, /"range\.end\.character" must be a whole number of 0 or more, not -4/);
      await refused(client, method, { ...p, range: { start: { line: 0, character: 0 }, end: { line: 500, character: 0 } } }, /"range\.end" is on line 500, past the end of the document/);
    }
  });

  it("refuses wrong types in the fields particular to a request", async () => {
    const base = { textDocument: doc(), position: position() };
    await refused(client, "textDocument/references", { ...base, context: { includeDeclaration: "yes" } }, /"context\.includeDeclaration" must be true or false, not "yes" \(a string\)/);
    await refused(client, "textDocument/references", base, /"context" must be an object, not missing/);
    await refused(client, "textDocument/rename", { ...base, newName: 5 }, /"newName" must be a string, not 5/);
    await refused(client, "textDocument/completion", { ...base, context: { triggerKind: 9 } }, /"context\.triggerKind" must be 1, 2 or 3/);
    await refused(client, "textDocument/codeAction", { textDocument: doc(), range: range(), context: { diagnostics: {} } }, /"context\.diagnostics" must be an array, not an object/);
    await refused(client, "textDocument/codeAction", { textDocument: doc(), range: range(), context: { diagnostics: [{ range: range() }] } }, /"context\.diagnostics\[0\]\.message" must be a string, not missing/);
    await refused(client, "textDocument/formatting", { textDocument: doc() }, /"options" must be an object, not missing/);
    await refused(client, "textDocument/formatting", { textDocument: doc(), options: { tabSize: -2, insertSpaces: true } }, /"options\.tabSize" must be a whole number of 0 or more, not -2/);
    await refused(client, "completionItem/resolve", { kind: 6 }, /"label" must be a string, not missing/);
    await refused(client, "completionItem/resolve", { label: "x", data: { tree: 1 } }, /"data\.tree" must be a string, not 1/);
    await refused(client, "workspace/symbol", { query: 5 }, /"query" must be a string, not 5/);
    await refused(client, "workspace/symbol", {}, /"query" must be a string, not missing/);
  });

  it("refuses malformed parameters of the metro/ requests and of the commands", async () => {
    await refused(client, "metro/contexts", { tree: 5 }, /"tree" must be a string, not 5/);
    await refused(client, "metro/contextCandidates", { uri: "no scheme" }, /"uri" must be a URI/);
    await refused(client, "metro/expandedValue", { uri, position: { line: -1, character: 0 } }, /"position\.line" must be a whole number of 0 or more, not -1/);
    await refused(client, "metro/expandedValue", { name: ["path/tmp"] }, /"name" must be a string, not an array/);
    await refused(client, "metro/expandedValue", "path/tmp", /the parameters must be an object, not "path\/tmp" \(a string\)/);
    await refused(client, "metro/graph", { key: 1 }, /"key" must be a string, not 1/);
    await refused(client, "metro/memory", { gc: "yes" }, /"gc" must be true or false/);
    await refused(client, "workspace/executeCommand", { command: "metro.server.format" }, /unknown command "metro\.server\.format": the server executes metro\.server\.setActiveContext and metro\.server\.writeContextsFile/);
    await refused(client, "workspace/executeCommand", { command: 7 }, /"command" must be a string, not 7/);
    await refused(client, "workspace/executeCommand", { command: "metro.server.setActiveContext", arguments: [{ tree: root }] }, /"arguments\[0\]\.name" must be a string, not missing/);
    await refused(client, "workspace/executeCommand", { command: "metro.server.setActiveContext", arguments: "x" }, /"arguments" must be an array/);
    // Well formed, they are answered (a place that holds no tree has no contexts).
    assert.deepEqual(await client.request("metro/contexts", { tree: "/nonexistent/metro-tree" }), { trees: [] });
    const contexts = await client.request<{ trees: { root: string }[] }>("metro/contexts", { tree: root });
    assert.deepEqual(contexts.trees.map((t) => t.root), [root]);
    const value = await client.request<{ name: string; text: string } | null>("metro/expandedValue", { tree: root, name: "path/tmp" });
    assert.equal(value?.text, "/var/tmp/metro\n");
  });

  it("takes a character past the end of its line as the line's end, and the line after the last as the end of the document", async () => {
    // `run: echo $[path/tmp]` ends with the reference: past the line's end is still on it.
    const atEnd = await client.request<{ contents: { value: string } } | null>("textDocument/hover", { textDocument: doc(), position: { line: runLine, character: runLength } });
    assert.match(atEnd!.contents.value, /\/var\/tmp\/metro/);
    for (const character of [runLength + 1, 10_000, 2 ** 31 - 1, 2 ** 40]) {
      const past = await client.request<{ contents: { value: string } } | null>("textDocument/hover", { textDocument: doc(), position: { line: runLine, character } });
      assert.deepEqual(past, atEnd, `character ${character}`);
      const defs = await client.request<{ range: { start: { line: number } } }[]>("textDocument/definition", { textDocument: doc(), position: { line: runLine, character } });
      assert.deepEqual(defs.map((d) => d.range.start.line), [METRO_CONF.split("\n").findIndex((l) => l.startsWith("tmp:"))]);
    }
    // A range from the start to the line after the last is the whole document (Neovim's inlay hint range).
    const symbols = await client.request<unknown[]>("textDocument/documentSymbol", { textDocument: doc() });
    assert.ok(symbols.length > 0);
    const whole = await client.request<unknown[]>("textDocument/inlayHint", { textDocument: doc(), range: { start: { line: 0, character: 0 }, end: { line: lineCount, character: 0 } } });
    assert.ok(Array.isArray(whole));
    // The same for a Metro file of the tree that is not open (its text as indexed).
    client.close(conf);
    const closed = await client.request<{ contents: { value: string } } | null>("textDocument/hover", { textDocument: doc(), position: { line: runLine, character: 99_999 } });
    assert.match(closed!.contents.value, /\/var\/tmp\/metro/);
    await refused(client, "textDocument/hover", { textDocument: doc(), position: { line: lineCount + 5, character: 0 } }, /past the end of the document/);
    client.open(conf);
  });

  it("quotes at most a bounded excerpt of a huge parameter in its refusal, and stays alive", async () => {
    const huge = uriOf(join(root, "x".repeat(100_000) + ".conf"));
    const m = await refused(client, "textDocument/hover", { textDocument: { uri: huge }, position: { line: 0, character: 0 } }, /unknown document "file:\/\/\/.*…" \(100,\d{3} characters\)/);
    assert.ok(m.length < 400, `${m.length} characters`);
    const m2 = await refused(client, "textDocument/hover", { textDocument: { uri: "y".repeat(100_000) }, position: { line: 0, character: 0 } }, /must be a URI/);
    assert.ok(m2.length < 400, `${m2.length} characters`);
    assert.ok(client.alive());
    const hover = await client.request<{ contents: { value: string } } | null>("textDocument/hover", { textDocument: doc(), position: { line: runLine, character: runLength - 3 } });
    assert.match(hover!.contents.value, /\/var\/tmp\/metro/);
  });
});

describe("language server: diagnostics about a value of 100 KB (stdio)", function () {
  this.timeout(60_000);
  after(() => removeTempDirs());

  it("quote an excerpt of the value, name or condition, each message a few hundred characters", async () => {
    const big = "v".repeat(100_000);
    const name = "n".repeat(100_000);
    const root = writeTree({
      "metro.conf": `[section path]\n\ntmp: /var/tmp/metro\n`,
      "metro-contexts.json": JSON.stringify([{ name: "only", config: "metro.conf", args: {} }]),
    });
    const conf = join(root, "metro.conf");
    const client = await StdioClient.start({ serverPath: SERVER, root, nodeArgs: ["--max-old-space-size=256"] });
    try {
      await client.settled();
      const text = [`[section path]`, ``, `tmp: /var/tmp/metro`, `unterminated: $[${big}`, `undefined: $[${name}]`, `modifier: $[a:${big}]`, `[when ${big} is]`, `x: 1`, `[when]`, `${name}: 1`, `${name}: 2`, ``].join("\n");
      client.open(conf, text);
      await client.waitFor(() => client.diagnosticsOf(conf).length >= 4, 20_000, "diagnostics of metro.conf");
      await client.settled();
      const diagnostics = client.diagnosticsOf(conf);
      const messages = diagnostics.flatMap((d) => [d.message, ...(d.relatedInformation ?? []).map((r) => r.message)]);
      for (const m of messages) assert.ok(m.length < 1000, `a message of ${m.length} characters: ${m.slice(0, 300)}`);
      assert.ok(messages.some((m) => /\(100,0\d\d characters\)/.test(m)), messages.join("\n").slice(0, 3000));
      // Hover on the long name (its definition, a reference to it) and on a long value names an excerpt of each.
      for (const [line, character] of [[9, 2], [4, 20], [3, 2]]) {
        const hover = await client.hover(conf, line, character);
        assert.ok(hover && hover.contents.value.length < 2000, `${hover?.contents.value.length} characters of hover at ${line}:${character}`);
      }
    } finally {
      await client.stop();
    }
  });
});

describe("language server: malformed initialize (stdio)", function () {
  this.timeout(60_000);

  it("refuses initialize with malformed parameters as invalid params, then initializes with good ones", async () => {
    const proc = spawn(process.execPath, [SERVER, "--stdio"], { stdio: ["pipe", "pipe", "pipe"] });
    const exited = new Promise<number | null>((resolve) => proc.on("exit", (code) => resolve(code)));
    const connection = createMessageConnection(new StreamMessageReader(proc.stdout!), new StreamMessageWriter(proc.stdin!));
    connection.listen();
    try {
      const root = writeTree({ "metro.conf": "a: 1\n" });
      const refusal = (params: unknown, message: RegExp) =>
        assert.rejects(connection.sendRequest("initialize", params), (e: unknown) => e instanceof ResponseError && e.code === INVALID_PARAMS && message.test(e.message));
      await refusal({ processId: null, rootUri: null }, /"capabilities" must be an object, not missing/);
      await refusal({ processId: "me", rootUri: null, capabilities: {} }, /"processId" must be an integer or null, not "me" \(a string\)/);
      await refusal({ processId: null, rootUri: 5, capabilities: {} }, /"rootUri" must be a string, not 5/);
      await refusal({ processId: null, workspaceFolders: [{ uri: "x" }], capabilities: {} }, /"workspaceFolders\[0\]\.uri" must be a URI/);
      await refusal({ processId: null, capabilities: { textDocument: { hover: { contentFormat: "markdown" } } } }, /"capabilities\.textDocument\.hover\.contentFormat" must be an array/);
      // Until a good initialize, the server is not initialized.
      await assert.rejects(connection.sendRequest("metro/settled", null), (e: unknown) => e instanceof ResponseError && e.code === -32002);
      await initializeAndShutDown(connection, root, null);
      assert.equal(await exited, 0);
    } finally {
      connection.dispose();
      proc.kill();
    }
  });
});

