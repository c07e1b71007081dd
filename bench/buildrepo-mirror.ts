// A generated build-server mirror for `repo` benchmarks: releases x arches x
// subarches, each subarch with a few dated builds (stage1/stage3/lxd
// tarballs, hashes, status, build-info.json), fail counts and locks, plus
// snapshots and the .buildbot/.metro that name it all.

import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { seeded } from "../tests/support/trees";

export interface GeneratedMirror {
  mirror: string;
  buildbot: string;
  config: string;
  today: string;
  builds: number;
  subarches: number;
}

/** Writes a mirror of `releases * arches * subarchesPerArch` subarches with `buildsPerSubarch` builds each under `root`. */
export function generateMirror(root: string, releases = 5, arches = 4, subarchesPerArch = 5, buildsPerSubarch = 5): GeneratedMirror {
  const rnd = seeded(500);
  const mirror = join(root, "mirror");
  const day = (n: number) => new Date(Date.UTC(2024, 5, 30 - n)).toISOString().slice(0, 10);
  const rel = Array.from({ length: releases }, (_, i) => `release-${i}`);
  const arch = Array.from({ length: arches }, (_, i) => `arch-${i}`);
  const sub = (a: number, s: number) => `sub-${a}-${s}`;
  let builds = 0;
  let subarches = 0;
  const write = (path: string, text: string) => {
    mkdirSync(join(path, ".."), { recursive: true });
    writeFileSync(path, text);
  };
  for (const r of rel) {
    for (let n = 0; n < 6; n++) write(join(mirror, r, "snapshots", `portage-${day(n * 5)}.tar.xz`), "");
    symlinkSync(`portage-${day(0)}.tar.xz`, join(mirror, r, "snapshots", "portage-current.tar.xz"));
    arch.forEach((a, ai) => {
      for (let s = 0; s < subarchesPerArch; s++) {
        const dir = join(mirror, r, a, sub(ai, s));
        subarches++;
        mkdirSync(join(dir, ".control", "version"), { recursive: true });
        const fc = rnd(10);
        if (fc < 4) writeFileSync(join(dir, ".control", ".failcount"), String(fc));
        if (rnd(10) === 0) writeFileSync(join(dir, ".control", ".multi_progress"), String(4200000 + rnd(1000)));
        let latest = "";
        for (let b = 0; b < buildsPerSubarch; b++) {
          const date = day(b * 3 + rnd(3));
          const bdir = join(dir, date);
          const ok = rnd(4) !== 0;
          builds++;
          write(join(bdir, "status"), ok ? "ok\n" : "fail\n");
          write(join(bdir, "log", "stage3.txt"), "Target run complete\n");
          if (!ok) continue;
          for (const t of [`stage1-${sub(ai, s)}-${r}-${date}.tar.xz`, `stage3-${sub(ai, s)}-${r}-${date}.tar.xz`, `lxd-${sub(ai, s)}-${r}-${date}.tar.xz`]) {
            writeFileSync(join(bdir, t), "");
            writeFileSync(join(bdir, `${t}.hash.txt`), "sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n");
          }
          writeFileSync(join(bdir, "build-info.json"), JSON.stringify({ ARCH: "x", CFLAGS: "-O2 -pipe", CHOST: "x86_64-pc-linux-gnu" }, null, 4));
          if (!latest) latest = `${date}/stage3-${sub(ai, s)}-${r}-${date}.tar.xz`;
        }
        if (latest) symlinkSync(latest, join(dir, "stage3-latest.tar.xz"));
      }
    });
  }
  const tuple = (xs: string[]) => `(\n${xs.map((x) => `\t"${x}",\n`).join("")})`;
  const allSubs = arch.flatMap((_, ai) => Array.from({ length: subarchesPerArch }, (_, s) => sub(ai, s)));
  const buildbot = join(root, "home", ".buildbot");
  write(
    buildbot,
    [
      `builds = ${tuple(rel.slice(0, Math.ceil(releases / 2)))}`,
      `arches = ${tuple(arch)}`,
      `subarches = ${tuple(allSubs.filter((_, i) => i % 3 !== 0))}`,
      `all_builds = ${tuple(rel)}`,
      `all_arches = arches`,
      `all_subarches = ${tuple(allSubs)}`,
      "stale_days = 4",
      "max_failcount = 3",
      "def map_build(build, subarch, full, full_date):",
      '\tif not full or full_date < "2024-06-20":',
      '\t\treturn "full"',
      '\treturn "freshen+lxd"',
      "",
    ].join("\n"),
  );
  const config = join(root, "home", ".metro");
  write(config, `[section path]\nmirror: ${mirror}\n\n[section path/mirror]\nowner: root\ngroup: root\n\n[section portage]\nMAKEOPTS: auto\n`);
  return { mirror, buildbot, config, today: "2024-06-30 12:00:00", builds, subarches };
}
