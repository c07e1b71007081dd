// The collect queue (spec section 4) as metro runs it, without its cost.
//
// metro takes the queue's first entry and tries it (its condition, then its
// path); an entry that cannot be expanded yet moves to the back, and the
// queue stops when every entry has failed once in a row since the last file
// was read. Done literally, a tree whose collects are written in the reverse
// of the order they can be read in costs a pass over the whole queue per
// file: n² attempts.
//
// Here the queue is a ring with a cursor (moving an entry to the back is
// moving the cursor past it: O(1)), and an attempt is made only when it can
// turn out otherwise than the entry's last one. An attempt is a function of
// the definitions of the names it looked up (trace.ts records them, at any
// depth), of the condition its path text has, and of what is the same for a
// whole run (files read with `<<`, python blocks). So a failed entry is
// marked `retry` only when one of those names gains a definition (`defined`)
// or its path text gets another condition (`conditionChanged`); until then,
// its turn counts as the same failure without expanding anything. New entries
// are tried; an entry's first attempt is not traced (most entries are read at
// once), so one that failed is tried again once before it waits on a trace
// (evaluate.ts). The order of reads, failures and drops is metro's exactly.

import { Trace } from "./trace";

/** What the queue needs of an entry (evaluate.ts's QueueEntry). */
export interface Queued {
  /** The collect's path text (conditions are stored by it). */
  readonly path: string;
  /** The ring: the entries after and before this one. */
  next: Queued | null;
  prev: Queued | null;
  /** Whether its next turn must be a real attempt. */
  retry: boolean;
  /** The trace of its last failed attempt, which it waits on. */
  trace: Trace | null;
}

export class CollectQueue<E extends Queued> {
  /** The first entry (the cursor), or null when the queue is empty. */
  front: E | null = null;
  length = 0;
  /** Traces of failed attempts by each name they looked up (the name's definitions would change them). */
  private readonly waiting = new Map<string, Trace[]>();
  /** Entries by path text (a condition written for a path text applies to all of them). */
  private readonly byPath = new Map<string, Set<E>>();
  /** Set if a trace met a kept result without a trace of its own: from then on every turn is a real attempt. */
  private unsure = false;

  /** Appends an entry at the back (before the front); it will be tried. */
  push(e: E): void {
    e.retry = true;
    e.trace = null;
    if (this.front === null) {
      e.next = e;
      e.prev = e;
      this.front = e;
    } else {
      const back = this.front.prev!;
      e.prev = back;
      e.next = this.front;
      back.next = e;
      this.front.prev = e;
    }
    this.length++;
    let same = this.byPath.get(e.path);
    if (same === undefined) this.byPath.set(e.path, (same = new Set()));
    same.add(e);
  }

  /** Moves the front entry to the back: the cursor moves on. */
  rotate(): void {
    this.front = this.front!.next as E;
  }

  /** Removes the front entry (read or skipped). */
  shift(): E {
    const e = this.front!;
    if (e.next === e) this.front = null;
    else {
      e.prev!.next = e.next;
      e.next!.prev = e.prev;
      this.front = e.next as E;
    }
    e.next = e.prev = null;
    e.trace = null;
    this.length--;
    const same = this.byPath.get(e.path)!;
    same.delete(e);
    if (same.size === 0) this.byPath.delete(e.path);
    return e;
  }

  /** Whether the front entry's turn must be a real attempt. */
  mustTry(e: E): boolean {
    return e.retry || this.unsure;
  }

  /**
   * The front entry failed its real attempt, which looked up what `trace`
   * holds: until one of those names gains a definition (or its path text
   * another condition), it fails the same way.
   */
  failed(e: E, trace: Trace): void {
    e.trace = trace;
    e.retry = false;
    // Every trace below the attempt's that is not yet in the index is entered there; each says who uses it.
    const stack: Trace[] = [trace];
    trace.registered = true;
    while (stack.length !== 0) {
      const t = stack.pop()!;
      if (t.unknown) this.unsure = true;
      for (const name of t.names) {
        let list = this.waiting.get(name);
        if (list === undefined) this.waiting.set(name, (list = []));
        if (list[list.length - 1] !== t) list.push(t);
      }
      for (const u of t.uses) {
        (u.users ??= []).push(t);
        if (!u.registered) {
          u.registered = true;
          stack.push(u);
        }
      }
    }
    (trace.waiters ??= []).push(e);
  }

  /** `name` gained a definition: every failed attempt that looked it up, at any depth, is tried again. */
  defined(name: string): void {
    const traces = this.waiting.get(name);
    if (traces === undefined) return;
    this.waiting.delete(name);
    const stack = traces;
    while (stack.length !== 0) {
      const t = stack.pop()!;
      if (t.stale) continue;
      t.stale = true;
      if (t.waiters !== null) {
        for (const w of t.waiters) {
          const e = w as E;
          if (e.trace === t) e.retry = true;
        }
        t.waiters = null;
      }
      if (t.users !== null) {
        for (const u of t.users) if (!u.stale) stack.push(u);
        t.users = null;
      }
    }
  }

  /** A collect gave the path text `path` another condition: its entries are tried again. */
  conditionChanged(path: string): void {
    const same = this.byPath.get(path);
    if (same !== undefined) for (const e of same) e.retry = true;
  }

  /** The entries from the front on. */
  *entries(): Generator<E> {
    let e = this.front;
    for (let i = 0; i < this.length; i++, e = e!.next as E) yield e!;
  }
}
