// Line classification exactly as the reference reads a line (spec section 1):
// trim with Python's white space, split on single spaces, drop the words from
// the first one that begins with `#`, then decide by the words.

import { isPySpace, splitSpaces, stripBounds, type Word } from "./text";

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

/**
 * The kind of a line inside a multi-line value (spec section 3.4): a
 * `$[[...]]` line (the stripped line is one reference of fewer than three
 * single-space words), the start of a `<?python` block, or text. Offsets of
 * the reference's inner text are in the line.
 */
export type BlockLineKind = { kind: "multi-reference"; innerStart: number; innerEnd: number } | { kind: "python-start" } | { kind: "text" };

const TEXT_LINE: BlockLineKind = { kind: "text" };
const PYTHON_START: BlockLineKind = { kind: "python-start" };

export function blockLineKind(line: string): BlockLineKind {
  const [a, b] = stripBounds(line);
  if (b - a >= 5 && line.startsWith("$[[", a) && line.startsWith("]]", b - 2) && fewerThanThreeWords(line, a, b)) {
    return { kind: "multi-reference", innerStart: a + 3, innerEnd: b - 2 };
  }
  if (line.startsWith("<?python", a) && (b - a === 8 || line.charCodeAt(a + 8) === 32)) return PYTHON_START;
  return TEXT_LINE;
}

/** Whether a line ends a `<?python` block: its first white-space-separated word is `?>`. */
export function isPythonEnd(line: string): boolean {
  return startsWithWord(line, "?>");
}

function fewerThanThreeWords(text: string, a: number, b: number): boolean {
  const first = text.indexOf(" ", a);
  if (first === -1 || first >= b) return true;
  const second = text.indexOf(" ", first + 1);
  return second === -1 || second >= b;
}

/** Whether the first white-space-separated word of text is exactly `word`. */
function startsWithWord(text: string, word: string): boolean {
  const [a, b] = stripBounds(text);
  if (!text.startsWith(word, a)) return false;
  const end = a + word.length;
  return end === b || isPySpace(text.charCodeAt(end));
}
