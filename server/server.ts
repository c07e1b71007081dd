// The language server: wires the protocol to the feature modules (one file
// per feature) and keeps the session up to date with open documents,
// watched files and settings. Nothing from the workspace is ever executed:
// contexts are evaluated with allowExec false. `main.ts` starts it over
// stdio; tests start it in process over a pair of streams.

import { createHash } from "node:crypto";
import { lstatSync } from "node:fs";
import { join, relative, isAbsolute } from "node:path";
import * as v8 from "node:v8";
import * as vm from "node:vm";
import * as lsp from "vscode-languageserver/node";
import { CONTEXTS_FILE, contextCandidates, type ContextState } from "../analysis/contexts";
import { MAX_TREES } from "../analysis/project";
import { MAX_TREE_FILES } from "../analysis/trees";
import { formatBytes, writeRegularFile } from "../engine/files";
import { MAX_MESSAGE_BYTES } from "./stdio-guard";
import { codeActions, lintFixes } from "./code-actions";
import { codeLenses } from "./code-lens";
import { completion } from "./completion";
import { pathToUri, uriToPath } from "./convert";
import { definition } from "./definition";
import { SOURCE, capped, fileDiagnostics, problemList, syntaxDiagnostic, unreadFileDiagnostics } from "./diagnostics";
import { documentLinks } from "./document-links";
import { documentSymbols } from "./document-symbols";
import { foldingRanges } from "./folding";
import { DOCUMENT_BYTES, MAX_FOLDING_RANGES, MAX_OPEN_BYTES, MAX_UNFOLLOWED_NAMED, documentWeight, textWeight } from "./limits";
import { formatDocument, formatRange } from "./formatting";
import { graphOf } from "./graph";
import { elementDocumentation, expandedValueText, hover } from "./hover";
import { preferredFormat } from "./markup";
import pkg from "../package.json";
import { inlayHints } from "./inlay-hints";
import { targetAt, nameOf } from "./locate";
import {
  ContextCandidatesRequest,
  ContextsRequest,
  ExpandedValueRequest,
  GraphRequest,
  MemoryRequest,
  ServerCommands,
  SettledRequest,
  StatusNotification,
  type Request,
} from "./protocol";
import { references } from "./references";
import { prepareRename, rename } from "./rename";
import type { DocumentRequest } from "./requests";
import { anything, clampIn, documentParams, invalidParams, linesOf, notificationProblem, Params, type Check } from "./params";
import { quote, quotePath } from "../language";
import { legend, semanticTokens } from "./semantic-tokens";
import { Session, type MetroTree } from "./session";
import { EditBurst } from "./edit-burst";
import { workspaceSymbols } from "./workspace-symbols";

export const SERVER_VERSION: string = pkg.version;

/** The method a request that came before `initialize` is turned into (see serverConnectionOptions). */
const NOT_INITIALIZED = "$/metro/notInitialized";
/** The method an `initialize` with malformed parameters is turned into: it answers invalid params. */
const INVALID_INITIALIZE = "$/metro/invalidInitialize";

/** Whether `path` is a regular file itself (not a link, a FIFO or a folder). */
function existingRegularFile(path: string): boolean {
  try {
    return lstatSync(path).isFile();
  } catch {
    return false;
  }
}

/** The method a request the client may not send is turned into (a made-up method above, a second initialize). */
const REFUSED = "$/metro/refused";

/** Why the parameters of `initialize` are malformed, or null. */
function initializeRefusal(params: unknown): string | null {
  try {
    Params.initialize(params, "");
    return null;
  } catch (e) {
    if (e instanceof lsp.ResponseError) return e.message;
    throw e;
  }
}

/**
 * Options for the server's connection: a request that comes before
 * `initialize` is answered with error -32002 (ServerNotInitialized) and a
 * notification dropped (except `exit`), as the protocol says, instead of
 * waiting for an initialization that may never come. Every message taken
 * from the queue tells `burst` that the connection is not idle yet (pass
 * the same one to startServer).
 */
export function serverConnectionOptions(burst?: EditBurst): lsp.ConnectionOptions {
  let initializeReceived = false;
  let shutdownReceived = false;
  return {
    messageStrategy: {
      handleMessage(message, next) {
        burst?.message("method" in message ? (message as { method: string }).method : undefined);
        if (!("method" in message)) return next(message);
        const m = message as { id?: number | string | null; method: string };
        // The methods this strategy makes up are not the client's to send; nor is a second initialize.
        if (m.method === NOT_INITIALIZED || m.method === INVALID_INITIALIZE || (initializeReceived && m.method === "initialize")) {
          if (m.id !== undefined && m.id !== null) next({ jsonrpc: "2.0", id: m.id, method: REFUSED, params: { method: m.method } } as lsp.RequestMessage);
          return;
        }
        // After shutdown only exit is served (LSP 3.17): background work has stopped, an answer could wait forever.
        if (shutdownReceived && m.method !== "exit") {
          if (m.id !== undefined && m.id !== null) next({ jsonrpc: "2.0", id: m.id, method: REFUSED, params: { method: m.method, shutdown: true } } as lsp.RequestMessage);
          return;
        }
        if (m.method === "shutdown" && initializeReceived) shutdownReceived = true;
        if (initializeReceived) return next(message);
        if (m.method === "initialize") {
          // Malformed parameters would fail inside the library before the server sees them.
          const refusal = initializeRefusal((message as { params?: unknown }).params);
          if (refusal !== null) {
            if (m.id !== undefined && m.id !== null) next({ jsonrpc: "2.0", id: m.id, method: INVALID_INITIALIZE, params: { message: refusal } } as lsp.RequestMessage);
            return;
          }
          initializeReceived = true;
          return next(message);
        }
        if (m.id !== undefined && m.id !== null) next({ jsonrpc: "2.0", id: m.id, method: NOT_INITIALIZED, params: { method: m.method } } as lsp.RequestMessage);
        else if (m.method === "exit") next(message);
      },
    },
  };
}

/** An open document, as an edit hands it over. */
type EditedDocument = { uri: string; getText(): string; version: number };

/** Serves one client on `connection` (made with serverConnectionOptions(burst)) until it exits. */
export function startServer(connection: lsp.Connection, burst: EditBurst = new EditBurst()): Session {
  /** A custom request: its parameters checked by `check` (a malformed one is "invalid params"), then handled. */
  const onRequest = <P, R, Q>(type: Request<P, R>, check: Check<Q>, handler: (params: Q) => R | Promise<R>) =>
    connection.onRequest(type.method, (params: unknown) => handler(check(params, "")) as lsp.HandlerResult<R, void>);
  const session = new Session(burst);
  connection.onRequest(INVALID_INITIALIZE, (p: { message: string }) => invalidParams(p.message));
  connection.onRequest(REFUSED, (p: { method: string; shutdown?: boolean }) => {
    if (p.shutdown) throw new lsp.ResponseError(lsp.ErrorCodes.InvalidRequest, `the server is shut down: it answers no more requests (${quote(p.method, '"')}); send "exit"`);
    if (p.method === "initialize") throw new lsp.ResponseError(lsp.ErrorCodes.InvalidRequest, `the server is already initialized: "initialize" may be sent once`);
    throw new lsp.ResponseError(lsp.ErrorCodes.MethodNotFound, `unknown method ${quote(p.method, '"')}`);
  });
  connection.onRequest(NOT_INITIALIZED, (p: { method: string }) => {
    throw new lsp.ResponseError(lsp.ErrorCodes.ServerNotInitialized, `the server is not initialized: ${quote(p.method, '"')} came before "initialize"`);
  });
  let hasConfiguration = false;
  let hasConfigurationRegistration = false;
  let hasWatchers = false;
  /** Folding ranges of one answer: ours, or the client's smaller rangeLimit. */
  let foldingLimit = MAX_FOLDING_RANGES;
  let initialFolders: string[] = [];
  /** Contexts given in initializationOptions (for clients without workspace/configuration). */
  let initialContexts: unknown = undefined;
  // Nothing is indexed before `initialized` has read the settings and the workspace folders.
  let markReady: () => void = () => {};
  const ready = new Promise<void>((r) => (markReady = r));

  // Diagnostics are published in batches: many republish requests in one turn become one pass.
  // A file of a tree whose contexts are being evaluated waits for the end of that round (which
  // republishes what it touched), so a file's diagnostics are published once per round and
  // never in a partial state.
  const pendingPublish = new Set<string>();
  let publishScheduled = false;
  const publishedNonEmpty = new Set<string>();
  const lastPublished = new Map<string, string>();

  /** Files to publish even while their tree evaluates: the active context is fresh after an edit. */
  const publishEarly = new Set<string>();

  function schedulePublish(files: Iterable<string>, early = false): void {
    for (const f of files) {
      pendingPublish.add(f);
      if (early) publishEarly.add(f);
    }
    if (publishScheduled) return;
    publishScheduled = true;
    setImmediate(flushPublish);
  }

  /** Resolved when no publication is scheduled (SettledRequest). */
  let publishWaiters: (() => void)[] = [];
  const published = () => (publishScheduled ? new Promise<void>((r) => publishWaiters.push(r)) : Promise.resolve());

  function flushPublish(): void {
    // While a burst of edits comes in, nothing is published: the next edit would make it out of date.
    if (session.burst.arriving) return session.burst.whenQuiet(flushPublish);
    publishScheduled = false;
    const waiters = publishWaiters;
    publishWaiters = [];
    const files = [...pendingPublish];
    pendingPublish.clear();
    for (const f of files) {
      // While a tree evaluates, its files wait for the end of the round (no partial states), except
      // the edited ones once the active context is fresh: typing gets its answer at once. An early
      // answer whose active context is out of date again (a later edit came) waits as well.
      const contexts = session.treeFor(f, false)?.contexts;
      if (contexts?.busy && !(publishEarly.has(f) && contexts.activeFresh)) pendingPublish.add(f);
      else publish(f);
      publishEarly.delete(f);
    }
    for (const r of waiters) r();
  }

  /**
   * Publishes the diagnostics of `path` to every URI the client opened it with (each with its
   * own version), or to the file's URI when none is open. A document whose text the server
   * does not follow (another document naming the same file was opened first and holds
   * another text) gets one diagnostic saying so instead of diagnostics of the other text.
   */
  function publish(path: string): void {
    const open = session.urisAt(path);
    const fileUri = pathToUri(path);
    // Diagnostics published under the file's own URI before the client opened it with another
    // spelling are cleared first (a client that reads both as one document must not keep them).
    if (open.length && !open.includes(fileUri) && publishedNonEmpty.has(fileUri) && !unfollowed.has(fileUri)) publishTo(fileUri, []);
    for (const uri of open.length ? open : [fileUri]) {
      if (unfollowed.has(uri)) continue; // its one diagnostic says why the server does not follow it
      const shadow = session.shadowedBy(uri);
      publishTo(uri, shadow ? [shadowedDiagnostic(shadow)] : diagnosticsOf(path, uri));
    }
  }

  function diagnosticsOf(path: string, uri: string): lsp.Diagnostic[] {
    const tree = session.treeFor(path, false);
    const file = tree?.fileIndex(path);
    let diagnostics: lsp.Diagnostic[] | undefined;
    if (tree && file) diagnostics = fileDiagnostics(tree, file, session);
    else if (tree && (diagnostics = unreadFileDiagnostics(tree, path))) {
      /* a skipped file or an unusable metro-contexts.json: one diagnostic */
    } else if (tree && path === tree.contexts.contextsFile) {
      diagnostics = []; // JSON, not a Metro file: its problems are the ones above
    } else {
      const ast = session.looseFile(uri);
      diagnostics = ast ? capped(ast.diagnostics.map(syntaxDiagnostic)) : [];
    }
    return diagnostics;
  }

  function publishTo(uri: string, diagnostics: lsp.Diagnostic[]): void {
    const doc = session.documents.get(uri);
    if (diagnostics.length === 0 && !publishedNonEmpty.has(uri) && !doc) return;
    if (diagnostics.length) publishedNonEmpty.add(uri);
    else publishedNonEmpty.delete(uri);
    const version = doc?.version;
    // The same list for the same version again (the round ended as the early answer said) is not sent
    // twice. A digest is kept, not the list: thousands of documents may each have a thousand diagnostics.
    const key = createHash("sha256").update(JSON.stringify([version, diagnostics])).digest("base64");
    if (lastPublished.get(uri) === key) return;
    lastPublished.set(uri, key);
    void connection.sendDiagnostics({ uri, version, diagnostics });
  }

  /** The one diagnostic of a document whose file another open document speaks for. */
  function shadowedDiagnostic(winner: string): lsp.Diagnostic {
    return {
      range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } },
      severity: lsp.DiagnosticSeverity.Information,
      code: "metro/open-twice",
      source: SOURCE,
      message: `this file is also open as ${quotePath(winner)}, opened first, with another text: the language server follows that document's text until it is closed`,
    };
  }

  session.on("findingsChanged", (files) => schedulePublish(files));
  session.on("activeFresh", (files) => schedulePublish(files, true));
  session.on("contextsChanged", (tree) => {
    sendStatus(tree);
    warnTruncated(tree);
  });
  const warnedTruncated = new Set<string>();
  /** Says once per tree that its walk stopped at the limit (files past it are not analysed). */
  function warnTruncated(tree: MetroTree): void {
    if (!tree.index.truncated || warnedTruncated.has(tree.root)) return;
    warnedTruncated.add(tree.root);
    void connection.sendNotification(lsp.ShowMessageNotification.type, {
      type: lsp.MessageType.Warning,
      message: `Metro: ${tree.root} holds more than ${MAX_TREE_FILES} files and folders; only the first ${MAX_TREE_FILES} (in name order, metro.conf and etc/ first) are analysed.`,
    });
  }

  function describeContext(c: ContextState) {
    return { name: c.name, config: c.config, args: c.args, fatal: c.evaluated?.fatal?.message ?? null, evaluated: !!c.evaluated };
  }

  function sendStatus(tree: MetroTree): void {
    const active = tree.contexts.active;
    void connection.sendNotification(StatusNotification.method, {
      root: tree.root,
      active: active?.name ?? null,
      source: tree.contexts.source,
      contexts: tree.contexts.contexts.length,
      busy: tree.contexts.busy,
    });
  }

  // Background evaluation ends with the session.
  connection.onShutdown(() => {
    for (const tree of session.trees.values()) tree.contexts.stop();
  });

  connection.onInitialize((params) => {
    const caps = params.capabilities;
    hasConfiguration = !!caps.workspace?.configuration;
    hasConfigurationRegistration = hasConfiguration && !!caps.workspace?.didChangeConfiguration?.dynamicRegistration;
    hasWatchers = !!caps.workspace?.didChangeWatchedFiles?.dynamicRegistration;
    session.hoverFormat = preferredFormat(caps.textDocument?.hover?.contentFormat);
    const rangeLimit = caps.textDocument?.foldingRange?.rangeLimit;
    if (typeof rangeLimit === "number" && Number.isInteger(rangeLimit) && rangeLimit >= 0) foldingLimit = Math.min(rangeLimit, MAX_FOLDING_RANGES);
    session.completionFormat = preferredFormat(caps.textDocument?.completion?.completionItem?.documentationFormat);
    const opts = (params.initializationOptions ?? {}) as { contexts?: unknown; metro?: { contexts?: unknown }; activeContexts?: unknown };
    if (opts.activeContexts && typeof opts.activeContexts === "object") {
      for (const [root, name] of Object.entries(opts.activeContexts)) if (typeof name === "string") session.preferredActive[root] = name;
    }
    const fromOptions = opts.contexts ?? opts.metro?.contexts;
    if (fromOptions !== undefined) session.contextSetting = initialContexts = fromOptions;
    if (params.workspaceFolders?.length) initialFolders = params.workspaceFolders.map((f) => uriToPath(f.uri));
    else if (params.rootUri) initialFolders = [uriToPath(params.rootUri)];
    else if (params.rootPath) initialFolders = [params.rootPath];
    return {
      capabilities: {
        textDocumentSync: { openClose: true, change: lsp.TextDocumentSyncKind.Incremental, save: { includeText: false } },
        definitionProvider: true,
        referencesProvider: true,
        renameProvider: { prepareProvider: true },
        hoverProvider: true,
        inlayHintProvider: true,
        codeActionProvider: { codeActionKinds: [lsp.CodeActionKind.QuickFix] },
        completionProvider: { triggerCharacters: ["[", ":", "/", "."], resolveProvider: true },
        documentSymbolProvider: true,
        workspaceSymbolProvider: true,
        foldingRangeProvider: true,
        documentFormattingProvider: true,
        documentRangeFormattingProvider: true,
        semanticTokensProvider: { legend, full: true },
        documentLinkProvider: { resolveProvider: false },
        codeLensProvider: { resolveProvider: false },
        executeCommandProvider: { commands: Object.values(ServerCommands) },
        workspace: { workspaceFolders: { supported: true, changeNotifications: true } },
      },
      serverInfo: { name: "metro-language-server", version: SERVER_VERSION },
    };
  });

  /**
   * The `metro.contexts` setting, pulled with workspace/configuration. A client
   * that knows the section is authoritative (an empty list hands over to
   * metro-contexts.json or derived contexts); a client that does not know it
   * keeps what initializationOptions gave.
   */
  async function pullConfiguration(): Promise<void> {
    if (!hasConfiguration) return;
    try {
      const cfg = (await connection.workspace.getConfiguration("metro")) as { contexts?: unknown } | null;
      const contexts = cfg?.contexts;
      if (Array.isArray(contexts)) configureContexts(contexts.length ? contexts : initialContexts);
      else if (contexts !== undefined && contexts !== null) warnSetting([`it must be a list of {"name", "config", "args"}, not ${typeof contexts === "object" ? "an object" : `a ${typeof contexts}`}: it is ignored`]);
    } catch {
      /* client without the section */
    }
  }

  /** Hands the `metro.contexts` setting to the trees, and says what is wrong with it (once per different list). */
  function configureContexts(setting: unknown): void {
    session.configureContexts(setting);
    warnSetting(settingProblems());
  }
  /** What is wrong with the setting, as the first tree read it (a relative config may exist in one tree and not another). */
  function settingProblems(): string[] {
    const first = session.trees.values().next().value as MetroTree | undefined;
    return first?.contexts.settingProblems ?? [];
  }
  let lastSettingWarning = "";
  function warnSetting(problems: string[]): void {
    const message = problems.length ? `Metro: the metro.contexts setting: ${problemList(problems)}.` : "";
    if (message === lastSettingWarning) return;
    lastSettingWarning = message;
    if (message) void connection.sendNotification(lsp.ShowMessageNotification.type, { type: lsp.MessageType.Warning, message });
  }

  let warnedTrees = false;
  /** Says once that a folder held more trees than the server opens. */
  function warnTreesNotOpened(): void {
    if (warnedTrees || session.treesNotOpened === 0) return;
    warnedTrees = true;
    void connection.sendNotification(lsp.ShowMessageNotification.type, { type: lsp.MessageType.Warning, message: `Metro: more than ${MAX_TREES} Metro trees were found; only the first ${MAX_TREES} are open.` });
  }

  connection.onInitialized(async () => {
    // Registrations are best effort: a client may refuse them (and must not bring the server down).
    if (hasConfigurationRegistration) connection.client.register(lsp.DidChangeConfigurationNotification.type, { section: "metro" }).catch(() => {});
    if (hasWatchers) {
      connection.client.register(lsp.DidChangeWatchedFilesNotification.type, { watchers: [{ globPattern: "**/*" }] }).catch(() => {});
    }
    try {
      await pullConfiguration();
      for (const f of initialFolders) session.addFolder(f);
      warnTreesNotOpened();
      warnSetting(settingProblems());
    } finally {
      markReady();
    }
    try {
      connection.workspace.onDidChangeWorkspaceFolders((e) => {
        for (const f of e.added) session.addFolder(uriToPath(f.uri));
        warnTreesNotOpened();
        for (const f of e.removed) {
          const root = uriToPath(f.uri);
          session.removeFolder(root);
        }
      });
    } catch {
      /* client without workspace folders */
    }
  });

  connection.onDidChangeConfiguration(async (change) => {
    if (hasConfiguration) await pullConfiguration();
    else {
      const s = (change.settings as { metro?: { contexts?: unknown } } | undefined)?.metro?.contexts;
      if (s !== undefined) configureContexts(s);
    }
  });

  session.documents.onDidOpen((e) => {
    session.trackOpen(e.document);
  });
  session.documents.onDidChangeContent((e) => {
    session.burst.edit();
    void ready.then(() => documentChanged(e.document));
  });

  // During a burst of edits an edited document waits for the end of the burst: each edit's work (parse,
  // index, the contexts that read the file) is done once, for the last text. Any other message (a hover
  // between two edits, a close) gets the held edits applied before it is handled.
  const heldEdits = new Map<string, EditedDocument>();
  session.burst.applyHeld = applyHeldEdits;
  function applyHeldEdits(): void {
    if (heldEdits.size === 0) return;
    const docs = [...heldEdits.values()];
    heldEdits.clear();
    for (const d of docs) {
      // Called from the connection's message strategy and from a timer: an exception is logged, never thrown there.
      try {
        documentChanged(d, true);
      } catch (e) {
        connection.console.error(`metro-language-server: ${(e as Error).stack ?? e}`);
      }
    }
  }

  function documentChanged(document: EditedDocument, now = false): void {
    if (session.documents.get(document.uri)?.version !== document.version) return; // a later change follows
    if (!now && session.burst.holding) {
      heldEdits.set(document.uri, document);
      return;
    }
    heldEdits.delete(document.uri);
    const path = uriToPath(document.uri);
    // A document whose file another open document speaks for changes nothing but its own diagnostics.
    if (!session.follows(document.uri)) return schedulePublish([path]);
    const tree = session.treeFor(path);
    if (tree) {
      const known = tree.fileIndex(path);
      // Opening a file whose text is the disk's changes nothing: do not re-evaluate contexts.
      if (known && known.ast.text === document.getText()) {
        schedulePublish([path]);
        return;
      }
      session.fileChanged(path);
    }
    schedulePublish([path]);
  }
  // A save wrote the document's text to disk (also for a client that watches no files).
  session.documents.onDidSave((e) => void ready.then(() => session.openFileChangedOnDisk(uriToPath(e.document.uri))));
  session.documents.onDidClose((e) => {
    // Forgotten at once: a document opened again at the same URI before `ready` is a new one.
    session.trackClose(e.document);
    void ready.then(() => documentClosed(e.document.uri));
  });
  function documentClosed(uri: string): void {
    const path = uriToPath(uri);
    const tree = session.treeFor(path, false);
    if (tree) {
      const known = tree.fileIndex(path);
      // The text is the disk's again, or that of another document naming the file; the disk
      // itself did not change (a change there came as a watcher event).
      tree.workspace.textChanged(path);
      const now = tree.workspace.getFile(path);
      if (!known || !now || now.ast.text !== known.ast.text) session.fileChanged(path, session.isOpen(path), false);
      schedulePublish([path]);
    }
    // The URI is no longer one the path's diagnostics go to (another URI of the file, or outside every tree): clear it.
    const targets = session.isOpen(path) ? session.urisAt(path) : [pathToUri(path)];
    if ((!tree || !targets.includes(uri)) && !unfollowed.has(uri) && !session.documents.get(uri)) forget(uri);
  }
  /** Clears the diagnostics of a URI no longer open, and forgets what was published there. */
  function forget(uri: string): void {
    publishTo(uri, []);
    lastPublished.delete(uri);
  }
  // The document notifications reach the documents only when well formed: a notification has no
  // answer, so a malformed one is dropped with a warning in the log that says what is wrong.
  const checked =
    <P>(method: string, check: Check<unknown>, on: (handler: (params: P) => void) => lsp.Disposable) =>
    (handler: (params: P) => void) =>
      on((params: P) => {
        const problem = notificationProblem(check, params);
        if (problem === null) return handler(params);
        connection.console.warn(`metro-language-server: ${method} ignored: ${problem}`);
      });

  // What the open documents may hold. A document is at most what one message carries
  // (MAX_MESSAGE_BYTES), and all of them together at most MAX_OPEN_BYTES of memory: their text and
  // the offset of each line the document keeps (LINE_BYTES), so that a document of empty lines
  // weighs what it costs. A document opened or grown past either is not followed (closed on the
  // server's side, its URI given one diagnostic saying why, a warning shown), else a client could
  // open or grow documents until the process runs out of memory. The others are served as before.
  const openWeights = new Map<string, number>();
  let openBytes = 0;
  /** Documents the server stopped following, by URI: why (their one diagnostic), until the client closes them. */
  const unfollowed = new Map<string, string>();
  let warnedOpenBytes = false;
  let unfollowedUnnamed = false;
  const setWeight = (uri: string, weight: number | undefined) => {
    openBytes += (weight ?? 0) - (openWeights.get(uri) ?? 0);
    if (weight === undefined) openWeights.delete(uri);
    else openWeights.set(uri, weight);
  };
  let closeDocument: ((params: lsp.DidCloseTextDocumentParams) => void) | undefined;
  function stopFollowing(uri: string, why: "one" | "all", total: number): void {
    if (session.documents.get(uri)) closeDocument?.({ textDocument: { uri } });
    setWeight(uri, undefined);
    const name = quotePath(uriToPath(uri), "");
    const reason =
      why === "one"
        ? `this document has grown past ${formatBytes(MAX_MESSAGE_BYTES)}, what one message carries`
        : `with it the open documents would hold ${formatBytes(total)} (their text and lines), more than the ${formatBytes(MAX_OPEN_BYTES)} the server follows together`;
    if (unfollowed.size >= MAX_UNFOLLOWED_NAMED) {
      // A client that opens documents without end is not answered with a diagnostic each (that would be memory without end too).
      if (!unfollowedUnnamed) {
        unfollowedUnnamed = true;
        connection.console.warn(`metro-language-server: ${MAX_UNFOLLOWED_NAMED} documents are not followed; the others opened past the limit are not named`);
      }
      return;
    }
    unfollowed.set(uri, reason);
    publishTo(uri, [
      { range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, severity: lsp.DiagnosticSeverity.Warning, code: "metro/document-not-followed", source: SOURCE, message: `${reason}: the language server does not follow it until it is closed and opened again` },
    ]);
    connection.console.warn(`metro-language-server: not following ${name}: ${reason}`);
    if (why === "one") {
      const message = `Metro: ${name} has grown past ${formatBytes(MAX_MESSAGE_BYTES)}: the language server stops following it until it is closed and opened again.`;
      void connection.sendNotification(lsp.ShowMessageNotification.type, { type: lsp.MessageType.Warning, message });
    } else if (!warnedOpenBytes) {
      warnedOpenBytes = true;
      const message = `Metro: the open documents hold more than ${formatBytes(MAX_OPEN_BYTES)} together: the language server does not follow ${name}, nor any other document opened or grown past that limit (each has a warning saying so) until it is closed and opened again; the others are served as before.`;
      void connection.sendNotification(lsp.ShowMessageNotification.type, { type: lsp.MessageType.Warning, message });
    }
  }
  const openDocument = (on: (handler: (params: lsp.DidOpenTextDocumentParams) => void) => lsp.Disposable) => (handler: (params: lsp.DidOpenTextDocumentParams) => void) =>
    on((params) => {
      const { uri, text } = params.textDocument;
      if (unfollowed.delete(uri)) lastPublished.delete(uri);
      const weight = textWeight(text);
      const total = openBytes - (openWeights.get(uri) ?? 0) + weight;
      if (total > MAX_OPEN_BYTES) return stopFollowing(uri, "all", total);
      handler(params);
      setWeight(uri, weight);
    });
  const changeDocument = (on: (handler: (params: lsp.DidChangeTextDocumentParams) => void) => lsp.Disposable) => (handler: (params: lsp.DidChangeTextDocumentParams) => void) =>
    on((params) => {
      const uri = params.textDocument.uri;
      const before = openWeights.get(uri);
      if (before === undefined || !session.documents.get(uri)) return handler(params);
      // Before the edit is applied (the document would make room for its lines): what it may weigh
      // at most, counting nothing it replaces but a whole text.
      let most = before;
      for (const c of params.contentChanges) most = ("range" in c && c.range ? most - DOCUMENT_BYTES : 0) + textWeight(c.text);
      if (openBytes - before + most > MAX_OPEN_BYTES) return stopFollowing(uri, "all", openBytes - before + most);
      handler(params);
      const doc = session.documents.get(uri);
      if (!doc) return;
      const weight = documentWeight(doc.getText().length, doc.lineCount - 1);
      if (doc.getText().length > MAX_MESSAGE_BYTES) stopFollowing(uri, "one", openBytes - before + weight);
      else setWeight(uri, weight);
    });
  const closeNotification = (on: (handler: (params: lsp.DidCloseTextDocumentParams) => void) => lsp.Disposable) => (handler: (params: lsp.DidCloseTextDocumentParams) => void) => {
    closeDocument = handler;
    return on((params) => {
      const uri = params.textDocument.uri;
      handler(params);
      setWeight(uri, undefined);
      // The client closed a document the server did not follow: its warning goes.
      if (unfollowed.delete(uri)) forget(uri);
    });
  };
  session.documents.listen({
    onDidOpenTextDocument: openDocument(checked("textDocument/didOpen", Params.didOpen, connection.onDidOpenTextDocument)),
    onDidChangeTextDocument: changeDocument(checked("textDocument/didChange", Params.didChange, connection.onDidChangeTextDocument)),
    onDidCloseTextDocument: closeNotification(checked("textDocument/didClose", Params.didClose, connection.onDidCloseTextDocument)),
    onWillSaveTextDocument: checked("textDocument/willSave", Params.willSave, connection.onWillSaveTextDocument),
    onWillSaveTextDocumentWaitUntil: connection.onWillSaveTextDocumentWaitUntil,
    onDidSaveTextDocument: checked("textDocument/didSave", Params.didSave, connection.onDidSaveTextDocument),
  } as Parameters<typeof session.documents.listen>[0]);

  connection.onDidChangeWatchedFiles(async (params) => {
    await ready;
    for (const ch of params.changes) {
      const path = uriToPath(ch.uri);
      // Version-control and editor folders change all the time and hold no Metro files.
      if (/[\\/](\.git|\.hg|\.svn|node_modules)([\\/]|$)/.test(path)) continue;
      // An open document's text is the editor's: only what the disk says about its path is read again.
      if (session.isOpen(path)) session.openFileChangedOnDisk(path);
      else if (ch.type === lsp.FileChangeType.Deleted) session.fileDeleted(path);
      else session.fileChanged(path);
    }
  });

  const log = (message: string) => connection.console.info(`metro-language-server: ${message}`);

  /** Runs a handler once the server is ready; an unexpected exception is logged and answered with `fallback`. */
  async function answer<R>(run: () => R, fallback: R): Promise<R> {
    await ready;
    try {
      return run();
    } catch (e) {
      if (e instanceof lsp.ResponseError) throw e;
      connection.console.error(`metro-language-server: ${(e as Error).stack ?? e}`);
      return fallback;
    }
  }

  /**
   * A request about a document: its parameters checked (`params.ts`: a malformed one is
   * answered "invalid params"), then the handler gets the session, tree, file and token
   * resolved once; a document outside every tree gets `fallback`.
   */
  const onDocument =
    <P extends { textDocument: { uri: string } }, R>(check: Check<P>, fn: (at: DocumentRequest, params: P) => R, fallback: R) =>
    (raw: unknown, token: lsp.CancellationToken): Promise<R> =>
      answer(() => {
        const params = documentParams(session, check, raw);
        const at = token.isCancellationRequested ? undefined : session.locate(params.textDocument.uri);
        return at ? fn({ session, ...at, uri: params.textDocument.uri, token, log }, params) : fallback;
      }, fallback);
  /** A request about a document that needs only the document (also outside a tree). */
  const withDocument =
    <P extends { textDocument: { uri: string } }, R>(check: Check<P>, fn: (params: P) => R, fallback: R) =>
    (raw: unknown): Promise<R> =>
      answer(() => fn(documentParams(session, check, raw)), fallback);

  connection.onDefinition(onDocument(Params.position, definition, []));
  connection.onReferences(onDocument(Params.references, references, []));
  connection.onPrepareRename(onDocument(Params.position, prepareRename, null));
  connection.onRenameRequest(onDocument(Params.rename, rename, null));
  connection.onHover(onDocument(Params.position, hover, null));
  connection.languages.inlayHint.on(onDocument(Params.range, inlayHints, []));
  // The lint fixes need only the document (also outside a tree); the others the tree's index.
  connection.onCodeAction((raw, token) =>
    answer(() => {
      const params = documentParams(session, Params.codeAction, raw) as lsp.CodeActionParams;
      const at = token.isCancellationRequested ? undefined : session.locate(params.textDocument.uri);
      return [...lintFixes(session, params), ...(at ? codeActions({ session, ...at, uri: params.textDocument.uri, token, log }, params) : [])];
    }, []),
  );
  connection.onCompletion(onDocument(Params.completion, completion, []));
  connection.onCompletionResolve((raw) => answer(() => elementDocumentation(session, Params.completionItem(raw, "") as lsp.CompletionItem), raw));
  connection.onDocumentSymbol(onDocument(Params.textDocument, documentSymbols, []));
  connection.onWorkspaceSymbol((raw) => answer(() => workspaceSymbols(session, Params.workspaceSymbol(raw, "")), []));
  connection.onFoldingRanges(onDocument(Params.textDocument, (at) => foldingRanges(at, foldingLimit), []));
  connection.onDocumentFormatting(withDocument(Params.formatting, (p) => formatDocument(session, p), []));
  connection.onDocumentRangeFormatting(withDocument(Params.rangeFormatting, (p) => formatRange(session, p), []));
  connection.languages.semanticTokens.on(onDocument(Params.textDocument, semanticTokens, { data: [] }));
  connection.onDocumentLinks(onDocument(Params.textDocument, documentLinks, []));
  connection.onCodeLens(onDocument(Params.textDocument, codeLenses, []));

  /**
   * The tree a request is about: by `tree` root, by a file in it (`uri`), or the first tree.
   * A place that holds no tree is a well-formed question whose answer is null (the client
   * asks with the active editor's file, whatever it is).
   */
  function treeOf(p: { tree?: string; uri?: string } | undefined): MetroTree | undefined {
    if (p?.tree) return session.trees.get(p.tree) ?? session.treeFor(p.tree);
    if (p?.uri) return session.treeFor(uriToPath(p.uri));
    return session.trees.values().next().value;
  }

  /** The element under `position` in the document at `uri` (a character past its line's end is that end); null for a document the server does not know. */
  function elementAt(uri: string, position: lsp.Position): { tree: MetroTree; name: string | null } | null {
    const lines = linesOf(session, uri);
    const at = lines && session.locate(uri);
    if (!lines || !at) return null;
    const t = targetAt(at.file, clampIn(lines, { position }).position!);
    return { tree: at.tree, name: t ? nameOf(t) : null };
  }

  onRequest(ContextsRequest, Params.tree, (p) => {
    const trees = p?.tree || p?.uri ? [treeOf(p)].filter((t): t is MetroTree => !!t) : [...session.trees.values()];
    return {
      trees: trees.map((t) => ({
        root: t.root,
        source: t.contexts.source,
        active: t.contexts.active?.name ?? null,
        contexts: t.contexts.contexts.map(describeContext),
      })),
    };
  });

  onRequest(ContextCandidatesRequest, Params.tree, (p) => {
    const t = treeOf(p);
    return t ? { root: t.root, ...contextCandidates(t.root, t.index) } : null;
  });

  onRequest(ExpandedValueRequest, Params.expandedValue, (p) => {
    let tree = treeOf(p);
    let name = p.name ?? null;
    if (!name && p.uri && p.position) {
      const e = elementAt(p.uri, p.position);
      tree = e?.tree;
      name = e?.name ?? null;
    }
    if (!tree || !name) return null;
    return { name, ...expandedValueText(tree, name) };
  });

  onRequest(GraphRequest, Params.graph, async (p) => {
    await ready;
    const tree = treeOf(p);
    if (!tree) return null;
    await tree.contexts.settled();
    return answer(() => {
      let key = p.key;
      if (!key && p.uri && p.position) {
        key = elementAt(p.uri, p.position)?.name ?? undefined;
        if (!key) return null;
      }
      return graphOf(tree, { ...p, key });
    }, null);
  });

  /** Resolves when every tree's contexts are evaluated (tests and benchmarks wait on it). */
  onRequest(SettledRequest, anything, async () => {
    await ready;
    // Until nothing is left: a burst of edits to end, contexts to evaluate, diagnostics to publish.
    for (;;) {
      await new Promise<void>((r) => session.burst.whenQuiet(r));
      for (const t of session.trees.values()) await t.contexts.settled();
      await published();
      if (!session.burst.arriving && !publishScheduled && [...session.trees.values()].every((t) => !t.contexts.busy)) break;
    }
    return {
      trees: [...session.trees.values()].map((t) => ({ root: t.root, files: t.index.files.size, contexts: t.contexts.contexts.length, scanMs: t.scanMs, evaluations: t.contexts.evaluations, diskLookups: t.workspace.diskLookups })),
    };
  });

  /** Memory of the server process; with `gc`, after a full collection (benchmarks check that memory stays flat). */
  onRequest(MemoryRequest, Params.memory, (p) => {
    if (p?.gc) {
      try {
        v8.setFlagsFromString("--expose-gc");
        (vm.runInNewContext("gc") as () => void)();
      } catch {
        /* collection not available */
      }
    }
    return process.memoryUsage();
  });

  connection.onExecuteCommand((raw) => {
    const params = Params.executeCommand(raw, "");
    const commands: string[] = Object.values(ServerCommands);
    if (!commands.includes(params.command)) invalidParams(`unknown command ${quote(params.command, '"')}: the server executes ${commands.join(" and ")}`);
    const arg: { tree?: string; uri?: string; name?: string } = (params.command === ServerCommands.setActiveContext ? Params.setActiveContext : Params.tree)(params.arguments?.[0], "arguments[0]") ?? {};
    const tree = treeOf(arg);
    if (!tree) return null;
    switch (params.command) {
      case ServerCommands.setActiveContext: {
        if (!arg.name || !tree.contexts.setActive(arg.name)) return { ok: false };
        sendStatus(tree);
        schedulePublish(session.openPaths());
        void connection.sendRequest(lsp.InlayHintRefreshRequest.type).catch(() => {});
        return { ok: true, active: arg.name };
      }
      case ServerCommands.writeContextsFile: {
        const file = join(tree.root, CONTEXTS_FILE);
        const entries = tree.contexts.contexts.map((c) => ({
          name: c.name,
          config: isAbsolute(c.config) && !relative(tree.root, c.config).startsWith("..") ? relative(tree.root, c.config) : c.config,
          args: c.args,
        }));
        // A file whose entries are not all in use (unreadable, left out, past the limit, or overridden by the setting) is the user's to fix: writing would lose them.
        const c = tree.contexts;
        const lost = existingRegularFile(file) && (c.source === "setting" || c.contextsFileProblems.length > 0 || c.contextsLeftOut > 0);
        try {
          if (lost) {
            throw new Error(
              `holds entries the server does not use (${c.source === "setting" ? "the metro.contexts setting is used instead" : c.contextsFileProblems.length ? problemList(c.contextsFileProblems, 2) : `${c.contextsLeftOut} past the first ${c.contexts.length}`}): writing would lose them; fix, move or remove it first`,
            );
          }
          writeRegularFile(file, JSON.stringify(entries, null, 2) + "\n");
        } catch (e) {
          const message = `${CONTEXTS_FILE} was not written: it ${(e as Error).message}`;
          void connection.sendNotification(lsp.ShowMessageNotification.type, { type: lsp.MessageType.Error, message });
          return { ok: false, message };
        }
        session.fileChanged(file);
        return { ok: true, file };
      }
    }
    return null;
  });


  connection.listen();
  return session;
}
