#!/usr/bin/env python3
"""Runs a command and prints its wall time and peak memory as JSON.

usage: measure.py OUTPUT -- COMMAND [ARG ...]

The command's standard output goes to OUTPUT (a file, or /dev/null); its
standard error is passed through. Prints {"wall_ms", "cpu_ms",
"max_rss_kb", "status"}: the time from start to exit, the processor time
(user plus system), and the peak resident memory of that process (getrusage through wait4), so both sides of the benchmark are
measured the same way.
"""
import json, os, subprocess, sys, time

if len(sys.argv) < 4 or sys.argv[2] != "--":
    sys.stderr.write(__doc__)
    sys.exit(2)
with open(sys.argv[1], "wb") as out:
    start = time.perf_counter()
    p = subprocess.Popen(sys.argv[3:], stdout=out)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - start
cpu = usage.ru_utime + usage.ru_stime
print(json.dumps({"wall_ms": round(wall * 1000, 1), "cpu_ms": round(cpu * 1000, 1), "max_rss_kb": usage.ru_maxrss, "status": os.waitstatus_to_exitcode(status)}))
