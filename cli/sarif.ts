// SARIF 2.1.0 for code-scanning tools. Locations inside the tree are
// relative to the base id TREEROOT, which `originalUriBaseIds` gives as the
// tree's absolute file URI; any other file is an absolute file URI. Either
// way a result is placed the same from whatever folder the check ran in.

import { relative, sep } from "node:path";
import { pathToFileURL } from "node:url";
import type { EngineDiagnostic } from "../engine/evaluate";
import { isInside } from "../analysis/trees";

const LEVEL: Record<string, string> = { error: "error", warning: "warning", information: "note", hint: "note" };
export const ROOT_BASE_ID = "TREEROOT";

function artifactLocation(file: string, root: string | undefined): { uri: string; uriBaseId?: string } {
  if (root && isInside(root, file) && file !== root) {
    return { uri: relative(root, file).split(sep).map(encodeURIComponent).join("/"), uriBaseId: ROOT_BASE_ID };
  }
  return { uri: pathToFileURL(file).href };
}

/** `root`: the tree's absolute folder (the base of relative locations); without it every location is absolute. */
export function formatSarif(findings: (EngineDiagnostic & { contexts?: string[] })[], root?: string) {
  const rules = [...new Set(findings.map((f) => f.code))].sort();
  return {
    $schema: "https://json.schemastore.org/sarif-2.1.0.json",
    version: "2.1.0",
    runs: [
      {
        tool: { driver: { name: "metro-engine", informationUri: "https://github.com/funtoo/metro", rules: rules.map((id) => ({ id, name: id.replace(/^metro\//, "") })) } },
        originalUriBaseIds: root ? { [ROOT_BASE_ID]: { uri: pathToFileURL(root).href.replace(/\/?$/, "/") } } : undefined,
        results: findings.map((f) => ({
          ruleId: f.code,
          ruleIndex: rules.indexOf(f.code),
          level: LEVEL[f.severity] ?? "note",
          message: { text: f.message },
          locations: [
            {
              physicalLocation: {
                artifactLocation: artifactLocation(f.file, root),
                region: { startLine: f.range.start.line + 1, startColumn: f.range.start.character + 1, endLine: f.range.end.line + 1, endColumn: f.range.end.character + 1 },
              },
            },
          ],
          relatedLocations: (f.related ?? []).map((r, i) => ({
            id: i,
            message: { text: r.message },
            physicalLocation: { artifactLocation: artifactLocation(r.file, root), region: { startLine: r.range.start.line + 1, startColumn: r.range.start.character + 1 } },
          })),
          properties: f.contexts && f.contexts.length ? { contexts: f.contexts } : undefined,
        })),
      },
    ],
  };
}
