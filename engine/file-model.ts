// What the evaluator needs of a file, kept once per file and shared by every
// context that reads it: its definitions in order with the collects between
// them, the line metro stops on, and the `[option]` mode it leaves. The syntax
// tree is not kept for this: a definition or collect finds its statement
// again through its file (`WorkspaceFile.ast`, parsed again on demand, which
// gives the same tree) when a caller asks for a location.

import { outlineMetro, type CollectAnnotation, type Diagnostic, type MetroFile, type MultiLineElement, type SingleLineElement } from "../language";
import type { Definition, RawValue } from "./store";

/** The file a model was made from: its syntax tree, kept or parsed again on demand. */
export interface TreeSource {
  readonly ast: MetroFile;
  /** The name its definitions carry (the normalised path). */
  readonly normalised: string;
}

/**
 * A definition made by a statement of a file: the same object for every
 * context that reads the file, so what is worked out about its value once
 * (expand.ts's scan, in `prepared`) serves them all.
 */
/** What the definitions of a stretch of a file share: the file, the condition in force and the section they record. */
class Scope {
  constructor(
    readonly source: TreeSource,
    readonly condition: string | null,
    readonly recordedSection: string | null,
  ) {}
}

/** One scope for each run of definitions under the same `[section]` and `[when]`. */
function scopes(source: TreeSource): (condition: string | null, recordedSection: string | null) => Scope {
  let last: Scope | null = null;
  return (condition, recordedSection) => (last !== null && last.condition === condition && last.recordedSection === recordedSection ? last : (last = new Scope(source, condition, recordedSection)));
}

export class FileDefinition implements Definition {
  prepared?: object = undefined;
  memo?: unknown = undefined;
  memoStamp?: object = undefined;
  /**
   * The statement's index in the file's tree, times 4, plus the lax mode (0
   * none, 1 strict, 2 lax). With the shared scope, a definition is seven
   * fields: a context of a million definitions holds 16 MB less.
   */
  private readonly bits: number;
  constructor(
    readonly name: string,
    readonly value: RawValue,
    private readonly scope: Scope,
    lax: boolean | null,
    index: number,
  ) {
    this.bits = index * 4 + (lax === null ? 0 : lax ? 2 : 1);
  }
  /** The file it belongs to. */
  get source(): TreeSource {
    return this.scope.source;
  }
  get condition(): string | null {
    return this.scope.condition;
  }
  /** The section the definition records for its name (metro's sectionfor), or null. */
  get recordedSection(): string | null {
    return this.scope.recordedSection;
  }
  get file(): string {
    return this.scope.source.normalised;
  }
  get origin(): "file" {
    return "file";
  }
  /** The file's `[option parse/...]` mode in force, or null when the file set none before it. */
  get lax(): boolean | null {
    const l = this.bits & 3;
    return l === 0 ? null : l === 2;
  }
  /** The statement, from the file's syntax tree (parsed again when it is not kept). */
  get statement(): SingleLineElement | MultiLineElement {
    return this.source.ast.statements[Math.floor(this.bits / 4)] as SingleLineElement | MultiLineElement;
  }
}

/** A `[collect PATH]` of a file. */
export class FileCollect {
  readonly kind = "collect";
  constructor(
    /** The path as written (expanded when the queue reaches it). */
    readonly path: string,
    /** Its own condition or the surrounding `[when]`, or null. */
    readonly condition: string | null,
    private readonly source: TreeSource,
    private readonly index: number,
  ) {}
  get statement(): CollectAnnotation {
    return this.source.ast.statements[this.index] as CollectAnnotation;
  }
}

export interface FileModel {
  /** Definitions and collects in file order. */
  items: (FileDefinition | FileCollect)[];
  /** The first line metro stops on when it reads the file (see MetroFile.fatal). */
  fatal: Diagnostic | null;
  /** The `[option parse/...]` mode at the end of the file, or null when the file sets none. */
  laxAtEnd: boolean | null;
}

/** The model of a file read without its tree (language/outline.ts), or null when it has a line metro stops on. */
export function outlineFile(text: string, source: TreeSource): FileModel | null {
  const items: (FileDefinition | FileCollect)[] = [];
  const scope = scopes(source);
  const laxAtEnd = outlineMetro(text, {
    definition: (name, value, condition, recordedSection, lax, statement) => items.push(new FileDefinition(name, value, scope(condition, recordedSection), lax, statement)),
    collect: (path, condition, statement) => items.push(new FileCollect(path, condition, source, statement)),
  });
  return laxAtEnd === undefined ? null : { items, fatal: null, laxAtEnd };
}

/** The model of a parsed file. */
export function lowerFile(ast: MetroFile, source: TreeSource): FileModel {
  const items: (FileDefinition | FileCollect)[] = [];
  const scope = scopes(source);
  const statements = ast.statements;
  for (let i = 0; i < statements.length; i++) {
    const st = statements[i];
    if (st.kind === "single" || st.kind === "multi") {
      const value = st.kind === "single" ? st.value.text : st.rawLines;
      items.push(new FileDefinition(st.name.qualified, value, scope(st.scope.condition, st.name.recordedSection), st.scope.lax, i));
    } else if (st.kind === "collect") {
      items.push(new FileCollect(st.path.text, st.condition, source, i));
    }
  }
  return { items, fatal: ast.fatal, laxAtEnd: ast.laxAtEnd };
}
