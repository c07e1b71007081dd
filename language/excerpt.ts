// The one way a message quotes text it was given (a value, a name, a path, a
// condition, a line): at most the first EXCERPT_CHARS characters, and when
// the text is longer, a mark saying how long it is. A value of 100 KB makes a
// message of about 150 characters, not of 100 KB.

/** How many characters of a text a message quotes. */
export const EXCERPT_CHARS = 100;
/** How many characters of a path a message quotes: real paths are often longer than 100 characters, and their end says most. */
export const EXCERPT_PATH_CHARS = 300;

function cut(text: string, limit: number): string {
  let end = limit;
  // Never split a surrogate pair: the excerpt stays valid UTF-16.
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return text.slice(0, end);
}

/** "(100,000 characters)": the mark after a text that was cut. */
function lengthMark(text: string): string {
  return `(${text.length.toLocaleString("en-US")} characters)`;
}

/** `text`, or its first EXCERPT_CHARS characters followed by `… (N characters)`. */
export function excerpt(text: string, limit = EXCERPT_CHARS): string {
  return text.length <= limit ? text : `${cut(text, limit)}… ${lengthMark(text)}`;
}

/**
 * `text` between `open` and `close` (backticks by default); a long text is
 * cut inside the quotes and its length said after them: `` `abc…` (100,000 characters) ``.
 */
export function quote(text: string, open = "`", close = open, limit = EXCERPT_CHARS): string {
  return text.length <= limit ? open + text + close : `${open}${cut(text, limit)}…${close} ${lengthMark(text)}`;
}

/** `text` as a JSON string (escapes shown), cut as `quote` cuts. */
export function quoteJson(text: string, limit = EXCERPT_CHARS): string {
  return text.length <= limit ? JSON.stringify(text) : `${JSON.stringify(cut(text, limit) + "…")} ${lengthMark(text)}`;
}

/** How many items of a list (a cycle's names, keys) a message names. */
export const EXCERPT_ITEMS = 10;

/**
 * Items joined by `separator`, each cut as `excerpt` cuts, at most `maxItems`
 * of them: a longer list ends with `… (N in all)`.
 */
export function excerptList(items: readonly string[], separator = ", ", maxItems = EXCERPT_ITEMS): string {
  const shown = items.slice(0, maxItems).map((s) => excerpt(s));
  return items.length <= maxItems ? shown.join(separator) : `${shown.join(separator)}${separator}… (${items.length.toLocaleString("en-US")} in all)`;
}

/** A path, cut as `excerpt` cuts at EXCERPT_PATH_CHARS. */
export function excerptPath(path: string): string {
  return excerpt(path, EXCERPT_PATH_CHARS);
}

/** A path in quotes (double by default), cut as `quote` cuts at EXCERPT_PATH_CHARS. */
export function quotePath(path: string, open = '"', close = open): string {
  return quote(path, open, close, EXCERPT_PATH_CHARS);
}
