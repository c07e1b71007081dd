import assert from "node:assert/strict";
import { tempDir as newTempDir } from "../support/trees";
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { userInfo } from "node:os";
import { dirname, join } from "node:path";
import { compareCodePoints, formatYmd, parsePyJson, pyInt, pySlice, strptimeYmd } from "../../engine/buildrepo/python-semantics";
import { CLI, SHARED } from "../support/shared";

const BUILDREPO = join(SHARED, "buildrepo", "cases");
const COMMANDS = ["nextbuild", "fails", "empties", "zap", "clean", "index.xml", "digestgen"];

interface Golden {
  commands: Record<string, { stdout: string; exit: number; files: Record<string, unknown> }>;
}

type Entry = ["file", string] | ["link", string];

/** Every file and link below `root`, as run.py's snapshot sees them. */
function snapshot(root: string): Map<string, Entry> {
  const out = new Map<string, Entry>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      const st = lstatSync(p);
      const rel = p.slice(root.length + 1);
      if (st.isSymbolicLink()) out.set(rel, ["link", readlinkSync(p)]);
      else if (st.isDirectory()) walk(p);
      else if (st.isFile()) out.set(rel, ["file", readFileSync(p).toString("latin1")]);
    }
  };
  walk(root);
  return out;
}

/** How the mirror changed, in golden.json's form (signatures the engine makes are not compared). */
function changes(before: Map<string, Entry>, after: Map<string, Entry>, mirror: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const rel of [...new Set([...before.keys(), ...after.keys()])].sort()) {
    const a = before.get(rel);
    const b = after.get(rel);
    if (a && b && a[0] === b[0] && a[1] === b[1]) continue;
    if (!b) out[rel] = "deleted";
    else if (b[0] === "link") out[rel] = { symlink: b[1].split(mirror).join("@MIRROR@") };
    else if (!rel.endsWith(".gpg")) out[rel] = Buffer.from(b[1], "latin1").toString("utf8").split(mirror).join("@MIRROR@");
  }
  return out;
}

/** Writes a regular file holding a link's target back as the link (the kit stores links that way). */
function relink(dir: string): void {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = lstatSync(p);
    if (st.isDirectory()) relink(p);
    else if (st.isFile() && /(\.tar(\.(gz|bz2|xz))?|\.hash\.txt|\.gpg)$/.test(name) && st.size > 0 && st.size < 256) {
      const text = readFileSync(p, "utf8");
      if (/^[^\s\x00-\x1f]+$/.test(text)) {
        unlinkSync(p);
        symlinkSync(text, p);
      }
    }
  }
}

/** A case copied as the README prescribes: links kept, @LIVEPID@ = this process, @MIRROR@ = the copy. */
function materialize(caseDir: string, work: string, realLinks: boolean): { mirror: string; home: string } {
  const mirror = join(work, "mirror");
  const home = join(work, "home");
  cpSync(join(caseDir, "mirror"), mirror, { recursive: true, verbatimSymlinks: true });
  const fix = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      const st = lstatSync(p);
      if (st.isDirectory()) fix(p);
      else if (st.isFile()) {
        const text = readFileSync(p, "latin1");
        if (text.includes("@LIVEPID@")) writeFileSync(p, text.split("@LIVEPID@").join(String(process.pid)), "latin1");
      }
    }
  };
  fix(mirror);
  if (realLinks) relink(mirror);
  mkdirSync(home);
  cpSync(join(caseDir, "home", ".buildbot"), join(home, ".buildbot"));
  writeFileSync(join(home, ".metro"), readFileSync(join(caseDir, "home", ".metro"), "utf8").split("@MIRROR@").join(mirror));
  return { mirror, home };
}

function repo(args: string[], opts: { cwd: string; home: string }) {
  const p = spawnSync(process.execPath, [CLI, "repo", ...args], { cwd: opts.cwd, env: { ...process.env, HOME: opts.home, TZ: "UTC" }, encoding: "utf8" });
  return { code: p.status, out: p.stdout, err: p.stderr };
}

const tempDir = () => newTempDir("metro-repo-");

describe("repo: buildrepo's recorded answers (../shared/buildrepo)", function () {
  const cases = existsSync(BUILDREPO) ? readdirSync(BUILDREPO).filter((n) => existsSync(join(BUILDREPO, n, "golden.json"))).sort() : [];
  if (cases.length === 0) {
    it("(skipped: ../shared/buildrepo is not present)", function () {
      console.log(`      (skipped: ${BUILDREPO} is not present)`);
      this.skip();
    });
  }
  for (const name of cases) {
    const dir = join(BUILDREPO, name);
    const golden: Golden = JSON.parse(readFileSync(join(dir, "golden.json"), "utf8"));
    const today = readFileSync(join(dir, "today"), "utf8").trim();
    const commands = [...COMMANDS.filter((c) => c in golden.commands), ...Object.keys(golden.commands).filter((c) => !COMMANDS.includes(c)).sort()];
    for (const command of commands) {
      // digestgen is where links matter: also run it on real links, without placeholder handling.
      for (const realLinks of command === "digestgen" ? [false, true] : [false]) {
        it(`${name} ${command}${realLinks ? " (real links, --no-link-placeholders)" : ""}`, () => {
          const work = tempDir();
          try {
            const { mirror, home } = materialize(dir, work, realLinks);
            const before = snapshot(mirror);
            const args = [command, "--buildbot", join(home, ".buildbot"), "--config", join(home, ".metro"), "--today", today];
            if (command === "digestgen") args.push("--no-sign");
            if (realLinks) args.push("--no-link-placeholders");
            const r = repo(args, { cwd: work, home });
            const want = golden.commands[command];
            assert.equal(r.code, want.exit, `exit status (stderr: ${r.err})`);
            assert.equal(r.out.split(mirror).join("@MIRROR@"), want.stdout);
            assert.deepEqual(changes(before, snapshot(mirror), mirror), want.files);
          } finally {
            rmSync(work, { recursive: true, force: true });
          }
        });
      }
    }
  }
});

// ---------------------------------------------------------------------------
// A small mirror of our own, for what the recorded cases do not cover.

const TODAY = "2024-06-10";
// digestgen gives hash files to path/mirror/owner and group: this user's, so that it may.
const OWNER = userInfo().username;
const GROUP = spawnSync("id", ["-gn"], { encoding: "utf8" }).stdout.trim() || OWNER;

function writeFiles(root: string, files: Record<string, string | { link: string }>): void {
  for (const [rel, v] of Object.entries(files)) {
    const p = join(root, rel);
    mkdirSync(dirname(p), { recursive: true });
    if (typeof v === "string") writeFileSync(p, v);
    else symlinkSync(v.link, p);
  }
}

interface Fixture {
  root: string;
  mirror: string;
  home: string;
  run(...args: string[]): { code: number | null; out: string; err: string };
}

/**
 * rel/amd64/{a,b,c,d}: a never built and held by a live lock (this process), b built 2024-06-01 with
 * stage3 and lxd, c built yesterday with fail count 1, d built 2024-05-20 (plus a failed build on
 * 2024-06-08) with a stale lock. all_arches names arm, which does not exist.
 */
function fixture(buildbotExtra = "", files: Record<string, string | { link: string }> = {}): Fixture {
  const root = tempDir();
  const mirror = join(root, "mirror");
  const home = join(root, "home");
  writeFiles(root, {
    "home/.metro": `[section path]\nmirror: ${mirror}\n\n[section path/mirror]\nowner: ${OWNER}\ngroup: ${GROUP}\n\n[section portage]\nMAKEOPTS: -j2\n`,
    "home/.buildbot": [
      'builds = ("rel",)',
      'arches = ("amd64",)',
      'subarches = ("a", "b", "c", "d")',
      'all_builds = builds',
      'all_arches = ("arm",) + arches',
      'all_subarches = subarches',
      "def map_build(build, subarch, full, full_date):",
      "\tif full:",
      '\t\treturn "freshen+lxd"',
      '\treturn "full"',
      buildbotExtra,
      "",
    ].join("\n"),
    "mirror/rel/amd64/a/.control/.multi_progress": String(process.pid),
    "mirror/rel/amd64/b/2024-06-01/status": "ok\n",
    "mirror/rel/amd64/b/2024-06-01/stage3-b-rel-2024-06-01.tar.xz": "",
    "mirror/rel/amd64/b/2024-06-01/lxd-b-rel-2024-06-01.tar.xz": "",
    "mirror/rel/amd64/b/2024-06-01/build-info.json": '{"CHOST": "x86_64-pc-linux-gnu", "ARCH": "amd64", "CFLAGS": "-O2 \\"x\\" <&>\\tend"}',
    "mirror/rel/amd64/b/stage3-latest.tar.xz": { link: "2024-06-01/stage3-b-rel-2024-06-01.tar.xz" },
    "mirror/rel/amd64/c/.control/.failcount": "1\n",
    "mirror/rel/amd64/c/2024-06-09/status": "ok",
    "mirror/rel/amd64/c/2024-06-09/stage3-c-rel-2024-06-09.tar.gz": "",
    "mirror/rel/amd64/d/.control/.multi_progress": "4200001",
    "mirror/rel/amd64/d/2024-05-20/status": "ok",
    "mirror/rel/amd64/d/2024-05-20/stage3-d-rel-2024-05-20.tar.bz2": "",
    "mirror/rel/amd64/d/2024-06-08/status": "fail",
    "mirror/rel/snapshots/portage-2024-06-01.tar.xz": "",
    "mirror/rel/snapshots/portage-2024-06-05.tar.xz": "",
    "mirror/rel/snapshots/portage-2024-06-09.tar.xz": "",
    "mirror/rel/snapshots/portage-current.tar.xz": { link: "portage-2024-06-09.tar.xz" },
    ...files,
  });
  return {
    root,
    mirror,
    home,
    run: (...args: string[]) => repo([...args, "--buildbot", join(home, ".buildbot"), "--config", join(home, ".metro")], { cwd: root, home }),
  };
}

describe("repo: commands on a mirror of our own", () => {
  let f: Fixture;
  beforeEach(() => {
    f = fixture();
  });
  afterEach(() => rmSync(f.root, { recursive: true, force: true }));

  it("nextbuild skips the live lock, removes the stale one and prints the oldest stale build", () => {
    const r = f.run("nextbuild", "--today", TODAY);
    assert.equal(r.code, 0, r.err);
    assert.equal(
      r.out,
      `Path not found: ${f.mirror}/rel/arm\nrelease=rel\narch_desc=amd64\nsubarch=d\nfulldate=2024-05-20\nnextdate=2024-06-10\nfailcount=0\ntarget=freshen\nextras='lxd'\n`,
    );
    assert.match(r.err, new RegExp(`# Build at ${f.mirror}/rel/amd64/a in progress, skipping\\.\\.\\.`));
    assert.match(r.err, /# Removing stale lock file: .*\/d\/\.control\/\.multi_progress/);
    assert.ok(!existsSync(join(f.mirror, "rel/amd64/d/.control/.multi_progress")));
    assert.ok(existsSync(join(f.mirror, "rel/amd64/a/.control/.multi_progress")));
  });

  it("nextbuild --json: the chosen build, the skipped lock and the removed one", () => {
    const r = f.run("nextbuild", "--today", `${TODAY} 12:00:00`, "--json");
    assert.equal(r.code, 0, r.err);
    const doc = JSON.parse(r.out);
    assert.deepEqual(Object.keys(doc), ["command", "exit", "mirror", "now", "pathsNotFound", "build", "skipped", "locksRemoved", "error"]);
    assert.equal(doc.now, "2024-06-10 12:00:00");
    assert.deepEqual(doc.pathsNotFound, [`${f.mirror}/rel/arm`]);
    assert.deepEqual(doc.build, {
      release: "rel",
      arch_desc: "amd64",
      subarch: "d",
      path: `${f.mirror}/rel/amd64/d`,
      failcount: 0,
      fulldate: "2024-05-20",
      nextdate: "2024-06-10",
      full: true,
      queue: "stale",
      pass: 0,
      target: "freshen",
      extras: "lxd",
      error: null,
    });
    assert.deepEqual(doc.skipped, [{ state: "live", path: `${f.mirror}/rel/amd64/a/.control/.multi_progress`, pid: process.pid }]);
    assert.deepEqual(doc.locksRemoved, [{ state: "dead", path: `${f.mirror}/rel/amd64/d/.control/.multi_progress`, pid: 4200001 }]);
    assert.equal(doc.error, null);
  });

  it("plan lists nextbuild's walk without changing anything; its first unskipped build is nextbuild's", () => {
    const r = f.run("plan", "--today", TODAY, "--json");
    assert.equal(r.code, 0, r.err);
    const doc = JSON.parse(r.out);
    assert.deepEqual(
      doc.builds.map((b: { subarch: string; queue: string; skipped: boolean; lock: { state: string } }) => [b.subarch, b.queue, b.skipped, b.lock.state]),
      [
        ["a", "never-built", true, "live"],
        ["d", "stale", false, "dead"],
        ["b", "stale", false, "none"],
      ],
    );
    assert.equal(doc.next, 2);
    assert.equal(doc.builds[0].target, "full");
    assert.equal(doc.builds[0].extras, "");
    assert.ok(existsSync(join(f.mirror, "rel/amd64/d/.control/.multi_progress")), "plan removes no lock");
    const next = JSON.parse(f.run("nextbuild", "--today", TODAY, "--json").out).build;
    const chosen = doc.builds[doc.next - 1];
    for (const k of Object.keys(next)) assert.deepEqual(chosen[k], next[k], k);
  });

  it("plan --format github-matrix is a strategy.matrix with the builds to start", () => {
    const r = f.run("plan", "--today", TODAY, "--format", "github-matrix");
    assert.equal(r.code, 0, r.err);
    const matrix = JSON.parse(r.out);
    assert.deepEqual(Object.keys(matrix), ["include"]);
    assert.deepEqual(
      matrix.include.map((b: Record<string, unknown>) => [b.release, b.arch_desc, b.subarch, b.target, b.extras, b.fulldate, b.nextdate, b.failcount]),
      [
        ["rel", "amd64", "d", "freshen", "lxd", "2024-05-20", "2024-06-10", 0],
        ["rel", "amd64", "b", "freshen", "lxd", "2024-06-01", "2024-06-10", 0],
      ],
    );
  });

  it("plan --format gitlab is a child pipeline: one job per build, resource_group per subarch", () => {
    const r = f.run("plan", "--today", TODAY, "--format", "gitlab", "--build-command", "echo");
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trimEnd().split("\n");
    assert.deepEqual(lines.slice(1, 3), ["stages:", "  - build"]);
    const jobs = lines.filter((l) => /^"/.test(l));
    assert.deepEqual(jobs, ['"build rel amd64 d":', '"build rel amd64 b":']);
    // Every job: a stage, a resource group, variables with JSON-quoted values, one script line.
    const groups = lines.filter((l) => l.startsWith("  resource_group: ")).map((l) => JSON.parse(l.slice(18)));
    assert.deepEqual(groups, ["d", "b"]);
    for (const l of lines.filter((x) => x.startsWith("    ") && !x.startsWith("    - "))) assert.match(l, /^    [A-Z_]+: "[^"]*"$/);
    const scripts = lines.filter((l) => l.startsWith("    - "));
    assert.equal(scripts.length, 2);
    assert.equal(
      scripts[0],
      `    - 'echo multi: yes target/build: "$RELEASE" target/arch_desc: "$ARCH_DESC" target/subarch: "$SUBARCH" target/version: "$NEXTDATE" multi/mode: "$TARGET" multi/extras: "$EXTRAS"'`,
    );
  });

  it("plan --format gitlab with nothing due still has a job; github-matrix an empty include", () => {
    const late = "2024-05-01";
    rmSync(join(f.mirror, "rel/amd64/a"), { recursive: true });
    const gitlab = f.run("plan", "--today", late, "--format", "gitlab");
    assert.equal(gitlab.code, 0, gitlab.err);
    assert.match(gitlab.out, /^"no builds due":$/m);
    assert.deepEqual(JSON.parse(f.run("plan", "--today", late, "--format", "github-matrix").out), { include: [] });
  });

  it("fails: counts descending, then the rest in scan order, with the newest build's flavors", () => {
    const r = f.run("fails", "--today", TODAY);
    assert.equal(r.code, 0, r.err);
    const s = `${f.mirror}/rel/amd64`;
    assert.equal(
      r.out,
      `Path not found: ${f.mirror}/rel/arm\n   1   2024-06-09 ${s}/c (stage3)\n   0         None ${s}/a ()\n   0   2024-06-01 ${s}/b (lxd,stage3)\n   0   2024-05-20 ${s}/d (stage3)\n`,
    );
    const doc = JSON.parse(f.run("fails", "--today", TODAY, "--json").out);
    assert.deepEqual(doc.subarches[0], { release: "rel", arch_desc: "amd64", subarch: "c", path: `${s}/c`, failcount: 1, fulldate: "2024-06-09", date: "2024-06-09", flavors: ["stage3"] });
  });

  it("empties prints nothing as buildrepo does; --intended lists the never-built subarches", () => {
    assert.equal(f.run("empties", "--today", TODAY).out, `Path not found: ${f.mirror}/rel/arm\n`);
    const r = f.run("empties", "--today", TODAY, "--intended");
    assert.equal(r.out, `Path not found: ${f.mirror}/rel/arm\n${f.mirror}/rel/amd64/a\n`);
    assert.deepEqual(JSON.parse(f.run("empties", "--intended", "--json").out).subarches.map((x: { subarch: string }) => x.subarch), ["a"]);
  });

  it("zap removes the fail counts of the subarches built here", () => {
    const r = f.run("zap", "--json");
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(JSON.parse(r.out).removed, [`${f.mirror}/rel/amd64/c/.control/.failcount`]);
    assert.ok(!existsSync(join(f.mirror, "rel/amd64/c/.control/.failcount")));
  });

  it("clean only prints; keep_num = 0 keeps every build and all snapshots but the oldest", () => {
    const g = fixture("keep_num = 0");
    try {
      const r = g.run("clean", "--today", TODAY);
      assert.equal(r.code, 0, r.err);
      const s = `${g.mirror}/rel/amd64`;
      assert.equal(
        r.out,
        [
          `Path not found: ${g.mirror}/rel/arm`,
          `# keeping ${s}/b/2024-06-01`,
          `# keeping ${s}/c/2024-06-09`,
          `# keeping ${s}/d/2024-05-20`,
          `# keeping ${g.mirror}/rel/snapshots/portage-2024-06-05.tar.xz`,
          `# keeping ${g.mirror}/rel/snapshots/portage-2024-06-09.tar.xz`,
          `# keeping ${s}/d/2024-06-08`,
          "",
        ].join("\n"),
      );
      const actions = JSON.parse(g.run("clean", "--today", "2024-06-30", "--json").out).actions;
      assert.deepEqual(actions[actions.length - 1], { action: "remove", what: "incomplete-build", path: `${s}/d/2024-06-08` });
    } finally {
      rmSync(g.root, { recursive: true, force: true });
    }
  });

  it("index.xml: lxml's layout, build-info.json keys in file order, escaped values", () => {
    const r = f.run("index.xml", "--json");
    assert.equal(r.code, 0, r.err);
    const xml = readFileSync(join(f.mirror, "index.xml"), "utf8");
    const lines = xml.split("\n");
    assert.equal(lines[0], "<?xml version='1.0' encoding='UTF-8'?>");
    assert.equal(lines[1], "<subarches>");
    assert.equal(lines[2], `  <subarch name="b" builds="1,2" CHOST="x86_64-pc-linux-gnu" ARCH="amd64" CFLAGS="-O2 &quot;x&quot; &lt;&amp;&gt;&#9;end">`);
    assert.equal(lines[3], `    <build id="1" variant="lxd" release="rel" path="/rel/amd64/b" latest="2024-06-01" download="/rel/amd64/b/2024-06-01/lxd-b-rel-2024-06-01.tar.xz" size="0B"/>`);
    assert.equal(lines[lines.length - 2], "</subarches>");
    const doc = JSON.parse(r.out);
    assert.equal(doc.file, join(f.mirror, "index.xml"));
    assert.deepEqual(doc.subarches.map((x: { name: string; builds: unknown[] }) => [x.name, x.builds.length]), [["b", 2], ["c", 1], ["d", 1]]);
  });

  it("digestgen hashes tarballs, links the hash of a tarball link, and --no-sign runs no gpg", () => {
    const r = f.run("digestgen", "--no-sign");
    assert.equal(r.code, 0, r.err);
    const s = `${f.mirror}/rel/amd64`;
    const tarball = `${s}/b/2024-06-01/stage3-b-rel-2024-06-01.tar.xz`;
    assert.match(r.out, new RegExp(`^${tarball.replace(/[.]/g, "\\.")}\nh${tarball.replace(/[.]/g, "\\.")}\\.gpg$`, "m"));
    assert.equal(readFileSync(`${tarball}.hash.txt`, "utf8"), "sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n");
    assert.equal(readlinkSync(`${s}/b/stage3-latest.tar.xz.hash.txt`), "2024-06-01/stage3-b-rel-2024-06-01.tar.xz.hash.txt");
    assert.ok(!existsSync(`${tarball}.gpg`));
    assert.ok(r.out.endsWith("\nCleaning up old hashes...\n\nDone!\n"), r.out);
  });
});

describe("repo: where buildrepo stops, and usage errors", () => {
  it("an empty .failcount stops the scan (buildrepo's IndexError): exit 1, what was printed stays", () => {
    const f = fixture("", { "mirror/rel/amd64/b/.control/.failcount": "" });
    try {
      for (const command of ["nextbuild", "fails", "clean"]) {
        const r = f.run(command, "--today", TODAY);
        assert.equal(r.code, 1, command);
        assert.equal(r.out, `Path not found: ${f.mirror}/rel/arm\n`);
        assert.match(r.err, /\.failcount: .*IndexError/);
        assert.doesNotMatch(r.err, /\n\s+at /);
      }
      const doc = JSON.parse(f.run("fails", "--json").out);
      assert.equal(doc.exit, 1);
      assert.equal(doc.error.type, "IndexError");
    } finally {
      rmSync(f.root, { recursive: true, force: true });
    }
  });

  it("a .buildbot that Python rejects: exit 1 with the file and line", () => {
    const f = fixture("builds = (\n");
    try {
      const r = f.run("nextbuild");
      assert.equal(r.code, 1);
      assert.match(r.err, /\.buildbot:\d+: SyntaxError/);
      assert.equal(r.out, "");
    } finally {
      rmSync(f.root, { recursive: true, force: true });
    }
  });

  it("map_build's answer: a tuple, what it prints, and an exception after the first lines", () => {
    const f = fixture('def map_build(build, subarch, full, full_date):\n\tprint("asked", subarch)\n\tif subarch == "d":\n\t\treturn ("freshen", "gnome", "lxd")\n\treturn ()\n');
    try {
      const r = f.run("nextbuild", "--today", TODAY);
      assert.equal(r.code, 0, r.err);
      assert.ok(r.out.endsWith("failcount=0\nasked d\ntarget=freshen\nextras='gnome+lxd'\n"), r.out);
      // b has an empty answer: buildrepo prints its six lines, then map_build()[0] fails.
      rmSync(join(f.mirror, "rel/amd64/d"), { recursive: true });
      const bad = f.run("nextbuild", "--today", TODAY);
      assert.equal(bad.code, 1);
      assert.ok(bad.out.endsWith("subarch=b\nfulldate=2024-06-01\nnextdate=2024-06-10\nfailcount=0\nasked b\n"), bad.out);
      assert.match(bad.err, /IndexError/);
    } finally {
      rmSync(f.root, { recursive: true, force: true });
    }
  });

  it("rejects bad arguments with exit 2 and a message, never a stack trace", () => {
    const f = fixture();
    try {
      const cases: [string[], RegExp][] = [
        [[], /repo needs a COMMAND/],
        [["nextbuild", "--today", "yesterday"], /--today "yesterday" is not a date/],
        [["nextbuild", "--today", "2024-02-30"], /is not a date/],
        [["fails", "--format", "gitlab"], /--format is for repo plan/],
        [["plan", "--format", "xml"], /--format must be/],
        [["nextbuild", "--frobnicate"], /unknown option --frobnicate/],
        [["nextbuild", "target:", "x"], /no KEY: VALUE/],
      ];
      for (const [args, message] of cases) {
        const r = f.run(...args);
        assert.equal(r.code, 2, args.join(" "));
        assert.match(r.err, message);
        assert.doesNotMatch(r.err, /\n\s+at /);
      }
      const missing = repo(["fails", "--buildbot", join(f.root, "nope"), "--config", join(f.home, ".metro")], { cwd: f.root, home: f.home });
      assert.equal(missing.code, 2);
      assert.match(missing.err, /buildbot file ".*nope" does not exist/);
      const unknown = f.run("compres");
      assert.equal(unknown.code, 1);
      assert.equal(unknown.out, `Path not found: ${f.mirror}/rel/arm\nDon't understand: compres\n`);
    } finally {
      rmSync(f.root, { recursive: true, force: true });
    }
  });
});

describe("repo: Python semantics", () => {
  it("int() of a text", () => {
    assert.equal(pyInt(" 12\n"), 12n);
    assert.equal(pyInt("+1_000"), 1000n);
    assert.equal(pyInt("-3"), -3n);
    assert.equal(pyInt("\u0663"), 3n);
    for (const bad of ["", " ", "1_", "_1", "1__0", "host:123", "0x10", "- 1", "1".repeat(4301)]) assert.equal(pyInt(bad), null, bad);
  });

  it("strptime %Y-%m-%d and glibc's strftime", () => {
    assert.equal(formatYmd(strptimeYmd("2021-1-5")!), "2021-01-05");
    assert.equal(strptimeYmd("2021-02-30"), null);
    assert.equal(strptimeYmd("0000-01-01"), null);
    assert.equal(strptimeYmd("2021-01-05.bak"), null);
    assert.equal(formatYmd(strptimeYmd("0005-01-01")!), "5-01-01");
  });

  it("slices with negative bounds, code point order, json.loads key order", () => {
    const l = [1, 2, 3];
    assert.deepEqual(pySlice(l, 0, -0), []);
    assert.deepEqual(pySlice(l, -0), [1, 2, 3]);
    assert.deepEqual(pySlice(l, 0, -2), [1]);
    assert.deepEqual(pySlice(l, 1), [2, 3]);
    assert.deepEqual(pySlice(l, -5, 9), [1, 2, 3]);
    assert.ok(compareCodePoints("\u{1F600}", "\uFFFD") > 0);
    const j = parsePyJson('{"b": "1", "2": "x", "b": "2"}');
    assert.deepEqual(j, { kind: "object", entries: [["b", { kind: "string", value: "2" }], ["2", { kind: "string", value: "x" }]] });
    assert.throws(() => parsePyJson('{"a": 1,}'));
  });
});
