// What a `:zap` reference does in a context: the one answer hover, inlay
// hints and the "zap never fires" hint share. A `:zap` fires when its element
// is undefined or empty; then the whole value (or the line of a multi-line
// value, or the collect) becomes nothing.

import { valueIn, type ContextState } from "./contexts";
import type { DefinitionEntry, ReferencePlace } from "./workspace-index";
import { quote } from "../language";

export type ZapOutcome =
  | { kind: "fires"; because: "undefined" | "empty" }
  | { kind: "keeps"; value: string | string[] }
  /** The value cannot be known here: not evaluated yet, a `<<` file missing, or an error. */
  | { kind: "unknown"; why: "pending" | "missing-file" | "error" };

export function zapOutcome(c: ContextState, name: string): ZapOutcome {
  const v = valueIn(c, name);
  switch (v.kind) {
    case "undefined":
      return { kind: "fires", because: "undefined" };
    case "value":
      return v.value === null || v.value === "" ? { kind: "fires", because: "empty" } : { kind: "keeps", value: v.value };
    case "pending":
      return { kind: "unknown", why: "pending" };
    case "unknown":
      return { kind: "unknown", why: "missing-file" };
    default:
      return { kind: "unknown", why: "error" };
  }
}

/** What `:zap` does at this place when it fires (markdown: names in backquotes). */
export function zapConsequence(place: ReferencePlace, element: DefinitionEntry | null): string {
  switch (place) {
    case "multi-line":
      return "this line is dropped";
    case "collect":
      return "this collect is skipped";
    default:
      return element ? `the value of ${quote(element.name)} becomes nothing` : "the value becomes nothing";
  }
}
