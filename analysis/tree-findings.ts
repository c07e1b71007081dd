// Layer-1 findings: what the index alone knows about a file, with no context
// evaluated (names no file of the tree defines, a relative reference with no
// section, a name defined twice in one file). The language server shows them
// and `metro-engine check` reports them for the files no context reads, so
// the editor and the command line agree by construction.

import { quote, type Range } from "../language";
import type { EngineDiagnostic } from "../engine/evaluate";
import { SETUP_NAMES, type FileIndex, type ReferenceEntry, type WorkspaceIndex } from "./workspace-index";

export const TreeFindingCodes = {
  undefinedReference: "metro/undefined-reference",
  duplicateDefinition: "metro/duplicate-definition",
  noSection: "metro/no-section",
} as const;

export interface TreeFinding extends EngineDiagnostic {
  /** The element name the finding is about (for quick fixes). */
  name?: string;
}

export interface TreeFindingOptions {
  /** Names a context's command line gives: never "undefined" in the tree. */
  commandLineNames: Set<string>;
  /** Whether evaluated contexts read this file: then their verdicts judge its names. */
  readByContexts: boolean;
  /** Whether any context of the tree is evaluated. */
  contextsEvaluated: boolean;
  /** Whether a finding with one of these codes already covers this place (the engine's, or the parser's). */
  judged(range: Range, codes: string[]): boolean;
}

/** The names metro always defines at setup, and those the contexts give on their command line. */
export function commandLineNames(contexts: Iterable<{ args: Record<string, string> }>): Set<string> {
  const names = new Set(SETUP_NAMES);
  for (const c of contexts) for (const k of Object.keys(c.args)) names.add(k);
  return names;
}

export function isUndefinedInTree(index: WorkspaceIndex, r: ReferenceEntry, cmdline: Set<string>): boolean {
  if (r.name === null) return false;
  if (r.modifier === "zap" || r.modifier === "lax" || r.boolean) return false;
  if (r.place === "condition") return false;
  if (cmdline.has(r.name)) return false;
  return index.definitions(r.name).length === 0;
}

/**
 * A name no file defines in a file that evaluated contexts read is the
 * contexts' business (an error when a run expands it, a warning when none
 * does); in a file no context reads it is a hint: nothing uses it.
 */
export function treeFindings(index: WorkspaceIndex, file: FileIndex, o: TreeFindingOptions): TreeFinding[] {
  const out: TreeFinding[] = [];
  for (const r of file.references) {
    if (r.part && !r.part.terminated) continue;
    if (r.name === null && (r.form === "relative" || r.form === "section") && r.place !== "multi-line") {
      if (o.judged(r.range, [TreeFindingCodes.noSection])) continue;
      out.push({
        file: file.path,
        range: r.range,
        severity: "warning",
        code: TreeFindingCodes.noSection,
        message: `${quote(r.part ? "$[" + r.part.inner + "]" : "")} is relative to the current section, but there is none here: expanding it fails`,
      });
      continue;
    }
    if (!isUndefinedInTree(index, r, o.commandLineNames)) continue;
    if (r.place === "multi-reference" && r.modifier === "lax") continue;
    const range = r.nameRange.start.offset === r.nameRange.end.offset ? r.range : r.nameRange;
    const engineCodes = ["metro/undefined-element", "metro/undefined-multi-line"];
    if (o.judged(range, engineCodes) || o.judged(r.range, engineCodes)) continue;
    // Read by evaluated contexts and not reported by them: no run expands it.
    if (o.readByContexts) continue;
    out.push({
      file: file.path,
      range,
      severity: o.contextsEvaluated ? "hint" : "warning",
      code: TreeFindingCodes.undefinedReference,
      message: o.contextsEvaluated
        ? `no file in this tree defines ${quote(String(r.name))}, and no context of this tree reads this file (unused): expanding this would fail`
        : `no file in this tree defines ${quote(String(r.name))} and it is not a command-line name: expanding this fails unless a context defines it`,
      name: r.name!,
    });
  }
  // A name defined twice in one file: fatal for metro when both are unconditional or share a condition.
  const seen = new Map<string, (typeof file.definitions)[number]>();
  for (const d of file.definitions) {
    const key = d.name + "\u0000" + (d.condition ?? "");
    const first = seen.get(key);
    if (!first) {
      seen.set(key, d);
      continue;
    }
    const range = d.nameRange.start.offset === d.nameRange.end.offset ? d.statement.range : d.nameRange;
    if (o.judged(range, [TreeFindingCodes.duplicateDefinition])) continue;
    out.push({
      file: file.path,
      range,
      severity: "error",
      code: TreeFindingCodes.duplicateDefinition,
      message: `${quote(d.name)} is already defined${d.condition ? ` under the condition ${quote(d.condition)}` : ""} in this file: metro stops with a duplicate-definition error`,
      related: [{ file: first.file, range: first.nameRange, message: `first definition of ${quote(d.name)}` }],
    });
  }
  return out;
}

/** Whether two ranges are about the same text: same line, overlapping. */
export function sameSpot(a: Range, b: Range): boolean {
  if (a.start.line !== b.start.line) return false;
  return a.start.character <= b.end.character && b.start.character <= a.end.character;
}

/**
 * The parser's findings that are problems only when the value is expanded
 * (an unterminated `$[`, a bad modifier): metro reads such a line and fails
 * only on a run that expands the value. Where evaluated contexts read the
 * file, their verdict at that place stands (an error where a run reads the
 * value, a warning where none does) and the parser's is dropped; where no
 * context expanded the value (a condition false in every context), the
 * parser's becomes a warning that says so.
 */
export const EXPANSION_CODES: ReadonlySet<string> = new Set(["metro/unterminated-reference", "metro/unknown-modifier", "metro/repeated-modifier"]);

export function judgedSyntaxFinding<D extends { code?: string | number; message: unknown; severity?: unknown }>(d: D, judgedByContexts: boolean, warning: D["severity"]): D | null {
  if (!EXPANSION_CODES.has(String(d.code))) return d;
  if (judgedByContexts) return null;
  return { ...d, severity: warning, message: notExpanded(String(d.message)) };
}

/** The parser's message of a problem only an expansion meets, where no context expanded the value (then a warning). */
export function notExpanded(message: string): string {
  return `${message} (metro fails on it only when a value is expanded; no context here expands it)`;
}
