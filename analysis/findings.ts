// One finding across contexts: the engine reports per context; the command
// line and the editor show one finding per place and kind, with the
// contexts it holds in (the active one first) and the worst verdict among
// them. Both `metro-engine check` and the server's diagnostics merge here.

import type { EngineDiagnostic } from "../engine/evaluate";
import { excerpt, type Severity } from "../language";

export interface ContextFindings {
  /** The context's label. */
  name: string;
  diagnostics: EngineDiagnostic[];
}

export interface MergedFinding extends EngineDiagnostic {
  /** The contexts the finding holds in, the active context first (empty for findings of a file alone). */
  contexts: string[];
  /** Those of `contexts` where it has this finding's severity (the others hold a milder verdict). */
  verdictContexts?: string[];
  /** The message without the list of contexts. */
  plainMessage: string;
}

const RANK: Record<Severity, number> = { error: 0, warning: 1, information: 2, hint: 3 };

/** Where and what: a missing `<<` file names a different path per context, but is one finding per `<<` line. */
function findingKey(d: EngineDiagnostic): string {
  // Two keys the run reads that are both undefined are two problems, even where neither has a place of its own.
  // A failure where a run stops and the same failure where another run stops before it are two verdicts.
  return `${d.file}\u0000${d.range.start.offset}\u0000${d.range.end.offset}\u0000${d.code}\u0000${d.missing ?? ""}\u0000${d.stopsBefore ?? ""}`;
}

/** "in stage3 / 1.4-release-std / amd64-jaguar", "in 3 of 20 contexts: a; b; c", "in all 20 contexts". */
export function describeContexts(names: string[], total: number): string {
  if (total > 1 && names.length === total) return `in all ${total} contexts`;
  if (names.length === 1) return `in ${excerpt(names[0])}`;
  return `in ${names.length} of ${total} contexts: ${someOf(names)}`;
}

/** The first four names, and "…" when there are more. */
function someOf(names: string[]): string {
  return names.slice(0, 4).map((n) => excerpt(n)).join("; ") + (names.length > 4 ? "; …" : "");
}

/** Codes whose message names a path that differs between contexts (a `<<` file, a collected file). */
const PATH_CODES: ReadonlySet<string> = new Set(["metro/missing-file", "metro/missing-collect"]);

const ARTICLE: Record<Severity, string> = { error: "an error", warning: "a warning", information: "information", hint: "a hint" };

/**
 * Merges the findings of several contexts. `active` (a context name) comes
 * first: its verdict and message lead when it has the finding. The severity
 * is the worst among the contexts (an error in one context is a run that
 * fails); the contexts named first are those that hold that verdict, the
 * others are named after it with their milder one ("; a warning in ..."),
 * so an error never names a context whose run does not fail on it.
 * Findings are returned sorted by file and position. With one context in
 * all, `nameSingle` says whether to name it ("in stage3").
 */
export function mergeFindings(perContext: ContextFindings[], active: string | null = null, total = perContext.length, nameSingle = true): MergedFinding[] {
  const ordered = [...perContext].sort((a, b) => Number(b.name === active) - Number(a.name === active));
  const groups = new Map<string, { first: EngineDiagnostic; worst: EngineDiagnostic; names: string[]; rank: Map<string, number>; paths: Set<string> }>();
  for (const c of ordered) {
    for (const d of c.diagnostics) {
      const k = findingKey(d);
      let g = groups.get(k);
      if (!g) groups.set(k, (g = { first: d, worst: d, names: [], rank: new Map(), paths: new Set() }));
      if (RANK[d.severity] < RANK[g.worst.severity]) g.worst = d;
      if (!g.names.includes(c.name)) g.names.push(c.name);
      g.rank.set(c.name, Math.min(g.rank.get(c.name) ?? RANK.hint, RANK[d.severity]));
      if (PATH_CODES.has(d.code)) g.paths.add(d.message);
    }
  }
  const out: MergedFinding[] = [];
  for (const g of groups.values()) {
    // The active (first) context's message when it holds the worst verdict, else the first context that does.
    const lead = g.first.severity === g.worst.severity ? g.first : g.worst;
    let plain = lead.message;
    if (g.paths.size > 1) plain += ` (and ${g.paths.size - 1} other path${g.paths.size > 2 ? "s" : ""} in other contexts)`;
    const holding = g.names.filter((n) => g.rank.get(n) === RANK[g.worst.severity]);
    let where = total > 1 || (nameSingle && g.names.length === 1 && g.names[0] !== "") ? describeContexts(holding, total) : "";
    for (const severity of ["warning", "information", "hint"] as Severity[]) {
      if (RANK[severity] <= RANK[g.worst.severity]) continue;
      const milder = g.names.filter((n) => g.rank.get(n) === RANK[severity]);
      if (!milder.length) continue;
      where += `; ${ARTICLE[severity]} in ${milder.length === 1 ? excerpt(milder[0]) : `${milder.length} other contexts: ${someOf(milder)}`}`;
    }
    out.push({
      ...lead,
      severity: g.worst.severity,
      plainMessage: plain,
      message: where ? `${plain} (${where})` : plain,
      contexts: g.names,
      verdictContexts: holding,
    });
  }
  out.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.range.start.offset - b.range.start.offset));
  return out;
}
