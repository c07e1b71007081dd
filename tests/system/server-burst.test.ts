// A burst of edits sent without waiting (a user typing faster than the
// server evaluates, an editor replaying changes, a refactoring applied as
// hundreds of changes) to a file of a long collect chain, through the
// bundled server over stdio. The server is stopped (SIGSTOP) while the
// burst is written, so that all of it waits in the pipe when it continues:
// what it then does with edits that a later one replaces is deterministic.

import * as assert from "node:assert/strict";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { StdioClient, uriOf, type PublishedDiagnostics } from "../../server/testing/stdio-client";
import { PROJECT } from "../support/shared";
import { removeTempDirs, tempDir } from "../support/trees";

const SERVER = join(PROJECT, "dist", "metro-language-server.js");

after(() => removeTempDirs());

/** A tree whose one context collects a chain of `n` files, each defining a value that reads the next. */
function chainTree(n: number): string {
  const root = tempDir("metro-burst-");
  writeFileSync(join(root, "metro.conf"), "[collect c0.conf]\nk: $[v0]\n");
  writeFileSync(join(root, "metro-contexts.json"), JSON.stringify([{ name: "only", config: "metro.conf", args: {} }]));
  for (let i = 0; i < n; i++) writeFileSync(join(root, `c${i}.conf`), i < n - 1 ? `v${i}: $[v${i + 1}]\n[collect c${i + 1}.conf]\n` : `v${i}: end\n`);
  return root;
}

describe("language server: a burst of edits", function () {
  this.timeout(60_000);
  before(function () {
    if (!existsSync(SERVER)) throw new Error(`${SERVER} is missing (run npm run build)`);
  });

  it("works once on the last text: one evaluation, no publication of a replaced text, requests between edits see the text before them", async () => {
    const root = chainTree(300);
    const file = join(root, "c150.conf");
    const uri = uriOf(file);
    const client = await StdioClient.start({ serverPath: SERVER, root });
    let stopped = false;
    // process.kill, not ChildProcess.kill: the latter marks the child killed for any signal sent.
    const signal = (s: NodeJS.Signals) => process.kill(client.process!.pid!, s);
    try {
      client.open(file);
      const before = (await client.settled()).trees[0].evaluations;
      assert.ok(before >= 1, "the context was evaluated at start");
      const from = client.published.length;
      // Each edit replaces line 2 with a definition reading a name no file defines, a new one each time:
      // a text's diagnostics say which text they are of.
      // Each message is two writes, and a local socket holds about 200 small writes while its reader is stopped.
      const edits = 50;
      const middle = 25;
      const line = (i: number) => `w${i}: $[gone${i}]\n`;
      signal("SIGSTOP");
      stopped = true;
      let version = 0;
      let symbols: Promise<{ name: string }[]> | undefined;
      for (let i = 0; i < edits; i++) {
        version = client.change(file, { start: { line: 2, character: 0 }, end: { line: i === 0 ? 2 : 3, character: 0 } }, line(i));
        if (i === middle) symbols = client.request("textDocument/documentSymbol", { textDocument: { uri } });
      }
      // Never a hang: a socket that cannot hold the whole burst while the server is stopped fails here.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([client.sent(), new Promise((_, reject) => (timer = setTimeout(() => reject(new Error("the burst did not fit in the server's input while it was stopped")), 20_000)))]);
      clearTimeout(timer);
      signal("SIGCONT");
      stopped = false;
      // A request between two edits is answered for the text it came after.
      assert.deepEqual((await symbols!).map((s) => s.name), ["v150", `w${middle}`]);
      await client.waitFor(() => client.diagnostics.get(uri)?.version === version, 30_000, "diagnostics of the last edit");
      const after = (await client.settled()).trees[0].evaluations;
      // The diagnostics of the last text, and of no other.
      const last = client.diagnosticsOf(file).map((d) => d.message);
      assert.ok(last.some((m) => m.includes(`"gone${edits - 1}" is not defined`)), JSON.stringify(last));
      assert.ok(last.every((m) => !/gone(\d+)/.test(m) || m.includes(`gone${edits - 1}"`)), JSON.stringify(last));
      // Every publication since the burst began is of the last version: none of a replaced text, none stale after it.
      const mine = client.published.slice(from).filter((p: PublishedDiagnostics) => p.uri === uri);
      assert.ok(mine.length >= 1);
      assert.deepEqual(
        mine.map((p) => p.version),
        mine.map(() => version),
      );
      // The context that reads the file was evaluated once for the whole burst, not once per edit.
      assert.equal(after - before, 1);
      assert.ok(client.alive());
    } finally {
      if (stopped) signal("SIGCONT");
      await client.stop();
    }
  });
});
