// The headless stage builder, for real: busybox seed, chroot, bind mounts,
// xz tarballs, signals. These tests run the built CLI (dist/metro-engine.js)
// as a child process, as root, on a copy of examples/ in a temporary
// directory. Nothing is mocked: a test fails if a mount is left behind, a
// lock survives, or the captured stage is not what the steps made.

import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync, lstatSync, readlinkSync } from "node:fs";
import { machine } from "node:os";
import { join } from "node:path";
import {
  Scratch, VERSION, filesNamed, missingPrerequisite, mountsBelow, processesGone, processesRootedIn, removeCliCopy, runCli, tarFile, tarList, useCliCopy,
  type CliResult,
} from "../support/builder";

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
    removeCliCopy();
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
    // The step sleeps 300 s, longer than the test may take: a builder that waited for it times the test out.
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
    let visibleMounts: string[] | null = null;
    const r = await buildUntilSleeping(s, [], (pid) => {
      // The chroot is mounted, but in the builder's private namespace: the host sees nothing.
      visibleMounts = mountsBelow(s.base);
      process.kill(pid, "SIGINT");
    });
    assert.deepEqual(visibleMounts, [], "mounts are private to the builder's namespace");
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /received SIGINT/);
    assert.equal(readFileSync(join(s.versionDir, "status"), "utf8"), "fail");
    s.assertClean();
    const next = await runCli(s.args("target:", "stage1"));
    assert.equal(next.code, 0, next.stdout + next.stderr);
    s.assertClean();
  });

  it("recovers after the builder itself was killed (SIGKILL): its steps die with it, the next build unmounts and builds", async () => {
    const s = scratch("sigkill");
    const r = await buildUntilSleeping(s, ["--no-namespace"], (pid) => process.kill(pid, "SIGKILL"));
    assert.equal(r.signal, "SIGKILL");
    // The step's PID namespace died with the builder; without the private mount
    // namespace the mounts and the locks are still there.
    assert.deepEqual(await processesGone(() => processesRootedIn(s.base)), [], "the chroot's processes died with the builder");
    assert.ok(mountsBelow(s.base).length >= 2);
    assert.ok(existsSync(join(s.control, ".stage1_progress")));

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
    // A live process that is a build by its command line (argv[0] metro-engine).
    const other = spawn("sleep", ["60"], { argv0: "metro-engine", stdio: "ignore" });
    try {
      writeFileSync(lock, String(other.pid));
      const held = await runCli(s.args("target:", "stage1", "--no-namespace"));
      assert.equal(held.code, 3, held.stdout + held.stderr);
      assert.match(held.stderr, /holds the lock/);
      assert.equal(readFileSync(lock, "utf8"), String(other.pid), "someone else's lock is left alone");
      assert.ok(!existsSync(join(s.versionDir, "status")), "no status for a build that did not start");
    } finally {
      other.kill("SIGKILL");
    }

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
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, /path\/work is .*precious, which is not inside path\/tmp/);
    assert.equal(readFileSync(join(elsewhere, "keep.txt"), "utf8"), "data");
    assert.equal(readFileSync(join(s.versionDir, "status"), "utf8"), "ok", "a configuration error records nothing (the snapshot's status stays)");
    s.assertClean();
  });

  it("reports configuration errors with exit code 2: unknown class, unknown target, bad arguments", async () => {
    const s = scratch("config");
    writeFileSync(join(s.tree, "targets", "tiny", "vm.spec"), "[section target]\n\nclass: virtualbox\nname: vm-$[target/version]\n");
    const cls = await runCli(s.args("target:", "vm"));
    assert.equal(cls.code, 2);
    assert.match(cls.stderr, /target\/class is "virtualbox", which this builder cannot run/);
    assert.doesNotMatch(cls.stderr, /\n\s+at /, "no stack trace");

    // A chroot target without path/mirror/source: metro looks for its required files before any step, so that is the error.
    writeFileSync(join(s.tree, "targets", "tiny", "bare.spec"), "[section target]\n\nclass: chroot\nname: bare-$[target/version]\n");
    const unsourced = await runCli(s.args("target:", "bare", "--no-namespace"));
    assert.equal(unsourced.code, 2, unsourced.stdout + unsourced.stderr);
    assert.match(unsourced.stderr, /required setting path\/mirror\/source is not defined/);
    assert.ok(!existsSync(join(s.tmp, "work")), "nothing was unpacked");

    // With a source but without its required steps: refused before anything is unpacked.
    writeFileSync(join(s.tree, "targets", "tiny", "bare.spec"), "[section target]\n\nclass: chroot\nname: bare-$[target/version]\n\n[section path/mirror]\n\nsource: $[]/bare-seed.tar*\n");
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
