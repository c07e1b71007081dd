// Bundles the CLI, the language server, the VS Code client, the tests and the
// benchmark with esbuild. chevrotain is an ES module; bundling to CommonJS
// lets every entry point run on Node 20 without loader flags.
import { build } from "esbuild";
import { readdirSync, rmSync, statSync, existsSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";

const args = new Set(process.argv.slice(2));
const common = { bundle: true, platform: "node", target: "node20", format: "cjs", sourcemap: true, logLevel: "warning" };

function filesUnder(dir, suffix) {
  if (!existsSync(dir)) return [];
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...filesUnder(path, suffix));
    else if (path.endsWith(suffix)) out.push(path);
  }
  return out;
}

const jobs = [
  // The executable is a small launcher; the CLI itself is the bundle it loads with V8's code cache (cli/code-cache.ts).
  build({ ...common, entryPoints: { "metro-engine": "cli/bin.ts" }, outdir: "dist", banner: { js: "#!/usr/bin/env node" } }),
  build({ ...common, entryPoints: { "metro-engine.bundle": "cli/start.ts" }, outdir: "dist" }),
];
if (existsSync("server/main.ts")) {
  jobs.push(build({ ...common, entryPoints: { "metro-language-server": "server/main.ts" }, outdir: "dist", banner: { js: "#!/usr/bin/env node" } }));
}
if (existsSync("client-vscode/src/extension.ts")) {
  jobs.push(build({ ...common, entryPoints: { extension: "client-vscode/src/extension.ts" }, outdir: "client-vscode/dist", external: ["vscode"] }));
}
if (args.has("--tests")) {
  // Bundles of tests that were moved or removed must not run again.
  rmSync("out/tests", { recursive: true, force: true });
  jobs.push(build({ ...common, entryPoints: filesUnder("tests", ".test.ts"), outdir: "out/tests", outbase: "tests",
    external: ["mocha", "vscode-textmate", "vscode-oniguruma", "playwright-core"] }));
}
if (args.has("--bench")) {
  jobs.push(build({ ...common, entryPoints: filesUnder("bench", ".ts"), outdir: "out/bench", outbase: "bench" }));
}
await Promise.all(jobs);
// The code cache is made from the bundle just built, by a run of its commands on examples/ (output discarded).
rmSync("dist/metro-engine.code-cache", { force: true });
if (existsSync("examples/metro.conf")) {
  const r = spawnSync(process.execPath, ["scripts/code-cache.mjs"], { stdio: ["ignore", "ignore", "pipe"], encoding: "utf8" });
  if (r.status !== 0) console.error(`note: dist/metro-engine.code-cache was not made; the CLI starts without it\n${r.stderr}`);
}
