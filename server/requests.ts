// What every request about a document starts from: the session, the tree and
// file under its URI, and the request's cancellation token. `server.ts`
// resolves them once (as Langium's request helpers do) and hands them in.

import type * as lsp from "vscode-languageserver";
import type { FileIndex } from "../analysis/workspace-index";
import type { MetroTree, Session } from "./session";

export interface DocumentRequest {
  session: Session;
  tree: MetroTree;
  file: FileIndex;
  /** The document's path on disk. */
  path: string;
  /** Its URI as the client sent it. */
  uri: string;
  token: lsp.CancellationToken;
  /** Writes a line to the client's log (what an answer left out when the protocol has no room to say it). */
  log(message: string): void;
}
