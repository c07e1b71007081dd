// The VS Code client's own logic that runs without VS Code.

import * as assert from "node:assert/strict";
import { shortMessage } from "../client-vscode/src/messages";

describe("VS Code client: notification text", () => {
  it("keeps the first sentence, cut at a word within 90 characters", () => {
    assert.equal(shortMessage("Cannot leave [section path] (metro.conf): the new name must start with `path/`."), "Cannot leave [section path] (metro.conf): the new name must start with `path/`.");
    assert.equal(shortMessage("First sentence. Second one with details."), "First sentence.");
    assert.equal(shortMessage("line one\n    at stack (file.js:1:2)"), "line one");
    const long = shortMessage("word ".repeat(40) + "end");
    assert.ok(long.length <= 90 && long.endsWith("…") && !long.includes("  "), long);
    assert.ok(!/\s…$/.test(long));
  });
});
