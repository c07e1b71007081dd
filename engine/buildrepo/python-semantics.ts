// The few Python behaviours buildrepo's answers depend on, reproduced
// exactly: int() of a text, str.strip(), text-mode reading, slices with
// negative bounds, strptime("%Y-%m-%d"), strftime, timedelta comparisons,
// os.path.join, sorting by code point, and json.loads with its key order.

import { describeError } from "../system-errors";
import { decodeUtf8 } from "../../language/text";

/** buildrepo stopped with a Python exception: what it printed stays printed, the exit status is 1. */
export class BuildrepoCrash extends Error {
  constructor(
    /** The Python exception buildrepo raises here (IndexError, OverflowError, ...). */
    readonly pythonType: string,
    message: string,
    /** The file or directory involved, when there is one. */
    readonly path?: string,
  ) {
    super(message);
  }
}

const PYTHON_OS_ERRORS: Record<string, string> = {
  ENOENT: "FileNotFoundError",
  EISDIR: "IsADirectoryError",
  ENOTDIR: "NotADirectoryError",
  EACCES: "PermissionError",
  EPERM: "PermissionError",
  EEXIST: "FileExistsError",
};

/** A failed file operation where buildrepo's Python raises an OSError: the exception it raises, the reason in words. */
export function osCrash(e: unknown, path: string): BuildrepoCrash {
  const code = (e as NodeJS.ErrnoException).code ?? "";
  return new BuildrepoCrash(PYTHON_OS_ERRORS[code] ?? "OSError", describeError(e), path);
}

/** Characters str.isspace() accepts (what strip() and int() skip). */
const PY_SPACE = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000";
const PY_SPACE_SET = new Set(PY_SPACE);

export function isPySpace(ch: string): boolean {
  return PY_SPACE_SET.has(ch);
}

/** str.strip() with no argument. */
export function pyStrip(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && PY_SPACE_SET.has(s[a])) a++;
  while (b > a && PY_SPACE_SET.has(s[b - 1])) b--;
  return s.slice(a, b);
}

const DECIMAL = /^\p{Nd}$/u;

/** The value of a Unicode decimal digit (every Nd run is a whole number of 0..9 sequences). */
export function decimalValue(ch: string): number {
  const cp = ch.codePointAt(0)!;
  if (cp >= 0x30 && cp <= 0x39) return cp - 0x30;
  let start = cp;
  while (start > 0 && DECIMAL.test(String.fromCodePoint(start - 1))) start--;
  return (cp - start) % 10;
}

/** CPython's limit on the digits of a decimal int() (sys.get_int_max_str_digits()). */
const MAX_STR_DIGITS = 4300;

/** Python's int(text) in base 10: the value, or null where Python raises ValueError. */
export function pyInt(text: string): bigint | null {
  const chars = Array.from(pyStrip(text));
  let i = 0;
  let negative = false;
  if (chars[i] === "+" || chars[i] === "-") negative = chars[i++] === "-";
  let digits = "";
  let lastWasDigit = false;
  for (; i < chars.length; i++) {
    const c = chars[i];
    if (c === "_") {
      if (!lastWasDigit) return null;
      lastWasDigit = false;
      continue;
    }
    if (!DECIMAL.test(c)) return null;
    digits += String(decimalValue(c));
    lastWasDigit = true;
  }
  if (!digits || !lastWasDigit || digits.length > MAX_STR_DIGITS) return null;
  const v = BigInt(digits);
  return negative ? -v : v;
}

/** Bytes read in Python's text mode (UTF-8, universal newlines); null where Python raises UnicodeDecodeError. */
export function decodeText(bytes: Uint8Array): string | null {
  const text = decodeUtf8(bytes);
  return text === null ? null : text.replace(/\r\n?/g, "\n");
}

/** Python's seq[start:stop] for a list (missing bounds as undefined; negative bounds count from the end). */
export function pySlice<T>(list: readonly T[], start?: number, stop?: number): T[] {
  const n = list.length;
  const clamp = (v: number | undefined, dflt: number): number => {
    if (v === undefined) return dflt;
    if (v < 0) return Math.max(0, n + v);
    return Math.min(n, v);
  };
  const a = clamp(start, 0);
  const b = clamp(stop, n);
  return a < b ? list.slice(a, b) : [];
}

/** Python's ordering of str values: by code point (JavaScript's default compares UTF-16 units). */
export function compareCodePoints(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(i)!;
    if (x !== y) return x - y;
    if (x > 0xffff) i++;
  }
  return a.length - b.length;
}

export function sortedNames(names: Iterable<string>): string[] {
  return [...names].sort(compareCodePoints);
}

/** os.path.join for POSIX. */
export function pyJoin(first: string, ...rest: string[]): string {
  let path = first;
  for (const part of rest) {
    if (part.startsWith("/")) path = part;
    else if (path === "" || path.endsWith("/")) path += part;
    else path += "/" + part;
  }
  return path;
}

/** os.path.dirname for POSIX. */
export function pyDirname(path: string): string {
  const i = path.lastIndexOf("/") + 1;
  let head = path.slice(0, i);
  if (head && head !== "/".repeat(head.length)) head = head.replace(/\/+$/, "");
  return head;
}

// ---------------------------------------------------------------------------
// Naive datetimes, as milliseconds since 0001-01-01 would be; stored as the
// proleptic-Gregorian UTC epoch milliseconds JavaScript computes.

export interface NaiveDateTime {
  /** Milliseconds since 1970-01-01 00:00:00 of the proleptic Gregorian calendar. */
  ms: number;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
}

/** datetime(year, month, day, h, m, s), or null where Python raises ValueError. */
export function makeDateTime(year: number, month: number, day: number, h = 0, m = 0, s = 0): NaiveDateTime | null {
  if (year < 1 || year > 9999 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  if (h < 0 || h > 23 || m < 0 || m > 59 || s < 0 || s > 59) return null;
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(h, m, s, 0);
  return { ms: d.getTime() };
}

const D = "(\\p{Nd})";
// _strptime's regular expressions for %Y, %m and %d, matched against the whole name.
const STRPTIME_YMD = new RegExp(`^(${D}${D}${D}${D})-(1[0-2]|0[1-9]|[1-9])-(3[01]|[12]\\p{Nd}|0[1-9]|[1-9]| [1-9])$`, "u");

function digitsValue(s: string): number {
  let v = 0;
  for (const c of s.trim()) v = v * 10 + decimalValue(c);
  return v;
}

/** datetime.strptime(name, "%Y-%m-%d"), or null where Python raises ValueError. */
export function strptimeYmd(name: string): NaiveDateTime | null {
  const m = STRPTIME_YMD.exec(name);
  if (!m) return null;
  return makeDateTime(digitsValue(m[1]), digitsValue(m[6]), digitsValue(m[7]));
}

function parts(t: NaiveDateTime): { y: number; mo: number; d: number; h: number; mi: number; s: number } {
  const d = new Date(t.ms);
  return { y: d.getUTCFullYear(), mo: d.getUTCMonth() + 1, d: d.getUTCDate(), h: d.getUTCHours(), mi: d.getUTCMinutes(), s: d.getUTCSeconds() };
}

const two = (n: number) => String(n).padStart(2, "0");

/** strftime("%Y-%m-%d") as glibc does it (the year is not zero-padded). */
export function formatYmd(t: NaiveDateTime): string {
  const p = parts(t);
  return `${p.y}-${two(p.mo)}-${two(p.d)}`;
}

/** str(datetime) for a whole second: "YYYY-MM-DD HH:MM:SS". */
export function formatDateTime(t: NaiveDateTime): string {
  const p = parts(t);
  return `${String(p.y).padStart(4, "0")}-${two(p.mo)}-${two(p.d)} ${two(p.h)}:${two(p.mi)}:${two(p.s)}`;
}

/** "YYYY-MM-DD" or "YYYY-MM-DD HH:MM:SS" (or with a T), as --today takes it; null when malformed. */
export function parseMoment(text: string): NaiveDateTime | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2}):(\d{2}))?$/.exec(text.trim());
  if (!m) return null;
  return makeDateTime(+m[1], +m[2], +m[3], m[4] ? +m[4] : 0, m[5] ? +m[5] : 0, m[6] ? +m[6] : 0);
}

/** datetime.now(): the local wall clock as a naive datetime. */
export function localNow(): NaiveDateTime {
  const d = new Date();
  return makeDateTime(d.getFullYear(), d.getMonth() + 1, d.getDate(), d.getHours(), d.getMinutes(), d.getSeconds())!;
}

/** timedelta(days=n) in microseconds; OverflowError beyond Python's range. */
function daysToMicros(days: number): bigint {
  if (!Number.isFinite(days) || Math.abs(days) > 999999999) throw new BuildrepoCrash("OverflowError", `timedelta(days=${days}) is out of range`);
  if (Number.isInteger(days)) return BigInt(days) * 86400000000n;
  return BigInt(Math.round(days * 86400e6));
}

/** Sign of (a - b) compared with timedelta(days=days): -1, 0 or 1. */
export function compareAge(now: NaiveDateTime, then: NaiveDateTime, days: number): number {
  const age = BigInt(now.ms - then.ms) * 1000n;
  const limit = daysToMicros(days);
  return age < limit ? -1 : age > limit ? 1 : 0;
}

// ---------------------------------------------------------------------------
// json.loads, keeping what JavaScript's JSON.parse loses: the key order of
// objects (integer-like keys included) and Python's extra literals.

export type PyJson =
  | { kind: "object"; entries: [string, PyJson][] }
  | { kind: "array"; items: PyJson[] }
  | { kind: "string"; value: string }
  | { kind: "number"; text: string }
  | { kind: "literal"; value: "true" | "false" | "null" | "NaN" | "Infinity" | "-Infinity" };

export class PyJsonError extends Error {}

/** json.loads(text); throws PyJsonError where Python raises JSONDecodeError. */
export function parsePyJson(text: string): PyJson {
  let i = 0;
  const fail = (what: string): never => {
    throw new PyJsonError(`${what} at char ${i}`);
  };
  if (text.startsWith("\ufeff")) fail("Unexpected UTF-8 BOM (decode using utf-8-sig)");
  const ws = () => {
    while (i < text.length && " \t\n\r".includes(text[i])) i++;
  };
  const value = (): PyJson => {
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      const entries: [string, PyJson][] = [];
      const index = new Map<string, number>();
      ws();
      if (text[i] === "}") {
        i++;
        return { kind: "object", entries };
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail("Expecting property name enclosed in double quotes");
        const key = string();
        ws();
        if (text[i] !== ":") fail("Expecting ':' delimiter");
        i++;
        const v = value();
        const at = index.get(key);
        if (at === undefined) {
          index.set(key, entries.length);
          entries.push([key, v]);
        } else entries[at] = [key, v];
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "}") {
          i++;
          return { kind: "object", entries };
        }
        fail("Expecting ',' delimiter");
      }
    }
    if (c === "[") {
      i++;
      const items: PyJson[] = [];
      ws();
      if (text[i] === "]") {
        i++;
        return { kind: "array", items };
      }
      for (;;) {
        items.push(value());
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "]") {
          i++;
          return { kind: "array", items };
        }
        fail("Expecting ',' delimiter");
      }
    }
    if (c === '"') return { kind: "string", value: string() };
    for (const lit of ["true", "false", "null", "NaN", "Infinity", "-Infinity"] as const) {
      if (text.startsWith(lit, i)) {
        i += lit.length;
        return { kind: "literal", value: lit };
      }
    }
    const m = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?/.exec(text.slice(i, i + 4096));
    if (m) {
      i += m[0].length;
      return { kind: "number", text: m[0] };
    }
    return fail("Expecting value");
  };
  const string = (): string => {
    i++;
    let out = "";
    for (;;) {
      if (i >= text.length) fail("Unterminated string starting");
      const c = text[i];
      if (c === '"') {
        i++;
        return out;
      }
      if (c < " ") fail("Invalid control character");
      if (c !== "\\") {
        out += c;
        i++;
        continue;
      }
      const e = text[i + 1];
      const simple: Record<string, string> = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };
      if (e in simple) {
        out += simple[e];
        i += 2;
        continue;
      }
      if (e !== "u" || !/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) fail("Invalid \\escape");
      out += String.fromCharCode(parseInt(text.slice(i + 2, i + 6), 16));
      i += 6;
    }
  };
  const v = value();
  ws();
  if (i !== text.length) fail("Extra data");
  return v;
}
