// metro-language-server: `metro-language-server --stdio`, the executable.

import * as lsp from "vscode-languageserver/node";
import { SERVER_VERSION, startServer } from "./server";

if (process.argv.includes("--version")) {
  process.stdout.write(`metro-language-server ${SERVER_VERSION}\n`);
  process.exit(0);
}
if (process.argv.includes("--help")) {
  process.stdout.write("usage: metro-language-server --stdio\n");
  process.exit(0);
}

const connection = lsp.createConnection(lsp.ProposedFeatures.all);
// A failed notification or refresh must never end the session.
process.on("unhandledRejection", (e) => connection.console.error(`metro-language-server: ${(e as Error)?.stack ?? e}`));
startServer(connection);
