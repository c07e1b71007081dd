// The Helix recipe (editors/helix/languages.toml, the file the README shows).
// Helix is not packaged for Debian 12, so this checks what can be checked
// without it: the file is valid TOML (python3's tomllib), it runs the
// command the package installs, its root markers are the server's, and its
// globs, matched as Helix matches them (against the full path, "*/" prefixed,
// "*" crossing folders as globset does by default), claim every Metro file
// of the examples tree and none of its other files.

import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { isMetroFileName } from "../../analysis/trees";
import { PROJECT, walkFiles } from "../support/shared";

const RECIPE = join(PROJECT, "editors", "helix", "languages.toml");

interface HelixConfig {
  "language-server": Record<string, { command: string; args?: string[] }>;
  language: { name: string; roots: string[]; "language-servers": string[]; "file-types": ({ glob: string } | string)[] }[];
}

function helixGlob(glob: string): RegExp {
  const full = glob.startsWith("/") || glob.startsWith("*") ? glob : `*/${glob}`;
  const src = full.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*\*\/?|\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${src}$`);
}

describe("system: Helix recipe", function () {
  it("is valid TOML, runs metro-language-server --stdio, and its globs claim exactly the examples' Metro files", function () {
    const r = spawnSync("python3", ["-c", "import json, sys, tomllib; print(json.dumps(tomllib.load(open(sys.argv[1], 'rb'))))", RECIPE], { encoding: "utf8" });
    if (r.status !== 0 && /No module named 'tomllib'|No such file/.test(r.stderr + String(r.error ?? ""))) {
      console.log("      (skipped: python3 with tomllib (3.11+) is not available)");
      this.skip();
    }
    assert.equal(r.status, 0, r.stderr);
    const config = JSON.parse(r.stdout) as HelixConfig;
    const lang = config.language.find((l) => l.name === "metro")!;
    assert.ok(lang);
    const server = config["language-server"][lang["language-servers"][0]];
    const bin = Object.keys(JSON.parse(readFileSync(join(PROJECT, "package.json"), "utf8")).bin);
    assert.ok(bin.includes(server.command), server.command);
    assert.deepEqual(server.args, ["--stdio"]);
    assert.deepEqual(lang.roots.sort(), ["etc/master.conf", "metro.conf"]);
    const globs = lang["file-types"].map((f) => (typeof f === "string" ? null : helixGlob(f.glob))).filter((g): g is RegExp => g !== null);
    const tree = join(PROJECT, "examples");
    const wrong: string[] = [];
    for (const file of walkFiles(tree)) {
      const claimed = globs.some((g) => g.test(file));
      if (claimed !== isMetroFileName(tree, file)) wrong.push(`${file}: ${claimed ? "claimed, not a Metro file" : "a Metro file, not claimed"}`);
    }
    assert.deepEqual(wrong, []);
  });
});
