// The Helix recipe (editors/helix/languages.toml, the file the README shows).
// First what can be checked without Helix: the file is valid TOML (python3's
// tomllib), it runs the command the package installs, its root markers are
// the server's, and its globs, matched as Helix matches them (against the
// full path, "*/" prefixed, "*" crossing folders as globset does by
// default), claim every Metro file of the examples tree and none of its
// other files. Then a real Helix (Debian 13's, prepared by
// scripts/trixie-editors.mjs; Debian 12 has none) with the recipe as its
// languages.toml, in a tmux pane: the diagnostics picker lists the warning,
// a hover shows an expansion, goto-definition opens the defining file at
// the defining line. Every step waits for the screen to show its result.

import * as assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { isMetroFileName } from "../../analysis/trees";
import { have } from "../support/builder";
import { brokenExamples, privateHome, SERVER, trixieEditors } from "../support/editors";
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A tmux server of its own (its socket in the test's folder, no configuration file) holding one pane. */
class Pane {
  constructor(
    private readonly socket: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  tmux(...args: string[]): string {
    return execFileSync("tmux", ["-S", this.socket, "-f", "/dev/null", ...args], { encoding: "utf8", env: this.env, stdio: ["ignore", "pipe", "pipe"] });
  }

  alive(): boolean {
    return spawnSync("tmux", ["-S", this.socket, "has-session"], { env: this.env }).status === 0;
  }

  screen(): string {
    return this.tmux("capture-pane", "-p");
  }

  /** Helix's status line: the row that starts with the mode. */
  status(): string {
    const rows = this.screen().replace(/\n+$/, "").split("\n");
    return rows.find((r) => /^ (NOR|INS|SEL) /.test(r)) ?? "";
  }

  keys(...keys: string[]): void {
    this.tmux("send-keys", ...keys);
  }

  /** Polls the screen until `test` holds (the cap only ends a hung run). */
  async until(what: string, test: (screen: string) => boolean, capMs = 60_000): Promise<string> {
    const end = Date.now() + capMs;
    for (;;) {
      const screen = this.screen();
      if (test(screen)) return screen;
      if (Date.now() > end) throw new Error(`Helix did not show ${what}; the screen:\n${screen}`);
      await sleep(100);
    }
  }
}

describe("system: Helix with the shipped recipe (Debian 13's hx in tmux)", function () {
  this.timeout(180_000);

  it("attaches the server: the diagnostics picker lists the warning, hover shows an expansion, gd opens the definition", async function () {
    const trixie = trixieEditors();
    if ("reason" in trixie) {
      console.log(`      (skipped: Debian 13's Helix is not available: ${trixie.reason})`);
      this.skip();
    }
    if (!have("tmux")) {
      console.log("      (skipped: tmux is not installed)");
      this.skip();
    }
    const root = mkdtempSync(join(tmpdir(), "metro-hx-"));
    let pane: Pane | null = null;
    try {
      const { tree, spec, lines, brokenLine } = brokenExamples(root);
      const env = privateHome(join(root, "home"));
      // The recipe as it ships, running `metro-language-server` from PATH as after `npm install -g`.
      mkdirSync(join(env.XDG_CONFIG_HOME!, "helix"), { recursive: true });
      copyFileSync(RECIPE, join(env.XDG_CONFIG_HOME!, "helix", "languages.toml"));
      const bin = join(root, "bin");
      mkdirSync(bin);
      writeFileSync(join(bin, "metro-language-server"), `#!/bin/sh\nexec '${process.execPath}' '${SERVER}' "$@"\n`);
      chmodSync(join(bin, "metro-language-server"), 0o755);
      env.PATH = `${bin}:${env.PATH}`;

      pane = new Pane(join(root, "tmux.sock"), env);
      const hx = join(trixie.dir, "bin", "hx");
      const file = relative(root, spec);
      pane.tmux("new-session", "-d", "-x", "200", "-y", "50", "-c", root, `exec '${hx}' '${file}'`);
      const p = pane;
      // The status line shows the cursor as line:column (1-based).
      const position = (line: number, col?: number) => () => p.status().includes(` ${line + 1}:${col === undefined ? "" : col + 1}`);

      // The file is open and the server's diagnostics have arrived (the status line counts them).
      await pane.until("the file with its diagnostics", () => pane!.status().includes(file) && /[●■▲]\s*\d/.test(pane!.status()));

      // The diagnostics picker (space d) lists the contexts' warning.
      pane.keys("Space", "d");
      const picker = await pane.until("the diagnostics picker", (s) => s.includes("metro/undefined-element"));
      const row = picker.split("\n").find((r) => r.includes("metro/undefined-element"))!;
      assert.match(row, /WARN\s+metro\/undefined-element\s+"no\/such\/name" is not defined/, picker);
      // Choosing it moves to the reference.
      pane.keys("Enter");
      await pane.until("the warning's position", position(brokenLine, lines[brokenLine].indexOf("$[")));

      // Hover (space k) on a reference shows the value it expands to in the active context.
      const hoverLine = lines.findIndex((l) => l.includes("$[path/mirror/target/control]"));
      pane.keys("/", "path/mirror/target/control", "Enter");
      await pane.until("the search's match", position(hoverLine));
      pane.keys("Space", "k");
      const hover = await pane.until("the hover", (s) => s.includes("derived from the tree"));
      assert.match(hover, /path\/mirror\/target\/control — element/, hover);
      assert.match(hover, /\(active context, derived from the tree\):/, hover);

      // Goto definition (gd) opens the file that defines packages/stage3 at its line.
      const defLine = lines.findIndex((l) => l.includes("$[packages/stage3]"));
      pane.keys("/", "packages/stage3", "Enter");
      await pane.until("the search's match", position(defLine));
      const defining = walkFiles(tree).filter((f) => /^\[section packages\]$[^]*^stage3:/m.test(readFileSync(f, "utf8")));
      assert.equal(defining.length, 1, `the examples define packages/stage3 once: ${defining.join(", ")}`);
      const target = defining[0];
      const targetLine = readFileSync(target, "utf8").split("\n").findIndex((l) => l.startsWith("stage3:"));
      pane.keys("g", "d");
      await pane.until(`${relative(root, target)}:${targetLine + 1}`, () => pane!.status().includes(relative(root, target)) && position(targetLine, 0)());

      // Quit; Helix stops the server and the pane (and with it the tmux server) ends.
      pane.keys(":", "q!", "Enter");
      const end = Date.now() + 60_000;
      while (pane.alive() && Date.now() < end) await sleep(100);
      assert.equal(pane.alive(), false, "Helix quit");
    } finally {
      if (pane?.alive()) pane.tmux("kill-server");
      rmSync(root, { recursive: true, force: true });
    }
  });
});
