// index.xml: the mirror's download index, serialized as lxml does it
// (declaration with single quotes, two-space pretty printing, attributes
// in insertion order, libxml2's attribute escaping).

import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import type { RepoContext } from "./context";
import { BuildrepoCrash, decodeText, parsePyJson, pyJoin, PyJsonError } from "./python-semantics";
import type { SubarchRow } from "./scan";

type Attributes = [string, string][];

export interface IndexBuild {
  id: string;
  variant: string;
  release: string;
  path: string;
  latest: string;
  download: string;
  size: string;
}

export interface IndexSubarch {
  name: string;
  release: string;
  /** The build-info.json read for the subarch, when there is one. */
  info: string | null;
  attributes: Record<string, string>;
  builds: IndexBuild[];
}

/** Values lxml refuses: control characters other than tab, newline and carriage return, and lone surrogates. */
const NOT_XML = /[\x00-\x08\x0b\x0c\x0e-\x1f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const NAME_START = /[A-Za-z_\p{L}]/u;
const NAME_CHAR = /^[A-Za-z0-9._\-\p{L}\p{Nd}\p{Mn}\p{Mc}\u00b7]*$/u;

function setAttribute(attrs: Attributes, name: string, value: string, where: string): void {
  if (!name) throw new BuildrepoCrash("ValueError", "an attribute name is empty", where);
  if (name.startsWith("{")) throw new BuildrepoCrash("ValueError", `attribute name ${JSON.stringify(name)} is a namespaced name, which this index does not support`, where);
  if (!NAME_START.test(Array.from(name)[0]) || !NAME_CHAR.test(name)) throw new BuildrepoCrash("ValueError", `Invalid attribute name ${JSON.stringify(name)}`, where);
  if (NOT_XML.test(value)) throw new BuildrepoCrash("ValueError", `the value of ${name} is not XML compatible (control characters)`, where);
  const at = attrs.findIndex(([k]) => k === name);
  if (at === -1) attrs.push([name, value]);
  else attrs[at] = [name, value];
}

function escapeAttribute(v: string): string {
  return v.replace(/[&<>"\n\r\t]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;" })[c]!);
}

function element(name: string, attrs: Attributes): string {
  return `<${name}${attrs.map(([k, v]) => ` ${k}="${escapeAttribute(v)}"`).join("")}`;
}

/** Python's str[n:] on code points. */
function dropPrefix(s: string, n: number): string {
  return Array.from(s).slice(n).join("");
}

/** The first field of `du -h PATH`, as buildrepo runs it (its output, error text included). */
function diskUsage(path: string): string {
  const du = existsSync("/usr/bin/du") ? "/usr/bin/du" : "du";
  const r = spawnSync(du, ["-h", "--", path], { encoding: "utf8", maxBuffer: 1 << 24 });
  const out = ((r.stdout ?? "") + (r.stderr ?? "") || (r.error ? `${du}: ${r.error.message}` : "")).trim();
  const first = out.split(/\s+/)[0];
  if (!first) throw new BuildrepoCrash("IndexError", "du printed nothing", path);
  return first;
}

/** Reads build-info.json's keys and values, in file order, as buildrepo sets them on the subarch element. */
function buildInfo(path: string): [string, string][] {
  let text: string | null;
  try {
    text = decodeText(readFileSync(path));
  } catch (e) {
    throw new BuildrepoCrash("OSError", `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, path);
  }
  if (text === null) throw new BuildrepoCrash("UnicodeDecodeError", "not UTF-8 text", path);
  let json;
  try {
    json = parsePyJson(text);
  } catch (e) {
    if (e instanceof PyJsonError) throw new BuildrepoCrash("JSONDecodeError", e.message, path);
    throw e;
  }
  if (json.kind === "object") {
    return json.entries.map(([k, v]) => {
      if (v.kind !== "string") throw new BuildrepoCrash("TypeError", `the value of ${JSON.stringify(k)} is not a string`, path);
      return [k, v.value];
    });
  }
  // Iterating an empty list or string sets nothing; anything else fails in buildrepo's loop.
  if ((json.kind === "array" && json.items.length === 0) || (json.kind === "string" && json.value === "")) return [];
  throw new BuildrepoCrash("TypeError", "build-info.json is not a JSON object", path);
}

function subarchEntry(ctx: RepoContext, row: SubarchRow): { attrs: Attributes; builds: Attributes[]; entry: IndexSubarch } {
  const attrs: Attributes = [];
  setAttribute(attrs, "name", row.subarch, row.path);
  const builds: Attributes[] = [];
  let info: string | null = null;
  const skip = Array.from(ctx.mirror).length;
  for (const art of row.latest!.artifacts) {
    const b: Attributes = [];
    setAttribute(b, "id", String(builds.length + 1), art.path);
    setAttribute(b, "variant", art.flavor, art.path);
    setAttribute(b, "release", row.release, art.path);
    setAttribute(b, "path", dropPrefix(row.path, skip), art.path);
    setAttribute(b, "latest", row.latest!.dateStr, art.path);
    setAttribute(b, "download", dropPrefix(art.path, skip), art.path);
    setAttribute(b, "size", diskUsage(art.path) + "B", art.path);
    if (!info) {
      const candidate = pyJoin(row.path, row.latest!.dateStr, "build-info.json");
      if (ctx.fs.exists(candidate)) info = candidate;
    }
    builds.push(b);
  }
  setAttribute(attrs, "builds", builds.map((_, i) => String(i + 1)).join(","), row.path);
  if (info) for (const [k, v] of buildInfo(info)) setAttribute(attrs, k, v, info);
  const entry: IndexSubarch = {
    name: row.subarch,
    release: row.release,
    info,
    attributes: Object.fromEntries(attrs),
    builds: builds.map((b) => Object.fromEntries(b) as unknown as IndexBuild),
  };
  return { attrs, builds, entry };
}

/** Builds index.xml's text and what it lists. */
export function buildIndex(ctx: RepoContext): { xml: string; subarches: IndexSubarch[] } {
  const ignore = new Set(ctx.config.indexIgnoreBuilds);
  const parts: string[] = [];
  const subarches: IndexSubarch[] = [];
  for (const row of ctx.scan.rows) {
    if (ignore.has(row.release) || !row.latest) continue;
    const { attrs, builds, entry } = subarchEntry(ctx, row);
    subarches.push(entry);
    if (builds.length === 0) parts.push(`  ${element("subarch", attrs)}/>\n`);
    else parts.push(`  ${element("subarch", attrs)}>\n${builds.map((b) => `    ${element("build", b)}/>\n`).join("")}  </subarch>\n`);
  }
  const body = parts.length ? `<subarches>\n${parts.join("")}</subarches>\n` : "<subarches/>\n";
  return { xml: `<?xml version='1.0' encoding='UTF-8'?>\n${body}`, subarches };
}
