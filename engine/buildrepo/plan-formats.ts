// How `repo plan` prints the due builds: a table, a GitHub Actions matrix
// (`strategy.matrix: ${{ fromJSON(...) }}`), or a GitLab dynamic child
// pipeline with one job per build and one resource group per subarch.

import type { PlanFormat } from "./context";

export interface PlanEntry {
  /** 1-based position in nextbuild's walk. */
  order: number;
  release: string;
  arch_desc: string;
  subarch: string;
  path: string;
  failcount: number | null;
  fulldate: string | null;
  nextdate: string;
  full: boolean;
  queue: string;
  pass: number;
  target: string | null;
  extras: string | null;
  error: string | null;
  lock: { state: string; path: string; pid: number | null };
  /** A live lock holds it: nextbuild passes over it. */
  skipped: boolean;
}

/** The builds a scheduler should start: not held by a live lock, with an answer from map_build. */
export function schedulable(builds: PlanEntry[]): PlanEntry[] {
  return builds.filter((b) => !b.skipped && b.error === null && b.target !== null);
}

export function githubMatrix(builds: PlanEntry[]): { include: Record<string, string | number | null>[] } {
  return {
    include: schedulable(builds).map((b) => ({
      release: b.release,
      arch_desc: b.arch_desc,
      subarch: b.subarch,
      target: b.target,
      extras: b.extras,
      fulldate: b.fulldate,
      nextdate: b.nextdate,
      failcount: b.failcount,
    })),
  };
}

const q = (s: string) => JSON.stringify(s);
const sq = (s: string) => `'${s.replace(/'/g, "''")}'`;

/**
 * A GitLab child pipeline: one job per build, `resource_group: <subarch>` so that one build per subarch
 * runs at a time. The job runs `buildCommand` with the arguments buildbot.sh gives metro.
 */
export function gitlabPipeline(builds: PlanEntry[], buildCommand: string): string {
  const jobs = schedulable(builds);
  const out = ["# metro-engine repo plan --format gitlab: one job per due build, one build per subarch at a time", "stages:", "  - build"];
  if (jobs.length === 0) {
    // A child pipeline needs at least one job.
    out.push(`${q("no builds due")}:`, "  stage: build", "  script:", `    - ${sq('echo "no builds due"')}`);
    return out.join("\n");
  }
  for (const b of jobs) {
    const extras = b.extras ? ' multi/extras: "$EXTRAS"' : "";
    const script = `${buildCommand} multi: yes target/build: "$RELEASE" target/arch_desc: "$ARCH_DESC" target/subarch: "$SUBARCH" target/version: "$NEXTDATE" multi/mode: "$TARGET"${extras}`;
    out.push(
      `${q(`build ${b.release} ${b.arch_desc} ${b.subarch}`)}:`,
      "  stage: build",
      `  resource_group: ${q(b.subarch)}`,
      "  variables:",
      `    RELEASE: ${q(b.release)}`,
      `    ARCH_DESC: ${q(b.arch_desc)}`,
      `    SUBARCH: ${q(b.subarch)}`,
      `    TARGET: ${q(b.target!)}`,
      `    EXTRAS: ${q(b.extras ?? "")}`,
      `    FULLDATE: ${q(b.fulldate ?? "None")}`,
      `    NEXTDATE: ${q(b.nextdate)}`,
      `    FAILCOUNT: ${q(String(b.failcount))}`,
      "  script:",
      `    - ${sq(script)}`,
    );
  }
  return out.join("\n");
}

function table(builds: PlanEntry[]): string {
  const head = ["#", "release", "arch_desc", "subarch", "target", "extras", "fulldate", "failcount", "queue", "lock"];
  const rows = builds.map((b) => [
    String(b.order),
    b.release,
    b.arch_desc,
    b.subarch,
    b.target ?? "(error)",
    b.extras ?? "",
    b.fulldate ?? "None",
    String(b.failcount),
    b.queue,
    b.lock.state === "live" ? `held by ${b.lock.pid} (skipped)` : b.lock.state === "none" ? "-" : `${b.lock.state} (removed when taken)`,
  ]);
  if (rows.length === 0) return "no builds due";
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  return [head, ...rows].map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join("  ")).join("\n");
}

/** The plan in a format; JSON output is the caller's (it is the command's --json document). */
export function formatPlan(builds: PlanEntry[], format: PlanFormat, buildCommand: string): string | null {
  switch (format) {
    case "github-matrix":
      return JSON.stringify(githubMatrix(builds));
    case "gitlab":
      return gitlabPipeline(builds, buildCommand);
    case "text":
      return table(builds);
    case "json":
      return null;
  }
}
