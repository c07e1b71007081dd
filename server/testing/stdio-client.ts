// A small LSP client for the server's tests and benchmark: it talks to the
// real bundled server over stdio (`serverPath`), or to the same server
// started in this process over a pair of streams (no `serverPath`: the fast
// tests); it answers the requests a client must answer
// (workspace/configuration, registrations, refreshes) and records published
// diagnostics. Not part of the server bundle.

import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { PassThrough } from "node:stream";
import { createMessageConnection, StreamMessageReader, StreamMessageWriter, type MessageConnection } from "vscode-jsonrpc/node";
import { createConnection } from "vscode-languageserver/node";
import { serverConnectionOptions, startServer } from "../server";
import { EditBurst } from "../edit-burst";
import { URI } from "vscode-uri";
import type { SettledTree } from "../protocol";

export interface PublishedDiagnostics {
  uri: string;
  version?: number;
  diagnostics: {
    range: { start: { line: number; character: number }; end: { line: number; character: number } };
    severity?: number;
    code?: string | number;
    message: string;
    source?: string;
    relatedInformation?: { location: { uri: string; range: unknown }; message: string }[];
    data?: unknown;
    tags?: number[];
  }[];
}

export interface StartOptions {
  /** The bundled server to spawn; without it the server runs in this process. */
  serverPath?: string;
  /** The command that starts the server (default: this Node with `serverPath`); `--stdio` is appended. */
  command?: string[];
  /** hover.contentFormat and completionItem.documentationFormat the client offers (default: Markdown, then plain text). */
  markupFormats?: string[];
  /** rootUri / workspaceFolders; null sends neither. */
  root?: string | null;
  settings?: Record<string, unknown>;
  initializationOptions?: unknown;
  /** Omit workspace/configuration support (like clients without it). */
  noConfiguration?: boolean;
  /** Options for node before the server's path (`--max-old-space-size=256` bounds its heap). */
  nodeArgs?: string[];
}

export const uriOf = (path: string) => URI.file(path).toString();

export class StdioClient {
  readonly diagnostics = new Map<string, PublishedDiagnostics>();
  /** Every publishDiagnostics received, in order (to tell whether a file's diagnostics went through partial states). */
  readonly published: PublishedDiagnostics[] = [];
  readonly notifications: { method: string; params: unknown }[] = [];
  /** The server's answer to initialize. */
  initializeResult: { capabilities: Record<string, unknown>; serverInfo?: { name: string; version?: string } } | null = null;
  private waiters: { check: () => boolean; resolve: () => void }[] = [];
  private versions = new Map<string, number>();
  settings: Record<string, unknown>;

  private constructor(
    /** The server's process; null when it runs in this process. */
    readonly process: ChildProcess | null,
    readonly connection: MessageConnection,
    options: StartOptions,
  ) {
    this.settings = options.settings ?? {};
  }

  static async start(options: StartOptions): Promise<StdioClient> {
    let proc: ChildProcess | null = null;
    let connection: MessageConnection;
    if (options.serverPath || options.command) {
      const [exe, ...args] = options.command ?? [process.execPath, ...(options.nodeArgs ?? []), options.serverPath!];
      const child = spawn(exe, [...args, "--stdio"], { stdio: ["pipe", "pipe", "pipe"] });
      proc = child;
      let stderr = "";
      child.stderr!.on("data", (d) => (stderr += d.toString()));
      child.on("exit", (code) => {
        if (code && stderr) process.stderr.write(`server exited ${code}: ${stderr}\n`);
      });
      connection = createMessageConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
    } else {
      const toServer = new PassThrough();
      const fromServer = new PassThrough();
      const burst = new EditBurst();
      const serverConnection = createConnection(new StreamMessageReader(toServer), new StreamMessageWriter(fromServer), serverConnectionOptions(burst));
      startServer(serverConnection, burst);
      connection = createMessageConnection(new StreamMessageReader(fromServer), new StreamMessageWriter(toServer));
      connection.onDispose(() => {
        serverConnection.dispose();
        toServer.end();
        fromServer.end();
      });
    }
    const client = new StdioClient(proc, connection, options);
    connection.onRequest("workspace/configuration", (p: { items: { section?: string }[] }) => p.items.map((i) => (i.section ? client.settings[i.section] ?? null : client.settings)));
    connection.onRequest("client/registerCapability", () => null);
    connection.onRequest("client/unregisterCapability", () => null);
    connection.onRequest("window/workDoneProgress/create", () => null);
    connection.onRequest("workspace/inlayHint/refresh", () => null);
    connection.onRequest("workspace/semanticTokens/refresh", () => null);
    connection.onRequest("workspace/codeLens/refresh", () => null);
    connection.onNotification("textDocument/publishDiagnostics", (p: PublishedDiagnostics) => {
      client.diagnostics.set(p.uri, p);
      client.published.push(p);
      client.poke();
    });
    connection.onNotification((method: string, params: unknown) => {
      client.notifications.push({ method, params });
      client.poke();
    });
    connection.listen();
    const root = options.root;
    client.initializeResult = await connection.sendRequest("initialize", {
      // In process, a process id would start the server's watchdog timer, which keeps this process alive.
      processId: proc ? process.pid : null,
      rootUri: root ? uriOf(root) : null,
      workspaceFolders: root ? [{ uri: uriOf(root), name: "root" }] : null,
      initializationOptions: options.initializationOptions,
      capabilities: {
        workspace: options.noConfiguration
          ? {}
          : { configuration: true, didChangeConfiguration: { dynamicRegistration: true }, didChangeWatchedFiles: { dynamicRegistration: true }, workspaceFolders: true },
        textDocument: {
          publishDiagnostics: { relatedInformation: true, versionSupport: true },
          hover: { contentFormat: options.markupFormats ?? ["markdown", "plaintext"] },
          completion: { completionItem: { documentationFormat: options.markupFormats ?? ["markdown", "plaintext"] } },
        },
      },
    });
    connection.sendNotification("initialized", {});
    return client;
  }

  private poke(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const x of w) {
      if (x.check()) x.resolve();
      else this.waiters.push(x);
    }
  }

  /** Resolves when `check` holds after a notification (or now); rejects after `timeout` ms. */
  waitFor(check: () => boolean, timeout = 10000, what = "condition"): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeout);
      this.waiters.push({
        check,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  diagnosticsOf(path: string): PublishedDiagnostics["diagnostics"] {
    return this.diagnostics.get(uriOf(path))?.diagnostics ?? [];
  }

  request<R = any>(method: string, params: unknown): Promise<R> {
    return this.connection.sendRequest(method, params) as Promise<R>;
  }

  notify(method: string, params: unknown): void {
    this.lastSent = this.connection.sendNotification(method, params);
  }

  private lastSent: Promise<void> = Promise.resolve();

  /** Resolves when the last notification sent is written to the server's input (over stdio: in the pipe). */
  sent(): Promise<void> {
    return this.lastSent;
  }

  open(path: string, text = readFileSync(path, "utf8")): void {
    this.versions.set(path, 1);
    this.notify("textDocument/didOpen", { textDocument: { uri: uriOf(path), languageId: "metro", version: 1, text } });
  }

  /** Sends an incremental change; returns the new version. */
  change(path: string, range: { start: { line: number; character: number }; end: { line: number; character: number } } | null, text: string): number {
    const v = (this.versions.get(path) ?? 1) + 1;
    this.versions.set(path, v);
    this.notify("textDocument/didChange", { textDocument: { uri: uriOf(path), version: v }, contentChanges: [range ? { range, text } : { text }] });
    return v;
  }

  close(path: string): void {
    this.notify("textDocument/didClose", { textDocument: { uri: uriOf(path) } });
  }

  settled(): Promise<{ trees: SettledTree[] }> {
    return this.request("metro/settled", null);
  }

  hover(path: string, line: number, character: number) {
    return this.request<{ contents: { kind: string; value: string }; range: unknown } | null>("textDocument/hover", { textDocument: { uri: uriOf(path) }, position: { line, character } });
  }

  definition(path: string, line: number, character: number) {
    return this.request<{ uri: string; range: { start: { line: number; character: number } } }[]>("textDocument/definition", { textDocument: { uri: uriOf(path) }, position: { line, character } });
  }

  /** Resident memory of the server process in bytes (Linux). */
  memory(): number {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${this.process?.pid ?? "self"}/status`, "utf8"));
      return m ? Number(m[1]) * 1024 : NaN;
    } catch {
      return NaN;
    }
  }

  alive(): boolean {
    return !this.process || (this.process.exitCode === null && !this.process.killed);
  }

  async stop(): Promise<void> {
    try {
      await Promise.race([this.request("shutdown", null), new Promise((r) => setTimeout(r, 2000))]);
      // In process, "exit" would end this process: the connection is disposed instead.
      if (this.process) this.notify("exit", null);
    } catch {
      /* already gone */
    }
    await new Promise((r) => setTimeout(r, 50));
    this.connection.dispose();
    if (this.process && this.process.exitCode === null) this.process.kill();
  }
}
