// Prepares Debian 13 (trixie)'s Neovim (0.10) and Helix for the system
// tests on an older Debian: apt-get, with a private configuration and an
// empty package status, resolves `neovim` and `hx` and every package they
// depend on (libc6 included) from trixie and downloads them; dpkg-deb
// unpacks them into a folder (no maintainer scripts, no chroot, no root
// needed). The wrappers bin/nvim and bin/hx run the unpacked programs with
// trixie's own dynamic loader and libraries (`ld.so --library-path`), so the
// host's libc is never mixed in; a language server they start is an ordinary
// host process. Prints the folder.
//
//   node scripts/trixie-editors.mjs            # prepare if missing, print the folder
//   node scripts/trixie-editors.mjs --check    # print the folder if prepared, else exit 1
//
// The folder is $METRO_TRIXIE_CACHE, else $XDG_CACHE_HOME/metro-engine/trixie-editors,
// else ~/.cache/metro-engine/trixie-editors. Needs apt-get and dpkg-deb (Debian), the
// Debian archive keyring and access to deb.debian.org (or $METRO_DEBIAN_MIRROR).
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

const SUITE = "trixie";
const PACKAGES = ["neovim", "hx"];
const KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg";

export function cacheDir() {
  if (process.env.METRO_TRIXIE_CACHE) return process.env.METRO_TRIXIE_CACHE;
  return join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "metro-engine", `${SUITE}-editors`);
}

/** The prepared folder (with bin/nvim and bin/hx), or null when it is not prepared. */
export function preparedDir() {
  const dir = cacheDir();
  return existsSync(join(dir, ".complete")) ? dir : null;
}

function run(cmd, args, options = {}) {
  return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], ...options });
}

function have(cmd) {
  try {
    run("sh", ["-c", `command -v ${cmd}`]);
    return true;
  } catch {
    return false;
  }
}

// A wrapper that runs `program` (a path inside root/) with root's loader and libraries only.
function wrapper(program, env) {
  return `#!/bin/sh
# Runs Debian ${SUITE}'s ${program} with its own loader and libraries (see scripts/trixie-editors.mjs).
root="$(cd "$(dirname "$0")/../root" && pwd)"
${env.map(([k, v]) => `${k}="$root${v}"; export ${k}`).join("\n")}
exec "$root/usr/lib64/ld-linux-x86-64.so.2" --inhibit-cache --library-path "$root/usr/lib/x86_64-linux-gnu" "$root${program}" "$@"
`;
}

/** Prepares the folder when missing and returns it. */
export function prepare() {
  const done = preparedDir();
  if (done) return done;
  for (const cmd of ["apt-get", "dpkg-deb"]) {
    if (!have(cmd)) throw new Error(`${cmd} is not installed: the ${SUITE} editors are unpacked from Debian packages`);
  }
  if (!existsSync(KEYRING)) throw new Error(`${KEYRING} is missing (Debian: apt-get install debian-archive-keyring)`);
  if (process.arch !== "x64") throw new Error(`only amd64 is supported (this is ${process.arch})`);
  const dir = cacheDir();
  // Prepared in a fresh folder and moved into place at the end: an interrupted run never looks complete.
  const work = `${dir}.partial`;
  rmSync(work, { recursive: true, force: true });
  const apt = join(work, "apt");
  for (const d of ["lists/partial", "archives/partial", "cache", "preferences.d"]) mkdirSync(join(apt, d), { recursive: true });
  writeFileSync(join(apt, "status"), "");
  const mirror = process.env.METRO_DEBIAN_MIRROR || "http://deb.debian.org/debian";
  writeFileSync(join(apt, "sources.list"), `deb [signed-by=${KEYRING}] ${mirror} ${SUITE} main\n`);
  const options = [
    `Dir::Etc::SourceList=${join(apt, "sources.list")}`,
    "Dir::Etc::SourceParts=/nonexistent",
    "Dir::Etc::Preferences=/nonexistent",
    `Dir::Etc::PreferencesParts=${join(apt, "preferences.d")}`,
    `Dir::State::Lists=${join(apt, "lists")}`,
    `Dir::State::status=${join(apt, "status")}`,
    `Dir::Cache=${join(apt, "cache")}`,
    `Dir::Cache::Archives=${join(apt, "archives")}`,
    "APT::Architecture=amd64",
    "APT::Architectures=amd64",
    "APT::Install-Recommends=false",
    "APT::Sandbox::User=root",
    "Debug::NoLocking=true",
  ].flatMap((o) => ["-o", o]);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  run("apt-get", [...options, "-qq", "update"], { env });
  run("apt-get", [...options, "-qq", "-y", "--download-only", "install", ...PACKAGES], { env });
  const root = join(work, "root");
  mkdirSync(root);
  const debs = readdirSync(join(apt, "archives")).filter((f) => f.endsWith(".deb"));
  for (const deb of debs) run("dpkg-deb", ["-x", join(apt, "archives", deb), root]);
  const versions = debs.map((d) => d.replace(/\.deb$/, "").split("_").slice(0, 2).join(" ")).sort();
  rmSync(apt, { recursive: true, force: true });

  mkdirSync(join(work, "bin"));
  const nvim = join(work, "bin", "nvim");
  const hx = join(work, "bin", "hx");
  writeFileSync(nvim, wrapper("/usr/bin/nvim", [["VIM", "/usr/share/nvim"], ["VIMRUNTIME", "/usr/share/nvim/runtime"]]));
  writeFileSync(hx, wrapper("/usr/lib/hx/hx", [["HELIX_RUNTIME", "/usr/lib/hx/runtime"]]));
  chmodSync(nvim, 0o755);
  chmodSync(hx, 0o755);

  // Every library either program loads comes from the unpacked root.
  const loader = join(root, "usr", "lib64", "ld-linux-x86-64.so.2");
  for (const program of ["/usr/bin/nvim", "/usr/lib/hx/hx"]) {
    const list = run(loader, ["--inhibit-cache", "--library-path", join(root, "usr", "lib", "x86_64-linux-gnu"), "--list", join(root, program)]);
    for (const line of list.split("\n")) {
      const m = /=>\s*(\S+)/.exec(line);
      if (m && !m[1].startsWith(root)) throw new Error(`${program} would load ${m[1]} from the host: ${line.trim()}`);
      if (/not found/.test(line)) throw new Error(`${program}: ${line.trim()}`);
    }
  }
  // Both write state under HOME even for --version: give them a scratch one.
  const home = join(work, "home");
  mkdirSync(home);
  const quiet = { env: { PATH: process.env.PATH, HOME: home, XDG_CONFIG_HOME: join(home, "config"), XDG_CACHE_HOME: join(home, "cache"), XDG_DATA_HOME: join(home, "data"), XDG_STATE_HOME: join(home, "state") } };
  const nvimVersion = run(nvim, ["--version"], quiet).split("\n")[0];
  const hxVersion = run(hx, ["--version"], quiet).trim();
  rmSync(home, { recursive: true, force: true });
  writeFileSync(join(work, "versions.txt"), `${nvimVersion}\n${hxVersion}\n\n${versions.join("\n")}\n`);

  rmSync(dir, { recursive: true, force: true });
  renameSync(work, dir);
  writeFileSync(join(dir, ".complete"), `${nvimVersion}\n${hxVersion}\n`);
  return dir;
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  if (process.argv.includes("--check")) {
    const dir = preparedDir();
    if (!dir) {
      console.error(`${cacheDir()} has not been prepared (run node scripts/trixie-editors.mjs)`);
      process.exit(1);
    }
    process.stdout.write(dir + "\n");
  } else {
    try {
      process.stdout.write(prepare() + "\n");
    } catch (e) {
      console.error(`trixie-editors: ${e.message}`);
      process.exit(1);
    }
  }
}
