-- Metro files in Neovim 0.7 and later: the "metro" filetype for files inside
-- a Metro tree only (a folder holding metro.conf or etc/master.conf), and
-- metro-language-server started per buffer, one client per tree.
--
-- Install: copy this file to ~/.config/nvim/plugin/metro.lua (or `dofile` it
-- from init.lua). To run another server command, set before it loads:
--   vim.g.metro_language_server = { "node", "/path/to/metro-language-server.js", "--stdio" }
--
-- On 0.9 and later the filetype is part of detection (vim.filetype.add: a
-- Metro file gets one FileType event, and vim.filetype.match says "metro")
-- and vim.lsp.start reuses the tree's client. On 0.7 and 0.8 it uses only
-- what 0.7 has (no vim.fs, no vim.lsp.start; vim.filetype.add is ignored
-- there without g:do_filetype_lua): a BufRead autocommand sets the filetype
-- after detection, and one client per tree is kept here.

local uv = vim.uv or vim.loop

local function exists(path)
  return uv.fs_stat(path) ~= nil
end

local function parent(dir)
  local up = dir:match("^(.*)/[^/]+$")
  if up == "" then return "/" end
  return up
end

-- The nearest folder at or above `file`'s folder that is a Metro tree.
local function tree_root(file)
  local dir = parent(file)
  while dir do
    if exists(dir .. "/metro.conf") or exists(dir .. "/etc/master.conf") then return dir end
    if dir == "/" then return nil end
    dir = parent(dir)
  end
end

local function split(path)
  local parts = {}
  for p in path:gmatch("[^/]+") do table.insert(parts, p) end
  return parts
end

local function index_of(list, value)
  for i, v in ipairs(list) do
    if v == value then return i end
  end
end

-- Whether a file inside a tree is a Metro file by its name, as the server
-- decides: *.conf, *.spec, etc/multi-targets/*, files directly in
-- etc/builds/, targets/**/strategy/**; never under fsroot/ or a dot folder.
local function is_metro_file(root, file)
  local rel = split(file:sub(#root + 2))
  for _, p in ipairs(rel) do
    if p == "fsroot" or p:sub(1, 1) == "." then return false end
  end
  local name = rel[#rel]
  if name:match("%.conf$") or name:match("%.spec$") then return true end
  if name:find(".", 1, true) then return false end
  local e = index_of(rel, "etc")
  if e and rel[e + 1] == "multi-targets" then return true end
  if e and rel[e + 1] == "builds" and #rel == e + 2 then return true end
  local t = index_of(rel, "targets")
  if t then
    for i = t + 1, #rel - 1 do
      if rel[i] == "strategy" then return true end
    end
  end
  return false
end

local group = vim.api.nvim_create_augroup("metro", { clear = true })
local modern = vim.fn.has("nvim-0.9") == 1

-- "metro" for a Metro file (and for a .metro file anywhere), else nil.
local function metro_filetype(file)
  if file == "" or file:sub(1, 1) ~= "/" then return nil end
  if file:match("/%.metro$") then return "metro" end
  local root = tree_root(file)
  if root and is_metro_file(root, file) then return "metro" end
  return nil
end

if modern then
  -- Before every built-in pattern and extension (a name Neovim knows
  -- exactly, such as resolv.conf, still wins); nil lets detection go on.
  vim.filetype.add({
    pattern = {
      [".*"] = { function(path) return metro_filetype(vim.fs.normalize(path)) end, { priority = math.huge } },
    },
  })
else
  vim.api.nvim_create_autocmd({ "BufRead", "BufNewFile" }, {
    group = group,
    pattern = "*",
    callback = function(args)
      if metro_filetype(vim.api.nvim_buf_get_name(args.buf)) then vim.bo[args.buf].filetype = "metro" end
    end,
  })
end

local clients = {} -- tree root -> client id (Neovim 0.7)

local function server_command()
  return vim.g.metro_language_server or { "metro-language-server", "--stdio" }
end

vim.api.nvim_create_autocmd("FileType", {
  group = group,
  pattern = "metro",
  callback = function(args)
    local file = vim.api.nvim_buf_get_name(args.buf)
    local root = tree_root(file) or parent(file)
    local config = { name = "metro", cmd = server_command(), root_dir = root }
    if modern then
      vim.lsp.start(config, { bufnr = args.buf })
      return
    end
    local id = clients[root]
    if not id or vim.lsp.client_is_stopped(id) then
      id = vim.lsp.start_client(config)
      clients[root] = id
    end
    if id then vim.lsp.buf_attach_client(args.buf, id) end
  end,
})
