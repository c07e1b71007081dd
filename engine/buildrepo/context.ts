// What every repo command works with: the evaluated configuration, the scan,
// the moment taken as "now", and where its output goes.

import type { BuildbotConfig, BuildbotSession } from "./buildbot-file";
import type { MirrorFs } from "./mirror-fs";
import type { NaiveDateTime } from "./python-semantics";
import type { Scan } from "./scan";
import type { MetroSettings } from "./settings";

export interface RepoContext {
  fs: MirrorFs;
  /** path/mirror as configured. */
  mirror: string;
  settings: MetroSettings;
  config: BuildbotConfig;
  session: BuildbotSession;
  scan: Scan;
  now: NaiveDateTime;
  /** Text mode: buildrepo's stdout, a line at a time (nothing in JSON mode). */
  print(line: string): void;
  /** Text mode: buildrepo's stdout without a newline. */
  write(text: string): void;
  /** buildrepo's stderr lines (both modes). */
  note(line: string): void;
  options: RepoCommandOptions;
}

export interface RepoCommandOptions {
  /** digestgen: run gpg for missing signatures. */
  sign: boolean;
  /** gpg's --homedir (buildrepo's is /root/.gnupg). */
  gpgHomedir: string;
  /** empties: list what the query was meant to list. */
  intended: boolean;
  /** plan: text, json, github-matrix or gitlab. */
  format: PlanFormat;
  /** plan --format gitlab: the command each job runs before metro's KEY: VALUE arguments. */
  buildCommand: string;
}

export type PlanFormat = "text" | "json" | "github-matrix" | "gitlab";

/** What a command answers: its exit status and, for --json, its own fields. */
export interface CommandResult {
  exit: number;
  data: Record<string, unknown>;
}
