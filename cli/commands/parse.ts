// `metro-engine parse`: one file at a time, no evaluation.

import { parseMetroBytes } from "../../language";
import { FileProblem, describeFsError, readRegularFile } from "../../engine/files";
import { readStandardInput } from "../stdin";
import { UsageError } from "../args";
import { JSON_OPTION, formatDiagnostic, type Command } from "../command";

export const parseCommand: Command = {
  name: "parse",
  summary: "parse files; print their diagnostics (or the syntax tree)",
  synopsis: "parse [--json] FILE... | parse [--json] -",
  details: `Prints each problem as FILE:LINE:COL: SEVERITY: MESSAGE [CODE]; with --json
the lossless syntax tree instead. Nothing is evaluated and no other file is read.
"-" reads standard input (named <stdin> in the output).

Exit codes: 0 no errors, 1 a file has an error or cannot be read, 2 usage.`,
  options: [{ ...JSON_OPTION, help: "print the syntax tree as JSON" }],
  maxPositional: Number.MAX_SAFE_INTEGER,
  run(args) {
    if (args.positional.length === 0) throw new UsageError("parse needs at least one FILE (or - for standard input)");
    if (args.positional.includes("-") && args.positional.length > 1) throw new UsageError("- (standard input) cannot be mixed with files");
    let errors = false;
    const trees: unknown[] = [];
    for (const file of args.positional) {
      let bytes: Buffer;
      const name = file === "-" ? "<stdin>" : file;
      try {
        bytes = file === "-" ? readStandardInput() : readRegularFile(file);
      } catch (e) {
        process.stderr.write(`${name}: ${e instanceof FileProblem ? e.words : describeFsError(e as NodeJS.ErrnoException)}\n`);
        errors = true;
        continue;
      }
      const ast = parseMetroBytes(bytes);
      if (ast.diagnostics.some((d) => d.severity === "error")) errors = true;
      if (args.options.has("--json")) trees.push({ file: name, ast });
      else for (const d of ast.diagnostics) process.stdout.write(formatDiagnostic(name, d) + "\n");
    }
    if (args.options.has("--json")) process.stdout.write(JSON.stringify(trees.length === 1 ? trees[0] : trees, null, 1) + "\n");
    return errors ? 1 : 0;
  },
};
