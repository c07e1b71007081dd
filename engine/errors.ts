// Errors of evaluation. `retryable` mirrors the distinction metro's collect
// queue makes: an undefined element, a circular reference or a conditional
// element with no true condition (Python's KeyError in the reference) moves a
// collect entry to the back of the queue; any other error stops the context.

import type { FileProblemCode } from "./files";

export type ErrorCode =
  | "metro/undefined-element"
  | "metro/circular-reference"
  | "metro/no-true-condition"
  | "metro/multiple-true-conditions"
  | "metro/invalid-condition"
  | "metro/condition-on-conditional"
  | "metro/unterminated-reference"
  | "metro/no-section"
  | "metro/unknown-modifier"
  | "metro/repeated-modifier"
  | "metro/missing-file"
  | FileProblemCode
  | "metro/not-multi-line"
  | "metro/undefined-multi-line"
  | "metro/zap-in-conditional"
  | "metro/zap-in-multi-reference"
  | "metro/mixed-conditional"
  | "metro/python-error"
  | "metro/empty-name"
  | "metro/value-too-large"
  | "metro/conditions-too-deep";

/** Where an error was met: inside the value of `element` (line `line` of it when multi-line), at reference `reference`. */
export interface ErrorSite {
  element: string | null;
  line?: number;
  reference?: string;
}

export class EvaluationError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly retryable: boolean,
    readonly site: ErrorSite = { element: null },
    /** For undefined elements: the name that is undefined. */
    readonly missing?: string,
    /** For circular references: the names of the cycle, the first one repeated at the end. */
    readonly cycle?: string[],
    /** For a `<<` file that is not there: its absolute path. */
    readonly path?: string,
  ) {
    // Evaluation errors are values (a key's result), met by the thousand: no stack trace to capture.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = limit;
    this.name = "EvaluationError";
  }
}
