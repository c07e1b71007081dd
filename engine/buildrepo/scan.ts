// The mirror scan buildrepo runs before every command (it rebuilds its
// SQLite database each time): one row per existing
// <mirror>/<release>/<arch>/<subarch> of all_builds x all_arches x
// all_subarches in that nested order ("scan order"), the build directories
// below each, their artifacts, and each release's portage snapshots.

import { readFileSync } from "node:fs";
import type { BuildbotConfig } from "./buildbot-file";
import type { MirrorFs } from "./mirror-fs";
import { BuildrepoCrash, decodeText, makeDateTime, pyInt, pyStrip, strptimeYmd, type NaiveDateTime } from "./python-semantics";

export type Flavor = "gnome" | "lxd" | "openvz" | "stage3";

export interface Artifact {
  flavor: Flavor;
  path: string;
}

export interface BuildDir {
  /** Position in scan order over all build directories. */
  id: number;
  path: string;
  /** The directory's name. */
  name: string;
  release: string;
  arch: string;
  subarch: string;
  /** The name as a date; 1980-01-01 when it is not one (so that clean removes it). */
  date: NaiveDateTime;
  /** The name when it is a date, else "1980-01-01". */
  dateStr: string;
  /** `status` says ok, or the directory holds a stage3. */
  complete: boolean;
  /** `status`, stripped. */
  status: string;
  /** In flavor order (gnome, lxd, openvz, stage3). */
  artifacts: Artifact[];
}

export interface SubarchRow {
  /** Position in scan order. */
  index: number;
  path: string;
  release: string;
  arch: string;
  subarch: string;
  /** int() of .control/.failcount's first line; 0 without the file; null when it is not a number. */
  failcount: bigint | null;
  /** release in builds, arch in arches and subarch in subarches. */
  doBuild: boolean;
  /** The newest complete build (first by name among equal dates), or null: never built. */
  latest: BuildDir | null;
  buildDirs: BuildDir[];
}

export interface Snapshot {
  path: string;
  release: string;
}

export interface Scan {
  rows: SubarchRow[];
  buildDirs: BuildDir[];
  snapshots: Snapshot[];
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const CLEANING_DATE = makeDateTime(1980, 1, 1)!;

// glob patterns buildrepo uses inside a build directory, and the endings find_file_compressed_or_not accepts.
const ARTIFACT_PATTERNS: [Flavor, RegExp][] = [
  ["stage3", /^stage3.*\.tar/s],
  ["openvz", /^funtoo-.*-openvz-.*\.tar/s],
  ["lxd", /^lxd-.*\.tar/s],
  ["gnome", /^gnome-.*\.tar/s],
];
const ACCEPTED_ENDINGS = [".tar.bz2", "tar.gz", "tar.xz", ".tar"];
const SNAPSHOT = /^portage-.*\.tar\.xz$/s;
const FLAVOR_ORDER: Flavor[] = ["gnome", "lxd", "openvz", "stage3"];

function errnoCrash(e: unknown, path: string, doing: string): BuildrepoCrash {
  const code = (e as NodeJS.ErrnoException).code ?? "";
  const type = code === "ENOENT" ? "FileNotFoundError" : code === "EISDIR" ? "IsADirectoryError" : code === "ENOTDIR" ? "NotADirectoryError" : code === "EACCES" || code === "EPERM" ? "PermissionError" : "OSError";
  return new BuildrepoCrash(type, `${doing}: ${code || (e as Error).message}`, path);
}

/** countFile(path).count: int() of the first line, None when unreadable or not a number; an empty file crashes. */
function readFailcount(fs: MirrorFs, path: string): bigint | null {
  const real = fs.resolve(path);
  let bytes: Buffer;
  try {
    bytes = readFileSync(real ?? path);
  } catch {
    return null;
  }
  const text = decodeText(bytes);
  if (text === null) return null;
  if (text === "") throw new BuildrepoCrash("IndexError", "the fail count file is empty (buildrepo reads its first line: list index out of range)", path);
  const nl = text.indexOf("\n");
  return pyInt(nl === -1 ? text : text.slice(0, nl + 1));
}

function readStatus(fs: MirrorFs, path: string): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(fs.resolve(path) ?? path);
  } catch (e) {
    throw errnoCrash(e, path, "cannot read the build status");
  }
  const text = decodeText(bytes);
  if (text === null) throw new BuildrepoCrash("UnicodeDecodeError", "the build status is not UTF-8 text", path);
  return pyStrip(text);
}

/** The artifacts of a build directory: for each flavor the first match (by name) with an accepted ending. */
function findArtifacts(fs: MirrorFs, dir: string): Artifact[] {
  const names = fs.listQuiet(dir).filter((n) => !n.startsWith("."));
  const found = new Map<Flavor, string>();
  for (const [flavor, pattern] of ARTIFACT_PATTERNS) {
    const match = names.find((n) => pattern.test(n) && ACCEPTED_ENDINGS.some((e) => n.endsWith(e)));
    if (match !== undefined) found.set(flavor, `${dir}/${match}`);
  }
  return FLAVOR_ORDER.filter((f) => found.has(f)).map((flavor) => ({ flavor, path: found.get(flavor)! }));
}

/**
 * Scans the mirror. `notFound` is told every missing <release>/<arch> as it is met (buildrepo prints
 * `Path not found:` then); a BuildrepoCrash is thrown where buildrepo stops with an exception.
 */
export function scanMirror(fs: MirrorFs, mirror: string, config: BuildbotConfig, notFound: (path: string) => void): Scan {
  const scan: Scan = { rows: [], buildDirs: [], snapshots: [] };
  const builds = new Set(config.builds);
  const arches = new Set(config.arches);
  const subarches = new Set(config.subarches);
  for (const release of config.allBuilds) {
    if (!fs.exists(`${mirror}/${release}`)) continue;
    const snapdir = `${mirror}/${release}/snapshots`;
    if (fs.isDir(snapdir) && !fs.isLink(snapdir)) {
      for (const name of fs.listQuiet(snapdir)) {
        if (SNAPSHOT.test(name) && name !== "portage-current.tar.xz") scan.snapshots.push({ path: `${snapdir}/${name}`, release });
      }
    }
    for (const arch of config.allArches) {
      const archPath = `${mirror}/${release}/${arch}`;
      if (!fs.exists(archPath)) {
        notFound(archPath);
        continue;
      }
      for (const subarch of config.allSubarches) {
        const path = `${archPath}/${subarch}`;
        if (!fs.exists(path)) continue;
        const failPath = `${path}/.control/.failcount`;
        const failcount = fs.exists(failPath) ? readFailcount(fs, failPath) : 0n;
        const row: SubarchRow = {
          index: scan.rows.length,
          path,
          release,
          arch,
          subarch,
          failcount,
          doBuild: builds.has(release) && arches.has(arch) && subarches.has(subarch),
          latest: null,
          buildDirs: [],
        };
        let names: string[];
        try {
          names = fs.list(path);
        } catch (e) {
          throw errnoCrash(e, path, "cannot list the subarch directory");
        }
        for (const name of names) {
          if (name === ".control") continue;
          const dir = `${path}/${name}`;
          if (!fs.isDir(dir)) continue;
          const statusPath = `${dir}/status`;
          // No status file: the build is in progress and buildrepo ignores the directory entirely.
          if (!fs.exists(statusPath)) continue;
          const status = readStatus(fs, statusPath);
          const parsed = strptimeYmd(name);
          const artifacts = findArtifacts(fs, dir);
          const build: BuildDir = {
            id: scan.buildDirs.length,
            path: dir,
            name,
            release,
            arch,
            subarch,
            date: parsed ?? CLEANING_DATE,
            dateStr: parsed ? name : "1980-01-01",
            complete: status === "ok" || artifacts.some((a) => a.flavor === "stage3"),
            status,
            artifacts,
          };
          scan.buildDirs.push(build);
          row.buildDirs.push(build);
          if (build.complete && (row.latest === null || row.latest.date.ms < build.date.ms)) row.latest = build;
        }
        // SQLite stores the row's fail count as a 64-bit integer; Python refuses a larger one when the row is flushed.
        if (failcount !== null && (failcount < INT64_MIN || failcount > INT64_MAX)) {
          throw new BuildrepoCrash("OverflowError", "the fail count does not fit SQLite's 64-bit INTEGER", failPath);
        }
        scan.rows.push(row);
      }
    }
  }
  return scan;
}

/** A row's date: its newest complete build's, or null. */
export function rowDate(row: SubarchRow): NaiveDateTime | null {
  return row.latest ? row.latest.date : null;
}
