// Tests as data: an input file in tests/fixtures/ and its expected output
// beside it. `npm run test:update` (UPDATE_FIXTURES=1) writes the outputs the
// code gives now instead of comparing; review the diff, then commit it.

import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { PROJECT } from "./shared";

export const FIXTURES = join(PROJECT, "tests", "fixtures");

export function fixtureNames(folder: string, suffix = ""): string[] {
  return readdirSync(join(FIXTURES, folder))
    .filter((n) => n.endsWith(suffix) && !n.endsWith(".expected"))
    .sort();
}

/** Compares `actual` with the expectation file, or writes it when updating. */
export function expectFixture(expectedPath: string, actual: string): void {
  if (process.env.UPDATE_FIXTURES) {
    writeFileSync(expectedPath, actual);
    return;
  }
  const rel = relative(PROJECT, expectedPath);
  assert.ok(existsSync(expectedPath), `${rel} is missing: run npm run test:update to write it, then review it`);
  assert.equal(actual, readFileSync(expectedPath, "utf8"), `${rel} differs (npm run test:update rewrites it)`);
}

/** The marker that stands for a cursor position in a fixture file. */
export const MARKER = "<|>";

/** A file's text without its markers, and the positions the markers stood at. */
export function stripMarkers(text: string): { text: string; positions: { line: number; character: number }[] } {
  const positions: { line: number; character: number }[] = [];
  const lines = text.split("\n").map((line, n) => {
    let i: number;
    while ((i = line.indexOf(MARKER)) !== -1) {
      positions.push({ line: n, character: i });
      line = line.slice(0, i) + line.slice(i + MARKER.length);
    }
    return line;
  });
  return { text: lines.join("\n"), positions };
}
