// The build farm for real: the project's Buildbot master configuration
// (examples/buildbot/master.cfg) run by a real Buildbot master with two real
// workers on loopback, building the example tree's two subarches with
// metro-engine as root. It shows what the farm promises: due builds go to
// different workers at once, one build per subarch at a time across the farm
// (a second trigger starts no second build, a forced duplicate waits for the
// subarch's lock even with a worker free), a failure raises .failcount and
// the next plan puts the subarch where buildrepo's rules put it, and
// index.xml lists both subarches. Needs root, a static busybox, xz, Debian's
// buildbot and buildbot-worker; skips with a message otherwise.

import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { PROJECT } from "../support/shared";
import { Farm, RESULTS, farmPrerequisite, waitFor, type BuildRow } from "../support/buildbot-farm";

// Dates the plan is asked about (buildrepo's --today), and so the versions built.
const DAY0 = "2026-03-02";
const DAY3 = "2026-03-05"; // stale_days (3) later: both subarches due again
const DAY6 = "2026-03-08"; // 2 * stale_days after DAY0

const BUILD_WAIT = 600_000;

interface PlanEntry {
  subarch: string;
  failcount: number | string;
  nextdate: string;
  pass: number;
  [key: string]: unknown;
}

/** The builds `repo plan --json` says are due and startable (no live lock holds them). */
function planEntries(stdout: string): PlanEntry[] {
  const data = JSON.parse(stdout) as { builds?: unknown };
  assert.ok(Array.isArray(data.builds), `repo plan --json printed no list of builds: ${stdout}`);
  return (data.builds as PlanEntry[]).filter((b) => !b.skipped);
}

function shellVars(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of stdout.split("\n")) {
    const m = /^([a-z_]+)=(.*)$/.exec(line);
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

describe("buildbot farm (real master, two workers, two subarches)", function () {
  this.timeout(BUILD_WAIT + 120_000);
  let farm: Farm | null = null;
  const snapshotLock = (day: string) => join(farm!.mirror, "tiny-current", "snapshots", `.tiny-repo-${day}.tar.xz_progress`);
  /** A live process that is a build by its command line (argv[0] metro-engine): the builder honours a lock it holds. */
  let lockHolder: ChildProcess | null = null;
  const holdSnapshotLock = (day: string) => {
    lockHolder ??= spawn("sleep", ["3600"], { argv0: "metro-engine", stdio: "ignore" });
    mkdirSync(dirname(snapshotLock(day)), { recursive: true });
    writeFileSync(snapshotLock(day), String(lockHolder.pid));
  };
  /** Plays the other build that held the snapshot lock: the snapshot appears, then the lock goes. */
  const finishSnapshot = (day: string) => {
    const out = join(farm!.mirror, "tiny-current", "snapshots", `tiny-repo-${day}.tar.xz`);
    // Written under another name and renamed: a waiting build must never see half a tarball.
    const r = spawnSync("sh", ["-c", 'tar -cpf - -C "$1" . | xz -c > "$2.part" && mv "$2.part" "$2"', "sh", join(farm!.tree, "repo"), out], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    rmSync(snapshotLock(day));
  };
  const builds = (builder: string) => farm!.builds().filter((b) => b.builder === builder);
  const describeFarm = () => `${JSON.stringify(farm!.builds(), null, 1)}\n${farm!.masterLog().slice(-3000)}`;
  const finished = (b: BuildRow) => b.complete_at !== null;
  let round1: { generic: BuildRow; small: BuildRow } | null = null;
  let round2: { generic: BuildRow; small: BuildRow; forced: BuildRow } | null = null;

  before(async function () {
    this.timeout(300_000);
    const missing = farmPrerequisite();
    if (missing) {
      console.log(`      (skipped: ${missing})`);
      this.skip();
    }
    farm = new Farm([
      { name: "worker-a", subarches: ["generic", "small"] },
      { name: "worker-b", subarches: ["generic", "small"] },
    ]);
    await farm.start();
  });

  after(async function () {
    this.timeout(180_000);
    lockHolder?.kill("SIGKILL");
    if (!farm) return;
    await farm.stop();
    const left = farm.leftovers();
    farm.remove();
    assert.deepEqual(left, [], "the farm left processes or mounts behind");
    assert.equal(existsSync(farm.base), false, "the farm's temporary folder is gone");
  });

  it("builds both due subarches at once, on different workers, and a second trigger starts no second build", async function () {
    const f = farm!;
    const plan = planEntries(f.repo("plan", "--json", "--today", DAY0).stdout);
    assert.deepEqual(plan.map((e) => e.subarch).sort(), ["generic", "small"], "both subarches are due before anything was built");

    // Hold the snapshot lock (as another build of the same snapshot would):
    // both builds start, take their subarch's lock and wait for it.
    holdSnapshotLock(DAY0);
    f.sendchange("metro-plan", { today: DAY0 });
    const running = await waitFor("both subarch builds to run", 120_000, () => {
      const g = builds("metro-generic");
      const s = builds("metro-small");
      const held = ["generic", "small"].every((sub) => existsSync(join(f.subarchDir(sub), ".control", ".multi_progress")));
      return g.length === 1 && s.length === 1 && !finished(g[0]!) && !finished(s[0]!) && held ? { generic: g[0]!, small: s[0]! } : undefined;
    }, describeFarm);
    assert.notEqual(running.generic.worker, null);
    assert.notEqual(running.generic.worker, running.small.worker, "the two subarches build on different workers");

    // A second trigger while both build: the plan runs, and starts nothing.
    const plansBefore = builds("metro-plan").length;
    f.sendchange("metro-plan", { today: DAY0 });
    const second = await waitFor("the second plan to finish", 120_000, () => {
      const p = builds("metro-plan");
      return p.length === plansBefore + 1 && finished(p[p.length - 1]!) ? p[p.length - 1]! : undefined;
    }, describeFarm);
    assert.equal(second.results, RESULTS.SUCCESS, f.buildLog(second.id));
    const perBuilder = (name: string) => f.requests().filter((r) => r.builder === name).length;
    assert.equal(perBuilder("metro-generic"), 1, "no second build request for generic");
    assert.equal(perBuilder("metro-small"), 1, "no second build request for small");

    finishSnapshot(DAY0);
    round1 = await waitFor("both builds to finish", BUILD_WAIT, () => {
      const g = builds("metro-generic")[0]!;
      const s = builds("metro-small")[0]!;
      return finished(g) && finished(s) ? { generic: g, small: s } : undefined;
    }, describeFarm);
    assert.equal(round1.generic.results, RESULTS.SUCCESS, f.buildLog(round1.generic.id));
    assert.equal(round1.small.results, RESULTS.SUCCESS, f.buildLog(round1.small.id));
    for (const sub of ["generic", "small"]) {
      const dir = join(f.subarchDir(sub), DAY0);
      assert.equal(readFileSync(join(dir, "status"), "utf8").trim(), "ok");
      assert.ok(existsSync(join(dir, `stage3-${sub}-tiny-current-${DAY0}.tar.xz`)), `${sub}'s stage3 is in the mirror`);
      assert.ok(existsSync(join(dir, `stage3-${sub}-tiny-current-${DAY0}.tar.xz.hash.txt`)), `digestgen hashed ${sub}'s stage3`);
    }
  });

  it("publishes index.xml listing both subarches", function () {
    if (!round1) this.skip();
    const index = readFileSync(join(farm!.mirror, "index.xml"), "utf8");
    for (const sub of ["generic", "small"]) {
      assert.match(index, new RegExp(`<subarch [^>]*name="${sub}"`), `index.xml lists ${sub}`);
      assert.ok(index.includes(`stage3-${sub}-tiny-current-${DAY0}.tar.xz`), `index.xml names ${sub}'s stage3`);
    }
    assert.equal(planEntries(farm!.repo("plan", "--json", "--today", DAY0).stdout).length, 0, "nothing is due once both are built");
  });

  it("keeps a forced duplicate of a subarch waiting for the subarch's lock while a worker is free", async function () {
    if (!round1) this.skip();
    const f = farm!;
    // small will fail: its seed (version/stage3) names a stage3 that does not exist.
    const seedVersion = join(f.subarchDir("small"), ".control", "version", "stage3");
    assert.equal(readFileSync(seedVersion, "utf8").trim(), DAY0);
    writeFileSync(seedVersion, "missing\n");
    assert.equal(existsSync(join(f.subarchDir("small"), ".control", ".failcount")), false);

    holdSnapshotLock(DAY3);
    f.sendchange("metro-plan", { today: DAY3 });
    const running = await waitFor("both subarch builds of day 3 to run", 120_000, () => {
      const g = builds("metro-generic");
      const s = builds("metro-small");
      const held = ["generic", "small"].every((sub) => existsSync(join(f.subarchDir(sub), ".control", ".multi_progress")));
      return g.length === 2 && s.length === 2 && !finished(g[1]!) && !finished(s[1]!) && held ? { generic: g[1]!, small: s[1]! } : undefined;
    }, describeFarm);
    assert.notEqual(running.generic.worker, running.small.worker);

    // An operator forces generic while it builds. Once small fails (quickly),
    // a worker is free, yet the request must wait for generic's lock.
    f.sendchange("metro-build", { build: "tiny-current", arch_desc: f.arch, nextdate: DAY3 }, "generic");
    await waitFor("the forced request", 60_000, () => (f.requests().filter((r) => r.builder === "metro-generic").length === 3 ? true : undefined), describeFarm);
    finishSnapshot(DAY3);

    round2 = await waitFor("the day-3 builds and the forced one to finish", BUILD_WAIT, () => {
      const g = builds("metro-generic");
      const s = builds("metro-small");
      return g.length === 3 && s.length === 2 && g.every(finished) && s.every(finished) ? { generic: g[1]!, small: s[1]!, forced: g[2]! } : undefined;
    }, describeFarm);
    assert.equal(round2.generic.results, RESULTS.SUCCESS, f.buildLog(round2.generic.id));
    assert.equal(round2.small.results, RESULTS.FAILURE, f.buildLog(round2.small.id));
    assert.ok(round2.small.complete_at! < round2.generic.complete_at!, "small failed while generic was still building (a worker was free)");
    assert.ok(round2.forced.started_at >= round2.generic.complete_at!,
      `the forced generic build started (${round2.forced.started_at}) only after the running one ended (${round2.generic.complete_at})`);
    assert.equal(round2.forced.results, RESULTS.SUCCESS, f.buildLog(round2.forced.id));
    writeFileSync(seedVersion, `${DAY0}\n`);
  });

  it("counts the failure in .failcount and the next plans put small where buildrepo does", function () {
    if (!round2) this.skip();
    const f = farm!;
    assert.equal(readFileSync(join(f.subarchDir("small"), ".control", ".failcount"), "utf8").trim(), "1");
    assert.equal(readFileSync(join(f.subarchDir("small"), DAY3, "status"), "utf8").trim(), "fail");
    assert.equal(existsSync(join(f.subarchDir("generic"), ".control", ".failcount")), false);

    // buildrepo's walk: pass n takes the subarches with failcount n. On day 3
    // generic was just built; small (failcount 1) is due in pass 1, being
    // stale_days past its last complete build (day 0).
    const day3 = planEntries(f.repo("plan", "--json", "--today", DAY3).stdout);
    assert.deepEqual(day3.map((e) => [e.subarch, Number(e.failcount), e.pass]), [["small", 1, 1]]);
    const next3 = shellVars(f.repo("nextbuild", "--today", DAY3).stdout);
    assert.deepEqual([next3.subarch, next3.failcount, next3.nextdate], ["small", "1", DAY3]);

    // On day 6 both are due, small first: pass 0 also takes failcount 1 once
    // 2 * stale_days have passed, before the stale builds of failcount 0.
    const day6 = planEntries(f.repo("plan", "--json", "--today", DAY6).stdout);
    assert.deepEqual(day6.map((e) => [e.subarch, Number(e.failcount), e.pass]), [["small", 1, 0], ["generic", 0, 0]]);
    const next6 = f.repo("nextbuild", "--today", DAY6);
    assert.equal(next6.code, 0, next6.stderr);
    const vars = shellVars(next6.stdout);
    assert.deepEqual([vars.subarch, vars.failcount, vars.nextdate], ["small", "1", DAY6]);

    // index.xml still lists both (small's newest complete build is day 0).
    const index = readFileSync(join(f.mirror, "index.xml"), "utf8");
    assert.ok(index.includes(`stage3-generic-tiny-current-${DAY3}.tar.xz`));
    assert.ok(index.includes(`stage3-small-tiny-current-${DAY0}.tar.xz`));
  });
});

describe("buildbot farm configuration (buildbot checkconfig)", function () {
  this.timeout(60_000);
  let dir = "";

  before(function () {
    if (spawnSync("buildbot", ["--version"], { stdio: "ignore" }).status !== 0) {
      console.log("      (skipped: buildbot is not installed (Debian: buildbot))");
      this.skip();
    }
    dir = mkdtempSync(join(tmpdir(), "metro-farm-config-"));
  });

  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const check = (farm: string) => {
    writeFileSync(join(dir, "farm.json"), farm);
    return spawnSync("buildbot", ["checkconfig", join(PROJECT, "examples", "buildbot", "master.cfg")], { cwd: dir, encoding: "utf8", env: { ...process.env, METRO_FARM: join(dir, "farm.json") } });
  };
  const good = { metro_config: "/etc/metro/metro.conf", buildbot_file: "/etc/metro/.buildbot", change_user: "metro", change_password: "p", workers: { w1: { password: "p", subarches: ["generic"] } } };

  it("accepts the settings farm.example.json documents", () => {
    const r = check(readFileSync(join(PROJECT, "examples", "buildbot", "farm.example.json"), "utf8"));
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.equal(check(JSON.stringify(good)).status, 0);
  });

  it("names the file, line and column of a farm.json that is not JSON, and the setting that is wrong, without a traceback", () => {
    const broken = check('{\n  "metro_config": "/x"\n  "workers": {}\n}\n');
    assert.equal(broken.status, 1);
    assert.match(broken.stdout + broken.stderr, new RegExp(`${join(dir, "farm.json")}:3:3: not JSON`));
    const noSubarches = check(JSON.stringify({ ...good, workers: { w1: { password: "p", subarches: [] } } }));
    assert.equal(noSubarches.status, 1);
    assert.match(noSubarches.stdout + noSubarches.stderr, /farm\.json: workers\.w1\.subarches must list the subarches it builds/);
    const badPort = check(JSON.stringify({ ...good, plan_every: "hourly" }));
    assert.match(badPort.stdout + badPort.stderr, /farm\.json: plan_every must be a whole number/);
    for (const r of [broken, noSubarches, badPort]) assert.doesNotMatch(r.stdout + r.stderr, /Traceback/);
  });
});
