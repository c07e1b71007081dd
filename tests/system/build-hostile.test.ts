// The builder against hostile configurations, mirrors, seeds and kills, for
// real: the built CLI as root, real chroots, mounts, tmpfs and SIGKILLs in
// temporary folders. Each test asserts a clear message naming the file or
// setting, that nothing outside the build's own folders changed (a canary
// folder with a file of known content, mode, owner and time), and that no
// process and no mount is left behind (scoped to the test's folders and the
// build's own namespaces).

import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { appendFileSync, chmodSync, chownSync, copyFileSync, existsSync, linkSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmdirSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Scratch, VERSION, cliPath, filesNamed, have, missingPrerequisite, mountsBelow, processesGone, processesRootedIn, removeCliCopy, runCli, useCliCopy, type CliResult } from "../support/builder";

/** A folder outside the build with a file whose content, mode, owner and times are known; nothing may change it. */
class Canary {
  readonly dir: string;
  readonly file: string;
  /** A process whose executable lies in the canary folder: a kill "below" the folder would end it. */
  readonly sleeper: ChildProcess;
  private readonly before: string;

  constructor(base: string) {
    this.dir = join(base, "canary");
    mkdirSync(this.dir);
    this.file = join(this.dir, "precious.txt");
    writeFileSync(this.file, "precious\n", { mode: 0o600 });
    chownSync(this.file, 65534, 65534);
    utimesSync(this.file, 1_000_000_000, 1_000_000_000);
    copyFileSync("/bin/sleep", join(this.dir, "sleep"));
    this.sleeper = spawn(join(this.dir, "sleep"), ["600"], { stdio: "ignore" });
    this.before = this.state();
  }

  private state(): string {
    const entries = readdirSync(this.dir).sort().map((name) => {
      const st = lstatSync(join(this.dir, name));
      return { name, mode: st.mode, uid: st.uid, gid: st.gid, size: st.size, mtimeMs: st.mtimeMs, content: st.isFile() && name !== "sleep" ? readFileSync(join(this.dir, name), "utf8") : null };
    });
    const st = lstatSync(this.dir);
    return JSON.stringify({ mode: st.mode, uid: st.uid, gid: st.gid, mtimeMs: st.mtimeMs, entries });
  }

  assertUntouched(): void {
    assert.equal(this.state(), this.before, "the canary folder outside the build changed");
    assert.equal(this.sleeper.exitCode, null, "the canary process is still running");
    assert.equal(this.sleeper.signalCode, null, "the canary process was not killed");
  }

  stop(): void {
    this.sleeper.kill("SIGKILL");
  }
}

/** Processes whose root, working directory or executable lies below `dir`, except `except`. */
function processesUsing(dir: string, except: number[] = []): string[] {
  const found: string[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name) || except.includes(Number(name))) continue;
    for (const link of ["root", "cwd", "exe"]) {
      try {
        const target = readlinkSync(`/proc/${name}/${link}`);
        if (target === dir || target.startsWith(dir + "/")) {
          found.push(`${name} (${link} ${target})`);
          break;
        }
      } catch {
        // gone
      }
    }
  }
  return found;
}

/** Processes in the mount namespace `ns` (a /proc/PID/ns/mnt link text). */
function processesInNamespace(ns: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readlinkSync(`/proc/${name}/ns/mnt`) === ns) pids.push(Number(name));
    } catch {
      // gone
    }
  }
  return pids;
}

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === pid) out.push(Number(name));
    } catch {
      // gone
    }
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A clear message: the pattern matches, and no stack trace. */
function assertMessage(r: CliResult, code: number, pattern: RegExp): void {
  const out = r.stdout + r.stderr;
  assert.equal(r.code, code, out);
  assert.match(out, pattern);
  assert.doesNotMatch(out, /\n\s+at .*\(.*:\d+:\d+\)/, "no stack trace");
  assert.doesNotMatch(out, /internal error/i);
}

/**
 * A QA target of class chroot that unpacks the seed and whose chroot step
 * leaves a process in its own session and then sleeps `hang/seconds`
 * (300 unless given): a build with something running in the chroot, with no
 * snapshot needed.
 */
function addHangTarget(s: Scratch): void {
  writeFileSync(join(s.tree, "targets", "tiny", "hang.spec"), `[collect ./source/seed.spec]

[section target]

class: chroot
name: hang-$[:subarch]-$[:version]
name/prefix: hang-$[:subarch]-

[section path]

chroot: $[path/work]

[section steps]

unpack: [
#!/bin/sh
set -e
install -d $[path/chroot]
tar -xpf "$[path/mirror/source]" --exclude='./dev/*' -C $[path/chroot]
]

[section steps/chroot]

run: [
#!/bin/sh
setsid sleep $[hang/seconds] < /dev/null > /dev/null 2>&1 &
echo sleeping-now
sleep $[hang/seconds]
]
`);
  appendFileSync(join(s.tree, "metro.conf"), "\n[section hang]\n\nseconds: 300\n");
}

/**
 * A QA target of class chroot named `name` that unpacks the seed and runs
 * `run` in the chroot (`chroot` is its path/chroot; `unpack` replaces the
 * unpack step's commands).
 */
function addChrootTarget(s: Scratch, name: string, run: string, chroot = "$[path/work]", unpack = `install -d $[path/chroot]
tar -xpf "$[path/mirror/source]" --exclude='./dev/*' -C $[path/chroot]`): void {
  writeFileSync(join(s.tree, "targets", "tiny", `${name}.spec`), `[collect ./source/seed.spec]

[section target]

class: chroot
name: ${name}-$[:subarch]-$[:version]
name/prefix: ${name}-$[:subarch]-

[section path]

chroot: ${chroot}

[section steps]

unpack: [
#!/bin/sh
set -e
${unpack}
]

[section steps/chroot]

run: [
#!/bin/sh
${run}
]
`);
}

function hangArgs(s: Scratch, ...extra: string[]): string[] {
  return s.args("target:", "hang", "release/type:", "qa", ...extra);
}

function hangLog(s: Scratch): string {
  return join(s.versionDir, "log", "hang.txt");
}

/** Runs the hang target and calls `whileSleeping` once its chroot step sleeps. */
function buildUntilSleeping(s: Scratch, extra: string[], whileSleeping: (pid: number) => void | Promise<void>): Promise<CliResult> {
  return runCli(hangArgs(s, ...extra), (pid) => {
    const poll = setInterval(() => {
      if (existsSync(hangLog(s)) && readFileSync(hangLog(s), "utf8").includes("sleeping-now")) {
        clearInterval(poll);
        void whileSleeping(pid);
      }
    }, 100);
    setTimeout(() => clearInterval(poll), 120_000).unref();
  });
}

/** Repacks the scratch's seed with `change` applied to its unpacked tree. */
function doctorSeed(s: Scratch, change: (root: string) => void): void {
  const seed = join(s.buildDir, "seed", "stage3-generic-tiny-current-seed.tar.xz");
  const root = join(s.base, "seed-root");
  mkdirSync(root);
  assert.equal(spawnSync("tar", ["-xJpf", seed, "-C", root]).status, 0);
  change(root);
  const r = spawnSync("sh", ["-c", `tar -cpf - -C "${root}" . | xz -c > "${seed}.new"`]);
  assert.equal(r.status, 0, String(r.stderr));
  renameSync(`${seed}.new`, seed);
  assert.equal(spawnSync("rm", ["-rf", "--one-file-system", "--", root]).status, 0);
}

describe("metro-engine build against hostile paths, mirrors, seeds and kills (root)", function () {
  this.timeout(180_000);
  const scratches: Scratch[] = [];
  const canaries: Canary[] = [];
  const mounted: string[] = [];
  /** Processes run as another user by a test: ended by PID in the after hook. */
  const others: ChildProcess[] = [];
  /** Inner builders seen by the kill tests: if a test fails, the after hook ends them (they are ours). */
  const inners: number[] = [];
  const scratch = (label: string) => {
    const s = new Scratch(`hostile-${label}`);
    scratches.push(s);
    return s;
  };
  const canary = (s: Scratch) => {
    const c = new Canary(s.base);
    canaries.push(c);
    return c;
  };
  /** Nothing of the build is left: no mount below the scratch, no process using it (but the canary), no lock in the mirror. */
  const assertNothingLeft = (s: Scratch, c?: Canary) => {
    assert.deepEqual(mountsBelow(s.base), [], "mounts left behind");
    assert.deepEqual(processesUsing(s.base, c?.sleeper.pid ? [c.sleeper.pid] : []), [], "processes left behind");
    assert.deepEqual(filesNamed(s.mirror, (n) => n.endsWith("_progress")), [], "locks left in the mirror");
    assert.ok(!existsSync(join(s.tmp, ".metro-engine.lock")), "the path/tmp lock was released");
  };

  before(function () {
    const missing = missingPrerequisite();
    if (missing) {
      console.log(`      (skipped: ${missing})`);
      this.skip();
    }
    useCliCopy();
  });

  after(() => {
    // After a failed test only: end what the test's own builds left (by PID, in the test's folders).
    for (const pid of inners) if (alive(pid)) process.kill(pid, "SIGKILL");
    for (const s of scratches) {
      for (const entry of processesUsing(s.base, canaries.map((c) => c.sleeper.pid ?? 0))) process.kill(Number(entry.split(" ")[0]), "SIGKILL");
    }
    for (const c of canaries) c.stop();
    for (const p of others) p.kill("SIGKILL");
    for (const m of mounted.reverse()) spawnSync("umount", [m]);
    for (const s of scratches) s.remove();
    removeCliCopy();
  });

  it("refuses a blank, relative, unnormalised or outside path/work and path/tmp /: exit 2 before any kill, unmount or write", async () => {
    const s = scratch("paths");
    const c = canary(s);
    const conf = join(s.tree, "metro.conf");
    const original = readFileSync(conf, "utf8");
    // Blank: it used to resolve to the current directory (here the canary folder).
    writeFileSync(conf, original.replace(/^work: .*$/m, "work:"));
    assertMessage(await runCli(s.args("target:", "stage1"), undefined, c.dir), 2, /path\/work is empty; it must be an absolute path/);
    writeFileSync(conf, original);
    const cases: [string[], RegExp][] = [
      [["path/work:", c.dir], /path\/work is .*\/canary, which is not inside path\/tmp \(.*\/tmp\)/],
      [["path/work:", s.tmp], /path\/work is .*\/tmp, which is not inside path\/tmp/],
      [["path/work:", "work/stage1"], /path\/work is "work\/stage1", not an absolute path/],
      [["path/work:", `${s.tmp}/work/../../canary`], /path\/work is ".*\/tmp\/work\/\.\.\/\.\.\/canary", which is not normalised \(write it as .*\/canary\)/],
      [["path/tmp:", "/"], /path\/tmp is \/; the builder never acts on the root directory/],
      [["path/tmp:", "/", "path/work:", "/"], /path\/tmp is \//],
    ];
    for (const [extra, pattern] of cases) {
      const r = await runCli(s.args("target:", "stage1", ...extra), undefined, c.dir);
      assertMessage(r, 2, pattern);
    }
    c.assertUntouched();
    assert.ok(!existsSync(s.tmp), "path/tmp was not even created");
    assert.ok(!existsSync(join(s.versionDir, ".targets")) && !existsSync(join(s.versionDir, "status")), "nothing written in the mirror");
    assertNothingLeft(s, c);
  });

  it("refuses white space and shell metacharacters in paths that steps use unquoted", async () => {
    const s = scratch("metachar");
    const c = canary(s);
    const cases: [string[], RegExp, string][] = [
      [["path/tmp:", join(s.base, "t mp")], /path\/tmp is ".*\/t mp", which contains white space \(character \d+\); step scripts use this path unquoted/, join(s.base, "t mp")],
      [["path/mirror:", `${s.mirror};touch ${c.dir}/pwned`], /path\/mirror is ".*", which contains the shell metacharacter ";"/, join(c.dir, "pwned")],
      [["path/work:", `${s.tmp}/w$(id)`], /path\/work is ".*", which contains the shell metacharacter "\$"/, join(s.tmp, "w$(id)")],
      [["path/tmp:", `${s.base}/tmp\`x\``], /path\/tmp is ".*", which contains the shell metacharacter "`"/, join(s.base, "tmp`x`")],
    ];
    for (const [extra, pattern, notCreated] of cases) {
      assertMessage(await runCli(s.args("target:", "stage1", ...extra)), 2, pattern);
      assert.ok(!existsSync(notCreated), `${notCreated} was not created`);
    }
    // A dry run refuses what a build would refuse.
    assertMessage(await runCli(s.args("target:", "stage1", "--dry-run", join(s.base, "plan"), ...cases[0]![0])), 2, cases[0]![1]);
    c.assertUntouched();
    assertNothingLeft(s, c);
  });

  it("never follows a link planted in the mirror (status, .targets, the log, errors.json, .failcount, the locks, their directories, a hard link)", async () => {
    const s = scratch("mirror-links");
    const c = canary(s);
    const planted: [path: string, to: string, pattern: RegExp][] = [
      [join(s.versionDir, "status"), c.file, /refusing to write the file .*\/status: it is a symbolic link/],
      [join(s.versionDir, ".targets"), c.file, /refusing to write the file .*\/\.targets: it is a symbolic link/],
      [join(s.versionDir, "log", "stage1.txt"), c.file, /refusing to write the file .*\/log\/stage1\.txt: it is a symbolic link/],
      [join(s.versionDir, "log", "errors.json"), c.file, /refusing to write the file .*\/log\/errors\.json: it is a symbolic link/],
      [join(s.control, ".failcount"), c.file, /refusing to write the file .*\/\.control\/\.failcount: it is a symbolic link/],
      [join(s.control, ".multi_progress"), c.file, /the lock .*\/\.control\/\.multi_progress is a symbolic link/],
      [join(s.control, ".stage1_progress"), c.file, /the lock .*\/\.control\/\.stage1_progress is a symbolic link/],
      [join(s.versionDir, "log"), c.dir, /\/log is a symbolic link to .*\/canary; the builder never follows links it did not make/],
      [s.versionDir, c.dir, new RegExp(`/${VERSION.replace(/\./g, "\\.")} is a symbolic link to .*/canary`)],
    ];
    for (const [path, to, pattern] of planted) {
      mkdirSync(join(path, ".."), { recursive: true });
      if (existsSync(path)) assert.equal(spawnSync("rm", ["-rf", "--one-file-system", "--", path]).status, 0);
      symlinkSync(to, path);
      const r = await runCli(s.args("target:", "stage1"));
      assertMessage(r, 1, pattern);
      unlinkSync(path);
      c.assertUntouched();
    }
    // A hard link (root may make one to any file): never truncated, appended to or chowned.
    const log = join(s.versionDir, "log", "stage1.txt");
    mkdirSync(join(s.versionDir, "log"), { recursive: true });
    linkSync(c.file, log);
    assertMessage(await runCli(s.args("target:", "stage1")), 1, /refusing to write the log .*\/log\/stage1\.txt: it has 1 other hard link\(s\); remove it/);
    unlinkSync(log);
    c.assertUntouched();
    assertNothingLeft(s, c);
  });

  it("refuses a link planted while the build runs: the status file is not written through it", async () => {
    const s = scratch("late-link");
    const c = canary(s);
    addHangTarget(s);
    const status = join(s.versionDir, "status");
    const r = await buildUntilSleeping(s, [], (pid) => {
      symlinkSync(c.file, status);
      process.kill(pid, "SIGTERM");
    });
    assertMessage(r, 1, /could not record the build status: refusing to write the status file .*\/status: it is a symbolic link/);
    assert.equal(readlinkSync(status), c.file, "the link is left for the owner to inspect");
    c.assertUntouched();
    assertNothingLeft(s, c);
  });

  it("never writes or mounts through links in the unpacked seed (var/tmp and tmp leading out of the chroot)", async () => {
    const s = scratch("seed-links");
    const c = canary(s);
    addHangTarget(s);
    doctorSeed(s, (root) => {
      spawnSync("rm", ["-rf", "--one-file-system", "--", join(root, "var", "tmp")]);
      symlinkSync(c.dir, join(root, "var", "tmp"));
    });
    const mount = await runCli(hangArgs(s, "--no-namespace"));
    assertMessage(mount, 1, /refusing to mount at .*\/var\/tmp\/cache\/package: .*\/var\/tmp \(on the way to .*\) is a symbolic link to .*\/canary/);
    c.assertUntouched();
    assertNothingLeft(s, c);

    unlinkSync(join(s.versionDir, "status")); // a QA build that ran is skipped
    doctorSeed(s, (root) => {
      spawnSync("rm", ["-rf", "--one-file-system", "--", join(root, "var", "tmp"), join(root, "tmp")]);
      mkdirSync(join(root, "var", "tmp"));
      symlinkSync(c.dir, join(root, "tmp"));
    });
    const script = await runCli(hangArgs(s, "--no-namespace"));
    assertMessage(script, 1, /\/tmp \(on the way to .*\/tmp\/steps\/chroot\) is a symbolic link to .*\/canary/);
    c.assertUntouched();
    assertNothingLeft(s, c);
  });

  it("serialises two builds sharing path/tmp with different mirrors: the second exits 3 and the first one's chroot lives on", async () => {
    const first = scratch("shared-a");
    const second = scratch("shared-b");
    addHangTarget(first);
    addHangTarget(second);
    let during: { second: CliResult; running: number; workExists: boolean } | null = null;
    const r = await buildUntilSleeping(first, [], async (pid) => {
      const result = await runCli(second.args("target:", "hang", "release/type:", "qa", "path/tmp:", first.tmp));
      during = { second: result, running: processesRootedIn(first.tmp).length, workExists: existsSync(join(first.tmp, "work")) };
      process.kill(pid, "SIGTERM");
    });
    assert.ok(during, "the second build ran while the first one slept");
    const d = during as { second: CliResult; running: number; workExists: boolean };
    assertMessage(d.second, 3, /another build \(PID \d+\) holds the lock .*\/tmp\/\.metro-engine\.lock; not building/);
    assert.ok(d.running >= 1, "the first build's chroot processes survived the second build");
    assert.ok(d.workExists, "the first build's work directory survived");
    assert.ok(!existsSync(join(second.versionDir, "status")), "the second build recorded nothing");
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /received SIGTERM/);
    assertNothingLeft(first);
    assertNothingLeft(second);
  });

  it("SIGKILL of the process the user started ends the inner builder, its chroot step and its mounts", async () => {
    const s = scratch("kill-outer");
    addHangTarget(s);
    let seen: { inner: number; ns: string; mine: string } | null = null;
    const r = await buildUntilSleeping(s, [], (outer) => {
      const inner = childrenOf(outer)[0]!;
      inners.push(inner);
      seen = { inner, ns: readlinkSync(`/proc/${inner}/ns/mnt`), mine: readlinkSync("/proc/self/ns/mnt") };
      assert.ok(processesRootedIn(s.base).length >= 2, "the step and its daemon run in the chroot");
      process.kill(outer, "SIGKILL");
    });
    assert.equal(r.signal, "SIGKILL");
    const k = seen as unknown as { inner: number; ns: string; mine: string };
    assert.notEqual(k.ns, k.mine, "the inner builder had its own mount namespace");
    assert.deepEqual(await processesGone(() => (alive(k.inner) ? [k.inner] : [])), [], "the inner builder died with the outer one");
    assert.deepEqual(await processesGone(() => processesRootedIn(s.base)), [], "the chroot's processes died");
    assert.deepEqual(await processesGone(() => processesInNamespace(k.ns)), [], "no process keeps the build's mount namespace (and its mounts) alive");
    assert.deepEqual(mountsBelow(s.base), []);
    assert.deepEqual(processesUsing(s.base), []);

    // Only the locks of the killed build are left; the next build takes them over and builds.
    const next = await runCli(hangArgs(s, "hang/seconds:", "0"));
    assert.equal(next.code, 0, next.stdout + next.stderr);
    assert.match(next.stdout, new RegExp(`removing stale lock .*/tmp/\\.metro-engine\\.lock \\(PID ${k.inner} (is not running|is running but is not a build)`));
    assertNothingLeft(s);
  });

  it("SIGKILL of the inner builder ends its chroot step and its mounts, and the outer one says so", async () => {
    const s = scratch("kill-inner");
    addHangTarget(s);
    let seen: { inner: number; ns: string } | null = null;
    const r = await buildUntilSleeping(s, [], (outer) => {
      const inner = childrenOf(outer)[0]!;
      inners.push(inner);
      seen = { inner, ns: readlinkSync(`/proc/${inner}/ns/mnt`) };
      process.kill(inner, "SIGKILL");
    });
    const k = seen as unknown as { inner: number; ns: string };
    assertMessage(r, 1, new RegExp(`the builder \\(PID ${k.inner}\\) was killed by SIGKILL; its steps and mounts ended with it`));
    assert.deepEqual(await processesGone(() => processesRootedIn(s.base)), [], "the chroot's processes died");
    assert.deepEqual(await processesGone(() => processesInNamespace(k.ns)), [], "no process keeps the build's mount namespace alive");
    assert.deepEqual(mountsBelow(s.base), []);
    assert.deepEqual(processesUsing(s.base), []);
  });

  it("names the file for a lock that is a directory, a stale work-dir link and a work dir that is a link; takes over a lock holding a reused PID", async () => {
    const s = scratch("stale");
    const c = canary(s);
    addHangTarget(s);
    const run = (...extra: string[]) => runCli(hangArgs(s, "hang/seconds:", "0", ...extra));

    const dirLock = join(s.control, ".hang_progress");
    mkdirSync(dirLock, { recursive: true });
    assertMessage(await run(), 1, /the lock .*\/\.control\/\.hang_progress is a directory, not a lock file; remove it \(rmdir .*\) if no build is running/);
    rmdirSync(dirLock);
    const tmpLock = join(s.tmp, ".metro-engine.lock");
    mkdirSync(tmpLock, { recursive: true });
    assertMessage(await run(), 1, /the lock .*\/tmp\/\.metro-engine\.lock is a directory, not a lock file/);
    rmdirSync(tmpLock);

    const workParent = join(s.tmp, "work", "tiny-current");
    mkdirSync(workParent, { recursive: true });
    const work = join(workParent, `hang-generic-${VERSION}`);
    symlinkSync(c.dir, work);
    assertMessage(await run(), 1, /path\/work: .*hang-generic-2026\.11\.21 is a symbolic link to .*\/canary; the builder never follows links it did not make/);
    unlinkSync(work);
    const old = join(workParent, "hang-generic-2026.01.01");
    symlinkSync(c.dir, old);
    assertMessage(await run(), 1, /refusing to clean an old work directory: .*hang-generic-2026\.01\.01 is a symbolic link to .*\/canary/);
    unlinkSync(old);
    c.assertUntouched();

    // A live process that is not a build holds the PID in both locks: they are stale, and it lives on.
    unlinkSync(join(s.versionDir, "status")); // a QA build that ran is skipped
    const reused = spawn("sleep", ["120"], { stdio: "ignore" });
    try {
      writeFileSync(join(s.control, ".multi_progress"), String(reused.pid));
      writeFileSync(tmpLock, String(reused.pid));
      const r = await run();
      assert.equal(r.code, 0, r.stdout + r.stderr);
      for (const lock of [join(s.control, ".multi_progress"), tmpLock]) {
        assert.ok(
          (r.stdout + r.stderr).includes(`removing stale lock ${lock} (PID ${reused.pid} is running but is not a build (it is "sleep 120"); the PID was reused)`),
          r.stdout + r.stderr,
        );
      }
      assert.equal(reused.exitCode, null, "the process that reused the PID was not touched");
      assert.equal(reused.signalCode, null);
    } finally {
      reused.kill("SIGKILL");
    }
    c.assertUntouched();
    assertNothingLeft(s, c);
  });

  it("SIGHUP (a closed terminal or connection) interrupts like SIGTERM: the step stops, the status is recorded, nothing is left", async () => {
    const s = scratch("hangup");
    const c = canary(s);
    addHangTarget(s);
    const r = await buildUntilSleeping(s, [], (pid) => {
      process.kill(pid, "SIGHUP");
    });
    assertMessage(r, 1, /received SIGHUP: stopping the running step, then cleaning up/);
    assert.match(r.stdout, /hang: fail in .*: interrupted by SIGHUP/);
    assert.equal(readFileSync(join(s.versionDir, "status"), "utf8"), "fail");
    assert.deepEqual(await processesGone(() => processesRootedIn(s.base)), [], "the chroot's processes died");
    c.assertUntouched();
    assertNothingLeft(s, c);
  });

  it("a reader of its output that goes away stops the build like an interrupt: unmounted, locks released, status recorded (even without a namespace)", async () => {
    const s = scratch("output-gone");
    const c = canary(s);
    let closed = false;
    const r = await runCli(s.args("multi:", "yes", "multi/mode:", "full", "--no-namespace"), (_pid, output, child) => {
      child.stdout!.on("data", () => {
        // The reader leaves after the first unpack: the chroot steps of stage1 are still to come.
        if (!closed && /steps\/unpack/.test(output())) {
          closed = true;
          child.stdout!.destroy();
        }
      });
    });
    assert.ok(closed, r.stdout + r.stderr);
    assert.equal(r.code, 141, r.stderr);
    assert.match(r.stderr, /the build's output is gone \(its reader went away\): stopping the running step, then cleaning up/);
    assert.doesNotMatch(r.stderr, /\n\s+at .*\(.*:\d+:\d+\)/, "no stack trace");
    assert.equal(readFileSync(join(s.versionDir, "status"), "utf8"), "fail", "the interrupted build recorded its status");
    assert.equal(readFileSync(join(s.control, ".failcount"), "utf8"), "1");
    assert.ok(!existsSync(s.stage("stage3")), "stage3 was not built");
    c.assertUntouched();
    assertNothingLeft(s, c);
  });

  it("never blocks on a FIFO swapped in for the log while a terminal shows the step's progress", async function () {
    if (!have("script")) this.skip(); // util-linux's script gives the build a terminal
    const s = scratch("fifo-log");
    const c = canary(s);
    addHangTarget(s);
    const command = [process.execPath, cliPath(), "build", ...hangArgs(s, "hang/seconds:", "3")].map((a) => `'${a}'`).join(" ");
    const term = spawn("script", ["-qfec", command, "/dev/null"], { stdio: ["pipe", "pipe", "pipe"], detached: true });
    others.push(term);
    let output = "";
    term.stdout!.on("data", (d) => (output += d));
    const ended = new Promise<number | null>((resolve) => term.on("close", (code) => resolve(code)));
    const log = hangLog(s);
    for (let i = 0; i < 600 && !(existsSync(log) && readFileSync(log, "utf8").includes("sleeping-now")); i++) await new Promise((r) => setTimeout(r, 100));
    unlinkSync(log);
    assert.equal(spawnSync("mkfifo", [log]).status, 0);
    // The step ends by itself after a few seconds; a builder blocked in open() on the FIFO never would (then end it).
    const watchdog = setTimeout(() => process.kill(-term.pid!, "SIGKILL"), 90_000);
    const code = await ended;
    clearTimeout(watchdog);
    assert.equal(code, 0, `the build finished (a builder blocked on the FIFO is killed): ${output}`);
    assert.match(output, /hang: ok in/);
    unlinkSync(log);
    c.assertUntouched();
    assertNothingLeft(s, c);
  });

  it("refuses a path/chroot that is / or lies outside path/work, naming where it is written, before anything is done", async () => {
    const s = scratch("chroot-path");
    const c = canary(s);
    // Steps that only look: should the check ever go, a test run must not unpack a seed over the host's root.
    const look = "test -d $[path/chroot]";
    addChrootTarget(s, "slash", "true", "/", look);
    addChrootTarget(s, "outside", "true", c.dir, look);
    const spec = (name: string) => join(s.tree, "targets", "tiny", `${name}.spec`).replace(/[.]/g, "\\.");
    for (const extra of [[], ["--dry-run", join(s.base, "plan")]]) {
      assertMessage(await runCli(s.args("target:", "slash", "release/type:", "qa", ...extra)), 2, new RegExp(`${spec("slash")}:11:1: path/chroot is "/", the root directory; the steps write there`));
      assertMessage(await runCli(s.args("target:", "outside", "release/type:", "qa", ...extra)), 2, new RegExp(`${spec("outside")}:11:1: path/chroot is .*/canary, which is not inside path/work \\(.*/tmp/work/tiny-current/outside-generic-${VERSION.replace(/[.]/g, "\\.")}\\)`));
    }
    assert.ok(!existsSync(s.tmp), "nothing was unpacked or made");
    c.assertUntouched();
    assertNothingLeft(s, c);
  });

  it("never unmounts a host mount that a link left in place of a hidden mount point leads to (--no-namespace)", async () => {
    const s = scratch("overmount");
    const c = canary(s);
    const victim = join(s.base, "victim");
    mkdirSync(victim);
    assert.equal(spawnSync("mount", ["-t", "tmpfs", "-o", "size=1m", "victim", victim]).status, 0);
    mounted.push(victim);
    writeFileSync(join(victim, "data"), "kept\n");
    // The step mounts a tmpfs at /a/b, hides it under another at /a, and leaves a link at /a/b that leads to the host's mount.
    addChrootTarget(s, "over", `mkdir -p /a/b && mount -t tmpfs hidden /a/b && mount -t tmpfs top /a && ln -s ${victim} /a/b`);
    const r = await runCli(s.args("target:", "over", "release/type:", "qa", "--no-namespace"));
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(mountsBelow(s.base), [victim], "the build's own mounts are gone, the host's one stays");
    assert.equal(readFileSync(join(victim, "data"), "utf8"), "kept\n");
    assert.match(readFileSync(join(s.versionDir, "log", "over.txt"), "utf8"), /not unmounting .*\/a\/b now \(a mount over it hides it\): .*\/a\/b is a symbolic link to .*\/victim/);
    assert.equal(spawnSync("umount", [victim]).status, 0);
    mounted.pop();
    c.assertUntouched();
    assertNothingLeft(s, c);
  });

  it("scans the whole log of a failed step for failed ebuilds, however long (an error after 300 MB is found)", async () => {
    const s = scratch("long-log");
    addChrootTarget(s, "noisy", `yes ' * ERROR: cat/early-1.0 failed (compile phase):' | head -c 300000000
echo ' * ERROR: cat/late-2.0 failed (install phase):'
exit 1`);
    const r = await runCli(s.args("target:", "noisy", "release/type:", "qa"));
    assertMessage(r, 1, /step steps\/chroot\/run failed \(exit code 1\)/);
    assert.deepEqual(JSON.parse(readFileSync(join(s.versionDir, "log", "errors.json"), "utf8")), [
      { ebuild: "cat/early-1.0", phase: "compile" },
      { ebuild: "cat/late-2.0", phase: "install" },
    ]);
    assertNothingLeft(s);
  });

  it("refuses a path/tmp, or a folder below it, that another user could change: no script of theirs runs as root", async () => {
    const s = scratch("other-user");
    const c = canary(s);
    addHangTarget(s);
    chmodSync(s.base, 0o755); // the other user must reach the shared folder
    const shared = join(s.base, "shared");
    mkdirSync(shared);
    chmodSync(shared, 0o1777); // like /var/tmp, where the example's path/tmp lies
    const pwned = join(s.base, "pwned");
    // The other user's loop: every host script that appears in a pid/ folder of theirs is swapped for their own.
    const swapper = `cd "$1" || exit 1
mkdir -p pid && chmod 777 pid
while :; do
  for f in pid/*/*.metro; do
    [ -f "$f" ] || continue
    grep -q pwned "$f" 2>/dev/null && continue
    d=\${f%/*}
    mv "$d" "$d.$$" 2>/dev/null && mkdir "$d" && printf '#!/bin/sh\\nid > %s\\n' "$2" > "$f" && chmod 755 "$f"
  done
done`;
    const asOther = (dir: string) => {
      // pid/ is theirs before the build starts; the loop then waits for the builder's scripts in it.
      assert.equal(spawnSync("setpriv", ["--reuid", "65534", "--regid", "65534", "--clear-groups", "mkdir", "-m", "777", join(dir, "pid")]).status, 0);
      const p = spawn("setpriv", ["--reuid", "65534", "--regid", "65534", "--clear-groups", "sh", "-c", swapper, "swapper", dir, pwned], { stdio: "ignore" });
      others.push(p);
      return p;
    };
    const cases: [label: string, tmp: string, prepare: () => ChildProcess | void, pattern: RegExp][] = [
      // path/tmp itself made by the other user (the example's /var/tmp/metro-tiny is free for anyone to make first).
      ["theirs", join(shared, "metro"), () => {
        assert.equal(spawnSync("setpriv", ["--reuid", "65534", "--regid", "65534", "--clear-groups", "mkdir", "-m", "777", join(shared, "metro")]).status, 0);
        return asOther(join(shared, "metro"));
      }, /path\/tmp .*\/shared\/metro is not safe for a build: .*\/shared\/metro belongs to user 65534, so another user could replace the build's scripts or its chroot before they run/],
      // path/tmp the shared sticky folder itself, where the other user made pid/ first.
      ["their pid folder", shared, () => asOther(shared), /refusing to write in the host scripts' folder: .*\/shared\/pid belongs to user 65534/],
      // ... or work/ first.
      ["their work folder", shared, () => {
        assert.equal(spawnSync("setpriv", ["--reuid", "65534", "--regid", "65534", "--clear-groups", "mkdir", "-m", "777", join(shared, "work")]).status, 0);
      }, /refusing to clean path\/work: .*\/shared\/work belongs to user 65534/],
    ];
    for (const [label, tmp, prepare, pattern] of cases) {
      const other = prepare();
      const r = await runCli(hangArgs(s, "hang/seconds:", "0", "path/tmp:", tmp));
      other?.kill("SIGKILL");
      assertMessage(r, 1, pattern);
      assert.ok(!existsSync(pwned), `${label}: a script of the other user ran as root`);
      assert.ok(!existsSync(join(s.versionDir, "status")) || readFileSync(join(s.versionDir, "status"), "utf8") === "fail", label);
      assert.equal(spawnSync("rm", ["-rf", "--one-file-system", "--", ...readdirSync(shared).map((n) => join(shared, n))]).status, 0);
      if (existsSync(join(s.versionDir, "status"))) unlinkSync(join(s.versionDir, "status"));
    }
    // A path/tmp its group may write to.
    const group = join(s.base, "group-tmp");
    mkdirSync(group);
    chmodSync(group, 0o770);
    assertMessage(await runCli(hangArgs(s, "hang/seconds:", "0", "path/tmp:", group)), 1, /path\/tmp .*\/group-tmp is not safe for a build: .*\/group-tmp can be written by its group \(mode 0770\)/);
    c.assertUntouched();
    assertNothingLeft(s, c);
  });

  it("never removes a folder that holds the mirror, the configuration or a cache (path/work, an old work directory, path/cache/build)", async () => {
    const s = scratch("kept");
    const c = canary(s);
    addHangTarget(s);
    const seed = join(s.buildDir, "seed", "stage3-generic-tiny-current-seed.tar.xz");
    const seedBytes = readFileSync(seed);
    const keptIntact = (label: string) => {
      assert.ok(existsSync(seed) && readFileSync(seed).equals(seedBytes), `${label}: the seed in the mirror is intact`);
      assert.ok(existsSync(join(s.tree, "metro.conf")), `${label}: the configuration is intact`);
    };
    // path/work holding the mirror, or the configuration tree: a configuration error before anything is done (a dry run says so too).
    const inWork = join(s.tmp, "w");
    mkdirSync(inWork, { recursive: true });
    const mirrorInWork = join(inWork, "mirror");
    assert.equal(spawnSync("cp", ["-a", s.mirror, mirrorInWork]).status, 0);
    const seedInWork = join(mirrorInWork, "tiny-current", s.arch, "generic", "seed", "stage3-generic-tiny-current-seed.tar.xz");
    for (const extra of [[], ["--dry-run", join(s.base, "plan")]]) {
      assertMessage(await runCli(hangArgs(s, "path/mirror:", mirrorInWork, "path/work:", inWork, ...extra)), 2, /path\/work is .*\/tmp\/w, which holds path\/mirror \(.*\/tmp\/w\/mirror\); the build removes path\/work/);
      assert.ok(existsSync(seedInWork), "the mirror inside path/work is intact");
    }
    // ... reached through a link.
    const mirrorLink = join(s.base, "mirror-link");
    symlinkSync(mirrorInWork, mirrorLink);
    assertMessage(await runCli(hangArgs(s, "path/mirror:", mirrorLink, "path/work:", inWork)), 2, /which holds path\/mirror \(.*\/mirror-link, really .*\/tmp\/w\/mirror\)/);
    assert.ok(existsSync(seedInWork), "the mirror inside path/work is intact");
    assert.equal(spawnSync("rm", ["-rf", "--one-file-system", "--", inWork, mirrorLink]).status, 0);
    assertMessage(await runCli(hangArgs(s, "path/tmp:", s.base, "path/work:", s.tree)), 2, /path\/work is .*\/examples, which holds path\/config \(.*\/examples\)/);
    keptIntact("path/work");

    // An old work directory (a sibling named with the target's prefix) that is the mirror: the build stops before removing it.
    const parent = join(s.tmp, "work", "tiny-current");
    mkdirSync(parent, { recursive: true });
    const staleMirror = join(parent, "hang-generic-mirror");
    assert.equal(spawnSync("cp", ["-a", s.mirror, staleMirror]).status, 0);
    assertMessage(await runCli(hangArgs(s, "hang/seconds:", "0", "path/mirror:", staleMirror)), 1, /refusing to clean an old work directory: .*\/hang-generic-mirror holds path\/mirror \(.*\/hang-generic-mirror\), which a build never deletes/);
    assert.ok(existsSync(join(staleMirror, "tiny-current", s.arch, "generic", "seed", "stage3-generic-tiny-current-seed.tar.xz")), "the mirror named like an old work directory is intact");
    assert.equal(spawnSync("rm", ["-rf", "--one-file-system", "--", staleMirror]).status, 0);

    // A file in path/tmp named like an old work directory is not one: it stays.
    const note = join(s.tmp, "hang-generic-notes.txt");
    writeFileSync(note, "mine\n");
    const direct = await runCli(hangArgs(s, "hang/seconds:", "0", "path/work:", join(s.tmp, `hang-generic-${VERSION}`)));
    assert.equal(direct.code, 0, direct.stdout + direct.stderr);
    assert.equal(readFileSync(note, "utf8"), "mine\n", "the file named like an old work directory is left alone");
    unlinkSync(join(s.versionDir, "status"));

    // clean/auto with a path/cache/build that holds the package cache bound into the chroot.
    const master = join(s.tree, "etc", "master.conf");
    writeFileSync(master, readFileSync(master, "utf8").replace(/^build: .*$/m, "build: $[]"));
    assertMessage(await runCli(hangArgs(s, "hang/seconds:", "0", "metro/options:", "clean/auto")), 2, /path\/cache\/build is .*\/tmp\/cache, which holds path\/cache\/package \(.*\/tmp\/cache\/package\/tiny-current\/.*\)/);
    keptIntact("path/cache/build");
    c.assertUntouched();
    assertNothingLeft(s, c);
  });

  it("names the file it could not write on a full disk and leaves no half-written lock", async () => {
    const s = scratch("full");
    const c = canary(s);
    addHangTarget(s);
    const full = join(s.base, "full");
    mkdirSync(full);
    assert.equal(spawnSync("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", full]).status, 0);
    mounted.push(full);
    try {
      const mirror = join(full, "mirror");
      assert.equal(spawnSync("sh", [join(s.tree, "seed.sh"), mirror, s.arch]).status, 0);
      // Fill what is left (dd stops at ENOSPC).
      spawnSync("dd", ["if=/dev/zero", `of=${join(full, "filler")}`, "bs=4096"], { stdio: "ignore" });
      const r = await runCli(hangArgs(s, "path/mirror:", mirror));
      assertMessage(r, 1, /cannot write the lock .*\/full\/mirror\/.*\/\.control\/\.multi_progress: no space left on the device/);
      assert.deepEqual(filesNamed(mirror, (n) => n.endsWith("_progress")), [], "no empty lock left behind");
      assert.ok(!existsSync(join(s.tmp, ".metro-engine.lock")), "the path/tmp lock was released");
    } finally {
      assert.equal(spawnSync("umount", [full]).status, 0);
      mounted.pop();
    }
    c.assertUntouched();
    assertNothingLeft(s, c);
  });
});
