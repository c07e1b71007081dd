// `metro-engine get`: one value of one context, like `metro -k`.

import { evaluateContext } from "../../engine/evaluate";
import { errorDiagnostic } from "../../engine/check";
import { UsageError } from "../args";
import { CONFIG_OPTION, NO_EXEC_OPTION, contextsFor, type Command } from "../command";
import { TreeDefinitions, commandLineHint, contextSources } from "../command-line-names";
import { reportFatal } from "./dump";
import { commandWorkspace } from "../heap";

export const getCommand: Command = {
  name: "get",
  summary: "print one value, like metro -k",
  synopsis: "get KEY [--config FILE] [--no-exec] [KEY: VALUE ...]",
  details: `Evaluates the context (the entry file plus the KEY: VALUE pairs) and prints
KEY's value; a multi-line value prints as its lines.

Exit codes: 0 printed, 1 the value cannot be expanded (the reason and where
on stderr), 2 usage.

Example:
  metro-engine get portage/MAKEOPTS --config ~/.metro target: stage3 target/build: funtoo-current`,
  options: [CONFIG_OPTION, NO_EXEC_OPTION],
  maxPositional: 1,
  run(args) {
    if (args.positional.length !== 1) throw new UsageError("get needs exactly one KEY");
    const [spec] = contextsFor({ ...args, options: new Map([...args.options].filter(([k]) => k !== "--contexts")) });
    const ctx = evaluateContext(spec, { allowExec: !args.options.has("--no-exec"), workspace: commandWorkspace() });
    if (ctx.fatal) return reportFatal(ctx);
    const { value, error } = ctx.tryGet(args.positional[0]);
    if (error) {
      // Where it fails: the reference (or `<<`) that cannot be expanded, as file:line:col.
      const key = args.positional[0];
      const d = errorDiagnostic(ctx, error);
      // An error of no element (a condition, an undefined key) is placed at the key's definition; a key no file defines has no place.
      const def = error.site.element === null ? ctx.definitions(key)[0] : undefined;
      const at = def ? { file: def.file, line: def.statement.name.range.start.line, character: def.statement.name.range.start.character } : { file: d.file, ...d.range.start };
      const where = def || error.site.element !== null ? `${at.file}:${at.line + 1}:${at.character + 1}: ` : "";
      const hint = error.missing !== undefined && new TreeDefinitions().isCommandLineName(error.missing, contextSources(ctx)) ? `; ${commandLineHint(error.missing)}` : "";
      process.stderr.write(`${where}${key}: ${error.message}${hint} [${error.code}]\n`);
      return 1;
    }
    if (Array.isArray(value)) for (const l of value) process.stdout.write(l + "\n");
    else if (value !== null) process.stdout.write(value + "\n");
    return 0;
  },
};
