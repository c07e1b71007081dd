// A real editor against the server: Debian's Neovim (0.7+) in headless mode,
// with its built-in LSP client and no workspace folder (root_dir unset, as
// many Neovim and Helix set-ups do), opens a file of the examples tree and
// checks diagnostics, hover and definition. Skips when `nvim` is absent.

import * as assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { PROJECT } from "../support/shared";

const SERVER = join(PROJECT, "dist", "metro-language-server.js");
const EXAMPLES = join(PROJECT, "examples");

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
vim.cmd("edit " .. vim.fn.fnameescape(file))
local bufnr = vim.api.nvim_get_current_buf()
local id = vim.lsp.start_client({
  name = "metro",
  cmd = { vim.env.METRO_NODE, vim.env.METRO_SERVER, "--stdio" },
})
vim.lsp.buf_attach_client(bufnr, id)
local client = vim.lsp.get_client_by_id(id)
out.attached = client ~= nil
local function has_contextual()
  local layer1, engine = false, false
  for _, d in ipairs(vim.diagnostic.get(bufnr)) do
    if string.find(d.message, "no file in this tree defines", 1, true) then layer1 = true end
    if string.find(d.message, "is not defined (in ", 1, true) then engine = true end
  end
  return layer1 and engine
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
vim.fn.writefile({ vim.fn.json_encode(out) }, vim.env.METRO_OUT)
client.stop()
vim.wait(500, function() return false end, 50)
vim.cmd("qa!")
`;

describe("language server in Neovim (headless, built-in LSP client)", function () {
  it("shows diagnostics, hover and definition on a file of the examples tree, with no workspace folder", function () {
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
      // A reference no file defines: a layer-1 warning and an engine error.
      writeFileSync(spec, text + "\n[section bench]\n\nbroken: $[no/such/name]\n");
      const lines = readFileSync(spec, "utf8").split("\n");
      const brokenLine = lines.findIndex((l) => l.startsWith("broken:"));
      const hoverLine = lines.findIndex((l) => l.includes("$[path/mirror/target/control]"));
      const hoverCol = lines[hoverLine].indexOf("$[path/mirror/target/control]") + 3;
      const defLine = lines.findIndex((l) => l.includes("$[packages/stage3]"));
      const defCol = lines[defLine].indexOf("$[packages/stage3]") + 3;
      const script = join(root, "check.lua");
      const outFile = join(root, "out.json");
      writeFileSync(script, LUA);
      const r = spawnSync("nvim", ["--headless", "-u", "NONE", "-i", "NONE", "-n", "-c", `luafile ${script}`], {
        cwd: tmpdir(),
        encoding: "utf8",
        timeout: 60000,
        env: {
          ...process.env,
          METRO_FILE: spec,
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
      assert.equal(out.attached, true);
      assert.equal(out.waited, true, JSON.stringify(out.diagnostics));
      const broken = out.diagnostics.filter((d: { lnum: number }) => d.lnum === brokenLine);
      assert.ok(broken.some((d: { message: string; severity: number }) => d.severity === 2 && d.message.includes("no/such/name")), JSON.stringify(out.diagnostics));
      assert.ok(broken.some((d: { message: string; severity: number }) => d.severity === 1 && /\(in (all \d+ contexts|stage3)/.test(d.message)), JSON.stringify(out.diagnostics));
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
