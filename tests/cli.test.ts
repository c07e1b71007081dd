import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runCli as run } from "./support/run-cli";
import { PROJECT } from "./support/shared";
import { writeTree } from "./support/trees";

describe("cli: metro-engine", () => {
  const root = writeTree({
    "metro.conf": "[collect ./more.conf]\nname: $[target]-x\nportage/MAKEOPTS: auto\nsteps: [\necho $[name]\n$[[extra:lax]]\n]\n",
    "more.conf": "[section s]\nk: v\n",
    "bad.conf": "ok: 1\n[section]\nx: $[y\nfoo:bar\n",
  });
  const config = join(root, "metro.conf");

  it("get prints one value, multi-line values as their lines", async () => {
    assert.deepEqual(await run(["get", "name", "--config", config, "target:", "stage3"]), { code: 0, out: "stage3-x\n", err: "" });
    assert.equal((await run(["get", "steps", "--config", config, "target:", "t"])).out, "echo t-x\n");
  });

  it("replaces MAKEOPTS auto with -jN, N = processors + 1", async () => {
    assert.equal((await run(["get", "portage/MAKEOPTS", "--config", config, "target:", "t"])).out, `-j${cpus().length + 1}\n`);
  });

  it("get of an undefined or failing key exits 1 with a message", async () => {
    const r = await run(["get", "name", "--config", config]);
    assert.equal(r.code, 1);
    // Where it fails, as file:line:col (the reference $[target] in the value of name), and the command-line hint.
    assert.match(r.err, /metro\.conf:2:7: name: "target" is not defined; no file of the tree defines it: pass it on the command line: target: VALUE \[metro\/undefined-element\]/);
  });

  it("get places an error at the key's definition, and gives no place for a key nothing defines", async () => {
    const tree = writeTree({ "metro.conf": "q: 1\n[when q is 2]\nz: 1\n[section s when q is]\nw: 1\n" });
    try {
      const at = (key: string) => run(["get", key, "--config", join(tree, "metro.conf")]);
      // These named the file's first line, where nothing about them is written.
      assert.deepEqual(await at("nope"), { code: 1, out: "", err: 'nope: "nope" is not defined [metro/undefined-element]\n' });
      assert.match((await at("z")).err, new RegExp(`^${join(tree, "metro.conf")}:3:1: z: no condition of "z" is true \\[metro/no-true-condition\\]\n$`));
      assert.match((await at("s/w")).err, new RegExp(`^${join(tree, "metro.conf")}:5:1: s/w: invalid condition "q is"`));
    } finally {
      rmSync(tree, { recursive: true, force: true });
    }
  });

  it("rejects bad arguments with exit 2 and a clear message", async () => {
    const cases: [string[], RegExp][] = [
      [["get", "name", "--config", config, "target", "stage3"], /"target" is not a key/],
      [["get", "name", "--config", config, "target:"], /has no value/],
      [["dump", "--config", join(root, "nope.conf")], /does not exist/],
      [["frobnicate"], /unknown command/],
      [["check", "--format", "xml", "--config", config], /--format must be/],
      [["parse"], /at least one FILE/],
    ];
    for (const [args, message] of cases) {
      const r = await run(args);
      assert.equal(r.code, 2, args.join(" "));
      assert.match(r.err, message);
      assert.doesNotMatch(r.err, /\n\s+at /);
    }
  });

  it("parse prints file:line:col diagnostics and exits 1 on errors", async () => {
    const r = await run(["parse", join(root, "bad.conf")]);
    assert.equal(r.code, 1);
    const lines = r.out.trim().split("\n");
    assert.ok(lines.some((l) => l.startsWith(`${join(root, "bad.conf")}:2:1: error:`) && l.endsWith("[metro/bad-annotation]")), r.out);
    assert.ok(lines.some((l) => l.includes(":4:1: warning:") && l.endsWith("[metro/ignored-line]")), r.out);
    assert.equal((await run(["parse", join(root, "more.conf")])).code, 0);
    const tree = JSON.parse((await run(["parse", "--json", join(root, "more.conf")])).out);
    assert.equal(tree.ast.statements[1].name.qualified, "s/k");
    assert.equal(tree.ast.statements[1].value.parts[0].text, "v");
  });

  it("dump --json has the golden shape; a fatal context exits 1", async () => {
    const r = await run(["dump", "--json", "--config", config, "target:", "t"]);
    assert.equal(r.code, 0);
    const d = JSON.parse(r.out);
    assert.deepEqual(d.collected, [config, join(root, "more.conf")]);
    assert.deepEqual(d.settings["s/k"], { value: "v" });
    assert.deepEqual(d.settings["steps"], { value: ["echo t-x"] });
    const f = await run(["dump", "--json", "--config", join(root, "bad.conf")]);
    assert.equal(f.code, 1);
    assert.equal(JSON.parse(f.out).fatal, "metro/bad-annotation");
  });

  it("dump and get fail on the empty name as metro does, though `: x` outside a section defines it", async () => {
    const tree = writeTree({ "metro.conf": ": x\na: 1\n" });
    try {
      const d = await run(["dump", "--json", "--config", join(tree, "metro.conf")]);
      assert.equal(d.code, 0);
      assert.equal(JSON.parse(d.out).settings[""].error, "metro/empty-name");
      assert.deepEqual(JSON.parse(d.out).settings.a, { value: "1" });
      const g = await run(["get", "", "--config", join(tree, "metro.conf")]);
      assert.equal(g.code, 1);
      assert.match(g.err, /the empty name cannot be looked up/);
    } finally {
      rmSync(tree, { recursive: true, force: true });
    }
  });

  it("check reports in text, json and SARIF, exit 1 with errors", async () => {
    const t = await run(["check", "--config", config]);
    assert.equal(t.code, 1);
    // metro's run reads `target` first: that is where it stops; `name` is never read, so its reference only warns.
    assert.match(t.out, /metro\.conf:1:1: error: the \(no target\) run reads target, path\/mirror\/target\/path, .*which are not defined: metro stops at target; no file of the tree defines it: pass it on the command line: target: VALUE \[metro\/undefined-element\]/);
    assert.match(t.out, /metro\.conf:2:7: warning: "target" is not defined \(unused by the \(no target\) run; metro never expands it\)/);
    const j = JSON.parse((await run(["check", "--format", "json", "--config", config])).out).filter((f: { file: string }) => f.file === config);
    assert.equal(j[0].code, "metro/undefined-element");
    assert.equal(j[0].severity, "error");
    const s = JSON.parse((await run(["check", "--format", "sarif", "--config", config])).out);
    assert.equal(s.version, "2.1.0");
    type Result = { ruleId: string; locations: { physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } } }[] };
    const results = (s.runs[0].results as Result[]).filter((r) => r.locations[0].physicalLocation.artifactLocation.uri.endsWith("metro.conf"));
    assert.equal(results[0].ruleId, "metro/undefined-element");
    // The keys the run reads that nothing defines (at the entry file), then the reference nothing reads (line 2).
    const lines = results.map((r: { locations: { physicalLocation: { region: { startLine: number } } }[] }) => r.locations[0].physicalLocation.region.startLine);
    assert.equal(lines[0], 1);
    assert.equal(lines[lines.length - 1], 2);
  });

  it("check exits 0 on a tree whose run completes, and --strict fails on warnings", async () => {
    const examples = join(PROJECT, "examples", "metro.conf");
    assert.equal((await run(["check", "--config", examples, "target:", "stage3"])).code, 0);
    // A value nothing reads that cannot be expanded: a warning, not an error.
    const w = await run(["check", "--config", examples, "target:", "stage3", "unread/value:", "$[no/such/name]"]);
    assert.equal(w.code, 0, w.out + w.err);
    assert.match(w.out, /warning: "no\/such\/name" is not defined \(unused by the stage3 run; metro never expands it\)/);
    assert.equal((await run(["check", "--strict", "--config", examples, "target:", "stage3", "unread/value:", "$[no/such/name]"])).code, 1);
  });

  it("check: a bad reference or condition the run never expands is one warning, not an error (metro fails only on expanding it)", async () => {
    const examples = join(PROJECT, "examples");
    const own = readFileSync(join(examples, "metro.conf"), "utf8").replace("install: $[path/config]", `install: ${examples}`);
    const junk = ["x: $[b", "y: $[target:foo]", "z: $[target:zap:lax]", "m: [", "echo $[qq", "]", "[section q when foo is]", "w: 1"];
    const tree = writeTree({ "metro.conf": `${own}\n[section junk]\n${junk.join("\n")}\n` });
    try {
      const r = await run(["check", "--format", "json", "--config", join(tree, "metro.conf"), "target:", "stage3"]);
      const mine = (JSON.parse(r.out) as { file: string; severity: string; code: string; range: { start: { line: number } } }[]).filter((f) => f.file === join(tree, "metro.conf"));
      const line = (text: string) => own.split("\n").length + 1 + junk.indexOf(text);
      assert.deepEqual(
        mine.map((f) => [f.range.start.line, f.severity, f.code]),
        [
          [line("x: $[b"), "warning", "metro/unterminated-reference"],
          [line("y: $[target:foo]"), "warning", "metro/unknown-modifier"],
          [line("z: $[target:zap:lax]"), "warning", "metro/repeated-modifier"],
          // In a multi-line value, at the line holding the `$[`.
          [line("echo $[qq"), "warning", "metro/unterminated-reference"],
          // The condition metro cannot evaluate, at the element it governs (it was placed at the file's first line).
          [line("w: 1"), "warning", "metro/invalid-condition"],
        ],
        r.out,
      );
      assert.equal(r.code, 0, r.out);
      // A context that stops in its setup judges no value: the parser's error stands.
      const stopped = await run(["check", "--config", join(tree, "metro.conf"), "target:", "stage3", "release/type:", "$[official"]);
      assert.equal(stopped.code, 1);
      assert.match(stopped.out, new RegExp(`metro\\.conf:${line("x: $[b") + 1}:4: error: \`\\$\\[\` has no closing`));
    } finally {
      rmSync(tree, { recursive: true, force: true });
    }
  });

  it("check: a finding of contexts with different targets speaks of each context's run, not of the first one's", async () => {
    const examples = join(PROJECT, "examples");
    const own = readFileSync(join(examples, "metro.conf"), "utf8").replace("install: $[path/config]", `install: ${examples}`);
    const tree = writeTree({
      "metro.conf": `${own}\n[section junk]\nx: $[no/such]\n`,
      "contexts.json": JSON.stringify([2, 3, 3].map((n, i) => ({ name: `c${i}`, config: "metro.conf", args: { target: `stage${n}` } }))),
    });
    try {
      const r = await run(["check", "--contexts", join(tree, "contexts.json")]);
      assert.equal(r.code, 0, r.out);
      const line = r.out.split("\n").find((l) => l.includes('"no/such"'));
      // It said "unused by the stage2 run" of all three contexts.
      assert.match(line ?? "", /"no\/such" is not defined \(unused by each context's run; metro never expands it\)(; .*)? \(in all 3 contexts\)/);
      const stage3 = await run(["check", "--contexts", join(tree, "contexts.json"), "--format", "json"]);
      assert.ok(JSON.parse(stage3.out).every((f: { message: string }) => !f.message.includes("the stage2 run")), stage3.out);
    } finally {
      rmSync(tree, { recursive: true, force: true });
    }
  });

  it("check uses metro-contexts.json when given no context", async () => {
    const tree = writeTree({
      "metro.conf": "a: $[b]\n",
      "metro-contexts.json": JSON.stringify([{ name: "one", config: "metro.conf", args: { b: "1" } }, { name: "two", config: "metro.conf", args: {} }]),
    });
    const r = await run(["check"], tree);
    assert.equal(r.code, 1);
    // Read by nothing the run uses: a warning, still with the hint before the list of contexts.
    assert.match(r.out, /"b" is not defined \(unused by the \(no target\) run; metro never expands it\); no file of the tree defines it: pass it on the command line: b: VALUE \(in two\)/);
  });

  it("help CMD and CMD --help print that command's own help and exit 0, running nothing", async () => {
    for (const name of ["check", "dump", "get", "parse", "build"]) {
      for (const args of [["help", name], [name, "--help"], [name, "-h"]]) {
        const r = await run(args);
        assert.equal(r.code, 0, args.join(" "));
        assert.ok(r.out.startsWith(`usage: metro-engine ${name}`), `${args.join(" ")}: ${r.out}`);
        assert.match(r.out, /--help/);
        assert.equal(r.err, "");
      }
    }
    // check --help with a context names no file and checks nothing.
    assert.deepEqual(await run(["check", "--config", config, "--help"]), await run(["help", "check"]));
    assert.notEqual((await run(["help", "check"])).out, (await run(["help", "dump"])).out);
    // -h as the value of a KEY: pair is a value, not a request for help.
    assert.equal((await run(["get", "k", "--config", join(root, "more.conf"), "k:", "-h"])).out, "-h\n");
    const general = await run(["help"]);
    assert.equal(general.code, 0);
    for (const name of ["parse", "get", "dump", "check", "build"]) assert.match(general.out, new RegExp(`^  ${name} `, "m"));
  });

  it("--version prints the package's version", async () => {
    const version = JSON.parse(readFileSync(join(PROJECT, "package.json"), "utf8")).version;
    for (const word of ["--version", "-V", "version"]) assert.deepEqual(await run([word]), { code: 0, out: `metro-engine ${version}\n`, err: "" });
  });

  it("suggests the command a near miss meant, and exits 2", async () => {
    for (const [typo, meant] of [["chek", "check"], ["dupm", "dump"], ["biuld", "build"], ["pars", "parse"]]) {
      const r = await run([typo, "--config", config]);
      assert.equal(r.code, 2);
      assert.match(r.err, new RegExp(`unknown command "${typo}"; did you mean "${meant}"\\?`));
    }
    const far = await run(["xyzzyplugh"]);
    assert.equal(far.code, 2);
    assert.doesNotMatch(far.err, /did you mean/);
    assert.match((await run(["help", "chek"])).err, /did you mean "check"/);
  });

  it("every usage error exits 2 with words: a folder or a FIFO as config, unknown options, bad --contexts", async () => {
    const dir = join(root, "etc");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(root, "contexts.json"), JSON.stringify([{ config: "metro.conf", args: { b: "1" } }]));
    writeFileSync(join(root, "empty.json"), "[]");
    const cases: [string[], RegExp][] = [
      // A CI job given an empty list passed having checked nothing.
      [["check", "--contexts", join(root, "empty.json")], /empty\.json: lists no context: nothing to do/],
      [["dump", "--contexts", join(root, "empty.json")], /lists no context/],
      [["check", "--config", dir], /config ".*etc" is a folder; name the entry file/],
      [["dump", "--config", dir], /is a folder/],
      [["get", "x", "--config", dir], /is a folder/],
      [["build", "--config", dir, "target:", "stage3"], /is a folder/],
      [["check", "--contexts", dir], /is a folder, not a file/],
      [["check", "--contexts", join(root, "none.json")], /does not exist/],
      [["check", "--contexts", config], /not valid JSON/],
      // Dropped without a word before: the contexts file names every context and its values.
      [["dump", "--contexts", join(root, "contexts.json"), "b:", "2"], /--contexts takes no KEY: VALUE arguments \(b:\)/],
      [["check", "--contexts", join(root, "contexts.json"), "--config", config], /--contexts and --config cannot be given together/],
      [["graph", "--contexts", join(root, "contexts.json"), "target:", "stage3"], /--contexts takes no KEY: VALUE/],
      [["check", "--frobnicate", "--config", config], /unknown option --frobnicate/],
      [["get", "--config", config], /exactly one KEY/],
      [["dump", "--config"], /needs a value/],
    ];
    for (const [args, message] of cases) {
      const r = await run(args);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.err}`);
      assert.match(r.err, message);
      assert.doesNotMatch(r.err, /\bE[A-Z]{3,}\b/, "no errno name");
      assert.doesNotMatch(r.err, /\n\s+at /);
    }
  });

  it("no errno name reaches the user: unreadable files, a FIFO, a folder where a file goes", async () => {
    const fifo = join(root, "fifo");
    spawnSync("mkfifo", [fifo]);
    const tree = writeTree({ "metro.conf": "[collect ./sub]\n", "sub/x.conf": "a: 1\n", "v.conf": "x: << ./sub\ny: << ./nope\n" });
    try {
      const outputs = [
        await run(["parse", fifo]),
        await run(["parse", join(tree, "sub"), join(tree, "missing.conf")]),
        await run(["check", "--config", join(tree, "metro.conf")]),
        await run(["get", "x", "--config", join(tree, "v.conf")]),
        await run(["get", "y", "--config", join(tree, "v.conf")]),
        await run(["dump", "--config", join(tree, "v.conf")]),
        // A folder the builder must create lies below a file.
        await run(["build", "--config", join(PROJECT, "examples", "metro.conf"), "target:", "stage3", "path/mirror:", join(tree, "v.conf", "m"), "path/tmp:", join(tree, "v.conf", "t")]),
      ];
      assert.match(outputs[6].err, /cannot (create the folder|inspect) .*v\.conf\/m\S*: a part of the path is not a folder/);
      assert.match(outputs[0].err, /fifo: is a FIFO, not a regular file/);
      assert.match(outputs[1].err, /sub: is a folder, not a file\n.*missing\.conf: does not exist/);
      for (const r of outputs.slice(0, 5)) assert.notEqual(r.code, 0);
      for (const r of outputs) {
        assert.doesNotMatch(r.out + r.err, /\bE[A-Z]{3,}\b/);
      }
    } finally {
      rmSync(fifo, { force: true });
      rmSync(tree, { recursive: true, force: true });
    }
  });

  it("a name metro takes from the command line is named once, with how to pass it", async () => {
    const tree = writeTree({
      "metro.conf": "[collect ./etc/$[target/build].conf]\na: $[target/build]\nb: $[target/build]-$[target/subarch]\nc: $[defined/elsewhere]\nd: $[target/subarch]\n",
      "etc/other.conf": "defined/elsewhere: 1\n",
    });
    try {
      const r = await run(["check", "--config", join(tree, "metro.conf")]);
      assert.equal(r.code, 1);
      const hints = r.out.split("\n").filter((l) => l.includes("pass it on the command line"));
      assert.deepEqual(
        hints.map((l) => /pass it on the command line: (\S+): VALUE/.exec(l)?.[1]).sort(),
        ["target/build", "target/subarch"],
        r.out,
      );
      // The first finding about each name carries it: here a dropped collect or an unused value, since this run stops earlier.
      assert.ok(hints.every((l) => / (error|warning): /.test(l)), r.out);
      // Defined by a file the context does not read: not a command-line name.
      assert.match(r.out, /"defined\/elsewhere" is not defined \(unused by the \(no target\) run; metro never expands it\) \[/);
      const g = await run(["get", "b", "--config", join(tree, "metro.conf")]);
      assert.equal(g.code, 1);
      assert.match(g.err, /"target\/build" is not defined; .*pass it on the command line: target\/build: VALUE/);
      assert.doesNotMatch((await run(["check", "--config", join(tree, "metro.conf"), "target/build:", "x", "target/subarch:", "y"])).out, /pass it on the command line: target\/(build|subarch)/);
    } finally {
      rmSync(tree, { recursive: true, force: true });
    }
  });

  it("SARIF locations resolve to the files from any working directory", async () => {
    const tree = writeTree({ "metro.conf": "[collect ./etc/a.conf]\n", "etc/a.conf": "x: $[nope]\np: $[q]\nq: $[p]\n" });
    try {
      const r = await run(["check", "--format", "sarif", "--config", join(tree, "metro.conf")], "/");
      assert.equal(r.code, 1);
      const sarif = JSON.parse(r.out);
      const bases: Record<string, { uri: string }> = sarif.runs[0].originalUriBaseIds ?? {};
      const resolveUri = (loc: { uri: string; uriBaseId?: string }) => {
        const base = loc.uriBaseId === undefined ? undefined : bases[loc.uriBaseId].uri;
        if (base !== undefined) assert.ok(base.startsWith("file:///") && base.endsWith("/"), base);
        return fileURLToPath(new URL(loc.uri, base));
      };
      const results = sarif.runs[0].results;
      assert.ok(results.length >= 2);
      assert.ok(results.some((x: { relatedLocations: unknown[] }) => x.relatedLocations.length > 0), "a circular reference has related locations");
      // This tree is no build: its run stops on what it reads first (reported at metro.conf); the values of etc/a.conf are never read.
      for (const res of results) {
        const loc = res.locations[0].physicalLocation;
        if (resolveUri(loc.artifactLocation) === join(tree, "metro.conf")) continue;
        assert.equal(resolveUri(loc.artifactLocation), join(tree, "etc", "a.conf"));
        for (const rel of res.relatedLocations) assert.equal(resolveUri(rel.physicalLocation.artifactLocation), join(tree, "etc", "a.conf"));
        const line = readFileSync(join(tree, "etc", "a.conf"), "utf8").split("\n")[loc.region.startLine - 1];
        assert.ok(line.startsWith(res.ruleId === "metro/undefined-element" ? "x:" : "p:") || line.startsWith("q:"), `${res.ruleId} at ${line}`);
      }
    } finally {
      rmSync(tree, { recursive: true, force: true });
    }
  });

  it("check reports what only the tree's index knows about files no context reads, as the editor shows it", async () => {
    const tree = writeTree({
      "metro.conf": "a: 1\n",
      "targets/other.spec": "x: $[never/defined]\ny: 1\ny: 2\n",
    });
    try {
      const r = await run(["check", "--format", "json", "--config", join(tree, "metro.conf")]);
      const findings = JSON.parse(r.out) as { file: string; code: string; severity: string; message: string }[];
      const spec = findings.filter((f) => f.file === join(tree, "targets/other.spec"));
      assert.deepEqual(spec.map((f) => [f.code, f.severity]), [["metro/undefined-reference", "hint"], ["metro/duplicate-definition", "warning"]], JSON.stringify(spec));
      assert.match(spec[0].message, /no file in this tree defines `never\/defined`, and no context of this tree reads this file \(unused\)/);
    } finally {
      rmSync(tree, { recursive: true, force: true });
    }
  });

  after(() => rmSync(root, { recursive: true, force: true }));
});
