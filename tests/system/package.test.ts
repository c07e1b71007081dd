// The VS Code extension package: `npm run package` and what the .vsix holds.

import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { PROJECT } from "../support/shared";

describe("VS Code extension package", function () {
  it("npm run package produces a .vsix holding the client, the server and the grammar", function () {
    this.timeout(120000);
    const root = PROJECT;
    const script = join(root, "client-vscode", "scripts", "package.mjs");
    if (!existsSync(script)) this.skip();
    const manifest = JSON.parse(readFileSync(join(root, "client-vscode", "package.json"), "utf8"));
    const vsix = join(root, "client-vscode", `${manifest.name}-${manifest.version}.vsix`);
    rmSync(vsix, { force: true });
    execFileSync(process.execPath, [script], { cwd: root, stdio: "pipe" });
    const zip = readFileSync(vsix).toString("latin1");
    for (const name of ["extension/dist/extension.js", "extension/server/metro-language-server.js", "extension/syntaxes/metro.tmLanguage.json", "extension/language-configuration.json", "extension/package.json", "extension/icon.png"]) {
      assert.ok(zip.includes(name), `${name} missing from the vsix`);
    }
    assert.ok(!zip.includes(".js.map") && !zip.includes("extension/src/"), "no source maps or sources");
    assert.equal(manifest.icon, "icon.png");
    assert.ok(manifest.categories.includes("Programming Languages"), "categories");
    // Every command the manifest declares is registered by the client.
    // (by name, or through a constant of server/protocol.ts that the client imports)
    const client = readFileSync(join(root, "client-vscode", "src", "extension.ts"), "utf8") + readFileSync(join(root, "server", "protocol.ts"), "utf8");
    for (const c of manifest.contributes.commands as { command: string }[]) assert.ok(client.includes(`"${c.command}"`), c.command);
    assert.deepEqual(
      Object.keys(manifest.contributes.configuration.properties).sort(),
      ["metro.contexts", "metro.server.path", "metro.trace.server"],
    );
  });
});
