// A real editor against the server: Neovim in headless mode loads the shipped
// recipe (editors/neovim/metro.lua, the file the README shows) with filetype
// detection on, opens files of the examples tree and checks the filetype
// (claimed only inside a tree), one client per tree, diagnostics, hover and
// definition (tests/support/editors.ts). Twice: Debian 12's Neovim 0.7 (the
// recipe's 0.7 path: a BufRead autocommand, vim.lsp.start_client) and Debian
// 13's Neovim 0.10 (its 0.9+ path: vim.filetype.add, vim.lsp.start), prepared
// by scripts/trixie-editors.mjs. Each skips with the reason when its Neovim
// is absent.

import { existsSync } from "node:fs";
import { join } from "node:path";
import { checkNeovimRecipe, EXAMPLES, nvimVersion, SERVER, trixieEditors } from "../support/editors";

describe("system: Neovim with the shipped recipe (headless, built-in LSP client)", function () {
  this.timeout(180_000);

  before(function () {
    if (!existsSync(SERVER) || !existsSync(EXAMPLES)) {
      console.log("      (skipped: dist/metro-language-server.js is not built)");
      this.skip();
    }
  });

  it("Neovim 0.7 (Debian 12): claims Metro files only inside a tree, one client per tree; diagnostics, hover and definition", function () {
    const v = nvimVersion("nvim");
    if (!v || (v[0] === 0 && v[1] < 7)) {
      console.log("      (skipped: nvim 0.7 or later is not installed)");
      this.skip();
    }
    checkNeovimRecipe("nvim");
  });

  it("Neovim 0.10 (Debian 13): the same through the recipe's 0.9+ path", function () {
    const trixie = trixieEditors();
    if ("reason" in trixie) {
      console.log(`      (skipped: Debian 13's Neovim is not available: ${trixie.reason})`);
      this.skip();
    }
    const nvim = join(trixie.dir, "bin", "nvim");
    const v = nvimVersion(nvim);
    if (!v || (v[0] === 0 && v[1] < 9)) throw new Error(`${nvim} is not Neovim 0.9 or later: ${JSON.stringify(v)}`);
    const seen = checkNeovimRecipe(nvim);
    if (!/^0\.(9|[1-9]\d)\./.test(seen)) throw new Error(`the script ran in Neovim ${seen}`);
  });
});
