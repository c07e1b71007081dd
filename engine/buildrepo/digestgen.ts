// digestgen: sha256 hash files (and gpg signatures) for every tarball below
// each scanned subarch, hash and signature links beside every tarball link,
// then removal of hashes and signatures whose tarball is gone.

import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, lchownSync, openSync, readSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { pyNormpath } from "../paths";
import type { CommandResult, RepoContext } from "./context";
import { BuildrepoCrash, pyDirname, pyJoin } from "./python-semantics";
import { ConfigError } from "./settings";

const TARBALL_ENDINGS = new Set(["gz", "bz2", "xz"]);

function osCrash(e: unknown, path: string, doing: string): BuildrepoCrash {
  const code = (e as NodeJS.ErrnoException).code ?? "";
  const type = code === "ENOENT" ? "FileNotFoundError" : code === "EPERM" || code === "EACCES" ? "PermissionError" : code === "EISDIR" ? "IsADirectoryError" : "OSError";
  return new BuildrepoCrash(type, `${doing}: ${code || (e as Error).message}`, path);
}

/** Depth-first, by name: the files named *.tar.gz, *.tar.bz2 or *.tar.xz below `dir` (links to files included). */
function* tarballs(ctx: RepoContext, dir: string): Generator<string> {
  let names: string[];
  try {
    names = ctx.fs.list(dir);
  } catch (e) {
    throw osCrash(e, dir, "cannot list");
  }
  for (const name of names) {
    const path = `${dir}/${name}`;
    const kind = ctx.fs.kind(path);
    if (kind === "file") {
      const parts = name.split(".");
      if (TARBALL_ENDINGS.has(parts[parts.length - 1]) && parts.length >= 2 && parts[parts.length - 2] === "tar") yield path;
    } else if (kind === "dir") yield* tarballs(ctx, path);
  }
}

/** What `echo sha256 $(sha256sum FILE | cut -f1 -d' ')` prints: the digest, or nothing when the file cannot be read. */
function hashLine(path: string): string {
  const hash = createHash("sha256");
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return "sha256\n";
  }
  try {
    const buf = Buffer.alloc(1 << 20);
    let n: number;
    while ((n = readSync(fd, buf, 0, buf.length, null)) > 0) hash.update(buf.subarray(0, n));
  } catch {
    return "sha256\n";
  } finally {
    closeSync(fd);
  }
  return `sha256 ${hash.digest("hex")}\n`;
}

export async function digestgen(ctx: RepoContext): Promise<CommandResult> {
  const { fs } = ctx;
  let owner: string;
  let group: string;
  try {
    owner = ctx.settings.get("path/mirror/owner");
    group = ctx.settings.get("path/mirror/group");
  } catch (e) {
    if (e instanceof ConfigError) throw new BuildrepoCrash("KeyError", e.message);
    throw e;
  }
  const ids = await ctx.session.ids(owner, group);
  if ("error" in ids) throw new BuildrepoCrash("KeyError", `the mirror's owner or group does not exist: ${ids.error}`);
  const chown = (path: string) => {
    try {
      lchownSync(path, ids.uid, ids.gid);
    } catch (e) {
      throw osCrash(e, path, "cannot change the owner");
    }
  };
  const hashed: string[] = [];
  const signed: string[] = [];
  const unsigned: string[] = [];
  const linked: { link: string; target: string }[] = [];
  const removed: string[] = [];

  ctx.print("Generating hashes...");
  const links: string[] = [];
  for (const row of ctx.scan.rows) {
    ctx.print(`Processing ${row.path}...`);
    for (const p of tarballs(ctx, row.path)) {
      if (fs.isLink(p)) {
        links.push(p);
        continue;
      }
      ctx.print(p);
      const hashFile = `${p}.hash.txt`;
      if (!fs.exists(hashFile)) {
        ctx.write("h");
        try {
          writeFileSync(fs.writeTarget(hashFile), hashLine(p));
          hashed.push(hashFile);
        } catch (e) {
          ctx.note(`cannot write ${hashFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
        }
      }
      chown(hashFile);
      const signature = `${p}.gpg`;
      if (!fs.exists(signature)) {
        ctx.print(signature);
        if (ctx.options.sign) {
          const r = spawnSync("gpg", ["--batch", "--homedir", ctx.options.gpgHomedir, "--use-agent", "--output", signature, "--detach-sig", p], { stdio: ["ignore", 2, 2] });
          if (r.error) ctx.note(`cannot run gpg: ${r.error.message}`);
        }
        (fs.exists(signature) ? signed : unsigned).push(signature);
      }
      if (fs.exists(signature)) chown(signature);
    }
  }
  for (const link of links) {
    const target = fs.readLink(link) ?? "";
    const real = pyNormpath(pyJoin(pyDirname(link), target));
    const dead = !fs.exists(real);
    if (dead) {
      ctx.print(`${link} dead; cleaning up`);
      unlink(link);
      removed.push(link);
    }
    for (const ext of [".hash.txt", ".gpg"]) {
      const extLink = link + ext;
      if (dead && fs.lexists(extLink)) {
        ctx.print(`${extLink} dead; cleaning up`);
        unlink(extLink);
        removed.push(extLink);
      }
      if (!dead && fs.exists(real + ext)) {
        // (Re)made as a link to the tarball link's target plus the suffix; one already pointing there stays.
        if (!fs.lexists(extLink) || fs.readLink(extLink) !== target + ext) {
          if (fs.lexists(extLink)) unlink(extLink);
          try {
            symlinkSync(target + ext, extLink);
          } catch (e) {
            throw osCrash(e, extLink, "cannot make the link");
          }
        }
        linked.push({ link: extLink, target: target + ext });
      }
      if (fs.lexists(extLink)) chown(extLink);
    }
  }
  ctx.print("");
  ctx.print("Cleaning up old hashes...");
  for (const [dir, files] of walk(ctx, ctx.mirror)) {
    for (const ext of [".hash.txt", ".gpg"]) {
      for (const name of files) {
        if (!name.endsWith(ext)) continue;
        const p = pyJoin(dir, name);
        if (!fs.exists(p.slice(0, -ext.length))) {
          unlink(p);
          removed.push(p);
          ctx.write(".");
        }
      }
    }
  }
  ctx.print("");
  ctx.print("Done!");
  return { exit: 0, data: { hashed, signaturesMade: signed, signaturesMissing: unsigned, links: linked, removed } };
}

function unlink(path: string): void {
  try {
    unlinkSync(path);
  } catch (e) {
    throw osCrash(e, path, "cannot remove");
  }
}

/** os.walk(top), top-down, by name, not into links; unreadable directories are skipped. */
function* walk(ctx: RepoContext, top: string): Generator<[string, string[]]> {
  const names = ctx.fs.listQuiet(top);
  const dirs: string[] = [];
  const files: string[] = [];
  for (const name of names) (ctx.fs.isDir(pyJoin(top, name)) ? dirs : files).push(name);
  yield [top, files];
  for (const d of dirs) {
    const p = pyJoin(top, d);
    if (!ctx.fs.isLink(p)) yield* walk(ctx, p);
  }
}
