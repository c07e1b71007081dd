// The definitions of one context, organised the way metro's parser keeps
// them: unconditional values, conditional values by condition text, the
// section recorded for each name and its lax mark.
//
// Only `raw` and `conditionals` are tables of their own. Every other view
// (`all`, `sectionFor`, `laxVars`) is worked out from the definitions a name
// has, kept in a list only for the few names with more than one: a context of
// a million elements holds no table per view.

import type { MultiLineElement, SingleLineElement } from "../language";
import { FileDefinition } from "./file-model";

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
  /**
   * The expansion of this definition's value in the plain mode, for the one
   * context a workspace serves (expand.ts: it saves a table of every name);
   * valid while `memoStamp` is that context's current stamp.
   */
  memo?: unknown;
  memoStamp?: object;
}

/** Every definition read for a name (conditional ones and those a command-line value replaced included), in order. */
export interface DefinitionLists {
  get(name: string): Definition[] | undefined;
  has(name: string): boolean;
  /** The number of names defined. */
  readonly size: number;
  /** The names, in the order they were first defined. */
  keys(): IterableIterator<string>;
  values(): IterableIterator<Definition[]>;
}

export class Store {
  readonly raw = new Map<string, Definition>();
  readonly conditionals = new Map<string, Map<string, Definition>>();
  /** Every definition of the names that have more than one (or whose unconditional value setup replaced), in order. */
  private readonly several = new Map<string, Definition[]>();
  /** Names in the order they were first defined. */
  private readonly names: string[] = [];
  /** The `[option parse/...]` mode in force when each file was read, for its definitions that come before any option of their own. */
  private readonly laxAtStart = new Map<object, boolean>();
  /** Section and lax marks set by `markName` rather than worked out from the definitions. */
  private readonly sectionSet = new Map<string, string>();
  private readonly laxSet = new Map<string, boolean>();
  /** Whether any file was read in lax mode or any definition is lax: until then no name is lax, and asking costs nothing. */
  private anyLax = false;
  /** Bumped on every change, so that caches of expansions know when they are stale. */
  version = 0;

  /** Every definition read for a name. */
  readonly all: DefinitionLists;
  /** The section recorded for a name (metro's sectionfor): by its last file definition that records one. */
  readonly sectionFor: { get(name: string): string | undefined };
  /** Whether a name is lax (metro's laxvars): the mode in force at its last file definition (undefined or false: not lax). */
  readonly laxVars: { get(name: string): boolean | undefined };

  constructor() {
    const store = this;
    this.all = {
      get: (name) => this.definitionsOf(name),
      has: (name) => this.raw.has(name) || this.conditionals.has(name),
      get size() {
        return store.names.length;
      },
      keys: () => this.names[Symbol.iterator](),
      values: () => this.names.map((n) => this.definitionsOf(n)!)[Symbol.iterator](),
    };
    this.sectionFor = { get: (name) => this.sectionOf(name) };
    this.laxVars = { get: (name) => this.laxOf(name) };
  }

  /**
   * Says which lax mode was in force when `source` (a file's model) started
   * to be read in this context. A file read a second time stops the context
   * at its first definition (a duplicate), so the first reading's mode stays.
   */
  startFile(source: object, lax: boolean): void {
    if (!this.laxAtStart.has(source)) {
      this.laxAtStart.set(source, lax);
      if (lax) this.anyLax = true;
    }
  }

  /**
   * Sets a name's section and lax marks directly, as metro does before it
   * finds that a definition is a duplicate (the context then stops).
   */
  markName(name: string, section: string | null, lax: boolean): void {
    if (section !== null) this.sectionSet.set(name, section);
    this.laxSet.set(name, lax);
    if (lax) this.anyLax = true;
  }

  setRaw(def: Definition): void {
    this.record(def);
    this.raw.set(def.name, def);
    this.version++;
  }

  /**
   * Stores a file's unconditional definition unless the name has one
   * already; returns that one (a duplicate: metro stops) or undefined. One
   * table look-up fewer than `raw.get` then `setRaw`, for each of a
   * million definitions.
   */
  defineRaw(def: Definition): Definition | undefined {
    const name = def.name;
    const existing = this.raw.get(name);
    if (existing !== undefined) return existing;
    this.noteLax(def);
    const list = this.several.size === 0 ? undefined : this.several.get(name);
    if (list) list.push(def);
    else {
      const byCond = this.conditionals.get(name);
      if (byCond !== undefined) this.several.set(name, [...byCond.values(), def]);
      else this.names.push(name);
    }
    this.raw.set(name, def);
    this.version++;
    return undefined;
  }

  setConditional(def: Definition & { condition: string }): void {
    this.record(def);
    let byCond = this.conditionals.get(def.name);
    if (!byCond) this.conditionals.set(def.name, (byCond = new Map()));
    byCond.set(def.condition, def);
    this.version++;
  }

  /** Replaces a name's unconditional value without recording a new definition (setup's `MAKEOPTS: auto`). */
  replaceRaw(def: Definition): void {
    const list = this.definitionsOf(def.name);
    if (list && !this.several.has(def.name)) this.several.set(def.name, list);
    this.raw.set(def.name, def);
    this.version++;
  }

  /** Adds a definition to its name's list; called before the definition is stored. */
  private record(def: Definition): void {
    this.noteLax(def);
    const name = def.name;
    if (this.several.size !== 0) {
      const list = this.several.get(name);
      if (list) {
        list.push(def);
        return;
      }
    }
    // A name without a list has one definition: unconditional, or a single conditional one.
    const raw = this.raw.get(name);
    if (raw !== undefined) {
      this.several.set(name, [raw, def]);
      return;
    }
    const byCond = this.conditionals.get(name);
    if (byCond !== undefined) this.several.set(name, [...byCond.values(), def]);
    else this.names.push(name);
  }

  private noteLax(def: Definition): void {
    if (!this.anyLax && def instanceof FileDefinition && def.lax === true) this.anyLax = true;
  }

  private definitionsOf(name: string): Definition[] | undefined {
    const list = this.several.get(name);
    if (list) return list;
    const raw = this.raw.get(name);
    if (raw) return [raw];
    const byCond = this.conditionals.get(name);
    // A name without a list has exactly one definition.
    if (byCond) return [...byCond.values()];
    return undefined;
  }

  /**
   * The last definition of `name` read from a file (setup and command-line
   * values mark no section and no lax), or with `recordingSection` the last
   * one that records a section.
   */
  private lastFileDefinition(name: string, recordingSection: boolean): FileDefinition | undefined {
    const list = this.several.size === 0 ? undefined : this.several.get(name);
    if (list) {
      for (let i = list.length - 1; i >= 0; i--) {
        const d = list[i];
        if (d instanceof FileDefinition && (!recordingSection || d.recordedSection !== null)) return d;
      }
      return undefined;
    }
    let d: Definition | undefined = this.raw.get(name);
    if (d === undefined) {
      const byCond = this.conditionals.get(name);
      if (byCond) d = byCond.values().next().value;
    }
    return d instanceof FileDefinition && (!recordingSection || d.recordedSection !== null) ? d : undefined;
  }

  private sectionOf(name: string): string | undefined {
    if (this.sectionSet.size !== 0) {
      const s = this.sectionSet.get(name);
      if (s !== undefined) return s;
    }
    return this.lastFileDefinition(name, true)?.recordedSection ?? undefined;
  }

  private laxOf(name: string): boolean | undefined {
    if (!this.anyLax) return false;
    if (this.laxSet.size !== 0) {
      const l = this.laxSet.get(name);
      if (l !== undefined) return l;
    }
    const d = this.lastFileDefinition(name, false);
    if (d === undefined) return undefined;
    return d.lax ?? this.laxAtStart.get(d.source) ?? false;
  }
}
