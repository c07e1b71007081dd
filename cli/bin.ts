// The metro-engine executable (dist/metro-engine.js): loads the CLI's bundle
// with V8's code cache (`code-cache.ts`) and starts it (`start.ts`). Without
// the cache (a copy of the bundle alone, another Node) it starts the same,
// only slower.
import { join } from "node:path";
import { BUNDLE, CODE_CACHE, loadBundle } from "./code-cache";

export { BUNDLE, CODE_CACHE, loadBundle, writeCodeCache } from "./code-cache";

if (require.main === module) {
  const cli = loadBundle(join(__dirname, BUNDLE), join(__dirname, CODE_CACHE)).exports as typeof import("./start");
  cli.start(process.argv.slice(2));
}
