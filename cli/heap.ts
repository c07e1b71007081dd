// The size of V8's young generation for a run of the CLI.
//
// V8 grows its young generation (up to 32 MB) when much of what a program
// allocates survives, as the values an evaluation keeps do. For a build
// tree's contexts (tens of thousands of elements, or a matrix of hundreds of
// contexts evaluated one after another) a young generation kept at its first
// size holds far less memory for the same speed or better (the 100,000-element
// benchmark: 146 -> 114 MB). A tree of hundreds of thousands of elements is
// faster with V8's usual growth, so once that much has been read the run gets
// it back. The flag is read each time the young generation would grow, so
// setting it while running takes effect.

import { setFlagsFromString } from "node:v8";

/** Bytes of Metro files read from which a run gets V8's usual growth (about 400,000 elements). */
const LARGE_TREE_BYTES = 16 * 1024 * 1024;
let usual = false;

/** At the start of a run: keep the young generation at its first size. */
export function keepYoungGenerationSmall(): void {
  setFlagsFromString("--semi-space-growth-factor=1");
}

/** As files are read (Workspace's onBytesRead): a large tree lets the young generation grow as V8 usually does (2 is V8's default). */
export function youngGenerationFor(bytesRead: number): void {
  if (usual || bytesRead < LARGE_TREE_BYTES) return;
  usual = true;
  setFlagsFromString("--semi-space-growth-factor=2");
}
