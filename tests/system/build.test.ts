// The headless stage builder, for real: busybox seed, chroot, bind mounts,
// xz tarballs, signals. These tests run the built CLI (dist/metro-engine.js)
// as a child process, as root, on a copy of examples/ in a temporary
// directory. Nothing is mocked: a test fails if a mount is left behind, a
// lock survives, or the captured stage is not what the steps made.

import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync, lstatSync, readlinkSync } from "node:fs";
import { machine, tmpdir } from "node:os";
import { dirname, join } from "node:path";

import { PROJECT } from "../support/shared";

const BUILT_CLI = join(PROJECT, "dist", "metro-engine.js");
/** A private copy of the built CLI, so a rebuild of dist/ while the tests run cannot change it under them. */
let CLI = BUILT_CLI;
function useCliCopy(): void {
  if (CLI !== BUILT_CLI || !existsSync(BUILT_CLI)) return;
  CLI = join(mkdtempSync(join(tmpdir(), "metro-cli-")), "metro-engine.js");
  copyFileSync(BUILT_CLI, CLI);
}
const EXAMPLES = join(PROJECT, "examples");
const VERSION = "2026.11.21";

function hostArchDesc(): string | null {
  const m = machine();
  if (m === "x86_64") return "x86-64bit";
  if (m === "aarch64") return "arm-64bit";
  if (m === "riscv64") return "riscv-64bit";
  return null;
}

/** Why these tests cannot run here, or null. */
function missingPrerequisite(): string | null {
  if (process.getuid?.() !== 0) return "the builder tests need root (chroot and mounts)";
  if (!existsSync(BUILT_CLI)) return `${BUILT_CLI} is missing (run node scripts/build.mjs)`;
  for (const tool of ["busybox", "xz", "chroot", "mount", "umount", "tar"]) {
    if (spawnSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" }).status !== 0) return `${tool} is not installed`;
  }
  if (spawnSync("ldd", ["/bin/busybox"], { stdio: "ignore" }).status === 0) return "/bin/busybox is not static (install busybox-static)";
  if (!hostArchDesc()) return `no example seed for a ${machine()} host`;
  return null;
}

interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], onStart?: (pid: number, output: () => string) => void): Promise<CliResult> {
  return new Promise((resolveRun) => {
    const child = spawn(process.execPath, [CLI, "build", ...args], { cwd: PROJECT, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    if (onStart && child.pid) onStart(child.pid, () => stdout + stderr);
    child.on("close", (code, signal) => resolveRun({ code, signal, stdout, stderr }));
  });
}

/** Mount points at or below `dir` in this (the test's) mount namespace. */
function mountsBelow(dir: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4])
    .filter((p): p is string => p !== undefined && (p === dir || p.startsWith(dir + "/")));
}

function filesNamed(dir: string, test: (name: string) => boolean): string[] {
  const out: string[] = [];
  if (!existsSync(dir)) return out;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesNamed(path, test));
    else if (test(entry.name)) out.push(path);
  }
  return out;
}

/** Processes whose root directory is inside `dir` (something left running in a chroot). */
function processesRootedIn(dir: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const root = readlinkSync(`/proc/${name}/root`);
      if (root === dir || root.startsWith(dir + "/")) pids.push(Number(name));
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

function tarList(path: string): string[] {
  const r = spawnSync("tar", ["-tJf", path], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split("\n").filter((l) => l !== "");
}

function tarFile(path: string, member: string): string {
  const r = spawnSync("tar", ["-xJOf", path, member], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

/** A scratch build area: a copy of examples/, a mirror with the busybox seed, a temp tree. */
class Scratch {
  readonly base: string;
  readonly tree: string;
  readonly mirror: string;
  readonly tmp: string;
  readonly arch: string;

  constructor(label: string, arch = hostArchDesc()!) {
    this.base = mkdtempSync(join(tmpdir(), `metro-build-${label}-`));
    this.tree = join(this.base, "examples");
    this.mirror = join(this.base, "mirror");
    this.tmp = join(this.base, "tmp");
    this.arch = arch;
    cpSync(EXAMPLES, this.tree, { recursive: true });
    const seed = spawnSync("sh", [join(this.tree, "seed.sh"), this.mirror, arch], { encoding: "utf8" });
    assert.equal(seed.status, 0, `seed.sh failed: ${seed.stderr}`);
  }

  /** Adds a package to the copy's package tree (the snapshot packs it). */
  addPackage(name: string, install: string): void {
    mkdirSync(join(this.tree, "repo", "packages", name), { recursive: true });
    writeFileSync(join(this.tree, "repo", "packages", name, "install"), install);
  }

  args(...extra: string[]): string[] {
    return [
      "-c", join(this.tree, "metro.conf"),
      "path/mirror:", this.mirror, "path/tmp:", this.tmp,
      "target/arch_desc:", this.arch, "target/version:", VERSION,
      ...extra,
    ];
  }

  get buildDir(): string {
    return join(this.mirror, "tiny-current", this.arch, "generic");
  }
  get versionDir(): string {
    return join(this.buildDir, VERSION);
  }
  get control(): string {
    return join(this.buildDir, ".control");
  }
  stage(name: string): string {
    return join(this.versionDir, `${name}-generic-tiny-current-${VERSION}.tar.xz`);
  }
  get snapshot(): string {
    return join(this.mirror, "tiny-current", "snapshots", `tiny-repo-${VERSION}.tar.xz`);
  }

  /** Nothing of a build may survive it: no mount, no lock, no process in a chroot. */
  assertClean(): void {
    assert.deepEqual(mountsBelow(this.base), [], "mounts left behind");
    assert.deepEqual(filesNamed(this.mirror, (n) => n.endsWith("_progress")), [], "locks left behind");
    assert.deepEqual(processesRootedIn(this.base), [], "processes left in a chroot");
  }

  /** Removes the scratch area, never through a mount (a failed test leaves it for inspection instead). */
  remove(): void {
    if (mountsBelow(this.base).length === 0) spawnSync("rm", ["-rf", "--one-file-system", "--", this.base]);
  }
}

async function buildSnapshot(s: Scratch): Promise<void> {
  const r = await runCli(s.args("target:", "snapshot"));
  assert.equal(r.code, 0, `snapshot build: ${r.stdout}${r.stderr}`);
}

function jsonEvents(stdout: string): Record<string, unknown>[] {
  return stdout.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe("metro-engine build (real chroot builds)", function () {
  this.timeout(180_000);
  const scratches: Scratch[] = [];
  const scratch = (label: string, arch?: string) => {
    const s = new Scratch(label, arch);
    scratches.push(s);
    return s;
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
    for (const s of scratches) s.remove();
    if (CLI !== BUILT_CLI) spawnSync("rm", ["-rf", "--one-file-system", "--", dirname(CLI)]);
  });

  it("builds a snapshot and a stage from a busybox seed: unpack, chroot run, capture to .tar.xz", async () => {
    const s = scratch("stage1");
    const snap = await runCli(s.args("target:", "snapshot", "--no-namespace"));
    assert.equal(snap.code, 0, snap.stdout + snap.stderr);
    assert.ok(existsSync(s.snapshot), "the snapshot target wrote its tarball");
    assert.ok(tarList(s.snapshot).includes("./bin/tiny-install"));

    const r = await runCli(s.args("target:", "stage1", "--no-namespace", "--json"));
    assert.equal(r.code, 0, r.stdout + r.stderr);

    // The chroot step sequence, exactly as metro's stage class runs it (official build).
    const events = jsonEvents(r.stdout);
    const steps = events.filter((e) => e["event"] === "step-end").map((e) => e["step"]);
    assert.deepEqual(steps, [
      "unmount", "clean and recreate path/work",
      "steps/unpack", "bind mounts", "steps/chroot/run", "steps/chroot/grabinfo", "steps/precapture",
      "steps/chroot/postrun", "unmount", "steps/chroot/clean", "bind mounts", "steps/chroot/test", "unmount",
      "steps/chroot/postclean", "steps/clean", "steps/capture", "trigger/ok/run", "unmount", "remove path/work",
    ]);
    for (const e of events.filter((e) => e["event"] === "step-end")) {
      assert.equal(e["ok"], true);
      assert.equal(typeof e["durationMs"], "number");
    }
    const end = events[events.length - 1]!;
    assert.equal(end["event"], "build-end");
    assert.equal(end["exitCode"], 0);

    // The captured stage: what the chroot steps built in /tmp/stage1root, nothing of the seed.
    const tarball = s.stage("stage1");
    const members = tarList(tarball);
    for (const m of ["./bin/busybox", "./bin/sh", "./etc/os-release", "./etc/passwd", "./etc/motd", "./var/db/tiny/installed"]) {
      assert.ok(members.includes(m), `${m} in ${tarball}`);
    }
    assert.ok(!members.some((m) => m.startsWith("./tmp/stage1root")), "stage1 captures its own root only");
    assert.match(tarFile(tarball, "./etc/os-release"), /TINY_STAGE=stage1\nTINY_BITS=(32|64)\n/);
    assert.equal(tarFile(tarball, "./var/db/tiny/installed"), "baselayout\nbusybox\n");

    assert.equal(readFileSync(join(s.versionDir, "status"), "utf8"), "ok");
    assert.equal(readFileSync(join(s.versionDir, ".targets"), "utf8"), "stage1\n");
    assert.equal(readFileSync(join(s.control, "version", "stage1"), "utf8"), `${VERSION}\n`);
    assert.ok(!existsSync(join(s.control, ".failcount")));
    const info = JSON.parse(readFileSync(join(s.versionDir, "build-info.json"), "utf8"));
    assert.equal(info.target, "stage1");

    const log = readFileSync(join(s.versionDir, "log", "stage1.txt"), "utf8");
    assert.match(log, /Extracting source stage .*stage3-generic-tiny-current-seed\.tar\.xz/);
    assert.match(log, /Building stage1 into \/tmp\/stage1root/);
    assert.match(log, />>> installing busybox into \/tmp\/stage1root/);
    assert.match(log, /the new stage runs: Linux/);
    assert.match(log, /Target run complete/);

    // The package cache was bind-mounted into the chroot and survives it.
    const cacheLog = filesNamed(join(s.tmp, "cache", "package"), (n) => n === "installed.log");
    assert.equal(cacheLog.length, 1);
    assert.equal(readFileSync(cacheLog[0]!, "utf8"), "baselayout\nbusybox\n");

    assert.ok(!existsSync(join(s.tmp, "work", "tiny-current", `stage1-generic-tiny-current-${VERSION}`)), "path/work removed");
    s.assertClean();

    // Official and already built: skipped (exit 0), the trigger runs again, the tarball is untouched.
    const before = lstatSync(tarball).mtimeMs;
    const again = await runCli(s.args("target:", "stage1", "--no-namespace"));
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.match(again.stdout, /stage1: skipped/);
    assert.equal(lstatSync(tarball).mtimeMs, before);
    s.assertClean();

    // metro/options: replace rebuilds it.
    const replaced = await runCli(s.args("target:", "stage1", "metro/options:", "replace", "--no-namespace"));
    assert.equal(replaced.code, 0, replaced.stdout + replaced.stderr);
    assert.match(replaced.stdout, /removing existing .*stage1-generic-tiny-current-2026\.11\.21\.tar\.xz \(replace is in metro\/options\)/);
    assert.notEqual(lstatSync(tarball).mtimeMs, before);
    s.assertClean();
  });

  it("records a failing target: status fail, .failcount incremented, errors.json, mounts gone", async () => {
    const s = scratch("fail");
    await buildSnapshot(s);
    const bad = s.args("target:", "stage1", "packages/extra:", "no-such-package", "--no-namespace");

    const first = await runCli(bad);
    assert.equal(first.code, 1, first.stdout + first.stderr);
    assert.match(first.stdout + first.stderr, /steps\/chroot\/run failed \(exit code 1\)/);
    assert.equal(readFileSync(join(s.versionDir, "status"), "utf8"), "fail");
    assert.equal(readFileSync(join(s.control, ".failcount"), "utf8"), "1");
    const errors = JSON.parse(readFileSync(join(s.versionDir, "log", "errors.json"), "utf8"));
    assert.deepEqual(errors, [{ ebuild: "tiny/no-such-package", phase: "fetch" }]);
    assert.match(readFileSync(join(s.versionDir, "log", "stage1.txt"), "utf8"), /no package no-such-package/);
    assert.ok(!existsSync(s.stage("stage1")), "nothing captured");
    s.assertClean();

    const second = await runCli(bad);
    assert.equal(second.code, 1);
    assert.equal(readFileSync(join(s.control, ".failcount"), "utf8"), "2");
    s.assertClean();

    // A good build afterwards succeeds from the failed one's leftovers and clears the counter;
    // with clean/auto it also removes the stage's path/cache/build.
    const buildCache = join(s.tmp, "cache", "build", "tiny-current", `stage1-generic-tiny-current-${VERSION}`);
    mkdirSync(join(buildCache, "ccache"), { recursive: true });
    const good = await runCli(s.args("target:", "stage1", "metro/options:", "clean/auto", "--no-namespace"));
    assert.equal(good.code, 0, good.stdout + good.stderr);
    assert.ok(!existsSync(buildCache), "clean/auto removed path/cache/build");
    assert.equal(readFileSync(join(s.versionDir, "status"), "utf8"), "ok");
    assert.ok(!existsSync(join(s.control, ".failcount")));
    s.assertClean();
  });

  it("stops on SIGTERM in the middle of a chroot step: kills the step and the chroot's processes, unmounts, releases the lock", async () => {
    const s = scratch("sigterm");
    // A package that leaves a process in its own session inside the chroot, then sleeps.
    s.addPackage("test-sleep", "setsid sleep 300 < /dev/null > /dev/null 2>&1 &\necho sleeping-now\nsleep 300\n");
    await buildSnapshot(s);
    const started = Date.now();
    const r = await runCli(s.args("target:", "stage1", "packages/extra:", "test-sleep", "--no-namespace"), (pid) => {
      const log = join(s.versionDir, "log", "stage1.txt");
      const poll = setInterval(() => {
        if (existsSync(log) && readFileSync(log, "utf8").includes("sleeping-now")) {
          clearInterval(poll);
          // While the step sleeps, the chroot is mounted and the locks are held.
          assert.ok(mountsBelow(s.base).length >= 2, "mounted while the step runs");
          assert.ok(existsSync(join(s.control, ".stage1_progress")));
          assert.ok(existsSync(join(s.control, ".multi_progress")));
          process.kill(pid, "SIGTERM");
        }
      }, 100);
      setTimeout(() => clearInterval(poll), 120_000).unref();
    });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.ok(Date.now() - started < 60_000, "the builder did not wait for the sleeping step");
    assert.match(r.stderr, /received SIGTERM/);
    assert.equal(readFileSync(join(s.versionDir, "status"), "utf8"), "fail");
    assert.equal(readFileSync(join(s.control, ".failcount"), "utf8"), "1");
    s.assertClean();

    // The next build runs (no stale lock, no busy mount) and succeeds.
    const next = await runCli(s.args("target:", "stage1", "--no-namespace"));
    assert.equal(next.code, 0, next.stdout + next.stderr);
    s.assertClean();
  });

  /** Starts a stage1 build whose chroot step sleeps, and calls `stop` once it does. */
  async function buildUntilSleeping(s: Scratch, options: string[], stop: (pid: number) => void): Promise<CliResult> {
    s.addPackage("test-sleep", "setsid sleep 300 < /dev/null > /dev/null 2>&1 &\necho sleeping-now\nsleep 300\n");
    await buildSnapshot(s);
    const log = join(s.versionDir, "log", "stage1.txt");
    return runCli(s.args("target:", "stage1", "packages/extra:", "test-sleep", ...options), (pid) => {
      const poll = setInterval(() => {
        if (existsSync(log) && readFileSync(log, "utf8").includes("sleeping-now")) {
          clearInterval(poll);
          stop(pid);
        }
      }, 100);
      setTimeout(() => clearInterval(poll), 120_000).unref();
    });
  }

  it("stops on SIGINT in its private mount namespace too", async () => {
    const s = scratch("sigint");
    const started = Date.now();
    let visibleMounts: string[] | null = null;
    const r = await buildUntilSleeping(s, [], (pid) => {
      // The chroot is mounted, but in the builder's private namespace: the host sees nothing.
      visibleMounts = mountsBelow(s.base);
      process.kill(pid, "SIGINT");
    });
    assert.deepEqual(visibleMounts, [], "mounts are private to the builder's namespace");
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.ok(Date.now() - started < 60_000);
    assert.match(r.stderr, /received SIGINT/);
    assert.equal(readFileSync(join(s.versionDir, "status"), "utf8"), "fail");
    s.assertClean();
    const next = await runCli(s.args("target:", "stage1"));
    assert.equal(next.code, 0, next.stdout + next.stderr);
    s.assertClean();
  });

  it("recovers after the builder itself was killed (SIGKILL): the next build kills what is left in the chroot, unmounts and builds", async () => {
    const s = scratch("sigkill");
    const r = await buildUntilSleeping(s, ["--no-namespace"], (pid) => process.kill(pid, "SIGKILL"));
    assert.equal(r.signal, "SIGKILL");
    // Nothing could clean up: the mounts, the locks and the chroot's processes are still there.
    assert.ok(mountsBelow(s.base).length >= 2);
    assert.ok(existsSync(join(s.control, ".stage1_progress")));
    assert.ok(processesRootedIn(s.base).length >= 1);

    const next = await runCli(s.args("target:", "stage1", "--no-namespace"));
    assert.equal(next.code, 0, next.stdout + next.stderr);
    assert.match(next.stdout, /removing stale lock/);
    assert.equal(readFileSync(join(s.versionDir, "status"), "utf8"), "ok");
    s.assertClean();
  });

  it("builds the stage1 -> stage2 -> stage3 chain with multi: yes and leaves the control files as the triggers write them", async () => {
    const s = scratch("multi");
    assert.equal(readFileSync(join(s.control, "strategy", "build"), "utf8"), "remote\n");
    // Default mode: the private mount namespace (mounts are never visible here).
    const r = await runCli(s.args("multi:", "yes", "multi/mode:", "full"));
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /Building targets: snapshot stage1 stage2 stage3/);
    for (const t of ["snapshot", "stage1", "stage2", "stage3"]) assert.match(r.stdout, new RegExp(`<== ${t}: ok`));

    for (const t of ["stage1", "stage2", "stage3"]) {
      assert.equal(readFileSync(join(s.control, "version", t), "utf8"), `${VERSION}\n`, `version/${t}`);
      assert.ok(existsSync(s.stage(t)), `${t} captured`);
    }
    assert.equal(readFileSync(join(s.control, "strategy", "build"), "utf8"), "local\n", "stage3's trigger switched the strategy");
    assert.equal(readFileSync(join(s.control, "strategy", "seed"), "utf8"), "stage3\n");
    assert.equal(readlinkSync(join(s.buildDir, "stage3-latest.tar.xz")), `${VERSION}/stage3-generic-tiny-current-${VERSION}.tar.xz`);
    assert.equal(readFileSync(join(s.versionDir, ".targets"), "utf8"), "stage1\nstage2\nstage3\n");
    assert.equal(readFileSync(join(s.versionDir, "status"), "utf8"), "ok");

    // Each stage seeded the next: stage3 holds everything the chain installed, and no package tree.
    const stage3 = s.stage("stage3");
    assert.equal(tarFile(stage3, "./var/db/tiny/installed"), "baselayout\nbusybox\ntiny-init\ntiny-hello\n");
    const members = tarList(stage3);
    assert.ok(members.includes("./usr/bin/hello") && members.includes("./etc/inittab"));
    assert.ok(!members.some((m) => m.startsWith("./var/db/repos/tiny/")), "the snapshot is not shipped");
    assert.match(readFileSync(join(s.versionDir, "log", "stage3.txt"), "utf8"), /Hello from Tiny Linux 2026\.11\.21 release/);
    assert.match(readFileSync(join(s.versionDir, "log", "stage2.txt"), "utf8"), /Extracting source stage .*stage1-generic-tiny-current-2026\.11\.21\.tar\.xz/);
    s.assertClean();

    // Everything exists now: an official rebuild skips every target and still succeeds.
    const again = await runCli(s.args("multi:", "yes", "multi/mode:", "full"));
    assert.equal(again.code, 0, again.stdout + again.stderr);
    for (const t of ["snapshot", "stage1", "stage2", "stage3"]) assert.match(again.stdout, new RegExp(`==> ${t}: skipped`));
    s.assertClean();
  });

  it("exits 3 while another build holds the lock, and removes a stale lock", async () => {
    const s = scratch("lock");
    mkdirSync(s.control, { recursive: true });
    const lock = join(s.control, ".multi_progress");
    writeFileSync(lock, String(process.pid)); // a live process: this test
    const held = await runCli(s.args("target:", "stage1", "--no-namespace"));
    assert.equal(held.code, 3, held.stdout + held.stderr);
    assert.match(held.stderr, /holds the lock/);
    assert.equal(readFileSync(lock, "utf8"), String(process.pid), "someone else's lock is left alone");
    assert.ok(!existsSync(join(s.versionDir, "status")), "no status for a build that did not start");

    writeFileSync(lock, "4194304"); // above any pid_max: certainly dead
    await buildSnapshot(s);
    const stale = await runCli(s.args("target:", "stage1", "--no-namespace"));
    assert.equal(stale.code, 0, stale.stdout + stale.stderr);
    assert.match(stale.stdout, /removing stale lock/);
    s.assertClean();
  });

  it("QA builds skip a target whose status exists, and build no snapshot", async () => {
    const s = scratch("qa");
    mkdirSync(s.versionDir, { recursive: true });
    writeFileSync(join(s.versionDir, "status"), "ok");
    const r = await runCli(s.args("release/type:", "qa", "multi:", "yes", "multi/mode:", "full", "--json"));
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const skips = jsonEvents(r.stdout).filter((e) => e["event"] === "target-skip").map((e) => e["target"]);
    assert.deepEqual(skips, ["snapshot", "stage1", "stage2", "stage3"]);
    assert.ok(!existsSync(s.snapshot));
    s.assertClean();
  });

  it("refuses to clean a work directory outside path/tmp, and deletes nothing there", async () => {
    const s = scratch("outside");
    await buildSnapshot(s);
    const elsewhere = join(s.base, "precious");
    mkdirSync(elsewhere);
    writeFileSync(join(elsewhere, "keep.txt"), "data");
    const r = await runCli(s.args("target:", "stage1", "path/work:", elsewhere, "--no-namespace"));
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, /refusing to clean path\/work: .* is not inside the temporary tree/);
    assert.equal(readFileSync(join(elsewhere, "keep.txt"), "utf8"), "data");
    assert.equal(readFileSync(join(s.versionDir, "status"), "utf8"), "fail");
    s.assertClean();
  });

  it("reports configuration errors with exit code 2: unknown class, unknown target, bad arguments", async () => {
    const s = scratch("config");
    writeFileSync(join(s.tree, "targets", "tiny", "vm.spec"), "[section target]\n\nclass: virtualbox\nname: vm-$[target/version]\n");
    const cls = await runCli(s.args("target:", "vm"));
    assert.equal(cls.code, 2);
    assert.match(cls.stderr, /target\/class is "virtualbox", which this builder cannot run/);
    assert.doesNotMatch(cls.stderr, /\n\s+at /, "no stack trace");

    // A chroot target without its required steps: refused before anything is unpacked.
    writeFileSync(join(s.tree, "targets", "tiny", "bare.spec"), "[section target]\n\nclass: chroot\nname: bare-$[target/version]\n");
    const bare = await runCli(s.args("target:", "bare", "--no-namespace"));
    assert.equal(bare.code, 2, bare.stdout + bare.stderr);
    assert.match(bare.stderr, /required step steps\/unpack is not defined/);
    assert.ok(!existsSync(join(s.tmp, "work")), "nothing was unpacked");

    const missing = await runCli(s.args("target:", "stage9"));
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /master\.conf:\d+:\d+ .*stage9\.spec" does not exist/);

    const usage = await runCli(["-c", join(s.tree, "metro.conf"), "target:"]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /"target:" has no value/);
    const option = await runCli(["--frobnicate"]);
    assert.equal(option.code, 2);
    assert.match(option.stderr, /unknown option --frobnicate/);
    s.assertClean();
    assert.ok(!existsSync(join(s.versionDir, "status")));
  });

  it("runs 32-bit x86 chroot steps through linux32 on a 64-bit x86 host", async function () {
    if (machine() !== "x86_64") {
      console.log("      (skipped: not an x86_64 host)");
      this.skip();
    }
    const s = scratch("linux32", "x86-32bit");
    await buildSnapshot(s);
    // Only the uncompressed seed: metro's fallback for a required .tar.xz.
    const seed = join(s.buildDir, "seed", "stage3-generic-tiny-current-seed.tar.xz");
    assert.equal(spawnSync("xz", ["-d", seed]).status, 0);
    assert.ok(!existsSync(seed));
    const r = await runCli(s.args("target:", "stage1"));
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /found uncompressed file .*seed\.tar$/m);
    const info = JSON.parse(readFileSync(join(s.versionDir, "build-info.json"), "utf8"));
    assert.match(info.machine, /^i[3-6]86$/, "uname -m in the chroot");
    assert.match(tarFile(s.stage("stage1"), "./etc/os-release"), /TINY_BITS=32/);
    s.assertClean();
  });
});
