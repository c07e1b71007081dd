// `metro-engine fmt`: formats files in place, checks them, or formats standard
// input. Only changes metro's parser ignores (language/format.ts), checked on
// every file before anything is written.

import { realpathSync, renameSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { applyEdits, decodeUtf8, formatEdits, parseMetro } from "../../language";
import { FileProblem, describeFsError, readRegularFile, realPath } from "../../engine/files";
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
function metroFilesBelow(dir: string): { files: string[]; problems: [string, string][]; truncated: boolean } {
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
  return { files, problems, truncated };
}

/** Writes through a temporary file beside the target (a symbolic link's target) and renames it, keeping the file's mode. */
function writeInPlace(path: string, text: string): void {
  const file = realpathSync(path);
  const tmp = join(dirname(file), `.${basename(file)}.fmt-${process.pid}`);
  writeFileSync(tmp, text, { mode: statSync(file).mode & 0o7777 });
  renameSync(tmp, file);
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

Exit codes: 0, 1 with --check when a file would change (its name is printed)
or when a file cannot be read or is not UTF-8, 2 usage.`,
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
        process.stderr.write("<stdin>: not valid UTF-8: metro cannot read it\n");
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
        process.stderr.write(`${file}: not valid UTF-8: metro cannot read it; left as it is\n`);
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
        writeInPlace(file, out);
      } catch (e) {
        process.stderr.write(`${file}: cannot write: ${describeFsError(e as NodeJS.ErrnoException)}\n`);
        failed = true;
      }
    }
    return failed || wouldChange ? 1 : 0;
  },
};
