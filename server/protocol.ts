// The messages between metro-language-server and its clients beyond LSP:
// one typed definition of each, imported by the server, the VS Code client
// and the tests (as Taplo's lsp_ext). Plain data: no runtime dependency, so
// the client bundle stays free of server code.

export interface TreeParams {
  /** The tree's root folder. */
  tree?: string;
  /** A document inside the tree. */
  uri?: string;
}

export interface ContextInfo {
  name: string;
  config: string;
  args: Record<string, string>;
  /** Why the context stops before any key is expanded, or null. */
  fatal: string | null;
  evaluated: boolean;
}

export interface TreeContexts {
  root: string;
  source: "setting" | "file" | "derived";
  active: string | null;
  contexts: ContextInfo[];
}

export interface ContextCandidates {
  root: string;
  configs: string[];
  targets: string[];
  builds: string[];
  arches: { arch: string; subarches: string[] }[];
  /** From the mirror's layout, when the mirror exists: build -> arch -> subarches. */
  mirror: Record<string, Record<string, string[]>>;
}

export interface ExpandedValueParams extends TreeParams {
  name?: string;
  position?: { line: number; character: number };
}

export interface ExpandedValue {
  name: string;
  text: string;
  context: string | null;
}

export interface Status {
  root: string;
  active: string | null;
  source: string;
  contexts: number;
  busy: boolean;
}

export interface SettledTree {
  root: string;
  files: number;
  contexts: number;
  scanMs: number;
  /** Context evaluations run since the tree was opened (a burst of edits costs one per context that read the file). */
  evaluations: number;
  /** Calls to the file system made to learn what is at a path (lstat, stat, realpath) since the tree was opened: an edit of a document makes none. */
  diskLookups: number;
}

/** A request: its method and, as phantom types, its parameters and result. */
export interface Request<P, R> {
  method: string;
  /** Never set: carries the types. */
  readonly types?: { params: P; result: R };
}
export interface Notification<P> {
  method: string;
  readonly types?: { params: P };
}
const request = <P, R>(method: string): Request<P, R> => ({ method });
const notification = <P>(method: string): Notification<P> => ({ method });

export const ContextsRequest = request<TreeParams | undefined, { trees: TreeContexts[] }>("metro/contexts");
export const ContextCandidatesRequest = request<TreeParams | undefined, ContextCandidates | null>("metro/contextCandidates");
export const ExpandedValueRequest = request<ExpandedValueParams, ExpandedValue | null>("metro/expandedValue");
/** Resolves when every tree's contexts are evaluated (tests and benchmarks wait on it). */
export const SettledRequest = request<null | undefined, { trees: SettledTree[] }>("metro/settled");
/** Memory of the server process; with `gc`, after a full collection. */
export const MemoryRequest = request<{ gc?: boolean } | undefined, NodeJS.MemoryUsage>("metro/memory");
export const StatusNotification = notification<Status>("metro/status");

export interface GraphParams extends TreeParams {
  /** Draw who uses this element and what it uses, instead of the collect graph. */
  key?: string;
  /** With `uri` and no `key`: the element under this position is the key. */
  position?: { line: number; character: number };
}
export interface GraphResult {
  /** The active context's name. */
  context: string;
  /** The picture: every node with a file carries `data-file` (and `data-line`) for the client to open. */
  svg: string;
}
/** The collect graph (or a key's uses) of the active context of a tree, as SVG (`metro-engine graph`). */
export const GraphRequest = request<GraphParams, GraphResult | null>("metro/graph");

/** Commands the server executes (workspace/executeCommand), with their one argument. */
export const ServerCommands = {
  setActiveContext: "metro.server.setActiveContext",
  writeContextsFile: "metro.server.writeContextsFile",
} as const;
export interface SetActiveContextArgument extends TreeParams {
  name: string;
}
export type SetActiveContextResult = { ok: false } | { ok: true; active: string };
export type WriteContextsFileResult = { ok: boolean; file?: string } | null;

/** Client-side commands the server's hovers and lenses link to. */
export const ClientCommands = {
  showExpandedValue: "metro.showExpandedValue",
} as const;
