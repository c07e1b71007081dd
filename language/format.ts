// The formatter: text in, edits out. It changes only what metro's parser
// ignores (spec section 1), and it checks that rule on every run instead of
// assuming it: a changed line must classify to the same kind and words, and
// the formatted file must parse to the same definitions, annotations and
// collects in the same order, or no edit is returned at all.
//
// What it changes, outside multi-line blocks only:
// - leading and trailing white space of element, annotation, comment and
//   block-start lines (metro strips every line before reading it);
// - the closing line of a block becomes exactly `]` (metro compares the
//   stripped line with `]`);
// - spacing inside a valid annotation: `[ section  s ]` is `[section s]`
//   (metro re-splits an annotation's inside on any white space, and a
//   condition's text is its words re-joined with single spaces);
// - blank lines: none at the start or end of the file, at most one in a row,
//   one before and after `[section ...]` (before the comment lines directly
//   above it) and one after a multi-line block.
// What it never changes: a block's body lines, the text of a value (`a:  x`
// is " x" to metro, so no space is added or removed after `key:`), a line
// metro ignores (`foo bar`, `key:value`; those are warnings with a quick fix
// in the editor), an annotation metro rejects beyond its indentation, the
// order of anything (the order of `[collect]` lines is the collect queue's
// order, and a collect takes the condition of a `[when]` above it, so
// collects are not moved), and the last line of a file that has no final
// newline (metro drops that line's last character, so even trailing white
// space there is meaning).
//
// No I/O, never throws.

import type { MetroFile, Range, SourceLine, Statement } from "./ast";
import { classifyLine, isBlockEnd } from "./classify";
import { parseMetro } from "./parser";
import { pySplit, stripBounds } from "./text";

export interface FormatEdit {
  /** The text replaced: whole lines (with or without their line break). */
  range: Range;
  newText: string;
}

export interface FormatRange {
  /** First and last 0-based line (inclusive) whose edits are wanted. */
  startLine: number;
  endLine: number;
}

/** What happens to one input line. */
interface LinePlan {
  source: SourceLine;
  /** The line's new text (without its break), or null to delete the line. */
  text: string | null;
  /** Blank lines inserted before it. */
  blankBefore: number;
}

/** The edits that format `file`; with `range`, only the edits of lines inside it. Never throws. */
export function formatEdits(file: MetroFile, range?: FormatRange): FormatEdit[] {
  try {
    const plans = planLines(file);
    if (!plans) return [];
    const edits = editsOf(plans);
    if (edits.length === 0) return [];
    // The safety check: the whole result must mean what the input meant.
    if (!sameMeaning(file, parseMetro(applyEdits(file.text, edits)))) return [];
    if (!range) return edits;
    return edits.filter((e) => e.range.start.line >= range.startLine && e.range.start.line <= range.endLine);
  } catch {
    return [];
  }
}

/** The formatted text (the input itself when nothing changes). Never throws. */
export function formatText(text: string): string {
  return applyEdits(text, formatEdits(parseMetro(text)));
}

/** Applies non-overlapping edits given in document order. */
export function applyEdits(text: string, edits: FormatEdit[]): string {
  if (edits.length === 0) return text;
  let out = "";
  let at = 0;
  for (const e of edits) {
    out += text.slice(at, e.range.start.offset) + e.newText;
    at = e.range.end.offset;
  }
  return out + text.slice(at);
}

// ---------------------------------------------------------------------------
// Planning

type Item =
  | { kind: "blank"; line: SourceLine }
  | { kind: "comment"; line: SourceLine }
  /** Lines of one statement: `section` marks `[section]`, `block` a closed multi-line block. */
  | { kind: "statement"; lines: SourceLine[]; section: boolean; block: boolean; keep: boolean; statement: Statement };

function planLines(file: MetroFile): LinePlan[] | null {
  const items: Item[] = [];
  for (const s of file.statements) {
    if (s.kind === "blank") {
      const line = s.lines[0];
      items.push({ kind: s.comment ? "comment" : "blank", line });
    } else {
      items.push({ kind: "statement", lines: s.lines, section: s.kind === "section", block: s.kind === "multi" && s.close !== null, keep: s.kind === "ignored", statement: s });
    }
  }
  const all = file.statements.flatMap((s) => s.lines);
  if (all.length === 0) return null;
  const plans = new Map<SourceLine, LinePlan>();
  for (const l of all) plans.set(l, { source: l, text: l.text, blankBefore: 0 });
  const last = all[all.length - 1];
  const frozen = (l: SourceLine) => l === last && l.eol === "";

  // Line contents.
  for (const item of items) {
    if (item.kind === "blank") {
      if (!frozen(item.line)) plans.get(item.line)!.text = "";
    } else if (item.kind === "comment") {
      setText(plans, item.line, stripped(item.line.text), frozen);
    } else if (!item.keep) {
      formatStatement(item.statement, plans, frozen);
    }
  }

  // Blank lines: drop them all (except a frozen last line), then put back the ones the style wants.
  const content = items.filter((i) => i.kind !== "blank" || frozen(i.line));
  for (const i of items) if (i.kind === "blank" && !frozen(i.line)) plans.get(i.line)!.text = null;
  const firstLine = (i: Item) => (i.kind === "statement" ? i.lines[0] : i.line);
  const blankBetween = new Array<boolean>(content.length).fill(false);
  // An original blank line between two content items is kept (one).
  for (let k = 1; k < content.length; k++) {
    const prev = content[k - 1];
    const prevLast = prev.kind === "statement" ? prev.lines[prev.lines.length - 1] : prev.line;
    blankBetween[k] = firstLine(content[k]).line > prevLast.line + 1;
  }
  for (let k = 0; k < content.length; k++) {
    const it = content[k];
    if (it.kind !== "statement") continue;
    if (it.section) {
      // Before: above the comment lines that sit directly on top of it.
      let j = k;
      while (j > 0 && content[j - 1].kind === "comment" && !blankBetween[j]) j--;
      if (j > 0) blankBetween[j] = true;
    }
    if ((it.section || it.block) && k + 1 < content.length) blankBetween[k + 1] = true;
  }
  // A frozen last line keeps whatever came before it: a blank final line stays as it is.
  for (let k = 1; k < content.length; k++) {
    const first = plans.get(firstLine(content[k]))!;
    if (blankBetween[k]) first.blankBefore = 1;
  }
  const result = all.map((l) => plans.get(l)!);
  // Keep an existing blank line rather than deleting it and inserting another.
  for (let k = 1; k < result.length; k++) {
    if (result[k].blankBefore === 1 && result[k - 1].text === null) {
      result[k - 1].text = "";
      result[k].blankBefore = 0;
    }
  }
  return result;
}

function stripped(text: string): string {
  const [a, b] = stripBounds(text);
  return text.slice(a, b);
}

/** Sets a line's new text when the change keeps its classification and words (else leaves it). */
function setText(plans: Map<SourceLine, LinePlan>, line: SourceLine, text: string, frozen: (l: SourceLine) => boolean): void {
  if (frozen(line) || text === line.text) return;
  if (!sameLine(line.text, text)) return;
  plans.get(line)!.text = text;
}

function sameLine(a: string, b: string): boolean {
  const ca = classifyLine(a);
  const cb = classifyLine(b);
  if (ca.kind !== cb.kind || ca.emptyLastWord !== cb.emptyLastWord) return false;
  // Annotations may differ in spacing only: compare their insides split on white space.
  if (ca.kind === "annotation") return annotationWords(a) !== null && annotationWords(a) === annotationWords(b);
  if (ca.words.length !== cb.words.length) return false;
  for (let i = 0; i < ca.words.length; i++) if (ca.words[i].text !== cb.words[i].text) return false;
  return true;
}

/** The inside of an annotation line split on any white space, joined with one space. */
function annotationWords(text: string): string | null {
  const c = classifyLine(text);
  if (c.kind !== "annotation" || c.emptyLastWord) return null;
  const inner = text.slice(c.words[0].start + 1, c.words[c.words.length - 1].end - 1);
  return pySplit(inner).join(" ");
}

function formatStatement(s: Statement, plans: Map<SourceLine, LinePlan>, frozen: (l: SourceLine) => boolean): void {
  switch (s.kind) {
    case "single":
    case "invalid-annotation":
      setText(plans, s.lines[0], stripped(s.lines[0].text), frozen);
      return;
    case "multi": {
      setText(plans, s.lines[0], stripped(s.lines[0].text), frozen);
      if (s.close && !frozen(s.close) && s.close.text !== "]" && isBlockEnd(s.close.text)) plans.get(s.close)!.text = "]";
      return;
    }
    case "section":
    case "when":
    case "collect":
    case "option": {
      const line = s.lines[0];
      const text = stripped(line.text);
      const c = classifyLine(text);
      const inner = annotationWords(text);
      if (inner !== null && c.words.length > 0) {
        const end = c.words[c.words.length - 1].end;
        const tidy = "[" + inner + "]" + text.slice(end);
        if (tidy !== text && sameLine(line.text, tidy)) {
          setText(plans, line, tidy, frozen);
          return;
        }
      }
      setText(plans, line, text, frozen);
      return;
    }
    default:
      return;
  }
}

// ---------------------------------------------------------------------------
// Edits

function position(line: SourceLine, character: number): Range["start"] {
  return { line: line.line, character, offset: line.offset + character };
}

function editsOf(plans: LinePlan[]): FormatEdit[] {
  const edits: FormatEdit[] = [];
  // The break of the last line that stays: inserted blank lines use it, and an
  // empty line after a lone `\r` must not end in `\n` (the two would become one `\r\n`).
  let lastEol = "";
  for (const p of plans) {
    const l = p.source;
    const wholeLine = { start: position(l, 0), end: { line: l.line + 1, character: 0, offset: l.offset + l.text.length + l.eol.length } };
    if (p.text === null) {
      // Deleted with its line break (a line without one is the frozen last line, never deleted).
      edits.push({ range: wholeLine, newText: "" });
      continue;
    }
    if (p.text === "" && p.blankBefore === 0 && lastEol === "\r" && l.eol === "\n") {
      edits.push({ range: wholeLine, newText: "\r" });
      lastEol = "\r";
      continue;
    }
    const newText = (lastEol || l.eol || "\n").repeat(p.blankBefore) + p.text;
    if (newText !== l.text) edits.push({ range: { start: position(l, 0), end: position(l, l.text.length) }, newText });
    lastEol = l.eol;
  }
  return edits;
}

// ---------------------------------------------------------------------------
// The safety check

function signature(file: MetroFile): string[] {
  const out: string[] = [];
  for (const s of file.statements) {
    switch (s.kind) {
      case "blank":
        continue;
      case "single":
        out.push(JSON.stringify(["single", s.name.qualified, s.name.recordedSection, s.scope, s.value.text]));
        break;
      case "multi":
        out.push(JSON.stringify(["multi", s.name.qualified, s.name.recordedSection, s.scope, s.rawLines, s.close !== null]));
        break;
      case "section":
        out.push(JSON.stringify(["section", s.name, s.condition]));
        break;
      case "when":
        out.push(JSON.stringify(["when", s.condition]));
        break;
      case "collect":
        out.push(JSON.stringify(["collect", s.path.text, s.condition, s.conditionSource]));
        break;
      case "option":
        out.push(JSON.stringify(["option", s.option]));
        break;
      case "invalid-annotation":
        out.push(JSON.stringify(["invalid", s.problem.code, stripped(s.lines[0].text)]));
        break;
      case "ignored":
        out.push(JSON.stringify(["ignored", s.lines[0].text]));
        break;
    }
  }
  out.push(JSON.stringify(["end", file.fatal?.code ?? null, file.laxAtEnd]));
  const lines = file.statements.flatMap((s) => s.lines);
  const last = lines[lines.length - 1];
  // The last line without a break is read by metro without its last character: it must stay exactly.
  if (last && last.eol === "") out.push(JSON.stringify(["unterminated", last.text]));
  return out;
}

/** Whether two parses define, annotate and collect the same things in the same order. */
export function sameMeaning(a: MetroFile, b: MetroFile): boolean {
  const x = signature(a);
  const y = signature(b);
  return x.length === y.length && x.every((s, i) => s === y[i]);
}
