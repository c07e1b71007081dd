// The page of the build graph's webview: the server's SVG, zoom buttons, and
// a click on a node that has a file posts {file, line} back to the extension.
// No VS Code API here (the page's script gets it from acquireVsCodeApi), so
// tests can check the page.

export interface GraphViewMessage {
  file?: string;
  line?: number;
}

/** The page's script; runs only with the page's nonce (no inline handlers, no remote content). */
export const GRAPH_VIEW_SCRIPT = `
const vscode = acquireVsCodeApi();
const view = document.getElementById("view");
let scale = 1;
const zoom = (f) => {
  scale = f === 0 ? 1 : Math.min(4, Math.max(0.2, scale * f));
  view.style.transform = "scale(" + scale + ")";
};
document.getElementById("in").addEventListener("click", () => zoom(1.25));
document.getElementById("out").addEventListener("click", () => zoom(0.8));
document.getElementById("reset").addEventListener("click", () => zoom(0));
document.addEventListener("click", (e) => {
  const g = e.target && e.target.closest ? e.target.closest("g.node[data-file]") : null;
  if (g) vscode.postMessage({ file: g.getAttribute("data-file"), line: Number(g.getAttribute("data-line") || 0) });
});
`;

export function graphViewHtml(svg: string, cspSource: string, nonce: string): string {
  const body = svg.replace(/^<\?xml[^>]*>\s*/, "");
  return `<!DOCTYPE html>
<html><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src ${cspSource} data:; style-src 'unsafe-inline'; script-src 'nonce-${nonce}';">
<style>
  body { margin: 0; padding: 0; background: #ffffff; }
  #bar { position: fixed; top: 6px; right: 10px; z-index: 1; }
  #bar button { font: 12px monospace; margin-left: 4px; }
  #view { transform-origin: 0 0; }
  g.node[data-file]:hover rect { stroke-width: 2.5; }
</style></head>
<body>
<div id="bar"><button id="out" title="Zoom out">−</button><button id="reset" title="Actual size">1:1</button><button id="in" title="Zoom in">+</button></div>
<div id="view">${body}</div>
<script nonce="${nonce}">${GRAPH_VIEW_SCRIPT}</script>
</body></html>`;
}
