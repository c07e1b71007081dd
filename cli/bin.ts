// The metro-engine executable: runs the CLI and sets the exit code.
import { main } from "./main";
import { describeError } from "../engine/system-errors";

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    process.stderr.write(`metro-engine: internal error: ${describeError(e)}\n`);
    process.exitCode = 70;
  },
);
