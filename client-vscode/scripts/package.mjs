// `npm run package`: builds the client and the server with the project's
// build script, stages an extension folder with both bundles, the grammar,
// the language configuration and the manifest, and runs @vscode/vsce on it.
// The result is client-vscode/metro-language-<version>.vsix.
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { repositoryOf } from "./repository.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const client = resolve(here, "..");
const root = resolve(client, "..");
const stage = join(client, ".package");

execFileSync(process.execPath, [join(root, "scripts", "build.mjs")], { cwd: root, stdio: "inherit" });

rmSync(stage, { recursive: true, force: true });
for (const d of ["dist", "server", "syntaxes"]) mkdirSync(join(stage, d), { recursive: true });

const manifest = JSON.parse(readFileSync(join(client, "package.json"), "utf8"));
// The grammar lives in the repository's grammars/ folder; the package carries a copy.
manifest.contributes.grammars = manifest.contributes.grammars.map((g) => ({ ...g, path: "./syntaxes/metro.tmLanguage.json" }));
delete manifest.private;
manifest.repository ??= repositoryOf(root) ?? undefined;
if (!manifest.repository) {
  console.log(`note: no repository address (neither "repository" in package.json nor a network "origin" remote): the manifest has none`);
}
delete manifest.devDependencies;
delete manifest.scripts;
writeFileSync(join(stage, "package.json"), JSON.stringify(manifest, null, 2) + "\n");

const copies = [
  [join(client, "dist", "extension.js"), "dist/extension.js"],
  [join(root, "dist", "metro-language-server.js"), "server/metro-language-server.js"],
  [join(root, "grammars", "metro.tmLanguage.json"), "syntaxes/metro.tmLanguage.json"],
  [join(client, "language-configuration.json"), "language-configuration.json"],
  [join(client, "metro-contexts.schema.json"), "metro-contexts.schema.json"],
  [join(client, "icon.png"), "icon.png"],
  [join(client, ".vscodeignore"), ".vscodeignore"],
];
for (const [from, to] of copies) {
  if (!existsSync(from)) throw new Error(`missing ${from}: did the build run?`);
  copyFileSync(from, join(stage, to));
}
writeFileSync(
  join(stage, "README.md"),
  `# Metro for VS Code

Language support for Metro, the Funtoo Linux stage builder's configuration
language: live diagnostics, go to definition, references and rename, values
expanded in a build context on hover, \`:zap\` hints, completion, symbols,
folding, semantic highlighting, links on collect paths.

Open a metro checkout or \`/etc/builds\`: the server finds the tree (a folder
with \`etc/master.conf\` or \`metro.conf\`) and derives build contexts when no
\`metro.contexts\` setting and no \`metro-contexts.json\` exist. The status bar
names the active context; click it to switch.

The language server never executes anything from the workspace.
`,
);
writeFileSync(join(stage, "LICENSE"), "MIT License\n\nPermission is hereby granted, free of charge, to any person obtaining a copy of this software and associated documentation files (the \"Software\"), to deal in the Software without restriction, including without limitation the rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of the Software, and to permit persons to whom the Software is furnished to do so, subject to the following conditions:\n\nThe above copyright notice and this permission notice shall be included in all copies or substantial portions of the Software.\n\nTHE SOFTWARE IS PROVIDED \"AS IS\", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.\n");

const out = join(client, `${manifest.name}-${manifest.version}.vsix`);
const vsce = join(root, "node_modules", "@vscode", "vsce", "vsce");
const flags = manifest.repository ? [] : ["--allow-missing-repository"];
execFileSync(process.execPath, [vsce, "package", "--no-dependencies", ...flags, "--skip-license", "--out", out], { cwd: stage, stdio: "inherit" });
rmSync(stage, { recursive: true, force: true });
console.log(`packaged ${out}`);
