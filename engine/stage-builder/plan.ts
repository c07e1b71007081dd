// What a target does, as data: the ordered list of actions of metro's target
// classes (modules/targets/ in funtoo/metro). The real run and --dry-run both
// walk the same list, so what a dry run prints is what a build does.

import { ConfigError, type Settings } from "./settings";
import { quote } from "../../language";

export type TargetClass = "stage" | "chroot" | "snapshot";
export const TARGET_CLASSES: readonly TargetClass[] = ["stage", "chroot", "snapshot"];

export type Action =
  /** Remove leftovers of earlier builds of this target (`target/name/prefix`). */
  | { kind: "clean-stale-work" }
  /** Remove `path/work` (unmounting first); recreate it with mode 0700 when asked. */
  | { kind: "clean-work"; recreate: boolean }
  /** Write the multi-line value of `key` as a script and run it. */
  | { kind: "script"; key: string; chroot: boolean; optional: boolean; errorScan: boolean }
  /** Bind mounts: /proc, /dev (rbind) and the configured caches. */
  | { kind: "mount" }
  /** Kill what still runs in the chroot, then undo every mount below `path/work`. */
  | { kind: "unmount" }
  /** Stage targets with `clean/auto` in metro/options: remove `path/cache/build`. */
  | { kind: "clean-build-cache" };

export function targetClass(settings: Settings): TargetClass {
  const name = settings.str("target/class");
  if ((TARGET_CLASSES as readonly string[]).includes(name)) return name as TargetClass;
  throw new ConfigError(
    `${settings.label}: target/class is ${quote(name, '"')}, which this builder cannot run (known classes: ${TARGET_CLASSES.join(", ")})`,
    "target/class",
  );
}

export function isOfficial(settings: Settings): boolean {
  return settings.optionalStr("release/type") === "official";
}

function script(key: string, chroot: boolean, optional: boolean, errorScan = false): Action {
  return { kind: "script", key, chroot, optional, errorScan };
}

/** The ordered actions of one target, as metro's class of that name runs them. */
export function planTarget(cls: TargetClass, official: boolean): Action[] {
  if (cls === "snapshot") {
    return [
      { kind: "clean-stale-work" },
      { kind: "clean-work", recreate: true },
      script("steps/run", false, false),
      { kind: "clean-work", recreate: false },
      script("trigger/ok/run", false, true),
    ];
  }
  const actions: Action[] = [
    { kind: "clean-stale-work" },
    { kind: "unmount" },
    { kind: "clean-work", recreate: true },
    script("steps/unpack", false, false),
    script("steps/unpack/post", false, true),
    { kind: "mount" },
    script("steps/chroot/prerun", true, true),
    script("steps/chroot/run", true, false, true),
  ];
  if (official) {
    actions.push(script("steps/chroot/grabinfo", true, true), script("steps/precapture", false, true));
  }
  actions.push(
    script("steps/chroot/postrun", true, true),
    { kind: "unmount" },
    script("steps/chroot/clean", true, true),
    { kind: "mount" },
    script("steps/chroot/test", true, true),
    { kind: "unmount" },
    script("steps/chroot/postclean", true, true),
    script("steps/clean", false, true),
  );
  if (official) actions.push(script("steps/capture", false, false), script("trigger/ok/run", false, true));
  actions.push({ kind: "unmount" }, { kind: "clean-work", recreate: false });
  if (cls === "stage") actions.push({ kind: "clean-build-cache" });
  return actions;
}

/** Keys whose files must exist before a target starts (globbed, see files.ts). */
export function requiredFileKeys(cls: TargetClass, official: boolean): string[] {
  if (cls === "snapshot") return [];
  const keys = ["path/mirror/source"];
  if (cls === "stage" && official) keys.push("path/mirror/snapshot");
  return keys;
}

/**
 * Checks up front that every required step exists and that every step that
 * exists expands, so a typo fails before anything is unpacked (metro finds
 * it only when it reaches that step). Returns the scripts by key. With
 * `onUnusable`, a step that cannot be expanded (or is not multi-line) is
 * reported there and left out instead of thrown, as a dry run shows metro
 * running the steps before it.
 */
export function resolveScripts(
  settings: Settings,
  actions: Action[],
  onMissingRequired?: (message: string) => void,
  onUnusable?: (key: string, message: string) => void,
): Map<string, string[]> {
  const scripts = new Map<string, string[]>();
  for (const action of actions) {
    if (action.kind !== "script" || scripts.has(action.key)) continue;
    let lines: string[] | undefined;
    try {
      lines = settings.script(action.key);
    } catch (error) {
      if (!onUnusable || !(error instanceof ConfigError)) throw error;
      onUnusable(action.key, error.message);
      continue;
    }
    if (lines === undefined) {
      if (action.optional) continue;
      const message = `${settings.label}: required step ${action.key} is not defined`;
      if (onMissingRequired) {
        onMissingRequired(message);
        continue;
      }
      throw new ConfigError(message, action.key);
    }
    scripts.set(action.key, lines);
  }
  return scripts;
}

/** Step names as people read them in output: "steps/chroot/run". */
export function describeAction(action: Action): string {
  switch (action.kind) {
    case "script": return action.key;
    case "clean-stale-work": return "clean old work directories";
    case "clean-work": return action.recreate ? "clean and recreate path/work" : "remove path/work";
    case "mount": return "bind mounts";
    case "unmount": return "unmount";
    case "clean-build-cache": return "clean path/cache/build (clean/auto)";
  }
}
