// AST -> text. Printing a parsed file gives back its text byte for byte: every
// physical line belongs to exactly one statement, in order.

import type { MetroFile, SourceLine } from "./ast";

export function printLines(lines: SourceLine[]): string {
  let out = "";
  for (const l of lines) out += l.text + l.eol;
  return out;
}

export function printMetro(file: MetroFile): string {
  let out = "";
  for (const s of file.statements) out += printLines(s.lines);
  return out;
}
