// Command-line words: options from each command's table, and metro's
// `KEY: VALUE` pairs. A word ending in a colon starts a pair and the next
// word is its value as it is, even when it looks like an option
// (`portage/MAKEOPTS: -j4`, `k: -h`).

import { excerpt, quote } from "../language";

export class UsageError extends Error {}

export interface OptionSpec {
  /** `--config`; the long name. */
  name: string;
  /** `-c`; a short alias. */
  alias?: string;
  /** Placeholder of the option's value (`FILE`); absent for a flag. */
  value?: string;
  help: string;
}

export interface ParsedArgs {
  options: Map<string, string | true>;
  positional: string[];
  /** The KEY: VALUE pairs; no prototype, so a key such as `__proto__` is a key like any other. */
  pairs: Record<string, string>;
}

export const HELP_OPTION: OptionSpec = { name: "--help", alias: "-h", help: "this text" };

/** Parses `argv` against a command's options; at most `maxPositional` words that are neither options nor pairs. */
export function parseArgs(argv: string[], specs: OptionSpec[], maxPositional: number): ParsedArgs {
  const byWord = new Map<string, OptionSpec>();
  for (const s of [...specs, HELP_OPTION]) {
    byWord.set(s.name, s);
    if (s.alias) byWord.set(s.alias, s);
  }
  const options = new Map<string, string | true>();
  const positional: string[] = [];
  const pairs: Record<string, string> = Object.create(null);
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i];
    if (word.length > 1 && word.endsWith(":")) {
      if (i + 1 >= argv.length) throw new UsageError(`${quote(word, '"')} has no value: arguments pair up as KEY: VALUE, as in "target: stage3"`);
      pairs[word.slice(0, -1)] = argv[++i];
      continue;
    }
    if (word.startsWith("-") && word.length > 1) {
      const eq = word.startsWith("--") ? word.indexOf("=") : -1;
      const name = eq === -1 ? word : word.slice(0, eq);
      const spec = byWord.get(name);
      if (!spec) throw new UsageError(`unknown option ${excerpt(name)}`);
      if (!spec.value) {
        if (eq !== -1) throw new UsageError(`${spec.name} takes no value`);
        options.set(spec.name, true);
        continue;
      }
      const value = eq !== -1 ? word.slice(eq + 1) : argv[++i];
      if (value === undefined || value === "") throw new UsageError(`${spec.name} needs a value (${spec.value})`);
      options.set(spec.name, value);
      continue;
    }
    if (positional.length < maxPositional) {
      positional.push(word);
      continue;
    }
    throw new UsageError(`${quote(word, '"')} is not a key: keys end with a colon, as in "target: stage3"`);
  }
  return { options, positional, pairs };
}

/** The option's value when it was given one. */
export function optionValue(args: ParsedArgs, name: string): string | undefined {
  const v = args.options.get(name);
  return typeof v === "string" ? v : undefined;
}

/** Edit distance counting a swap of two neighbours as one edit (optimal string alignment), for "did you mean". */
export function editDistance(a: string, b: string): number {
  let before: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j], before[j - 2] + 1);
    }
    before = prev;
    prev = row;
  }
  return prev[b.length];
}

/** The closest of `candidates` to `word`, when it is a plausible typo of it. */
export function suggestion(word: string, candidates: Iterable<string>): string | null {
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best !== null && bestDistance <= Math.max(1, Math.floor(best.length / 3)) ? best : null;
}
