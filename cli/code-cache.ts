// V8's code cache for the CLI's bundle. Compiling the 0.8 MB bundle, and
// then each function the first time it runs, is a large part of a short
// command's time (tens of milliseconds of a check); the build runs the
// commands once on examples/ and keeps what V8 compiled
// (dist/metro-engine.code-cache, `scripts/code-cache.mjs`), and the
// executable hands it back to V8 when it loads the bundle.
//
// V8 checks that the cache was made by the same V8 with the same flags, and
// that the source has the same length: a cache it rejects costs nothing but
// the compile it would have saved. The same length is not the same source,
// so the cache starts with the SHA-256 of the bundle it was made from, and a
// cache made for other bytes is not handed to V8 at all.

import { createHash } from "node:crypto";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { Script } from "node:vm";

/** The bundle and its cache, beside the executable in dist/. */
export const BUNDLE = "metro-engine.bundle.js";
export const CODE_CACHE = "metro-engine.code-cache";

const DIGEST_BYTES = 32;

export interface LoadedBundle {
  /** What the bundle's module exports. */
  readonly exports: unknown;
  /** Whether a cache was handed to V8 and taken (false without one). */
  readonly cacheUsed: boolean;
  readonly script: Script;
  readonly digest: Buffer;
}

/**
 * Runs a CommonJS bundle as Node would require it, with the code cache at
 * `cache` when there is one made from these very bytes.
 */
export function loadBundle(bundle: string, cache: string | null): LoadedBundle {
  const bytes = readFileSync(bundle);
  const digest = createHash("sha256").update(bytes).digest();
  let cachedData: Buffer | undefined;
  if (cache !== null) {
    try {
      const c = readFileSync(cache);
      if (c.length > DIGEST_BYTES && c.subarray(0, DIGEST_BYTES).equals(digest)) cachedData = c.subarray(DIGEST_BYTES);
    } catch {
      cachedData = undefined; // no cache (not built, or a copy of the bundle alone): compile as usual
    }
  }
  // Node's own module wrapper, on the bundle's first line: line numbers in stack traces stay the file's.
  const source = `(function (exports, require, module, __filename, __dirname) { ${bytes.toString("utf8")}\n});`;
  const script = new Script(source, { filename: bundle, cachedData });
  const module = { exports: {} as unknown };
  const wrapper = script.runInThisContext() as (exports: unknown, require: NodeRequire, module: { exports: unknown }, filename: string, dirname: string) => void;
  wrapper.call(module.exports, module.exports, createRequire(bundle), module, bundle, dirname(bundle));
  return { exports: module.exports, cacheUsed: cachedData !== undefined && !script.cachedDataRejected, script, digest };
}

/** Writes the code cache of a loaded bundle: what V8 has compiled of it so far. */
export function writeCodeCache(loaded: LoadedBundle, cache: string): void {
  const part = `${cache}.${process.pid}.part`;
  writeFileSync(part, Buffer.concat([loaded.digest, loaded.script.createCachedData()]));
  renameSync(part, cache);
}
