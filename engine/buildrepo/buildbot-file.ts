// The `.buildbot` file is Python that buildrepo exec()s in its own module
// namespace, after defining its defaults. It is evaluated the same way here:
// by a real python3, in a namespace holding the same defaults and modules.
// One interpreter serves the whole run: it hands back the variables once,
// then answers map_build() for the rows a command needs, and resolves the
// mirror's owner and group for digestgen.

import { spawn, type ChildProcess } from "node:child_process";
import type { Readable, Writable } from "node:stream";
import { DIE_WITH_PARENT } from "../python";

export interface BuildbotConfig {
  builds: string[];
  arches: string[];
  subarches: string[];
  allBuilds: string[];
  allArches: string[];
  allSubarches: string[];
  indexIgnoreBuilds: string[];
  indexIgnoreSubarches: string[];
  staleDays: number;
  maxFailcount: number;
  keepNum: number;
  /** What the file printed while it was exec'd (buildrepo's stdout before anything else). */
  printed: string;
}

export interface MapBuildQuery {
  release: string;
  subarch: string;
  full: boolean;
  fullDate: string | null;
}

export interface MapBuildAnswer {
  /** What map_build printed. */
  printed: string;
  /** The `target=` and `extras=` lines buildrepo prints, as far as it got. */
  lines: string[];
  target: string | null;
  extras: string[] | null;
  /** "Type: message" when map_build or the formatting of its answer raised. */
  error: string | null;
}

/** The .buildbot file could not be evaluated (a Python error, a wrong type), or it called sys.exit. */
export class BuildbotError extends Error {
  constructor(
    message: string,
    readonly file: string,
    readonly line: number | null,
    /** Set when the file called sys.exit(): the status buildrepo would exit with. */
    readonly exitStatus: number | null = null,
  ) {
    super(message);
  }
}

// The defaults below are those buildrepo defines before exec'ing the file;
// the namespace also holds the modules buildrepo imported by then.
const DRIVER = String.raw`
import io, json, os, os.path, sys, glob, datetime, fnmatch, pwd, grp, subprocess, traceback
from subprocess import call
from pathlib import Path
from contextlib import contextmanager
${DIE_WITH_PARENT}
channel = os.fdopen(3, "w")
def reply(obj):
    channel.write(json.dumps(obj) + "\n")
    channel.flush()

path = sys.argv[1]
ns = {"__name__": "__main__", "__builtins__": __builtins__, "os": os, "sys": sys, "glob": glob,
      "datetime": datetime, "fnmatch": fnmatch, "pwd": pwd, "grp": grp, "json": json,
      "subprocess": subprocess, "call": call, "Path": Path, "contextmanager": contextmanager}
exec("""
builds = ()
arches = ()
subarches = ()
index_ignore_builds = ()
index_ignore_subarches = ()
all_builds = ()
all_arches = ()
all_subarches = ()
stale_days = 3
max_failcount = 3
keep_num = 2
def map_build(build, subarch, full, full_date):
    return "full"
""", ns)

def where(e):
    if isinstance(e, SyntaxError) and e.filename == path:
        return e.lineno
    line = None
    for frame, lineno in traceback.walk_tb(e.__traceback__):
        if frame.f_code.co_filename == path:
            line = lineno
    return line

def describe(e):
    return "%s: %s" % (type(e).__name__, e)

def evaluate():
    with open(path, "rb") as f:
        code = compile(f.read(), path, "exec")
    exec(code, ns)
    if len(ns["all_builds"]) == 0:
        ns["all_builds"] = ns["builds"]
        ns["all_arches"] = ns["arches"]
        ns["all_subarches"] = ns["subarches"]
    out = {}
    for name in ("builds", "arches", "subarches", "all_builds", "all_arches", "all_subarches",
                 "index_ignore_builds", "index_ignore_subarches"):
        v = ns[name]
        if not isinstance(v, (tuple, list)):
            raise TypeError("%s must be a tuple or a list of strings, not %s" % (name, type(v).__name__))
        for i, x in enumerate(v):
            if not isinstance(x, str):
                raise TypeError("%s[%d] must be a string, not %s" % (name, i, type(x).__name__))
        out[name] = list(v)
    for name in ("stale_days", "max_failcount", "keep_num"):
        v = ns[name]
        if isinstance(v, bool):
            v = int(v)
        if not isinstance(v, (int, float)) or v != v or v in (float("inf"), float("-inf")):
            raise TypeError("%s must be a number, not %s" % (name, type(v).__name__))
        out[name] = v
    return out

saved = sys.stdout
sys.stdout = buffer = io.StringIO()
try:
    config = evaluate()
except SystemExit as e:
    sys.stdout = saved
    code = e.code
    reply({"exit": code if isinstance(code, int) else (0 if code is None else 1), "message": "" if code is None or isinstance(code, int) else str(code), "printed": buffer.getvalue()})
    sys.exit(0)
except BaseException as e:
    sys.stdout = saved
    reply({"error": describe(e), "line": where(e), "printed": buffer.getvalue()})
    sys.exit(0)
sys.stdout = saved
config["printed"] = buffer.getvalue()
reply(config)

def map_one(q):
    lines = []
    target = extras = error = None
    sys.stdout = buffer = io.StringIO()
    try:
        mb = ns["map_build"](q["release"], q["subarch"], q["full"], q["full_date"])
        if type(mb) == str:
            mb = mb.split("+")
        lines.append("target=%s" % mb[0])
        target = "%s" % (mb[0],)
        if len(mb) > 1:
            lines.append("extras='%s'" % "+".join(mb[1:]))
            extras = list(mb[1:])
        else:
            lines.append("extras=''")
            extras = []
    except BaseException as e:
        error = describe(e)
    finally:
        sys.stdout = saved
    return {"printed": buffer.getvalue(), "lines": lines, "target": target, "extras": extras, "error": error}

for request in sys.stdin:
    q = json.loads(request)
    if q["op"] == "map_build":
        reply({"answers": [map_one(r) for r in q["rows"]]})
    elif q["op"] == "ids":
        try:
            reply({"uid": pwd.getpwnam(q["owner"]).pw_uid, "gid": grp.getgrnam(q["group"]).gr_gid})
        except BaseException as e:
            reply({"error": describe(e)})
`;

/** How long the file (or one batch of map_build calls) may run before it counts as hung. */
const TIMEOUT_MS = 60_000;

export class BuildbotSession {
  private readonly child: ChildProcess;
  private buffered = "";
  private readonly waiting: { resolve: (v: Record<string, unknown>) => void; reject: (e: Error) => void }[] = [];
  private stderr = "";
  private closed = false;

  private constructor(readonly file: string, python: string) {
    // The file's own writes to file descriptor 1 (os.system, subprocesses) go to our stderr, never into
    // the command's output; what it prints through sys.stdout is captured and handed back.
    this.child = spawn(python, ["-c", DRIVER, file], { stdio: ["pipe", 2, "pipe", "pipe"] });
    const replies = this.child.stdio[3] as Readable;
    replies.setEncoding("utf8");
    replies.on("data", (chunk: string) => {
      this.buffered += chunk;
      let nl: number;
      while ((nl = this.buffered.indexOf("\n")) !== -1) {
        const line = this.buffered.slice(0, nl);
        this.buffered = this.buffered.slice(nl + 1);
        this.waiting.shift()?.resolve(JSON.parse(line));
      }
    });
    (this.child.stderr as Readable).setEncoding("utf8");
    (this.child.stderr as Readable).on("data", (chunk: string) => {
      if (this.stderr.length < 65536) this.stderr += chunk;
    });
    const gone = (why: string) => {
      this.closed = true;
      for (const w of this.waiting.splice(0)) w.reject(new BuildbotError(why, this.file, null));
    };
    this.child.on("error", (e) => gone(`cannot run ${python}: ${e.message}`));
    this.child.on("close", () => gone(`python3 stopped while evaluating the file${this.stderr ? ": " + this.stderr.trim().split("\n").pop() : ""}`));
    (this.child.stdin as Writable).on("error", () => undefined);
  }

  private next(what: string): Promise<Record<string, unknown>> {
    if (this.closed) return Promise.reject(new BuildbotError("python3 is no longer running", this.file, null));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new BuildbotError(`${what} did not finish within ${TIMEOUT_MS / 1000} s`, this.file, null));
        this.close();
      }, TIMEOUT_MS);
      this.waiting.push({
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
  }

  private request(obj: unknown, what: string): Promise<Record<string, unknown>> {
    const reply = this.next(what);
    (this.child.stdin as Writable).write(JSON.stringify(obj) + "\n");
    return reply;
  }

  /** Starts python3 on the file and returns the session with the file's variables. */
  static async open(file: string, python = process.env.METRO_ENGINE_PYTHON || "python3"): Promise<{ session: BuildbotSession; config: BuildbotConfig }> {
    const session = new BuildbotSession(file, python);
    let r: Record<string, unknown>;
    try {
      r = await session.next("evaluating the file");
    } catch (e) {
      session.close();
      throw e;
    }
    if ("exit" in r) {
      session.close();
      const status = r.exit as number;
      throw new BuildbotError(`the file called sys.exit(${status})${r.message ? ": " + r.message : ""}`, file, null, status);
    }
    if ("error" in r) {
      session.close();
      throw new BuildbotError(String(r.error), file, (r.line as number | null) ?? null);
    }
    const config: BuildbotConfig = {
      builds: r.builds as string[],
      arches: r.arches as string[],
      subarches: r.subarches as string[],
      allBuilds: r.all_builds as string[],
      allArches: r.all_arches as string[],
      allSubarches: r.all_subarches as string[],
      indexIgnoreBuilds: r.index_ignore_builds as string[],
      indexIgnoreSubarches: r.index_ignore_subarches as string[],
      staleDays: r.stale_days as number,
      maxFailcount: r.max_failcount as number,
      keepNum: r.keep_num as number,
      printed: r.printed as string,
    };
    return { session, config };
  }

  /** map_build()'s answers, formatted as buildrepo formats them, for each query in order. */
  async mapBuild(queries: MapBuildQuery[]): Promise<MapBuildAnswer[]> {
    if (queries.length === 0) return [];
    const rows = queries.map((q) => ({ release: q.release, subarch: q.subarch, full: q.full, full_date: q.fullDate }));
    const r = await this.request({ op: "map_build", rows }, "map_build");
    return r.answers as MapBuildAnswer[];
  }

  /** pwd.getpwnam(owner).pw_uid and grp.getgrnam(group).gr_gid. */
  async ids(owner: string, group: string): Promise<{ uid: number; gid: number } | { error: string }> {
    const r = await this.request({ op: "ids", owner, group }, "looking up the owner");
    return "error" in r ? { error: String(r.error) } : { uid: r.uid as number, gid: r.gid as number };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    (this.child.stdin as Writable).end();
    this.child.kill();
  }
}
