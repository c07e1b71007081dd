// Makes dist/metro-engine.code-cache (see cli/code-cache.ts): loads the
// CLI's bundle as the executable does, runs its commands once on examples/
// so that V8 compiles what a run uses, and writes what V8 compiled.
// Run by build.mjs after the bundles are built; its output is discarded.
import { createRequire } from "node:module";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const dist = join(root, "dist");
const launcher = createRequire(import.meta.url)(join(dist, "metro-engine.js"));
const loaded = launcher.loadBundle(join(dist, launcher.BUNDLE), null);
const cli = loaded.exports;
const config = join(root, "examples", "metro.conf");
const work = mkdtempSync(join(tmpdir(), "metro-code-cache-"));
try {
  const contexts = join(work, "contexts.json");
  writeFileSync(contexts, JSON.stringify(["stage1", "stage2", "stage3"].map((target) => ({ config, args: { target } }))));
  // A context alone and a list of them take different paths (a workspace serving many contexts keeps more).
  for (const argv of [
    ["check", "--no-exec", "--config", config, "target:", "stage3"],
    ["check", "--no-exec", "--contexts", contexts],
    ["check", "--no-exec", "--format", "json", "--contexts", contexts],
    ["dump", "--json", "--no-exec", "--config", config, "target:", "stage3"],
    ["dump", "--json", "--no-exec", "--contexts", contexts],
    ["get", "--no-exec", "--config", config, "target:", "stage3", "target/name"],
  ]) {
    await cli.main(argv);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
launcher.writeCodeCache(loaded, join(dist, launcher.CODE_CACHE));
process.exitCode = 0;
