// The extension in a real VS Code: code-server (VS Code for the browser,
// from npm; installed into a cache folder by scripts/code-server.mjs) on
// 127.0.0.1 with a free port and no auth, the .vsix installed with
// `code-server --install-extension`, driven by Debian's Chromium through
// playwright-core. It opens a copy of the examples tree and checks what a
// user sees: the status bar item naming the active context, the Problems
// panel, a hover, and the build graph's webview (a click on a node opens its
// file). The screenshots stay in test-artifacts/ (CI keeps them).
// Skips when Chromium or ripgrep is not installed.

import * as assert from "node:assert/strict";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { PROJECT } from "../support/shared";

const ARTIFACTS = join(PROJECT, "test-artifacts");

function which(cmd: string): string | null {
  try {
    return execFileSync("sh", ["-c", `command -v ${cmd}`], { encoding: "utf8" }).trim() || null;
  } catch {
    return null;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Resolves when `text` appears in the process's output; rejects when it exits first. */
function waitForOutput(proc: ChildProcess, text: RegExp, log: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      log.push(d.toString());
      if (text.test(log.join(""))) resolve();
    };
    proc.stdout!.on("data", onData);
    proc.stderr!.on("data", onData);
    proc.once("exit", (code) => reject(new Error(`code-server exited (${code}): ${log.join("")}`)));
  });
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Ends code-server's process group and waits until none of it is left: the
 * extension host outlives the server by a moment and writes into TMPDIR
 * (VS Code's TypeScript extension makes vscode-typescript<uid> there), which
 * the run removes at its end.
 */
async function endGroup(pgid: number): Promise<void> {
  const signal = (s: NodeJS.Signals) => {
    try {
      process.kill(-pgid, s);
    } catch {
      /* already gone */
    }
  };
  const gone = async (ms: number) => {
    for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 100))) if (!groupAlive(pgid)) return true;
    return !groupAlive(pgid);
  };
  signal("SIGTERM");
  if (await gone(10_000)) return;
  signal("SIGKILL");
  await gone(5_000);
}

describe("system: the VS Code extension in code-server", function () {
  this.timeout(20 * 60_000);
  let root = "";
  let server: ChildProcess | null = null;
  let browser: Browser | null = null;
  let page: Page | null = null;
  let port = 0;
  const log: string[] = [];
  const browserPath = which("chromium") ?? which("chromium-browser");
  let spec = "";
  let hoverLine = 0;
  let hoverCol = 0;

  before(async function () {
    if (!browserPath || !which("rg")) {
      console.log("      (skipped: Debian's chromium and ripgrep are needed)");
      this.skip();
    }
    const codeServer = execFileSync(process.execPath, [join(PROJECT, "scripts", "code-server.mjs")], { encoding: "utf8", timeout: 15 * 60_000 }).trim();
    execFileSync(process.execPath, [join(PROJECT, "client-vscode", "scripts", "package.mjs")], { cwd: PROJECT, stdio: "pipe" });
    const manifest = JSON.parse(readFileSync(join(PROJECT, "client-vscode", "package.json"), "utf8"));
    const vsix = join(PROJECT, "client-vscode", `${manifest.name}-${manifest.version}.vsix`);

    root = mkdtempSync(join(tmpdir(), "metro-code-server-"));
    const tree = join(root, "tree");
    cpSync(join(PROJECT, "examples"), tree, { recursive: true });
    spec = join(tree, "targets", "tiny", "stage3.spec");
    writeFileSync(spec, readFileSync(spec, "utf8") + "\n[section bench]\n\nbroken: $[no/such/name]\n");
    const lines = readFileSync(spec, "utf8").split("\n");
    hoverLine = lines.findIndex((l) => l.includes("$[path/mirror/target/control]"));
    hoverCol = lines[hoverLine].indexOf("$[path/mirror/target/control]") + 4;

    const env = { ...process.env, XDG_CONFIG_HOME: join(root, "config"), XDG_DATA_HOME: join(root, "share"), HOME: root };
    const common = ["--extensions-dir", join(root, "extensions"), "--user-data-dir", join(root, "data")];
    const entry = join(codeServer, "out", "node", "entry.js");
    const installed = execFileSync(process.execPath, [entry, ...common, "--install-extension", vsix], { env, encoding: "utf8", timeout: 120_000 });
    assert.match(installed, /was successfully installed/);
    mkdirSync(join(root, "data", "User"), { recursive: true });
    writeFileSync(
      join(root, "data", "User", "settings.json"),
      JSON.stringify({
        "workbench.startupEditor": "none",
        "workbench.tips.enabled": false,
        "telemetry.telemetryLevel": "off",
        "security.workspace.trust.enabled": false,
        "extensions.autoCheckUpdates": false,
        "extensions.autoUpdate": false,
        "update.mode": "none",
      }),
    );

    port = await freePort();
    server = spawn(
      process.execPath,
      [entry, ...common, "--auth", "none", "--bind-addr", `127.0.0.1:${port}`, "--disable-telemetry", "--disable-update-check", "--disable-workspace-trust", tree],
      // Its own process group: the extension host and the language server it starts end with it (below).
      { env, stdio: ["ignore", "pipe", "pipe"], detached: true },
    );
    await waitForOutput(server, /HTTP server listening on/, log);

    browser = await chromium.launch({ executablePath: browserPath!, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(tree)}`);
    await page.waitForSelector(".monaco-workbench", { timeout: 120_000 });
  });

  after(async () => {
    if (page) {
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, "code-server.png") }).catch(() => {});
    }
    await browser?.close().catch(() => {});
    if (server?.pid) await endGroup(server.pid);
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it("shows the active build context in the status bar", async () => {
    const item = page!.locator(".statusbar-item", { hasText: "stage3 / tiny-current" });
    await item.first().waitFor({ timeout: 120_000 });
    assert.match((await item.first().textContent()) ?? "", /stage3 \/ tiny-current \/ \S+ \(derived\)/);
  });

  it("lists the tree's problems in the Problems panel", async () => {
    await page!.keyboard.press("Control+P");
    await page!.keyboard.type("stage3.spec");
    await page!.waitForTimeout(500);
    await page!.keyboard.press("Enter");
    await page!.locator(".monaco-editor .view-lines", { hasText: "[section target]" }).first().waitFor({ timeout: 60_000 });
    await page!.keyboard.press("Control+Shift+M");
    const panel = page!.locator(".markers-panel");
    await panel.locator(".monaco-list-row", { hasText: "no/such/name" }).first().waitFor({ timeout: 60_000 });
    const text = (await panel.textContent()) ?? "";
    assert.match(text, /"no\/such\/name" is not defined/);
    assert.match(text, /stage3\.spec/);
  });

  it("hovers a reference with its definition and its value in the active context", async () => {
    // Bring the line into view (Ctrl+G line:column), then rest the mouse on the reference as a user would.
    await page!.locator(".monaco-editor .view-lines", { hasText: "[section target]" }).first().click();
    await page!.keyboard.press("Control+G");
    await page!.keyboard.type(`${hoverLine + 1}:${hoverCol}`);
    await page!.keyboard.press("Enter");
    // Let the editor finish scrolling before measuring where the word is.
    await page!.waitForTimeout(1000);
    const line = page!.locator(".monaco-editor .view-line", { hasText: "control=$[path/mirror/target/control]" }).first();
    await line.waitFor({ timeout: 30_000 });
    const box = (await line.locator("span span", { hasText: "path/mirror/target/control" }).last().boundingBox())!;
    // Monaco shows a hover after the mouse moves over a word and rests there.
    await page!.mouse.move(box.x + 5, box.y + box.height / 2);
    await page!.waitForTimeout(200);
    await page!.mouse.move(box.x + 15, box.y + box.height / 2);
    const hover = page!.locator(".monaco-hover:not(.hidden)", { hasText: "path/mirror/target/control" });
    await hover.first().waitFor({ timeout: 60_000 });
    const text = (await hover.first().textContent()) ?? "";
    assert.match(text, /etc\/layout\.conf:\d+/);
    assert.match(text, /derived from the tree/);
    assert.match(text, /\.control/);
  });

  it("shows the build graph beside the editor, and a click on a node opens its file", async () => {
    const p = page!;
    // A file the context reads that no earlier step opened: its tab can only come from the click.
    const target = join(root, "tree", "targets", "tiny", "target", "stage.spec");
    await p.keyboard.press("Control+P");
    await p.keyboard.type("metro.conf");
    await p.locator(".quick-input-widget .monaco-list-row", { hasText: "metro.conf" }).first().waitFor({ timeout: 30_000 });
    await p.keyboard.press("Enter");
    await p.locator(".editor-group-container.active .tab.active", { hasText: "metro.conf" }).waitFor({ timeout: 30_000 });
    await p.locator(".monaco-editor .view-lines", { hasText: "[section path]" }).first().waitFor({ timeout: 30_000 });

    // Room for the picture: hide the panel the Problems step opened.
    if (await p.locator(".part.panel").isVisible()) await p.keyboard.press("Control+J");
    await p.keyboard.press("Control+Shift+P");
    await p.keyboard.type("Metro: Show Build Graph");
    await p.locator(".quick-input-widget .monaco-list-row", { hasText: "Metro: Show Build Graph" }).first().waitFor({ timeout: 30_000 });
    await p.keyboard.press("Enter");

    // Beside the editor: a second editor group whose tab is the graph of the active context.
    const graphTab = p.locator(".editor-group-container .tab", { hasText: "Build Graph: stage3" });
    await graphTab.first().waitFor({ timeout: 120_000 });
    assert.equal(await p.locator(".editor-group-container").count(), 2);
    const groups = p.locator(".editor-group-container");
    assert.equal(await groups.nth(0).locator(".tab", { hasText: "Build Graph" }).count(), 0);
    assert.equal(await groups.nth(0).locator(".tab.active", { hasText: "metro.conf" }).count(), 1);
    assert.equal(await groups.nth(1).locator(".tab", { hasText: "Build Graph" }).count(), 1);

    // The webview's page sits in an iframe (the webview host) holding another (the content).
    const view = p.frameLocator("iframe.webview.ready").frameLocator("iframe#active-frame");
    await view.locator("svg g.node").first().waitFor({ timeout: 120_000 });
    const node = view.locator(`svg g.node[data-file="${target}"]`);
    assert.equal(await node.count(), 1, "the graph has a node for targets/tiny/target/stage.spec");
    assert.equal((await node.locator("text").first().textContent())?.trim(), "stage.spec");
    assert.equal(await view.locator(`svg g.node[data-file="${join(root, "tree", "metro.conf")}"]`).count(), 1);
    assert.equal(await p.locator(".tab", { hasText: /^stage\.spec/ }).count(), 0);
    await node.scrollIntoViewIfNeeded();
    mkdirSync(ARTIFACTS, { recursive: true });
    await p.screenshot({ path: join(ARTIFACTS, "code-server-graph.png") });

    // Click the node's name, as a user would.
    await node.locator("text").first().click();
    const active = p.locator(".editor-group-container.active .tab.active", { hasText: "stage.spec" });
    await active.waitFor({ timeout: 60_000 });
    // In the first group (the editor's), with the graph still beside it.
    assert.equal(await groups.nth(0).locator(".tab.active", { hasText: "stage.spec" }).count(), 1);
    assert.equal(await groups.nth(1).locator(".tab", { hasText: "Build Graph" }).count(), 1);
    // The editor shows that file (its first lines), not another stage.spec.
    await p.locator(".editor-group-container.active .monaco-editor .view-lines", { hasText: "[collect ../steps/unpack.spec]" }).first().waitFor({ timeout: 30_000 });
    await p.screenshot({ path: join(ARTIFACTS, "code-server-graph-click.png") });
  });
});
