// What a failed write to standard output or error means. By default the
// executable stops as a tool killed by SIGPIPE would (cli/start.ts); a build
// registers a handler instead, so a reader that goes away (`build | head`, a
// dropped connection) stops the build the way an interrupt does: the step is
// stopped, the chroot unmounted, the locks released and the status recorded.

import { reasonOf } from "./system-errors";

type Handler = (why: string) => void;
let handler: Handler | null = null;

/** Makes `h` decide what a lost output means until the returned function is called. */
export function handleOutputLoss(h: Handler): () => void {
  handler = h;
  return () => {
    if (handler === h) handler = null;
  };
}

/** A write error of standard output or error (the stream's error event): true when a handler took it. */
export function outputLost(error: unknown): boolean {
  if (!handler) return false;
  const code = (error as NodeJS.ErrnoException)?.code;
  handler(code === "EPIPE" || code === "ERR_STREAM_DESTROYED" ? "its reader went away" : code === "EIO" ? "the terminal is gone" : reasonOf(error));
  return true;
}

/**
 * Writes `text` unless `stream` is gone; a write that finds the reader gone
 * (the stream is destroyed at once, its error event comes later) is reported
 * to the handler right away, so a build stops before its next step.
 */
export function writeOrNote(stream: NodeJS.WritableStream & { destroyed?: boolean; writableEnded?: boolean }, text: string): void {
  if (stream.destroyed || stream.writableEnded) return;
  stream.write(text);
  if (stream.destroyed) handler?.("its reader went away");
}
