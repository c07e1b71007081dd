// `metro-engine build`: the headless stage builder's command line.

import { homedir } from "node:os";
import { join } from "node:path";
import { Builder, EXIT_CONFIG, EXIT_FAILED } from "../../engine/stage-builder/builder";
import { dryRun } from "../../engine/stage-builder/dry-run";
import { Reporter } from "../../engine/stage-builder/reporter";
import { insidePrivateNamespace, orphanedInner, privateNamespaceAvailable, runInPrivateNamespace } from "../../engine/stage-builder/namespace";
import { UsageError, optionValue } from "../args";
import { CONFIG_OPTION, JSON_OPTION, requireConfigFile, type Command } from "../command";

/** How the running CLI was started (node arguments before the build arguments), to start it again in a private mount namespace. */
function reexecPrefix(argv: string[]): string[] | undefined {
  const [, entry, command, ...rest] = process.argv;
  if (entry && command === "build" && rest.length === argv.length && rest.every((w, i) => w === argv[i])) return [entry, "build"];
  return undefined;
}

export const buildCommand: Command = {
  name: "build",
  summary: "build targets the way metro does",
  synopsis: "build [--config FILE | CONFIG] [--dry-run DIR] [--json] [--no-namespace] KEY: VALUE ...",
  details: `Builds the targets of a Metro configuration the way metro does: with
multi: yes every name in multi/targets and multi/extras, else target.

Exit codes: 0 built or skipped, 1 a target failed, 2 usage or configuration
error, 3 another build holds a lock.

Example:
  metro-engine build -c examples/metro.conf target: stage3 \\
      path/mirror: /tmp/mirror path/tmp: /tmp/metro-tmp`,
  options: [
    CONFIG_OPTION,
    { name: "--dry-run", value: "DIR", help: "evaluate everything, write the scripts each step would run into DIR, print the plan; change nothing else" },
    { ...JSON_OPTION, help: "JSON-lines events on stdout (for CI)" },
    { name: "--no-namespace", help: "do not isolate mounts in a private mount namespace" },
  ],
  maxPositional: 1,
  async run(args, argv) {
    const given = optionValue(args, "--config") ?? args.positional[0];
    if (optionValue(args, "--config") !== undefined && args.positional.length) throw new UsageError(`give the configuration once: --config or CONFIG, not both`);
    let config: string;
    try {
      config = requireConfigFile(given ?? join(homedir(), ".metro"), given !== undefined);
    } catch (e) {
      if (!(e instanceof UsageError)) throw e;
      process.stderr.write(`metro-engine build: ${e.message}\n`);
      return EXIT_CONFIG;
    }
    const reporter = new Reporter(args.options.has("--json"));
    const dryRunDir = optionValue(args, "--dry-run");
    if (dryRunDir !== undefined) return dryRun({ config, args: args.pairs, reporter, dir: dryRunDir });
    const orphaned = orphanedInner();
    if (orphaned) {
      reporter.error(orphaned);
      return EXIT_FAILED;
    }
    if (!args.options.has("--no-namespace") && !insidePrivateNamespace()) {
      const reexec = reexecPrefix(argv);
      const available = privateNamespaceAvailable();
      if (reexec && available.ok) return runInPrivateNamespace([process.execPath, ...process.execArgv, ...reexec, ...argv], (m) => reporter.error(m));
      reporter.warn(`mounts are not isolated in a private namespace: ${reexec ? available.why : "the builder was not started as metro-engine build"}; cleanup relies on unmounting`);
    }
    return new Builder({ config, args: args.pairs, reporter }).run();
  },
};
