// Verdict figures (issue 10): what `check` and the language server report on
// the pristine funtoo/metro tree (no mirror, no metro-contexts.json) for the
// contexts the server derives when nothing is configured. `bench/bench.ts`
// calls verdictFigures().

import { existsSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { deriveContexts } from "../analysis/contexts";
import { WorkspaceIndex } from "../analysis/workspace-index";
import { Workspace } from "../engine/workspace";
import { checkAll } from "../cli/commands/check";
import { StdioClient } from "../server/testing/stdio-client";
import { funtooCopy } from "../tests/support/shared";
import { caseAgreement, runnerCases } from "../tests/support/runner";

const PROJECT = resolve(__dirname, "..", "..");
const SERVER = join(PROJECT, "dist", "metro-language-server.js");

export async function pristineFigures(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const copy = funtooCopy(false);
  const root = join(copy, "corpus");
  try {
    const workspace = new Workspace();
    const index = new WorkspaceIndex(root, { parse: (p) => workspace.getFile(p)?.ast });
    index.scan();
    const contexts = deriveContexts(root, index);
    const findings = checkAll(contexts);
    const count = (s: string) => findings.filter((f) => f.severity === s).length;
    if (process.argv.includes("--list")) {
      for (const f of findings) if (f.severity === "error" || f.severity === "warning") console.log(`${f.file.slice(root.length + 1)}:${f.range.start.line + 1}: ${f.severity}: ${f.message} [${f.code}]`);
    }
    out[`check, pristine funtoo tree, ${contexts.length} derived contexts`] = `${count("error")} errors / ${count("warning")} warnings`;
    if (existsSync(SERVER)) {
      const client = await StdioClient.start({ serverPath: SERVER, root });
      try {
        await client.settled();
        await new Promise((r) => setTimeout(r, 200));
        let errors = 0;
        let warnings = 0;
        for (const p of client.diagnostics.values()) {
          for (const d of p.diagnostics) {
            if (process.argv.includes("--list") && (d.severity ?? 9) <= 2) console.log(`LS ${p.uri.slice(p.uri.indexOf("/corpus/") + 8)}:${d.range.start.line + 1}: ${d.severity}: ${d.message} [${d.code}]`);
            if (d.severity === 1) errors++;
            else if (d.severity === 2) warnings++;
          }
        }
        out["language server, same tree, no configuration"] = `${errors} errors / ${warnings} warnings`;
      } finally {
        await client.stop();
      }
    }
  } finally {
    rmSync(dirname(copy), { recursive: true, force: true });
  }
  return out;
}

/** Agreement with metro's own runner over every context of every case with a runner.json. */
export async function runnerFigures(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of runnerCases()) {
    const r = await caseAgreement(name);
    const scripts = r.reduce((a, x) => a + x.scripts, 0);
    const identical = r.reduce((a, x) => a + x.scriptsIdentical, 0);
    const contexts = r.filter((x) => x.dryRunAgrees && x.problems.every((p) => !p.startsWith("step") && !p.startsWith("the dry run plans"))).length;
    out[`runner (${name})`] = `runner: ${contexts}/${r.length} contexts, ${identical}/${scripts} scripts identical; check verdicts ${r.filter((x) => x.checkAgrees).length}/${r.length}`;
  }
  return out;
}

if (require.main === module) {
  Promise.all([pristineFigures(), process.argv.includes("--runner") ? runnerFigures() : Promise.resolve({})]).then(([a, b]) => ({ ...a, ...b })).then((f) => {
    for (const [k, v] of Object.entries(f)) console.log(`${k.padEnd(58)} ${v}`);
  });
}
