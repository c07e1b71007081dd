// Output for people and for CI. People get one line per step with its
// elapsed time (and, on a terminal, a live progress line while a step
// runs); `--json` gets one JSON object per line and nothing else on stdout.

import { closeSync, readSync } from "node:fs";
import { openForReading } from "./guarded-fs";
import { writeOrNote } from "../output-loss";

export type BuildEvent =
  | { event: "build-start"; targets: string[]; dryRun: boolean }
  | { event: "target-start"; target: string; class: string; log: string | null }
  | { event: "target-skip"; target: string; reason: string }
  | { event: "step-start"; target: string; step: string; chroot: boolean; script?: string }
  /** --dry-run: a script the build would run, where the dry run wrote it, and the command that would run it. */
  | { event: "plan-step"; target: string; index: number; step: string; chroot: boolean; file: string; command: string[] }
  | { event: "step-end"; target: string; step: string; exitCode: number | null; signal?: string | null; durationMs: number; log: string | null; ok: boolean; skipped?: boolean }
  | { event: "target-end"; target: string; status: "ok" | "fail"; durationMs: number; log: string | null; error?: string }
  | { event: "message"; level: "info" | "warning" | "error"; text: string; target?: string }
  | { event: "build-end"; exitCode: number; status: "ok" | "fail" | "skipped" | "locked" | "config-error" | "interrupted"; durationMs: number };

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  return `${m}m${String(Math.floor(s % 60)).padStart(2, "0")}s`;
}

export class Reporter {
  private progress: NodeJS.Timeout | null = null;
  private progressShown = false;

  constructor(
    readonly json: boolean,
    private readonly out: NodeJS.WriteStream = process.stdout,
    private readonly err: NodeJS.WriteStream = process.stderr,
  ) {}

  /** Writes unless the stream is gone; a reader that went away interrupts a build (engine/output-loss.ts). */
  private write(stream: NodeJS.WriteStream, text: string): void {
    writeOrNote(stream, text);
  }

  /** The output went away: no more progress line. */
  outputLost(): void {
    this.stopProgress();
  }

  private get tty(): boolean {
    return !this.json && Boolean(this.out.isTTY);
  }

  emit(event: BuildEvent): void {
    this.clearProgress();
    if (this.json) {
      this.write(this.out, JSON.stringify({ time: new Date().toISOString(), ...event }) + "\n");
      return;
    }
    const line = this.human(event);
    if (line === null) return;
    if (event.event === "message" && event.level !== "info") this.write(this.err, line + "\n");
    else this.write(this.out, line + "\n");
  }

  info(text: string, target?: string): void {
    this.emit({ event: "message", level: "info", text, target });
  }
  warn(text: string, target?: string): void {
    this.emit({ event: "message", level: "warning", text, target });
  }
  error(text: string, target?: string): void {
    this.emit({ event: "message", level: "error", text, target });
  }

  private human(e: BuildEvent): string | null {
    switch (e.event) {
      case "build-start":
        return `${e.dryRun ? "Dry run of" : "Building"} ${e.targets.length === 1 ? "target" : "targets"}: ${e.targets.join(" ") || "(none)"}`;
      case "target-start":
        return `==> ${e.target} (class ${e.class})${e.log ? `, log: ${e.log}` : ""}`;
      case "target-skip":
        return `==> ${e.target}: skipped, ${e.reason}`;
      case "step-start":
        return null;
      case "plan-step":
        return `  ${String(e.index).padStart(2, "0")}. ${e.step} (${e.chroot ? "in the chroot" : "on the host"}): ${e.file}\n       runs: ${e.command.join(" ")}`;
      case "step-end": {
        const mark = e.skipped ? "skip" : e.ok ? " ok " : "FAIL";
        const why = e.ok || e.skipped ? "" : e.signal ? ` (killed by ${e.signal})` : e.exitCode !== null ? ` (exit ${e.exitCode})` : "";
        return `  [${mark}] ${e.step.padEnd(28)} ${formatDuration(e.durationMs)}${why}`;
      }
      case "target-end":
        return `<== ${e.target}: ${e.status} in ${formatDuration(e.durationMs)}${e.error ? `: ${e.error}` : ""}`;
      case "message":
        return e.level === "info" ? `  ${e.text}` : `metro-engine build: ${e.level}: ${e.text}`;
      case "build-end":
        return `Build ${e.status} (exit ${e.exitCode}) in ${formatDuration(e.durationMs)}`;
    }
  }

  /** While a step runs on a terminal: elapsed time and the log's last line, redrawn every second. */
  startProgress(step: string, logPath: string | null): void {
    if (!this.tty) return;
    const started = Date.now();
    const draw = () => {
      const width = (this.out.columns || 80) - 1;
      const tail = logPath ? lastLine(logPath) : "";
      const text = `  [....] ${step.padEnd(28)} ${formatDuration(Date.now() - started)}  ${tail}`;
      this.write(this.out, `\r\x1b[K${text.slice(0, width)}`);
      this.progressShown = true;
    };
    draw();
    this.progress = setInterval(draw, 1000);
    this.progress.unref();
  }

  stopProgress(): void {
    if (this.progress) clearInterval(this.progress);
    this.progress = null;
    this.clearProgress();
  }

  private clearProgress(): void {
    if (this.progressShown) {
      this.write(this.out, "\r\x1b[K");
      this.progressShown = false;
    }
  }
}

function lastLine(path: string): string {
  try {
    // The log lies in a mirror others may write to: a link or a FIFO swapped in
    // for it is not followed and cannot block the builder (no link, no wait, files only).
    const opened = openForReading(path, "the log");
    if (opened === null) return "";
    const { fd, st } = opened;
    let buffer: Buffer;
    try {
      const length = Math.min(st.size, 2048);
      buffer = Buffer.alloc(length);
      readSync(fd, buffer, 0, length, st.size - length);
    } finally {
      closeSync(fd);
    }
    const lines = buffer.toString("utf8").split(/\r?\n|\r/).filter((l) => l.trim() !== "");
    return (lines[lines.length - 1] ?? "").replace(/[\x00-\x1f\x7f]/g, " ").trim();
  } catch {
    return "";
  }
}
