// A real Buildbot farm on this machine for the farm test and the benchmark:
// the project's examples/buildbot/master.cfg run by a Buildbot master, real
// workers, the example tree with both subarches seeded, everything on
// loopback and inside one temporary folder. Nothing is mocked: the master
// runs metro-engine (a private copy of dist/metro-engine.js) for the plan
// and on the workers for the builds.

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { machine, tmpdir } from "node:os";
import { join } from "node:path";
import { have, hostArchDesc } from "./builder";
import { PROJECT, copyBuiltCli } from "./shared";
const BUILT_CLI = join(PROJECT, "dist", "metro-engine.js");
const EXAMPLES = join(PROJECT, "examples");
export const SUBARCHES = ["generic", "small"] as const;


/** Why a farm cannot run here, or null. */
export function farmPrerequisite(): string | null {
  if (process.getuid?.() !== 0) return "the farm builds stages: it needs root (chroot and mounts)";
  if (!existsSync(BUILT_CLI)) return `${BUILT_CLI} is missing (run node scripts/build.mjs)`;
  for (const tool of ["busybox", "xz", "chroot", "mount", "tar", "python3"]) if (!have(tool)) return `${tool} is not installed`;
  if (spawnSync("ldd", ["/bin/busybox"], { stdio: "ignore" }).status === 0) return "/bin/busybox is not static (install busybox-static)";
  if (!have("buildbot") || spawnSync("buildbot", ["--version"], { stdio: "ignore" }).status !== 0) return "buildbot is not installed (Debian: buildbot)";
  if (!have("buildbot-worker") || spawnSync("buildbot-worker", ["--version"], { stdio: "ignore" }).status !== 0) return "buildbot-worker is not installed (Debian: buildbot-worker)";
  if (!hostArchDesc()) return `no example seed for a ${machine()} host`;
  const repo = spawnSync(process.execPath, [BUILT_CLI, "repo", "--help"], { encoding: "utf8" });
  if (repo.status !== 0) return "this metro-engine has no repo command";
  return null;
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A timer that does not keep the process alive (for bounded waits raced against an event). */
const raceTimer = (ms: number) => new Promise<false>((r) => setTimeout(() => r(false), ms).unref());

/** Polls `probe` until it returns a value (not undefined) or `ms` pass; then throws with `what`. */
export async function waitFor<T>(what: string, ms: number, probe: () => T | undefined, describe?: () => string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms / 1000} s waiting for ${what}${describe ? `\n${describe()}` : ""}`);
    await sleep(250);
  }
}

export interface BuildRow {
  id: number;
  builder: string;
  worker: string | null;
  buildrequestid: number;
  started_at: number;
  complete_at: number | null;
  results: number | null;
  state_string: string;
}

export interface RequestRow {
  id: number;
  builder: string;
  complete: number;
  claimed_at: number | null;
  submitted_at: number;
}

/** Buildbot's result codes. */
export const RESULTS = { SUCCESS: 0, WARNINGS: 1, FAILURE: 2, SKIPPED: 3, EXCEPTION: 4, RETRY: 5, CANCELLED: 6 } as const;

export interface FarmWorker {
  name: string;
  subarches: string[];
}

export class Farm {
  readonly base: string;
  readonly tree: string;
  readonly mirror: string;
  readonly tmp: string;
  readonly arch: string;
  readonly masterDir: string;
  readonly engine: string[];
  readonly config: string;
  readonly buildbotFile: string;
  port = 0;
  private readonly password = `farm-${process.pid}-${Date.now()}`;
  private readonly children: { name: string; child: ChildProcess; exited: Promise<void> }[] = [];

  constructor(readonly workers: FarmWorker[]) {
    this.base = mkdtempSync(join(tmpdir(), "metro-farm-"));
    this.tree = join(this.base, "examples");
    this.mirror = join(this.base, "mirror");
    this.tmp = join(this.base, "tmp");
    for (const w of workers) mkdirSync(join(this.tmp, w.name), { recursive: true });
    this.masterDir = join(this.base, "master");
    this.arch = hostArchDesc()!;
    const cli = copyBuiltCli(this.base);
    this.engine = [process.execPath, cli];
    // The example tree, with its mirror and temporary folder moved in here.
    cpSync(EXAMPLES, this.tree, { recursive: true });
    this.config = join(this.tree, "metro.conf");
    const conf = readFileSync(this.config, "utf8");
    const moved = conf.replace(/^: \/var\/tmp\/metro-tiny-mirror$/m, `: ${this.mirror}`).replace(/^tmp: \/var\/tmp\/metro-tiny$/m, `tmp: ${this.tmp}`);
    if (moved === conf || !moved.includes(this.mirror) || !moved.includes(this.tmp)) throw new Error("examples/metro.conf no longer sets path/mirror and path/tmp where the farm expects");
    writeFileSync(this.config, moved);
    this.buildbotFile = join(this.tree, ".buildbot");
    for (const subarch of SUBARCHES) {
      const seed = spawnSync("sh", [join(this.tree, "seed.sh"), this.mirror, this.arch, subarch], { encoding: "utf8" });
      if (seed.status !== 0) throw new Error(`seed.sh failed: ${seed.stderr}`);
    }
  }

  /** Creates and starts the master and the workers; resolves when every worker is connected. */
  async start(): Promise<void> {
    this.port = await freePort();
    const farm = {
      metro_engine: this.engine,
      metro_config: this.config,
      buildbot_file: this.buildbotFile,
      plan_every: 0, // no timer: the test plans by sendchange, with buildrepo's --today
      pb: `tcp:${this.port}:interface=127.0.0.1`,
      change_user: "farm-test",
      change_password: this.password,
      // Each worker stands for a machine of its own: its own path/tmp (a build locks its path/tmp).
      workers: Object.fromEntries(this.workers.map((w) => [w.name, { password: this.password, subarches: w.subarches, build_args: ["path/tmp:", join(this.tmp, w.name)] }])),
    };
    this.run("buildbot", ["create-master", "--quiet", "--config", join(PROJECT, "examples", "buildbot", "master.cfg"), this.masterDir]);
    writeFileSync(join(this.masterDir, "farm.json"), JSON.stringify(farm, null, 2));
    this.spawnDaemon("master", "buildbot", ["start", "--nodaemon", this.masterDir]);
    await waitFor("the Buildbot master to start", 90_000, () => {
      const log = this.masterLog();
      if (/BuildMaster startup failed|configuration update failed|Traceback/.test(log) && !/BuildMaster is running/.test(log)) throw new Error(`the master did not start:\n${log.slice(-3000)}`);
      return /BuildMaster is running/.test(log) ? true : undefined;
    });
    for (const w of this.workers) {
      const dir = join(this.base, "workers", w.name);
      mkdirSync(join(this.base, "workers"), { recursive: true });
      this.run("buildbot-worker", ["create-worker", "--quiet", "--umask=0o22", "--maxdelay=5", dir, `127.0.0.1:${this.port}`, w.name, this.password]);
      this.spawnDaemon(w.name, "buildbot-worker", ["start", "--nodaemon", dir]);
    }
    await waitFor("every worker to connect", 90_000, () => {
      const connected = new Set(this.query<{ name: string }>("select w.name as name from connected_workers c join workers w on w.id = c.workerid").map((r) => r.name));
      return this.workers.every((w) => connected.has(w.name)) ? true : undefined;
    }, () => this.masterLog().slice(-2000));
  }

  private run(cmd: string, args: string[]): void {
    const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 60_000 });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.stderr || r.stdout || r.error?.message}`);
  }

  private spawnDaemon(name: string, cmd: string, args: string[]): void {
    const child = spawn(cmd, args, { stdio: "ignore" });
    const exited = new Promise<void>((r) => child.on("exit", () => r()));
    this.children.push({ name, child, exited });
  }

  masterLog(): string {
    try {
      return readFileSync(join(this.masterDir, "twistd.log"), "utf8");
    } catch {
      return "";
    }
  }

  /** Reads the master's database (sqlite, read-only) with python3. */
  query<T>(sql: string): T[] {
    const db = join(this.masterDir, "state.sqlite");
    const script = [
      "import json, sqlite3, sys",
      "c = sqlite3.connect('file:' + sys.argv[1] + '?mode=ro', uri=True, timeout=10)",
      "c.row_factory = sqlite3.Row",
      "import bz2, zlib",
      "def text(o):",
      "    if not isinstance(o, bytes): raise TypeError(type(o))",
      // Compressed chunks first: any bytes decode as text, so the plain reading comes last.
      "    for unpack in (zlib.decompress, bz2.decompress, lambda b: b):",
      "        try: return unpack(o).decode('utf-8', 'replace')",
      "        except Exception: pass",
      "    return repr(o)",
      "print(json.dumps([dict(r) for r in c.execute(sys.argv[2])], default=text))",
    ].join("\n");
    const r = spawnSync("python3", ["-c", script, db, sql], { encoding: "utf8", timeout: 30_000 });
    if (r.status !== 0) throw new Error(`query failed: ${r.stderr}`);
    return JSON.parse(r.stdout) as T[];
  }

  builds(): BuildRow[] {
    return this.query<BuildRow>(
      "select b.id, bl.name as builder, w.name as worker, b.buildrequestid, b.started_at, b.complete_at, b.results, b.state_string " +
      "from builds b join builders bl on bl.id = b.builderid left join workers w on w.id = b.workerid order by b.id");
  }

  requests(): RequestRow[] {
    return this.query<RequestRow>(
      "select r.id, bl.name as builder, r.complete, c.claimed_at, r.submitted_at from buildrequests r " +
      "join builders bl on bl.id = r.builderid left join buildrequest_claims c on c.brid = r.id order by r.id");
  }

  /** The text of every log of a build's steps (for failure messages and checks). */
  buildLog(buildId: number): string {
    const rows = this.query<{ step: string; content: string | null }>(
      "select s.name as step, lc.content as content from steps s join logs l on l.stepid = s.id " +
      `join logchunks lc on lc.logid = l.id where s.buildid = ${Number(buildId)} order by s.number, l.id, lc.first_line`);
    return rows.map((r) => `[${r.step}] ${r.content ?? ""}`).join("");
  }

  /** `buildbot sendchange` to the master's change source: how an operator triggers the farm by hand. */
  sendchange(category: string, properties: Record<string, string> = {}, branch?: string): void {
    const args = ["sendchange", "--master", `127.0.0.1:${this.port}`, "--auth", `farm-test:${this.password}`, "--who", "farm-test", "--category", category];
    if (branch) args.push("--branch", branch);
    for (const [k, v] of Object.entries(properties)) args.push("--property", `${k}:${v}`);
    this.run("buildbot", args);
  }

  /** Runs `metro-engine repo COMMAND` on the farm's .buildbot and configuration. */
  repo(command: string, ...args: string[]): { code: number | null; stdout: string; stderr: string } {
    const r = spawnSync(this.engine[0]!, [...this.engine.slice(1), "repo", command, "--buildbot", this.buildbotFile, "--config", this.config, ...args], { encoding: "utf8", timeout: 60_000 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  subarchDir(subarch: string): string {
    return join(this.mirror, "tiny-current", this.arch, subarch);
  }

  /** Stops the workers, then the master (SIGTERM, then SIGKILL after a bounded wait). */
  async stop(): Promise<void> {
    for (const group of [this.children.filter((c) => c.name !== "master"), this.children.filter((c) => c.name === "master")]) {
      for (const c of group) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill("SIGTERM");
      const all = Promise.all(group.map((c) => c.exited));
      const done = await Promise.race([all.then(() => true), raceTimer(60_000)]);
      if (!done) {
        for (const c of group) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill("SIGKILL");
        await Promise.race([all, raceTimer(10_000)]);
      }
    }
  }

  /** What would be left behind: mounts and processes below the farm's folder. */
  leftovers(): string[] {
    const out: string[] = [];
    for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
      const point = line.split(" ")[4];
      if (point && (point === this.base || point.startsWith(this.base + "/"))) out.push(`mount ${point}`);
    }
    for (const name of readdirSync("/proc")) {
      if (!/^\d+$/.test(name)) continue;
      try {
        const cwd = readlinkSync(`/proc/${name}/cwd`);
        const root = readlinkSync(`/proc/${name}/root`);
        const cmd = readFileSync(`/proc/${name}/cmdline`, "utf8");
        if ([cwd, root].some((p) => p === this.base || p.startsWith(this.base + "/")) || cmd.includes(this.base)) out.push(`process ${name}: ${cmd.replace(/\0/g, " ").trim()}`);
      } catch {
        // gone, or not ours to read
      }
    }
    return out;
  }

  /** Removes the farm's folder (never through a mount). */
  remove(): void {
    if (!this.leftovers().some((l) => l.startsWith("mount "))) spawnSync("rm", ["-rf", "--one-file-system", "--", this.base]);
  }
}
