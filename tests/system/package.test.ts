// The VS Code extension package: `npm run package` and what the .vsix holds.

import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { PROJECT } from "../support/shared";
import { tempDir } from "../support/trees";

type Repository = { type: string; url: string } | null;
async function repositoryOf(root: string): Promise<Repository> {
  const mod = (await import(pathToFileURL(join(PROJECT, "client-vscode", "scripts", "repository.mjs")).href)) as { repositoryOf(root: string): Repository };
  return mod.repositoryOf(root);
}

describe("VS Code extension package", function () {
  it("npm run package produces a .vsix holding the client, the server and the grammar", function () {
    this.timeout(120000);
    const root = PROJECT;
    const script = join(root, "client-vscode", "scripts", "package.mjs");
    if (!existsSync(script)) this.skip();
    const manifest = JSON.parse(readFileSync(join(root, "client-vscode", "package.json"), "utf8"));
    const vsix = join(root, "client-vscode", `${manifest.name}-${manifest.version}.vsix`);
    rmSync(vsix, { force: true });
    const said = execFileSync(process.execPath, [script], { cwd: root, stdio: "pipe", encoding: "utf8" });
    const zip = readFileSync(vsix).toString("latin1");
    for (const name of ["extension/dist/extension.js", "extension/server/metro-language-server.js", "extension/syntaxes/metro.tmLanguage.json", "extension/language-configuration.json", "extension/package.json", "extension/icon.png"]) {
      assert.ok(zip.includes(name), `${name} missing from the vsix`);
    }
    assert.ok(!zip.includes(".js.map") && !zip.includes("extension/src/"), "no source maps or sources");
    assert.equal(manifest.icon, "icon.png");
    assert.ok(manifest.categories.includes("Programming Languages"), "categories");
    // The packed manifest names the repository when this clone has a network address; otherwise the script says so.
    return repositoryOf(root).then((repository) => {
      if (repository) assert.ok(zip.includes(repository.url), `the packed manifest names ${repository.url}`);
      else assert.match(said, /no repository address/);
      checkCommands(root, manifest);
    });
  });

  it("the manifest's repository is package.json's, else a network origin remote, never a local path", async function () {
    const dir = tempDir("metro-repository-");
    try {
      const git = (...a: string[]) => execFileSync("git", ["-C", dir, ...a], { stdio: "pipe" });
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "x" }));
      git("init", "-q");
      assert.equal(await repositoryOf(dir), null, "no remote: none");
      git("remote", "add", "origin", "/srv/git/metro-engine");
      assert.equal(await repositoryOf(dir), null, "a local path: none");
      git("remote", "set-url", "origin", "https://git.example.org/metro/metro-engine.git");
      assert.deepEqual(await repositoryOf(dir), { type: "git", url: "https://git.example.org/metro/metro-engine.git" });
      git("remote", "set-url", "origin", "git@git.example.org:metro/metro-engine.git");
      assert.deepEqual(await repositoryOf(dir), { type: "git", url: "git@git.example.org:metro/metro-engine.git" });
      writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "x", repository: { type: "git", url: "https://example.org/own.git" } }));
      assert.deepEqual(await repositoryOf(dir), { type: "git", url: "https://example.org/own.git" }, "package.json's own wins");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

function checkCommands(root: string, manifest: { contributes: { commands: { command: string }[]; configuration: { properties: Record<string, unknown> } } }): void {
  {
    // Every command the manifest declares is registered by the client.
    // (by name, or through a constant of server/protocol.ts that the client imports)
    const client = readFileSync(join(root, "client-vscode", "src", "extension.ts"), "utf8") + readFileSync(join(root, "server", "protocol.ts"), "utf8");
    for (const c of manifest.contributes.commands as { command: string }[]) assert.ok(client.includes(`"${c.command}"`), c.command);
    assert.deepEqual(
      Object.keys(manifest.contributes.configuration.properties).sort(),
      ["metro.contexts", "metro.server.path", "metro.trace.server"],
    );
  }
}
