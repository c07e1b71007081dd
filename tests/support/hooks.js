// Mocha root hooks: every test run gets its own temporary folder (TMPDIR, so
// os.tmpdir() in tests and in the processes they start points into it), and
// the run removes it at the end: a run leaves nothing behind in /tmp. A
// folder that still has something mounted below it is not deleted (that
// would reach into the mount) and fails the run instead.
"use strict";
const { chmodSync, mkdtempSync, readFileSync, rmSync } = require("node:fs");
const { tmpdir } = require("node:os");
const { join } = require("node:path");

const runDir = mkdtempSync(join(tmpdir(), "metro-engine-tests-"));
// Other users may pass through it (not list it): the builder's hostile tests act as another user below it.
chmodSync(runDir, 0o711);
process.env.TMPDIR = runDir;

function mountsBelow(dir) {
  const decode = (s) => s.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => decode(l.split(" ")[4] || ""))
    .filter((p) => p === dir || p.startsWith(dir + "/"));
}

exports.mochaHooks = {
  afterAll() {
    const mounted = mountsBelow(runDir);
    if (mounted.length) throw new Error(`tests left mounts below ${runDir}: ${mounted.join(", ")}; not deleting it`);
    rmSync(runDir, { recursive: true, force: true });
  },
};
