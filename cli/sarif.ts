// SARIF 2.1.0 for code-scanning tools.

import { relative } from "node:path";
import type { EngineDiagnostic } from "../engine/evaluate";

const LEVEL: Record<string, string> = { error: "error", warning: "warning", information: "note", hint: "note" };

export function formatSarif(findings: (EngineDiagnostic & { contexts?: string[] })[]) {
  const rules = [...new Set(findings.map((f) => f.code))].sort();
  return {
    $schema: "https://json.schemastore.org/sarif-2.1.0.json",
    version: "2.1.0",
    runs: [
      {
        tool: { driver: { name: "metro-engine", informationUri: "https://github.com/funtoo/metro", rules: rules.map((id) => ({ id, name: id.replace(/^metro\//, "") })) } },
        results: findings.map((f) => ({
          ruleId: f.code,
          ruleIndex: rules.indexOf(f.code),
          level: LEVEL[f.severity] ?? "note",
          message: { text: f.message },
          locations: [
            {
              physicalLocation: {
                artifactLocation: { uri: relative(process.cwd(), f.file) || f.file },
                region: { startLine: f.range.start.line + 1, startColumn: f.range.start.character + 1, endLine: f.range.end.line + 1, endColumn: f.range.end.character + 1 },
              },
            },
          ],
          relatedLocations: (f.related ?? []).map((r, i) => ({
            id: i,
            message: { text: r.message },
            physicalLocation: { artifactLocation: { uri: relative(process.cwd(), r.file) || r.file }, region: { startLine: r.range.start.line + 1, startColumn: r.range.start.character + 1 } },
          })),
          properties: f.contexts && f.contexts.length ? { contexts: f.contexts } : undefined,
        })),
      },
    ],
  };
}
