// The syntax of a reference, as metro's reference parser reads it (spec
// section 3): one pure definition used by the parser, the engine, the
// analysis layer and the editor features.
//
//   $[name]  $[name?]  $[name:zap]  $[name:lax]  $[:name] (relative)  $[] / $[:] (the section)
//
// `$[[` never opens a single-line reference: it is the multi-line form.

/** Where the next single-line reference of `text` at or after `from` is. */
export interface ReferenceSpan {
  /** Offset of `$[`. */
  start: number;
  /** Offset of the text inside the brackets. */
  innerStart: number;
  /** Offset just past the text inside (the `]`, or the end of the text when unterminated). */
  innerEnd: number;
  terminated: boolean;
}

export function nextReference(text: string, from: number): ReferenceSpan | null {
  let pos = from;
  for (;;) {
    const at = text.indexOf("$[", pos);
    if (at === -1) return null;
    if (text.charCodeAt(at + 2) === 91 /* [ */) {
      pos = at + 3;
      continue;
    }
    const end = text.indexOf("]", at + 2);
    return end === -1 ? { start: at, innerStart: at + 2, innerEnd: text.length, terminated: false } : { start: at, innerStart: at + 2, innerEnd: end, terminated: true };
  }
}

/** What the text inside `$[...]` says. Offsets are relative to that text. */
export interface ReferenceSyntax {
  /** `$[x?]`: expands to `yes` or `no`. */
  boolean: boolean;
  /** absolute `$[a/b]`; section `$[]` or `$[:]`; relative `$[:x]` (SECTION/x). */
  form: "absolute" | "section" | "relative";
  /** The name as written (relative names without their leading colon); "" for the section form. */
  name: string;
  nameStart: number;
  nameEnd: number;
  /** The text after the name's colon (`zap`, `lax`, or anything else, which is an error), or null. */
  modifier: string | null;
  modifierStart: number;
}

export function parseReferenceInner(inner: string): ReferenceSyntax {
  let body = inner;
  let boolean = false;
  if (body.endsWith("?")) {
    boolean = true;
    body = body.slice(0, -1);
  }
  if (body === "" || body === ":") return { boolean, form: "section", name: "", nameStart: 0, nameEnd: 0, modifier: null, modifierStart: body.length };
  const nameStart = body.charCodeAt(0) === 58 /* : */ ? 1 : 0;
  const form = nameStart ? "relative" : "absolute";
  const colon = body.indexOf(":", nameStart);
  if (colon === -1) return { boolean, form, name: body.slice(nameStart), nameStart, nameEnd: body.length, modifier: null, modifierStart: body.length };
  return { boolean, form, name: body.slice(nameStart, colon), nameStart, nameEnd: colon, modifier: body.slice(colon + 1), modifierStart: colon + 1 };
}

/** What is wrong with a modifier, or null when it is one of metro's two. */
export function modifierProblem(modifier: string | null): "repeated-modifier" | "unknown-modifier" | null {
  if (modifier === null || modifier === "zap" || modifier === "lax") return null;
  return modifier.includes(":") ? "repeated-modifier" : "unknown-modifier";
}

/** The absolute name a reference stands for inside an element recorded in `section`; null when it needs a section there is none of. */
export function absoluteName(ref: Pick<ReferenceSyntax, "form" | "name">, section: string | null): string | null {
  if (ref.form === "absolute") return ref.name;
  if (section === null) return null;
  return ref.form === "section" ? section : section + "/" + ref.name;
}
