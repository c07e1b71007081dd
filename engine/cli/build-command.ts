// `metro-engine build`: the headless stage builder's command line.

import { existsSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { Builder, EXIT_CONFIG } from "../build/builder";
import { dryRun } from "../build/dry-run";
import { Reporter } from "../build/reporter";
import { insidePrivateNamespace, privateNamespaceAvailable, runInPrivateNamespace } from "../build/namespace";

const USAGE = `usage: metro-engine build [options] [CONFIG] KEY: VALUE ...

Builds the targets of a Metro configuration the way metro does: with
multi: yes every name in multi/targets and multi/extras, else target.

  CONFIG, -c, --config FILE  entry configuration file (default: ~/.metro)
  --dry-run DIR              evaluate everything, write the scripts each step
                             would run into DIR, print the plan; change nothing
  --json                     JSON-lines events on stdout (for CI)
  --no-namespace             do not isolate mounts in a private mount namespace
  -h, --help                 this text

Exit codes: 0 built or skipped, 1 a target failed, 2 usage or configuration
error, 3 another build holds a lock.

Example:
  metro-engine build -c examples/metro.conf target: stage3 \\
      path/mirror: /tmp/mirror path/tmp: /tmp/metro-tmp
`;

export interface BuildCommandOptions {
  /**
   * How to start this same command again (node arguments before the build
   * arguments), for the private mount namespace. Defaults to the running
   * CLI when it was started as `metro-engine build ...`.
   */
  reexec?: string[];
}

interface ParsedArgs {
  config: string;
  args: Record<string, string>;
  json: boolean;
  dryRun: string | null;
  namespace: boolean;
}

class UsageError extends Error {}

function parse(argv: string[]): ParsedArgs | "help" {
  let config: string | null = null;
  let json = false;
  let dryRunDir: string | null = null;
  let namespace = true;
  const args: Record<string, string> = {};
  let pendingKey: string | null = null;
  let positional = 0;
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (pendingKey !== null) {
      // A VALUE is taken as it is, even when it looks like an option (MAKEOPTS: -j4).
      args[pendingKey] = word;
      pendingKey = null;
      continue;
    }
    const valueOf = (flag: string): string => {
      const eq = word.indexOf("=");
      if (eq !== -1) return word.slice(eq + 1);
      const next = argv[++i];
      if (next === undefined || next === "") throw new UsageError(`${flag} needs a value`);
      return next;
    };
    if (word === "-h" || word === "--help") return "help";
    if (word === "--json") { json = true; continue; }
    if (word === "--no-namespace") { namespace = false; continue; }
    if (word === "-c" || word === "--config" || word.startsWith("--config=")) { config = valueOf("--config"); continue; }
    if (word === "--dry-run" || word.startsWith("--dry-run=")) { dryRunDir = valueOf("--dry-run"); continue; }
    if (word.endsWith(":") && word !== ":") {
      pendingKey = word.slice(0, -1);
      continue;
    }
    if (word.startsWith("-") && word.length > 1) throw new UsageError(`unknown option ${word}`);
    if (positional === 0 && Object.keys(args).length === 0 && config === null) {
      config = word;
      positional++;
      continue;
    }
    throw new UsageError(`argument ${word} is not a KEY: (keys end with a colon, as in target: stage3)`);
  }
  if (pendingKey !== null) throw new UsageError(`${pendingKey}: has no value (arguments are KEY: VALUE pairs)`);
  const path = resolve(config ?? join(homedir(), ".metro"));
  if (!existsSync(path) || !statSync(path).isFile()) {
    throw new UsageError(config === null
      ? `no configuration given and ${path} does not exist (copy a metro.conf there or use --config FILE)`
      : `configuration file ${path} not found`);
  }
  return { config: path, args, json, dryRun: dryRunDir, namespace };
}

function defaultReexec(argv: string[]): string[] | undefined {
  const [, entry, command, ...rest] = process.argv;
  if (entry && command === "build" && rest.length === argv.length && rest.every((w, i) => w === argv[i])) return [entry, "build"];
  return undefined;
}

export async function runBuildCommand(argv: string[], options: BuildCommandOptions = {}): Promise<number> {
  let parsed: ParsedArgs | "help";
  try {
    parsed = parse(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`metro-engine build: ${error.message}\n${USAGE}`);
    return EXIT_CONFIG;
  }
  if (parsed === "help") {
    process.stdout.write(USAGE);
    return 0;
  }
  const reporter = new Reporter(parsed.json);
  if (parsed.dryRun !== null) {
    return dryRun({ config: parsed.config, args: parsed.args, reporter, dir: parsed.dryRun });
  }
  if (parsed.namespace && !insidePrivateNamespace()) {
    const reexec = options.reexec ?? defaultReexec(argv);
    const available = privateNamespaceAvailable();
    if (reexec && available.ok) {
      return runInPrivateNamespace([process.execPath, ...process.execArgv, ...reexec, ...argv]);
    }
    reporter.warn(`mounts are not isolated in a private namespace: ${reexec ? available.why : "the builder was not started as metro-engine build"}; cleanup relies on unmounting`);
  }
  return new Builder({ config: parsed.config, args: parsed.args, reporter }).run();
}
