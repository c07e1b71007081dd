// Inputs of the benchmark, written to a folder: generated trees of any size
// and the funtoo build matrix.
//
//   node out/bench/generate.js tree ELEMENTS DIR     a generated tree (DIR/metro.conf)
//   node out/bench/generate.js matrix DIR            the funtoo tree and DIR/contexts.json
//
// A generated tree holds ELEMENTS elements in files of 500 elements. The
// first 200 files form a collect chain (each collects the next, the path
// naming its folder through a reference), the others are collected from
// metro.conf. Nine elements in ten are single-line and stand in 50 layers:
// each references two elements of the next layer, one expanded and one as a
// boolean, and every element is referenced by two of the layer above
// (diamonds; every chain from the first layer is 50 references deep). One
// element in ten is multi-line: a line that expands a single-line element and
// an include of the next multi-line element, in chains of 10 `$[[...]]`
// includes. Everything is valid for metro's own parser too.

import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, statSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CASES, materialize } from "../tests/support/shared";

export const PER_FILE = 500;
export const COLLECT_CHAIN = 200;
export const LAYERS = 50;
export const INCLUDE_CHAIN = 10;

/** Writes a generated tree of `elements` elements into `dir` (created); returns the number of elements written. */
export function writeGeneratedTree(elements: number, dir: string): number {
  mkdirSync(dir, { recursive: true });
  const multiEvery = 10;
  const singles = elements - Math.floor(elements / multiEvery);
  const width = Math.ceil(singles / LAYERS);
  const files = Math.ceil(elements / PER_FILE);
  // Element n (0 <= n < elements) lives in file floor(n / PER_FILE); single-line element s and multi-line element m
  // are numbered separately and mapped onto n in order.
  const singleAt: number[] = new Array(singles);
  const multiAt: number[] = [];
  for (let n = 0, s = 0; n < elements; n++) {
    if (n % multiEvery === multiEvery - 1) multiAt.push(n);
    else singleAt[s++] = n;
  }
  const fileOf = (n: number) => Math.floor(n / PER_FILE);
  const single = (s: number) => `g${fileOf(singleAt[s])}/e${s}`;
  const multi = (m: number) => `g${fileOf(multiAt[m])}/m${m}`;
  const bodies: string[][] = Array.from({ length: files }, (_, f) => [`[section g${f}]`, ""]);
  for (let s = 0; s < singles; s++) {
    const layer = Math.floor(s / width);
    const pos = s % width;
    const next = (layer + 1) * width;
    const f = fileOf(singleAt[s]);
    if (next + width <= singles) {
      bodies[f].push(`e${s}: x$[${single(next + ((pos * 2) % width))}]-$[${single(next + ((pos * 2 + 1) % width))}?]`);
    } else {
      bodies[f].push(`e${s}: leaf ${pos}`);
    }
  }
  for (let m = 0; m < multiAt.length; m++) {
    const f = fileOf(multiAt[m]);
    const lines = [`m${m}: [`, `echo ${m} $[${single((m * 7) % singles)}]`];
    if (m % INCLUDE_CHAIN !== INCLUDE_CHAIN - 1 && m + 1 < multiAt.length) lines.push(`$[[${multi(m + 1)}]]`);
    lines.push("]");
    bodies[f].push(...lines);
  }
  const top = ["[section gen]", "", "dir: conf", ""];
  for (let f = 0; f < files; f++) {
    if (f > 0 && f < COLLECT_CHAIN) continue;
    top.push(`[collect ./$[gen/dir]/f${f}.conf]`);
  }
  mkdirSync(join(dir, "conf"), { recursive: true });
  for (let f = 0; f < files; f++) {
    if (f + 1 < files && f + 1 < COLLECT_CHAIN) bodies[f].push("", `[collect ./f${f + 1}.conf]`);
    writeFileSync(join(dir, "conf", `f${f}.conf`), bodies[f].join("\n") + "\n");
  }
  writeFileSync(join(dir, "metro.conf"), top.join("\n") + "\n");
  return elements;
}

export interface MatrixContext {
  config: string;
  args: Record<string, string>;
}

/**
 * The funtoo build matrix: every build of `etc/builds` (a folder holding
 * build.conf, or a link placeholder naming one) x every architecture of the
 * conformance case's contexts (arch_desc with its subarch) x every target
 * spec, except the EC2 builds on architectures other than x86-64bit (EC2
 * images are x86-64 only): 338 contexts on the conformance case's tree.
 */
export function funtooMatrix(root: string): MatrixContext[] {
  const corpus = join(root, "corpus");
  const buildsDir = join(corpus, "etc", "builds");
  const builds = readdirSync(buildsDir)
    .filter((b) => {
      const p = join(buildsDir, b);
      if (statSync(p).isDirectory()) {
        try {
          return statSync(join(p, "build.conf")).isFile();
        } catch {
          return false;
        }
      }
      // A link placeholder: a one-line file naming a build folder beside it.
      return !b.endsWith(".conf") && statSync(p).size < 256 && existsSync(join(buildsDir, readFileSync(p, "utf8").trim(), "build.conf"));
    })
    .sort();
  const targets = readdirSync(join(corpus, "targets", "gentoo"))
    .filter((f) => f.endsWith(".spec"))
    .map((f) => f.slice(0, -5))
    .sort();
  const caseContexts: { args: Record<string, string> }[] = JSON.parse(readFileSync(join(CASES, "funtoo-metro", "contexts.json"), "utf8"));
  const arches = [...new Map(caseContexts.map((c) => [c.args["target/arch_desc"], c.args["target/subarch"]])).entries()].sort();
  const version = caseContexts[0]?.args["target/version"] ?? "2026-11-21";
  const out: MatrixContext[] = [];
  for (const build of builds) {
    for (const [arch, subarch] of arches) {
      if (build.includes("ec2") && arch !== "x86-64bit") continue;
      for (const target of targets) {
        out.push({ config: join(root, "metro.conf"), args: { target, "target/build": build, "target/arch_desc": arch, "target/subarch": subarch, "target/version": version } });
      }
    }
  }
  return out;
}

/** Materializes the funtoo case (a fresh temporary root, as the tests do) and writes its matrix as `dir`/contexts.json. */
export function writeMatrix(dir: string): { root: string; contexts: string; count: number } {
  const { root } = materialize("funtoo-metro");
  // The case stores the build link `funtoo-current` as a placeholder file (as git does where it cannot make links);
  // a checkout on Linux has the link, and metro's parser needs it.
  const buildsDir = join(root, "corpus", "etc", "builds");
  for (const b of readdirSync(buildsDir)) {
    const p = join(buildsDir, b);
    if (!statSync(p).isFile() || b.endsWith(".conf") || statSync(p).size >= 256) continue;
    const target = readFileSync(p, "utf8").trim();
    if (!existsSync(join(buildsDir, target, "build.conf"))) continue;
    unlinkSync(p);
    symlinkSync(target, p);
  }
  const contexts = funtooMatrix(root);
  mkdirSync(dir, { recursive: true });
  const file = join(realpathSync(dir), "contexts.json");
  writeFileSync(file, JSON.stringify(contexts, null, 1) + "\n");
  return { root, contexts: file, count: contexts.length };
}

// Run on its own (this file is also bundled into bench.js, where require.main is that bundle).
if (/generate\.js$/.test(process.argv[1] ?? "")) {
  const [what, a, b] = process.argv.slice(2);
  if (what === "tree" && a && b) {
    console.log(`${writeGeneratedTree(Number(a), b)} elements in ${b}`);
  } else if (what === "matrix" && a) {
    const m = writeMatrix(a);
    console.log(`${m.count} contexts in ${m.contexts} (tree ${m.root})`);
  } else {
    console.error("usage: generate.js tree ELEMENTS DIR | matrix DIR");
    process.exit(2);
  }
}
