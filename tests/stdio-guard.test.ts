// The framing guard in front of the server's stdin (server/stdio-guard.ts):
// well-formed messages pass unchanged however the bytes are split, broken
// framing is reported once and nothing after it passes.

import * as assert from "node:assert/strict";
import { FramingGuard } from "../server/stdio-guard";
import { seeded } from "./support/trees";

/** Feeds `bytes` to a guard in chunks cut where `cuts` says; returns what passed and the violations. */
async function feed(bytes: Buffer, cuts: number[], maxBody?: number): Promise<{ out: Buffer; violations: string[] }> {
  const violations: string[] = [];
  const guard = new FramingGuard((m) => violations.push(m), maxBody);
  const chunks: Buffer[] = [];
  guard.on("data", (c: Buffer) => chunks.push(c));
  let from = 0;
  for (const at of [...cuts, bytes.length]) {
    if (at > from) guard.write(bytes.subarray(from, at));
    from = Math.max(from, at);
  }
  await new Promise<void>((resolve) => guard.end(resolve));
  return { out: Buffer.concat(chunks), violations };
}

function message(body: string, extraHeaders = ""): string {
  return `Content-Length: ${Buffer.byteLength(body)}\r\n${extraHeaders}\r\n${body}`;
}

describe("server: framing guard", () => {
  const big = JSON.stringify({ jsonrpc: "2.0", id: 2, method: "x", params: "y".repeat(100000) });
  const stream = Buffer.from(
    [
      message('{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"text":"é ü \r\n\r\n inside a body"}}'),
      message('{"jsonrpc":"2.0","method":"initialized","params":{}}', "Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n"),
      message(""),
      // Header names in any case, white space around the value.
      `content-length:  ${Buffer.byteLength(big)} \r\n\r\n${big}`,
    ].join(""),
  );

  it("passes a stream of messages unchanged, in one piece, byte by byte and cut at random", async () => {
    assert.deepEqual(await feed(stream, []), { out: stream, violations: [] });
    const bytewise = Array.from({ length: 2000 }, (_, i) => i);
    assert.deepEqual(await feed(stream, bytewise), { out: stream, violations: [] });
    const rnd = seeded(11);
    for (let round = 0; round < 20; round++) {
      const cuts = Array.from({ length: 30 }, () => rnd(stream.length)).sort((a, b) => a - b);
      const r = await feed(stream, cuts);
      assert.equal(r.violations.length, 0);
      assert.ok(r.out.equals(stream), `round ${round}`);
    }
  });

  const broken: [string, string, RegExp][] = [
    ["a non-numeric length", "Content-Length: 12a\r\n\r\n{}", /not a number of bytes/],
    ["a negative length", "Content-Length: -1\r\n\r\n", /not a number of bytes/],
    ["two different lengths", "Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}", /two different Content-Length/],
    ["a length over the limit", "Content-Length: 1001\r\n\r\n", /announces 1001 bytes, more than the 1000/],
    ["no length", "X-Other: 1\r\n\r\n{}", /no Content-Length header/],
    ["a line that is not Name: value", "Content-Length: 2\r\nhello\r\n\r\n{}", /header line is malformed: "hello"/],
  ];
  for (const [what, text, expected] of broken) {
    it(`reports ${what} once and passes nothing from there on`, async () => {
      const good = message("{}");
      const r = await feed(Buffer.from(good + text + good), [good.length + 3], 1000);
      assert.equal(r.violations.length, 1);
      assert.match(r.violations[0], expected);
      assert.equal(r.out.toString(), good);
    });
  }

  it("reports a header section that does not end within its limit, without keeping it", async () => {
    const r = await feed(Buffer.alloc(100000, "a"), Array.from({ length: 100 }, (_, i) => i * 1000));
    assert.equal(r.violations.length, 1);
    assert.match(r.violations[0], /longer than 8192 bytes without ending/);
    assert.equal(r.out.length, 0);
  });
});
