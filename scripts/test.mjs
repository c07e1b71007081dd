// Runs a test suite: `fast` (in process: parser, engine, analysis, the
// server's features, the CLI through main()), `system` (processes, root and
// real tools: chroot builds, editors, the stdio server, packaging) or `all`.
// Builds the bundles first and, for fast and all, type-checks. Extra words go
// to mocha (e.g. --grep). Ends with the line "tests: N passed, N failed, N skipped".
import { spawnSync } from "node:child_process";

const [suite = "fast", ...rest] = process.argv.slice(2);
const specs = { fast: ["out/tests/*.test.js"], system: ["out/tests/system/*.test.js"], all: ["out/tests/*.test.js", "out/tests/system/*.test.js"] }[suite];
if (!specs) {
  console.error(`usage: node scripts/test.mjs fast|system|all [mocha options]`);
  process.exit(2);
}
const run = (cmd, args) => {
  const r = spawnSync(cmd, args, { stdio: "inherit" });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
run(process.execPath, ["scripts/build.mjs", "--tests"]);
if (suite !== "system") run(process.execPath, [new URL("../node_modules/typescript/bin/tsc", import.meta.url).pathname, "-p", ".", "--noEmit"]);
const mocha = new URL("../node_modules/mocha/bin/mocha.js", import.meta.url).pathname;
const r = spawnSync(process.execPath, [mocha, "--require", "tests/support/hooks.js", "--reporter", "tests/support/summary-reporter.js", "--timeout", "60000", ...specs, ...rest], { stdio: "inherit" });
process.exit(r.status ?? 1);
