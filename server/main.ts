// metro-language-server: `metro-language-server --stdio`, the executable.

import { format } from "node:util";
import * as lsp from "vscode-languageserver/node";
import { SERVER_VERSION, serverConnectionOptions, startServer } from "./server";
import { FramingGuard } from "./stdio-guard";
import { EditBurst } from "./edit-burst";
import { keepYoungGenerationSmall } from "../engine/heap";

if (process.argv.includes("--version")) {
  process.stdout.write(`metro-language-server ${SERVER_VERSION}\n`);
  process.exit(0);
}
if (process.argv.includes("--help")) {
  process.stdout.write("usage: metro-language-server --stdio\n");
  process.exit(0);
}

// The server lives long and allocates in bursts (a round of contexts after each pause in typing): with
// its young generation kept at its first size it holds about 80 MB less for the same latency (README,
// "Figures": typing memory).
keepYoungGenerationSmall();

/** Ends the server when the client's bytes break the protocol's framing (see stdio-guard.ts). */
function framingViolation(message: string): never {
  process.stderr.write(`metro-language-server: stopping: ${message}\n`);
  process.exit(1);
}

// Over stdio (the documented transport) the client's bytes pass the framing guard first;
// other transports the library offers (--node-ipc, --socket, --pipe) are left as they are.
const otherTransport = process.argv.some((a) => a === "--node-ipc" || a.startsWith("--socket") || a.startsWith("--pipe"));
// Whether edits are still coming in (evaluation waits for the end of a burst): told by the connection.
const burst = new EditBurst();
const connection = otherTransport
  ? lsp.createConnection(lsp.ProposedFeatures.all, serverConnectionOptions(burst))
  : lsp.createConnection(lsp.ProposedFeatures.all, process.stdin.pipe(new FramingGuard(framingViolation)), process.stdout, serverConnectionOptions(burst));
if (!otherTransport) {
  // stdout carries the protocol: stray console output goes to stderr.
  const toStderr = (...args: unknown[]) => void process.stderr.write(format(...args) + "\n");
  console.log = console.info = console.debug = console.warn = console.error = toStderr;
}
// A failed notification or refresh must never end the session.
process.on("unhandledRejection", (e) => connection.console.error(`metro-language-server: ${(e as Error)?.stack ?? e}`));
startServer(connection, burst);
