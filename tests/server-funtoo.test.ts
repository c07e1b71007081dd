// The language server on the real funtoo/metro tree from the shared
// conformance data (../shared relative to the project root): all 53 build
// contexts, values that match metro's golden output, contexts derived with no
// configuration, a missing mirror, files opened with no workspace folder.
// Skips with a message when the shared data is absent.

import * as assert from "node:assert/strict";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { StdioClient, uriOf } from "../server/testing/stdio-client";
import { funtooContexts, funtooCopy } from "./support/shared";

const CASE = join(__dirname, "..", "..", "..", "shared", "conformance", "cases", "funtoo-metro");

function line(path: string, needle: string): { line: number; character: number } {
  const lines = readFileSync(path, "utf8").split("\n");
  const i = lines.findIndex((l) => l.includes(needle));
  assert.ok(i >= 0, `${needle} in ${path}`);
  return { line: i, character: lines[i].indexOf(needle) };
}

describe("language server on the funtoo tree", function () {
  before(function () {
    if (!existsSync(CASE)) {
      console.log(`    (skipped: ${CASE} is absent)`);
      this.skip();
    }
  });

  describe("with the 53 contexts in the setting", function () {
    let root: string;
    let client: StdioClient;
    before(async () => {
      root = funtooCopy();
      client = await StdioClient.start({ root, settings: { metro: { contexts: funtooContexts() } } });
      await client.settled();
    });
    after(async () => {
      await client?.stop();
      rmSync(root, { recursive: true, force: true });
    });

    it("indexes every file and evaluates every context without a fatal error", async () => {
      const s = await client.settled();
      assert.equal(s.trees.length, 1);
      assert.ok(s.trees[0].files >= 80, String(s.trees[0].files));
      const list = await client.request<{ trees: { contexts: { fatal: string | null; evaluated: boolean }[] }[] }>("metro/contexts", {});
      assert.equal(list.trees[0].contexts.length, 53);
      assert.deepEqual(list.trees[0].contexts.filter((c) => c.fatal || !c.evaluated), []);
    });

    it("hovers with the value metro computes (golden output of the first context)", async () => {
      const golden = JSON.parse(readFileSync(join(CASE, "golden.json"), "utf8"))[0].settings;
      const master = join(root, "corpus/etc/master.conf");
      const p = line(master, "compiler: $[path/cache/build]");
      const h = await client.hover(master, p.line, p.character + 1);
      const expected = (golden["path/cache/compiler"].value as string).replaceAll("@ROOT@", root);
      assert.ok(h!.contents.value.includes(expected), h!.contents.value);
      // A multi-line value: fenced, cut at 30 lines with a link to the whole value.
      const stage3 = join(root, "corpus/targets/gentoo/stage3.spec");
      const q = line(stage3, "chroot/run: [");
      const h2 = await client.hover(stage3, q.line, q.character + 1);
      assert.match(h2!.contents.value, /```sh\n#!\/bin\/bash/);
      assert.match(h2!.contents.value, /\d+ more lines — \[open the whole value\]\(command:metro\.showExpandedValue\?/);
    });

    it("goes to definition from $[[...]] and lists per-build definitions", async () => {
      const stage3 = join(root, "corpus/targets/gentoo/stage3.spec");
      const p = line(stage3, "$[[steps/setup]]");
      const defs = await client.definition(stage3, p.line, p.character + 4);
      assert.ok(defs.length >= 1);
      assert.ok(defs.every((d) => d.uri.startsWith(uriOf(join(root, "corpus")))));
      const master = join(root, "corpus/etc/master.conf");
      const q = line(master, "builds/$[target/build]/build.conf");
      const files = await client.definition(master, q.line, q.character);
      assert.ok(files.length >= 6, JSON.stringify(files));
      assert.equal(files[0].uri, uriOf(join(root, "corpus/etc/builds/1.4-release-std/build.conf")));
    });

    it("reports the tree's real problems once, naming the contexts", () => {
      const common = join(root, "corpus/etc/builds/common.conf");
      const d = client.diagnosticsOf(common).filter((x) => x.code === "metro/undefined-element");
      assert.equal(d.length, 1);
      assert.match(d[0].message, /snapshot\/source\/remote.*\(in all 53 contexts\)/);
    });
  });

  it("derives contexts with no configuration and shows contextual diagnostics", async function () {
    const root = funtooCopy();
    const client = await StdioClient.start({ root });
    try {
      await client.waitFor(() => [...client.diagnostics.values()].some((p) => p.diagnostics.some((d) => (d.data as { contexts?: string[] } | undefined)?.contexts)), 5000, "contextual diagnostics");
      await client.settled();
      const list = await client.request<{ trees: { source: string; active: string; contexts: { name: string; fatal: string | null }[] }[] }>("metro/contexts", {});
      const t = list.trees[0];
      assert.equal(t.source, "derived");
      assert.ok(t.contexts.length >= 10 && t.contexts.length < 53, String(t.contexts.length));
      assert.ok(t.contexts.some((c) => c.name === "stage3 / 1.4-release-std / amd64-jaguar"), t.contexts.map((c) => c.name).join());
      assert.ok(client.notifications.some((n) => n.method === "metro/status" && (n.params as { source: string }).source === "derived"));
      const master = join(root, "corpus/etc/master.conf");
      const p = line(master, "compiler: $[path/cache/build]");
      const h = await client.hover(master, p.line, p.character + 1);
      assert.match(h!.contents.value, /active context, derived from the tree/);
      // The derived set can be written down, and is then read back from the file.
      const w = await client.request<{ file: string }>("workspace/executeCommand", { command: "metro.server.writeContextsFile", arguments: [{ tree: root }] });
      assert.equal(w.file, join(root, "metro-contexts.json"));
      const written = JSON.parse(readFileSync(w.file, "utf8"));
      assert.equal(written.length, t.contexts.length);
      assert.equal(written[0].config, "metro.conf");
      await client.waitFor(() => client.notifications.some((n) => n.method === "metro/status" && (n.params as { source: string }).source === "file"), 5000, "contexts from the file");
    } finally {
      await client.stop();
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("finds the tree from an opened file when the client sends no folder, and keeps a missing mirror quiet", async function () {
    const root = funtooCopy(false);
    const client = await StdioClient.start({ root: null });
    try {
      const spec = join(root, "corpus/targets/gentoo/source/stage3.spec");
      client.open(spec);
      await client.waitFor(() => client.diagnosticsOf(spec).some((d) => d.code === "metro/missing-file"), 5000, "missing-file information");
      const s = await client.settled();
      // The nearest tree root above the file is the metro checkout (corpus/), with its own metro.conf.
      assert.deepEqual(s.trees.map((t) => t.root), [join(root, "corpus")]);
      const all = [...client.diagnostics.values()].flatMap((p) => p.diagnostics.map((d) => ({ ...d, uri: p.uri })));
      const missing = all.filter((d) => d.code === "metro/missing-file");
      assert.ok(missing.every((d) => d.severity === 3), JSON.stringify(missing));
      // One per `<<` line, whatever the number of contexts.
      const keys = new Set(missing.map((d) => `${d.uri}:${d.range.start.line}`));
      assert.equal(keys.size, missing.length);
      // The default context (stage3) builds from stage2; a desktop target reads source/stage3.spec.
      const list = await client.request<{ trees: { root: string; active: string; contexts: { name: string; args: Record<string, string> }[] }[] }>("metro/contexts", {});
      const tree = list.trees[0];
      assert.equal(tree.contexts.find((c) => c.name === tree.active)?.args.target, "stage3");
      const reader = tree.contexts.find((c) => c.args.target === "gnome") ?? tree.contexts.find((c) => !/^(stage[123]|snapshot)$/.test(c.args.target))!;
      await client.request("workspace/executeCommand", { command: "metro.server.setActiveContext", arguments: [{ tree: tree.root, name: reader.name }] });
      await client.settled();
      const p = line(spec, "version: <<");
      const h = await client.hover(spec, p.line, p.character + 1);
      assert.match(h!.contents.value, /unknown: cannot read/);
    } finally {
      await client.stop();
      rmSync(root, { recursive: true, force: true });
    }
  });
});
