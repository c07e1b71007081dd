// The builder's building blocks on their own: deletion that cannot go
// through a mount, locks, required files, the failed-ebuild scan and the
// target list. Mount tests use real bind mounts (root only).

import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bindChroot, mountsBelow, safeRemove, unmountBelow } from "../../engine/stage-builder/mounts";
import { SafetyError, checkedDir } from "../../engine/stage-builder/paths";
import { Lock, LockHeldError, incrementFailCount, inspectLock } from "../../engine/stage-builder/locks";
import { findRequiredFile, glob } from "../../engine/stage-builder/files";
import { extractErrors, chrootArgv, hostArgv } from "../../engine/stage-builder/scripts";
import { Settings } from "../../engine/stage-builder/settings";
import { selectTargets } from "../../engine/stage-builder/targets";
import { planTarget } from "../../engine/stage-builder/plan";
import { GuardedFsError, createExclusive, openForAppend, unlinkGuarded, writeFileGuarded } from "../../engine/stage-builder/guarded-fs";

function scratch(label: string): string {
  return realpathSync(mkdtempSync(join(tmpdir(), `metro-safety-${label}-`)));
}

const quiet = () => undefined;

/** Removes a scratch directory, never through a mount (the test fails instead). */
function cleanup(base: string): void {
  assert.deepEqual(mountsBelow(base), [], `mounts left below ${base}`);
  assert.equal(spawnSync("rm", ["-rf", "--one-file-system", "--", base]).status, 0);
}

describe("builder safety: deleting only what is ours", () => {
  it("refuses /, empty, relative, unnormalised paths, anything outside path/tmp and links on the way", () => {
    const base = scratch("refuse");
    const tmp = join(base, "tmp");
    mkdirSync(join(tmp, "work"), { recursive: true });
    mkdirSync(join(base, "outside"));
    symlinkSync(join(base, "outside"), join(tmp, "link"));
    assert.throws(() => checkedDir("/", tmp, "x"), SafetyError);
    assert.throws(() => checkedDir("", tmp, "x"), /x is empty/);
    assert.throws(() => checkedDir("work", tmp, "x"), /not an absolute path/);
    assert.throws(() => checkedDir(join(base, "outside"), tmp, "x"), /not inside path\/tmp/);
    assert.throws(() => checkedDir(tmp, tmp, "x"), /not inside path\/tmp/, "path/tmp itself");
    assert.throws(() => checkedDir(join(tmp, "link"), tmp, "x"), /link is a symbolic link to .*outside/, "a link out of the tree");
    assert.throws(() => checkedDir(join(tmp, "link", "sub"), tmp, "x"), /link \(on the way to .*\) is a symbolic link/, "a link on the way");
    assert.throws(() => checkedDir(`${tmp}/work/../..`, tmp, "x"), /not normalised/);
    assert.throws(() => checkedDir(join(tmp, "work"), "/", "x"), /path\/tmp is \//);
    assert.throws(() => checkedDir(join(tmp, "work"), join(base, "link-to-tmp"), "x"), /not inside/);
    symlinkSync(tmp, join(base, "link-to-tmp"));
    assert.throws(() => checkedDir(join(base, "link-to-tmp", "work"), join(base, "link-to-tmp"), "x"), /reached through a symbolic link/);
    assert.equal(checkedDir(join(tmp, "work"), tmp, "x"), join(tmp, "work"));
    cleanup(base);
  });

  describe("with real mounts", function () {
    before(function () {
      if (process.getuid?.() !== 0) {
        console.log("      (skipped: mounts need root)");
        this.skip();
      }
    });

    it("unmounts a bind mount before deleting and never deletes through it", () => {
      const base = scratch("bind");
      const precious = join(base, "precious");
      mkdirSync(precious);
      writeFileSync(join(precious, "data.txt"), "keep me");
      const work = join(base, "tmp", "work");
      mkdirSync(join(work, "var", "cache"), { recursive: true });
      assert.equal(spawnSync("mount", ["--bind", precious, join(work, "var", "cache")]).status, 0);
      assert.deepEqual(mountsBelow(work), [join(work, "var", "cache")]);
      safeRemove(work, join(base, "tmp"), "path/work", [], quiet);
      assert.ok(!existsSync(work));
      assert.deepEqual(mountsBelow(base), []);
      assert.equal(readFileSync(join(precious, "data.txt"), "utf8"), "keep me");
      cleanup(base);
    });

    it("unmounts a busy mount lazily", async () => {
      const base = scratch("busy");
      const precious = join(base, "precious");
      mkdirSync(join(precious, "inner"), { recursive: true });
      writeFileSync(join(precious, "inner", "data.txt"), "keep me");
      const point = join(base, "tmp", "work", "mnt");
      mkdirSync(point, { recursive: true });
      assert.equal(spawnSync("mount", ["--bind", precious, point]).status, 0);
      // A process working inside the mount keeps it busy.
      const holder = spawn("sleep", ["30"], { cwd: join(point, "inner"), stdio: "ignore" });
      await new Promise((r) => setTimeout(r, 100));
      const lines: string[] = [];
      try {
        safeRemove(join(base, "tmp", "work"), join(base, "tmp"), "path/work", [], (l) => lines.push(l));
      } finally {
        holder.kill("SIGKILL");
      }
      assert.ok(lines.some((l) => /unmounting lazily/.test(l)), lines.join("\n"));
      assert.deepEqual(mountsBelow(base), []);
      assert.ok(!existsSync(join(base, "tmp", "work")));
      assert.equal(readFileSync(join(precious, "inner", "data.txt"), "utf8"), "keep me");
      cleanup(base);
    });

    it("binds proc, /dev and caches, refuses a mount point that leads out of the chroot, and unmounts it all", () => {
      const base = scratch("chroot");
      const work = join(base, "tmp", "work");
      const cache = join(base, "cache");
      mkdirSync(join(work, "var"), { recursive: true });
      const tmp = join(base, "tmp");
      bindChroot(checkedDir(work, tmp, "w"), tmp, [{ source: cache, inside: "/var/tmp/cache/package" }], quiet);
      try {
        const mounts = mountsBelow(work);
        for (const p of ["proc", "dev", "var/tmp/cache/package"]) assert.ok(mounts.includes(join(work, p)), p);
        assert.ok(existsSync(join(work, "proc", "self", "status")));
      } finally {
        unmountBelow(checkedDir(work, tmp, "w"), quiet);
      }
      assert.deepEqual(mountsBelow(base), []);
      assert.ok(existsSync("/dev/null"), "the host's /dev is intact");

      // var/lib -> an absolute path outside: mounting there would cover a host directory.
      const outside = join(base, "outside");
      mkdirSync(outside);
      symlinkSync(outside, join(work, "var", "lib"));
      try {
        assert.throws(() => bindChroot(checkedDir(work, tmp, "w"), tmp, [{ source: cache, inside: "/var/lib/cache" }], quiet), /refusing to mount at .*var\/lib \(on the way to .*\) is a symbolic link/);
        assert.ok(!existsSync(join(outside, "cache")), "nothing was created through the link");
      } finally {
        unmountBelow(checkedDir(work, tmp, "w"), quiet);
      }
      assert.deepEqual(mountsBelow(base), []);
      safeRemove(work, join(base, "tmp"), "path/work", [], quiet);
      cleanup(base);
    });
  });
});

describe("builder locks and counters", () => {
  it("takes a free lock, refuses a live build's, replaces a stale one (a dead or reused PID) and releases only its own", async () => {
    const base = scratch("locks");
    const path = join(base, ".stage3_progress");
    const lock = new Lock(path, base);
    lock.acquire(quiet);
    assert.equal(readFileSync(path, "utf8"), String(process.pid));
    assert.equal(inspectLock(path).state, "stale", "our own PID is no other build");

    // A live process that looks like a build (its argv[0] is metro-engine), and one that does not.
    const build = spawn("sleep", ["30"], { argv0: "metro-engine", stdio: "ignore" });
    const other = spawn("sleep", ["30"], { stdio: "ignore" });
    try {
      await new Promise((r) => setTimeout(r, 100));
      writeFileSync(path, String(build.pid));
      assert.throws(() => new Lock(path, base).acquire(quiet), LockHeldError);
      lock.release();
      assert.equal(readFileSync(path, "utf8"), String(build.pid), "a lock now held by someone else is left alone");
      writeFileSync(path, String(other.pid));
      const state = inspectLock(path);
      assert.ok(state.state === "stale" && /PID \d+ is running but is not a build \(it is "sleep 30"\)/.test(state.why), JSON.stringify(state));
    } finally {
      build.kill("SIGKILL");
      other.kill("SIGKILL");
    }

    writeFileSync(path, "garbage");
    const messages: string[] = [];
    const again = new Lock(path, base);
    again.acquire((l) => messages.push(l));
    assert.match(messages.join(), /removing stale lock/);
    again.release();
    assert.ok(!existsSync(path));

    const count = join(base, ".failcount");
    assert.equal(incrementFailCount(count, base), 1);
    assert.equal(incrementFailCount(count, base), 2);
    assert.equal(readFileSync(count, "utf8"), "2");
    cleanup(base);
  });
});

describe("guarded writes against a folder swapped for a link while they run", () => {
  it("never writes, creates or removes a file through the link, however the swap falls between check and use", async function () {
    this.timeout(120_000);
    const base = scratch("race");
    const root = join(base, "mirror");
    const canary = join(base, "canary");
    mkdirSync(join(root, "log"), { recursive: true });
    mkdirSync(canary);
    symlinkSync(canary, join(root, "swap"));
    // Another user of a shared mirror, swapping log/ and a link to the canary as fast as the kernel lets it (renameat2 RENAME_EXCHANGE).
    const flipper = spawn("python3", ["-c", `
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
a, b = sys.argv[1].encode(), sys.argv[2].encode()
while True:
    libc.renameat2(-100, a, -100, b, 2)
`, join(root, "log"), join(root, "swap")], { stdio: "ignore" });
    const refused: string[] = [];
    const attempt = (action: () => void) => {
      try {
        action();
      } catch (error) {
        if (!(error instanceof GuardedFsError)) throw error;
        refused.push(error.message);
      }
    };
    try {
      await new Promise((r) => setTimeout(r, 200));
      for (let i = 0; i < 3000; i++) {
        attempt(() => writeFileGuarded(join(root, "log", "status"), root, "ok", { what: "the status file" }));
        attempt(() => closeSync(openForAppend(join(root, "log", "build.txt"), root, { truncate: true, what: "the log" })));
        attempt(() => {
          if (createExclusive(join(root, "log", ".lock"), root, "1", "the lock")) unlinkGuarded(join(root, "log", ".lock"), root, "the lock");
        });
        attempt(() => unlinkGuarded(join(root, "log", "old.txt"), root, "a file"));
        if (i % 500 === 0) writeFileSync(join(canary, "old.txt"), "kept\n");
      }
    } finally {
      flipper.kill("SIGKILL");
    }
    assert.ok(refused.length > 0, "the swap was seen");
    assert.deepEqual(readdirSync(canary).sort(), ["old.txt"], "nothing was written or created through the link");
    assert.equal(readFileSync(join(canary, "old.txt"), "utf8"), "kept\n", "nothing was removed through the link");
    cleanup(base);
  });
});

describe("builder inputs and outputs", () => {
  it("globs required files and falls back to the uncompressed tarball", () => {
    const base = scratch("files");
    writeFileSync(join(base, "stage3-a-2026.tar"), "");
    const found = findRequiredFile("path/mirror/source", join(base, "stage3-a-2026.tar.xz"));
    assert.deepEqual(found, { ok: true, key: "path/mirror/source", pattern: join(base, "stage3-a-2026.tar.xz"), path: join(base, "stage3-a-2026.tar"), uncompressed: true });
    writeFileSync(join(base, "stage3-b-2026.tar.xz"), "");
    assert.deepEqual(glob(join(base, "stage3-*-2026.tar*")), [join(base, "stage3-a-2026.tar"), join(base, "stage3-b-2026.tar.xz")]);
    const many = findRequiredFile("k", join(base, "stage3-*"));
    assert.ok(!many.ok && /matches 2 files/.test(many.problem));
    const none = findRequiredFile("k", join(base, "nothing.tar.gz"));
    assert.ok(!none.ok && /not found/.test(none.problem));
    cleanup(base);
  });

  it("extracts failed ebuilds like metro's scan (unique, sorted, category/package only)", () => {
    const log = [
      " * ERROR: sys-libs/glibc-2.38::core-kit failed (compile phase):",
      "noise",
      " * ERROR: dev-lang/perl-5.38 failed (install phase):",
      " * ERROR: sys-libs/glibc-2.38::core-kit failed (compile phase):",
      " * ERROR: nocategory failed (compile phase):",
      " * ERROR: something else went wrong",
    ].join("\n");
    assert.deepEqual(extractErrors(log), [
      { ebuild: "dev-lang/perl-5.38", phase: "install" },
      { ebuild: "sys-libs/glibc-2.38::core-kit", phase: "compile" },
    ]);
  });

  it("runs scripts without #! through /bin/sh, in the chroot at /tmp/<key>.metro", () => {
    assert.deepEqual(chrootArgv(["linux32", "chroot"], "/w", "steps/chroot/run", ["#!/bin/bash", "x"]), ["linux32", "chroot", "/w", "/tmp/steps/chroot/run.metro"]);
    assert.deepEqual(chrootArgv(["chroot"], "/w", "steps/chroot/postclean", ["rm -rf /tmp/*"]), ["chroot", "/w", "/bin/sh", "/tmp/steps/chroot/postclean.metro"]);
    assert.deepEqual(hostArgv("/t/x.metro", ["echo"]), ["/bin/sh", "/t/x.metro"]);
  });

  it("selects targets like metro: multi/targets plus multi/extras split on + or spaces", () => {
    const base = scratch("multi");
    const conf = join(base, "metro.conf");
    writeFileSync(conf, "[section multi]\n\ntargets: snapshot stage1  stage3\n");
    const load = (args: Record<string, string>) => selectTargets(Settings.load({ config: conf, args }));
    assert.deepEqual(load({ target: "stage3" }), ["stage3"]);
    assert.deepEqual(load({ multi: "yes" }), ["snapshot", "stage1", "stage3"]);
    assert.deepEqual(load({ multi: "yes", "multi/extras": "lxd openvz" }), ["snapshot", "stage1", "stage3", "lxd", "openvz"]);
    assert.deepEqual(load({ multi: "yes", "multi/extras": "lxd+openvz" }), ["snapshot", "stage1", "stage3", "lxd", "openvz"]);
    assert.deepEqual(load({ multi: "no", target: "stage1" }), ["stage1"]);
    assert.throws(() => load({}), /nothing to build/);
    cleanup(base);
  });

  it("plans the chroot sequence of metro's classes (official and QA)", () => {
    const scripts = (official: boolean) =>
      planTarget("chroot", official).flatMap((a) => (a.kind === "script" ? [a.key] : a.kind === "mount" || a.kind === "unmount" ? [a.kind] : []));
    assert.deepEqual(scripts(false), [
      "unmount", "steps/unpack", "steps/unpack/post", "mount", "steps/chroot/prerun", "steps/chroot/run", "steps/chroot/postrun",
      "unmount", "steps/chroot/clean", "mount", "steps/chroot/test", "unmount", "steps/chroot/postclean", "steps/clean", "unmount",
    ]);
    assert.deepEqual(scripts(true).filter((k) => !scripts(false).includes(k)), ["steps/chroot/grabinfo", "steps/precapture", "steps/capture", "trigger/ok/run"]);
    assert.ok(planTarget("stage", true).some((a) => a.kind === "clean-build-cache"));
    assert.ok(!planTarget("chroot", true).some((a) => a.kind === "clean-build-cache"));
  });
});
