// What an expansion looked up, for the collect queue (evaluate.ts): an
// attempt to expand a collect's condition and path is a function of the
// definitions of the names it looked up (their unconditional and conditional
// values, lax marks and sections), of files read with `<<` and of python
// blocks (both the same for a whole run). So an attempt that failed fails
// again, the same way, until one of those names gains a definition.
//
// The expander records, while a trace is open (`Expander.startTracing`), the
// names each computation looks up, one `Trace` per computation whose result
// it keeps (an element's expansion, a multi-line value, a top-level look-up),
// linked to the traces of the computations it used, kept ones included: a
// kept result used again stands for all it looked up, at any depth, without
// copying its names.

export class Trace {
  /** Names looked up by this computation itself (a name may repeat). */
  readonly names: string[] = [];
  /** The traces of the computations it used (run for it, or kept results it read). */
  readonly uses: Trace[] = [];
  /** Set when it used a kept result made without a trace: what that looked up is unknown. */
  unknown = false;
  // The collect queue's bookkeeping (evaluate.ts), once a failed attempt depends on this trace.
  /** Traces that use this one and wait on it. */
  users: Trace[] | null = null;
  /** The queue entries whose last failed attempt is this trace. */
  waiters: object[] | null = null;
  /** Set when a name of this trace, at any depth, gained a definition after it was recorded. */
  stale = false;
  /** Set once its names are in the queue's index. */
  registered = false;
}
