// The parameters of every request, checked in one place before a handler
// runs: their shape (types, integers of 0 or more, a range's end not before
// its start), the document they name (open, or a Metro file of an open tree)
// and positions against that document. What does not hold is the JSON-RPC
// error "invalid params" (-32602) with a sentence naming the field; handlers
// see only well-formed parameters.
//
// Positions follow LSP 3.17 (Position): a character past the end of its line
// is taken as the line's end. A line past the last line is refused, except
// the line just after it, which is the end of the document (Neovim asks for
// inlay hints up to the line after the last one of a file without a final
// newline).

import * as lsp from "vscode-languageserver";
import type { TextDocument } from "vscode-languageserver-textdocument";
import { URI } from "vscode-uri";
import { quote, quoteJson } from "../language";
import type { FileIndex } from "../analysis/workspace-index";
import type { Session } from "./session";

export function invalidParams(message: string): never {
  throw new lsp.ResponseError(lsp.ErrorCodes.InvalidParams, message);
}

/** Checks a value found at `at` (a field path such as `position.line`) and returns it typed. */
export type Check<T> = (value: unknown, at: string) => T;

/** A wrong value in words: `-1`, `"3" (a string)`, `an object`, `missing`. */
function shown(v: unknown): string {
  if (v === undefined) return "missing";
  if (v === null) return "null";
  if (typeof v === "string") return `${quoteJson(v)} (a string)`;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (Array.isArray(v)) return "an array";
  return typeof v === "object" ? "an object" : `a ${typeof v}`;
}

const field = (at: string) => (at ? `"${at}"` : "the parameters");
const wrong = (at: string, expected: string, v: unknown): never => invalidParams(`${field(at)} must be ${expected}, not ${shown(v)}`);

export const str: Check<string> = (v, at) => (typeof v === "string" ? v : wrong(at, "a string", v));
export const bool: Check<boolean> = (v, at) => (typeof v === "boolean" ? v : wrong(at, "true or false", v));
/** A whole number of 0 or more (LSP's uinteger, without its upper bound: a larger character is clamped like any past the line's end). */
export const uint: Check<number> = (v, at) => (typeof v === "number" && Number.isInteger(v) && v >= 0 ? v : wrong(at, "a whole number of 0 or more", v));
export const anything: Check<unknown> = (v) => v;

/** Absent (undefined or null, as many clients send for an optional field) or checked. */
export const optional =
  <T>(check: Check<T>): Check<T | undefined> =>
  (v, at) =>
    v === undefined || v === null ? undefined : check(v, at);

export const oneOf =
  <A, B>(a: Check<A>, b: Check<B>, expected: string): Check<A | B> =>
  (v, at) => {
    try {
      return a(v, at);
    } catch {
      try {
        return b(v, at);
      } catch {
        return wrong(at, expected, v);
      }
    }
  };

type Shape = Record<string, Check<unknown>>;
type Of<S extends Shape> = { [K in keyof S]: ReturnType<S[K]> };

/** An object with these fields checked (other fields are kept as sent and not looked at). */
export const obj =
  <S extends Shape>(shape: S): Check<Of<S>> =>
  (v, at) => {
    if (typeof v !== "object" || v === null || Array.isArray(v)) return wrong(at, "an object", v);
    const out: Record<string, unknown> = { ...(v as Record<string, unknown>) };
    for (const [k, check] of Object.entries(shape)) {
      const x = check((v as Record<string, unknown>)[k], at ? `${at}.${k}` : k);
      if (x === undefined) delete out[k];
      else out[k] = x;
    }
    return out as Of<S>;
  };

export const arr =
  <T>(check: Check<T>): Check<T[]> =>
  (v, at) =>
    Array.isArray(v) ? v.map((x, i) => check(x, `${at}[${i}]`)) : wrong(at, "an array", v);

/** A URI with a scheme (`file:///...`, `untitled:...`). */
export const uri: Check<string> = (v, at) => {
  const s = str(v, at);
  try {
    URI.parse(s, true);
  } catch {
    invalidParams(`${field(at)} must be a URI such as file:///path/to/file, not ${quoteJson(s)}`);
  }
  return s;
};

export const position = obj({ line: uint, character: uint });

const before = (a: lsp.Position, b: lsp.Position) => a.line < b.line || (a.line === b.line && a.character < b.character);
const place = (p: lsp.Position) => `line ${p.line}, character ${p.character}`;

export const range: Check<lsp.Range> = (v, at) => {
  const r = obj({ start: position, end: position })(v, at);
  if (before(r.end, r.start)) invalidParams(`${field(at)} ends (${place(r.end)}) before it starts (${place(r.start)})`);
  return r;
};

export const textDocument = obj({ uri });

const triggerKind: Check<lsp.CompletionTriggerKind> = (v, at) => (v === 1 || v === 2 || v === 3 ? v : wrong(at, "1, 2 or 3 (invoked, trigger character, incomplete)", v));
const diagnostic = obj({ range, message: str, code: optional(oneOf(str, uint, "a string or a number")), severity: optional(uint) });
const formattingOptions = obj({ tabSize: uint, insertSpaces: bool });

const markupKinds = optional(arr(str));
/** A document version: LSP's integer (negative ones included). */
const version: Check<number> = (v, at) => (typeof v === "number" && Number.isInteger(v) ? v : wrong(at, "an integer", v));

/** The parameters of each request the server answers. */
export const Params = {
  /** What the server reads of `initialize` (the rest is the library's, or ignored). */
  initialize: obj({
    processId: optional((v, at) => (typeof v === "number" && Number.isInteger(v) ? v : wrong(at, "an integer or null", v))),
    rootUri: optional(uri),
    rootPath: optional(str),
    workspaceFolders: optional(arr(obj({ uri, name: str }))),
    capabilities: obj({
      workspace: optional(obj({})),
      window: optional(obj({})),
      textDocument: optional(obj({ hover: optional(obj({ contentFormat: markupKinds })), completion: optional(obj({ completionItem: optional(obj({ documentationFormat: markupKinds })) })) })),
    }),
  }),
  textDocument: obj({ textDocument }),
  position: obj({ textDocument, position }),
  references: obj({ textDocument, position, context: obj({ includeDeclaration: bool }) }),
  rename: obj({ textDocument, position, newName: str }),
  completion: obj({ textDocument, position, context: optional(obj({ triggerKind, triggerCharacter: optional(str) })) }),
  range: obj({ textDocument, range }),
  codeAction: obj({ textDocument, range, context: obj({ diagnostics: arr(diagnostic), only: optional(arr(str)) }) }),
  formatting: obj({ textDocument, options: formattingOptions }),
  rangeFormatting: obj({ textDocument, range, options: formattingOptions }),
  completionItem: obj({ label: str, data: optional(obj({ tree: optional(str), name: optional(str) })) }),
  workspaceSymbol: obj({ query: str }),
  executeCommand: obj({ command: str, arguments: optional(arr(anything)) }),
  /** metro/contexts, metro/contextCandidates and the commands' argument: a tree by its root, or by a file in it. */
  tree: optional(obj({ tree: optional(str), uri: optional(uri) })),
  setActiveContext: obj({ tree: optional(str), uri: optional(uri), name: str }),
  expandedValue: obj({ tree: optional(str), uri: optional(uri), name: optional(str), position: optional(position) }),
  graph: obj({ tree: optional(str), uri: optional(uri), key: optional(str), position: optional(position) }),
  memory: optional(obj({ gc: optional(bool) })),
  /** The document notifications: one malformed would otherwise corrupt the document's text or stop the server. */
  didOpen: obj({ textDocument: obj({ uri, languageId: str, version, text: str }) }),
  didChange: obj({ textDocument: obj({ uri, version }), contentChanges: arr(obj({ range: optional(range), text: str })) }),
  didClose: obj({ textDocument }),
  didSave: obj({ textDocument, text: optional(str) }),
  willSave: obj({ textDocument, reason: uint }),
};

/** Why the parameters of a notification are malformed (the sentence of its "invalid params"), or null. */
export function notificationProblem<T>(check: Check<T>, params: unknown): string | null {
  try {
    check(params, "");
    return null;
  } catch (e) {
    if (e instanceof lsp.ResponseError) return e.message;
    throw e;
  }
}

/** The lines of a document, to check and clamp positions. */
interface Lines {
  count: number;
  /** The length of a line, without its line break. */
  length(line: number): number;
}

function documentLines(doc: TextDocument): Lines {
  return {
    count: doc.lineCount,
    length: (line) => doc.offsetAt({ line, character: Number.MAX_SAFE_INTEGER }) - doc.offsetAt({ line, character: 0 }),
  };
}

const starts = new WeakMap<object, number[]>();
/** The lines of an indexed file that is not open (its text as the index read it), split as LSP splits: \n, \r\n, \r. */
function fileLines(file: FileIndex): Lines {
  const text = file.ast.text;
  let s = starts.get(file.ast);
  if (!s) {
    s = [0];
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 13 && text.charCodeAt(i + 1) === 10) i++;
      if (c === 10 || c === 13) s.push(i + 1);
    }
    starts.set(file.ast, s);
  }
  const at = s;
  return {
    count: at.length,
    length: (line) => {
      const end = line + 1 < at.length ? at[line + 1] : text.length;
      let e = end;
      while (e > at[line] && (text.charCodeAt(e - 1) === 10 || text.charCodeAt(e - 1) === 13)) e--;
      return e - at[line];
    },
  };
}

/** The lines of the document at `uri` (open, or a Metro file of an open tree), or null when the server does not know it. */
export function linesOf(session: Session, uri: string): Lines | null {
  const doc = session.documents.get(uri);
  if (doc) return documentLines(doc);
  const at = session.locate(uri);
  return at ? fileLines(at.file) : null;
}

/** The position in the document: a character past its line's end is that end; a line past the last one is refused. */
export function clampPosition(lines: Lines, p: lsp.Position, at: string): lsp.Position {
  if (p.line > lines.count) {
    invalidParams(`${field(at)} is on line ${p.line}, past the end of the document (lines 0 to ${lines.count - 1})`);
  }
  if (p.line === lines.count) return { line: lines.count - 1, character: lines.length(lines.count - 1) };
  return { line: p.line, character: Math.min(p.character, lines.length(p.line)) };
}

/** Requires the document at `uri` to be known to the server, and returns its lines. */
export function knownDocument(session: Session, uri: string): Lines {
  const lines = linesOf(session, uri);
  if (!lines) invalidParams(`unknown document ${quote(uri, '"')}: it is not open, and no Metro tree the server has open holds it`);
  return lines;
}

/**
 * Parameters about a document: checked by `check`, the document known, and
 * `position`, `range` clamped to it. Returns a copy; what the client sent is
 * not changed.
 */
export function documentParams<P extends { textDocument: { uri: string }; position?: lsp.Position; range?: lsp.Range }>(session: Session, check: Check<P>, raw: unknown): P {
  const params = check(raw, "");
  const lines = knownDocument(session, params.textDocument.uri);
  return clampIn(lines, params);
}

/** `position` and `range` of `params` clamped to the document's lines. */
export function clampIn<P extends { position?: lsp.Position; range?: lsp.Range }>(lines: Lines, params: P): P {
  const out = { ...params };
  if (params.position) out.position = clampPosition(lines, params.position, "position");
  if (params.range) out.range = { start: clampPosition(lines, params.range.start, "range.start"), end: clampPosition(lines, params.range.end, "range.end") };
  return out;
}
