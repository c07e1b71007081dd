// Chevrotain lexers.
//
// The file lexer works a whole line at a time, because Metro classifies a line
// by its single-space words (spec section 1): its "top" mode yields one token
// per line kind, and a multi-line start pushes the "block" mode, where every
// line is verbatim until a line that is exactly `]`.
//
// The value lexer splits a value into literal text and `$[...]` references
// ("value" and "reference" modes), following the reference scan: `$[[` is
// literal, a reference runs to the next `]` with no nesting.

import { createToken, Lexer, type CustomPatternMatcherReturn, type TokenType } from "chevrotain";
import { classifyLine, isBlockEnd as classifyBlockEnd, type ClassifiedLine, type LineClass } from "./classify";

// ---------------------------------------------------------------------------
// File lexer

let cacheText = "";
let cacheOffset = -1;
let cacheClass: LineClass | null = null;

/** Classifications made while lexing, by line offset, so the parser does not classify twice. */
export const classifiedLines = new Map<number, ClassifiedLine>();
let cacheEnd = 0;

function lineEnd(text: string, offset: number): number {
  let i = offset;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 10 || c === 13) break;
    i++;
  }
  return i;
}

/** Classification of the line starting at offset, computed once per line. */
function classAt(text: string, offset: number): LineClass | null {
  if (offset !== cacheOffset || text !== cacheText) {
    cacheText = text;
    cacheOffset = offset;
    if (offset > 0) {
      const prev = text.charCodeAt(offset - 1);
      if (prev !== 10 && prev !== 13) {
        cacheClass = null;
        return null;
      }
    }
    cacheEnd = lineEnd(text, offset);
    if (cacheEnd === offset) cacheClass = null;
    else {
      const c = classifyLine(text.slice(offset, cacheEnd));
      classifiedLines.set(offset, c);
      cacheClass = c.kind;
    }
  }
  return cacheClass;
}

function lineOf(kind: LineClass) {
  return (text: string, offset: number): CustomPatternMatcherReturn | null => {
    if (classAt(text, offset) !== kind) return null;
    return [text.slice(offset, cacheEnd)] as CustomPatternMatcherReturn;
  };
}

/** Any non-empty line inside a block other than its end. */
function blockText(text: string, offset: number): CustomPatternMatcherReturn | null {
  if (offset > 0) {
    const prev = text.charCodeAt(offset - 1);
    if (prev !== 10 && prev !== 13) return null;
  }
  const end = lineEnd(text, offset);
  if (end === offset) return null;
  return [text.slice(offset, end)] as CustomPatternMatcherReturn;
}

function blockEnd(text: string, offset: number): CustomPatternMatcherReturn | null {
  if (offset > 0) {
    const prev = text.charCodeAt(offset - 1);
    if (prev !== 10 && prev !== 13) return null;
  }
  const end = lineEnd(text, offset);
  const line = text.slice(offset, end);
  return classifyBlockEnd(line) ? ([line] as CustomPatternMatcherReturn) : null;
}

export const Newline = createToken({ name: "Newline", pattern: /\r\n|\r|\n/, line_breaks: true });
export const MultiStart = createToken({ name: "MultiStart", pattern: { exec: lineOf("multi-start") }, line_breaks: false, push_mode: "block" });
export const AnnotationLine = createToken({ name: "AnnotationLine", pattern: { exec: lineOf("annotation") }, line_breaks: false });
export const ElementLine = createToken({ name: "ElementLine", pattern: { exec: lineOf("element") }, line_breaks: false });
export const BlankLine = createToken({ name: "BlankLine", pattern: { exec: lineOf("blank") }, line_breaks: false });
export const IgnoredLine = createToken({ name: "IgnoredLine", pattern: { exec: lineOf("ignored") }, line_breaks: false });
export const BlockEnd = createToken({ name: "BlockEnd", pattern: { exec: blockEnd }, line_breaks: false, pop_mode: true });
export const BlockText = createToken({ name: "BlockText", pattern: { exec: blockText }, line_breaks: false });

export const fileTokens: TokenType[] = [Newline, MultiStart, AnnotationLine, ElementLine, BlankLine, IgnoredLine, BlockEnd, BlockText];

let fileLexerMade: Lexer | null = null;

/** The file lexer, made on first use: a run that reads files without their trees never pays for it. */
export function fileLexer(): Lexer {
  return (fileLexerMade ??= new Lexer(
    {
      modes: {
        top: [Newline, MultiStart, AnnotationLine, ElementLine, BlankLine, IgnoredLine],
        block: [Newline, BlockEnd, BlockText],
      },
      defaultMode: "top",
    },
    { positionTracking: "onlyOffset", ensureOptimizations: false, skipValidations: true },
  ));
}

// ---------------------------------------------------------------------------
// Value lexer

export const MultiLiteral = createToken({ name: "MultiLiteral", pattern: /\$\[\[/ });
export const RefOpen = createToken({ name: "RefOpen", pattern: /\$\[/, push_mode: "reference" });
export const Text = createToken({ name: "Text", pattern: /[^$]+|\$/, line_breaks: true });
export const RefInner = createToken({ name: "RefInner", pattern: /[^\]]+/, line_breaks: true });
export const RefClose = createToken({ name: "RefClose", pattern: /\]/, pop_mode: true });

let valueLexerMade: Lexer | null = null;

/** The value lexer, made on first use. */
export function valueLexer(): Lexer {
  return (valueLexerMade ??= new Lexer(
    {
      modes: {
        value: [MultiLiteral, RefOpen, Text],
        reference: [RefInner, RefClose],
      },
      defaultMode: "value",
    },
    { positionTracking: "onlyOffset", skipValidations: true },
  ));
}
