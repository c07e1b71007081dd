// Installs code-server (VS Code in a browser, from the npm registry) into a
// cache folder for the system test, without its postinstall: that step
// downloads ripgrep and prebuilt binaries from outside the registry. Instead
// it installs VS Code's own dependencies with scripts off, builds the native
// modules from source (node-gyp, with the node headers npm is configured
// with), and uses Debian's ripgrep. Prints the install folder.
//
//   node scripts/code-server.mjs            # install if missing, print the folder
//
// The folder is $METRO_CODE_SERVER_CACHE, else $XDG_CACHE_HOME/metro-engine,
// else ~/.cache/metro-engine; the version is the last code-server release
// that runs on Node 20 (4.100.x; later ones need Node 22 or 24).
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync, renameSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";

export const CODE_SERVER_VERSION = "4.100.3";

export function cacheDir() {
  const base = process.env.METRO_CODE_SERVER_CACHE || join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "metro-engine");
  return join(base, `code-server-${CODE_SERVER_VERSION}`);
}

// node-gyp builds against the headers of the Node that runs this (no download): <prefix>/include/node.
const prefix = dirname(dirname(process.execPath));
const headers = existsSync(join(prefix, "include", "node", "node.h")) ? { npm_config_nodedir: prefix } : {};

function npm(args, cwd) {
  execFileSync("npm", [...args, "--no-audit", "--no-fund", "--loglevel=error"], {
    cwd,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...headers, npm_config_update_notifier: "false" },
  });
}

function which(cmd) {
  try {
    return execFileSync("sh", ["-c", `command -v ${cmd}`], { encoding: "utf8" }).trim() || null;
  } catch {
    return null;
  }
}

/** The folder of an installed code-server (its package root); installs it when missing. */
export function installCodeServer() {
  const dir = cacheDir();
  const pkg = join(dir, "node_modules", "code-server");
  if (existsSync(join(dir, ".complete"))) return pkg;
  const rg = which("rg");
  if (!rg) throw new Error("ripgrep (rg) is not installed: code-server's search needs it (Debian: apt-get install ripgrep)");
  // Build in a fresh folder and move it into place at the end: an interrupted install never looks complete.
  const work = `${dir}.partial`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  writeFileSync(join(work, "package.json"), JSON.stringify({ private: true }) + "\n");
  npm(["install", "--ignore-scripts", `code-server@${CODE_SERVER_VERSION}`], work);
  // argon2 (password hashing; loaded even with --auth none) from source instead of a downloaded binary.
  npm(["rebuild", "argon2", "--build-from-source"], work);
  const vscode = join(work, "node_modules", "code-server", "lib", "vscode");
  npm(["install", "--ignore-scripts", "--omit=dev"], vscode);
  // node-pty's post-install step fetches node-gyp with npx only to write compile_commands.json; the module is built before it.
  for (const mod of ["@vscode/spdlog", "native-watchdog", "node-pty"]) {
    try {
      npm(["rebuild", mod], vscode);
    } catch (e) {
      if (mod !== "node-pty" || !existsSync(join(vscode, "node_modules", "node-pty", "build", "Release", "pty.node"))) throw e;
    }
  }
  const rgBin = join(vscode, "node_modules", "@vscode", "ripgrep", "bin");
  mkdirSync(rgBin, { recursive: true });
  rmSync(join(rgBin, "rg"), { force: true });
  symlinkSync(rg, join(rgBin, "rg"));
  // What the postinstall does besides: VS Code looks for its modules in node_modules.asar.
  rmSync(join(vscode, "node_modules.asar"), { force: true });
  symlinkSync("node_modules", join(vscode, "node_modules.asar"));
  rmSync(dir, { recursive: true, force: true });
  renameSync(work, dir);
  writeFileSync(join(dir, ".complete"), `${CODE_SERVER_VERSION}\n`);
  return pkg;
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  process.stdout.write(installCodeServer() + "\n");
}
