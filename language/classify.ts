// Line classification exactly as the reference reads a line (spec section 1):
// trim with Python's white space, split on single spaces, drop the words from
// the first one that begins with `#`, then decide by the words.

import { splitSpaces, stripBounds, type Word } from "./text";

export type LineClass = "blank" | "multi-start" | "annotation" | "element" | "ignored";

export interface ClassifiedLine {
  kind: LineClass;
  /** The single-space words that remain after the comment is dropped (offsets are in the line). */
  words: Word[];
  /** Offset in the line where the dropped comment starts, or -1. */
  commentStart: number;
  /** End of the trimmed line. */
  strippedEnd: number;
  /**
   * For an annotation whose last word is empty (`[section s]  # c`): the
   * reference fails on it. Always false for other kinds.
   */
  emptyLastWord: boolean;
}

export function classifyLine(line: string): ClassifiedLine {
  const [a, b] = stripBounds(line);
  if (a === b) return { kind: "blank", words: [], commentStart: -1, strippedEnd: b, emptyLastWord: false };
  let words = splitSpaces(line, a, b);
  let commentStart = -1;
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    if (w.text.length > 0 && w.text.charCodeAt(0) === 35 /* # */) {
      commentStart = w.start;
      words = words.slice(0, i);
      break;
    }
  }
  const result = (kind: LineClass, emptyLastWord = false): ClassifiedLine => ({ kind, words, commentStart, strippedEnd: b, emptyLastWord });
  if (words.length === 0 || words[0].text.length === 0) return result("blank");
  const first = words[0].text;
  const last = words[words.length - 1].text;
  if (words.length === 2 && first.endsWith(":") && last === "[") return result("multi-start");
  if (first.charCodeAt(0) === 91 /* [ */) {
    if (last.length === 0) return result("annotation", true);
    if (last.endsWith("]")) return result("annotation");
  }
  if (first.endsWith(":")) return result("element");
  return result("ignored");
}

/** A line that ends a multi-line block: trimmed, exactly `]`. */
export function isBlockEnd(line: string): boolean {
  const [a, b] = stripBounds(line);
  return b - a === 1 && line.charCodeAt(a) === 93;
}
