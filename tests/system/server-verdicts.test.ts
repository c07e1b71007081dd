// The language server's verdicts over real stdio: one diagnostic per
// problem, one publication per evaluation round (no partial states), and no
// stale diagnostics when files reached through a link change on disk outside
// the editor (a rename saved, then `git checkout` restoring the files).

import * as assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { StdioClient, uriOf, type PublishedDiagnostics } from "../../server/testing/stdio-client";
import { PROJECT } from "../support/shared";

const SERVER = join(PROJECT, "dist", "metro-language-server.js");

const TREE: Record<string, string> = {
  "metro.conf": `[section path]

install: @ROOT@
tmp: /var/tmp/metro

[section portage]

MAKEOPTS: -j2

[collect $[path/install]/etc/master.conf]
`,
  "etc/master.conf": `[collect builds/$[target/build]/build.conf]

[section target]

class: snapshot

[section release]

type: official

[section path]

work: $[path/tmp]/work

[section path/mirror]

: @ROOT@/mirror
owner: root
group: root
dirmode: 775
target: $[path/mirror]/out.tar
target/path: $[path/mirror]/out
target/control: $[path/mirror]/control

[section steps]

run: [
echo $[release/tag]
]
`,
  "etc/builds/1.2-release-std/build.conf": `[section release]

tag: std
`,
};

function writeTree(): string {
  const root = mkdtempSync(join(tmpdir(), "metro-verdicts-"));
  for (const [rel, text] of Object.entries(TREE)) {
    const p = join(root, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, text.replaceAll("@ROOT@", root));
  }
  // A build alias, as funtoo's etc/builds/funtoo-current links to a release.
  symlinkSync("1.2-release-std", join(root, "etc/builds/funtoo-current"));
  // A build without release/tag, which the step reads.
  mkdirSync(join(root, "etc/builds/empty"));
  writeFileSync(join(root, "etc/builds/empty/build.conf"), "[section release]\n\nother: x\n");
  return root;
}

const CONTEXTS = [{ name: "stage3", config: "metro.conf", args: { target: "stage3", "target/build": "funtoo-current" } }];
/** Three contexts: the step's release/tag is an error in the two of the empty build. */
const THREE = [
  { name: "std", config: "metro.conf", args: { target: "stage3", "target/build": "funtoo-current" } },
  { name: "empty-a", config: "metro.conf", args: { target: "stage3", "target/build": "empty", "target/version": "a" } },
  { name: "empty-b", config: "metro.conf", args: { target: "stage3", "target/build": "empty", "target/version": "b" } },
];

/** Every file's diagnostics as "file:line severity code message" lines, sorted. */
function snapshot(client: StdioClient, root: string): string[] {
  const out: string[] = [];
  for (const p of client.diagnostics.values()) {
    for (const d of p.diagnostics) out.push(`${p.uri.slice(uriOf(root).length + 1)}:${d.range.start.line} ${d.severity} ${d.code} ${d.message}`);
  }
  return out.sort();
}

describe("language server verdicts over stdio", function () {
  this.timeout(60_000);
  before(function () {
    if (!existsSync(SERVER)) throw new Error(`${SERVER} is missing (run npm run build)`);
  });

  it("refreshes files reached through a link after a rename is saved and then undone on disk (git checkout)", async () => {
    const root = writeTree();
    const client = await StdioClient.start({ serverPath: SERVER, root, settings: { metro: { contexts: CONTEXTS } } });
    try {
      await client.settled();
      const master = join(root, "etc/master.conf");
      const real = join(root, "etc/builds/1.2-release-std/build.conf");
      const before = snapshot(client, root);
      // The run completes: no finding but the hint that no context reads the other build's release/other.
      assert.deepEqual(before, ["etc/builds/empty/build.conf:2 4 metro/unused unused: no context's run reads `release/other` (the only context)"]);
      // F2 on $[release/tag]: rename it and save every edited file, as an editor does.
      const line = readFileSync(master, "utf8").split("\n").findIndex((l) => l.includes("$[release/tag]"));
      const edit = await client.request<{ changes: Record<string, { range: { start: { line: number; character: number }; end: { line: number; character: number } }; newText: string }[]> }>(
        "textDocument/rename",
        { textDocument: { uri: uriOf(master) }, position: { line, character: 8 }, newName: "release/label" },
      );
      // The same file reached through the link is edited once (an editor saves both documents with the same text).
      const originals = new Map<string, string>();
      const done = new Set<string>();
      for (const [uri, edits] of Object.entries(edit.changes)) {
        const path = decodeURIComponent(new URL(uri).pathname);
        const text = readFileSync(path, "utf8");
        originals.set(path, text);
        if (done.has(realpathSync(path))) continue;
        done.add(realpathSync(path));
        const lines = text.split("\n");
        for (const e of [...edits].sort((a, b) => b.range.start.character - a.range.start.character)) {
          const l = lines[e.range.start.line];
          lines[e.range.start.line] = l.slice(0, e.range.start.character) + e.newText + l.slice(e.range.end.character);
        }
        writeFileSync(path, lines.join("\n"));
      }
      assert.ok(originals.has(master) && [...originals.keys()].some((p) => p.endsWith("/build.conf")), JSON.stringify([...originals.keys()]));
      client.notify("workspace/didChangeWatchedFiles", { changes: [...originals.keys()].map((p) => ({ uri: uriOf(p), type: 2 })) });
      await client.settled();
      assert.deepEqual(snapshot(client, root), before, "after the rename");
      // `git checkout .`: the files are restored; the watcher reports the real files only, not the link's path.
      writeFileSync(master, TREE["etc/master.conf"]);
      writeFileSync(real, TREE["etc/builds/1.2-release-std/build.conf"]);
      client.notify("workspace/didChangeWatchedFiles", { changes: [master, real].map((p) => ({ uri: uriOf(p), type: 2 })) });
      await client.settled();
      assert.deepEqual(snapshot(client, root), before, "after git checkout: nothing stale");
      const v = await client.request<{ text: string }>("metro/expandedValue", { tree: root, name: "release/tag" });
      assert.equal(v.text, "std\n");
      // A definition no run reads: a hint, "unused"; what the run and the setup's collects read is not.
      writeFileSync(real, TREE["etc/builds/1.2-release-std/build.conf"] + "spare: nobody reads this\n");
      client.notify("workspace/didChangeWatchedFiles", { changes: [{ uri: uriOf(real), type: 2 }] });
      await client.settled();
      const hints = [...client.diagnostics.values()].flatMap((p) => p.diagnostics.filter((d) => d.code === "metro/unused").map((d) => `${p.uri.slice(uriOf(root).length + 1)} ${d.message}`));
      assert.ok(hints.some((h) => h.includes("`release/spare`")), hints.join("\n"));
      assert.ok(!hints.some((h) => /release\/tag|path\/install|target\/class|path\/mirror/.test(h)), hints.join("\n"));
    } finally {
      await client.stop();
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("gives one diagnostic per problem, and no partial state where a count drops", async () => {
    const root = writeTree();
    const client = await StdioClient.start({ serverPath: SERVER, root, settings: { metro: { contexts: THREE } } });
    try {
      await client.settled();
      const master = join(root, "etc/master.conf");
      client.open(master);
      await client.settled();
      const text = readFileSync(master, "utf8");
      const lines = text.split("\n").length;
      const added = "undefined: $[no/such/name]\nmodifier: $[path/install:bogus]\nmissing: << $[path/install]/no-such-file\n";
      const from = client.published.length;
      const version = client.change(master, { start: { line: lines - 1, character: 0 }, end: { line: lines - 1, character: 0 } }, added);
      await client.waitFor(() => (client.diagnostics.get(uriOf(master))?.version ?? 0) >= version, 10_000, "diagnostics of the edit");
      await client.settled();
      // No partial states: every publication after the edit is the edited version's, the active context's
      // answer comes first (typing is not kept waiting for the other contexts) and no count drops after it.
      const mine = client.published.slice(from).filter((p: PublishedDiagnostics) => p.uri === uriOf(master));
      const counts = mine.map((p) => p.diagnostics.length);
      assert.ok(mine.length >= 1 && mine.length <= 2, JSON.stringify(mine.map((p) => [p.version, p.diagnostics.map((d) => d.message)])));
      assert.ok(mine.every((p) => p.version === version), JSON.stringify(mine.map((p) => p.version)));
      assert.ok(counts.every((n, i) => i === 0 || n >= counts[i - 1]), JSON.stringify(counts));
      const onLine = (n: number) => client.diagnosticsOf(master).filter((d) => d.range.start.line === lines - 1 + n);
      // A name no file defines: the contexts' verdict only (no second layer-1 warning), without a :zap suggestion.
      assert.equal(onLine(0).length, 1, JSON.stringify(onLine(0)));
      assert.match(onLine(0)[0].message, /"no\/such\/name" is not defined \(unused by the stage3 run; metro never expands it\) \(in all 3 contexts\)/);
      assert.doesNotMatch(onLine(0)[0].message, /:zap/);
      // An unknown modifier: the parser's error once.
      assert.equal(onLine(1).length, 1, JSON.stringify(onLine(1)));
      assert.equal(onLine(1)[0].code, "metro/unknown-modifier");
      // A missing << file: information, said once.
      assert.equal(onLine(2).length, 1, JSON.stringify(onLine(2)));
      assert.equal(onLine(2)[0].severity, 3);
      assert.equal(onLine(2)[0].message.split("not on this machine").length, 2, onLine(2)[0].message);
    } finally {
      await client.stop();
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("puts the active context's verdict first and names it first among the contexts", async () => {
    const root = writeTree();
    // The step reads release/tag, which only the funtoo-current build defines: an error where the run reads it.
    const client = await StdioClient.start({ serverPath: SERVER, root, settings: { metro: { contexts: THREE } } });
    try {
      await client.settled();
      const master = join(root, "etc/master.conf");
      client.open(master);
      await client.settled();
      const d = client.diagnosticsOf(master).filter((x) => x.message.includes("release/tag"));
      assert.equal(d.length, 1, JSON.stringify(client.diagnosticsOf(master), null, 1));
      assert.equal(d[0].severity, 1);
      assert.match(d[0].message, /the stage3 run reads the step steps\/run and stops here .*\(in 2 of 3 contexts: empty-a; empty-b\)/);
      await client.request("workspace/executeCommand", { command: "metro.server.setActiveContext", arguments: [{ tree: root, name: "empty-b" }] });
      await client.waitFor(() => client.diagnosticsOf(master).some((x) => /in 2 of 3 contexts: empty-b; empty-a/.test(x.message)), 10_000, "the active context first");
      // Hover on the step says why its value fails, and where.
      const lines = readFileSync(master, "utf8").split("\n");
      const run = lines.findIndex((l) => l.startsWith("run: ["));
      const ref = lines.findIndex((l) => l.includes("$[release/tag]"));
      const h = await client.hover(master, run, 1);
      const where = `etc/master.conf:${ref + 1}:${lines[ref].indexOf("$[release/tag]") + 1}`;
      assert.ok(h!.contents.value.includes(`error: "release/tag" is not defined (at ${where})`), h!.contents.value);
    } finally {
      await client.stop();
      rmSync(root, { recursive: true, force: true });
    }
  });
});
