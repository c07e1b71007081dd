// How a step's multi-line value becomes something to execute: where the
// script file goes, and the argument vector that runs it (in the chroot or
// on the host), exactly as metro lays them out so trees that reach for
// their own scripts (`rm -rf /tmp/*` in a clean step) keep working.

import { join } from "node:path";

/** Script text: the value's lines, newline-terminated. */
export function scriptText(lines: string[]): string {
  return lines.join("\n") + "\n";
}

/** Scripts without a `#!` line run under /bin/sh, as execvp would fall back to. */
function needsShell(lines: string[]): boolean {
  return !(lines[0] ?? "").startsWith("#!");
}

/** Path of a chroot step's script inside the chroot: /tmp/<key>.metro. */
export function chrootScriptPath(key: string): string {
  return `/tmp/${key}.metro`;
}

/** Path of a host step's script: <path/tmp>/pid/<pid>/<key>.metro. */
export function hostScriptPath(tmp: string, key: string): string {
  return join(tmp, "pid", String(process.pid), `${key.replace(/\//g, "_")}.metro`);
}

export function chrootArgv(chrootCommand: string[], work: string, key: string, lines: string[]): string[] {
  const inside = chrootScriptPath(key);
  return [...chrootCommand, work, ...(needsShell(lines) ? ["/bin/sh"] : []), inside];
}

export function hostArgv(path: string, lines: string[]): string[] {
  return needsShell(lines) ? ["/bin/sh", path] : [path];
}

/** PATH=/bin:/sbin:/usr/bin:/usr/sbin and TERM: the whole environment of a step. */
export function stepEnvironment(): Record<string, string> {
  const env: Record<string, string> = { PATH: "/bin:/sbin:/usr/bin:/usr/sbin" };
  if (process.env["TERM"]) env["TERM"] = process.env["TERM"];
  return env;
}

/** metro's failed-ebuild scan: ` * ERROR: cat/pkg-1.0 failed (compile phase):` lines of the log. */
export function extractErrors(log: string): { ebuild: string; phase: string }[] {
  const lines = [...new Set(log.split(/\r?\n/).filter((l) => l.startsWith(" * ERROR: ")))].sort();
  const errors: { ebuild: string; phase: string }[] = [];
  for (const line of lines) {
    const m = /^ \* ERROR: (.*) failed \((.*) phase\).*$/.exec(line);
    if (!m) continue;
    const parts = `${m[1]} ${m[2]}`.split(/\s+/).filter((p) => p !== "");
    if (parts.length !== 2 || parts[0]!.split("/").length !== 2) continue;
    errors.push({ ebuild: parts[0]!, phase: parts[1]! });
  }
  return errors;
}
