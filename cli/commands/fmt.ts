// `metro-engine fmt`: formats files in place, checks them, or formats standard
// input. Only changes metro's parser ignores (language/format.ts), checked on
// every file before anything is written.

import { accessSync, closeSync, constants, fchmodSync, fchownSync, fstatSync, fsyncSync, openSync, realpathSync, renameSync, statSync, unlinkSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { applyEdits, decodeMetroBytes, decodeUtf8, formatEdits, parseMetro, parseMetroDecoded } from "../../language";
import { FileProblem, describeFsError, readRegularFile, realPath } from "../../engine/files";
import { reasonOf } from "../../engine/system-errors";
import { readStandardInput } from "../stdin";
import { findTreeRootAbove, isInside, isMetroFileName, walkTree } from "../../analysis/trees";
import { UsageError } from "../args";
import type { Command } from "../command";

/** Decodes UTF-8 strictly: a file metro cannot read is never rewritten. */
const decode = decodeUtf8;

function format(text: string): string {
  return applyEdits(text, formatEdits(parseMetro(text)));
}

/** How many files a FOLDER may hold: past it, fmt says so and fails rather than format part of the folder silently. */
const MAX_FOLDER_FILES = 100_000;

/**
 * The Metro files below a folder, by name as the editor finds them (`*.conf`,
 * `*.spec`, metro's extension-less files; never `fsroot/`). A link to a file
 * outside the folder is not one of them: formatting the folder never writes
 * elsewhere. Metro files that cannot be read (a FIFO, a file too large) come
 * with the reason.
 */
function metroFilesBelow(dir: string): { files: string[]; problems: [string, string][]; truncated: boolean; unlisted: [string, FileProblem][] } {
  const root = findTreeRootAbove(join(dir, "x")) ?? dir;
  const real = realPath(dir);
  const listing = walkTree(dir, MAX_FOLDER_FILES + 1);
  const truncated = listing.files.length > MAX_FOLDER_FILES;
  const files = listing.files
    .slice(0, MAX_FOLDER_FILES)
    .filter((f) => isMetroFileName(root, f))
    .filter((f) => {
      const target = realPath(f);
      return real !== undefined && target !== undefined && isInside(real, target);
    })
    .sort();
  const problems: [string, string][] = [...listing.skipped].map(([f, problem]) => [f, problem.words]);
  return { files, problems, truncated, unlisted: listing.unlisted };
}

/** Where bytes stop being UTF-8, as "LINE:COL" (the parser's location of `metro/invalid-utf8`). */
function invalidUtf8At(bytes: Buffer): string {
  const at = parseMetroDecoded(decodeMetroBytes(bytes)).fatal?.range.start;
  return at ? `${at.line + 1}:${at.character + 1}` : "1:1";
}

/** Why a file was left as it was, in words that follow its name. */
class LeftAsItIs extends Error {}

/**
 * Replaces a file's text (a symbolic link's target's) with `text`: written to
 * a new file beside it (created exclusively, never through a link), given the
 * file's mode and owner, and renamed over it only if the file still holds
 * `read`, the bytes that were formatted. A read-only file, a file whose owner
 * the new one could not keep, and a file changed in the meantime are left as
 * they are; the new file is removed on any failure.
 */
export function writeInPlace(path: string, text: string, read: Buffer): void {
  let file: string;
  try {
    file = realpathSync(path);
  } catch (e) {
    throw new LeftAsItIs(`cannot write: ${reasonOf(e)}`);
  }
  const st = statSync(file);
  if ((st.mode & 0o222) === 0) throw new LeftAsItIs("is read-only; left as it is (make it writable to format it)");
  try {
    accessSync(file, constants.W_OK);
  } catch (e) {
    throw new LeftAsItIs(`cannot write: ${reasonOf(e)}; left as it is`);
  }
  const tmp = join(dirname(file), `.${basename(file)}.fmt-${process.pid}`);
  const create = () => openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  let fd: number;
  try {
    try {
      fd = create();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      unlinkSync(tmp); // a leftover of an earlier run with this PID (unlink never follows a link)
      fd = create();
    }
  } catch (e) {
    throw new LeftAsItIs(`cannot write beside it: ${reasonOf(e)}; left as it is`);
  }
  let renamed = false;
  try {
    const bytes = Buffer.from(text, "utf8");
    for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done);
    const made = fstatSync(fd);
    if (made.uid !== st.uid || made.gid !== st.gid) {
      try {
        fchownSync(fd, st.uid, st.gid);
      } catch {
        throw new LeftAsItIs("belongs to another user: the formatted file would belong to you; left as it is");
      }
    }
    fchmodSync(fd, st.mode & 0o7777);
    fsyncSync(fd);
    let now: Buffer;
    try {
      now = readRegularFile(file);
    } catch {
      now = Buffer.alloc(0);
    }
    if (!now.equals(read) || statSync(file).ino !== st.ino) throw new LeftAsItIs("changed while it was being formatted; left as it is (run fmt again)");
    renameSync(tmp, file);
    renamed = true;
  } catch (e) {
    if (e instanceof LeftAsItIs) throw e;
    throw new LeftAsItIs(`cannot write: ${reasonOf(e)}; left as it is`);
  } finally {
    closeSync(fd);
    if (!renamed) {
      try {
        unlinkSync(tmp);
      } catch {
        // already gone
      }
    }
  }
}

export const fmtCommand: Command = {
  name: "fmt",
  summary: "format Metro files without changing what they mean",
  synopsis: "fmt [--check] FILE|FOLDER... | fmt -",
  details: `Rewrites each FILE in place; a FOLDER stands for the Metro files below
it (*.conf, *.spec and metro's extension-less files under etc/multi-targets,
etc/builds and targets/**/strategy; never fsroot/, nor a link's target outside
the folder). Only what metro's parser ignores changes: indentation and
trailing white space outside multi-line blocks, runs of blank lines, spacing inside [section ...], [collect ...],
[when ...] and [option ...], the closing ] of a block, and blank lines around
[section] and after a block.
Block bodies, the text after "key: ", lines metro ignores and the order of
collects are never touched; a file whose formatted text would parse to
anything else is left as it is. "-" reads standard input and writes the
result to standard output.

A file is replaced only if it still holds what was formatted, keeping its
mode and owner; a read-only file, another user's file and a file changed
meanwhile are named and left as they are.

Exit codes: 0, 1 with --check when a file would change (its name is printed)
or when a file cannot be read, is not UTF-8 or cannot be written, 2 usage.`,
  options: [{ name: "--check", help: "print the files that would change; change nothing" }],
  maxPositional: Number.MAX_SAFE_INTEGER,
  run(args) {
    const files = args.positional;
    if (files.length === 0) throw new UsageError("fmt needs at least one FILE or FOLDER (or - for standard input)");
    if (files.includes("-") && files.length > 1) throw new UsageError("- (standard input) cannot be mixed with files");
    const check = args.options.has("--check");
    if (files[0] === "-") {
      let bytes: Buffer;
      try {
        bytes = readStandardInput();
      } catch (e) {
        if (!(e instanceof FileProblem)) throw e;
        process.stderr.write(`<stdin>: ${e.words}\n`);
        return 1;
      }
      const text = decode(bytes);
      if (text === null) {
        process.stderr.write(`<stdin>:${invalidUtf8At(bytes)}: not valid UTF-8: metro cannot read it\n`);
        return 1;
      }
      const out = format(text);
      if (check) {
        if (out !== text) process.stdout.write("-\n");
        return out !== text ? 1 : 0;
      }
      process.stdout.write(out);
      return 0;
    }
    let failed = false;
    let wouldChange = false;
    const expanded: string[] = [];
    for (const file of files) {
      let folder = false;
      try {
        folder = statSync(file).isDirectory();
      } catch {
        // reported when it is read
      }
      if (!folder) {
        expanded.push(file);
        continue;
      }
      const below = metroFilesBelow(file);
      for (const f of below.files) expanded.push(f);
      for (const [f, words] of below.problems.sort()) {
        process.stderr.write(`${f}: ${words}; left as it is\n`);
        failed = true;
      }
      for (const [f, problem] of below.unlisted) {
        process.stderr.write(`${f}: a folder that ${problem.words.replace(/^cannot be read/, "cannot be listed")}; its files are left as they are\n`);
        failed = true;
      }
      if (below.truncated) {
        process.stderr.write(`${file}: holds more than ${MAX_FOLDER_FILES} files; only the Metro files among the first ${MAX_FOLDER_FILES} are formatted (name smaller folders)\n`);
        failed = true;
      }
    }
    for (const file of expanded) {
      let bytes: Buffer;
      try {
        bytes = readRegularFile(file);
      } catch (e) {
        process.stderr.write(`${file}: ${describeFsError(e as NodeJS.ErrnoException)}\n`);
        failed = true;
        continue;
      }
      const text = decode(bytes);
      if (text === null) {
        process.stderr.write(`${file}:${invalidUtf8At(bytes)}: not valid UTF-8: metro cannot read it; left as it is\n`);
        failed = true;
        continue;
      }
      const out = format(text);
      if (out === text) continue;
      if (check) {
        process.stdout.write(file + "\n");
        wouldChange = true;
        continue;
      }
      try {
        writeInPlace(file, out, bytes);
      } catch (e) {
        process.stderr.write(`${file}: ${e instanceof LeftAsItIs ? e.message : `cannot write: ${reasonOf(e)}; left as it is`}\n`);
        failed = true;
      }
    }
    return failed || wouldChange ? 1 : 0;
  },
};
