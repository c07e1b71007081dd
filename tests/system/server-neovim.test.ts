// A real editor against the server: Debian's Neovim (0.7+) in headless mode
// loads the shipped recipe (editors/neovim/metro.lua, the file the README
// shows) with filetype detection on, opens files of the examples tree and
// checks the filetype (claimed only inside a tree), one client per tree,
// diagnostics, hover and definition. Skips when `nvim` is absent.

import * as assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PROJECT } from "../support/shared";

const SERVER = join(PROJECT, "dist", "metro-language-server.js");
const EXAMPLES = join(PROJECT, "examples");
const RECIPE = join(PROJECT, "editors", "neovim", "metro.lua");

function nvimVersion(): [number, number] | null {
  try {
    const out = execFileSync("nvim", ["--version"], { encoding: "utf8" });
    const m = /NVIM v(\d+)\.(\d+)/.exec(out);
    return m ? [Number(m[1]), Number(m[2])] : null;
  } catch {
    return null;
  }
}

const LUA = `
local out = {}
local file = vim.env.METRO_FILE
-- A .conf outside any Metro tree keeps its usual filetype.
vim.cmd("edit " .. vim.fn.fnameescape(vim.env.METRO_OUTSIDE))
out.outside_filetype = vim.bo.filetype
vim.cmd("edit " .. vim.fn.fnameescape(file))
local bufnr = vim.api.nvim_get_current_buf()
out.filetype = vim.bo.filetype
local function clients_of(b)
  local ids = {}
  for id, _ in pairs(vim.lsp.buf_get_clients(b)) do table.insert(ids, id) end
  return ids
end
vim.wait(5000, function() return #clients_of(bufnr) > 0 end, 20)
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
out.waited = vim.wait(15000, has_contextual, 50)
out.diagnostics = {}
for _, d in ipairs(vim.diagnostic.get(bufnr)) do
  table.insert(out.diagnostics, { lnum = d.lnum, col = d.col, severity = d.severity, message = d.message })
end
local function pos(line, col)
  return { textDocument = { uri = vim.uri_from_bufnr(bufnr) }, position = { line = line, character = col } }
end
local hover = client.request_sync("textDocument/hover", pos(tonumber(vim.env.METRO_HOVER_LINE), tonumber(vim.env.METRO_HOVER_COL)), 10000, bufnr)
out.hover = hover and hover.result or vim.NIL
local def = client.request_sync("textDocument/definition", pos(tonumber(vim.env.METRO_DEF_LINE), tonumber(vim.env.METRO_DEF_COL)), 10000, bufnr)
out.definition = def and def.result or vim.NIL
-- A second file of the same tree attaches to the same client.
vim.cmd("edit " .. vim.fn.fnameescape(vim.env.METRO_SECOND))
local second = vim.api.nvim_get_current_buf()
out.second_filetype = vim.bo.filetype
vim.wait(5000, function() return #clients_of(second) > 0 end, 20)
out.second_clients = clients_of(second)
out.first_clients = ids
vim.fn.writefile({ vim.fn.json_encode(out) }, vim.env.METRO_OUT)
client.stop()
vim.wait(500, function() return false end, 50)
vim.cmd("qa!")
`;

describe("system: Neovim with the shipped recipe (headless, built-in LSP client)", function () {
  it("claims Metro files only inside a tree, one client per tree; diagnostics, hover and definition", function () {
    const v = nvimVersion();
    if (!v || (v[0] === 0 && v[1] < 7)) {
      console.log("    (skipped: nvim 0.7 or later is not installed)");
      this.skip();
    }
    if (!existsSync(SERVER) || !existsSync(EXAMPLES)) this.skip();
    const root = mkdtempSync(join(tmpdir(), "metro-nvim-"));
    try {
      cpSync(EXAMPLES, join(root, "examples"), { recursive: true });
      const spec = join(root, "examples", "targets", "tiny", "stage3.spec");
      const text = readFileSync(spec, "utf8");
      // A reference no file defines, in a value the stage3 run never reads: one warning, from the contexts.
      writeFileSync(spec, text + "\n[section bench]\n\nbroken: $[no/such/name]\n");
      const lines = readFileSync(spec, "utf8").split("\n");
      const brokenLine = lines.findIndex((l) => l.startsWith("broken:"));
      const hoverLine = lines.findIndex((l) => l.includes("$[path/mirror/target/control]"));
      const hoverCol = lines[hoverLine].indexOf("$[path/mirror/target/control]") + 3;
      const defLine = lines.findIndex((l) => l.includes("$[packages/stage3]"));
      const defCol = lines[defLine].indexOf("$[packages/stage3]") + 3;
      const outside = join(root, "outside.conf");
      writeFileSync(outside, "# not metro\na = b\n");
      const second = join(root, "examples", "metro.conf");
      const script = join(root, "check.lua");
      const outFile = join(root, "out.json");
      writeFileSync(script, LUA);
      const serverCommand = `lua vim.g.metro_language_server = { vim.env.METRO_NODE, vim.env.METRO_SERVER, "--stdio" }`;
      const args = ["--headless", "-u", "NONE", "-i", "NONE", "-n", "--cmd", "filetype on", "--cmd", serverCommand, "--cmd", `luafile ${RECIPE}`, "-c", `luafile ${script}`];
      const r = spawnSync("nvim", args, {
        cwd: tmpdir(),
        encoding: "utf8",
        timeout: 60000,
        env: {
          ...process.env,
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
      assert.ok(existsSync(outFile), `nvim wrote nothing: ${r.stderr} ${r.stdout}`);
      const out = JSON.parse(readFileSync(outFile, "utf8"));
      assert.notEqual(out.outside_filetype, "metro", "a .conf outside a tree is not claimed");
      assert.equal(out.filetype, "metro");
      assert.equal(out.second_filetype, "metro");
      assert.equal(out.attached, true);
      assert.equal(out.root_dir, join(root, "examples"));
      assert.deepEqual(out.second_clients, out.first_clients, "one client per tree");
      assert.equal(out.waited, true, JSON.stringify(out.diagnostics));
      const broken = out.diagnostics.filter((d: { lnum: number }) => d.lnum === brokenLine);
      assert.equal(broken.length, 1, JSON.stringify(out.diagnostics));
      assert.equal(broken[0].severity, 2, JSON.stringify(broken));
      assert.match(broken[0].message, /"no\/such\/name" is not defined \(unused by the stage3 run; metro never expands it\) \(in (all \d+ contexts|stage3)/);
      const hover = out.hover.contents.value as string;
      assert.match(hover, /path\/mirror\/target\/control/);
      assert.match(hover, /derived from the tree/);
      const defs = out.definition as { uri: string }[];
      assert.ok(defs.length >= 1 && defs.every((d) => d.uri.startsWith("file://" + join(root, "examples"))), JSON.stringify(defs));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
