// Data-driven tests: every file of tests/fixtures/diagnostics/ parsed, its
// diagnostics beside it; every tree of tests/fixtures/server/ opened in the
// language server, with hover, definition and diagnostics at each `<|>`
// marker beside it. `npm run test:update` rewrites the expectations.

import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { parseMetroBytes } from "../language";
import { StdioClient, uriOf } from "../server/testing/stdio-client";
import { FIXTURES, expectFixture, fixtureNames, stripMarkers } from "./support/fixtures";

describe("fixtures: parser diagnostics", () => {
  for (const name of fixtureNames("diagnostics", ".conf")) {
    it(name, () => {
      const path = join(FIXTURES, "diagnostics", name);
      const ast = parseMetroBytes(readFileSync(path));
      const lines = ast.diagnostics.map((d) => {
        const r = d.range;
        return `${r.start.line + 1}:${r.start.character + 1}-${r.end.line + 1}:${r.end.character + 1} ${d.severity} ${d.code}: ${d.message}`;
      });
      expectFixture(path + ".expected", lines.map((l) => l + "\n").join(""));
    });
  }
});

function filesBelow(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? filesBelow(join(dir, n)) : [join(dir, n)])).sort();
}

describe("fixtures: language server features at markers", function () {
  this.timeout(30_000);
  for (const name of readdirSync(join(FIXTURES, "server")).filter((n) => statSync(join(FIXTURES, "server", n)).isDirectory()).sort()) {
    it(name, async () => {
      const source = join(FIXTURES, "server", name);
      const root = mkdtempSync(join(tmpdir(), "metro-fixture-"));
      cpSync(source, root, { recursive: true });
      const markers: { file: string; position: { line: number; character: number } }[] = [];
      for (const file of filesBelow(root)) {
        const { text, positions } = stripMarkers(readFileSync(file, "utf8"));
        writeFileSync(file, text);
        for (const position of positions) markers.push({ file, position });
      }
      const client = await StdioClient.start({ root });
      try {
        await client.settled();
        const out: string[] = [];
        const where = (file: string, p: { line: number; character: number }) => `${relative(root, file)}:${p.line + 1}:${p.character + 1}`;
        for (const file of filesBelow(root).filter((f) => !f.endsWith(".json"))) client.open(file);
        await client.settled();
        for (const { file, position } of markers) {
          out.push(`== ${where(file, position)}`);
          const hover = await client.hover(file, position.line, position.character);
          out.push("-- hover", hover ? hover.contents.value : "(none)");
          const defs = await client.definition(file, position.line, position.character);
          out.push("-- definition", ...(defs.length ? defs.map((d) => where(d.uri.replace("file://", ""), d.range.start)) : ["(none)"]), "");
        }
        for (const file of filesBelow(root).filter((f) => !f.endsWith(".json"))) {
          out.push(`== diagnostics of ${relative(root, file)}`);
          for (const d of client.diagnostics.get(uriOf(file))?.diagnostics ?? []) out.push(`${where(file, d.range.start)} [${d.severity}] ${d.code}: ${d.message}`);
          out.push("");
        }
        expectFixture(join(FIXTURES, "server", `${name}.expected`), out.join("\n"));
      } finally {
        await client.stop();
        rmSync(root, { recursive: true, force: true });
      }
    });
  }
});
