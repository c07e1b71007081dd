// The syntax tree of one Metro file. Built by `parseMetro` (parser.ts) from
// text alone: no I/O, no knowledge of other files or of evaluation.
//
// Positions follow the editor convention: `line` and `character` are 0-based,
// `character` counts UTF-16 code units (like JavaScript strings and LSP), and
// `offset` is the index into the file's text.

export interface Position {
  line: number;
  character: number;
  offset: number;
}

export interface Range {
  start: Position;
  end: Position;
}

export type Severity = "error" | "warning" | "information" | "hint";

export interface RelatedLocation {
  uri: string;
  range: Range;
  message: string;
}

export interface Diagnostic {
  range: Range;
  severity: Severity;
  /** Stable identifier such as `metro/unterminated-block`. */
  code: string;
  message: string;
  related?: RelatedLocation[];
}

/** One physical line of the file, exactly as written. */
export interface SourceLine {
  /** The line's text without its line break. */
  text: string;
  /** The line break that ended it: "\n", "\r\n", "\r", or "" for a last line without one. */
  eol: string;
  /** 0-based line number. */
  line: number;
  /** Offset of the line's first character in the file's text. */
  offset: number;
}

// ---------------------------------------------------------------------------
// Values

/** Literal text inside a value. */
export interface TextPart {
  kind: "text";
  text: string;
  range: Range;
}

/**
 * `$[...]`. The fields describe what the reference parser will do with the
 * text between the brackets; `inner` is that text exactly.
 */
export interface ReferencePart {
  kind: "reference";
  /** The whole `$[...]` (or `$[...` up to the end of the value when unterminated). */
  range: Range;
  /** Text between `$[` and `]`. */
  inner: string;
  /** Range of `inner`. */
  innerRange: Range;
  terminated: boolean;
  /** `$[x?]`: expands to `yes` or `no`. */
  boolean: boolean;
  /**
   * absolute: `$[a/b]`; section: `$[]` or `$[:]` (the current section's element);
   * relative: `$[:x]` (SECTION/x).
   */
  form: "absolute" | "section" | "relative";
  /** The name as written, without a leading `:`, the modifier or `?` (empty for the section form). */
  name: string;
  /** Range of `name` in the file (an empty range at the name's position for the section form). */
  nameRange: Range;
  /** `zap` or `lax`; any other text written after the name's colon is kept here too and reported. */
  modifier: string | null;
  /** Range of the modifier (without its colon), or null. */
  modifierRange: Range | null;
}

export type ValuePart = TextPart | ReferencePart;

/** A single-line value, or the text of one line of a multi-line value. */
export interface Value {
  /** The exact text the reference parser stores for it. */
  text: string;
  range: Range;
  parts: ValuePart[];
  /** Set when the value is `<< PATH` (exactly two single-space words): the path's parts. */
  file: { range: Range; pathText: string; pathRange: Range; parts: ValuePart[] } | null;
}

/** A line of a multi-line block. */
export type BlockLine =
  | { kind: "text"; source: SourceLine; value: Value }
  | {
      kind: "multi-reference";
      source: SourceLine;
      /** Text between `$[[` and `]]`, which is expanded first and then names a multi-line element. */
      inner: Value;
      range: Range;
    }
  | {
      kind: "python";
      /** The `<?python` line, the code lines, and the `?>` line when there is one. */
      start: SourceLine;
      code: SourceLine[];
      end: SourceLine | null;
      range: Range;
    };

// ---------------------------------------------------------------------------
// Statements: every line of the file belongs to exactly one.

interface StatementBase {
  range: Range;
  /** The physical lines this statement spans, in order. Printing them gives back the file. */
  lines: SourceLine[];
  /** The trailing `# comment` the reference strips, if any. */
  comment: { text: string; range: Range } | null;
}

/** Annotation-dependent state in force where a definition appears. */
export interface DefinitionScope {
  /** The section in force (`[section NAME]`), or "" for none. */
  section: string;
  /** The condition text in force (`[when ...]`), or null. */
  condition: string | null;
  /**
   * The last `[option parse/...]` of this file before the definition: true for
   * lax, false for strict, null when none came before it (the mode then
   * carries over from the file read before this one; the engine knows which).
   */
  lax: boolean | null;
}

export interface ElementName {
  /** The first word without its trailing colon. */
  text: string;
  range: Range;
  /** Name after applying the section: what the element defines. */
  qualified: string;
  /**
   * The section recorded for the element (the reference's `sectionfor`), or
   * null when this definition records none.
   */
  recordedSection: string | null;
}

export interface SingleLineElement extends StatementBase {
  kind: "single";
  name: ElementName;
  scope: DefinitionScope;
  value: Value;
}

export interface MultiLineElement extends StatementBase {
  kind: "multi";
  name: ElementName;
  scope: DefinitionScope;
  /** The `key: [` line's range of the `[`. */
  openRange: Range;
  body: BlockLine[];
  /** The raw body lines (without the closing line). */
  rawLines: string[];
  /** The closing `]` line, or null when the file ends first. */
  close: SourceLine | null;
}

export interface SectionAnnotation extends StatementBase {
  kind: "section";
  name: string;
  nameRange: Range;
  /** Condition set by `when`, or null when cleared. */
  condition: string | null;
  conditionRange: Range | null;
}

export interface WhenAnnotation extends StatementBase {
  kind: "when";
  condition: string | null;
  conditionRange: Range | null;
}

export interface CollectAnnotation extends StatementBase {
  kind: "collect";
  path: Value;
  /** The condition that governs this collect: its own `when`, or the surrounding `[when]`. */
  condition: string | null;
  conditionRange: Range | null;
  /** Where the condition came from. */
  conditionSource: "own" | "surrounding" | null;
}

export interface OptionAnnotation extends StatementBase {
  kind: "option";
  option: "parse/lax" | "parse/strict";
  optionRange: Range;
}

/** An annotation the reference rejects: reading it is fatal. */
export interface InvalidAnnotation extends StatementBase {
  kind: "invalid-annotation";
  /** The diagnostic that explains it (also in the file's diagnostics). */
  problem: Diagnostic;
}

/** Blank lines and comment-only lines. */
export interface BlankLine extends StatementBase {
  kind: "blank";
}

/** A line the reference silently ignores (`foo bar`, `key:value`). */
export interface IgnoredLine extends StatementBase {
  kind: "ignored";
}

export type Statement =
  | SingleLineElement
  | MultiLineElement
  | SectionAnnotation
  | WhenAnnotation
  | CollectAnnotation
  | OptionAnnotation
  | InvalidAnnotation
  | BlankLine
  | IgnoredLine;

export interface MetroFile {
  kind: "file";
  /** The text parsed (after decoding; a byte-order mark is kept as its character). */
  text: string;
  statements: Statement[];
  diagnostics: Diagnostic[];
  /**
   * The first problem the reference parser stops on when it reads this file
   * (a fatal annotation, a duplicate name inside this file is NOT included:
   * that needs evaluation). Null when the reference reads the whole file.
   */
  fatal: Diagnostic | null;
  /** The `[option parse/...]` mode at the end of the file, or null when the file sets none. */
  laxAtEnd: boolean | null;
}
