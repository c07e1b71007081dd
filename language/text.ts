// Text primitives with the reference parser's exact rules: Python's notion of
// white space for strip() and split(), and universal newlines.

import type { Position, Range, SourceLine } from "./ast";

/** Code units Python's str.isspace() accepts (all are single UTF-16 units). */
const PY_SPACE = new Set<number>([
  0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680,
  0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a,
  0x2028, 0x2029, 0x202f, 0x205f, 0x3000,
]);

/** The same set as a regular-expression character class body. */
export const PY_SPACE_CLASS = "\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";

export function isPySpace(code: number): boolean {
  return code < 0x80 ? code === 0x20 || (code >= 0x09 && code <= 0x0d) || (code >= 0x1c && code <= 0x1f) : PY_SPACE.has(code);
}

/** Start and end (exclusive) of `s` without leading and trailing white space, as Python's strip(). */
export function stripBounds(s: string, from = 0, to = s.length): [number, number] {
  let a = from;
  let b = to;
  while (a < b && isPySpace(s.charCodeAt(a))) a++;
  while (b > a && isPySpace(s.charCodeAt(b - 1))) b--;
  return [a, b];
}

export function pyStrip(s: string): string {
  const [a, b] = stripBounds(s);
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

/** Python's str.split() with no argument: runs of white space separate, no empty words. */
export function pySplit(s: string): string[] {
  return pySplitWords(s, 0, s.length).map((w) => w.text);
}

export interface Word {
  text: string;
  start: number;
  end: number;
}

/** Words of s[from, to) split on runs of white space, with their offsets in s. */
export function pySplitWords(s: string, from: number, to: number): Word[] {
  const words: Word[] = [];
  let i = from;
  while (i < to) {
    while (i < to && isPySpace(s.charCodeAt(i))) i++;
    if (i >= to) break;
    const start = i;
    while (i < to && !isPySpace(s.charCodeAt(i))) i++;
    words.push({ text: s.slice(start, i), start, end: i });
  }
  return words;
}

/** Words of s[from, to) split on single spaces (empty words kept), with their offsets in s. */
export function splitSpaces(s: string, from: number, to: number): Word[] {
  const words: Word[] = [];
  let start = from;
  for (;;) {
    const space = s.indexOf(" ", start);
    if (space === -1 || space >= to) {
      words.push({ text: s.slice(start, to), start, end: to });
      return words;
    }
    words.push({ text: s.slice(start, space), start, end: space });
    start = space + 1;
  }
}

/** Splits text into lines with universal newlines (\n, \r\n, lone \r), keeping each line's break. */
export function splitLines(text: string): SourceLine[] {
  const lines: SourceLine[] = [];
  let offset = 0;
  let line = 0;
  const n = text.length;
  while (offset < n) {
    let i = offset;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 10 || c === 13) break;
      i++;
    }
    let eol = "";
    if (i < n) eol = text.charCodeAt(i) === 13 ? (text.charCodeAt(i + 1) === 10 ? "\r\n" : "\r") : "\n";
    lines.push({ text: text.slice(offset, i), eol, line, offset });
    offset = i + eol.length;
    line++;
  }
  return lines;
}

/** Lines of a file's contents the way Python's readlines() with universal newlines sees them, without breaks. */
export function fileLines(text: string): { lines: string[]; lastLineUnterminated: boolean } {
  const src = splitLines(text);
  return { lines: src.map((l) => l.text), lastLineUnterminated: src.length > 0 && src[src.length - 1].eol === "" };
}

export function positionIn(line: SourceLine, column: number): Position {
  return { line: line.line, character: column, offset: line.offset + column };
}

export function rangeIn(line: SourceLine, from: number, to: number): Range {
  return { start: positionIn(line, from), end: positionIn(line, to) };
}

export function spanRange(first: Range, last: Range): Range {
  return { start: first.start, end: last.end };
}

/** Range covering whole source lines (without the last line's break). */
export function linesRange(lines: SourceLine[]): Range {
  const first = lines[0];
  const last = lines[lines.length - 1];
  return { start: positionIn(first, 0), end: positionIn(last, last.text.length) };
}

// One decoder of each kind for the whole process (making one per file cost as
// much as decoding a small file).
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const lenientUtf8 = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

/** Bytes as UTF-8 text as metro reads them (a BOM kept), or null when they are not valid UTF-8. */
export function decodeUtf8(bytes: Uint8Array): string | null {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return null;
  }
}

/** Bytes as UTF-8 text, invalid sequences replaced (for showing what metro would refuse to read). */
export function decodeUtf8Lenient(bytes: Uint8Array): string {
  return lenientUtf8.decode(bytes);
}
