// Runs metro-engine's main() in this process, capturing what it writes: the
// fast suite's way to test the command line (tests/system/ runs the bundled
// executable).

import { main } from "../../cli/main";

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

export async function runCli(args: string[], cwd?: string): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const { write: stdoutWrite } = process.stdout;
  const { write: stderrWrite } = process.stderr;
  const before = process.cwd();
  process.stdout.write = ((chunk: string | Uint8Array) => out.push(String(chunk)) > 0) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => err.push(String(chunk)) > 0) as typeof process.stderr.write;
  try {
    if (cwd) process.chdir(cwd);
    const code = await main(args);
    return { code, out: out.join(""), err: err.join("") };
  } finally {
    process.stdout.write = stdoutWrite;
    process.stderr.write = stderrWrite;
    process.chdir(before);
  }
}
