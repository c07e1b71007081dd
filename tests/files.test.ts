// engine/files.ts in process: the one way a tree's file is read (and the
// contexts file written), each refusal a reason in words.

import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FileProblem, MAX_FILE_BYTES, problemOf, readRegularFile, readRegularText, writeRegularFile } from "../engine/files";
import { writeTree } from "./support/trees";

function refusal(f: () => unknown): FileProblem {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof FileProblem, `a FileProblem, not ${e}`);
    return e;
  }
  assert.fail("expected a refusal");
}

describe("engine/files: reading and writing tree files", () => {
  const root = writeTree({ "ok.conf": "a: 1\n", "latin1.txt": "" });
  writeFileSync(join(root, "latin1.txt"), Buffer.from([0x63, 0xe9, 0x0a]));
  execFileSync("mkfifo", [join(root, "fifo")]);
  symlinkSync("loop-b", join(root, "loop-a"));
  symlinkSync("loop-a", join(root, "loop-b"));
  mkdirSync(join(root, "folder"));
  closeSync(openSync(join(root, "big"), "w"));
  truncateSync(join(root, "big"), MAX_FILE_BYTES + 1);

  it("reads a regular file", () => {
    assert.equal(readRegularText(join(root, "ok.conf")), "a: 1\n");
  });

  it("refuses what is not a regular file without waiting on it, each in words", () => {
    const cases: [string, FileProblem["kind"], RegExp][] = [
      [join(root, "fifo"), "not-regular", /^is a FIFO, not a regular file$/],
      ["/dev/zero", "not-regular", /^is a device, not a regular file$/],
      [join(root, "folder"), "folder", /^is a folder, not a file$/],
      [join(root, "nowhere"), "missing", /^does not exist$/],
      [join(root, "ok.conf", "below"), "missing", /a part of its path is not a folder/],
      [join(root, "loop-a"), "loop", /its symbolic links form a loop/],
      [join(root, "big"), "too-large", /^is 1,048,577 bytes, more than the 1 MiB metro-engine reads of one file$/],
    ];
    for (const [path, kind, words] of cases) {
      const p = refusal(() => readRegularFile(path));
      assert.equal(p.kind, kind, path);
      assert.match(p.words, words, path);
      assert.doesNotMatch(p.words, /\bE[A-Z]{3,}\b/, "no errno name");
    }
    assert.equal(refusal(() => readRegularText(join(root, "latin1.txt"))).kind, "invalid-utf8");
  });

  it("says an unmapped error without its errno name", () => {
    const p = problemOf(Object.assign(new Error("EIO: i/o error, read"), { code: "EIO" }));
    assert.equal(p.words, "cannot be read: i/o error");
  });

  it("writes a regular file, never through a link nor into a FIFO", () => {
    const target = join(root, "written.json");
    writeRegularFile(target, "[1]\n");
    writeRegularFile(target, "[]\n");
    assert.equal(readFileSync(target, "utf8"), "[]\n", "truncated, not appended");
    symlinkSync("ok.conf", join(root, "link.json"));
    assert.match(refusal(() => writeRegularFile(join(root, "link.json"), "x")).words, /is a symbolic link: not written through/);
    assert.equal(readFileSync(join(root, "ok.conf"), "utf8"), "a: 1\n");
    assert.match(refusal(() => writeRegularFile(join(root, "fifo"), "x")).words, /is a FIFO/);
  });
});
