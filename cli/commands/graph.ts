// `metro-engine graph`: the collect graph of a context (or the uses of one
// key) as DOT, SVG or JSON.

import { evaluateContext } from "../../engine/evaluate";
import { GraphLayoutError, collectGraph, keyGraph, toDot, toSvg } from "../../engine/graph";
import { contextLabel } from "../../analysis/contexts-file";
import { UsageError, optionValue } from "../args";
import { CONFIG_OPTION, CONTEXTS_OPTION, contextsFor, type Command } from "../command";
import { commandWorkspace } from "../heap";
import { excerptList, quote } from "../../language";

const FORMATS = ["dot", "svg", "json"];

export const graphCommand: Command = {
  name: "graph",
  summary: "draw how a context is put together (collects, or the uses of a key)",
  synopsis: "graph [--config FILE | --contexts FILE [--context NAME]] [--format dot|svg|json] [--key NAME] [KEY: VALUE ...]",
  details: `Evaluates one context and prints its collect graph: every file read is a
node, grouped by folder; every [collect ...] an edge labelled as written,
blue when its condition held, dotted grey when its path became nothing,
dashed red when metro dropped it (still queued when the queue stopped). The
spec that defines a steps/... key lists it. With --key NAME, the elements
whose values use NAME and the elements NAME uses, in the files defining them.

--format dot (the default) is Graphviz input ("| dot -Tsvg"); svg is laid out
and drawn without Graphviz; json is the model. <?python blocks never run.
With a contexts file, --context picks one by name (default: the first).

Exit codes: 0 (also when the context stops: the graph shows what was read
until then), 1 when --key names an element nothing defines or uses or when
an SVG cannot be laid out (a chain of thousands of files, more than 300
files side by side), 2 usage.`,
  options: [
    CONFIG_OPTION,
    CONTEXTS_OPTION,
    { name: "--context", value: "NAME", help: "the context of a contexts file to draw (default: the first)" },
    { name: "--format", alias: "-f", value: "FORMAT", help: "dot (default), svg or json" },
    { name: "--key", value: "NAME", help: "draw who uses NAME and what it uses, across files" },
  ],
  maxPositional: 0,
  run(args) {
    const format = optionValue(args, "--format") ?? "dot";
    if (!FORMATS.includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(", ")}, not ${quote(format, '"')}`);
    const contexts = contextsFor(args);
    const wanted = optionValue(args, "--context");
    const chosen = wanted === undefined ? contexts[0] : contexts.find((c) => c.name === wanted || contextLabel(c.args, c.config) === wanted);
    if (!chosen) throw new UsageError(`no context named ${quote(String(wanted), '"')}; the contexts are: ${excerptList(contexts.map((c) => JSON.stringify(c.name || contextLabel(c.args, c.config))))}`);
    const key = optionValue(args, "--key");
    const ctx = evaluateContext({ config: chosen.config, args: chosen.args }, { allowExec: false, trackReferences: key !== undefined, workspace: commandWorkspace() });
    const graph = key === undefined ? collectGraph(ctx) : keyGraph(ctx, key);
    if (key !== undefined && graph.edges.length === 0 && ctx.definitions(key).length === 0 && !ctx.has(key)) {
      process.stderr.write(`metro-engine: ${quote(String(key), '"')} is not defined in this context and no value uses it\n`);
      return 1;
    }
    if (format === "json") process.stdout.write(JSON.stringify(graph, null, 1) + "\n");
    else if (format === "dot") process.stdout.write(toDot(graph));
    else {
      let svg: string;
      try {
        svg = toSvg(graph);
      } catch (e) {
        if (!(e instanceof GraphLayoutError)) throw e;
        process.stderr.write(`metro-engine graph: ${e.message}\n`);
        return 1;
      }
      process.stdout.write(svg);
    }
    return 0;
  },
};
