// `metro-contexts.json`: the builds a tree is checked for, read the same way
// by the command line and the language server. A list of
// `{"name"?, "config", "args"?}` (or `{"contexts": [...]}`), `config`
// relative to the file (a leading `~/` is the home folder).

import { homedir } from "node:os";
import { dirname, isAbsolute, resolve } from "node:path";
import { readRegularText } from "../engine/files";
import { quote } from "../language";

export const CONTEXTS_FILE = "metro-contexts.json";

/** A contexts file larger than this is refused (a real one is a few kilobytes). */
const MAX_CONTEXTS_FILE_BYTES = 4 * 1024 * 1024;

export interface ContextConfig {
  /** The name users pick it by; unique within a tree. */
  name: string;
  /** Absolute path of the entry file. */
  config: string;
  /** Metro's command-line values; no prototype, so any name is a key. */
  args: Record<string, string>;
}

export interface ContextEntries {
  contexts: ContextConfig[];
  /** One sentence per entry that was left out, or per problem of the whole file. */
  problems: string[];
  /** Where the file stops being JSON (1-based line and column), when that is its problem. */
  at?: { line: number; column: number };
}

/** The offset JSON.parse names in a complaint, if any. */
function positionIn(message: string): number | undefined {
  const m = / at position (\d+)/.exec(message);
  return m ? Number(m[1]) : undefined;
}

/**
 * Where JSON.parse stops on `text` when its complaint names no offset
 * ("Unexpected token 'x', ... is not valid JSON"): the end of the shortest
 * start of the text that already fails for a reason other than ending early.
 */
function failingOffset(text: string): number {
  const fails = (length: number): boolean => {
    try {
      JSON.parse(text.slice(0, length));
      return false;
    } catch (e) {
      const message = (e as Error).message;
      if (message.startsWith("Unexpected end of JSON input")) return false;
      const at = positionIn(message);
      return at === undefined || at < length;
    }
  };
  let low = 1;
  let high = text.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (fails(mid)) high = mid;
    else low = mid + 1;
  }
  return Math.max(0, low - 1);
}

/** JSON.parse's complaint as a sentence without its offset, and where it is, as line and column (1-based). */
export function jsonSyntaxProblem(text: string, error: Error): { problem: string; at: { line: number; column: number } } {
  const message = error.message;
  const offset = positionIn(message) ?? (message.startsWith("Unexpected end of JSON input") ? text.length : failingOffset(text));
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  const column = offset - (before.lastIndexOf("\n") + 1) + 1;
  const reason = message
    .replace(/ (in|after) JSON at position \d+.*$/, (_m, where: string) => (where === "after" ? " after JSON" : ""))
    .replace(/^Unexpected end of JSON input$/, "the text ends too early")
    .replace(/\s*\n\s*/g, " ");
  return { problem: `not valid JSON: ${reason}`, at: { line, column } };
}

/** The short name users read: "stage3 / 1.4-release-std / amd64-jaguar". */
export function contextLabel(args: Record<string, string>, config: string): string {
  const parts = [args["target"], args["target/build"], args["target/subarch"]].filter((x): x is string => !!x);
  if (args["multi"] === "yes") parts.push("multi" + (args["multi/mode"] ? " " + args["multi/mode"] : ""));
  if (parts.length) return parts.join(" / ");
  const pairs = Object.keys(args).map((k) => `${k}: ${args[k]}`);
  return pairs.length ? pairs.join(" ") : config;
}

/** Entries as written in the file or a setting; `base` is where relative configs start. */
export function parseContextEntries(data: unknown, base: string): ContextEntries {
  const problems: string[] = [];
  const list = Array.isArray(data) ? data : data && typeof data === "object" && Array.isArray((data as { contexts?: unknown }).contexts) ? (data as { contexts: unknown[] }).contexts : null;
  if (!list) return { contexts: [], problems: ['expected a JSON list of {"name", "config", "args"} (or {"contexts": [...]})'] };
  const contexts: ContextConfig[] = [];
  const names = new Set<string>();
  list.forEach((entry: unknown, i: number) => {
    const where = `entry ${i + 1}`;
    if (!entry || typeof entry !== "object" || Array.isArray(entry)) return problems.push(`${where} is not an object`);
    const e = entry as { name?: unknown; config?: unknown; args?: unknown };
    if (typeof e.config !== "string" || e.config === "") return problems.push(`${where} has no "config" path`);
    if (e.args !== undefined && (e.args === null || typeof e.args !== "object" || Array.isArray(e.args))) {
      return problems.push(`${where}: "args" must be an object mapping names to strings, as {"target": "stage3"}`);
    }
    const args: Record<string, string> = Object.create(null);
    for (const [k, v] of Object.entries((e.args ?? {}) as Record<string, unknown>)) {
      if (typeof v !== "string") return problems.push(`${where}: the value of ${quote(k, '"')} must be a string`);
      args[k] = v;
    }
    const config = isAbsolute(e.config) ? e.config : resolve(base, e.config.replace(/^~(?=\/)/, homedir()));
    const label = typeof e.name === "string" && e.name ? e.name : contextLabel(args, e.config);
    let name = label;
    for (let n = 2; names.has(name); n++) name = `${label} (${n})`;
    names.add(name);
    contexts.push({ name, config, args });
  });
  return { contexts, problems };
}

/** Reads a contexts file: a regular file only (never a FIFO or a device), of a sane size. */
export function readContextsFile(file: string): ContextEntries {
  let text: string;
  try {
    text = readRegularText(file, MAX_CONTEXTS_FILE_BYTES);
  } catch (e) {
    return { contexts: [], problems: [(e as Error).message] };
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    const { problem, at } = jsonSyntaxProblem(text, e as Error);
    return { contexts: [], problems: [problem], at };
  }
  return parseContextEntries(data, dirname(resolve(file)));
}
