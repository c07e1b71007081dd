// The protocol's framing checked before vscode-jsonrpc buffers anything.
// vscode-jsonrpc's stream reader keeps every byte until a message is
// complete: a header section that never ends, or a `Content-Length` of
// terabytes, makes it buffer without limit, and a malformed header leaves it
// stuck. The guard reads the headers itself, lets well-formed messages of a
// sane size through unchanged, and reports anything else once.

import { Transform, type TransformCallback } from "node:stream";

/** A message body larger than this is refused (a 20 MB document fits several times over). */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
/** The header section of a message (`Content-Length` and `Content-Type`) is a few dozen bytes. */
export const MAX_HEADER_BYTES = 8 * 1024;

const END_OF_HEADERS = Buffer.from("\r\n\r\n", "ascii");

/**
 * A stream that passes through LSP messages (`Content-Length: N\r\n...\r\n\r\n`
 * and N bytes) and calls `onViolation` with a sentence, then stops passing
 * anything, when the framing is broken: a header line that is not `Name:
 * value`, no or a non-numeric `Content-Length`, a body larger than
 * `maxBody`, or a header section longer than `maxHeader` bytes.
 */
export class FramingGuard extends Transform {
  private header = Buffer.alloc(0);
  /** Body bytes of the current message still to pass through. */
  private remaining = 0;
  private failed = false;

  constructor(
    private readonly onViolation: (message: string) => void,
    private readonly maxBody = MAX_MESSAGE_BYTES,
    private readonly maxHeader = MAX_HEADER_BYTES,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    let off = 0;
    while (off < chunk.length && !this.failed) {
      if (this.remaining > 0) {
        const n = Math.min(this.remaining, chunk.length - off);
        this.push(chunk.subarray(off, off + n));
        this.remaining -= n;
        off += n;
        continue;
      }
      const rest = chunk.subarray(off);
      const combined = this.header.length ? Buffer.concat([this.header, rest]) : rest;
      const end = combined.indexOf(END_OF_HEADERS);
      if (end === -1) {
        if (combined.length > this.maxHeader) return this.fail(`a message header is longer than ${this.maxHeader} bytes without ending (no empty line)`, done);
        this.header = Buffer.from(combined);
        break;
      }
      if (end > this.maxHeader) return this.fail(`a message header is longer than ${this.maxHeader} bytes`, done);
      const problem = this.checkHeaders(combined.subarray(0, end).toString("latin1"));
      if (typeof problem === "string") return this.fail(problem, done);
      this.push(combined.subarray(0, end + END_OF_HEADERS.length));
      this.remaining = problem;
      off += end + END_OF_HEADERS.length - this.header.length;
      this.header = Buffer.alloc(0);
    }
    done();
  }

  /** The body length the headers announce, or what is wrong with them. */
  private checkHeaders(text: string): number | string {
    let length: number | undefined;
    for (const line of text.split("\r\n")) {
      const m = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*(.*?)[ \t]*$/.exec(line);
      if (!m) return `a message header line is malformed: ${JSON.stringify(line.slice(0, 80))} (expected "Name: value")`;
      if (m[1].toLowerCase() !== "content-length") continue;
      if (!/^\d{1,16}$/.test(m[2])) return `Content-Length is not a number of bytes: ${JSON.stringify(m[2].slice(0, 40))}`;
      const n = Number(m[2]);
      if (length !== undefined && length !== n) return "a message has two different Content-Length headers";
      length = n;
    }
    if (length === undefined) return "a message has no Content-Length header";
    if (length > this.maxBody) return `a message announces ${length} bytes, more than the ${this.maxBody} this server accepts`;
    return length;
  }

  private fail(message: string, done: TransformCallback): void {
    this.failed = true;
    this.header = Buffer.alloc(0);
    done();
    this.onViolation(message);
  }
}
