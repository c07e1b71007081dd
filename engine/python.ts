// `<?python ... ?>` blocks run in a real python3, as metro runs them: module
// code with globals {"os": os} and one locals dictionary shared by the blocks
// of one value. Values are batched so that a whole run (every key of every
// context of a build matrix) starts one interpreter, not one per value.

import { spawnSync } from "node:child_process";
import { describeError } from "./system-errors";

export interface PythonOutcome {
  /** What each block printed, for the blocks that ran to completion. */
  outputs: string[];
  /** The exception that stopped a block, as "Type: message", or null. */
  error: string | null;
}

/**
 * Python that makes the interpreter die with metro-engine (Linux's
 * parent-death signal): a CLI stopped by a signal (SIGINT, SIGTERM) while
 * python runs would otherwise leave it running on its own. Where the parent
 * is already gone (adopted by init), it stops at once. Needs `os` and `sys`.
 */
export const DIE_WITH_PARENT = String.raw`
try:
    import ctypes
    ctypes.CDLL(None).prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL
except Exception:
    pass
if os.getppid() == 1:
    sys.exit(1)
`;

const DRIVER = String.raw`
import io, json, os, sys
${DIE_WITH_PARENT}
jobs = json.load(sys.stdin)
results = []
for blocks in jobs:
    scope = {}
    outputs = []
    error = None
    for code in blocks:
        buffer = io.StringIO()
        saved = sys.stdout
        sys.stdout = buffer
        try:
            exec(code, {"os": os}, scope)
        except BaseException as e:
            error = "%s: %s" % (type(e).__name__, e)
        finally:
            sys.stdout = saved
        if error is not None:
            break
        outputs.append(buffer.getvalue())
    results.append({"outputs": outputs, "error": error})
with os.fdopen(3, "w") as channel:
    json.dump(results, channel)
`;

/** How long one interpreter may run a batch of blocks before it is stopped. */
const PYTHON_TIMEOUT_MS = 120_000;

export class PythonRunner {
  private readonly done = new Map<string, PythonOutcome>();
  private readonly pending = new Map<string, string[]>();
  /** How many interpreters this runner started (for tests and benchmarks). */
  interpreters = 0;

  constructor(private readonly python = process.env.METRO_ENGINE_PYTHON || "python3") {}

  private static key(blocks: string[]): string {
    return JSON.stringify(blocks);
  }

  /** Queues a value's blocks for the next batch. */
  request(blocks: string[]): void {
    const k = PythonRunner.key(blocks);
    if (!this.done.has(k)) this.pending.set(k, blocks);
  }

  /** The outcome of a value's blocks, running them now (with anything queued) if needed. */
  run(blocks: string[]): PythonOutcome {
    const k = PythonRunner.key(blocks);
    let r = this.done.get(k);
    if (!r) {
      this.pending.set(k, blocks);
      this.flush();
      r = this.done.get(k)!;
    }
    return r;
  }

  /** Runs every queued value in one interpreter. */
  flush(): void {
    if (this.pending.size === 0) return;
    const keys = [...this.pending.keys()];
    const jobs = [...this.pending.values()];
    this.pending.clear();
    this.interpreters++;
    const proc = spawnSync(this.python, ["-c", DRIVER], {
      input: JSON.stringify(jobs),
      stdio: ["pipe", "ignore", "pipe", "pipe"],
      maxBuffer: 256 * 1024 * 1024,
      timeout: PYTHON_TIMEOUT_MS,
    });
    let results: PythonOutcome[] | null = null;
    try {
      const channel = proc.output?.[3];
      if (channel) results = JSON.parse(channel.toString("utf8"));
    } catch {
      results = null;
    }
    const timedOut = (proc.error as NodeJS.ErrnoException | undefined)?.code === "ETIMEDOUT";
    const failure = timedOut
      ? `${this.python} was stopped after ${PYTHON_TIMEOUT_MS / 1000} s without finishing the blocks (one of them never ends?)`
      : proc.error
      ? describeError(proc.error)
      : `${this.python} failed${proc.stderr?.length ? ": " + proc.stderr.toString("utf8").trim().split("\n").pop() : ""}`;
    keys.forEach((k, i) => this.done.set(k, results?.[i] ?? { outputs: [], error: failure }));
  }
}
