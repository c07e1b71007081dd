// Whether the client is sending edits faster than they are handled (typing
// fast, an editor replaying changes, a refactoring applied as hundreds of
// changes). vscode-jsonrpc reads and handles one message per turn of the
// event loop, so while a burst comes in, a message is taken every turn or
// so; a few turns and a millisecond without any mean the connection has
// nothing more to hand over. Until then an edited document waits (the
// server applies the last text once), and so do the evaluation of contexts
// and the publication of diagnostics: each edit would start work that the
// next one makes useless.

/** Turns of the event loop without a message after which a burst is over... */
const QUIET_TURNS = 2;
/**
 * ...and milliseconds: a client writes a burst a message every few tens of
 * microseconds, so a server that reads faster than it writes catches up now
 * and then; without this, each time would start an evaluation the rest of the
 * burst makes useless (measured: 2 or 3 evaluations of a 500-edit burst
 * instead of 1, for about 1.5 ms less per keystroke).
 */
const QUIET_MS = 1;

export class EditBurst {
  private turn = 0;
  private lastTurn = 0;
  private lastTime = 0;
  private ticking = false;
  private waiters: (() => void)[] = [];

  /** An edit (didOpen, didChange) was taken from the connection's queue: a burst starts or goes on. */
  edit(): void {
    this.lastTurn = this.turn;
    this.lastTime = performance.now();
    if (this.ticking) return;
    this.ticking = true;
    const tick = () => {
      this.turn++;
      if (this.turn - this.lastTurn <= QUIET_TURNS) {
        setImmediate(tick);
        return;
      }
      const wait = this.lastTime + QUIET_MS - performance.now();
      if (wait > 0) {
        setTimeout(tick, wait);
        return;
      }
      this.ticking = false;
      // The held edits first: whoever waited for the end of the burst sees the latest text.
      this.applyHeld?.();
      const w = this.waiters;
      this.waiters = [];
      for (const r of w) r();
    };
    setImmediate(tick);
  }

  /**
   * A message was taken from the connection's queue, before its handler
   * runs: a burst goes on while messages keep coming (requests between
   * edits), and any message but an edit first gets the held edits applied
   * (`applyHeld`), so that it sees the latest text.
   */
  message(method: string | undefined): void {
    this.connected = true;
    if (this.ticking) {
      this.lastTurn = this.turn;
      this.lastTime = performance.now();
    }
    if (method !== "textDocument/didChange" && method !== "textDocument/didOpen") this.applyHeld?.();
  }

  /** Set by the server: applies the edits it holds (before any other message, and when the burst ends). */
  applyHeld: (() => void) | null = null;

  /** Whether the connection reports its messages (serverConnectionOptions(burst)); else edits are never held. */
  private connected = false;

  /** Whether a burst of edits is coming in. */
  get arriving(): boolean {
    return this.ticking;
  }

  /** Whether an edit may wait for the end of the burst: every other message applies it first. */
  get holding(): boolean {
    return this.ticking && this.connected;
  }

  /** Runs `then` once no burst is coming in and the held edits are applied (at once when none is). */
  whenQuiet(then: () => void): void {
    if (!this.ticking) then();
    else this.waiters.push(then);
  }
}
