// metro-engine: the command line. Every error is a message with a location
// and an exit code, never a stack trace: 0 success, 1 the command's own
// failure, 2 usage, 70 an internal error.

import pkg from "../package.json";
import { UsageError, parseArgs, suggestion, type OptionSpec } from "./args";
import type { Command } from "./command";
import { COMMANDS } from "./commands";
import { describeError } from "../engine/system-errors";
import { quote } from "../language";

export { UsageError } from "./args";
export { dumpContexts } from "./commands/dump";
export { checkAll, type CheckFinding } from "./commands/check";

export const VERSION: string = pkg.version;

function generalHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  return `usage: metro-engine COMMAND [OPTIONS] [KEY: VALUE ...]

Tooling for Metro, the Funtoo Linux stage builder.

commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`).join("\n")}

KEY: VALUE pairs are metro's command-line values, as separate words:
  metro-engine check --config ~/.metro target: stage3 target/build: funtoo-current

Run "metro-engine help COMMAND" (or "metro-engine COMMAND --help") for a command's options.
"metro-engine --version" prints the version.`;
}

function optionLine(o: OptionSpec): string {
  const names = (o.alias ? `${o.alias}, ` : "") + o.name + (o.value ? ` ${o.value}` : "");
  return `  ${names.padEnd(24)} ${o.help}`;
}

export function commandHelp(c: Command): string {
  const options = [...c.options, { name: "--help", alias: "-h", help: "this text" }];
  return `usage: metro-engine ${c.synopsis}

${c.summary[0].toUpperCase() + c.summary.slice(1)}.

options:
${options.map(optionLine).join("\n")}

${c.details}`;
}

function findCommand(name: string): Command {
  const c = COMMANDS.find((x) => x.name === name);
  if (c) return c;
  const near = suggestion(name, COMMANDS.map((x) => x.name));
  throw new UsageError(`unknown command ${quote(name, '"')}${near ? `; did you mean "${near}"?` : ""}`);
}

/** True when the words ask for help (an option word, not the value of a KEY: pair). */
function asksForHelp(argv: string[]): boolean {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i].length > 1 && argv[i].endsWith(":")) i++;
    else if (argv[i] === "--help" || argv[i] === "-h") return true;
  }
  return false;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  try {
    if (name === undefined) {
      process.stderr.write(generalHelp() + "\n");
      return 2;
    }
    if (name === "--version" || name === "-V" || name === "version") {
      process.stdout.write(`metro-engine ${VERSION}\n`);
      return 0;
    }
    if (name === "help" || name === "--help" || name === "-h") {
      process.stdout.write((rest.length ? commandHelp(findCommand(rest[0])) : generalHelp()) + "\n");
      return 0;
    }
    const command = findCommand(name);
    if (asksForHelp(rest)) {
      process.stdout.write(commandHelp(command) + "\n");
      return 0;
    }
    return await command.run(parseArgs(rest, command.options, command.maxPositional), rest);
  } catch (e) {
    if (e instanceof UsageError) {
      const topic = name && COMMANDS.some((c) => c.name === name) ? `help ${name}` : "help";
      process.stderr.write(`metro-engine: ${e.message}\n(run "metro-engine ${topic}" for usage)\n`);
      return 2;
    }
    if ((e as NodeJS.ErrnoException).code === "EPIPE") return 0;
    process.stderr.write(`metro-engine: internal error: ${describeError(e)}\n`);
    return 70;
  }
}
