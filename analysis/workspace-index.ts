// The context-free model of one Metro tree: every file's definitions,
// references, sections and collects, with names resolved the way metro
// resolves them (sections applied, `$[:x]` and `$[]` made absolute). This is
// layer 1 of the server: it needs no build context and works the moment a
// folder is opened.

import { dirname, posix, sep } from "node:path";
import type {
  CollectAnnotation,
  MetroFile,
  MultiLineElement,
  Range,
  ReferencePart,
  SingleLineElement,
  Statement,
  Value,
} from "../language";
import { FileProblem } from "../engine/files";
import { isMetroFileName, walkTree } from "./trees";

export type ElementStatement = SingleLineElement | MultiLineElement;

export interface DefinitionEntry {
  file: string;
  /** The qualified name the statement defines. */
  name: string;
  /** Range of the name as written (empty for `: value` inside a section). */
  nameRange: Range;
  statement: ElementStatement;
  condition: string | null;
  /** The section metro records for the element (used by `$[]` and `$[:x]`), or null. */
  section: string | null;
  /** The `[section ...]` in force when the name is written, or "" (the written name is relative to it). */
  writtenSection: string;
}

/** Where a reference sits; it decides what "nothing" from `:zap` does there. */
export type ReferencePlace = "single" | "multi-line" | "multi-reference" | "collect" | "condition" | "file";

export interface ReferenceEntry {
  file: string;
  /** The absolute name the reference names, or null when it cannot be known without a context. */
  name: string | null;
  /** For a `$[[steps/$[target]]]` whose name is built from other references: the names it may match. */
  pattern: RegExp | null;
  /** The range to rewrite on rename (the name as written; empty for `$[]`). */
  nameRange: Range;
  /** The whole reference (`$[...]`, the `$[[...]]` line, or the condition's name). */
  range: Range;
  form: "absolute" | "relative" | "section" | "multi" | "condition";
  place: ReferencePlace;
  /** The section `$[:x]` and `$[]` are relative to, or null. */
  section: string | null;
  part: ReferencePart | null;
  modifier: string | null;
  boolean: boolean;
  /** The element whose value holds the reference (null for annotations). */
  element: DefinitionEntry | null;
}

export interface CollectEntry {
  file: string;
  statement: CollectAnnotation;
  /** The path after lexical normalisation when it has no references. */
  staticPath: string | null;
  /** Matches the files the path can name when it has references. */
  pattern: RegExp | null;
}

export interface SectionEntry {
  file: string;
  name: string;
  nameRange: Range;
  range: Range;
}

export interface FileIndex {
  path: string;
  ast: MetroFile;
  definitions: DefinitionEntry[];
  references: ReferenceEntry[];
  collects: CollectEntry[];
  sections: SectionEntry[];
}

/** Names metro's setup defines before (or instead of) any file: never "undefined" in a tree. */
export const SETUP_NAMES = new Set([
  "path/config",
  "target",
  "target/build",
  "target/arch_desc",
  "target/subarch",
  "target/version",
  "target/name",
  "multi",
  "multi/mode",
]);

export function indexFile(path: string, ast: MetroFile): FileIndex {
  const out: FileIndex = { path, ast, definitions: [], references: [], collects: [], sections: [] };
  for (const s of ast.statements) indexStatement(out, s);
  return out;
}

function indexStatement(out: FileIndex, s: Statement): void {
  switch (s.kind) {
    case "single":
    case "multi": {
      const def: DefinitionEntry = {
        file: out.path,
        name: s.name.qualified,
        nameRange: s.name.range,
        statement: s,
        condition: s.scope.condition,
        section: s.name.recordedSection,
        writtenSection: s.scope.section,
      };
      out.definitions.push(def);
      if (s.scope.condition) conditionReference(out, s.scope.condition, null, null);
      if (s.kind === "single") {
        valueReferences(out, s.value, "single", def.section, def);
        if (s.value.file) valueReferences(out, { ...s.value, parts: [] }, "file", def.section, def);
      } else {
        for (const line of s.body) {
          if (line.kind === "text") valueReferences(out, line.value, "multi-line", def.section, def);
          else if (line.kind === "multi-reference") multiReference(out, line.inner, line.range, def);
        }
      }
      return;
    }
    case "section":
      out.sections.push({ file: out.path, name: s.name, nameRange: s.nameRange, range: s.range });
      if (s.condition) conditionReference(out, s.condition, s.conditionRange, null);
      return;
    case "when":
      if (s.condition) conditionReference(out, s.condition, s.conditionRange, null);
      return;
    case "collect": {
      valueReferences(out, s.path, "collect", null, null);
      if (s.condition && s.conditionSource === "own") conditionReference(out, s.condition, s.conditionRange, null);
      out.collects.push({ file: out.path, statement: s, ...collectTarget(out.path, s.path) });
      return;
    }
    default:
      return;
  }
}

function valueReferences(out: FileIndex, value: Value, place: ReferencePlace, section: string | null, element: DefinitionEntry | null): void {
  for (const p of value.parts) {
    if (p.kind !== "reference") continue;
    let name: string | null = p.name;
    const form: ReferenceEntry["form"] = p.form;
    if (p.form === "relative") name = section ? section + "/" + p.name : null;
    else if (p.form === "section") name = section;
    if (name !== null && name.includes("$[")) name = null;
    out.references.push({
      file: out.path,
      name,
      pattern: null,
      nameRange: p.nameRange,
      range: p.range,
      form,
      place,
      section,
      part: p,
      modifier: p.modifier,
      boolean: p.boolean,
      element,
    });
  }
}

function multiReference(out: FileIndex, inner: Value, range: Range, element: DefinitionEntry): void {
  // The text inside `$[[...]]` is expanded on its own first: no section, fresh chain.
  valueReferences(out, inner, "single", null, element);
  const hasRefs = inner.parts.some((p) => p.kind === "reference");
  let text = inner.text;
  let modifier: string | null = null;
  const colon = text.lastIndexOf(":");
  if (colon > 0 && !text.slice(colon).includes("]")) {
    modifier = text.slice(colon + 1);
    text = text.slice(0, colon);
  }
  const nameRange: Range = {
    start: inner.range.start,
    end: { line: inner.range.start.line, character: inner.range.start.character + text.length, offset: inner.range.start.offset + text.length },
  };
  let pattern: RegExp | null = null;
  if (hasRefs) {
    let src = "";
    for (const p of inner.parts) {
      if (p.kind === "text") src += escapeRegExp(p.text);
      else src += ".*";
    }
    if (modifier !== null) src = src.replace(new RegExp(escapeRegExp(":" + modifier) + "$"), "");
    pattern = new RegExp("^" + src + "$");
  }
  out.references.push({
    file: out.path,
    name: hasRefs ? null : text,
    pattern,
    nameRange,
    range,
    form: "multi",
    place: "multi-reference",
    section: null,
    part: null,
    modifier,
    boolean: false,
    element,
  });
}

function conditionReference(out: FileIndex, condition: string, range: Range | null, element: DefinitionEntry | null): void {
  if (!range) return;
  const name = condition.split(" ")[0];
  const nameRange: Range = {
    start: range.start,
    end: { line: range.start.line, character: range.start.character + name.length, offset: range.start.offset + name.length },
  };
  out.references.push({
    file: out.path,
    name,
    pattern: null,
    nameRange,
    range: nameRange,
    form: "condition",
    place: "condition",
    section: null,
    part: null,
    modifier: null,
    boolean: false,
    element,
  });
}

export function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** What a collect path names without a context: a path, or a pattern over the tree's files. */
export function collectTarget(file: string, path: Value): { staticPath: string | null; pattern: RegExp | null } {
  const hasRefs = path.parts.some((p) => p.kind === "reference");
  const dir = dirname(file);
  if (!hasRefs) {
    const text = path.text;
    const abs = text.startsWith("/") ? posix.normalize(text) : posix.normalize(dir.split(sep).join("/") + "/" + text);
    return { staticPath: abs.split("/").join(sep), pattern: null };
  }
  // References become placeholders, the path is normalised lexically, then placeholders match anything.
  let text = "";
  for (const p of path.parts) text += p.kind === "text" ? p.text : "\u0000";
  const startsWithRef = path.parts[0]?.kind === "reference";
  let norm: string;
  if (startsWithRef || text.startsWith("/")) norm = text;
  else norm = posix.normalize(dir.split(sep).join("/") + "/" + text);
  const src = norm
    .split("\u0000")
    .map((t) => escapeRegExp(t))
    .join(".*");
  return { staticPath: null, pattern: new RegExp((startsWithRef ? "" : "^") + src + "$") };
}

export interface TreeIndexOptions {
  /** Parses a file (open documents overlaid); undefined when it cannot be read. */
  parse: (path: string) => MetroFile | undefined;
  /** Why `parse` returned undefined for a path. */
  problem?: (path: string) => FileProblem | undefined;
  /** Statements and references indexed at once, shared by the indexes that pass the same object. */
  budget?: EntryBudget;
}

export interface EntryBudget {
  readonly max: number;
  held: number;
}

/**
 * What indexing a file costs, counted before its values are split into parts
 * (the bulk of an index's memory): its statements and its `$[` references.
 */
export function indexCost(ast: MetroFile): number {
  let n = ast.statements.length;
  for (let i = ast.text.indexOf("$["); i !== -1; i = ast.text.indexOf("$[", i + 2)) n++;
  return n;
}

/** The index of one tree: every Metro file parsed and its symbols merged. */
export class WorkspaceIndex {
  readonly files = new Map<string, FileIndex>();
  private byName: Map<string, DefinitionEntry[]> | null = null;
  private refsByName: Map<string, ReferenceEntry[]> | null = null;
  private allFiles = new Set<string>();
  /** Metro files that are not read (a FIFO, a device, too large, ...), each with why: one diagnostic each. */
  skipped = new Map<string, FileProblem>();
  private readonly costs = new Map<string, number>();

  constructor(
    readonly root: string,
    private readonly options: TreeIndexOptions,
  ) {}

  /** The last scan stopped at MAX_TREE_FILES: files past it are not indexed. */
  truncated = false;

  /** Lists the tree's files and parses every Metro file among them. */
  scan(): void {
    const listing = walkTree(this.root);
    this.truncated = listing.truncated;
    this.allFiles = new Set(listing.files);
    this.clear();
    this.skipped = listing.skipped;
    for (const f of this.allFiles) if (isMetroFileName(this.root, f)) this.update(f);
    // Extension-less files reached by a collect path are Metro files too.
    // Each collect is matched once: a later round matches only the collects of the files the last one added.
    const matched = new Set<CollectEntry>();
    for (let round = 0; round < 3; round++) {
      let added = 0;
      for (const c of this.collects()) {
        if (matched.has(c)) continue;
        matched.add(c);
        for (const f of this.collectCandidates(c)) {
          if (!this.files.has(f) && this.allFiles.has(f)) {
            this.update(f);
            added++;
          }
        }
      }
      if (added === 0) break;
    }
    this.dirty();
  }

  /** Re-reads one file; returns its new index or undefined when it cannot be read. */
  update(path: string): FileIndex | undefined {
    const ast = this.options.parse(path);
    this.dirty();
    this.release(path);
    const budget = this.options.budget;
    const cost = ast && budget ? indexCost(ast) : 0;
    if (ast && budget && budget.held + cost > budget.max) {
      this.files.delete(path);
      this.skipped.set(path, new FileProblem("too-large", `holds ${cost} statements and references; with the files already indexed that is more than the ${budget.max} the language server indexes`));
      return undefined;
    }
    if (!ast) {
      this.files.delete(path);
      const problem = this.options.problem?.(path);
      if (problem && problem.kind !== "missing") this.skipped.set(path, problem);
      else this.skipped.delete(path);
      return undefined;
    }
    this.skipped.delete(path);
    const fi = indexFile(path, ast);
    this.files.set(path, fi);
    if (budget) {
      budget.held += cost;
      this.costs.set(path, cost);
    }
    this.allFiles.add(path);
    return fi;
  }

  /** Gives back what indexing `path` took from the budget. */
  private release(path: string): void {
    const cost = this.costs.get(path);
    if (cost === undefined) return;
    this.options.budget!.held -= cost;
    this.costs.delete(path);
  }

  /** Forgets every file (the tree is closed), giving back its budget. */
  clear(): void {
    for (const path of [...this.costs.keys()]) this.release(path);
    this.files.clear();
    this.skipped.clear();
    this.dirty();
  }

  remove(path: string): void {
    this.release(path);
    this.files.delete(path);
    this.skipped.delete(path);
    this.allFiles.delete(path);
    this.dirty();
  }

  /** A file on disk that is not (yet) a Metro file of the index. */
  noteFile(path: string): void {
    this.allFiles.add(path);
  }

  /** True when the path belongs to this index as a Metro file (by name, or reached by a collect). */
  isMetroFile(path: string): boolean {
    if (this.files.has(path) || isMetroFileName(this.root, path)) return true;
    return this.collects().some((c) => (c.staticPath ? c.staticPath === path : !!c.pattern && c.pattern.test(toSlash(path))));
  }

  private dirty(): void {
    this.byName = null;
    this.refsByName = null;
  }

  private build(): void {
    const defs = new Map<string, DefinitionEntry[]>();
    const refs = new Map<string, ReferenceEntry[]>();
    for (const f of this.files.values()) {
      for (const d of f.definitions) {
        let l = defs.get(d.name);
        if (!l) defs.set(d.name, (l = []));
        l.push(d);
      }
      for (const r of f.references) {
        if (r.name === null) continue;
        let l = refs.get(r.name);
        if (!l) refs.set(r.name, (l = []));
        l.push(r);
      }
    }
    this.byName = defs;
    this.refsByName = refs;
  }

  definitions(name: string): DefinitionEntry[] {
    if (!this.byName) this.build();
    return this.byName!.get(name) ?? [];
  }

  /** References naming `name` (dynamic `$[[...]]` patterns included when they can match it). */
  references(name: string): ReferenceEntry[] {
    if (!this.refsByName) this.build();
    return this.refsByName!.get(name) ?? [];
  }

  names(): string[] {
    if (!this.byName) this.build();
    return [...this.byName!.keys()];
  }

  /** Definitions whose name a dynamic `$[[...]]` pattern can match. */
  definitionsMatching(pattern: RegExp): DefinitionEntry[] {
    if (!this.byName) this.build();
    const out: DefinitionEntry[] = [];
    for (const [name, defs] of this.byName!) if (pattern.test(name)) for (const d of defs) out.push(d);
    return out;
  }

  collects(): CollectEntry[] {
    const out: CollectEntry[] = [];
    for (const f of this.files.values()) for (const c of f.collects) out.push(c);
    return out;
  }

  /** The files a collect may read, known without a context. */
  collectCandidates(c: CollectEntry): string[] {
    if (c.staticPath) return [c.staticPath];
    if (!c.pattern) return [];
    return [...this.allFiles].filter((f) => c.pattern!.test(toSlash(f)));
  }

  /** Every file on disk under the tree (for path completion and collect matching). */
  diskFiles(): ReadonlySet<string> {
    return this.allFiles;
  }
}

function toSlash(p: string): string {
  return sep === "/" ? p : p.split(sep).join("/");
}
