// A language server driven over a raw JSON-RPC connection (for tests of what
// comes before a normal session: requests before initialize, a malformed
// initialize).

import * as assert from "node:assert/strict";
import type { MessageConnection } from "vscode-jsonrpc/node";
import { uriOf } from "../../server/testing/stdio-client";

/** Initializes the server for `root` (one Metro file), checks it indexed that file, and asks it to shut down and exit. */
export async function initializeAndShutDown(connection: MessageConnection, root: string, processId: number | null): Promise<void> {
  const init = await connection.sendRequest<{ capabilities: unknown }>("initialize", { processId, rootUri: uriOf(root), capabilities: {} });
  assert.ok(init.capabilities);
  void connection.sendNotification("initialized", {});
  const settled = await connection.sendRequest<{ trees: { files: number }[] }>("metro/settled", null);
  assert.equal(settled.trees[0].files, 1);
  await connection.sendRequest("shutdown", null);
  void connection.sendNotification("exit", null);
}
