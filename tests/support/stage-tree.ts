// A small stage target's tree for the dry run and check (`target: t1`), and
// what a dry run and a check of it say: the trees of tests that compare both
// with metro's runner on one setting changed at a time.

import { join } from "node:path";
import { checkAll } from "../../cli/commands/check";
import { runCli } from "./run-cli";

/** metro.conf of an official stage target t1 (a mirror at @ROOT@/mirror, its seed and snapshot, three steps). */
export const STAGE_TREE = `[section path]

tmp: @ROOT@/tmp
work: $[path/tmp]/work/$[target]

[section path/mirror]

: @ROOT@/mirror
owner: root
group: root
dirmode: 775
target/control: $[]/.control
target/path: $[]/out
target: $[:target/path]/$[target].tar
source: $[]/seed.tar
snapshot: $[]/snap.tar

[section path/cache]

package:
build: $[path/tmp]/cache/build

[section portage]

MAKEOPTS: -j2

[section target]

class: stage
arch_desc: x86-64bit

[section release]

type: official

[section steps]

unpack: [
#!/bin/sh
echo unpack
]

chroot/run: [
#!/bin/sh
echo $[target]
]

capture: [
#!/bin/sh
echo capture
]
`;

export interface DryRunEvent {
  event: string;
  level?: string;
  text?: string;
  step?: string;
  file?: string;
  exitCode?: number;
}

/** `build --dry-run --json` of t1: its exit code, its events, and the texts of its errors, warnings and planned steps. */
export async function dryRunOf(root: string, config = "metro.conf"): Promise<{ code: number; events: DryRunEvent[]; errors: string[]; warnings: string[]; steps: string[] }> {
  const r = await runCli(["build", "--config", join(root, config), "--dry-run", join(root, "plan"), "--json", "target:", "t1"]);
  const events: DryRunEvent[] = r.out.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
  const texts = (level: string) => events.filter((e) => e.event === "message" && e.level === level).map((e) => e.text!);
  return { code: r.code, events, errors: texts("error"), warnings: texts("warning"), steps: events.filter((e) => e.event === "plan-step").map((e) => e.step!) };
}

/** The messages of check's errors for t1. */
export function checkErrorsOf(root: string, config = "metro.conf"): string[] {
  return checkAll([{ config: join(root, config), args: { target: "t1" } }]).filter((f) => f.severity === "error").map((f) => f.message);
}
