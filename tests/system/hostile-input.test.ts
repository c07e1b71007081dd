// The engine and the command line against hostile files: FIFOs, devices,
// links that loop or leave the tree, huge and invalid files, output closed
// early, names such as `__proto__`. The CLI runs as a child with its heap
// capped at 256 MB: each case must end with a normal exit status and a
// located message (`spawnSync`'s timeout only stops a hung child so the
// failure is reported; it is not a timing threshold).

import { removeTempDirs, tempDir as newTempDir } from "../support/trees";
import * as assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { chmodSync, closeSync, cpSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { CLI, PROJECT } from "../support/shared";

const HANG_GUARD_MS = 30000;

after(() => removeTempDirs());

/** A new temporary folder (removed after the tests), as its real path. */
const tempDir = () => newTempDir("metro-hostile-");

function write(root: string, files: Record<string, string | Buffer>): void {
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), text);
  }
}

/** Runs the CLI with a capped heap; asserts it ended by itself (not hung, not killed, no stack trace). */
function runIn(args: string[], cwd?: string) {
  const p = spawnSync(process.execPath, ["--max-old-space-size=256", CLI, ...args], { encoding: "utf8", cwd, timeout: HANG_GUARD_MS, maxBuffer: 64 * 1024 * 1024 });
  assert.equal(p.signal, null, `metro-engine ${args.join(" ")} did not end by itself (${p.signal}): ${p.stderr}`);
  assert.doesNotMatch(p.stderr, /heap out of memory|\n\s+at |internal error/, "no crash, no stack trace");
  return { code: p.status, out: p.stdout, err: p.stderr };
}

/** A file of `bytes` bytes that takes no disk space. */
function sparse(path: string, bytes: number): void {
  closeSync(openSync(path, "w"));
  truncateSync(path, bytes);
}

describe("engine and CLI: hostile files", function () {
  this.timeout(120000);
  const parent = tempDir();
  const root = join(parent, "tree");
  const climb = "../".repeat(root.split("/").length + 2);
  write(root, {
    "metro.conf": "ok: fine\n",
    "fifo-read.conf": "k: << ./fifo\n",
    "fifo-collect.conf": "a: 1\n[collect ./fifo.conf]\n",
    "zero.conf": "k: << /dev/zero\nz: << ./zero-link\n",
    "placeholders.conf": "[collect etc/alias.conf]\n[collect etc/builds/current/build.conf]\nd: << etc/data-alias\n",
    "etc/alias.conf": "real.conf",
    "etc/real.conf": "from/real: yes\n",
    "etc/builds/current": "1.4-release",
    "etc/builds/1.4-release/build.conf": "release: 1.4\n",
    "etc/data-alias": "data.txt",
    "etc/data.txt": "some data\n",
    "escape-collect.conf": "[collect etc/zero-alias.conf]\n",
    "escape-read.conf": "k: << etc/zero-data\n",
    "etc/zero-alias.conf": `${climb}dev/zero`,
    "etc/zero-data": `${climb}dev/zero`,
    "outside-collect.conf": "[collect etc/outside.conf]\n",
    "etc/outside.conf": "../../outside-tree.conf",
    "big-read.conf": "k: << ./big.txt\n",
    "big-collect.conf": "[collect ./big-file.conf]\n",
    "utf8.conf": "k: << ./latin1.txt\n",
    "latin1.txt": Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]),
    "loop.conf": "[collect ./loop-a]\n",
    "missing.conf": "k: << ./nowhere.txt\n",
    "proto.conf": "__proto__: from-file\nconstructor: c\ntoString: t\n",
    "keys.conf": "k: $[v]\n",
  });
  // The tree's root is `root` (it holds metro.conf); a file one level above it is outside.
  write(parent, { "outside-tree.conf": "x: 1\n" });
  execFileSync("mkfifo", [join(root, "fifo"), join(root, "fifo.conf")]);
  symlinkSync("/dev/zero", join(root, "zero-link"));
  symlinkSync("loop-b", join(root, "loop-a"));
  symlinkSync("loop-a", join(root, "loop-b"));
  sparse(join(root, "big.txt"), 20 * 1024 * 1024);
  sparse(join(root, "big-file.conf"), 20 * 1024 * 1024);
  const at = (name: string) => ["--config", join(root, name)];
  // `<<` paths are relative to the current folder, as in metro: run in the tree.
  const run = (args: string[]) => runIn(args, root);

  it("check reports a << of a FIFO at the << instead of waiting forever", () => {
    const r = run(["check", ...at("fifo-read.conf")]);
    assert.equal(r.code, 1);
    // These trees are no builds: nothing their (targetless) run reads expands the value, so the located problem is a warning.
    assert.match(r.out, /fifo-read\.conf:1:4: warning: "\.\/fifo" \(named by "<< \.\/fifo"\) is a FIFO, not a regular file \(unused by the \(no target\) run; metro never expands it\) \[metro\/not-a-file\]/);
  });

  it("check reports a collected FIFO at the collect line", () => {
    const r = run(["check", ...at("fifo-collect.conf")]);
    assert.equal(r.code, 1);
    assert.match(r.out, /fifo-collect\.conf:2:10: error: ".*\/fifo\.conf" is a FIFO, not a regular file \[metro\/not-a-file\]/);
  });

  it("dump refuses << /dev/zero and a link to it in bounded memory, and prints the other keys", () => {
    const r = run(["dump", ...at("zero.conf")]);
    assert.equal(r.code, 0);
    assert.match(r.out, /^# k: cannot be resolved: "\/dev\/zero" \(named by "<< \/dev\/zero"\) is a device, not a regular file \[metro\/not-a-file\]$/m);
    assert.match(r.out, /^# z: cannot be resolved: "\.\/zero-link" .* is a device, not a regular file \[metro\/not-a-file\]$/m);
    assert.match(r.out, /^path\/config: /m);
    const g = run(["get", "k", ...at("zero.conf")]);
    assert.equal(g.code, 1);
    assert.match(g.err, /is a device, not a regular file \[metro\/not-a-file\]/);
  });

  it("follows link placeholders to files and folders inside the tree", () => {
    const r = run(["dump", "--json", ...at("placeholders.conf")]);
    assert.equal(r.code, 0, r.err);
    const settings = JSON.parse(r.out).settings;
    assert.deepEqual(settings["from/real"], { value: "yes" });
    assert.deepEqual(settings["release"], { value: "1.4" });
    assert.deepEqual(settings["d"], { value: "some data" });
  });

  it("refuses a link placeholder that leads out of the tree (to /dev/zero or to a regular file), with a located error", () => {
    const c = run(["check", ...at("escape-collect.conf")]);
    assert.equal(c.code, 1);
    assert.match(c.out, /escape-collect\.conf:1:10: error: ".*zero-alias\.conf" is a link placeholder to "(\.\.\/)+dev\/zero", outside the tree .*: not followed \[metro\/link-outside-tree\]/);
    const d = run(["check", ...at("escape-read.conf")]);
    assert.equal(d.code, 1);
    assert.match(d.out, /escape-read\.conf:1:4: warning: .*named by "<< etc\/zero-data"\) is a link placeholder to .*: not followed \(unused by the \(no target\) run; metro never expands it\) \[metro\/link-outside-tree\]/);
    const o = run(["check", ...at("outside-collect.conf")]);
    assert.equal(o.code, 1);
    assert.match(o.out, /outside-collect\.conf:1:10: error: .*"\.\.\/\.\.\/outside-tree\.conf", outside the tree .* \[metro\/link-outside-tree\]/);
  });

  it("refuses files larger than the limit, read with << or collected", () => {
    const r = run(["check", ...at("big-read.conf")]);
    assert.equal(r.code, 1);
    assert.match(r.out, /big-read\.conf:1:4: warning: .* is 20 MiB, more than the 1 MiB metro-engine reads of one file \(unused by the \(no target\) run; metro never expands it\) \[metro\/file-too-large\]/);
    const c = run(["check", ...at("big-collect.conf")]);
    assert.equal(c.code, 1);
    assert.match(c.out, /big-collect\.conf:1:10: error: .*big-file\.conf" is 20 MiB, more than the 1 MiB .* \[metro\/file-too-large\]/);
  });

  it("says that a << file is not UTF-8 (not that it cannot be read)", () => {
    const r = run(["check", ...at("utf8.conf")]);
    assert.equal(r.code, 1);
    assert.match(r.out, /utf8\.conf:1:4: warning: "\.\/latin1\.txt" \(named by "<< \.\/latin1\.txt"\) is not valid UTF-8 text: metro cannot read it \(unused by the \(no target\) run; metro never expands it\) \[metro\/invalid-utf8\]/);
  });

  it("says that a collect goes through a loop of links (not that the file does not exist)", () => {
    const r = run(["check", ...at("loop.conf")]);
    assert.equal(r.code, 1);
    assert.match(r.out, /loop\.conf:1:10: error: ".*loop-a" cannot be read: its symbolic links form a loop \[metro\/link-loop\]/);
  });

  it("says in words that a path holding a NUL character cannot be read (not Node's argument error)", () => {
    write(root, { "nul-collect.conf": "[collect ./a\0b.conf]\n", "nul-read.conf": "k: << ./a\0b\n", "nul-contexts.json": JSON.stringify([{ config: "a\0b.conf" }]) });
    const c = run(["dump", ...at("nul-collect.conf")]);
    assert.equal(c.code, 1);
    assert.match(c.err, /nul-collect\.conf:1:10: error: ".*a\0b\.conf" cannot be read: its path holds a NUL character, which no file name can \[metro\/unreadable-file\]\n$/);
    const g = run(["get", "k", ...at("nul-read.conf")]);
    assert.equal(g.code, 1);
    assert.match(g.err, /nul-read\.conf:1:4: k: "\.\/a\0b" \(named by "<< \.\/a\0b"\) cannot be read: its path holds a NUL character/);
    const x = run(["dump", "--contexts", join(root, "nul-contexts.json")]);
    assert.equal(x.code, 2);
    assert.match(x.err, /nul-contexts\.json: entry 1: config file ".*a\0b\.conf" cannot be read: its path holds a NUL character/);
    for (const r of [c, g, x]) assert.doesNotMatch(r.err, /argument|Received/);
  });

  it("still calls a missing << file missing", () => {
    const r = run(["check", ...at("missing.conf")]);
    assert.match(r.out, /missing\.conf:1:4: information: cannot read "\.\/nowhere\.txt" \(named by "<< \.\/nowhere\.txt"\): it does not exist; .* \[metro\/missing-file\]/);
  });

  it("parse, fmt, --config and --contexts refuse a FIFO instead of waiting on it", () => {
    const p = run(["parse", join(root, "fifo.conf")]);
    assert.equal(p.code, 1);
    assert.match(p.err, /fifo\.conf: is a FIFO, not a regular file/);
    const f = run(["fmt", "--check", join(root, "fifo.conf")]);
    assert.notEqual(f.code, 0);
    assert.match(f.err, /fifo\.conf: is a FIFO, not a regular file/);
    const c = run(["check", "--config", join(root, "fifo.conf")]);
    assert.equal(c.code, 2);
    assert.match(c.err, /is not a regular file/);
    const x = run(["check", "--contexts", join(root, "fifo")]);
    assert.equal(x.code, 2);
    assert.match(x.err, /fifo: is a FIFO, not a regular file/);
  });

  it("ends quietly when the reader of its output goes away (dump | head -1)", () => {
    let text = "";
    for (let i = 0; i < 30000; i++) text += `key${i}: value ${i}\n`;
    write(root, { "many.conf": text });
    const script = `"${process.execPath}" "${CLI}" dump --config "${join(root, "many.conf")}" | head -1; echo "status=\${PIPESTATUS[0]}"`;
    const p = spawnSync("bash", ["-c", script], { encoding: "utf8", timeout: HANG_GUARD_MS });
    assert.equal(p.signal, null);
    assert.equal(p.stderr, "", "no EPIPE stack trace");
    assert.equal(p.stdout, "key0: value 0\nstatus=141\n");
  });

  it("says why on standard error when its output cannot be written (a full disk)", function () {
    if (!existsSync("/dev/full")) this.skip();
    for (const args of [["dump", ...at("proto.conf")], ["get", "toString", ...at("proto.conf")], ["parse", "--json", join(root, "proto.conf")]]) {
      const full = openSync("/dev/full", "w");
      try {
        const p = spawnSync(process.execPath, [CLI, ...args], { stdio: ["ignore", full, "pipe"], encoding: "utf8", cwd: root, timeout: HANG_GUARD_MS });
        assert.equal(p.status, 70);
        assert.equal(p.stderr, "metro-engine: cannot write the output: no space left on the device; the output is incomplete\n");
      } finally {
        closeSync(full);
      }
    }
  });

  it("keeps keys named __proto__, constructor and toString, from files and from the command line", () => {
    const r = run(["dump", ...at("proto.conf")]);
    assert.match(r.out, /^__proto__: from-file$/m);
    assert.match(r.out, /^constructor: c$/m);
    assert.match(r.out, /^toString: t$/m);
    const j = JSON.parse(run(["dump", "--json", ...at("keys.conf"), "__proto__:", "cli", "v:", "1"]).out);
    assert.equal(Object.getPrototypeOf(j.settings), Object.prototype, "a plain JSON object");
    assert.ok(Object.prototype.hasOwnProperty.call(j.settings, "__proto__"));
    assert.deepEqual(Object.getOwnPropertyDescriptor(j.settings, "__proto__")!.value, { value: "cli" });
    assert.equal(Object.getOwnPropertyDescriptor(j.args, "__proto__")!.value, "cli");
    const g = run(["get", "__proto__", ...at("keys.conf"), "__proto__:", "x"]);
    assert.deepEqual([g.code, g.out], [0, "x\n"]);
  });

  it("takes a value that looks like an option (k: -h) as a value", () => {
    const r = run(["get", "k", ...at("keys.conf"), "v:", "-h"]);
    assert.deepEqual([r.code, r.out], [0, "-h\n"]);
    const o = run(["dump", ...at("keys.conf"), "v:", "--json"]);
    assert.match(o.out, /^k: --json$/m);
  });

  it("dump, check and graph --key end on a cycle through 40,000 elements, single-line or multi-line, each key failing with the cycle", () => {
    const single: string[] = [];
    const multi: string[] = [];
    for (let i = 0; i < 40_000; i++) {
      single.push(`c${i}: $[c${i + 1}]`);
      multi.push(`m${i}: [`, `$[[m${i + 1}]]`, "]");
    }
    single.push("c40000: $[c0]");
    multi.push("m40000: [", "$[[m0]]", "]");
    // Each in a tree of its own: check indexes every Metro file of the tree (here, the other's 40,000 elements too).
    const trees = tempDir();
    write(trees, { "single/metro.conf": single.join("\n") + "\n", "multi/metro.conf": multi.join("\n") + "\n" });
    const at = (file: string) => ["--config", join(trees, file === "cycle.conf" ? "single" : "multi", "metro.conf")];
    for (const [file, first] of [["cycle.conf", "c0"], ["multi-cycle.conf", "m0"]]) {
      const d = run(["dump", ...at(file)]);
      assert.equal(d.code, 0, d.err);
      assert.equal(d.out.match(/^# [cm]\d+: cannot be resolved: circular (multi-line )?reference: .*\(40,002 in all\) \[metro\/circular-reference\]$/gm)?.length, 40_001);
      const c = run(["check", ...at(file)]);
      assert.equal(c.code, 1);
      assert.match(c.out, /metro\.conf:\d+:\d+: warning: circular (multi-line )?reference: /);
      const g = run(["graph", "--key", first, "--format", "json", ...at(file)]);
      assert.equal(g.code, 0, g.err);
    }
  });

  it("build --dry-run never writes through a link found in its DIR (a script's name, or the target's folder)", () => {
    const base = tempDir();
    cpSync(join(PROJECT, "examples"), join(base, "examples"), { recursive: true });
    const control = join(base, "mirror", "tiny-current", "x86-64bit", "generic", ".control");
    write(control, { "strategy/seed": "stage3\n", "strategy/build": "remote\n", "version/stage3": "seed\n" });
    write(base, { "elsewhere/victim.txt": "keep me\n" });
    const dryRun = (plan: string) => runIn(["build", "-c", join(base, "examples", "metro.conf"), "--dry-run", plan, "target:", "stage3", "path/mirror:", join(base, "mirror"), "path/tmp:", join(base, "tmp")]);
    // A script's name is a link to a file elsewhere.
    mkdirSync(join(base, "plan", "01-stage3"), { recursive: true });
    symlinkSync(join(base, "elsewhere", "victim.txt"), join(base, "plan", "01-stage3", "01-steps-unpack.sh"));
    const r = dryRun(join(base, "plan"));
    assert.equal(r.code, 2, r.out + r.err);
    assert.match(r.err, /refusing to write the step script .*01-steps-unpack\.sh: it is a symbolic link; the builder never follows links it did not make/);
    assert.equal(readFileSync(join(base, "elsewhere", "victim.txt"), "utf8"), "keep me\n");
    // The target's folder is a link to a folder elsewhere.
    mkdirSync(join(base, "plan2"));
    symlinkSync(join(base, "elsewhere"), join(base, "plan2", "01-stage3"));
    const f = dryRun(join(base, "plan2"));
    assert.equal(f.code, 2, f.out + f.err);
    assert.match(f.err, /plan2\/01-stage3 is a symbolic link to .*elsewhere; the builder never follows links it did not make/);
    assert.deepEqual(readdirSync(join(base, "elsewhere")), ["victim.txt"]);
    // Without links, the same run writes its scripts.
    const ok = dryRun(join(base, "plan3"));
    assert.equal(ok.code, 0, ok.err);
    assert.ok(readdirSync(join(base, "plan3", "01-stage3")).includes("01-steps-unpack.sh"));
  });

  it("python3 (a <?python block's, a .buildbot file's) ends with the CLI when the CLI is stopped by SIGTERM or SIGINT", async function () {
    /** Whether a process runs (a zombie waiting for its parent's wait() is over). */
    const running = (pid: number) => {
      try {
        return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
      } catch {
        return false;
      }
    };
    const settle = () => new Promise((r) => setTimeout(r, 50));
    /** Python code that writes its PID to `pidFile`, then sleeps for an hour. */
    const sleeper = (pidFile: string) => `open(${JSON.stringify(pidFile)}, "w").write(str(os.getpid()))\nimport time\ntime.sleep(3600)\n`;
    const cases: [string, (pidFile: string) => string[]][] = [
      ["block", (pidFile) => {
        write(root, { "python-sleeps.conf": `x: [\n<?python\n${sleeper(pidFile)}?>\n]\n` });
        return ["dump", ...at("python-sleeps.conf")];
      }],
      ["buildbot", (pidFile) => {
        write(root, { "sleeps.buildbot": sleeper(pidFile), "mirror/.keep": "" });
        return ["repo", "nextbuild", "--buildbot", join(root, "sleeps.buildbot"), ...at("metro.conf")];
      }],
    ];
    for (const [what, argsFor] of cases) {
      for (const signal of ["SIGTERM", "SIGINT"] as const) {
        const pidFile = join(parent, `python-${what}-${signal}.pid`);
        const cli = spawn(process.execPath, [CLI, ...argsFor(pidFile)], { stdio: "ignore", cwd: root });
        const exited = new Promise((r) => cli.on("exit", r));
        const guard = Date.now() + HANG_GUARD_MS;
        while (!existsSync(pidFile) || readFileSync(pidFile, "utf8") === "") {
          assert.ok(Date.now() < guard, `the ${what}'s python never started`);
          await settle();
        }
        const python = Number(readFileSync(pidFile, "utf8"));
        cli.kill(signal);
        await exited;
        while (running(python) && Date.now() < guard) await settle();
        const left = running(python);
        if (left) process.kill(python, "SIGKILL");
        assert.ok(!left, `the ${what}'s python3 (PID ${python}) still ran after the CLI ended on ${signal}`);
      }
    }
  });

  it("fmt as a user other than the files' owner: a file it cannot write, or whose owner it would change, and a folder it cannot list are named and left as they are", function () {
    if (process.getuid?.() !== 0 || spawnSync("setpriv", ["--version"]).status !== 0) this.skip();
    const shared = tempDir();
    // The run's TMPDIR lets others pass through: this folder is theirs to write to, as a shared tree's would be.
    chmodSync(shared, 0o777);
    write(shared, { "mine.conf": "  a: 1\n", "writable.conf": "  b: 1\n", "closed/c.conf": "  c: 1\n", "user/u.conf": "  d: 1\n" });
    chmodSync(join(shared, "writable.conf"), 0o666);
    chmodSync(join(shared, "closed"), 0o700);
    execFileSync("chown", ["-R", "65534:65534", join(shared, "user")]);
    const asNobody = (args: string[]) =>
      spawnSync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, CLI, "fmt", ...args], { encoding: "utf8", cwd: shared, timeout: HANG_GUARD_MS });
    const r = asNobody(["."]);
    assert.equal(r.status, 1, r.stderr);
    assert.doesNotMatch(r.stderr, /\n\s+at |internal error/);
    assert.equal(r.stderr.split("\n").sort().join("\n"), [
      "",
      "closed: a folder that cannot be listed: permission denied; its files are left as they are",
      "mine.conf: cannot write: permission denied; left as it is",
      "writable.conf: belongs to another user: the formatted file would belong to you; left as it is",
    ].join("\n"));
    assert.equal(readFileSync(join(shared, "mine.conf"), "utf8"), "  a: 1\n");
    assert.equal(readFileSync(join(shared, "writable.conf"), "utf8"), "  b: 1\n");
    assert.equal(readFileSync(join(shared, "user", "u.conf"), "utf8"), "d: 1\n", "its own file is formatted");
    assert.deepEqual(readdirSync(shared).sort(), ["closed", "mine.conf", "user", "writable.conf"], "nothing left beside them");
  });

  it("fmt - names where standard input stops being UTF-8", () => {
    const p = spawnSync(process.execPath, [CLI, "fmt", "-"], { input: Buffer.from("ok: 1\nx: caf\xe9\n", "latin1"), encoding: "utf8", timeout: HANG_GUARD_MS });
    assert.equal(p.status, 1);
    assert.equal(p.stderr, "<stdin>:2:7: not valid UTF-8: metro cannot read it\n");
  });

  it("a contexts file that is not JSON is named with the line and column where it stops being JSON", () => {
    const cases: [string, RegExp][] = [
      ['[{"config": "metro.conf", "args": {}', /^metro-engine: .*truncated\.json:1:37: not valid JSON: /],
      ['[\n  {"config": "metro.conf",\n   "args": {"b": "1",}}\n]', /^metro-engine: .*truncated\.json:3:22: not valid JSON: /],
      ['[\n  {"config": "metro.conf", "args": {"b": nope}}\n]', /^metro-engine: .*truncated\.json:2:43: not valid JSON: Unexpected token/],
      ["", /^metro-engine: .*truncated\.json:1:1: not valid JSON: the text ends too early\n/],
      ['[{"config": "metro.conf"}]]', /^metro-engine: .*truncated\.json:1:27: not valid JSON: Unexpected non-whitespace character after JSON\n/],
    ];
    for (const [text, expected] of cases) {
      write(root, { "truncated.json": text });
      for (const command of ["dump", "check", "graph"]) {
        const r = run([command, "--contexts", join(root, "truncated.json")]);
        assert.equal(r.code, 2);
        assert.match(r.err, expected);
        assert.doesNotMatch(r.err, /at position/);
      }
    }
  });

  it("a contexts file naming an entry file that does not exist names the entry", () => {
    write(root, { "second-missing.json": JSON.stringify([{ config: "metro.conf" }, { config: "sub/none.conf" }]) });
    const r = run(["dump", "--contexts", join(root, "second-missing.json")]);
    assert.equal(r.code, 2);
    assert.match(r.err, /^metro-engine: .*second-missing\.json: entry 2: config file ".*sub\/none\.conf" does not exist\n/);
  });

  it("refuses a contexts file whose args is a list", () => {
    write(root, { "list-args.json": JSON.stringify([{ config: "metro.conf", args: ["a", "b"] }]) });
    const r = run(["dump", "--contexts", join(root, "list-args.json")]);
    assert.equal(r.code, 2);
    assert.match(r.err, /entry 1: "args" must be an object mapping names to strings/);
  });
});
