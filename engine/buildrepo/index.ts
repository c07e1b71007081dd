// `metro-engine repo COMMAND`: funtoo metro's scripts/buildrepo, answer for
// answer. Evaluates the .buildbot file (python3) and the metro configuration
// (the engine's evaluator), scans the mirror, runs one command. Output is
// buildrepo's text byte for byte, or with --json a document describing the
// same answer. Where buildrepo stops with a Python exception, the text
// printed so far stays, the reason goes to stderr and the exit status is 1.

import { BuildbotError, BuildbotSession, type BuildbotConfig } from "./buildbot-file";
import { runCommand } from "./commands";
import type { CommandResult, RepoCommandOptions, RepoContext } from "./context";
import { MirrorFs } from "./mirror-fs";
import { BuildrepoCrash, formatDateTime, localNow, type NaiveDateTime } from "./python-semantics";
import { scanMirror } from "./scan";
import { ConfigError, readMetroSettings } from "./settings";

export { REPO_COMMANDS } from "./commands";
export type { PlanFormat } from "./context";

export interface RepoOptions extends RepoCommandOptions {
  command: string;
  /** The .buildbot file (buildrepo reads ~/.buildbot). */
  buildbot: string;
  /** The metro configuration (buildrepo reads ~/.metro). */
  config: string;
  /** The moment taken as now; the local clock when absent. */
  today?: NaiveDateTime;
  json: boolean;
  /** Run <?python blocks of the metro configuration. */
  allowExec: boolean;
  /** Treat link placeholders in the mirror as the links they stand for. */
  placeholders: boolean;
  stdout(text: string): void;
  stderr(text: string): void;
}

export async function runRepo(opts: RepoOptions): Promise<number> {
  const now = opts.today ?? localNow();
  const json = opts.json || (opts.command === "plan" && opts.format === "json");
  const pathsNotFound: string[] = [];
  let mirror: string | null = null;
  const print = (line: string) => {
    if (!json) opts.stdout(line + "\n");
  };
  const write = (text: string) => {
    if (!json && text) opts.stdout(text);
  };
  const finish = (exit: number, data: Record<string, unknown>, error: Record<string, unknown> | null): number => {
    if (json) {
      const doc = { command: opts.command, exit, mirror, now: formatDateTime(now), pathsNotFound, ...data, error };
      opts.stdout(JSON.stringify(doc, null, 1) + "\n");
    }
    return exit;
  };

  let session: BuildbotSession;
  let config: BuildbotConfig;
  try {
    ({ session, config } = await BuildbotSession.open(opts.buildbot));
    write(config.printed);
  } catch (e) {
    if (!(e instanceof BuildbotError)) throw e;
    const where = `${e.file}${e.line !== null ? `:${e.line}` : ""}`;
    if (e.exitStatus !== null) {
      opts.stderr(`metro-engine repo: ${where}: ${e.message}\n`);
      return finish(e.exitStatus, {}, { type: "SystemExit", message: e.message, path: e.file, line: e.line });
    }
    opts.stderr(`metro-engine repo: ${where}: ${e.message}\n`);
    return finish(1, {}, { type: "buildbot", message: e.message, path: e.file, line: e.line });
  }
  try {
    let settings;
    try {
      settings = readMetroSettings(opts.config, opts.allowExec);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      const where = e.file ? `${e.file}${e.line ? `:${e.line}:${e.column ?? 1}` : ""}: ` : `${opts.config}: `;
      opts.stderr(`metro-engine repo: ${where}${e.message}\n`);
      return finish(1, {}, { type: "config", message: e.message, path: e.file ?? opts.config, line: e.line ?? null });
    }
    mirror = settings.mirror;
    const fs = new MirrorFs(opts.placeholders);
    const note = (line: string) => opts.stderr(line + "\n");
    try {
      const scan = scanMirror(fs, settings.mirror, config, (path) => {
        pathsNotFound.push(path);
        // plan is not buildrepo's: its stdout is a document (a matrix, a pipeline), so the line goes to stderr.
        if (opts.command === "plan") note(`Path not found: ${path}`);
        else print(`Path not found: ${path}`);
      });
      const ctx: RepoContext = { fs, mirror: settings.mirror, settings, config, session, scan, now, print, write, note, options: opts };
      const result: CommandResult = await runCommand(ctx, opts.command);
      return finish(result.exit, result.data, null);
    } catch (e) {
      if (e instanceof BuildrepoCrash) {
        opts.stderr(`metro-engine repo: ${e.path ? e.path + ": " : ""}${e.message} (buildrepo stops here with ${e.pythonType})\n`);
        return finish(1, {}, { type: e.pythonType, message: e.message, path: e.path ?? null, line: null });
      }
      if (e instanceof BuildbotError) {
        opts.stderr(`metro-engine repo: ${e.file}: ${e.message}\n`);
        return finish(1, {}, { type: "buildbot", message: e.message, path: e.file, line: e.line });
      }
      throw e;
    }
  } finally {
    session.close();
  }
}
