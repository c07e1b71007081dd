// The size of V8's young generation, for the executables (the CLI and the
// language server); nothing else in the engine calls these.
//
// V8 grows its young generation (up to 32 MB) when much of what a program
// allocates survives, as the values an evaluation keeps do. For a build
// tree's contexts (tens of thousands of elements, or hundreds of contexts
// evaluated one after another, or the language server's rounds after each
// pause in typing) a young generation kept at its first size holds far less
// memory for the same speed or better. V8 reads the growth factor each time
// the young generation would grow, so setting it while running takes effect.

import { setFlagsFromString } from "node:v8";

/** Keeps the young generation at its first size. */
export function keepYoungGenerationSmall(): void {
  setFlagsFromString("--semi-space-growth-factor=1");
}

/** Lets the young generation grow as V8 usually does (2 is V8's default factor). */
export function letYoungGenerationGrow(): void {
  setFlagsFromString("--semi-space-growth-factor=2");
}
