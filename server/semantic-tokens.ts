// Semantic tokens: element names, section names, annotation words, references
// and their modifiers, `<<`, comments.

import type { DocumentRequest } from "./requests";
import * as lsp from "vscode-languageserver";
import type { Range, Statement, Value } from "../language";
import { SETUP_NAMES } from "../analysis/workspace-index";

export const TOKEN_TYPES = ["namespace", "property", "keyword", "variable", "operator", "comment", "macro", "string"] as const;
export const TOKEN_MODIFIERS = ["declaration", "readonly", "defaultLibrary"] as const;
export const legend: lsp.SemanticTokensLegend = { tokenTypes: [...TOKEN_TYPES], tokenModifiers: [...TOKEN_MODIFIERS] };

type TokenType = (typeof TOKEN_TYPES)[number];
interface Tok {
  line: number;
  char: number;
  length: number;
  type: number;
  mods: number;
}

export function semanticTokens(at: DocumentRequest): lsp.SemanticTokens {
  const toks: Tok[] = [];
  const push = (r: Range, type: TokenType, mods = 0) => {
    if (r.start.line !== r.end.line || r.end.character <= r.start.character) return;
    toks.push({ line: r.start.line, char: r.start.character, length: r.end.character - r.start.character, type: TOKEN_TYPES.indexOf(type), mods });
  };
  const at0 = (line: number, char: number, len: number): Range => ({
    start: { line, character: char, offset: 0 },
    end: { line, character: char + len, offset: 0 },
  });
  const value = (v: Value) => {
    for (const p of v.parts) {
      if (p.kind !== "reference") continue;
      push({ start: p.range.start, end: { ...p.range.start, character: p.range.start.character + 2 } }, "operator");
      if (p.nameRange.end.character > p.nameRange.start.character) push(p.nameRange, "variable", SETUP_NAMES.has(p.name) ? 4 : 0);
      if (p.modifierRange) push(p.modifierRange, "macro");
      if (p.terminated) push({ start: { ...p.range.end, character: p.range.end.character - 1 }, end: p.range.end }, "operator");
    }
    if (v.file) push({ start: v.file.range.start, end: { ...v.file.range.start, character: v.file.range.start.character + 2 } }, "operator");
  };
  const keyword = (s: Statement) => {
    const text = s.lines[0].text;
    const m = /^\s*\[\s*(\w+)/.exec(text);
    if (m) push(at0(s.range.start.line, m[0].length - m[1].length, m[1].length), "keyword");
  };
  for (const s of at.file.ast.statements) {
    if (s.comment) push(s.comment.range, "comment");
    switch (s.kind) {
      case "single":
        push(s.name.range, "property", 1);
        value(s.value);
        break;
      case "multi":
        push(s.name.range, "property", 1);
        for (const b of s.body) {
          if (b.kind === "text") value(b.value);
          else if (b.kind === "multi-reference") {
            push(at0(b.range.start.line, b.range.start.character, 3), "operator");
            if (!b.inner.parts.some((p) => p.kind === "reference")) push(b.inner.range, "variable");
            else value(b.inner);
            push(at0(b.range.end.line, b.range.end.character - 2, 2), "operator");
          } else {
            push(at0(b.start.line, 0, b.start.text.length), "keyword");
            if (b.end) push(at0(b.end.line, 0, b.end.text.length), "keyword");
          }
        }
        break;
      case "section":
        keyword(s);
        push(s.nameRange, "namespace");
        if (s.conditionRange) push(s.conditionRange, "variable");
        break;
      case "when":
        keyword(s);
        if (s.conditionRange) push(s.conditionRange, "variable");
        break;
      case "collect":
        keyword(s);
        push(s.path.range, "string");
        value(s.path);
        if (s.conditionRange) push(s.conditionRange, "variable");
        break;
      case "option":
        keyword(s);
        push(s.optionRange, "macro");
        break;
      default:
        break;
    }
  }
  // The collect path's string token would overlap its references: keep the finer tokens.
  toks.sort((a, b) => a.line - b.line || a.char - b.char || a.length - b.length);
  const builder = new lsp.SemanticTokensBuilder();
  let lastLine = -1;
  let lastEnd = 0;
  const strings = toks.filter((t) => t.type === TOKEN_TYPES.indexOf("string"));
  const finer = toks.filter((t) => t.type !== TOKEN_TYPES.indexOf("string"));
  // Split string tokens around the finer tokens on the same line (found by line: a file of
  // thousands of collects costs a look-up per collect, not a pass over every token).
  const finerOnLine = new Map<number, Tok[]>();
  if (strings.length) {
    for (const f of finer) {
      const l = finerOnLine.get(f.line);
      if (l) l.push(f);
      else finerOnLine.set(f.line, [f]);
    }
  }
  for (const s of strings) {
    let start = s.char;
    const end = s.char + s.length;
    for (const f of (finerOnLine.get(s.line) ?? []).filter((f) => f.char >= s.char && f.char < end)) {
      if (f.char > start) finer.push({ ...s, char: start, length: f.char - start });
      start = Math.max(start, f.char + f.length);
    }
    if (end > start) finer.push({ ...s, char: start, length: end - start });
  }
  finer.sort((a, b) => a.line - b.line || a.char - b.char);
  for (const t of finer) {
    if (t.line === lastLine && t.char < lastEnd) continue;
    builder.push(t.line, t.char, t.length, t.type, t.mods);
    lastLine = t.line;
    lastEnd = t.char + t.length;
  }
  return builder.build();
}
