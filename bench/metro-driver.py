#!/usr/bin/env python3
"""Evaluates contexts with metro's own parser, for the side-by-side benchmark.

usage: metro-driver.py MODULES_DIR CONTEXTS_JSON check|dump

MODULES_DIR is the `modules` folder of a checkout of funtoo/metro (its
flexdata.py is imported from there, never copied). CONTEXTS_JSON is a list of
{"config", "args"}. Each context is set up the way metro's setup does it
(collect the entry file, path/config, the command-line values, the collect
queue, MAKEOPTS `auto`), then every key is expanded. `dump` also prints every
context's keys and values as one JSON list, as `metro-engine dump --json`
does; `check` prints only the number of keys that failed.
"""
import importlib, json, os, sys

if len(sys.argv) != 4 or sys.argv[3] not in ("check", "dump"):
    sys.stderr.write(__doc__)
    sys.exit(2)
sys.path.insert(0, os.path.abspath(sys.argv[1]))
flexdata = importlib.import_module("flexdata")
with open(sys.argv[2]) as f:
    contexts = json.load(f)
dump = sys.argv[3] == "dump"
# metro prints its parser's messages, and its python blocks restore
# sys.__stdout__: everything written to descriptor 1 is dropped, the answer
# goes to a copy of it.
out = os.fdopen(os.dup(1), "w")
devnull = os.open(os.devnull, os.O_WRONLY)
os.dup2(devnull, 1)
results = []
failed = 0
for ctx in contexts:
    entry = {"config": ctx["config"], "args": ctx["args"]}
    try:
        s = flexdata.collection(False)
        s.collect(ctx["config"], None)
        s["path/config"] = os.path.dirname(ctx["config"])
        for k, v in ctx["args"].items():
            s[k] = v
        s.runCollector()
        if "portage/MAKEOPTS" in s and s["portage/MAKEOPTS"] == "auto":
            s["portage/MAKEOPTS"] = "-j%d" % (os.cpu_count() + 1)
        entry["collected"] = s.collected
        settings = {}
        for key in sorted(s.keys()):
            try:
                settings[key] = {"value": s[key]}
            except Exception as e:
                failed += 1
                settings[key] = {"error": type(e).__name__, "message": str(e)}
        entry["settings"] = settings
    except Exception as e:
        entry["fatal"] = type(e).__name__
        entry["message"] = str(e)
    if dump:
        results.append(entry)
if dump:
    json.dump(results, out)
    out.write("\n")
else:
    out.write("%d contexts, %d keys failed\n" % (len(contexts), failed))
out.flush()
