// `dump` evaluates and writes one key at a time, encoding its output into a
// buffer of 1 MiB that it hands to stdout when full (a piece too large for it
// is written on its own). What it prints must be exactly the JSON of the
// context's answer, whatever the sizes and characters of the values.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { dumpContexts } from "../cli/commands/dump";
import { runCli } from "./support/run-cli";
import { CLI } from "./support/shared";
import { writeTree } from "./support/trees";

/** A tree whose values cross the output buffer's bounds: many small ones, multi-byte characters, one larger than a buffer. */
function tree(): string {
  const files: Record<string, string> = {};
  const top: string[] = [];
  // Each file stays under the 1 MiB metro-engine reads of one file.
  for (let f = 0; f < 6; f++) {
    const lines: string[] = [];
    for (let i = f * 500; i < (f + 1) * 500; i++) lines.push(`k${i}: ${"é€😀"[i % 3].repeat(100 + (i % 257))} $[k${i + 1}?]`);
    files[`f${f}.conf`] = lines.join("\n") + "\n";
    top.push(`[collect ./f${f}.conf]`);
  }
  files["big.conf"] = `big: ${"x€".repeat(200_000)}\n`;
  top.push("[collect ./big.conf]", "sum: $[big]$[k7]", "m: [", "line one", "$[k1]", "]", "bad: $[nowhere]");
  files["metro.conf"] = top.join("\n") + "\n";
  return writeTree(files);
}

describe("dump: output written one key at a time", () => {
  it("prints exactly the JSON of the context's answer (in process)", async () => {
    const root = tree();
    const config = join(root, "metro.conf");
    const r = await runCli(["dump", "--json", "--no-exec", "--config", config]);
    assert.equal(r.code, 0, r.err);
    const [expected] = dumpContexts([{ config, args: {} }], false);
    assert.equal(r.out, JSON.stringify(expected.result) + "\n");
    const settings = JSON.parse(r.out).settings;
    assert.equal(settings.big.value.length, 400_000);
    assert.equal(settings.bad.error, "metro/undefined-element");
  });

  it("prints the same bytes through a pipe from the executable", () => {
    const root = tree();
    const config = join(root, "metro.conf");
    const p = spawnSync(process.execPath, [CLI, "dump", "--json", "--no-exec", "--config", config], { encoding: "utf8", maxBuffer: 1 << 26 });
    assert.equal(p.status, 0, p.stderr);
    const [expected] = dumpContexts([{ config, args: {} }], false);
    assert.equal(p.stdout, JSON.stringify(expected.result) + "\n");
  });
});
