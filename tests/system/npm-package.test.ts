// The package as a user installs it: `npm pack`, then `npm install -g` of the
// tarball into a private prefix (offline: the bundles need no dependency),
// then both commands from that prefix's bin folder.

import * as assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StdioClient } from "../../server/testing/stdio-client";
import { PROJECT } from "../support/shared";

function npm(args: string[], cwd: string): string {
  return execFileSync("npm", args, { cwd, encoding: "utf8", env: { ...process.env, npm_config_update_notifier: "false", npm_config_fund: "false", npm_config_audit: "false" }, stdio: ["ignore", "pipe", "pipe"] });
}

describe("system: the npm package", function () {
  this.timeout(300000);
  let dir = "";
  let prefix = "";
  let tarball = "";

  before(function () {
    if (spawnSync("npm", ["--version"]).status !== 0) {
      console.log("      (skipped: npm is not on PATH)");
      this.skip();
    }
    dir = mkdtempSync(join(tmpdir(), "metro-pack-"));
    prefix = join(dir, "prefix");
    const packed = JSON.parse(npm(["pack", "--json", "--pack-destination", dir], PROJECT));
    tarball = join(dir, packed[0].filename);
    const files: string[] = packed[0].files.map((f: { path: string }) => f.path);
    assert.ok(files.includes("dist/metro-engine.js") && files.includes("dist/metro-language-server.js"), files.join(" "));
    assert.ok(files.includes("dist/metro-engine.bundle.js") && files.includes("dist/metro-engine.code-cache"), `the bundle the executable loads, and its code cache: ${files.join(" ")}`);
    assert.ok(files.includes("editors/neovim/metro.lua"), "the editor recipes ship");
    assert.ok(!files.some((f) => f.startsWith("tests/") || f.startsWith("node_modules/") || f.endsWith(".ts")), files.join(" "));
    npm(["install", "-g", "--offline", "--prefix", prefix, tarball], dir);
  });

  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("is publishable: not private, files listed, no runtime dependency to fetch", () => {
    const pkg = JSON.parse(readFileSync(join(PROJECT, "package.json"), "utf8"));
    assert.equal(pkg.private, undefined);
    assert.ok(Array.isArray(pkg.files));
    assert.deepEqual(Object.keys(pkg.dependencies ?? {}), [], "the bundles carry their dependencies");
  });

  it("metro-engine --version runs from the global prefix", () => {
    const bin = join(prefix, "bin", "metro-engine");
    assert.ok(existsSync(bin), readdirSync(join(prefix, "bin")).join(" "));
    const version = JSON.parse(readFileSync(join(PROJECT, "package.json"), "utf8")).version;
    assert.equal(execFileSync(bin, ["--version"], { encoding: "utf8" }), `metro-engine ${version}\n`);
    const check = spawnSync(bin, ["check", "--config", join(PROJECT, "examples", "metro.conf"), "target:", "stage3"], { encoding: "utf8" });
    assert.equal(check.status, 0, check.stdout + check.stderr);
  });

  it("metro-language-server --stdio answers initialize from the global prefix", async () => {
    const bin = join(prefix, "bin", "metro-language-server");
    const client = await StdioClient.start({ serverPath: bin, command: [bin], root: join(PROJECT, "examples") });
    try {
      assert.ok(client.initializeResult?.capabilities.hoverProvider, JSON.stringify(client.initializeResult));
      const hover = (await client.request("textDocument/hover", {
        textDocument: { uri: `file://${join(PROJECT, "examples", "metro.conf")}` },
        position: { line: 0, character: 0 },
      })) as unknown;
      assert.ok(hover === null || typeof hover === "object");
      assert.ok(client.process?.pid !== undefined, "the installed command runs as its own process");
    } finally {
      await client.stop();
    }
  });
});
