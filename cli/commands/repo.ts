// `metro-engine repo COMMAND`: the build server's repository manager, the
// same answers as funtoo metro's scripts/buildrepo (engine/buildrepo/).

import { statSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { REPO_COMMANDS, runRepo, type PlanFormat } from "../../engine/buildrepo";
import { parseMoment } from "../../engine/buildrepo/python-semantics";
import { describeFsError } from "../../engine/files";
import { UsageError, optionValue, suggestion } from "../args";
import { CONFIG_OPTION, JSON_OPTION, NO_EXEC_OPTION, requireConfigFile, type Command } from "../command";
import { quote, quotePath } from "../../language";

const FORMATS: PlanFormat[] = ["text", "json", "github-matrix", "gitlab"];

function requireFile(path: string, what: string): string {
  const abs = resolve(path);
  try {
    if (!statSync(abs).isFile()) throw new UsageError(`${what} ${quotePath(path)} is not a regular file`);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`${what} ${quotePath(path)} ${describeFsError(e as NodeJS.ErrnoException)}`);
  }
  return abs;
}

export const repoCommand: Command = {
  name: "repo",
  summary: "manage a build server's mirror like metro's buildrepo (nextbuild, plan, clean, ...)",
  synopsis: "repo COMMAND [--buildbot FILE] [--config FILE] [--today DATE] [--json] [OPTIONS]",
  details: `COMMAND is one of buildrepo's: nextbuild (the next build due, as
shell assignments), fails, empties, zap (remove the fail counts of the
subarches built here), clean (print rm commands for old and stale builds),
index.xml (write <mirror>/index.xml), digestgen (hash files, signatures and
their links); or plan (every due build in nextbuild's order).

Reads the .buildbot file (Python, run in python3 as buildrepo does) and the
metro configuration for path/mirror, scans the mirror and answers exactly as
buildrepo does, quirks included (see the README). --json prints a JSON
document instead of buildrepo's text.

Exit codes: 0 done, 1 nothing to build (nextbuild), an unknown COMMAND, or
where buildrepo stops with an error (the reason on stderr), 2 usage.

Examples:
  metro-engine repo nextbuild --today "2024-11-03 07:09:08"
  metro-engine repo plan --format github-matrix`,
  options: [
    { name: "--buildbot", value: "FILE", help: "the buildbot configuration (default: ~/.buildbot, like buildrepo)" },
    CONFIG_OPTION,
    { name: "--today", value: "DATE", help: '"YYYY-MM-DD" or "YYYY-MM-DD HH:MM:SS" taken as now (default: the clock)' },
    { ...JSON_OPTION, help: "print a JSON document (shapes in the README)" },
    { name: "--format", value: "FORMAT", help: "plan: text (default), json, github-matrix or gitlab" },
    { name: "--build-command", value: "CMD", help: 'plan --format gitlab: what each job runs (default: "metro-engine build")' },
    { name: "--no-sign", help: "digestgen: do not run gpg for missing signatures" },
    { name: "--gpg-homedir", value: "DIR", help: "digestgen: gpg's home (default: /root/.gnupg, as buildrepo)" },
    { name: "--intended", help: "empties: list the never-built subarches (buildrepo's query lists nothing)" },
    { name: "--no-link-placeholders", help: "mirror files holding a link's target are plain files, not links" },
    NO_EXEC_OPTION,
  ],
  maxPositional: 1,
  async run(args) {
    const command = args.positional[0];
    if (command === undefined) throw new UsageError(`repo needs a COMMAND: ${REPO_COMMANDS.join(", ")}`);
    if (Object.keys(args.pairs).length) throw new UsageError("repo takes no KEY: VALUE arguments");
    const format = optionValue(args, "--format") ?? "text";
    if (!FORMATS.includes(format as PlanFormat)) throw new UsageError(`--format must be ${FORMATS.join(", ")}, not ${quote(format, '"')}`);
    if (args.options.has("--format") && command !== "plan") throw new UsageError("--format is for repo plan");
    const todayText = optionValue(args, "--today");
    const today = todayText === undefined ? undefined : parseMoment(todayText);
    if (today === null) throw new UsageError(`--today ${quote(String(todayText), '"')} is not a date: give "YYYY-MM-DD" or "YYYY-MM-DD HH:MM:SS"`);
    const given = optionValue(args, "--buildbot");
    const buildbot = requireFile(given ?? join(homedir(), ".buildbot"), given ? "buildbot file" : "no --buildbot given and");
    const config = requireConfigFile(optionValue(args, "--config") ?? join(homedir(), ".metro"), args.options.has("--config"));
    if (!(REPO_COMMANDS as readonly string[]).includes(command)) {
      const near = suggestion(command, REPO_COMMANDS);
      process.stderr.write(`metro-engine repo: unknown command ${quote(command, '"')}${near ? `; did you mean "${near}"?` : ""} (commands: ${REPO_COMMANDS.join(", ")})\n`);
    }
    return runRepo({
      command,
      buildbot,
      config,
      today,
      json: args.options.has("--json"),
      format: format as PlanFormat,
      buildCommand: optionValue(args, "--build-command") ?? "metro-engine build",
      sign: !args.options.has("--no-sign"),
      gpgHomedir: optionValue(args, "--gpg-homedir") ?? "/root/.gnupg",
      intended: args.options.has("--intended"),
      allowExec: !args.options.has("--no-exec"),
      placeholders: !args.options.has("--no-link-placeholders"),
      stdout: (t) => process.stdout.write(t),
      stderr: (t) => process.stderr.write(t),
    });
  },
};
