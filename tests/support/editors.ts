// Real editors for the system tests: Neovim driven headless through a Lua
// script (one check shared by every Neovim the machine has), and Debian 13's
// Neovim and Helix prepared by scripts/trixie-editors.mjs.

import * as assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PROJECT } from "./shared";

export const SERVER = join(PROJECT, "dist", "metro-language-server.js");
export const EXAMPLES = join(PROJECT, "examples");
const NVIM_RECIPE = join(PROJECT, "editors", "neovim", "metro.lua");

/** The folder holding bin/nvim and bin/hx from Debian trixie, or why it is not there. */
export function trixieEditors(): { dir: string } | { reason: string } {
  const r = spawnSync(process.execPath, [join(PROJECT, "scripts", "trixie-editors.mjs"), "--check"], { encoding: "utf8" });
  if (r.status === 0) return { dir: r.stdout.trim() };
  return { reason: r.stderr.trim() || `scripts/trixie-editors.mjs --check exited ${r.status}` };
}

/** `nvim --version` as [major, minor], or null when the command does not run. */
export function nvimVersion(nvim: string): [number, number] | null {
  try {
    const out = execFileSync(nvim, ["--version"], { encoding: "utf8", env: privateHome(null) });
    const m = /NVIM v(\d+)\.(\d+)/.exec(out);
    return m ? [Number(m[1]), Number(m[2])] : null;
  } catch {
    return null;
  }
}

/**
 * The environment with HOME and the XDG folders inside `dir` (or pointing
 * nowhere writable when null), so an editor's logs and state stay in the
 * test's folder.
 */
export function privateHome(dir: string | null): NodeJS.ProcessEnv {
  const home = dir ?? "/nonexistent";
  return {
    ...process.env,
    HOME: home,
    XDG_CONFIG_HOME: join(home, "config"),
    XDG_CACHE_HOME: join(home, "cache"),
    XDG_DATA_HOME: join(home, "data"),
    XDG_STATE_HOME: join(home, "state"),
  };
}

/** A copy of the examples tree with one warning added to targets/tiny/stage3.spec, and where to look. */
export function brokenExamples(root: string): { tree: string; spec: string; lines: string[]; brokenLine: number } {
  const tree = join(root, "examples");
  cpSync(EXAMPLES, tree, { recursive: true });
  const spec = join(tree, "targets", "tiny", "stage3.spec");
  // A reference no file defines, in a value the stage3 run never reads: one warning, from the contexts.
  writeFileSync(spec, readFileSync(spec, "utf8") + "\n[section bench]\n\nbroken: $[no/such/name]\n");
  const lines = readFileSync(spec, "utf8").split("\n");
  return { tree, spec, lines, brokenLine: lines.findIndex((l) => l.startsWith("broken:")) };
}

/** The message of the warning `brokenExamples` adds. */
export const BROKEN_MESSAGE = /"no\/such\/name" is not defined \(unused by the stage3 run; metro never expands it\) \(in (all \d+ contexts|stage3)/;

const LUA = `
local out = {}
local file = vim.env.METRO_FILE
out.version = tostring(vim.version())
-- A .conf outside any Metro tree keeps its usual filetype.
vim.cmd("edit " .. vim.fn.fnameescape(vim.env.METRO_OUTSIDE))
out.outside_filetype = vim.bo.filetype
-- Every FileType event of the Metro buffer: claimed once, not first as another filetype.
out.filetype_events = {}
vim.api.nvim_create_autocmd("FileType", { callback = function(a)
  if vim.api.nvim_buf_get_name(a.buf) == file then table.insert(out.filetype_events, a.match) end
end })
vim.cmd("edit " .. vim.fn.fnameescape(file))
local bufnr = vim.api.nvim_get_current_buf()
out.filetype = vim.bo.filetype
if vim.filetype and vim.filetype.match and vim.fn.has("nvim-0.9") == 1 then
  -- Detection itself says metro (what plugins that ask vim.filetype.match see).
  out.matched = vim.filetype.match({ filename = file }) or vim.NIL
  out.outside_matched = vim.filetype.match({ filename = vim.env.METRO_OUTSIDE }) or vim.NIL
end
local function clients_of(b)
  local ids = {}
  if vim.lsp.get_clients then
    for _, c in ipairs(vim.lsp.get_clients({ bufnr = b })) do table.insert(ids, c.id) end
  else
    for id, _ in pairs(vim.lsp.buf_get_clients(b)) do table.insert(ids, id) end
  end
  return ids
end
vim.wait(10000, function() return #clients_of(bufnr) > 0 end, 20)
local ids = clients_of(bufnr)
local client = vim.lsp.get_client_by_id(ids[1])
out.attached = client ~= nil
out.root_dir = client and client.config.root_dir or vim.NIL
local function has_contextual()
  for _, d in ipairs(vim.diagnostic.get(bufnr)) do
    if string.find(d.message, "metro never expands it) (in ", 1, true) then return true end
  end
  return false
end
out.waited = vim.wait(30000, has_contextual, 50)
out.diagnostics = {}
for _, d in ipairs(vim.diagnostic.get(bufnr)) do
  table.insert(out.diagnostics, { lnum = d.lnum, col = d.col, severity = d.severity, message = d.message })
end
local function pos(line, col)
  return { textDocument = { uri = vim.uri_from_bufnr(bufnr) }, position = { line = line, character = col } }
end
local hover = client.request_sync("textDocument/hover", pos(tonumber(vim.env.METRO_HOVER_LINE), tonumber(vim.env.METRO_HOVER_COL)), 20000, bufnr)
out.hover = hover and hover.result or vim.NIL
local def = client.request_sync("textDocument/definition", pos(tonumber(vim.env.METRO_DEF_LINE), tonumber(vim.env.METRO_DEF_COL)), 20000, bufnr)
out.definition = def and def.result or vim.NIL
-- A second file of the same tree attaches to the same client.
vim.cmd("edit " .. vim.fn.fnameescape(vim.env.METRO_SECOND))
local second = vim.api.nvim_get_current_buf()
out.second_filetype = vim.bo.filetype
vim.wait(10000, function() return #clients_of(second) > 0 end, 20)
out.second_clients = clients_of(second)
out.first_clients = ids
out.all_clients = #(vim.lsp.get_clients and vim.lsp.get_clients() or vim.lsp.get_active_clients())
vim.fn.writefile({ vim.fn.json_encode(out) }, vim.env.METRO_OUT)
client.stop()
vim.wait(5000, function() return client.is_stopped() end, 50)
vim.cmd("qa!")
`;

/**
 * Neovim (`nvim`, a command) headless with the shipped recipe and filetype
 * detection on, as a user's config loads it: opens a .conf outside a tree and
 * files of a copy of the examples tree, and checks the filetype (claimed only
 * inside a tree, in one FileType event), one client per tree rooted at the
 * tree, the contexts' diagnostic, hover and definition. Returns the version
 * the script saw.
 */
export function checkNeovimRecipe(nvim: string): string {
  const root = mkdtempSync(join(tmpdir(), "metro-nvim-"));
  try {
    const { tree, spec, lines, brokenLine } = brokenExamples(root);
    const hoverLine = lines.findIndex((l) => l.includes("$[path/mirror/target/control]"));
    const hoverCol = lines[hoverLine].indexOf("$[path/mirror/target/control]") + 3;
    const defLine = lines.findIndex((l) => l.includes("$[packages/stage3]"));
    const defCol = lines[defLine].indexOf("$[packages/stage3]") + 3;
    const outside = join(root, "outside.conf");
    writeFileSync(outside, "# not metro\na = b\n");
    const second = join(tree, "metro.conf");
    const script = join(root, "check.lua");
    const outFile = join(root, "out.json");
    writeFileSync(script, LUA);
    const serverCommand = `lua vim.g.metro_language_server = { vim.env.METRO_NODE, vim.env.METRO_SERVER, "--stdio" }`;
    const args = ["--headless", "-u", "NONE", "-i", "NONE", "-n", "--cmd", "filetype on", "--cmd", serverCommand, "--cmd", `luafile ${NVIM_RECIPE}`, "-c", `luafile ${script}`];
    const r = spawnSync(nvim, args, {
      cwd: root,
      encoding: "utf8",
      timeout: 120_000,
      env: {
        ...privateHome(join(root, "home")),
        METRO_FILE: spec,
        METRO_OUTSIDE: outside,
        METRO_SECOND: second,
        METRO_NODE: process.execPath,
        METRO_SERVER: SERVER,
        METRO_OUT: outFile,
        METRO_HOVER_LINE: String(hoverLine),
        METRO_HOVER_COL: String(hoverCol),
        METRO_DEF_LINE: String(defLine),
        METRO_DEF_COL: String(defCol),
      },
    });
    assert.ok(existsSync(outFile), `nvim wrote nothing: ${r.stderr} ${r.stdout} ${r.error ?? ""}`);
    const out = JSON.parse(readFileSync(outFile, "utf8"));
    assert.notEqual(out.outside_filetype, "metro", "a .conf outside a tree is not claimed");
    assert.equal(out.filetype, "metro");
    assert.equal(out.filetype_events[out.filetype_events.length - 1], "metro");
    if ("matched" in out) {
      // 0.9+: detection itself claims the file (0.7 first sets its own filetype, then the recipe's autocommand).
      assert.deepEqual(out.filetype_events, ["metro"], "the Metro buffer gets one FileType event, metro");
      assert.equal(out.matched, "metro", "vim.filetype.match says metro inside a tree");
      assert.notEqual(out.outside_matched, "metro", "and not outside");
    }
    assert.equal(out.second_filetype, "metro");
    assert.equal(out.attached, true);
    assert.equal(out.root_dir, tree);
    assert.deepEqual(out.second_clients, out.first_clients, "one client per tree");
    assert.equal(out.all_clients, 1, "one client in all");
    assert.equal(out.waited, true, JSON.stringify(out.diagnostics));
    const broken = out.diagnostics.filter((d: { lnum: number }) => d.lnum === brokenLine);
    assert.equal(broken.length, 1, JSON.stringify(out.diagnostics));
    assert.equal(broken[0].severity, 2, JSON.stringify(broken));
    assert.match(broken[0].message, BROKEN_MESSAGE);
    const hover = out.hover.contents.value as string;
    assert.match(hover, /path\/mirror\/target\/control/);
    assert.match(hover, /derived from the tree/);
    const defs = out.definition as { uri: string }[];
    assert.ok(defs.length >= 1 && defs.every((d) => d.uri.startsWith("file://" + tree)), JSON.stringify(defs));
    return out.version as string;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
