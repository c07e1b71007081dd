// The CLI's bundle (dist/metro-engine.bundle.js): what the metro-engine
// executable (`bin.ts`) runs once it has loaded the bundle. `start` runs one
// command line and sets the exit code; `main` (the commands) is exported for
// the build's warm-up run, which makes the code cache (`code-cache.ts`).
import { main } from "./main";
import { writeSync } from "node:fs";
import { describeError, reasonOf } from "../engine/system-errors";
import { keepYoungGenerationSmall } from "../engine/heap";
import { outputLost } from "../engine/output-loss";

export { main };

// When the reader of our output goes away (`metro-engine dump | head -1`),
// stop quietly with the status a tool killed by SIGPIPE has (128 + 13), as
// `yes | head -1` does; Node ignores SIGPIPE, so the write fails with EPIPE.
const SIGPIPE_STATUS = 141;

export function start(argv: string[]): void {
  keepYoungGenerationSmall();
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (e: NodeJS.ErrnoException) => {
      if (outputLost(e)) return; // a build stops and cleans up first (engine/output-loss.ts)
      if (e.code === "EPIPE" || e.code === "ERR_STREAM_DESTROYED") process.exit(SIGPIPE_STATUS);
      // Any other output error (a full disk, an I/O error): said on standard error when the output was
      // standard output (its own failure cannot be reported), then the internal-error status.
      if (stream === process.stdout) {
        try {
          writeSync(2, `metro-engine: cannot write the output: ${reasonOf(e)}; the output is incomplete\n`);
        } catch {
          // standard error is gone too
        }
      }
      process.exit(70);
    });
  }
  main(argv).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.stderr.write(`metro-engine: internal error: ${describeError(e)}\n`);
      process.exitCode = 70;
    },
  );
}
