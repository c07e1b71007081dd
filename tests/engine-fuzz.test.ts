import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { checkContext } from "../engine/check";
import { EvaluationError, evaluateContext, type ContextSpec } from "../engine/evaluate";
import { Workspace } from "../engine/workspace";
import { runCli } from "./support/run-cli";
import { materialize, requireShared, walkFiles } from "./support/shared";
import { seeded, writeTree } from "./support/trees";

const NAMES = ["a", "b", "c", "d", "s/x", "s/y", "s", "t", "m", "n", "path/p", "u"];

/** A random Metro tree: files that define, reference, condition and collect each other (cycles included). */
function randomTree(rand: (n: number) => number): Record<string, string> {
  const pick = <T>(xs: T[]) => xs[rand(xs.length)];
  const files = ["metro.conf", "f1.conf", "f2.conf", "f3.conf", "data"];
  const ref = () => {
    const mod = pick(["", "", "", ":zap", ":lax", "?", ":zap?", ":bad", ":zap:lax"]);
    const form = rand(8);
    const name = form === 0 ? "" : form === 1 ? ":" + pick(["x", "y", "zap"]) : pick(NAMES) + pick(["", "0", "1", "2", "3"]);
    return form === 7 ? `$[${name}` : `$[${name}${mod}]`;
  };
  const value = () => {
    let v = "";
    for (let i = rand(4); i > 0; i--) v += pick(["text", " ", "$[[x]]", "<<", "/", ""]) + ref();
    if (rand(10) === 0) v = `<< ${pick(["@ROOT@/data", "@ROOT@/missing", "$[path/p]"])}`;
    return v;
  };
  const out: Record<string, string> = {};
  for (const [index, file] of files.entries()) {
    const lines: string[] = [];
    // Mostly names of this file's own (so that most trees are not fatal duplicates), sometimes shared ones.
    const defName = () => pick(NAMES).split("/").pop()! + (rand(6) === 0 ? "" : String(index));
    for (let i = 3 + rand(12); i > 0; i--) {
      if (rand(3) === 0) lines.push(`${defName()}${i}: ${value()}`);
      switch (rand(12)) {
        case 0:
          lines.push(`[section ${pick(["s", "path", "t"])}${rand(4) === 0 ? " when " + pick(NAMES) : ""}]`);
          break;
        case 1:
          lines.push(`[when ${pick([pick(NAMES), `${pick(NAMES)} is ${pick(["1", "text", "yes"])}`, "*", "a b"])}]`);
          break;
        case 2:
          lines.push(`[collect ${pick(["./f1.conf", "./f2.conf", "./f3.conf", "./$[t]", "$[u:zap]", "./missing.conf"])}${rand(5) === 0 ? " when " + pick(NAMES) : ""}]`);
          break;
        case 3:
          lines.push(`[option parse/${pick(["lax", "strict"])}]`);
          break;
        case 4:
          lines.push(`${defName()}: [`);
          for (let j = rand(4); j > 0; j--) lines.push(pick([`$[[${pick(NAMES)}]]`, `$[[${pick(NAMES)}:lax]]`, value(), "<?python", "print(1)", "?>"]));
          if (rand(10) !== 0) lines.push("]");
          break;
        default:
          lines.push(`${defName()}: ${value()}`);
      }
    }
    out[file] = lines.join("\n") + (rand(10) === 0 ? "" : "\n");
  }
  out["data"] = "line one\nline two\n";
  return out;
}

/** Evaluates every key; fails on anything but evaluation errors (a hang fails on the test's timeout). */
function exercise(spec: ContextSpec, workspace?: Workspace): void {
  const ctx = evaluateContext(spec, { workspace });
  if (!ctx.fatal) {
    let keys: string[] = [];
    try {
      keys = ctx.keys();
    } catch (e) {
      if (!(e instanceof EvaluationError)) throw e;
    }
    for (const k of keys) {
      try {
        ctx.get(k);
      } catch (e) {
        if (!(e instanceof EvaluationError)) throw e;
      }
    }
  }
  checkContext(spec, { workspace });
}

describe("engine fuzz", () => {
  it("600 seeded random trees never make the engine throw or hang", function () {
    this.timeout(120_000);
    const rand = seeded(20261121);
    for (let i = 0; i < 600; i++) {
      const root = writeTree(randomTree(rand));
      const args: Record<string, string> = rand(2) ? { t: "f3.conf", a: "1" } : {};
      try {
        exercise({ config: join(root, "metro.conf"), args });
      } catch (e) {
        throw new Error(`tree ${i} (${root}): ${(e as Error).stack}`);
      }
    }
  });

  it("mutated corpus files never make the engine throw (funtoo contexts)", function () {
    requireShared(this);
    this.timeout(180_000);
    const c = materialize("funtoo-metro");
    const files = walkFiles(join(c.root, "corpus")).filter((f) => f.endsWith(".conf") || f.endsWith(".spec"));
    const originals = new Map(files.map((f) => [f, readFileSync(f, "utf8")]));
    const rand = seeded(7);
    const pieces = ["$[", "]", "[", ":zap", "?", "\n", "[section q]", "[when a]", "[collect ./x]", "$[[", "]]", "<< /nope", ":", " ", "#"];
    for (let i = 0; i < 300; i++) {
      const overlay = new Map<string, string>();
      for (let j = 1 + rand(3); j > 0; j--) {
        const f = files[rand(files.length)];
        let t = overlay.get(f) ?? originals.get(f)!;
        const at = rand(t.length + 1);
        t = rand(2) ? t.slice(0, at) + pieces[rand(pieces.length)] + t.slice(at) : t.slice(0, at) + t.slice(at + 1 + rand(30));
        overlay.set(f, t);
      }
      const workspace = new Workspace({ readText: (p) => overlay.get(p) });
      const ctx = c.contexts[rand(c.contexts.length)];
      exercise({ config: join(c.root, ctx.entry), args: ctx.args }, workspace);
    }
  });

  it("the CLI never exits with an uncaught exception", async function () {
    this.timeout(120_000);
    const rand = seeded(99);
    for (let i = 0; i < 25; i++) {
      const root = writeTree(randomTree(rand));
      const config = ["--config", join(root, "metro.conf")];
      for (const command of [["dump", "--json", ...config], ["check", ...config], ["get", "a", ...config], ["parse", join(root, "f1.conf")]]) {
        const r = await runCli(command);
        assert.ok(r.code === 0 || r.code === 1, `${command.join(" ")} on ${root}: exit ${r.code}\n${r.err}`);
        assert.doesNotMatch(r.err, /internal error|\n\s+at /, r.err);
      }
    }
  });
});
