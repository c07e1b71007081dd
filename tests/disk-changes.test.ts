// What an edit and a change on disk make the workspace forget: an edit of a
// document's text keeps what is known about the disk (which paths exist,
// what link placeholders name); a change on disk, announced by the client's
// file watcher, is seen, also through links.

import * as assert from "node:assert/strict";
import { mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Workspace } from "../engine/workspace";
import { StdioClient, uriOf } from "../server/testing/stdio-client";
import { writeTree } from "./support/trees";

const CREATED = 1;
const CHANGED = 2;
const DELETED = 3;

/** A tree whose one context (from metro-contexts.json) collects `a.conf`, which collects `then` (with `v` defined there). */
function chainTree(then: string, extra: Record<string, string> = {}): string {
  return writeTree({
    "metro.conf": "[collect a.conf]\nk: $[v]\n",
    "metro-contexts.json": JSON.stringify([{ name: "chain", config: "metro.conf", args: {} }]),
    "a.conf": `a: 1\n[collect ${then}]\n`,
    ...extra,
  });
}

async function withServer(root: string, run: (client: StdioClient) => Promise<void>): Promise<void> {
  const client = await StdioClient.start({ root });
  try {
    await client.settled();
    await run(client);
  } finally {
    await client.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

const missingCollect = (client: StdioClient, file: string) => client.diagnosticsOf(file).some((d) => d.code === "metro/missing-collect");
const valueOf = async (client: StdioClient, root: string, name: string) => (await client.request<{ text: string } | null>("metro/expandedValue", { tree: root, name }))?.text.trimEnd();
const watched = (client: StdioClient, ...changes: [string, number][]) =>
  client.notify("workspace/didChangeWatchedFiles", { changes: changes.map(([p, type]) => ({ uri: uriOf(p), type })) });

describe("workspace: an edit keeps what the disk says, a change on disk forgets it", () => {
  it("an edit of a collected document re-evaluates its context without asking the disk again", async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 40; i++) files[`c${i}.conf`] = i < 39 ? `v${i}: $[v${i + 1}]\n[collect c${i + 1}.conf]\n` : "v39: end\n";
    const root = chainTree("c0.conf", { ...files, "a.conf": "v: $[v0]\n[collect c0.conf]\n" });
    await withServer(root, async (client) => {
      const file = join(root, "c20.conf");
      client.open(file);
      const before = (await client.settled()).trees[0];
      assert.ok(before.diskLookups > 40, `the first evaluation looked at every collected file (${before.diskLookups})`);
      client.change(file, { start: { line: 2, character: 0 }, end: { line: 2, character: 0 } }, "w: $[gone]\n");
      await client.waitFor(() => client.diagnosticsOf(file).some((d) => d.message.includes('"gone"')), 10000, "the edit's finding");
      const after = (await client.settled()).trees[0];
      assert.ok(after.evaluations > before.evaluations, "the context was evaluated again");
      assert.equal(after.diskLookups, before.diskLookups, "no lstat, stat or realpath for the edit");
      // A file written on disk in place asks about that file alone.
      const other = join(root, "c30.conf");
      writeFileSync(other, "v30: $[v31]\n[collect c31.conf]\nx: $[gone30]\n");
      watched(client, [other, CHANGED]);
      await client.waitFor(() => client.diagnosticsOf(other).some((d) => d.message.includes('"gone30"')), 10000, "the disk change's finding");
      const disk = (await client.settled()).trees[0];
      assert.ok(disk.diskLookups - after.diskLookups < 10, `a file rewritten in place is looked at again, not the 42 files: ${disk.diskLookups - after.diskLookups} lookups`);
    });
  });

  it("sees a collected file created and removed on disk, and a folder created and removed", async () => {
    const root = chainTree("sub/b.conf");
    await withServer(root, async (client) => {
      const a = join(root, "a.conf");
      client.open(a);
      await client.waitFor(() => missingCollect(client, a), 10000, "the missing collect");
      // An edit does not make the missing file appear, nor lose the finding.
      client.change(a, { start: { line: 0, character: 3 }, end: { line: 0, character: 4 } }, "2");
      await client.settled();
      assert.ok(missingCollect(client, a));
      // The folder appears with the file in it; only the folder is announced.
      mkdirSync(join(root, "sub"));
      writeFileSync(join(root, "sub/b.conf"), "v: found\n");
      watched(client, [join(root, "sub"), CREATED]);
      await client.waitFor(() => !missingCollect(client, a), 10000, "the collect found");
      assert.equal(await valueOf(client, root, "k"), "found");
      // The file is rewritten, then removed.
      writeFileSync(join(root, "sub/b.conf"), "v: again\n");
      watched(client, [join(root, "sub/b.conf"), CHANGED]);
      await client.settled();
      assert.equal(await valueOf(client, root, "k"), "again");
      rmSync(join(root, "sub/b.conf"));
      watched(client, [join(root, "sub/b.conf"), DELETED]);
      await client.waitFor(() => missingCollect(client, a), 10000, "the collect missing again");
      writeFileSync(join(root, "sub/b.conf"), "v: back\n");
      watched(client, [join(root, "sub/b.conf"), CREATED]);
      await client.waitFor(() => !missingCollect(client, a), 10000, "the collect found again");
      assert.equal(await valueOf(client, root, "k"), "back");
      // The whole folder goes; only the folder is announced.
      rmSync(join(root, "sub"), { recursive: true });
      watched(client, [join(root, "sub"), DELETED]);
      await client.waitFor(() => missingCollect(client, a), 10000, "the collect missing with its folder");
    });
  });

  it("follows a link placeholder changed on disk anew, and one whose target appears", async () => {
    const root = chainTree("cur/b.conf", { cur: "one", "one/b.conf": "v: one\n", "two/b.conf": "v: two\n" });
    await withServer(root, async (client) => {
      const a = join(root, "a.conf");
      client.open(a);
      await client.settled();
      assert.equal(await valueOf(client, root, "k"), "one");
      client.change(a, { start: { line: 0, character: 3 }, end: { line: 0, character: 4 } }, "2");
      await client.settled();
      assert.equal(await valueOf(client, root, "k"), "one", "an edit follows the placeholder as before");
      writeFileSync(join(root, "cur"), "two");
      watched(client, [join(root, "cur"), CHANGED]);
      await client.settled();
      assert.equal(await valueOf(client, root, "k"), "two");
      // A placeholder naming nothing yet is a small file: the collect is missing until its target appears.
      writeFileSync(join(root, "cur"), "three");
      watched(client, [join(root, "cur"), CHANGED]);
      await client.waitFor(() => missingCollect(client, a), 10000, "the collect through a dangling placeholder");
      mkdirSync(join(root, "staging"));
      writeFileSync(join(root, "staging/b.conf"), "v: three\n");
      renameSync(join(root, "staging"), join(root, "three"));
      watched(client, [join(root, "three"), CREATED]);
      await client.waitFor(() => !missingCollect(client, a), 10000, "the placeholder's target found");
      assert.equal(await valueOf(client, root, "k"), "three");
    });
  });
});

describe("workspace: what a change on disk forgets", () => {
  it("keeps every kind for an edit of a text, and for a file rewritten in place", () => {
    const root = writeTree({ "a.conf": "a: 1\n", "b.conf": "b: 2\n", "sub/c.conf": "c: 3\n" });
    try {
      const ws = new Workspace({ followsDisk: true });
      for (const f of ["a.conf", "b.conf", "sub/c.conf", "sub/none.conf"]) ws.kind(join(root, f));
      const n = ws.diskLookups;
      ws.textChanged(join(root, "a.conf"));
      for (const f of ["a.conf", "b.conf", "sub/c.conf", "sub/none.conf"]) ws.kind(join(root, f));
      assert.equal(ws.diskLookups, n);
      writeFileSync(join(root, "b.conf"), "b: 3\n");
      ws.diskChanged(join(root, "b.conf"));
      assert.equal(ws.getFile(join(root, "b.conf"))?.text, "b: 3\n");
      const m = ws.diskLookups;
      for (const f of ["a.conf", "sub/c.conf", "sub/none.conf"]) ws.kind(join(root, f));
      assert.equal(ws.diskLookups, m, "the other paths' kinds are kept");
      // A folder removed: what is below it is asked again.
      rmSync(join(root, "sub"), { recursive: true });
      ws.diskChanged(join(root, "sub"));
      assert.equal(ws.kind(join(root, "sub/c.conf")), "missing");
      mkdirSync(join(root, "sub"));
      writeFileSync(join(root, "sub/none.conf"), "n: 1\n");
      ws.diskChanged(join(root, "sub"));
      assert.equal(ws.kind(join(root, "sub/none.conf")), "file");
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("sees the target of a symbolic link appear and go, announced at the target's path", () => {
    const root = writeTree({ "metro.conf": "" });
    try {
      symlinkSync("release", join(root, "current"));
      const ws = new Workspace({ followsDisk: true });
      const path = join(root, "current/build.conf");
      assert.equal(ws.kind(path), "missing");
      mkdirSync(join(root, "release"));
      writeFileSync(join(root, "release/build.conf"), "x: 1\n");
      ws.diskChanged(join(root, "release"));
      assert.equal(ws.kind(path), "file");
      rmSync(join(root, "release/build.conf"));
      ws.diskChanged(join(root, "release/build.conf"));
      assert.equal(ws.kind(path), "missing");
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
