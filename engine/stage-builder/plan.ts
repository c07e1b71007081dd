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

/**
 * The class metro finds for a target/class value: it looks up
 * `value.capitalize() + "Target"` (Python's capitalize: the first character
 * upper case, the others lower case), so "Stage" and "STAGE" name the stage
 * class too. Null when no class of this builder has that name.
 */
export function metroClass(value: string): TargetClass | null {
  const first = value.codePointAt(0);
  if (first === undefined) return null;
  const head = String.fromCodePoint(first);
  const capitalized = head.toUpperCase() + value.slice(head.length).toLowerCase();
  return TARGET_CLASSES.find((c) => capitalized === c[0].toUpperCase() + c.slice(1)) ?? null;
}

export function targetClass(settings: Settings): TargetClass {
  const name = settings.str("target/class");
  const cls = metroClass(name);
  if (cls !== null) return cls;
  throw new ConfigError(
    `${settings.label}: target/class is ${quote(name, '"')}, which this builder cannot run (known classes: ${TARGET_CLASSES.join(", ")})`,
    "target/class",
  );
}

export function isOfficial(settings: Settings): boolean {
  // metro compares the value with "official": anything else (nothing, a multi-line value) is simply not official.
  return settings.has("release/type") && settings.value("release/type") === "official";
}

function script(key: string, chroot: boolean, optional: boolean, errorScan = false): Action & { kind: "script" } {
  return { kind: "script", key, chroot, optional, errorScan };
}

/** The one step of an official target metro skips because its output exists: its success trigger. */
export const TRIGGER_OK = script("trigger/ok/run", false, true);

/** The ordered actions of one target, as metro's class of that name runs them. */
export function planTarget(cls: TargetClass, official: boolean): Action[] {
  if (cls === "snapshot") {
    return [
      { kind: "clean-stale-work" },
      { kind: "clean-work", recreate: true },
      script("steps/run", false, false),
      { kind: "clean-work", recreate: false },
      TRIGGER_OK,
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
  if (official) actions.push(script("steps/capture", false, false), TRIGGER_OK);
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
 * The patterns of the files a target requires, in the order metro looks for
 * them (before any step; none for a target metro skips), up to the first key
 * that cannot be expanded: `stop`, where metro's run of the target stops.
 */
export function requiredPatterns(settings: Settings, target: { cls: TargetClass; official: boolean; skip: string | null }): { required: { key: string; pattern: string }[]; stop: unknown } {
  const required: { key: string; pattern: string }[] = [];
  if (target.skip !== null) return { required, stop: null };
  for (const key of requiredFileKeys(target.cls, target.official)) {
    try {
      required.push({ key, pattern: settings.str(key) });
    } catch (error) {
      return { required, stop: error };
    }
  }
  return { required, stop: null };
}

/**
 * Checks up front that every required step exists and that every step that
 * exists expands, so a typo fails before anything is unpacked (metro finds
 * it only when it reaches that step). Returns the scripts by key.
 *
 * With onUnusable, a step that is defined but cannot be run as a script (a
 * value that cannot be expanded, a single line) is reported there and left
 * out instead of stopping the whole plan: a dry run still shows the steps
 * metro runs before it reaches that one.
 */
export function resolveScripts(
  settings: Settings,
  actions: Action[],
  onMissingRequired?: (message: string) => void,
  onUnusable?: (key: string, error: unknown) => void,
): Map<string, string[]> {
  const scripts = new Map<string, string[]>();
  const unusable = new Set<string>();
  for (const action of actions) {
    if (action.kind !== "script" || scripts.has(action.key) || unusable.has(action.key)) continue;
    let lines: string[] | undefined;
    try {
      lines = settings.script(action.key);
    } catch (error) {
      if (!onUnusable || !(error instanceof ConfigError)) throw error;
      unusable.add(action.key);
      onUnusable(action.key, error);
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
