// The builder's real-build test kit, shared by tests/system/build.test.ts and
// tests/system/build-hostile.test.ts: the built CLI as a child process, scratch
// build areas (a copy of examples/, a busybox seed, a temp tree) and the
// kernel's view of what a build left behind (mounts, processes).

import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync, readlinkSync } from "node:fs";
import { machine, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { PROJECT, copyBuiltCli } from "./shared";

const BUILT_CLI = join(PROJECT, "dist", "metro-engine.js");
/** A private copy of the built CLI, so a rebuild of dist/ while the tests run cannot change it under them. */
let CLI = BUILT_CLI;
export function useCliCopy(): void {
  if (CLI !== BUILT_CLI || !existsSync(BUILT_CLI)) return;
  CLI = copyBuiltCli(mkdtempSync(join(tmpdir(), "metro-cli-")));
}
const EXAMPLES = join(PROJECT, "examples");
export const VERSION = "2026.11.21";

export function hostArchDesc(): string | null {
  const m = machine();
  if (m === "x86_64") return "x86-64bit";
  if (m === "aarch64") return "arm-64bit";
  if (m === "riscv64") return "riscv-64bit";
  return null;
}

/** Whether a command is on PATH. */
export function have(tool: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" }).status === 0;
}

/** Why these tests cannot run here, or null. */
export function missingPrerequisite(): string | null {
  if (process.getuid?.() !== 0) return "the builder tests need root (chroot and mounts)";
  if (!existsSync(BUILT_CLI)) return `${BUILT_CLI} is missing (run node scripts/build.mjs)`;
  for (const tool of ["busybox", "xz", "chroot", "mount", "umount", "tar", "unshare", "setpriv"]) {
    if (!have(tool)) return `${tool} is not installed`;
  }
  if (spawnSync("ldd", ["/bin/busybox"], { stdio: "ignore" }).status === 0) return "/bin/busybox is not static (install busybox-static)";
  if (!hostArchDesc()) return `no example seed for a ${machine()} host`;
  return null;
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The built CLI the tests run (the kit's private copy once `useCliCopy` ran). */
export function cliPath(): string {
  return CLI;
}

export function runCli(args: string[], onStart?: (pid: number, output: () => string, child: ChildProcess) => void, cwd = PROJECT): Promise<CliResult> {
  return new Promise((resolveRun) => {
    const child = spawn(process.execPath, [CLI, "build", ...args], { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    if (onStart && child.pid) onStart(child.pid, () => stdout + stderr, child);
    child.on("close", (code, signal) => resolveRun({ code, signal, stdout, stderr }));
  });
}

/** Mount points at or below `dir` in this (the test's) mount namespace. */
export function mountsBelow(dir: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4])
    .filter((p): p is string => p !== undefined && (p === dir || p.startsWith(dir + "/")));
}

export function filesNamed(dir: string, test: (name: string) => boolean): string[] {
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
export function processesRootedIn(dir: string): number[] {
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

/** Waits (up to 20 s) for `list()` to become empty: the kernel ends a dead namespace's processes asynchronously. */
export async function processesGone(list: () => number[]): Promise<number[]> {
  for (let i = 0; i < 200 && list().length; i++) await new Promise((r) => setTimeout(r, 100));
  return list();
}

export function tarList(path: string): string[] {
  const r = spawnSync("tar", ["-tJf", path], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split("\n").filter((l) => l !== "");
}

export function tarFile(path: string, member: string): string {
  const r = spawnSync("tar", ["-xJOf", path, member], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

/** A scratch build area: a copy of examples/, a mirror with the busybox seed, a temp tree. */
export class Scratch {
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

/** Removes the kit's private copy of the CLI. */
export function removeCliCopy(): void {
  if (CLI !== BUILT_CLI) spawnSync("rm", ["-rf", "--one-file-system", "--", dirname(CLI)]);
  CLI = BUILT_CLI;
}
