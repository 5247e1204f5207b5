"""The benchmark runner's contract (issue 5), on small sizes: every variant
runs and gets a median and a ratio to native in one table, native and rcleak
run the same number of iterations, the targets are printed, and the exit
status says whether every run could be measured, never how fast it was
(a library far over every target still exits 0; a crashing one exits 1,
naming the row; bad arguments exit 2).  The timings themselves are not
checked: they belong to the benchmarks, not to a test.

usage: bench_runner.py SHIM CRASH_LIB SLOW_LIB WORKDIR"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys

BENCH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts",
                     "bench.py")
ALL = ["native", "rcleak8", "rcleak32", "empty", "vg-none", "memcheck", "strace"]
# The columns of the main table, in order, for the variants that run on a row.
COLUMNS = {"open": ["native", "rcleak8", "rcleak32", None, "vg-none", "memcheck", "strace"],
           "short": ALL}
LABELS = {"open": "open+close", "short": "1,000 short processes (sh loop)"}

n = 0
failed = 0


def check(ok, what, detail=""):
    global n, failed
    n += 1
    failed += not ok
    print("%sok %d - %s" % ("" if ok else "not ", n, what))
    if not ok and detail:
        for line in str(detail).strip().splitlines()[-15:]:
            print("# " + line)


def bench(work, *args):
    return subprocess.run([sys.executable, BENCH, "--build-dir", work, "--quick", "--reps", "1",
                           "--loop-seconds", "0.02"] + list(args),
                          capture_output=True, text=True, timeout=600)


def table_row(stdout, label):
    """The cells of the first table row for LABEL (the medians table)."""
    for line in stdout.splitlines():
        if line.startswith("| %s |" % label):
            return [c.strip() for c in line.strip().strip("|").split("|")]
    return None


def every_variant(shim, work):
    js = os.path.join(work, "all.json")
    r = bench(work, "--lib", shim, "--rows", "open,short", "--variants", ",".join(ALL),
              "--json", js)
    check(r.returncode == 0 and "FAILED" not in r.stdout,
          "every variant on the open and short rows: exit 0, no failed run (status %d)"
          % r.returncode, r.stderr + r.stdout)
    try:
        with open(js) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        check(False, "--json wrote the results", e)
        return
    res = doc.get("results", {})
    check(doc.get("failures") == [], "the JSON lists no failures", doc.get("failures"))
    for row, cols in COLUMNS.items():
        want = [v for v in cols if v]
        got = res.get(row, {})
        measured = [v for v in want
                    if got.get(v) and all(run.get("metric", 0) > 0 for run in got[v])]
        check(measured == want, "%s: a measurement for each of %s" % (row, ", ".join(want)),
              "measured: %s" % measured)
        sizes = {v: {run["n"] for run in got.get(v, [])} for v in ("native", "rcleak8", "rcleak32")}
        check(len({frozenset(s) for s in sizes.values()}) == 1 and sizes["native"],
              "%s: native and both rcleak depths ran the same iterations" % row, sizes)
        leaks = [run.get("rcleak_lines") for v in ("rcleak8", "rcleak32") for run in got.get(v, [])]
        check(leaks and all(x == 0 for x in leaks),
              "%s: rcleak reported no leak of the benchmark program" % row, leaks)
        cells = table_row(r.stdout, LABELS[row])
        ok = cells is not None and len(cells) >= 2 + len(cols)
        bad = []
        if ok:
            for v, cell in zip(cols, cells[2:2 + len(cols)]):
                if v is None:
                    ok &= cell == "-"
                elif v == "native":
                    ok &= re.fullmatch(r"[0-9.e+]+", cell) is not None
                else:
                    good = re.fullmatch(r"[0-9.e+]+ \([0-9.]+x\)", cell) is not None
                    ok &= good
                    if not good:
                        bad.append((v, cell))
        check(ok, "%s: the table gives each variant's median and its ratio to native" % row,
              "cells: %s; bad: %s" % (cells, bad))
    texts = [t["text"] for t in doc.get("targets", [])]
    for what, pattern in (
            ("the per-acquisition target", r"^open\+close +added ns/acquisition at depth 32 <= 300"),
            ("the open+close ratio target", r"^open\+close loop at depth 32 <= 1\.10x native"),
            ("the short-process target", r"^many short processes <= 1\.3x native wall"),
            ("the Valgrind target", r"^open\+close +faster than Valgrind none\+fds by >= 2x"),
            ("the taking-turns measurement", r"^open\+close +taking turns, added ns/acquisition")):
        check(any(re.search(pattern, t) for t in texts), "targets: %s is judged" % what, texts)
    check(re.search(r"^- (PASS|MISS) ", r.stdout, re.M) is not None,
          "the targets are printed as PASS/MISS lines")


def slow_library(slow, work):
    js = os.path.join(work, "slow.json")
    r = bench(work, "--lib", slow, "--rows", "open", "--variants", "native,rcleak32",
              "--json", js)
    check(r.returncode == 0, "a library 10 us over the target on every close: exit 0 "
          "(status %d)" % r.returncode, r.stderr + r.stdout)
    try:
        with open(js) as f:
            targets = json.load(f)["targets"]
    except (OSError, ValueError, KeyError) as e:
        check(False, "its JSON has the targets", e)
        return
    per_acq = [t for t in targets if re.match(r"open\+close +added ns/acquisition", t["text"])]
    added = re.search(r": \+(\d+) ns cpu", per_acq[0]["text"]) if per_acq else None
    check(per_acq and per_acq[0]["pass"] is False and added and int(added.group(1)) >= 5000,
          "... and the target it misses is printed as a MISS of about 10 us", per_acq)


def crashing_library(crash, work):
    r = bench(work, "--lib", crash, "--rows", "open", "--variants", "native,rcleak32")
    check(r.returncode == 1, "a library that crashes the program: exit 1 (status %d)"
          % r.returncode, r.stderr + r.stdout)
    check(re.search(r"^FAILED rows: .*open", r.stdout, re.M) is not None,
          "... naming the row whose run failed", r.stdout)
    # The ring of variants taking turns: the others would wait for the dead
    # one's turn until the runner's timeout; the ring ends when one dies.
    check(re.search(r"turns open: taking turns: open under rcleak32: exit status -%d"
                    % signal.SIGSEGV, r.stdout) is not None,
          "... and the ring taking turns ends on the crash, not on its timeout", r.stdout)
    cells = table_row(r.stdout, LABELS["open"])
    check(cells is not None and re.fullmatch(r"[0-9.e+]+", cells[2]) is not None,
          "... and still printing what native measured", cells)


def bad_arguments(shim, work):
    for args, name in ((["--rows", "open,nosuchrow"], "nosuchrow"),
                       (["--variants", "native,nosuchvariant"], "nosuchvariant")):
        r = bench(work, "--lib", shim, *args)
        check(r.returncode == 2 and name in r.stderr,
              "%s: exit 2 with an error naming it (status %d)" % (" ".join(args), r.returncode),
              r.stderr)


def main():
    shim, crash, slow, work = sys.argv[1:5]
    missing = [t for t in ("valgrind", "strace", "gcc", "make") if not shutil.which(t)]
    if missing:
        print("1..0 # SKIP %s not installed (scripts/install-deps.sh installs them)"
              % ", ".join(missing))
        return 0
    os.makedirs(work, exist_ok=True)
    every_variant(shim, work)
    slow_library(slow, work)
    crashing_library(crash, work)
    bad_arguments(shim, work)
    print("1..%d" % n)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
