// Agreement with metro's own runner (the conformance kit's runner.json):
// for every context of every case that has one, the dry run must run the
// same steps in the same order with byte-identical scripts, fail exactly
// where metro fails, and `check` must report an error exactly when metro's
// run fails on configuration, naming the key. Used by
// tests/runner-agreement.test.ts and the benchmark's figure.

import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { checkAll } from "../../cli/commands/check";
import { CASES, CLI, materialize } from "./shared";

export interface RunnerError {
  type: string;
  message: string;
  class: "config" | "environment" | "metro-bug";
  key: string | null;
  step?: string | null;
  target?: string | null;
}

export interface RunnerEntry {
  entry: string;
  args: Record<string, string>;
  verdict: "ok" | "fail";
  error: RunnerError | null;
  events: { event: string; target?: string; step?: string; chroot?: boolean; script?: string }[];
}

export interface ContextAgreement {
  label: string;
  /** Metro's steps that the dry run writes identically, in the same place of the order. */
  scriptsIdentical: number;
  scripts: number;
  problems: string[];
  /** The dry run's verdict agrees (exit 2 exactly when metro fails). */
  dryRunAgrees: boolean;
  /** check's verdict agrees (an error exactly when metro fails on configuration, naming the key). */
  checkAgrees: boolean;
}

export function runnerCases(): string[] {
  if (!existsSync(CASES)) return [];
  return readdirSync(CASES).filter((n) => existsSync(join(CASES, n, "runner.json"))).sort();
}

interface DryRun {
  code: number | null;
  stderr: string;
  events: { event: string; target?: string; step?: string; chroot?: boolean; file?: string; level?: string; text?: string }[];
  /** The error messages it printed. */
  errors: string;
}

function dryRun(config: string, args: Record<string, string>, dir: string): Promise<DryRun> {
  return new Promise((done) => {
    const env = { ...process.env };
    // metro's runner ran without these (the funtoo tree's <?python block prints the proxies).
    for (const k of ["http_proxy", "ftp_proxy", "RSYNC_PROXY", "TERM"]) delete env[k];
    const argv = [CLI, "build", "--config", config, "--dry-run", dir, "--json", ...Object.entries(args).flatMap(([k, v]) => [`${k}:`, v])];
    const child = spawn(process.execPath, argv, { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => {
      const events = stdout.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
      const errors = events.filter((e) => e.event === "message" && e.level === "error").map((e) => e.text).join("\n");
      done({ code, stderr, events, errors });
    });
  });
}

/** Compares metro's runner with the dry run and with check over every context of one case. */
export async function caseAgreement(name: string, parallel = 2): Promise<ContextAgreement[]> {
  const kit = materialize(name);
  const runner: RunnerEntry[] = JSON.parse(readFileSync(join(CASES, name, "runner.json"), "utf8"));
  const scratch = mkdtempSync(join(tmpdir(), "metro-runner-"));
  try {
    const out: ContextAgreement[] = new Array(runner.length);
    const work = async (i: number) => {
      const r = runner[i];
      const config = join(kit.root, r.entry);
      const label = `${name}[${i}] ${Object.entries(r.args).map(([k, v]) => `${k}: ${v}`).join(" ")}`;
      const problems: string[] = [];
      const dry = await dryRun(config, r.args, join(scratch, String(i)));
      // Steps: metro's in order; the dry run plans them all, so metro's are a prefix when it stops.
      const theirs = r.events.filter((e) => e.event === "step");
      const ours = dry.events.filter((e) => e.event === "plan-step");
      let identical = 0;
      theirs.forEach((t, n) => {
        const o = ours[n];
        const want = t.script!.split("@ROOT@").join(kit.root);
        if (!o) problems.push(`step ${n + 1} ${t.target} ${t.step}: not in the dry run`);
        else if (o.target !== t.target || o.step !== t.step) problems.push(`step ${n + 1}: metro runs ${t.target} ${t.step}, the dry run ${o.target} ${o.step}`);
        else if (o.chroot !== t.chroot) problems.push(`step ${n + 1} ${t.step}: chroot ${t.chroot} in metro, ${o.chroot} in the dry run`);
        else if (readFileSync(o.file!, "utf8") !== want) problems.push(`step ${n + 1} ${t.step}: the script differs`);
        else identical++;
      });
      if (r.verdict === "ok" && ours.length !== theirs.length) problems.push(`the dry run plans ${ours.length} steps, metro runs ${theirs.length}`);
      // The dry run's verdict: a configuration error (2) exactly when metro fails.
      const dryRunAgrees = r.verdict === "ok" ? dry.code === 0 : dry.code === 2;
      if (!dryRunAgrees) problems.push(`dry run exit ${dry.code}, metro ${r.verdict}${r.error ? ` (${r.error.message})` : ""}: ${(dry.errors + dry.stderr).trim().split("\n").slice(0, 3).join(" | ")}`);
      if (r.verdict === "fail" && r.error?.key && dry.code === 2 && !dry.errors.includes(r.error.key)) problems.push(`the dry run's error does not name ${r.error.key}: ${dry.errors}`);
      // check's verdict: an error exactly when metro fails on configuration, naming the key.
      const findings = checkAll([{ config, args: r.args }]);
      const errors = findings.filter((f) => f.severity === "error");
      let checkAgrees: boolean;
      if (r.verdict === "fail" && r.error?.class === "config") {
        checkAgrees = errors.length > 0 && (!r.error.key || errors.some((e) => e.message.includes(r.error!.key!)));
        if (!checkAgrees) problems.push(`check reports ${errors.length ? `no error naming ${r.error.key}` : "no error"}; metro fails: ${r.error.message}`);
      } else if (r.verdict === "fail" && r.error?.class === "environment") {
        // What the kit classes as the machine's state (not the configuration's): information, not an error.
        checkAgrees = errors.length === 0 && findings.some((f) => f.severity === "information");
        if (!checkAgrees) problems.push(`metro fails on this machine's state (${r.error.message}); check: ${errors.map((e) => e.message).join(" | ") || "no information"}`);
      } else {
        checkAgrees = errors.length === 0;
        if (!checkAgrees) problems.push(`metro completes; check reports errors: ${errors.map((e) => `${e.file}:${e.range.start.line + 1}: ${e.message}`).join(" | ")}`);
      }
      out[i] = { label, scriptsIdentical: identical, scripts: theirs.length, problems, dryRunAgrees, checkAgrees };
    };
    for (let i = 0; i < runner.length; i += parallel) {
      await Promise.all(runner.slice(i, i + parallel).map((_, j) => work(i + j)));
    }
    return out;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
    rmSync(dirname(kit.root), { recursive: true, force: true });
  }
}
