// The VS Code client: starts metro-language-server, hands it the settings,
// and turns a few server requests into VS Code UI (quick picks, a status bar
// item, a read-only editor for expanded values). All Metro knowledge lives in
// the server, so every editor gets the same features.

import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import * as vscode from "vscode";
import { LanguageClient, TransportKind, type LanguageClientOptions, type ServerOptions } from "vscode-languageclient/node";
import {
  ClientCommands,
  ContextCandidatesRequest,
  ContextsRequest,
  ExpandedValueRequest,
  GraphRequest,
  ServerCommands,
  StatusNotification,
  type ExpandedValueParams,
  type GraphParams,
  type Request,
  type SetActiveContextArgument,
  type Status,
  type TreeContexts,
  type WriteContextsFileResult,
} from "../../server/protocol";
import { graphViewHtml, type GraphViewMessage } from "./graph-view";

const VALUE_SCHEME = "metro-value";


let client: LanguageClient | undefined;

/** Sends one of the server's own requests, typed by its definition in server/protocol.ts. */
function send<P, R>(c: LanguageClient, type: Request<P, R>, params: P): Promise<R> {
  return c.sendRequest<R>(type.method, params);
}
let statusItem: vscode.StatusBarItem;
const statusByRoot = new Map<string, Status>();
const values = new Map<string, string>();
const valueChanged = new vscode.EventEmitter<vscode.Uri>();

function serverOptions(context: vscode.ExtensionContext): ServerOptions {
  const configured = vscode.workspace.getConfiguration("metro").get<string>("server.path")?.trim();
  const candidates = [configured, context.asAbsolutePath(join("server", "metro-language-server.js")), context.asAbsolutePath(join("..", "dist", "metro-language-server.js"))];
  const path = candidates.find((p): p is string => !!p && existsSync(p)) ?? candidates[1]!;
  if (!path.endsWith(".js")) return { command: path, args: ["--stdio"] };
  return { module: path, transport: TransportKind.stdio };
}

/** The Metro tree above a file: a folder with etc/master.conf or metro.conf. */
function treeRootOf(file: string): string | undefined {
  let dir = dirname(file);
  for (;;) {
    if (existsSync(join(dir, "etc", "master.conf")) || existsSync(join(dir, "metro.conf"))) return dir;
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

/** `.spec` is RPM's outside Metro trees: claim `.spec` and `.conf` files only inside a tree. */
async function claimDocument(doc: vscode.TextDocument): Promise<void> {
  if (doc.uri.scheme !== "file" || doc.languageId === "metro") return;
  const p = doc.uri.fsPath;
  if (!/\.(spec|conf)$/.test(p) || /[\\/]fsroot[\\/]/.test(p)) return;
  if (!treeRootOf(p)) return;
  try {
    await vscode.languages.setTextDocumentLanguage(doc, "metro");
  } catch {
    /* closed meanwhile */
  }
}

function activeRoot(): string | undefined {
  const doc = vscode.window.activeTextEditor?.document;
  if (doc?.uri.scheme === "file") {
    const r = [...statusByRoot.keys()].filter((root) => doc.uri.fsPath.startsWith(root)).sort((a, b) => a.length - b.length)[0];
    if (r) return r;
  }
  return statusByRoot.keys().next().value;
}

function updateStatus(): void {
  const root = activeRoot();
  const s = root ? statusByRoot.get(root) : undefined;
  if (!s) {
    statusItem.hide();
    return;
  }
  const derived = s.source === "derived" ? " (derived)" : "";
  statusItem.text = `$(package) ${s.active ?? "no context"}${derived}${s.busy ? " $(sync~spin)" : ""}`;
  statusItem.tooltip = `Metro: active build context for ${root}${derived ? " — derived from the tree; run “Metro: Write Contexts to metro-contexts.json” to edit them" : ""}\n${s.contexts} context(s). Click to switch.`;
  statusItem.show();
}

async function contextsOf(root?: string): Promise<TreeContexts[]> {
  if (!client) return [];
  const r = await send(client, ContextsRequest, root ? { tree: root } : {});
  return r.trees;
}

async function selectContext(): Promise<void> {
  const trees = await contextsOf(activeRoot());
  const tree = trees[0];
  if (!tree || tree.contexts.length === 0) {
    void vscode.window.showInformationMessage("Metro: no build contexts. Use “Metro: Add Build Context”.");
    return;
  }
  const pick = await vscode.window.showQuickPick(
    tree.contexts.map((c) => ({ label: c.name, description: c.name === tree.active ? "active" : undefined, detail: c.fatal ? `stops: ${c.fatal}` : Object.entries(c.args).map(([k, v]) => `${k}: ${v}`).join("  ") })),
    { placeHolder: `Active build context (${tree.source})` },
  );
  if (!pick) return;
  const argument: SetActiveContextArgument = { tree: tree.root, name: pick.label };
  await client!.sendRequest("workspace/executeCommand", { command: ServerCommands.setActiveContext, arguments: [argument] });
}

function today(): string {
  return new Date().toISOString().slice(0, 10);
}

async function addContext(): Promise<void> {
  const root = activeRoot();
  const cand = await (client ? send(client, ContextCandidatesRequest, root ? { tree: root } : {}) : null);
  if (!cand) return;
  const config = cand.configs.length > 1 ? await vscode.window.showQuickPick(cand.configs, { placeHolder: "Entry configuration" }) : cand.configs[0];
  if (!config) return;
  const target = await vscode.window.showQuickPick(cand.targets, { placeHolder: "Target" });
  if (!target) return;
  const build = await vscode.window.showQuickPick(cand.builds, { placeHolder: "Build" });
  if (!build) return;
  const arch = await vscode.window.showQuickPick(cand.arches.map((a) => a.arch), { placeHolder: "Architecture (target/arch_desc)" });
  if (!arch) return;
  const subs = cand.arches.find((a) => a.arch === arch)?.subarches ?? [];
  const subarch = subs.length > 1 ? await vscode.window.showQuickPick(subs, { placeHolder: "Subarch" }) : (subs[0] ?? (await vscode.window.showInputBox({ prompt: "Subarch" })));
  if (!subarch) return;
  const version = await vscode.window.showInputBox({ prompt: "target/version", value: today() });
  if (version === undefined) return;
  const cfg = vscode.workspace.getConfiguration("metro");
  let list = (cfg.get<unknown[]>("contexts") ?? []).slice();
  if (list.length === 0) {
    // The setting overrides the file and derived contexts: start from the ones in use.
    const current = (await contextsOf(cand.root))[0];
    list = current?.contexts.map((c) => ({ name: c.name, config: c.config, args: c.args })) ?? [];
  }
  list.push({ config, args: { target, "target/build": build, "target/arch_desc": arch, "target/subarch": subarch, "target/version": version } });
  const scope = vscode.workspace.workspaceFolders?.length ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
  await cfg.update("contexts", list, scope);
}

async function showExpandedValue(arg?: { tree?: string; name?: string }): Promise<void> {
  if (!client) return;
  let params: ExpandedValueParams;
  if (arg?.name) params = { tree: arg.tree, name: arg.name };
  else {
    const editor = vscode.window.activeTextEditor;
    if (!editor) return;
    params = { uri: editor.document.uri.toString(), position: { line: editor.selection.active.line, character: editor.selection.active.character } };
  }
  const r = await send(client, ExpandedValueRequest, params);
  if (!r) {
    void vscode.window.showInformationMessage("Metro: no element under the cursor.");
    return;
  }
  const uri = vscode.Uri.from({ scheme: VALUE_SCHEME, path: `/${r.name.replace(/\//g, "∕")}.sh`, query: `${r.context ?? ""}#${Date.now()}` });
  values.set(uri.toString(), `# ${r.name} in ${r.context ?? "no context"}\n${r.text}`);
  valueChanged.fire(uri);
  const doc = await vscode.workspace.openTextDocument(uri);
  await vscode.window.showTextDocument(doc, { preview: true, viewColumn: vscode.ViewColumn.Beside });
}

let graphPanel: vscode.WebviewPanel | undefined;

/**
 * The picture of the active context beside the editor (with `uses`, of the
 * element under the cursor: who uses it, what it uses); clicking a node with
 * a file opens it.
 */
async function showBuildGraph(uses = false): Promise<void> {
  if (!client) return;
  const editor = vscode.window.activeTextEditor;
  const doc = editor?.document;
  const root = activeRoot();
  let params: GraphParams = doc?.uri.scheme === "file" ? { uri: doc.uri.toString() } : root ? { tree: root } : {};
  if (uses) {
    if (!editor || doc?.uri.scheme !== "file") return;
    params = { uri: doc.uri.toString(), position: { line: editor.selection.active.line, character: editor.selection.active.character } };
  }
  const r = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: "Metro: drawing the build graph" }, () => send(client!, GraphRequest, params));
  if (!r) {
    void vscode.window.showInformationMessage(uses ? "Metro: no element under the cursor, or no active build context." : "Metro: no active build context to draw. Use “Metro: Select Active Build Context”.");
    return;
  }
  if (!graphPanel) {
    graphPanel = vscode.window.createWebviewPanel("metro.buildGraph", "Metro Build Graph", { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, { enableScripts: true, localResourceRoots: [] });
    graphPanel.onDidDispose(() => (graphPanel = undefined));
    graphPanel.webview.onDidReceiveMessage(async (m: GraphViewMessage) => {
      if (typeof m?.file !== "string") return;
      const line = Math.max(0, Number(m.line) || 0);
      const shown = await vscode.window.showTextDocument(vscode.Uri.file(m.file), { viewColumn: vscode.ViewColumn.One });
      shown.selection = new vscode.Selection(line, 0, line, 0);
      shown.revealRange(new vscode.Range(line, 0, line, 0), vscode.TextEditorRevealType.InCenterIfOutsideViewport);
    });
  }
  graphPanel.title = `Build Graph: ${r.context}`;
  graphPanel.webview.html = graphViewHtml(r.svg, graphPanel.webview.cspSource, randomBytes(16).toString("hex"));
  graphPanel.reveal(vscode.ViewColumn.Beside, true);
}

async function writeContextsFile(): Promise<void> {
  const root = activeRoot();
  const r = await client?.sendRequest<WriteContextsFileResult>("workspace/executeCommand", { command: ServerCommands.writeContextsFile, arguments: [{ tree: root }] });
  if (r?.file) await vscode.window.showTextDocument(vscode.Uri.file(r.file));
}

function showReferences(uri: string, position: { line: number; character: number }, locations: { uri: string; range: { start: { line: number; character: number }; end: { line: number; character: number } } }[]): Thenable<unknown> {
  const toRange = (r: (typeof locations)[number]["range"]) => new vscode.Range(r.start.line, r.start.character, r.end.line, r.end.character);
  return vscode.commands.executeCommand(
    "editor.action.showReferences",
    vscode.Uri.parse(uri),
    new vscode.Position(position.line, position.character),
    locations.map((l) => new vscode.Location(vscode.Uri.parse(l.uri), toRange(l.range))),
  );
}

function startClient(context: vscode.ExtensionContext): LanguageClient {
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: "file", language: "metro" },
      { scheme: "untitled", language: "metro" },
    ],
    initializationOptions: { contexts: vscode.workspace.getConfiguration("metro").get("contexts") },
    markdown: { isTrusted: { enabledCommands: [ClientCommands.showExpandedValue] } },
    synchronize: { configurationSection: "metro" },
  };
  const c = new LanguageClient("metro", "Metro Language Server", serverOptions(context), clientOptions);
  c.onNotification(StatusNotification.method, (s: Status) => {
    statusByRoot.set(s.root, s);
    updateStatus();
  });
  void c.start();
  return c;
}

export function activate(context: vscode.ExtensionContext): void {
  statusItem = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Left, 50);
  statusItem.command = "metro.selectContext";
  context.subscriptions.push(statusItem);
  context.subscriptions.push(
    vscode.workspace.registerTextDocumentContentProvider(VALUE_SCHEME, { onDidChange: valueChanged.event, provideTextDocumentContent: (uri) => values.get(uri.toString()) ?? "" }),
    vscode.commands.registerCommand("metro.selectContext", selectContext),
    vscode.commands.registerCommand("metro.addContext", addContext),
    vscode.commands.registerCommand(ClientCommands.showExpandedValue, showExpandedValue),
    vscode.commands.registerCommand("metro.writeContextsFile", writeContextsFile),
    vscode.commands.registerCommand("metro.showBuildGraph", () => showBuildGraph(false)),
    vscode.commands.registerCommand("metro.showKeyUses", () => showBuildGraph(true)),
    vscode.commands.registerCommand("metro.showReferences", showReferences),
    vscode.commands.registerCommand("metro.restartServer", async () => {
      if (client) await client.restart();
    }),
    vscode.window.onDidChangeActiveTextEditor(() => updateStatus()),
    vscode.workspace.onDidOpenTextDocument((d) => void claimDocument(d)),
    vscode.workspace.onDidChangeConfiguration(async (e) => {
      if (e.affectsConfiguration("metro.server.path") && client) {
        await client.stop();
        client = startClient(context);
      }
    }),
  );
  for (const d of vscode.workspace.textDocuments) void claimDocument(d);
  client = startClient(context);
}

export async function deactivate(): Promise<void> {
  if (client) await client.stop();
}
