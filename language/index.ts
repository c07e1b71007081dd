// The language layer: text in, syntax tree and diagnostics out. No I/O, never throws.
export * from "./ast";
export { parseMetro, parseMetroBytes, parseValue } from "./parser";
export { printMetro, printLines } from "./print";
export { classifyLine, isBlockEnd } from "./classify";
export { pySplit, pyStrip, splitLines, fileLines, isPySpace } from "./text";
