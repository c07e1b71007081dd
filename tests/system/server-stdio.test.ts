// The bundled executable (dist/metro-language-server.js) over real stdio:
// the same server the fast suite runs in process, started as editors start it.

import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { StdioClient } from "../../server/testing/stdio-client";
import { PROJECT } from "../support/shared";

const SERVER = join(PROJECT, "dist", "metro-language-server.js");
const EXAMPLES = join(PROJECT, "examples");

describe("language server executable over stdio", function () {
  this.timeout(60_000);
  before(function () {
    if (!existsSync(SERVER)) throw new Error(`${SERVER} is missing (run npm run build)`);
  });

  it("answers --version and --help without starting", () => {
    const v = spawnSync(process.execPath, [SERVER, "--version"], { encoding: "utf8" });
    assert.equal(v.status, 0);
    assert.match(v.stdout, /^metro-language-server \d+\.\d+\.\d+\n$/);
    assert.match(spawnSync(process.execPath, [SERVER, "--help"], { encoding: "utf8" }).stdout, /--stdio/);
  });

  it("indexes the example tree, evaluates its contexts and answers hover", async () => {
    const client = await StdioClient.start({ serverPath: SERVER, root: EXAMPLES });
    try {
      const settled = await client.settled();
      assert.equal(settled.trees.length, 1);
      assert.ok(settled.trees[0].contexts > 0);
      const conf = join(EXAMPLES, "metro.conf");
      client.open(conf);
      const lines = readFileSync(conf, "utf8").split("\n");
      const line = lines.findIndex((l) => /^[\w/]+:/.test(l));
      assert.ok(line >= 0);
      const h = await client.hover(conf, line, 0);
      assert.ok(h && h.contents.value.length > 0, "hover on a definition");
      assert.ok(client.alive());
    } finally {
      await client.stop();
    }
  });
});
