// The metro-engine executable (dist/metro-engine.js): loads the CLI's bundle
// with V8's code cache (`code-cache.ts`) and starts it (`start.ts`). Without
// the cache (a copy of the bundle alone, another Node) it starts the same,
// only slower.
import { join } from "node:path";
import { BUNDLE, CODE_CACHE, loadBundle } from "./code-cache";

export { BUNDLE, CODE_CACHE, loadBundle, writeCodeCache } from "./code-cache";

if (require.main === module) {
  const bundle = join(__dirname, BUNDLE);
  let cli: typeof import("./start");
  try {
    cli = loadBundle(bundle, join(__dirname, CODE_CACHE)).exports as typeof import("./start");
  } catch (e) {
    // The executable copied without its bundle, or the bundle unreadable: say which file, not a stack trace.
    const why = (e as NodeJS.ErrnoException).code === "ENOENT" ? "it is missing (copy dist/ whole)" : e instanceof Error ? e.message : String(e);
    process.stderr.write(`metro-engine: cannot load ${bundle}: ${why}\n`);
    process.exit(70);
  }
  cli.start(process.argv.slice(2));
}
