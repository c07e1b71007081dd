// Standard input for the commands that take "-" as a file (fmt, parse): read
// with the same size limit as a file, so that an endless producer
// (`yes | metro-engine fmt -`) is refused instead of filling memory.

import { readSync } from "node:fs";
import { FileProblem, MAX_FILE_BYTES, formatBytes } from "../engine/files";

/** The bytes of standard input, or a FileProblem (thrown) past `maxBytes`. */
export function readStandardInput(maxBytes = MAX_FILE_BYTES): Buffer {
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const chunk = Buffer.allocUnsafe(64 * 1024);
    let n: number;
    try {
      n = readSync(0, chunk, 0, chunk.length, null);
    } catch (e) {
      // A non-blocking standard input with nothing yet: wait a moment and read again.
      if ((e as NodeJS.ErrnoException).code === "EAGAIN") {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
        continue;
      }
      if ((e as NodeJS.ErrnoException).code === "EOF") break;
      throw e;
    }
    if (n === 0) break;
    total += n;
    if (total > maxBytes) throw new FileProblem("too-large", `is more than the ${formatBytes(maxBytes)} metro-engine reads of one file`);
    chunks.push(chunk.subarray(0, n));
  }
  return Buffer.concat(chunks, total);
}
