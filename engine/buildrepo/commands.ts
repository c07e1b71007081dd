// buildrepo's commands other than index.xml and digestgen (their own files),
// and `plan`, which lists nextbuild's walk.

import { unlinkSync, writeFileSync } from "node:fs";
import type { MapBuildAnswer } from "./buildbot-file";
import type { CommandResult, RepoContext } from "./context";
import { digestgen } from "./digestgen";
import { buildIndex } from "./index-xml";
import { candidates, checkLock, inspectLock, type Candidate, type LockState, type Queue } from "./nextbuild";
import { formatPlan, type PlanEntry } from "./plan-formats";
import { BuildrepoCrash, compareAge, compareCodePoints, formatYmd, pyJoin, pySlice } from "./python-semantics";
import { rowDate, type SubarchRow } from "./scan";

export const REPO_COMMANDS = ["nextbuild", "plan", "fails", "empties", "zap", "clean", "index.xml", "digestgen"] as const;

function rowJson(row: SubarchRow) {
  return {
    release: row.release,
    arch_desc: row.arch,
    subarch: row.subarch,
    path: row.path,
    failcount: row.failcount === null ? null : Number(row.failcount),
    fulldate: row.latest ? row.latest.dateStr : null,
  };
}

/** The fields nextbuild prints for a candidate, plus map_build's answer. */
function buildJson(ctx: RepoContext, c: Candidate, answer: MapBuildAnswer | null) {
  return {
    ...rowJson(c.row),
    nextdate: formatYmd(ctx.now),
    full: c.row.latest !== null,
    queue: c.queue satisfies Queue,
    pass: c.pass,
    target: answer?.target ?? null,
    extras: answer?.extras ? answer.extras.join("+") : answer?.target != null ? "" : null,
    error: answer?.error ?? null,
  };
}

function mapQuery(row: SubarchRow) {
  return { release: row.release, subarch: row.subarch, full: row.latest !== null, fullDate: row.latest ? row.latest.dateStr : null };
}

function lockJson(lock: LockState & { path: string }) {
  return {
    state: lock.state,
    path: lock.path,
    pid: lock.state === "live" || lock.state === "dead" ? lock.pid : null,
  };
}

export async function nextbuild(ctx: RepoContext): Promise<CommandResult> {
  const skipped: ReturnType<typeof lockJson>[] = [];
  const locksRemoved: ReturnType<typeof lockJson>[] = [];
  for (const c of candidates(ctx.scan.rows, ctx.config, ctx.now)) {
    const lock = checkLock(ctx.fs, c.row, ctx.note);
    if (lock.state === "live") {
      ctx.note(`# Build at ${c.row.path} in progress, skipping...`);
      skipped.push(lockJson(lock));
      continue;
    }
    if (lock.state !== "none") locksRemoved.push(lockJson(lock));
    const row = c.row;
    ctx.print(`release=${row.release}`);
    ctx.print(`arch_desc=${row.arch}`);
    ctx.print(`subarch=${row.subarch}`);
    ctx.print(`fulldate=${row.latest ? row.latest.dateStr : "None"}`);
    ctx.print(`nextdate=${formatYmd(ctx.now)}`);
    ctx.print(`failcount=${row.failcount}`);
    const [answer] = await ctx.session.mapBuild([mapQuery(row)]);
    ctx.write(answer.printed);
    for (const line of answer.lines) ctx.print(line);
    if (answer.error) throw new BuildrepoCrash(answer.error.split(":")[0], `map_build(${JSON.stringify(row.release)}, ${JSON.stringify(row.subarch)}, ...): ${answer.error}`);
    return { exit: 0, data: { build: buildJson(ctx, c, answer), skipped, locksRemoved } };
  }
  return { exit: 1, data: { build: null, skipped, locksRemoved } };
}

export async function plan(ctx: RepoContext): Promise<CommandResult> {
  const seen = new Set<number>();
  const walk: Candidate[] = [];
  for (const c of candidates(ctx.scan.rows, ctx.config, ctx.now)) {
    if (seen.has(c.row.index)) continue;
    seen.add(c.row.index);
    walk.push(c);
  }
  const answers = await ctx.session.mapBuild(walk.map((c) => mapQuery(c.row)));
  const builds: PlanEntry[] = walk.map((c, i) => {
    const lock = inspectLock(ctx.fs, c.row);
    return { order: i + 1, ...buildJson(ctx, c, answers[i]), lock: lockJson(lock), skipped: lock.state === "live" };
  });
  const next = builds.find((b) => !b.skipped);
  for (const b of builds) if (b.error) ctx.note(`# map_build failed for ${b.path}: ${b.error}`);
  const text = formatPlan(builds, ctx.options.format, ctx.options.buildCommand);
  if (text) ctx.print(text);
  return { exit: builds.some((b) => b.error) ? 1 : 0, data: { builds, next: next ? next.order : null } };
}

export function fails(ctx: RepoContext): CommandResult {
  const rows = ctx.scan.rows;
  // ORDER BY failcount DESC walks SQLite's index backwards: equal counts come in reverse scan order.
  const failing = rows.filter((r) => r.failcount !== null && r.failcount > 0n).sort((a, b) => (a.failcount! > b.failcount! ? -1 : a.failcount! < b.failcount! ? 1 : b.index - a.index));
  const good = rows.filter((r) => r.failcount === 0n);
  const listed = [...failing, ...good].map((r) => {
    const date = rowDate(r);
    const flavors = r.latest ? r.latest.artifacts.map((a) => a.flavor) : [];
    ctx.print(`${String(r.failcount).padStart(4)} ${(date ? formatYmd(date) : "None").padStart(12)} ${r.path} (${flavors.join(",")})`);
    return { ...rowJson(r), date: date ? formatYmd(date) : null, flavors };
  });
  return { exit: 0, data: { subarches: listed } };
}

/**
 * buildrepo's empties filters on `SubArch.do_build is True` and `SubArch.date is None`: Python identity
 * tests, false before SQLAlchemy sees them, so it lists nothing. `intended` lists what it meant:
 * subarches built here that were never built.
 */
export function empties(ctx: RepoContext): CommandResult {
  const builds = new Set(ctx.config.builds);
  const rows = ctx.options.intended ? ctx.scan.rows.filter((r) => r.doBuild && r.latest === null && builds.has(r.release)) : [];
  for (const r of rows) ctx.print(r.path);
  return { exit: 0, data: { intended: ctx.options.intended, subarches: rows.map(rowJson) } };
}

export function zap(ctx: RepoContext): CommandResult {
  const removed: string[] = [];
  for (const r of ctx.scan.rows) {
    if (!r.doBuild || r.failcount === null || r.failcount <= 0n) continue;
    const path = `${r.path}/.control/.failcount`;
    if (!ctx.fs.exists(path)) continue;
    ctx.print(`Removing ${path}...`);
    try {
      unlinkSync(path);
    } catch (e) {
      throw new BuildrepoCrash("OSError", `cannot remove: ${(e as NodeJS.ErrnoException).code}`, path);
    }
    removed.push(path);
  }
  return { exit: 0, data: { removed } };
}

type CleanAction = { action: "remove" | "keep"; what: "build" | "snapshot" | "incomplete-build"; path: string };

/** Only prints: `rm` lines for what may go, `# keeping` for what stays. */
export function clean(ctx: RepoContext): CommandResult {
  const { config, scan } = ctx;
  const keep = config.keepNum;
  const actions: CleanAction[] = [];
  const slice = <T>(list: T[], start?: number, stop?: number): T[] => {
    if (!Number.isInteger(keep)) throw new BuildrepoCrash("TypeError", `slice indices must be integers (keep_num = ${keep})`);
    return pySlice(list, start, stop);
  };
  const act = (a: CleanAction, line: string) => {
    actions.push(a);
    ctx.print(line);
  };
  for (const release of config.allBuilds) {
    for (const arch of config.allArches) {
      for (const subarch of config.allSubarches) {
        const out = scan.buildDirs
          .filter((b) => b.release === release && b.arch === arch && b.subarch === subarch && b.complete)
          .sort((a, b) => compareCodePoints(a.dateStr, b.dateStr) || a.id - b.id);
        for (const x of slice(out, 0, -keep)) act({ action: "remove", what: "build", path: x.path }, `rm -rf ${x.path}`);
        for (const x of slice(out, -keep)) act({ action: "keep", what: "build", path: x.path }, `# keeping ${x.path}`);
      }
    }
    const sna = scan.snapshots.filter((s) => s.release === release).sort((a, b) => compareCodePoints(a.path, b.path));
    for (const x of slice(sna, 0, -keep)) act({ action: "remove", what: "snapshot", path: x.path }, `rm ${x.path}*`);
    for (const x of slice(sna, -(keep - 1))) act({ action: "keep", what: "snapshot", path: x.path }, `# keeping ${x.path}`);
  }
  for (const x of scan.buildDirs) {
    if (x.complete) continue;
    const rows = scan.rows.filter((r) => r.subarch === x.subarch && r.arch === x.arch && r.release === x.release);
    const first = rows.sort((a, b) => (a.latest ? 1 : 0) - (b.latest ? 1 : 0) || compareCodePoints(a.latest?.dateStr ?? "", b.latest?.dateStr ?? "") || a.index - b.index)[0];
    const newest = first ? rowDate(first) : null;
    if (compareAge(ctx.now, x.date, config.staleDays) > 0 && newest?.ms !== x.date.ms) {
      act({ action: "remove", what: "incomplete-build", path: x.path }, `rm -rf ${x.path}* # not complete and stale, not most recent build`);
    } else act({ action: "keep", what: "incomplete-build", path: x.path }, `# keeping ${x.path}`);
  }
  return { exit: 0, data: { actions } };
}

export function indexXml(ctx: RepoContext): CommandResult {
  const { xml, subarches } = buildIndex(ctx);
  const file = pyJoin(ctx.mirror, "index.xml");
  try {
    writeFileSync(file, xml);
  } catch (e) {
    throw new BuildrepoCrash("OSError", `cannot write: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, file);
  }
  return { exit: 0, data: { file, subarches } };
}

export async function runCommand(ctx: RepoContext, command: string): Promise<CommandResult> {
  switch (command) {
    case "nextbuild":
      return nextbuild(ctx);
    case "plan":
      return plan(ctx);
    case "fails":
      return fails(ctx);
    case "empties":
      return empties(ctx);
    case "zap":
      return zap(ctx);
    case "clean":
      return clean(ctx);
    case "index.xml":
      return indexXml(ctx);
    case "digestgen":
      return digestgen(ctx);
    default:
      ctx.print(`Don't understand: ${command}`);
      return { exit: 1, data: {} };
  }
}
