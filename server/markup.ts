// Hover and completion documentation are written in Markdown; a client that
// does not offer Markdown (hover.contentFormat, completionItem.documentationFormat)
// gets the same text as plain text: fences dropped (their lines kept as
// written), emphasis and code marks removed, links as their text.

import * as lsp from "vscode-languageserver";

export type MarkupFormat = "markdown" | "plaintext";

/** The format to send: Markdown only when the client lists it. */
export function preferredFormat(offered: lsp.MarkupKind[] | undefined): MarkupFormat {
  return offered?.includes(lsp.MarkupKind.Markdown) ? "markdown" : "plaintext";
}

export function markup(format: MarkupFormat, markdown: string): lsp.MarkupContent {
  return format === "markdown" ? { kind: lsp.MarkupKind.Markdown, value: markdown } : { kind: lsp.MarkupKind.PlainText, value: markdownToPlain(markdown) };
}

/** Plain text of the Markdown this server writes. */
export function markdownToPlain(markdown: string): string {
  const out: string[] = [];
  let fenced = false;
  for (const line of markdown.split("\n")) {
    if (/^```/.test(line)) {
      fenced = !fenced;
      continue;
    }
    out.push(fenced ? "  " + line.replace(/`\u200b``/g, "```") : inlineToPlain(line));
  }
  return out.join("\n");
}

/** A line outside fences: code spans kept verbatim without their marks; emphasis and links around them unwrapped. */
function inlineToPlain(line: string): string {
  const spans: string[] = [];
  let prose = "";
  let i = 0;
  while (i < line.length) {
    if (line[i] === "`") {
      let n = 0;
      while (line[i + n] === "`") n++;
      const marks = "`".repeat(n);
      const end = line.indexOf(marks, i + n);
      if (end !== -1) {
        let code = line.slice(i + n, end);
        // CommonMark strips one space on each side when both are there (used to hold backticks).
        if (code.length >= 2 && code.startsWith(" ") && code.endsWith(" ")) code = code.slice(1, -1);
        prose += `\u0000${spans.length}\u0000`;
        spans.push(code);
        i = end + n;
        continue;
      }
    }
    prose += line[i++];
  }
  return proseToPlain(prose).replace(/\u0000(\d+)\u0000/g, (_, k: string) => spans[Number(k)]);
}

function proseToPlain(s: string): string {
  return s
    .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/\*\*([^*]+)\*\*/g, "$1")
    .replace(/(^|[^*\w])\*([^*\s][^*]*)\*(?!\w)/g, "$1$2");
}
