// System errors (errno) as sentences: what failed, on which path, and why in
// words. No user-facing message carries an errno name such as ENOTDIR.

import { excerptPath } from "../language";

/** Node's "ENOENT: no such file or directory, open 'x'" without the errno name. */
export function withoutErrno(message: string): string {
  return message.replace(/^E[A-Z0-9]+: /, "");
}

const REASONS: Record<string, string> = {
  ENOENT: "it does not exist",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EISDIR: "it is a folder",
  ENOTDIR: "a part of the path is not a folder",
  EEXIST: "it already exists",
  ENOTEMPTY: "the folder is not empty",
  ENOSPC: "no space left on the device",
  EDQUOT: "the disk quota is used up",
  EROFS: "the file system is read-only",
  EBUSY: "it is in use",
  EMFILE: "too many open files",
  ELOOP: "its symbolic links form a loop",
  ENAMETOOLONG: "the path is too long",
  EXDEV: "it is on another file system",
};

const ACTIONS: Record<string, string> = {
  mkdir: "cannot create the folder",
  open: "cannot open",
  read: "cannot read",
  write: "cannot write",
  rename: "cannot rename",
  unlink: "cannot delete",
  rmdir: "cannot delete the folder",
  rm: "cannot delete",
  stat: "cannot examine",
  lstat: "cannot examine",
  scandir: "cannot list the folder",
  opendir: "cannot list the folder",
  copyfile: "cannot copy",
  symlink: "cannot create the link",
  link: "cannot create the link",
  chmod: "cannot change the mode of",
  spawn: "cannot run",
};

/** The reason of a system error in words ("no space left on the device"), for a message that already names the file. */
export function reasonOf(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  if (typeof e?.code === "string" && REASONS[e.code]) return REASONS[e.code];
  return error instanceof Error ? withoutErrno(error.message).replace(/, .*$/, "") : String(error);
}

/** Any error as a sentence: a system error (errno) in words with its path, never as "ENOTDIR: ...". */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const e = error as NodeJS.ErrnoException;
  if (typeof e.code !== "string" || !/^E[A-Z0-9]+$/.test(e.code)) return withoutErrno(e.message);
  const syscall = (e.syscall ?? "").replace(/ .*/, "");
  const action = ACTIONS[syscall] ?? (syscall ? `${syscall} failed on` : "failed on");
  const path = e.path ?? (e as { spawnfile?: string }).spawnfile;
  const dest = (e as { dest?: string }).dest;
  const reason = REASONS[e.code] ?? withoutErrno(e.message).replace(/, .*$/, "");
  return `${action}${path ? ` ${excerptPath(path)}` : ""}${dest ? ` to ${excerptPath(dest)}` : ""}: ${reason}`;
}
