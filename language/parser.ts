// Text -> MetroFile. Never throws and does no I/O: every malformed construct
// becomes a diagnostic and parsing goes on with the next line.

import { EmbeddedActionsParser, type IToken } from "chevrotain";
import type {
  BlockLine,
  CollectAnnotation,
  Diagnostic,
  DefinitionScope,
  MetroFile,
  Range,
  ReferencePart,
  Severity,
  SourceLine,
  Statement,
  Value,
  ValuePart,
} from "./ast";
import { blockLineKind, classifyLine, isPythonEnd, type ClassifiedLine } from "./classify";
import { modifierProblem, nextReference, parseReferenceInner } from "./reference";
import { AnnotationLine, BlankLine, classifiedLines, BlockEnd, BlockText, ElementLine, fileLexer, fileTokens, IgnoredLine, MultiStart, Newline, RefClose, RefInner, RefOpen, valueLexer } from "./lexer";
import { decodeUtf8, decodeUtf8Lenient, linesRange, pySplit, pySplitWords, pyStrip, rangeIn, splitLines, splitSpaces, stripBounds } from "./text";
import { quote, quoteJson } from "./excerpt";

// ---------------------------------------------------------------------------
// Grouping lines into statements (Chevrotain parser over line tokens)

type Group =
  | { kind: "line"; token: IToken }
  | { kind: "block"; start: IToken; end: IToken | null };

class LineGroupParser extends EmbeddedActionsParser {
  constructor() {
    super(fileTokens, { recoveryEnabled: false, skipValidations: true, maxLookahead: 1 });
    this.performSelfAnalysis();
  }

  public file = this.RULE("file", (): Group[] => {
    const groups: Group[] = [];
    this.MANY(() => {
      const g = this.SUBRULE(this.statement);
      if (g) groups.push(g);
    });
    return groups;
  });

  private statement = this.RULE("statement", (): Group | null =>
    this.OR([
      { ALT: () => this.SUBRULE(this.block) },
      { ALT: () => ({ kind: "line" as const, token: this.CONSUME(AnnotationLine) }) },
      { ALT: () => ({ kind: "line" as const, token: this.CONSUME(ElementLine) }) },
      { ALT: () => ({ kind: "line" as const, token: this.CONSUME(BlankLine) }) },
      { ALT: () => ({ kind: "line" as const, token: this.CONSUME(IgnoredLine) }) },
      {
        ALT: () => {
          this.CONSUME(Newline);
          return null;
        },
      },
    ]),
  );

  private block = this.RULE("block", (): Group => {
    const start = this.CONSUME(MultiStart);
    this.MANY(() => {
      this.OR([{ ALT: () => this.CONSUME(BlockText) }, { ALT: () => this.CONSUME2(Newline) }]);
    });
    const end = this.OPTION(() => this.CONSUME(BlockEnd));
    return { kind: "block", start, end: end ?? null };
  });
}

let groupParserMade: LineGroupParser | null = null;

/** The line grouping parser, made on first use (its grammar analysis costs a few milliseconds and megabytes). */
function groupParser(): LineGroupParser {
  return (groupParserMade ??= new LineGroupParser());
}

// ---------------------------------------------------------------------------
// Values

function diag(range: Range, severity: Severity, code: string, message: string): Diagnostic {
  return { range, severity, code, message };
}

/**
 * A value. Its parts are computed when first asked for: the engine works on
 * the text, so a build matrix never pays for the parts of every value.
 */
class ParsedValue implements Value {
  private cachedParts: ValuePart[] | null = null;
  constructor(
    readonly text: string,
    readonly range: Range,
    readonly file: Value["file"],
    private readonly line: SourceLine,
    private readonly from: number,
  ) {}
  get parts(): ValuePart[] {
    return (this.cachedParts ??= valueParts(this.line, this.from, this.text, undefined));
  }
  toJSON(): Value {
    return { text: this.text, range: this.range, parts: this.parts, file: this.file };
  }
}

/** Parses value text found at [from, to) of a source line; reports malformed references into `diagnostics`. */
export function parseValue(line: SourceLine, from: number, to: number, diagnostics?: Diagnostic[]): Value {
  const text = line.text.slice(from, to);
  let file: Value["file"] = null;
  const [a, b] = stripBounds(text);
  if (text.startsWith("<<", a)) {
    const words = splitSpaces(text, a, b);
    if (words.length === 2 && words[0].text === "<<") {
      const p = words[1];
      file = {
        range: rangeIn(line, from + a, from + b),
        pathText: p.text,
        pathRange: rangeIn(line, from + p.start, from + p.end),
        parts: valueParts(line, from + p.start, p.text, undefined),
      };
    }
  }
  const value = new ParsedValue(text, rangeIn(line, from, to), file, line, from);
  if (diagnostics && hasReferenceProblem(text)) {
    for (const part of value.parts) if (part.kind === "reference") referenceDiagnostics(part, diagnostics);
  }
  return value;
}

/** Whether some `$[...]` of the text is unterminated or has a modifier other than one :zap or :lax (a cheap scan). */
function hasReferenceProblem(text: string): boolean {
  for (let span = nextReference(text, 0); span; span = nextReference(text, span.innerEnd + 1)) {
    if (!span.terminated) return true;
    if (modifierProblem(parseReferenceInner(text.slice(span.innerStart, span.innerEnd)).modifier)) return true;
  }
  return false;
}

function valueParts(line: SourceLine, from: number, text: string, diagnostics: Diagnostic[] | undefined): ValuePart[] {
  if (text.indexOf("$[") === -1) {
    return text.length === 0 ? [] : [{ kind: "text", text, range: rangeIn(line, from, from + text.length) }];
  }
  const tokens = valueLexer().tokenize(text).tokens;
  const parts: ValuePart[] = [];
  const pushText = (start: number, end: number) => {
    const last = parts[parts.length - 1];
    if (last && last.kind === "text" && last.range.end.offset === line.offset + from + start) {
      last.text += text.slice(start, end);
      last.range = rangeIn(line, last.range.start.character, from + end);
    } else {
      parts.push({ kind: "text", text: text.slice(start, end), range: rangeIn(line, from + start, from + end) });
    }
  };
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t.tokenType !== RefOpen) {
      pushText(t.startOffset, t.startOffset + t.image.length);
      continue;
    }
    const innerStart = t.startOffset + 2;
    let innerEnd = innerStart;
    if (tokens[i + 1]?.tokenType === RefInner) {
      innerEnd = innerStart + tokens[i + 1].image.length;
      i++;
    }
    const terminated = tokens[i + 1]?.tokenType === RefClose;
    if (terminated) i++;
    const ref = analyseReference(line, from, text.slice(innerStart, innerEnd), innerStart, terminated);
    parts.push(ref);
    if (diagnostics) referenceDiagnostics(ref, diagnostics);
  }
  return parts;
}

function analyseReference(line: SourceLine, from: number, inner: string, innerStart: number, terminated: boolean): ReferencePart {
  const at = (a: number, b: number) => rangeIn(line, from + innerStart + a, from + innerStart + b);
  const syntax = parseReferenceInner(inner);
  const end = terminated ? innerStart + inner.length + 1 : innerStart + inner.length;
  return {
    kind: "reference",
    range: rangeIn(line, from + innerStart - 2, from + end),
    inner,
    innerRange: at(0, inner.length),
    terminated,
    boolean: syntax.boolean,
    form: syntax.form,
    name: syntax.name,
    nameRange: at(syntax.nameStart, syntax.nameEnd),
    modifier: syntax.modifier,
    modifierRange: syntax.modifier === null ? null : at(syntax.modifierStart, syntax.modifierStart + syntax.modifier.length),
  };
}

function referenceDiagnostics(ref: ReferencePart, out: Diagnostic[]): void {
  if (!ref.terminated) {
    out.push(diag(ref.range, "error", "metro/unterminated-reference", "`$[` has no closing `]`: expanding this value fails"));
    return;
  }
  const problem = modifierProblem(ref.modifier);
  if (problem === "repeated-modifier") {
    out.push(diag(ref.modifierRange!, "error", "metro/repeated-modifier", `more than one modifier in ${quote(`$[${ref.inner}]`)}: only one of :zap or :lax is allowed`));
  } else if (problem === "unknown-modifier") {
    out.push(diag(ref.modifierRange!, "error", "metro/unknown-modifier", `unknown modifier ${quote(`:${ref.modifier}`)}: expected :zap or :lax`));
  }
}

// ---------------------------------------------------------------------------
// Statements

interface State {
  section: string;
  condition: string | null;
  lax: boolean | null;
  fatal: Diagnostic | null;
  diagnostics: Diagnostic[];
}

function fail(state: State, d: Diagnostic): Diagnostic {
  state.diagnostics.push(d);
  if (!state.fatal) state.fatal = d;
  return d;
}

function commentOf(line: SourceLine, c: ClassifiedLine): Statement["comment"] {
  if (c.commentStart < 0) return null;
  return { text: line.text.slice(c.commentStart, c.strippedEnd), range: rangeIn(line, c.commentStart, c.strippedEnd) };
}

function scopeOf(state: State): DefinitionScope {
  return { section: state.section, condition: state.condition, lax: state.lax };
}

function lineStatement(line: SourceLine, state: State): Statement {
  const c = classifiedLines.get(line.offset) ?? classifyLine(line.text);
  const base = { range: linesRange([line]), lines: [line], comment: commentOf(line, c) };
  switch (c.kind) {
    case "blank":
      return { kind: "blank", ...base };
    case "ignored":
      state.diagnostics.push(ignoredLineDiagnostic(line, c));
      return { kind: "ignored", ...base };
    case "element":
      return singleElement(line, c, base, state);
    case "annotation":
      return annotation(line, c, base, state);
    case "multi-start":
      // Only reached for a block start the file lexer did not see (cannot happen); treat as unterminated.
      return { kind: "ignored", ...base };
  }
}

function ignoredLineDiagnostic(line: SourceLine, c: ClassifiedLine): Diagnostic {
  const w = c.words[0];
  const range = rangeIn(line, w.start, c.words[c.words.length - 1].end);
  const colon = w.text.indexOf(":");
  if (colon > 0 && colon < w.text.length - 1) {
    return diag(range, "warning", "metro/ignored-line", `metro ignores this line: ${quote(w.text.slice(0, colon + 1))} must be followed by a space to define an element`);
  }
  if (w.text.endsWith(":") === false && line.text.includes(":\t")) {
    return diag(range, "warning", "metro/ignored-line", "metro ignores this line: a tab after the colon does not separate the value; use a space");
  }
  return diag(range, "warning", "metro/ignored-line", "metro ignores this line: it is neither an element (`name: value`), an annotation (`[...]`) nor a comment");
}

function singleElement(line: SourceLine, c: ClassifiedLine, base: Pick<Statement, "range" | "lines" | "comment">, state: State): Statement {
  const first = c.words[0];
  const raw = first.text.slice(0, -1);
  let qualified = raw;
  let recordedSection: string | null = null;
  if (raw === "") qualified = state.section;
  else if (state.section) {
    qualified = state.section + "/" + raw;
    recordedSection = state.section;
  }
  const from = c.words.length > 1 ? c.words[1].start : first.end;
  const to = c.words.length > 1 ? c.words[c.words.length - 1].end : first.end;
  const value = parseValue(line, from, to, state.diagnostics);
  const nameRange = rangeIn(line, first.start, first.end - 1);
  if (pyStrip(value.text) === "[" && value.text !== "[") {
    state.diagnostics.push(
      diag(value.range, "warning", "metro/bracket-lookalike", `this is a single-line element whose value is ${quoteJson(value.text)}, not the start of a multi-line block: write ${quote(`${first.text} [`)} with one space and no comment after \`[\``),
    );
  }
  if (qualified === "") {
    state.diagnostics.push(diag(nameRange, "warning", "metro/empty-name", "an element with an empty name outside a section defines the empty name, which cannot be looked up"));
  }
  return {
    kind: "single",
    ...base,
    name: { text: raw, range: nameRange, qualified, recordedSection },
    scope: scopeOf(state),
    value,
  };
}

function conditionText(words: { text: string }[]): string {
  return words.map((w) => w.text).join(" ");
}

function conditionDiagnostic(cond: string, range: Range, out: Diagnostic[]): void {
  const w = pySplit(cond);
  if (w.length === 1) return;
  if (w.length >= 3 && (w[1] === "is" || w[1] === "in")) return;
  out.push(diag(range, "error", "metro/invalid-condition", `invalid condition ${quote(cond)}: expected NAME, or NAME is VALUE..., or NAME in VALUE...`));
}

function annotation(line: SourceLine, c: ClassifiedLine, base: Pick<Statement, "range" | "lines" | "comment">, state: State): Statement {
  const whole = rangeIn(line, c.words[0].start, c.words[c.words.length - 1].end);
  const invalid = (code: string, message: string, range: Range = whole): Statement => ({
    kind: "invalid-annotation",
    ...base,
    problem: fail(state, diag(range, "error", code, message + " (metro stops reading here)")),
  });
  if (c.emptyLastWord) {
    return invalid("metro/annotation-comment", "two spaces before a comment after an annotation leave an empty word that metro cannot read: use one space");
  }
  const start = c.words[0].start + 1;
  const end = c.words[c.words.length - 1].end - 1;
  const w = start <= end ? pySplitWords(line.text, start, end) : [];
  const at = (i: number) => rangeIn(line, w[i].start, w[i].end);
  const span = (i: number) => rangeIn(line, w[i].start, w[w.length - 1].end);
  if (w.length === 0) return invalid("metro/bad-annotation", "empty annotation `[]`");
  const word = w[0].text;
  switch (word) {
    case "section": {
      if (w.length < 2) return invalid("metro/bad-annotation", "`[section]` needs a section name");
      let condition: string | null = null;
      let conditionRange: Range | null = null;
      if (w.length > 2) {
        if (w[2].text !== "when") return invalid("metro/bad-annotation", `expected \`when\` after the section name, found ${quote(w[2].text)}`, at(2));
        condition = conditionText(w.slice(3));
        if (condition === "*" || condition === "") condition = null;
        else {
          conditionRange = span(3);
          conditionDiagnostic(condition, conditionRange, state.diagnostics);
        }
      }
      state.section = w[1].text;
      state.condition = condition;
      return { kind: "section", ...base, name: w[1].text, nameRange: at(1), condition, conditionRange };
    }
    case "option": {
      if (w.length < 2) return invalid("metro/bad-annotation", "`[option]` needs `parse/lax` or `parse/strict`");
      const opt = w[1].text;
      if (opt !== "parse/lax" && opt !== "parse/strict") return invalid("metro/bad-annotation", `unknown option ${quote(opt)}: expected parse/lax or parse/strict`, at(1));
      state.lax = opt === "parse/lax";
      return { kind: "option", ...base, option: opt, optionRange: at(1) };
    }
    case "when": {
      let condition: string | null = conditionText(w.slice(1));
      let conditionRange: Range | null = null;
      if (condition === "*" || condition === "") condition = null;
      else {
        conditionRange = span(1);
        conditionDiagnostic(condition, conditionRange, state.diagnostics);
      }
      state.condition = condition;
      return { kind: "when", ...base, condition, conditionRange };
    }
    case "collect": {
      const collect = (condition: string | null, conditionRange: Range | null, source: CollectAnnotation["conditionSource"]): Statement => ({
        kind: "collect",
        ...base,
        path: parseValue(line, w[1].start, w[1].end, state.diagnostics),
        condition,
        conditionRange,
        conditionSource: source,
      });
      if (state.condition) {
        if (w.length < 2) return invalid("metro/collect-arity", "`[collect]` needs a path");
        if (w.length >= 3) return invalid("metro/collect-arity", `inside ${quote(`[when ${state.condition}]`)} a collect takes the surrounding condition and must be \`[collect PATH]\``, span(2));
        return collect(state.condition, null, "surrounding");
      }
      if (w.length > 3) {
        if (w[2].text !== "when") return invalid("metro/collect-arity", `expected \`when\` after the collect path, found ${quote(w[2].text)}`, at(2));
        const condition = conditionText(w.slice(3));
        const range = span(3);
        conditionDiagnostic(condition, range, state.diagnostics);
        return collect(condition, range, "own");
      }
      if (w.length === 2) return collect(null, null, null);
      return invalid("metro/collect-arity", w.length === 1 ? "`[collect]` needs a path" : "`[collect PATH X]` is invalid: use `[collect PATH]` or `[collect PATH when CONDITION]`");
    }
    default:
      return invalid("metro/unknown-annotation", `unknown annotation ${quote(`[${word}]`)}: expected section, when, collect or option`, at(0));
  }
}

/** Whether text[a, b) split on single spaces has fewer than three words. */
function blockLines(lines: SourceLine[], diagnostics: Diagnostic[]): BlockLine[] {
  const out: BlockLine[] = [];
  for (let i = 0; i < lines.length; i++) {
    const source = lines[i];
    const kind = blockLineKind(source.text);
    if (kind.kind === "multi-reference") {
      out.push({ kind: "multi-reference", source, inner: parseValue(source, kind.innerStart, kind.innerEnd, diagnostics), range: rangeIn(source, kind.innerStart - 3, kind.innerEnd + 2) });
      continue;
    }
    if (kind.kind === "python-start") {
      const code: SourceLine[] = [];
      let end: SourceLine | null = null;
      let j = i + 1;
      for (; j < lines.length; j++) {
        if (isPythonEnd(lines[j].text)) {
          end = lines[j];
          break;
        }
        code.push(lines[j]);
      }
      const last = end ?? code[code.length - 1] ?? source;
      out.push({ kind: "python", start: source, code, end, range: { start: rangeIn(source, 0, 0).start, end: rangeIn(last, last.text.length, last.text.length).end } });
      i = end ? j : lines.length;
      continue;
    }
    out.push({ kind: "text", source, value: parseValue(source, 0, source.text.length, diagnostics) });
  }
  return out;
}

function multiElement(startLine: SourceLine, body: SourceLine[], close: SourceLine | null, state: State): Statement {
  const c = classifiedLines.get(startLine.offset) ?? classifyLine(startLine.text);
  const first = c.words[0];
  const raw = first.text.slice(0, -1);
  let qualified = raw;
  let recordedSection: string | null = null;
  if (state.section) {
    qualified = state.section + "/" + raw;
    recordedSection = state.section;
  }
  const all = [startLine, ...body, ...(close ? [close] : [])];
  const nameRange = rangeIn(startLine, first.start, first.end - 1);
  if (!close) {
    fail(state, diag(rangeIn(startLine, first.start, c.words[1].end), "error", "metro/unterminated-block", `multi-line element ${quote(qualified)} is never closed: add a line with only \`]\``));
  }
  if (qualified === "") {
    state.diagnostics.push(diag(nameRange, "warning", "metro/empty-name", "a multi-line element with an empty name outside a section defines the empty name, which cannot be looked up"));
  }
  return {
    kind: "multi",
    range: linesRange(all),
    lines: all,
    comment: commentOf(startLine, c),
    name: { text: raw, range: nameRange, qualified, recordedSection },
    scope: scopeOf(state),
    openRange: rangeIn(startLine, c.words[1].start, c.words[1].end),
    body: blockLines(body, state.diagnostics),
    rawLines: body.map((l) => l.text),
    close,
  };
}

// ---------------------------------------------------------------------------
// Entry points

/** Parses the text of one Metro file. Never throws. */
export function parseMetro(text: string): MetroFile {
  const lines = splitLines(text);
  const state: State = { section: "", condition: null, lax: null, fatal: null, diagnostics: [] };
  const statements: Statement[] = [];
  classifiedLines.clear();
  const lexed = fileLexer().tokenize(text);
  const parser = groupParser();
  parser.input = lexed.tokens;
  const groups = parser.file();
  let cursor = 0;
  /** Index of the line starting at offset; groups come in order, so a forward scan finds it. */
  const lineAt = { get(offset: number): number | undefined {
    while (cursor < lines.length && lines[cursor].offset < offset) cursor++;
    return cursor;
  } };
  // Lines the grouping did not cover (empty lines are only Newline tokens) become blank statements.
  let next = 0;
  const blanksUntil = (index: number) => {
    for (; next < index; next++) statements.push({ kind: "blank", range: linesRange([lines[next]]), lines: [lines[next]], comment: null });
  };
  for (const g of groups) {
    if (g.kind === "line") {
      const i = lineAt.get(g.token.startOffset)!;
      blanksUntil(i);
      statements.push(lineStatement(lines[i], state));
      next = i + 1;
    } else {
      const s = lineAt.get(g.start.startOffset)!;
      blanksUntil(s);
      const e = g.end ? lineAt.get(g.end.startOffset)! : lines.length;
      statements.push(multiElement(lines[s], lines.slice(s + 1, e), g.end ? lines[e] : null, state));
      next = g.end ? e + 1 : lines.length;
    }
  }
  blanksUntil(lines.length);
  classifiedLines.clear();
  fileLevelDiagnostics(text, lines, state.diagnostics);
  return { kind: "file", text, statements, diagnostics: state.diagnostics, fatal: state.fatal, laxAtEnd: state.lax };
}

function fileLevelDiagnostics(text: string, lines: SourceLine[], out: Diagnostic[]): void {
  if (lines.length === 0) return;
  if (text.charCodeAt(0) === 0xfeff) {
    out.push(diag(rangeIn(lines[0], 0, 1), "warning", "metro/byte-order-mark", "the file starts with a byte-order mark, which metro reads as part of the first word"));
  }
  const crlf = lines.find((l) => l.eol === "\r\n" || l.eol === "\r");
  if (crlf) {
    out.push(diag(rangeIn(crlf, crlf.text.length, crlf.text.length), "warning", "metro/line-endings", `the file uses ${crlf.eol === "\r\n" ? "CRLF" : "CR"} line endings; metro reads them, but Metro trees use LF`));
  }
  const last = lines[lines.length - 1];
  if (last.eol === "") {
    out.push(
      diag(rangeIn(last, last.text.length, last.text.length), "warning", "metro/no-final-newline", "no newline at the end of the file: metro drops the last character of this line (metro-engine reads it whole); add a newline"),
    );
  }
}

/** Text decoded from bytes as UTF-8; `invalid` when they are not valid UTF-8 (replacement characters stand in). */
export interface DecodedText {
  text: string;
  invalid: boolean;
}

/** Decodes bytes as UTF-8 the way `parseMetroBytes` reads them. */
export function decodeMetroBytes(bytes: Uint8Array): DecodedText {
  const text = decodeUtf8(bytes);
  return text !== null ? { text, invalid: false } : { text: decodeUtf8Lenient(bytes), invalid: true };
}

/** Parses decoded text; invalid UTF-8 is reported (metro cannot read such a file). Parsing the same input twice gives equal trees. */
export function parseMetroDecoded(decoded: DecodedText): MetroFile {
  const { text, invalid } = decoded;
  const file = parseMetro(text);
  if (invalid) {
    const at = text.indexOf("\ufffd");
    const lines = splitLines(text);
    let line = lines[0];
    for (const l of lines) if (l.offset <= at) line = l;
    const col = Math.max(0, at - line.offset);
    const d = diag(rangeIn(line, col, col + 1), "error", "metro/invalid-utf8", "the file is not valid UTF-8: metro cannot read it");
    file.diagnostics.unshift(d);
    file.fatal = d;
  }
  return file;
}

/** Decodes bytes as UTF-8 and parses them; invalid UTF-8 is reported (metro cannot read such a file). */
export function parseMetroBytes(bytes: Uint8Array): MetroFile {
  return parseMetroDecoded(decodeMetroBytes(bytes));
}
