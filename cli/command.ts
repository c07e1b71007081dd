// What every command of metro-engine is: a name, its help, its options and
// what it runs. `main.ts` dispatches, prints help and suggests near misses.

import { statSync } from "node:fs";
import { homedir } from "node:os";
import { resolve } from "node:path";
import type { Diagnostic } from "../language";
import { CONTEXTS_FILE, readContextsFile, type ContextConfig } from "../analysis/contexts-file";
import { describeFsError } from "../engine/files";
import { UsageError, optionValue, type OptionSpec, type ParsedArgs } from "./args";
import { quotePath } from "../language";

export interface Command {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** The synopsis, without "usage: metro-engine". */
  synopsis: string;
  /** Paragraphs after the synopsis: what it does, exit codes, examples. */
  details: string;
  options: OptionSpec[];
  /** How many words that are neither options nor KEY: VALUE pairs it takes. */
  maxPositional: number;
  run(args: ParsedArgs, argv: string[]): Promise<number> | number;
}

export const CONFIG_OPTION: OptionSpec = { name: "--config", alias: "-c", value: "FILE", help: "the entry file (default: ~/.metro, like metro)" };
export const CONTEXTS_OPTION: OptionSpec = {
  name: "--contexts",
  value: "FILE",
  help: `a JSON list of {"config", "args"} evaluated in one process (default: ./${CONTEXTS_FILE} when no --config and no KEY: VALUE is given)`,
};
export const NO_EXEC_OPTION: OptionSpec = { name: "--no-exec", help: "never run <?python blocks" };
export const JSON_OPTION: OptionSpec = { name: "--json", help: "print JSON" };

/** A configuration file the user named: must be a regular file. */
export function requireConfigFile(path: string, given: boolean): string {
  const abs = resolve(path);
  try {
    const st = statSync(abs);
    if (st.isDirectory()) throw new UsageError(`config ${quotePath(path)} is a folder; name the entry file (metro.conf) inside it`);
    if (!st.isFile()) throw new UsageError(`config ${quotePath(path)} is not a regular file`);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(given
      ? `config file ${quotePath(path)} ${describeFsError(e as NodeJS.ErrnoException)}`
      : `no --config given and ${abs} ${describeFsError(e as NodeJS.ErrnoException)} (copy metro.conf there, or pass --config FILE)`);
  }
  return abs;
}

/** The contexts a command works on: --contexts, or --config plus KEY: VALUE pairs, or metro-contexts.json, or ~/.metro. */
export function contextsFor(args: ParsedArgs): ContextConfig[] {
  const file = optionValue(args, "--contexts");
  const config = optionValue(args, "--config");
  if (file !== undefined) {
    // The file names every context: what the command line would add to them was dropped without a word.
    if (config !== undefined) throw new UsageError("--contexts and --config cannot be given together: the contexts file names each context's entry file");
    const keys = Object.keys(args.pairs);
    if (keys.length) throw new UsageError(`--contexts takes no KEY: VALUE arguments (${keys.map((k) => `${k}:`).join(" ")}): give each context's values in the file's "args"`);
    return contextsFromFile(file);
  }
  if (config === undefined && Object.keys(args.pairs).length === 0) {
    try {
      if (statSync(CONTEXTS_FILE).isFile()) return contextsFromFile(CONTEXTS_FILE);
    } catch {
      // no contexts file here
    }
  }
  const entry = requireConfigFile(config ?? resolve(homedir(), ".metro"), config !== undefined);
  return [{ name: "", config: entry, args: args.pairs }];
}

function contextsFromFile(file: string): ContextConfig[] {
  const { contexts, problems, at } = readContextsFile(file);
  if (problems.length) throw new UsageError(`${file}${at ? `:${at.line}:${at.column}` : ""}: ${problems.join("; ")}`);
  // An empty list would "pass" a CI job that checked nothing.
  if (contexts.length === 0) throw new UsageError(`${file}: lists no context: nothing to do`);
  const checked = new Set<string>();
  contexts.forEach((c, i) => {
    if (checked.has(c.config)) return;
    try {
      requireConfigFile(c.config, true);
    } catch (e) {
      // Which entry names it: the path alone may be one of many, made from a relative "config".
      if (e instanceof UsageError) throw new UsageError(`${file}: entry ${i + 1}: ${e.message}`);
      throw e;
    }
    checked.add(c.config);
  });
  return contexts;
}

export function formatDiagnostic(file: string, d: Pick<Diagnostic, "range" | "severity" | "message" | "code">): string {
  return `${file}:${d.range.start.line + 1}:${d.range.start.character + 1}: ${d.severity}: ${d.message} [${d.code}]`;
}
