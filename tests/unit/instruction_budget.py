"""Instruction budgets: what rcleak adds to one acquire+release at depth 32,
counted by callgrind (scripts/bench.py --counts), must stay within a budget
well above today's cost.  Counts do not move with the machine's load the way
times do, so this is a test, not a benchmark: it fails when a change makes
the hot path (interposition, registry, the replay of a cached walk) or a
thread's start-up cost far more than it does now, and the budget is then
raised deliberately or the change fixed.

usage: instruction_budget.py SHIM WORKDIR"""
import os
import re
import shutil
import subprocess
import sys

# row: (budget of added instructions per iteration, what it was when set)
BUDGETS = {
    "open": (700, 413),      # open+close
    "pipe": (760, 448),      # pipe+close (two descriptors)
    "timer": (1000, 584),    # timer_create+timer_delete
    "setitimer": (870, 507), # setitimer arm+disarm (two calls; the record in place)
    "pthread": (1700, 990),  # pthread_create+join (trampoline, record, replay caches)
    "mkdtemp": (1900, 1115), # mkdtemp+rmdir (path bookkeeping on both sides, record)
}


def main():
    shim, work = sys.argv[1], sys.argv[2]
    if not shutil.which("valgrind"):
        print("1..0 # SKIP valgrind not installed (scripts/install-deps.sh installs it)")
        return 0
    bench = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts",
                         "bench.py")
    r = subprocess.run([sys.executable, bench, "--counts", "--lib", shim, "--build-dir", work,
                        "--rows", ",".join(BUDGETS)], capture_output=True, text=True)
    rows = {m.group(1): (int(m.group(2)), int(m.group(3)))
            for m in re.finditer(r"^\| (\w+) \| (\d+) \| (\d+) \| \+?-?\d+ \|$", r.stdout, re.M)}
    n = 0
    failed = 0

    def check(ok, what):
        nonlocal n, failed
        n += 1
        failed += not ok
        print("%sok %d - %s" % ("" if ok else "not ", n, what))

    check(r.returncode == 0, "bench.py --counts ran (status %d)%s" % (
        r.returncode, "" if r.returncode == 0 else ": " + r.stderr.strip()[-300:]))
    for row, (budget, when_set) in BUDGETS.items():
        native, traced = rows.get(row, (0, 0))
        added = traced - native
        check(native > 0 and traced > native and added <= budget,
              "%s: rcleak adds %d instructions per iteration at depth 32 (budget %d, %d when set)"
              % (row, added, budget, when_set))
    print("1..%d" % n)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
