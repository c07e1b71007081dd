// How large an answer to one request may grow. The analysis budgets
// (analysis/project.ts) already bound what a tree holds (200,000 indexed
// statements and references, 1 MiB a file), but an answer that lists every
// reference, every symbol or every name of such a tree would still be tens
// of megabytes of JSON built in one turn. A real Metro file has a few
// hundred definitions (funtoo's largest about 300) and a real element a few
// dozen references, so these caps are never met by a real tree; where the
// protocol has room for it the answer says what was left out.

/** Symbols of one document's outline (sections and their elements). */
export const MAX_DOCUMENT_SYMBOLS = 5_000;
/** Locations of one references or definition answer. */
export const MAX_REFERENCES = 10_000;
/** Code lenses of one document (one per definition). */
export const MAX_CODE_LENSES = 1_000;
/** Reference locations one code lens carries for its command, and all the lenses of one answer together. */
export const MAX_LENS_LOCATIONS = 1_000;
export const MAX_LENS_LOCATIONS_TOTAL = 20_000;
/** Completion items of one answer: past it the list is marked incomplete and the client asks again as the user types. */
export const MAX_COMPLETION_ITEMS = 1_000;
/** Folder entries read for one path completion (a folder of a million files is not listed whole). */
export const MAX_FOLDER_ENTRIES_READ = 20_000;
/** Folding ranges of one document (VS Code keeps 5,000 itself). */
export const MAX_FOLDING_RANGES = 5_000;
/** Characters of one line of a value shown in a hover (the whole value is one command away). */
export const MAX_HOVER_LINE = 400;

/**
 * Memory the open documents hold together: their text and the offset of each line (LINE_BYTES
 * a line, what the document keeps once a position is asked). One document may hold what one
 * message carries (64 MiB, MAX_MESSAGE_BYTES); this is two of those. The server analyses a
 * Metro file of at most 1 MiB and a project of at most 4 MiB (analysis/project.ts), and
 * funtoo's whole tree is 250 KB: an editor session with every file of several trees open
 * holds a few megabytes, so only a client that opens documents without end reaches this.
 */
export const MAX_OPEN_BYTES = 128 * 1024 * 1024;
export const LINE_BYTES = 8;
/**
 * What an open document costs beyond its text (its record, its URI, its entry in a tree's
 * index), counted so that a client opening empty documents without end meets the bound
 * too: at most 32,768 documents are open at once.
 */
export const DOCUMENT_BYTES = 4 * 1024;
/** Documents not followed that get a diagnostic and a line in the log each (past them only the log says so, once). */
export const MAX_UNFOLLOWED_NAMED = 1_000;

/** What an open document weighs: DOCUMENT_BYTES, its characters and LINE_BYTES for each line break. */
export function documentWeight(characters: number, lineBreaks: number): number {
  return DOCUMENT_BYTES + characters + LINE_BYTES * lineBreaks;
}

/** What a text weighs as an open document (line breaks \n, \r\n or \r, as LSP splits lines). */
export function textWeight(text: string): number {
  let breaks = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) breaks++;
    else if (c === 13 && text.charCodeAt(i + 1) !== 10) breaks++;
  }
  return documentWeight(text.length, breaks);
}
