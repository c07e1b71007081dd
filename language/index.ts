// The language layer: text in, syntax tree and diagnostics out. No I/O, never throws.
export * from "./ast";
export { decodeMetroBytes, parseMetro, parseMetroBytes, parseMetroDecoded, parseValue, type DecodedText } from "./parser";
export { printMetro, printLines } from "./print";
export { outlineMetro, type OutlineSink } from "./outline";
export { blockLineKind, classifyLine, isBlockEnd, isPythonEnd, type BlockLineKind } from "./classify";
export { pySplit, pyStrip, splitLines, fileLines, isPySpace, decodeUtf8, decodeUtf8Lenient } from "./text";
export { absoluteName, modifierProblem, nextReference, parseReferenceInner, type ReferenceSpan, type ReferenceSyntax } from "./reference";
export { formatEdits, formatText, applyEdits, sameMeaning, type FormatEdit, type FormatRange } from "./format";
export { EXCERPT_CHARS, EXCERPT_ITEMS, EXCERPT_PATH_CHARS, excerpt, excerptList, excerptPath, quote, quoteJson, quotePath } from "./excerpt";
