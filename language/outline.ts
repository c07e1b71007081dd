// The definitions and collects of a file, read without building its syntax
// tree: what an evaluation needs of a file that metro reads to the end. It
// reads lines with the same rules as the parser (classify.ts) and hands each
// definition and collect to the caller with the index of the statement
// `parseMetro` makes for it, so that the statement can be found again in the
// tree. A file with a line metro stops on (a bad annotation, an unterminated
// block) is not outlined: the caller parses it, and the parser says where and
// why. `tests/outline.test.ts` checks both readings agree.

import { classifyLine, isBlockEnd } from "./classify";
import { pySplitWords } from "./text";

export interface OutlineSink {
  /**
   * A single-line (`value` a string) or multi-line (`value` its raw lines)
   * definition: its qualified name, the condition and `[option parse/...]`
   * mode in force (null when none), and the section it records, if any.
   */
  definition(name: string, value: string | string[], condition: string | null, recordedSection: string | null, lax: boolean | null, statement: number): void;
  /** A `[collect PATH]`, with its own condition or the surrounding `[when]`. */
  collect(path: string, condition: string | null, statement: number): void;
}

/**
 * Reads the definitions and collects of `text` into `sink`, in order.
 * Returns the `[option parse/...]` mode at the end of the file (null when the
 * file sets none), or undefined when the file has a line metro stops on: the
 * sink has then seen part of the file, and the caller parses it instead.
 */
export function outlineMetro(text: string, sink: OutlineSink): boolean | null | undefined {
  let section = "";
  let condition: string | null = null;
  let lax: boolean | null = null;
  let statement = 0;
  const n = text.length;
  let pos = 0;
  /** The next line from `pos` (without its break), advancing `pos` past the break. */
  const nextLine = (): string => {
    let i = pos;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 10 || c === 13) break;
      i++;
    }
    const line = text.slice(pos, i);
    if (i < n) pos = text.charCodeAt(i) === 13 && text.charCodeAt(i + 1) === 10 ? i + 2 : i + 1;
    else pos = n;
    return line;
  };
  while (pos < n) {
    const line = nextLine();
    const index = statement++;
    if (line.length === 0) continue;
    const c = classifyLine(line);
    switch (c.kind) {
      case "blank":
      case "ignored":
        continue;
      case "element": {
        const words = c.words;
        const first = words[0];
        const raw = first.text.slice(0, -1);
        let qualified = raw;
        let recorded: string | null = null;
        if (raw === "") qualified = section;
        else if (section) {
          qualified = section + "/" + raw;
          recorded = section;
        }
        const from = words.length > 1 ? words[1].start : first.end;
        const to = words.length > 1 ? words[words.length - 1].end : first.end;
        sink.definition(qualified, line.slice(from, to), condition, recorded, lax, index);
        continue;
      }
      case "multi-start": {
        const raw = c.words[0].text.slice(0, -1);
        const body: string[] = [];
        let closed = false;
        while (pos < n) {
          const l = nextLine();
          if (l.length > 0 && isBlockEnd(l)) {
            closed = true;
            break;
          }
          body.push(l);
        }
        // An unterminated block is fatal: the parser reports it.
        if (!closed) return undefined;
        sink.definition(section ? section + "/" + raw : raw, body, condition, section ? section : null, lax, index);
        continue;
      }
      case "annotation": {
        if (c.emptyLastWord) return undefined;
        const start = c.words[0].start + 1;
        const end = c.words[c.words.length - 1].end - 1;
        const w = start <= end ? pySplitWords(line, start, end) : [];
        if (w.length === 0) return undefined;
        switch (w[0].text) {
          case "section": {
            if (w.length < 2) return undefined;
            let cond: string | null = null;
            if (w.length > 2) {
              if (w[2].text !== "when") return undefined;
              cond = joinWords(w, 3);
              if (cond === "*" || cond === "") cond = null;
            }
            section = w[1].text;
            condition = cond;
            continue;
          }
          case "option": {
            if (w.length < 2) return undefined;
            const opt = w[1].text;
            if (opt !== "parse/lax" && opt !== "parse/strict") return undefined;
            lax = opt === "parse/lax";
            continue;
          }
          case "when": {
            let cond: string | null = joinWords(w, 1);
            if (cond === "*" || cond === "") cond = null;
            condition = cond;
            continue;
          }
          case "collect": {
            if (condition) {
              if (w.length !== 2) return undefined;
              sink.collect(w[1].text, condition, index);
              continue;
            }
            if (w.length > 3) {
              if (w[2].text !== "when") return undefined;
              sink.collect(w[1].text, joinWords(w, 3), index);
              continue;
            }
            if (w.length === 2) {
              sink.collect(w[1].text, null, index);
              continue;
            }
            return undefined;
          }
          default:
            return undefined;
        }
      }
    }
  }
  return lax;
}

function joinWords(w: { text: string }[], from: number): string {
  let s = "";
  for (let i = from; i < w.length; i++) s = i === from ? w[i].text : s + " " + w[i].text;
  return s;
}
