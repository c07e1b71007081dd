// The definitions of one context, organised the way metro's parser keeps
// them: unconditional values, conditional values by condition text, the
// section recorded for each name and its lax mark.

import type { MultiLineElement, SingleLineElement } from "../language";

export type RawValue = string | string[];

export interface Definition {
  name: string;
  value: RawValue;
  /** The file it was read from; null for values set by setup (`path/config`, command-line values). */
  file: string | null;
  statement: SingleLineElement | MultiLineElement | null;
  condition: string | null;
  /** "file", "command-line" or "setup". */
  origin: "file" | "command-line" | "setup";
  /** The value scanned for references, once (see expand.ts); shared by every context that reads the same statement. */
  prepared?: object;
}

export class Store {
  readonly raw = new Map<string, Definition>();
  readonly conditionals = new Map<string, Map<string, Definition>>();
  readonly sectionFor = new Map<string, string>();
  readonly laxVars = new Map<string, boolean>();
  /** Every definition read, including conditional ones and those a command-line value replaced. */
  readonly all = new Map<string, Definition[]>();
  /** Bumped on every change, so that caches of expansions know when they are stale. */
  version = 0;

  record(def: Definition): void {
    const list = this.all.get(def.name);
    if (list) list.push(def);
    else this.all.set(def.name, [def]);
  }

  setRaw(def: Definition): void {
    this.raw.set(def.name, def);
    this.record(def);
    this.version++;
  }

  setConditional(def: Definition & { condition: string }): void {
    let byCond = this.conditionals.get(def.name);
    if (!byCond) this.conditionals.set(def.name, (byCond = new Map()));
    byCond.set(def.condition, def);
    this.record(def);
    this.version++;
  }
}
