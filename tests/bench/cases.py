"""The benchmark workloads under rcleak: `cases.py NAME` runs one case (TAP).

No timing here (scripts/bench.py measures; a timing never fails a test).
What is checked is what the numbers rest on: each workload that releases
what it acquires gives an empty report in every process it starts (a leak,
or a false report, in a timed loop would be measuring something else), and
the scale program's report holds exactly the descriptors and timers it keeps.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from rctest import SHIM, case, check, check_clean, check_eq, check_leaks, main, prog, run

LOOPS = ["open", "socket", "pipe", "timer", "setitimer", "mkdtemp", "fork", "pthread"]


def result_line(res):
    for line in res.stdout.splitlines():
        if line.startswith("RESULT "):
            return dict(kv.split("=", 1) for kv in line.split()[1:])
    return {}


def check_all_clean(res, what):
    """Every process of the run (a loop's fork children, the server's client)
    wrote an empty report, and rcleak printed nothing."""
    check_clean(res, what)
    for pid, rep in res.reports.items():
        check_eq(rep["leaks"], [], "%s: pid %d's report is empty" % (what, pid))


def make_loop_case(name):
    def fn():
        res = run([prog("rcbench_loops"), name, "300"], options="stack_depth=32")
        check_eq(res.status, 0, "%s: exit status" % name)
        r = result_line(res)
        check_eq((r.get("workload"), r.get("iters")), (name, "300"), "%s: ran 300 iterations" % name)
        check_all_clean(res, name)
        if name == "fork":
            # each child writes its own (empty) report: the loop's 300 and the warm-up's
            check(len(res.reports) > 300, "fork: the children reported too (%d reports)"
                  % len(res.reports))
    fn.__name__ = "loop_" + name
    return fn


for _n in LOOPS:
    case(make_loop_case(_n))


@case
def server():
    res = run([prog("rcbench_server"), "500"])
    check_eq(res.status, 0, "exit status")
    check_eq(result_line(res).get("iters"), "500", "served 500 connections")
    check_all_clean(res, "server")
    check_eq(len(res.reports), 2, "the server and its forked client each reported")


@case
def short():
    res = run([prog("rcbench_short")])
    check_eq(res.status, 0, "exit status")
    check_all_clean(res, "short process")


@case
def spawn_interleaved():
    """rcbench_spawn (the short-process row measured spawn by spawn) runs the
    short program under every variant, each in turn: one result per variant,
    and the rcleak variant's processes all wrote empty reports."""
    n = 20
    res = run([prog("rcbench_spawn"), str(n), prog("rcbench_short"), "-",
               prog("librcbench_empty.so"), SHIM], preload=False)
    check_eq(res.status, 0, "exit status")
    results = [l.split()[1] for l in res.stdout.splitlines() if l.startswith("RESULT ")]
    check_eq(results, ["variant=0", "variant=1", "variant=2"], "one result per variant")
    check_eq(len(res.reports), n, "each of the %d processes under rcleak reported" % n)
    check_eq(sorted(set(len(r["leaks"]) for r in res.reports.values())), [0], "every report empty")
    check_eq(res.stderr, "", "nothing printed")


def ring(argv, slices, what):
    """Run argv twice, native and under rcleak, chained in a ring of pipes
    taking turns for `slices` slices (RCBENCH_TURNS, bench.py's turns_row);
    returns the reports of the rcleak side's processes."""
    import json
    import subprocess
    import tempfile
    work = tempfile.mkdtemp(prefix="rctest-turns-")
    (ab_r, ab_w), (ba_r, ba_w) = os.pipe(), os.pipe()
    base = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "RCLEAK_OPTIONS")}
    envs = [dict(base, RCBENCH_TURNS="%d %d %d" % (ba_r, ab_w, slices)),
            dict(base, RCBENCH_TURNS="%d %d %d" % (ab_r, ba_w, slices), LD_PRELOAD=SHIM,
                 RCLEAK_OPTIONS="stack_depth=32:json_path=%s/r.%%p.json" % work)]
    procs = [subprocess.Popen(argv, env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, pass_fds=(ab_r, ab_w, ba_r, ba_w)) for e in envs]
    for fd in (ab_r, ab_w, ba_r):
        os.close(fd)
    os.write(ba_w, b"t")
    os.close(ba_w)
    outs = [p.communicate(timeout=60) for p in procs]
    for who, p, (out, err) in zip(("native", "rcleak"), procs, outs):
        check_eq(p.returncode, 0, "%s, %s: exit status" % (what, who))
        line = [l for l in out.splitlines() if l.startswith("TURNS ")]
        fields = dict(kv.split("=", 1) for kv in line[0].split()[1:]) if line else {}
        check_eq((fields.get("slices"), len(fields.get("ns", "").split(","))),
                 (str(slices), slices), "%s, %s: %d slice times" % (what, who, slices))
        check_eq(err, "", "%s, %s: nothing printed" % (what, who))
    reps = {}
    for n in os.listdir(work):
        with open(os.path.join(work, n)) as f:
            rep = json.load(f)
        reps[rep["pid"]] = rep
    check(procs[1].pid in reps, "%s: the rcleak process reported" % what)
    return reps


@case
def loop_turns():
    """The loop rows taken in turns: a native and an rcleak process run 10
    slices each, in alternation, and print the 10 slice times; the pipes the
    rcleak process inherited are not its leaks."""
    reps = ring([prog("rcbench_loops"), "open", "200"], 10, "open loop")
    check_eq([(p, r["leaks"]) for p, r in reps.items()], [(p, []) for p in reps],
             "open loop: nothing reported (the ring's pipes are inherited)")
    check_eq(len(reps), 1, "open loop: one process")


@case
def server_turns():
    """The server taken in turns: the rcleak server and its client each
    report nothing; the client, which waits for its replies meanwhile,
    finished every connection."""
    reps = ring([prog("rcbench_server"), "60"], 6, "server")
    check_eq(len(reps), 2, "server: the server and its forked client reported")
    check_eq(sorted(len(r["leaks"]) for r in reps.values()), [0, 0], "server: both reports empty")


@case
def scale():
    fds, timers = 1000, 500
    res = run([prog("rcbench_scale"), str(fds), str(timers)], options="cleanup=0")
    check_eq(res.status, 0, "exit status")
    r = result_line(res)
    check_eq((r.get("fds"), r.get("timers"), r.get("capped")), (str(fds), str(timers), "0"),
             "held what was asked")
    # descriptors 3.. in order of opening, timers numbered from 0 by the kernel
    want = [{"kind": "fd", "fd": 3 + i, "type": "chardev", "acquired_by": "open",
             "untracked": False} for i in range(fds)]
    want += [{"kind": "timer", "timer_id": i, "clock": "CLOCK_MONOTONIC", "armed": False,
              "untracked": False} for i in range(timers)]
    check_leaks(res.leaks, want, "exactly the held descriptors and timers")
    check_eq(res.report["summary"], {"total": fds + timers, "fd": fds, "timer": timers,
                                     "suppressed": 0}, "summary")
    stacks = {tuple((f.get("module"), f.get("offset")) for f in lk["stack"]) for lk in res.leaks}
    check_eq(len(stacks), 2, "one stack per call site (open, timer_create)")


main()
