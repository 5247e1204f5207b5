#!/usr/bin/env python3
"""rcleak benchmarks: rcleak beside native, Valgrind and strace, in one run.

    scripts/bench.py [--quick] [--reps N] [--rows LIST] [--variants LIST]
                     [--build-dir DIR] [--lib PATH] [--json FILE] [--markdown FILE]

Builds librcleak.so in its own build directory (default /work/build-bench,
or $BUILD_DIR) and the benchmark programs of tests/bench/ with gcc -O2, then
runs every row (workload) under every variant, round-robin within each
repetition so that machine drift hits all variants alike, and prints one
table of medians and ratios to native, then the issue's targets as
PASS/MISS (informational only).

Exit status: 0 when everything ran, 1 when some run failed (crashed, timed
out, printed no result), 2 on a usage or build error. Never a timing.

Only the Python standard library is used.
"""

import argparse
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH_SRC = os.path.join(REPO, "tests", "bench")

# ---------------------------------------------------------------- variants

VARIANTS = ["native", "rcleak8", "rcleak32", "empty", "vg-none", "memcheck", "strace"]
VARIANT_TITLE = {
    "native": "native",
    "rcleak8": "rcleak d8",
    "rcleak32": "rcleak d32",
    "empty": "empty preload",
    "vg-none": "vg none+fds",
    "memcheck": "memcheck+fds",
    "strace": "strace -f",
}
# Variants that run the same iteration count as native (the rcleak ratios
# must compare equal work); the others are scaled so one run stays short.
FAST_VARIANTS = ("native", "rcleak8", "rcleak32", "empty")
# An empty preloaded library (tests/bench/rcbench_empty.c): what loading any
# library costs, the baseline for the rows where that is most of it.  Run
# only there, to keep the run short.
EMPTY_ROWS = ("fork", "pthread", "short")
# The short-process program spawned directly, the variants taken in turn for
# every spawn (rcbench_spawn): how many spawns of each.
INTERLEAVED_SPAWNS = {"full": 4000, "quick": 300}
# The loop rows run once more taking turns (turns_row): native and rcleak d32
# (and the empty library on EMPTY_ROWS, Valgrind none+fds on TURN_VG_ROWS)
# chained in a ring, each running a
# slice of about TURN_SLICE_NS in turn, TURN_SLICES slices each, TURN_RUNS
# times.  The order after native alternates between runs: in a ring of three
# a variant's place matters (what ran just before a slice leaves the caches
# and the page tables in its state), by several microseconds per fork.
TURN_SLICES = {"full": 1000, "quick": 300}
TURN_RUNS = {"full": 4, "quick": 2}
TURN_SLICE_NS = 1e6
# Valgrind joins the ring on the syscall loops whose 2x target it decides
# (fork would make a run last minutes; pthread's is out of reach: Valgrind
# runs it faster than native).
TURN_VG_ROWS = ("open", "socket", "pipe", "timer", "setitimer", "mkdtemp")


def wrap(variant, row, argv, ctx):
    """Return (argv, extra_env) running ARGV under VARIANT."""
    env = {}
    if variant == "empty":
        env["LD_PRELOAD"] = ctx["progs"]["empty"]
        return argv, env
    if variant.startswith("rcleak"):
        depth = variant[len("rcleak"):]
        opts = ["stack_depth=" + depth] + row.get("rcleak_opts", [])
        env["LD_PRELOAD"] = ctx["lib"]
        env["RCLEAK_OPTIONS"] = ":".join(opts)
        return argv, env
    if variant in ("vg-none", "memcheck"):
        tool = "none" if variant == "vg-none" else "memcheck"
        vg = ["valgrind", "-q", "--tool=" + tool, "--track-fds=yes"]
        if row.get("multi_process"):
            # Without it Valgrind would watch only the shell / make itself.
            vg.append("--trace-children=yes")
        return vg + argv, env
    if variant == "strace":
        return ["strace", "-f", "-qq", "-o", "/dev/null",
                "-e", "trace=" + row["strace"]] + argv, env
    return argv, env


# -------------------------------------------------------------------- rows
#
# kind "loop":   rcbench_loops W N, in-program ns/iter.
# kind "server": rcbench_server N, in-program ns/connection.
# kind "short":  many_short.sh N rcbench_short, whole wall / N.
# kind "make":   make -j2 NFILES=N in a generated project, whole wall / files.
# kind "scale":  rcbench_scale FDS TIMERS, memory and exit (report) time.

LOOP_ROWS = [
    # name, label, strace set, native probe n, slow probe n, CPU time meaningful
    ("open", "open+close", "open,openat,close", 20000, 1000, True),
    ("socket", "socket+close", "socket,close", 5000, 500, True),
    ("pipe", "pipe+close", "pipe,pipe2,close", 5000, 500, True),
    ("timer", "timer_create+timer_delete", "timer_create,timer_delete", 20000, 1000, True),
    ("setitimer", "setitimer arm+disarm", "setitimer", 20000, 1000, True),
    ("mkdtemp", "mkdtemp+rmdir (tmpfs)", "mkdir,rmdir", 500, 100, True),
    # CPU time would miss the children's share (and rcleak's work in them).
    ("fork", "fork+waitpid", "clone,clone3,fork,vfork,wait4,waitid,exit_group", 300, 10, False),
    # Thread start-up and join are wake-ups across CPUs: wall time only.
    ("pthread", "pthread_create+join", "clone,clone3,exit,futex", 3000, 200, False),
]


def make_rows(quick):
    rows = []
    for name, label, st, probe_fast, probe_slow, cpu in LOOP_ROWS:
        rows.append({
            "name": name, "label": label, "kind": "loop", "strace": st,
            "probe": {"fast": probe_fast, "slow": probe_slow},
            "unit": "ns/iter", "syscall_loop": True, "cpu": cpu,
        })
    rows.append({
        "name": "short", "label": "1,000 short processes (sh loop)",
        "kind": "short", "multi_process": True,
        "strace": "%process,open,openat,close",
        "full_n": 300 if quick else 1000,
        "probe": {"fast": None, "slow": 3},
        "unit": "us/proc",
    })
    rows.append({
        "name": "make", "label": "make -j2, generated C project",
        "kind": "make", "multi_process": True,
        "strace": "%process,open,openat,close,pipe,pipe2,dup2",
        "full_n": 8 if quick else 50,
        "probe": {"fast": None, "slow": 1},
        "unit": "ms/file",
    })
    rows.append({
        "name": "server", "label": "loopback server, 127.0.0.1",
        "kind": "server",
        "strace": "socket,bind,listen,accept,accept4,connect,close,clone,clone3,wait4",
        "full_n": 5000 if quick else 20000,
        "probe": {"fast": None, "slow": 300},
        "unit": "us/conn",
    })
    # Two sizes: the small one gives the fixed cost (libraries mapped,
    # tables) so that the per-resource slope can be computed.
    for name, n in (("scale-1k", 1000), ("scale", 100000)):
        rows.append({
            "name": name,
            "label": "scale: %s fds + %s timers live at exit" % (
                "1k" if n == 1000 else "100k", "1k" if n == 1000 else "100k"),
            "kind": "scale",
            "strace": "open,openat,close,timer_create,prlimit64,setrlimit",
            "full_n": n,
            "unit": "ms wall",
            "variants": ("native", "rcleak8", "rcleak32") if n == 1000 else None,
            # Report cost alone: cleanup (deleting 100k timers) is a separate job.
            "rcleak_opts": ["cleanup=0"],
        })
    return rows


# ----------------------------------------------------------------- running

class RunFailure(Exception):
    pass


def run_once(argv, env_extra, ctx, timeout, cwd=None):
    """Run ARGV under rcbench_run; return dict(wall_ns, reaped_ns, maxrss_kb, stdout, stderr)."""
    env = dict(ctx["base_env"])
    env.update(env_extra)
    if "LD_PRELOAD" in env:
        # rcbench_run hands it to the command only, not to itself.
        env["RCBENCH_PRELOAD"] = env.pop("LD_PRELOAD")
    out_path = os.path.join(ctx["tmp"], "run.out")
    err_path = os.path.join(ctx["tmp"], "run.err")
    meas_path = os.path.join(ctx["tmp"], "run.meas")
    if os.path.exists(meas_path):
        os.unlink(meas_path)
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        try:
            p = subprocess.Popen([ctx["progs"]["run"], meas_path] + argv, stdout=out, stderr=err,
                                 stdin=subprocess.DEVNULL, env=env, cwd=cwd,
                                 start_new_session=True)
        except OSError as e:
            raise RunFailure("cannot start %s: %s" % (argv[0], e))
        try:
            p.wait(timeout=timeout)
            killed = False
        except subprocess.TimeoutExpired:
            killed = True
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()
    with open(out_path, "r", errors="replace") as f:
        stdout = f.read()
    with open(err_path, "r", errors="replace") as f:
        stderr = f.read()
    if killed:
        raise RunFailure("timed out after %d s: %s" % (timeout, " ".join(argv)))
    if p.returncode != 0:
        raise RunFailure("exit status %d: %s\n%s" % (p.returncode, " ".join(argv),
                                                      tail(stderr)))
    try:
        with open(meas_path) as f:
            meas = dict(kv.split("=", 1) for kv in f.read().split())
    except (OSError, ValueError) as e:
        raise RunFailure("no measurement from rcbench_run: %s" % e)
    return {"wall_ns": int(meas["wall_ns"]), "reaped_ns": int(meas["reaped_ns"]),
            "maxrss_kb": int(meas["maxrss_kb"]), "faults": int(meas.get("faults", -1)),
            "stdout": stdout, "stderr": stderr}


def tail(text, lines=12):
    return "\n".join("    " + l for l in text.rstrip().splitlines()[-lines:])


def parse_results(stdout):
    """Every "RESULT key=value ..." line of a benchmark program, as dicts."""
    return [dict(kv.split("=", 1) for kv in line.split()[1:])
            for line in stdout.splitlines() if line.startswith("RESULT ")]


def parse_result(stdout):
    res = parse_results(stdout)
    if not res:
        raise RunFailure("no RESULT line in output:\n" + tail(stdout))
    return res[0]


def rcleak_lines(stderr):
    return sum(1 for l in stderr.splitlines() if "rcleak" in l)


def run_row(row, variant, n, ctx):
    """Run ROW once under VARIANT with size N; return a measurement dict."""
    kind = row["kind"]
    prog = ctx["progs"]
    timeout = ctx["timeout"]
    cwd = None
    if kind == "loop":
        argv = [prog["loops"], row["name"], str(n)]
        if row["name"] == "mkdtemp" and ctx.get("shm_tmp"):
            # On tmpfs: a disk-backed /tmp's journal (and other jobs on the
            # machine writing to it) makes this row noise, not a measurement.
            env_tmp = {"TMPDIR": ctx["shm_tmp"]}
    elif kind == "server":
        argv = [prog["server"], str(n)]
    elif kind == "short":
        argv = ["/bin/sh", os.path.join(BENCH_SRC, "many_short.sh"), str(n), prog["short"]]
    elif kind == "make":
        cwd = ctx["project"]
        clean = subprocess.run(["make", "-s", "clean"], cwd=cwd, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
        if clean.returncode != 0:
            raise RunFailure("make clean failed:\n" + tail(clean.stderr))
        argv = ["make", "-s", "-j2", "NFILES=%d" % n]
    elif kind == "scale":
        n_timers = n
        argv = [prog["scale"], str(n), str(n_timers)]
    else:
        raise AssertionError(kind)
    wargv, env = wrap(variant, row, argv, ctx)
    if kind == "loop" and row["name"] == "mkdtemp" and ctx.get("shm_tmp"):
        env.update(env_tmp)
    json_path = None
    if kind == "scale" and variant.startswith("rcleak"):
        json_path = os.path.join(ctx["tmp"], "scale-report.json")
        if os.path.exists(json_path):
            os.unlink(json_path)
        # verbosity=1: the shim prints what its report cost ("report took N us").
        env["RCLEAK_OPTIONS"] += ":verbosity=1:json_path=" + json_path
    r = run_once(wargv, env, ctx, timeout, cwd=cwd)
    m = {"n": n, "wall_ns": r["wall_ns"], "maxrss_kb": r["maxrss_kb"]}
    if r["faults"] >= 0 and kind != "scale":
        m["faults"] = r["faults"] / (n + 1 if kind == "make" else n)  # per iteration, as metric
    if variant.startswith("rcleak"):
        m["rcleak_lines"] = rcleak_lines(r["stderr"])
    if kind in ("loop", "server"):
        res = parse_result(r["stdout"])
        m["metric"] = float(res["ns_per_iter"])
        if "cpu_ns_per_iter" in res:
            m["cpu"] = float(res["cpu_ns_per_iter"])
    elif kind == "short":
        m["metric"] = r["wall_ns"] / n
    elif kind == "make":
        if not os.path.exists(os.path.join(cwd, "app")):
            raise RunFailure("make produced no app")
        m["metric"] = r["wall_ns"] / (n + 1)   # + main.c
    elif kind == "scale":
        res = parse_result(r["stdout"])
        m["fds"] = int(res["fds"])
        m["timers"] = int(res["timers"])
        m["capped"] = res.get("capped") == "1"
        m["rss_kb"] = int(res["rss_kb"])
        # ru_maxrss lags VmRSS by the kernel's batched RSS counters.
        m["maxrss_kb"] = max(m["maxrss_kb"], m["rss_kb"])
        m["setup_ns"] = int(res["setup_ns"])
        m["exit_ns"] = r["reaped_ns"] - int(res["exit_mono_ns"])
        m["metric"] = r["wall_ns"]
        m["capped_msg"] = " ".join(l.strip() for l in r["stderr"].splitlines()
                                   if l.startswith("rcbench:"))
        if json_path:
            m["json_leaks"] = count_json_leaks(json_path)
            m["json_bytes"] = os.path.getsize(json_path) if os.path.exists(json_path) else 0
            m["text_bytes"] = len(r["stderr"])
            took = re.findall(r"rcleak: pid (\d+): .*report took (\d+) us", r["stderr"])
            if took:
                m["shim_report_us"] = max(int(us) for _, us in took)
    return m


def interleaved_short(ctx, quick):
    """The short program spawned N times under native, the empty library and
    rcleak d32, the three taken in turn for every spawn: {variant: [{metric:
    median us per process, p25, mean}]} (one entry: it is one run)."""
    n = INTERLEAVED_SPAWNS["quick" if quick else "full"]
    order = ["native", "empty", "rcleak32"]
    env = dict(ctx["base_env"], RCLEAK_OPTIONS="stack_depth=32")
    argv = [ctx["progs"]["spawn"], str(n), ctx["progs"]["short"], "-", ctx["progs"]["empty"],
            ctx["lib"]]
    r = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=ctx["timeout"])
    if r.returncode != 0:
        raise RunFailure("rcbench_spawn failed:\n" + tail(r.stderr))
    out = {}
    for kv in parse_results(r.stdout):
        out[order[int(kv["variant"])]] = [{
            "n": n, "metric": int(kv["median_ns"]) / 1e3, "p25": int(kv["p25_ns"]) / 1e3,
            "mean": float(kv["mean_ns"]) / 1e3}]
    if set(out) != set(order):
        raise RunFailure("rcbench_spawn printed %d results, not 3" % len(out))
    if rcleak_lines(r.stderr):
        raise RunFailure("rcleak reported leaks of the short program:\n" + tail(r.stderr))
    return out


def turns_row(row, ctx, quick, native_ns, run=0, vg=False):
    """ROW's loop under native, (the empty library,) rcleak d32, taking turns
    slice by slice (rcbench_loops, RCBENCH_TURNS): {variant: [slice ns/iter,
    ...]} for one run.  A slice of one variant runs between two of native's,
    a millisecond or so each, so the machine's slow phases (seconds long)
    fall on both sides of a comparison alike.  All of them are pinned to one
    CPU: otherwise each wake-up may land on the other CPU, and two virtual
    CPUs of a shared host differ in speed by more than rcleak costs (open
    +close: -130 to +730 ns per run unpinned, +70 to +190 pinned)."""
    others = ((["empty"] if row["name"] in EMPTY_ROWS else []) + ["rcleak32"] +
              (["vg-none"] if vg else []))
    order = ["native"] + others[run % len(others):] + others[:run % len(others)]
    k = TURN_SLICES["quick" if quick else "full"]
    per_slice = max(1, int(round(TURN_SLICE_NS / native_ns)))
    iters = k * per_slice
    # A ring of pipes: variant i waits on pipes[i] and passes to pipes[i+1].
    pipes = [os.pipe() for _ in order]
    procs, outs = [], []
    cpu = max(os.sched_getaffinity(0))
    try:
        for i, v in enumerate(order):
            prog = ([ctx["progs"]["loops"], row["name"]] if row["kind"] == "loop" else
                    [ctx["progs"]["server"]])
            argv, env = wrap(v, row, prog + [str(iters)], ctx)
            env = dict(ctx["base_env"], **env)
            if row["name"] == "mkdtemp" and ctx.get("shm_tmp"):
                env["TMPDIR"] = ctx["shm_tmp"]
            env["RCBENCH_TURNS"] = "%d %d %d" % (pipes[i][0], pipes[(i + 1) % len(order)][1], k)
            outs.append((tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+")))
            procs.append(subprocess.Popen(argv, env=env, stdout=outs[-1][0],
                                          stderr=outs[-1][1], stdin=subprocess.DEVNULL,
                                          pass_fds=[fd for p in pipes for fd in p], text=True,
                                          preexec_fn=lambda: os.sched_setaffinity(0, {cpu})))
    finally:
        for r, w in pipes[1:]:
            os.close(r)
            os.close(w)
        os.close(pipes[0][0])
    os.write(pipes[0][1], b"t")  # native's first turn
    os.close(pipes[0][1])
    # Every member holds every pipe's write end, so one that dies leaves the
    # next waiting for a turn that never comes: end the ring as soon as one
    # fails (its output is in files, so nobody blocks on a full pipe).
    deadline = time.monotonic() + ctx["timeout"]
    while None in [p.poll() for p in procs]:  # a list: poll every one
        if any(p.returncode not in (None, 0) for p in procs) or time.monotonic() > deadline:
            for q in procs:
                if q.poll() is None:
                    q.kill()
            for q in procs:
                q.wait()
            if all(p.returncode in (0, -signal.SIGKILL) for p in procs):
                raise RunFailure("taking turns: %s timed out" % row["name"])
            break
        time.sleep(0.2)  # rare wake-ups: the ring is timing itself meanwhile
    out = {}
    for v, p, (fo, fe) in zip(order, procs, outs):
        fo.seek(0)
        fe.seek(0)
        stdout, stderr = fo.read(), fe.read()
        fo.close()
        fe.close()
        if p.returncode == -signal.SIGKILL:
            continue  # stopped because another member failed
        if p.returncode != 0:
            raise RunFailure("taking turns: %s under %s: exit status %d\n%s" % (
                row["name"], v, p.returncode, tail(stderr)))
        if v.startswith("rcleak") and rcleak_lines(stderr):
            raise RunFailure("taking turns: rcleak reported leaks of %s:\n%s" % (
                row["name"], tail(stderr)))
        line = [l for l in stdout.splitlines() if l.startswith("TURNS ")]
        if not line:
            raise RunFailure("taking turns: no TURNS line from %s under %s" % (row["name"], v))
        ns = [float(x) for x in dict(kv.split("=", 1) for kv in line[0].split()[1:])["ns"].split(",")]
        if len(ns) != k:
            raise RunFailure("taking turns: %d slices, not %d" % (len(ns), k))
        out[v] = ns
    out["iters_per_slice"] = per_slice
    return out


def fmt_ns(ns):
    return "%.0f ns" % ns if ns < 1000 else "%.2f us" % (ns / 1000)


def turns_compare(run, v):
    """Variant V against native in one run taken in turns: the median over
    slices of V's slice minus the mean of native's slices just before and
    just after it (which removes drift slower than a slice pair, whatever
    its direction), and the median of the same as a ratio."""
    nat, x = run["native"], run[v]
    diffs, ratios = [], []
    for i in range(len(nat) - 1):
        around = (nat[i] + nat[i + 1]) / 2
        diffs.append(x[i] - around)
        ratios.append(x[i] / around)
    return statistics.median(diffs), statistics.median(ratios)


def interleaved_make(ctx, quick):
    """The make row's project built two files at a time (`make -s -j2 mA.o
    mB.o`), native and rcleak d32 taking turns for every pair, the order
    alternating: one build of a pair takes ~0.1 s, so drift on the scale
    of seconds hits both alike.  {"ratios": [rcleak / native per pair],
    "native_ms": [...], "rcleak_ms": [...]}."""
    cwd = ctx["project"]
    nfiles = 8 if quick else 50
    rounds = 1 if quick else 3
    envs = {"native": dict(ctx["base_env"]),
            "rcleak32": dict(ctx["base_env"], LD_PRELOAD=ctx["lib"],
                             RCLEAK_OPTIONS="stack_depth=32")}
    out = {"ratios": [], "native_ms": [], "rcleak_ms": []}
    k = 0
    for _ in range(rounds):
        for a in range(0, nfiles - 1, 2):
            objs = ["m%02d.o" % a, "m%02d.o" % (a + 1)]
            t = {}
            order = ["native", "rcleak32"] if k % 2 == 0 else ["rcleak32", "native"]
            k += 1
            for v in order:
                for o in objs:
                    if os.path.exists(os.path.join(cwd, o)):
                        os.unlink(os.path.join(cwd, o))
                t0 = time.monotonic_ns()
                r = subprocess.run(["make", "-s", "-j2"] + objs, cwd=cwd, env=envs[v],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                   timeout=ctx["timeout"])
                t[v] = time.monotonic_ns() - t0
                if r.returncode != 0:
                    raise RunFailure("make %s under %s failed:\n%s" % (" ".join(objs), v,
                                                                       tail(r.stderr)))
                if rcleak_lines(r.stderr):
                    raise RunFailure("rcleak reported leaks of make:\n" + tail(r.stderr))
            out["ratios"].append(t["rcleak32"] / t["native"])
            out["native_ms"].append(t["native"] / 1e6)
            out["rcleak_ms"].append(t["rcleak32"] / 1e6)
    return out


def count_json_leaks(path):
    try:
        with open(path) as f:
            doc = json.load(f)
        return len(doc.get("leaks", []))
    except (OSError, ValueError) as e:
        return "invalid (%s)" % e


# ------------------------------------------------------------ calibration

def calibrate(row, variant, ctx):
    """Pick the size N for ROW under VARIANT."""
    kind = row["kind"]
    if kind == "scale":
        return row["full_n"]
    fast = variant in FAST_VARIANTS
    if not fast and variant in ctx["calibrated"].get(row["name"], {}):
        return ctx["calibrated"][row["name"]][variant]
    if kind == "loop":
        # native, rcleak8 and rcleak32 all run native's count, sized from a
        # native probe; the slow tools never run more than that.
        key = row["name"]
        if key not in ctx["fast_n"]:
            probe = row["probe"]["fast"]
            ns = run_row(row, "native", probe, ctx)["metric"]
            # Capped at 300k: far enough for steady state, and below the
            # point (~420k timer_create on Linux >= 6.13, whose timer IDs only
            # grow) where a registry without tombstone reuse would degrade;
            # that cliff is a separate finding (BENCHMARKS.md), not a row.
            ctx["fast_n"][key] = clamp(int(ctx["target_fast"] / ns), 200, 300000)
        if fast:
            return ctx["fast_n"][key]
        probe = row["probe"]["slow"]
        m = run_row(row, variant, probe, ctx)
        n = clamp(int(ctx["target_slow"] / m["metric"]), 5, ctx["fast_n"][key])
    else:
        if fast:
            return row["full_n"]
        probe = row["probe"]["slow"]
        m = run_row(row, variant, probe, ctx)
        n = clamp(int(ctx["target_slow_proc"] / m["metric"]), min(probe, row["full_n"]),
                  row["full_n"])
    ctx["calibrated"].setdefault(row["name"], {})[variant] = n
    if n == probe:
        # The probe already was a run of the chosen size: keep it as one.
        ctx["probe_runs"][(row["name"], variant)] = m
    return n


def clamp(v, lo, hi):
    return max(lo, min(hi, v))


# ------------------------------------------------------------------ report

def med(ms, key="metric"):
    vals = [m[key] for m in ms if isinstance(m.get(key), (int, float))]
    return statistics.median(vals) if vals else None


def fmt_metric(row, ns):
    if ns is None:
        return "-"
    u = row["unit"]
    if u == "ns/iter":
        return "%.0f" % ns if ns < 100000 else "%.3g" % ns
    if u == "us/proc" or u == "us/conn":
        return "%.1f" % (ns / 1e3)
    if u == "ms/file":
        return "%.0f" % (ns / 1e6)
    if u == "ms wall":
        return "%.0f" % (ns / 1e6)
    return "%g" % ns


def fmt_ratio(r):
    if r is None:
        return ""
    if r >= 100:
        return "%.0fx" % r
    if r >= 10:
        return "%.1fx" % r
    return "%.2fx" % r


def build_tables(rows, results, variants):
    out = []
    vs = [v for v in variants]
    out.append("| row | unit | " + " | ".join(VARIANT_TITLE[v] for v in vs) +
               " | +ns/acq d8 wall (cpu) | +ns/acq d32 wall (cpu) |")
    out.append("|---|---|" + "---|" * len(vs) + "---|---|")
    for row in rows:
        res = results[row["name"]]
        if row["kind"] == "scale":
            continue
        nat = med(res.get("native", []))
        cells = []
        for v in vs:
            ms = res.get(v)
            if not ms:
                cells.append("-")
                continue
            x = med(ms)
            c = fmt_metric(row, x)
            if v != "native" and nat:
                c += " (%s)" % fmt_ratio(x / nat)
            cells.append(c)
        added = []
        for v in ("rcleak8", "rcleak32"):
            x = med(res.get(v, []))
            if x is None or nat is None:
                added.append("-")
            elif row["kind"] == "loop":
                c = "%+.0f" % (x - nat)
                xc, nc = med(res.get(v, []), "cpu"), med(res.get("native", []), "cpu")
                if row.get("cpu") and xc is not None and nc is not None:
                    c += " (%+.0f)" % (xc - nc)
                added.append(c)
            else:
                added.append("")
        out.append("| %s | %s | %s | %s |" % (row["label"], row["unit"], " | ".join(cells),
                                            " | ".join(added)))
    # Sizes actually run (Valgrind and strace runs are scaled down).
    def size(row, res, v):
        ms = res.get(v)
        return str(ms[0]["n"]) if ms else "-"
    out += row_table(rows, results, vs, "Iterations per run (the slow tools run fewer; every "
                     "number above is per iteration):", size)

    def with_native(res, v, key):
        return med(res.get(v, []), key), med(res.get("native", []), key)

    def wall(row, res, v):
        x, nat = with_native(res, v, "wall_ns")
        if x is None:
            return "-"
        c = "%.0f" % (x / 1e6)
        if v in FAST_VARIANTS and v != "native" and nat:
            c += " (%s)" % fmt_ratio(x / nat)
        return c
    out += row_table(rows, results, vs, "Whole-process wall time, median ms (start-up and exit "
                     "included):", wall)

    # Page faults (whole process tree, the kernel's count): steady where the
    # times of a shared machine are not, and for the rows that start
    # processes (fork, short, make) what most of rcleak's cost there is made
    # of (a fault is ~2-4 us on a VM).  rcleak and native only.
    def faults(row, res, v):
        x, nat = with_native(res, v, "faults")
        if x is None:
            return "-"
        f = "%.1f" if x >= 1 else "%.3f"
        c = f % x
        if v != "native" and nat is not None:
            c += " (" + (f.replace("%", "%+") % (x - nat)) + ")"
        return c
    fast = [v for v in vs if v in FAST_VARIANTS]
    if any(med(results[r["name"]].get(v, []), "faults") is not None
           for r in rows if r["kind"] != "scale" for v in fast):
        out += row_table(rows, results, fast, "Page faults per iteration, median (the process "
                         "and every descendant it waited for, start-up included; the kernel's "
                         "count, not a time):", faults)
    return out


def row_table(rows, results, vs, title, cell):
    """A titled table with one line per row (scale rows apart) and one column
    per variant: cell(row, row's results, variant)."""
    out = ["", title, ""]
    out.append("| row | " + " | ".join(VARIANT_TITLE[v] for v in vs) + " |")
    out.append("|---|" + "---|" * len(vs))
    for row in rows:
        if row["kind"] == "scale":
            continue
        res = results[row["name"]]
        out.append("| %s | %s |" % (row["name"], " | ".join(cell(row, res, v) for v in vs)))
    return out


def scale_table(rows, results, variants):
    out = []
    srows = [r for r in rows if r["kind"] == "scale"]
    if not srows:
        return out
    out.append("| scale row | variant | fds | timers | setup ns/res | VmRSS before exit KB "
               "| peak RSS KB | exit ms | wall ms | JSON leaks |")
    out.append("|---|---|---|---|---|---|---|---|---|---|")
    for row in srows:
        res = results[row["name"]]
        for v in variants:
            ms = res.get(v)
            if not ms:
                continue
            m0 = ms[0]
            total = m0["fds"] + m0["timers"]
            out.append("| %s | %s | %d | %d | %.0f | %.0f | %.0f | %.1f | %.0f | %s |" % (
                row["name"], VARIANT_TITLE[v], m0["fds"], m0["timers"],
                med(ms, "setup_ns") / total, med(ms, "rss_kb"), med(ms, "maxrss_kb"),
                med(ms, "exit_ns") / 1e6, med(ms, "wall_ns") / 1e6,
                m0.get("json_leaks", "")))
    return out


def scale_derived(results):
    """Per-resource memory and report time for rcleak, from the scale rows."""
    d = {}
    big = results.get("scale", {})
    small = results.get("scale-1k", {})
    if not big.get("native"):
        return d
    nb = big["native"][0]
    res_big = nb["fds"] + nb["timers"]
    for v in ("rcleak8", "rcleak32"):
        if not big.get(v):
            continue
        e = {}
        live_added = (med(big[v], "rss_kb") - med(big["native"], "rss_kb")) * 1024
        peak_added = (med(big[v], "maxrss_kb") - med(big["native"], "maxrss_kb")) * 1024
        e["live_added_bytes"] = live_added
        e["peak_added_bytes"] = peak_added
        e["live_per_res"] = live_added / res_big
        e["peak_per_res"] = peak_added / res_big
        if small.get(v) and small.get("native"):
            ns = small["native"][0]
            res_small = ns["fds"] + ns["timers"]
            live_small = (med(small[v], "rss_kb") - med(small["native"], "rss_kb")) * 1024
            peak_small = (med(small[v], "maxrss_kb") - med(small["native"], "maxrss_kb")) * 1024
            e["live_slope"] = (live_added - live_small) / (res_big - res_small)
            e["peak_slope"] = (peak_added - peak_small) / (res_big - res_small)
            e["fixed_bytes"] = live_small
        e["report_ms"] = (med(big[v], "exit_ns") - med(big["native"], "exit_ns")) / 1e6
        e["resources"] = res_big
        d[v] = e
    return d


def paired(results, row, v, key="metric", diff=False):
    """The repetitions of V and native paired by round (the k-th run of each
    ran in the same round, seconds apart, so drift slower than a round
    cancels): their ratios, or differences with diff=True."""
    a = [m.get(key) for m in results.get(row, {}).get(v, [])]
    b = [m.get(key) for m in results.get(row, {}).get("native", [])]
    out = []
    for x, y in zip(a, b):
        if isinstance(x, (int, float)) and isinstance(y, (int, float)) and y:
            out.append(x - y if diff else x / y)
    return out


def spread(vals, fmt):
    """' (paired by round: median M, middle half Q1 to Q3)', or '' with too few."""
    if len(vals) < 4:
        return ""
    q1, q2, q3 = statistics.quantiles(vals, n=4)
    return " [paired by round: median %s, middle half %s to %s]" % (fmt % q2, fmt % q1, fmt % q3)


def targets(rows, results, derived):
    """Evaluate the issue's targets; return (lines, list of (ok, text))."""
    checks = []

    def ratio(row, v, ref="native", key="metric"):
        a = med(results.get(row, {}).get(v, []), key)
        b = med(results.get(row, {}).get(ref, []), key)
        if a is None or b is None or b == 0:
            return None
        return a / b

    def add(ok, text):
        checks.append((ok, text))

    names = {r["name"]: r for r in rows}
    for name, label, *_, cpu in LOOP_ROWS:
        if name not in names:
            continue
        res = results[name]
        # Judged on CPU time where it is meaningful (steady under load from
        # other jobs); wall time shown beside it.
        key = "cpu" if cpu else "metric"
        a, b = med(res.get("rcleak32", []), key), med(res.get("native", []), key)
        aw, bw = med(res.get("rcleak32", [])), med(res.get("native", []))
        if a is not None and b is not None:
            added = a - b
            ae = med(res.get("empty", []), key)
            add(added <= 300, "%-26s added ns/acquisition at depth 32 <= 300: %+.0f ns %s%s%s%s%s" % (
                label, added, "cpu" if cpu else "wall",
                " (wall %+.0f)" % (aw - bw) if cpu else "",
                "" if added <= 300 else ": %.0f ns over" % (added - 300),
                spread(paired(results, name, "rcleak32", key, diff=True), "%+.0f"),
                "; an empty preloaded library: %+.0f ns" % (ae - b) if ae is not None else ""))
    if "open" in names:
        rc = ratio("open", "rcleak32", key="cpu")
        rw = ratio("open", "rcleak32")
        if rc is not None:
            add(rc <= 1.10, "open+close loop at depth 32 <= 1.10x native: %.3fx cpu (wall %.3fx)%s%s" % (
                rc, rw, "" if rc <= 1.10 else ": %.0f%% over" % ((rc / 1.10 - 1) * 100),
                spread(paired(results, "open", "rcleak32", "cpu"), "%.3fx")))
    for name, label, *_ in LOOP_ROWS:
        runs = results.get("turns", {}).get(name)
        if name not in names or not runs:
            continue
        cmp_ = [turns_compare(run, "rcleak32") for run in runs]
        added = statistics.median(d for d, _ in cmp_)
        emp = ([turns_compare(run, "empty")[0] for run in runs]
               if all("empty" in run for run in runs) else [])
        # Each run with native's own median ns/iteration beside it: this
        # machine has phases (native mkdtemp+rmdir 4.9 us in one, 7.4 us in
        # another) that slow rcleak's instructions as much as the syscall's,
        # so the added ns of a run follows its phase.
        add(added <= 300, "%-26s taking turns, added ns/acquisition at depth 32 <= 300: %+.0f ns "
            "wall%s [%d run%s of %d slices of %d iterations, each against native's slices "
            "before and after it: %s]%s" % (
                label, added, "" if added <= 300 else ": %.0f ns over" % (added - 300),
                len(runs), "" if len(runs) == 1 else "s", len(runs[0]["native"]),
                runs[0]["iters_per_slice"],
                ", ".join("%+.0f (native %s)" % (d, fmt_ns(statistics.median(run["native"])))
                          for (d, _), run in zip(cmp_, runs)),
                "; an empty preloaded library: %+.0f ns" % statistics.median(emp) if emp else ""))
        if name == "open":
            r = statistics.median(q for _, q in cmp_)
            add(r <= 1.10, "open+close loop at depth 32, taking turns <= 1.10x native: %.3fx wall"
                "%s [runs: %s]" % (r, "" if r <= 1.10 else ": %.0f%% over" % ((r / 1.10 - 1) * 100),
                                   ", ".join("%.3fx" % q for _, q in cmp_)))
    r = ratio("short", "rcleak32") if "short" in names else None
    if r is not None:
        re_ = ratio("short", "empty")
        add(r <= 1.3, "many short processes <= 1.3x native wall: %.3fx%s%s%s" % (
            r, "" if r <= 1.3 else ": %.0f%% over" % ((r / 1.3 - 1) * 100),
            spread(paired(results, "short", "rcleak32"), "%.3fx"),
            "; an empty preloaded library: %.3fx" % re_ if re_ is not None else ""))
    il = results.get("short-interleaved")
    if il and all(il.get(v) for v in ("native", "empty", "rcleak32")):
        n0, e0, r0 = (il[v][0] for v in ("native", "empty", "rcleak32"))
        r = r0["metric"] / n0["metric"]
        add(r <= 1.3, "many short processes, the program spawned directly and the variants "
            "taken in turn for every spawn (%d each) <= 1.3x: %.3fx by the medians (native "
            "%.0f us, rcleak +%.0f us; by the means %.3fx, by the first quartiles %.3fx); an "
            "empty preloaded library: %.3fx (+%.0f us)%s" % (
                n0["n"], r, n0["metric"], r0["metric"] - n0["metric"],
                r0["mean"] / n0["mean"], r0["p25"] / n0["p25"],
                e0["metric"] / n0["metric"], e0["metric"] - n0["metric"],
                "" if r <= 1.3 else ": %.0f%% over" % ((r / 1.3 - 1) * 100)))
    r = ratio("make", "rcleak32") if "make" in names else None
    if r is not None:
        add(r <= 1.05, "make -j2 <= 1.05x native wall: %.3fx%s%s" % (
            r, "" if r <= 1.05 else ": %.0f%% over" % ((r / 1.05 - 1) * 100),
            spread(paired(results, "make", "rcleak32"), "%.3fx")))
    mi = results.get("make-interleaved")
    if mi and mi["ratios"]:
        r = statistics.median(mi["ratios"])
        q = statistics.quantiles(mi["ratios"], n=4) if len(mi["ratios"]) >= 4 else [r, r, r]
        add(r <= 1.05, "make -j2, two files at a time, native and rcleak taking turns for every "
            "pair (%d pairs) <= 1.05x: %.3fx by the median of the pairs' ratios (middle half "
            "%.3fx to %.3fx; native %.0f ms a pair, rcleak %.0f ms)%s" % (
                len(mi["ratios"]), r, q[0], q[2], statistics.median(mi["native_ms"]),
                statistics.median(mi["rcleak_ms"]),
                "" if r <= 1.05 else ": %.0f%% over" % ((r / 1.05 - 1) * 100)))
    r = ratio("server", "rcleak32") if "server" in names else None
    if r is not None:
        thr = 1 / r
        add(thr >= 0.95, "loopback server >= 95%% of native throughput: %.1f%%%s" % (
            thr * 100, spread([100 / x for x in paired(results, "server", "rcleak32")], "%.1f%%")))
    runs = results.get("turns", {}).get("server")
    if runs:
        thr = [1 / turns_compare(run, "rcleak32")[1] for run in runs]
        t = statistics.median(thr)
        add(t >= 0.95, "loopback server, taking turns (server and client pinned to one CPU) "
            ">= 95%% of native throughput: %.1f%% [runs: %s]" % (
                t * 100, ", ".join("%.1f%%" % (x * 100) for x in thr)))
    e = derived.get("rcleak32")
    if e:
        per = e.get("live_slope", e["live_per_res"])
        add(per <= 96, "memory per live resource <= 96 B (+ distinct stacks): %.0f B/resource "
            "(live VmRSS slope 1k->100k; at 100k: %.0f B/res live, %.0f B/res peak)" % (
                per, e["live_per_res"], e["peak_per_res"]))
        add(e["report_ms"] < 1000, "100k-leak report (text + JSON) written < 1 s: %.0f ms" % (
            e["report_ms"]))
    for row in rows:
        if row["kind"] == "scale" and row["name"] != "scale":
            continue
        res = results[row["name"]]
        if row["kind"] == "scale":
            a, b = med(res.get("rcleak32", []), "wall_ns"), med(res.get("vg-none", []), "wall_ns")
        else:
            a, b = med(res.get("rcleak32", [])), med(res.get("vg-none", []))
        if a is None or b is None:
            continue
        speedup = b / a
        need = 1.0
        if row.get("syscall_loop"):
            need = 2.0
        if row["kind"] == "short":
            need = 50.0
        nat = (med(res.get("native", []), "wall_ns") if row["kind"] == "scale"
               else med(res.get("native", [])))
        ceiling = ""
        if nat:
            # What native itself achieves: Valgrind adds little to a loop
            # the kernel dominates, so a ratio can be out of anyone's reach.
            ceiling = " (native itself: %.1fx%s)" % (
                b / nat, ", unreachable" if b / nat < need else "")
        add(speedup >= need if need > 1 else speedup > 1.0,
            "%-28s faster than Valgrind none+fds by >= %gx: %.1fx%s" % (
                row["label"][:28], need, speedup, ceiling))
    for name, label, *_ in LOOP_ROWS:
        runs = [run for run in results.get("turns", {}).get(name, []) if "vg-none" in run]
        if name not in names or not runs:
            continue
        # Both against native's neighbouring slices; their quotient is
        # Valgrind's time over rcleak's.
        ups = [turns_compare(run, "vg-none")[1] / turns_compare(run, "rcleak32")[1]
               for run in runs]
        nat = [turns_compare(run, "vg-none")[1] for run in runs]
        up, own = statistics.median(ups), statistics.median(nat)
        add(up >= 2.0, "%-28s taking turns, faster than Valgrind none+fds by >= 2x: %.2fx "
            "(native itself: %.2fx%s) [runs: %s]" % (
                label[:28], up, own, ", unreachable" if own < 2.0 else "",
                ", ".join("%.2fx" % u for u in ups)))
    return checks


# ------------------------------------------------------------------- build

def sh(argv, **kw):
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)


def build_shim(build_dir):
    """Configure and build librcleak.so in BUILD_DIR; return its path or raise."""
    lib = os.path.join(build_dir, "shim", "librcleak.so")
    if not os.path.exists(os.path.join(REPO, "shim", "meson.build")):
        raise RunFailure("shim/meson.build does not exist yet")
    if not os.path.exists(os.path.join(build_dir, "build.ninja")):
        r = sh(["meson", "setup", build_dir, REPO, "-Dwerror_ci=false", "-Dbenchmarks=false"])
        if r.returncode != 0:
            raise RunFailure("meson setup failed:\n" + tail(r.stdout, 30))
    r = sh(["ninja", "-C", build_dir, "shim/librcleak.so"])
    if r.returncode != 0:
        raise RunFailure("ninja failed:\n" + tail(r.stdout, 30))
    if not os.path.exists(lib):
        raise RunFailure("%s missing after build" % lib)
    return lib


def build_progs(outdir):
    os.makedirs(outdir, exist_ok=True)
    progs = {}
    cflags = ["-std=gnu17", "-O2", "-Wall", "-Wextra", "-Werror"]
    for name, libs in (("loops", ["-pthread", "-lrt"]), ("server", []), ("short", []),
                       ("scale", ["-lrt"]), ("run", []), ("spawn", []),
                       ("empty", ["-shared", "-fPIC"])):
        src = os.path.join(BENCH_SRC, "rcbench_%s.c" % name)
        exe = os.path.join(outdir, "rcbench_%s%s" % (name, ".so" if name == "empty" else ""))
        deps = [src, os.path.join(BENCH_SRC, "bench.h")]
        if not os.path.exists(exe) or any(os.path.getmtime(d) > os.path.getmtime(exe)
                                          for d in deps):
            r = sh(["gcc"] + cflags + ["-o", exe, src] + libs)
            if r.returncode != 0:
                raise RunFailure("building %s failed:\n%s" % (exe, r.stdout))
        progs[name] = exe
    return progs


def gen_project(path, nfiles):
    """Write a C project of NFILES modules + main.c and a Makefile into PATH.

    `make NFILES=k` builds main.c and the first k modules only (main calls into
    module 0 only), so the slow tools can build a subset."""
    for i in range(nfiles):
        with open(os.path.join(path, "m%02d.c" % i), "w") as f:
            f.write("#include <stdio.h>\n#include <string.h>\n\n")
            for j in range(4):
                f.write("""static int tab_%(j)d[64];

static unsigned hash_%(j)d(const char *s)
{
\tunsigned h = %(seed)du;
\twhile (*s)
\t\th = h * 33u ^ (unsigned char)*s++;
\treturn h;
}

int f%(i)d_%(j)d(int n)
{
\tchar buf[64] = "";
\tint acc = 0;
\tfor (int k = 0; k < n; k++) {
\t\tsnprintf(buf, sizeof(buf), "%%d-%%d", k, %(j)d);
\t\tacc += (int)(hash_%(j)d(buf) %% 97u);
\t\ttab_%(j)d[k & 63] += acc;
\t\tif (k %% 7 == 3)
\t\t\tacc ^= tab_%(j)d[(k * 5) & 63];
\t}
\treturn acc + (int)strlen(buf);
}

""" % {"i": i, "j": j, "seed": 5381 + i * 7 + j})
    with open(os.path.join(path, "main.c"), "w") as f:
        f.write('#include <stdio.h>\n\nint f0_0(int n);\n\nint main(void)\n{\n'
                '\tprintf("%d\\n", f0_0(3));\n\treturn 0;\n}\n')
    mods = " ".join("m%02d.o" % i for i in range(nfiles))
    with open(os.path.join(path, "Makefile"), "w") as f:
        f.write("""CC = gcc
CFLAGS = -O2 -Wall
NFILES = %d
ALL = %s
OBJS = main.o $(wordlist 1,$(NFILES),$(ALL))

app: $(OBJS)
\t$(CC) -o $@ $(OBJS)

%%.o: %%.c
\t$(CC) $(CFLAGS) -c -o $@ $<

clean:
\trm -f app *.o
""" % (nfiles, mods))


def run_all(args, rows, variants, reps, slow_reps, quick):
    """Build, run every row; return (results, failures, machine info, seconds) or None."""
    tmp = tempfile.mkdtemp(prefix="rcbench.")
    ctx = {
        "tmp": tmp, "timeout": args.timeout, "fast_n": {}, "calibrated": {}, "probe_runs": {},
        "target_fast": (args.loop_seconds if args.loop_seconds else 0.12 if quick else 0.5) * 1e9,
        "target_slow": (0.4 if quick else 1.5) * 1e9,
        "target_slow_proc": (1.5 if quick else 4.0) * 1e9,
    }
    base_env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "RCLEAK_OPTIONS",
                                                                 "MAKEFLAGS", "MFLAGS")}
    base_env["TMPDIR"] = tmp
    if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
        ctx["shm_tmp"] = tempfile.mkdtemp(prefix="rcbench.", dir="/dev/shm")
    base_env["LC_ALL"] = "C"
    ctx["base_env"] = base_env
    try:
        ctx["progs"] = build_progs(os.path.join(args.build_dir, "bench-progs"))
        if any(v.startswith("rcleak") for v in variants):
            ctx["lib"] = os.path.abspath(args.lib) if args.lib else build_shim(args.build_dir)
            if not os.path.exists(ctx["lib"]):
                raise RunFailure("%s does not exist" % ctx["lib"])
        if any(r["kind"] == "make" for r in rows):
            ctx["project"] = os.path.join(tmp, "project")
            os.makedirs(ctx["project"])
            gen_project(ctx["project"], max(r["full_n"] for r in rows if r["kind"] == "make"))
    except RunFailure as e:
        print("bench: %s" % e, file=sys.stderr)
        shutil.rmtree(tmp, ignore_errors=True)
        if ctx.get("shm_tmp"):
            shutil.rmtree(ctx["shm_tmp"], ignore_errors=True)
        return None

    info = machine_info()
    print("# rcleak benchmarks (%s, %d repetitions)" % ("quick" if quick else "full", reps))
    print("machine: %s CPUs, %s; kernel %s; %s; %s; %s; %s" % (
        info["nproc"], info["cpu"], info["kernel"], info["glibc"], info["valgrind"],
        info["strace"], info["date"]))
    if "lib" in ctx:
        print("librcleak: %s" % ctx["lib"])
    sys.stdout.flush()

    results = {r["name"]: {} for r in rows}
    failures = []
    t_start = time.monotonic()
    for row in rows:
        rv = [v for v in variants if (row.get("variants") is None or v in row["variants"]) and
              (v != "empty" or row["name"] in EMPTY_ROWS)]
        t_row = time.monotonic()
        try:
            sizes = {v: calibrate(row, v, ctx) for v in rv}
            res = results[row["name"]]
            for v in rv:
                if (row["name"], v) in ctx["probe_runs"]:
                    res.setdefault(v, []).append(ctx["probe_runs"][(row["name"], v)])
            for rep in range(reps):
                # Round-robin, rotated each repetition so no variant always
                # runs first (or right after the slowest one).
                k = rep % len(rv)
                for v in rv[k:] + rv[:k]:
                    want = reps if v in FAST_VARIANTS else slow_reps
                    if row["kind"] == "scale" and quick:
                        want = 1
                    if len(res.get(v, [])) < want:
                        res.setdefault(v, []).append(run_row(row, v, sizes[v], ctx))
        except RunFailure as e:
            failures.append("%s: %s" % (row["name"], e))
            print("bench: row %s FAILED: %s" % (row["name"], e), file=sys.stderr)
        print("  row %-10s done in %5.1f s" % (row["name"], time.monotonic() - t_row),
              file=sys.stderr)
        sys.stderr.flush()
    # The rows measured again with native and rcleak taking turns run by run.
    for row_name, key, label, fn in (("short", "short-interleaved", "interleaved",
                                      interleaved_short),
                                     ("make", "make-interleaved", "make by pairs",
                                      interleaved_make)):
        if not any(r["name"] == row_name for r in rows) or "rcleak32" not in variants:
            continue
        t_row = time.monotonic()
        try:
            results[key] = fn(ctx, quick)
        except RunFailure as e:
            failures.append("%s: %s" % (key, e))
            print("bench: %s FAILED: %s" % (key, e), file=sys.stderr)
        print("  %-14s done in %5.1f s" % (label, time.monotonic() - t_row), file=sys.stderr)

    if "rcleak32" in variants and "native" in variants:
        runs = TURN_RUNS["quick" if quick else "full"]
        turns = {}
        for row in rows:
            nat = med(results[row["name"]].get("native", []))
            if row["kind"] not in ("loop", "server") or not nat:
                continue
            t_row = time.monotonic()
            try:
                vg = "vg-none" in variants and row["name"] in TURN_VG_ROWS
                turns[row["name"]] = [turns_row(row, ctx, quick, nat, k, vg) for k in range(runs)]
            except RunFailure as e:
                failures.append("turns %s: %s" % (row["name"], e))
                print("bench: taking turns %s FAILED: %s" % (row["name"], e), file=sys.stderr)
            print("  turns %-8s done in %5.1f s" % (row["name"], time.monotonic() - t_row),
                  file=sys.stderr)
        if turns:
            results["turns"] = turns

    shutil.rmtree(tmp, ignore_errors=True)
    if ctx.get("shm_tmp"):
        shutil.rmtree(ctx["shm_tmp"], ignore_errors=True)
    return results, failures, info, time.monotonic() - t_start


# ------------------------------------------------------------------ counts
#
# Instructions do not move with the machine's load the way times do: the
# user-space instructions one iteration of a loop row costs, counted by
# callgrind as the difference between two sizes (so start-up and exit cancel
# out), are what a change to the wrappers can be judged by on a shared
# machine.  fork is left out (callgrind would count the parent only).

COUNT_SIZES = (1000, 3000)


def callgrind_total(argv, env, cwd):
    with tempfile.NamedTemporaryFile(prefix="rcbench.cg.", delete=False) as f:
        out = f.name
    try:
        r = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out] + argv,
                           env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           text=True)
        if r.returncode != 0:
            raise RunFailure("callgrind failed: %s\n%s" % (" ".join(argv), tail(r.stderr)))
        with open(out) as f:
            for line in f:
                if line.startswith("summary:") or line.startswith("totals:"):
                    return int(line.split()[1])
        raise RunFailure("no totals in callgrind output of %s" % " ".join(argv))
    finally:
        os.unlink(out)


def instruction_counts(args):
    """--counts: a table of user instructions per iteration, native and at depth 32."""
    if not shutil.which("valgrind"):
        print("bench: valgrind not found; install it for --counts", file=sys.stderr)
        return 2
    tmp = tempfile.mkdtemp(prefix="rcbench.", dir="/dev/shm" if os.access("/dev/shm", os.W_OK)
                           else None)
    try:
        progs = build_progs(os.path.join(args.build_dir, "bench-progs"))
        lib = os.path.abspath(args.lib) if args.lib else build_shim(args.build_dir)
        base = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "RCLEAK_OPTIONS")}
        base["TMPDIR"] = tmp
        names = [r[0] for r in LOOP_ROWS if r[0] != "fork"]
        if args.rows:
            names = [n for n in names if n in args.rows.split(",")]
        print("User instructions per iteration (callgrind, iterations %d minus %d; "
              "rcleak at depth 32):" % (COUNT_SIZES[1], COUNT_SIZES[0]))
        print()
        print("| row | native | rcleak d32 | added |")
        print("|---|---|---|---|")
        for name in names:
            per = {}
            for v, extra in (("native", {}), ("rcleak32", {"LD_PRELOAD": lib,
                                                           "RCLEAK_OPTIONS": "stack_depth=32"})):
                env = dict(base, **extra)
                a, b = (callgrind_total([progs["loops"], name, str(n)], env, tmp)
                        for n in COUNT_SIZES)
                per[v] = (b - a) / (COUNT_SIZES[1] - COUNT_SIZES[0])
            print("| %s | %.0f | %.0f | +%.0f |" % (name, per["native"], per["rcleak32"],
                                                  per["rcleak32"] - per["native"]))
            sys.stdout.flush()
    except RunFailure as e:
        print("bench: %s" % e, file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


# -------------------------------------------------------------------- main

def update_doc(path, md):
    begin, end = "<!-- bench:begin -->", "<!-- bench:end -->"
    with open(path) as f:
        text = f.read()
    a, b = text.find(begin), text.find(end)
    if a < 0 or b < a:
        print("bench: %s has no %s ... %s section; not updated" % (path, begin, end),
              file=sys.stderr)
        return
    text = text[:a + len(begin)] + "\n" + md + text[b:]
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


def machine_info():
    info = {"nproc": str(os.cpu_count())}
    try:
        lscpu = sh(["lscpu"]).stdout
        m = re.search(r"Model name:\s*(.*)", lscpu)
        info["cpu"] = m.group(1).strip() if m else "?"
    except OSError:
        info["cpu"] = "?"
    info["kernel"] = platform.release()
    try:
        info["glibc"] = sh(["ldd", "--version"]).stdout.splitlines()[0]
    except (OSError, IndexError):
        info["glibc"] = "?"
    for tool in ("valgrind", "strace"):
        try:
            info[tool] = sh([tool, "--version"]).stdout.splitlines()[0]
        except (OSError, IndexError):
            info[tool] = "missing"
    info["date"] = time.strftime("%Y-%m-%d %H:%M %Z")
    return info


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions and iterations (~2 min)")
    ap.add_argument("--reps", type=int,
                    help="repetitions of native and rcleak (default 9, quick 3); Valgrind and "
                         "strace run min(reps, 5) times (quick: once)")
    ap.add_argument("--rows", help="comma-separated row names (default all)")
    ap.add_argument("--loop-seconds", type=float,
                    help="length of one run of a loop row, native and rcleak (default 0.5, quick 0.12)")
    ap.add_argument("--variants", help="comma-separated variants (default all): " + ",".join(VARIANTS))
    ap.add_argument("--build-dir", default=os.environ.get("BUILD_DIR", "/work/build-bench"))
    ap.add_argument("--lib", help="use this librcleak.so instead of building one")
    ap.add_argument("--json", help="write raw results here")
    ap.add_argument("--markdown", help="write the tables here")
    ap.add_argument("--update", metavar="FILE",
                    help="replace the part of FILE (BENCHMARKS.md) between the lines "
                         "'<!-- bench:begin -->' and '<!-- bench:end -->' with the results")
    ap.add_argument("--timeout", type=int, default=180, help="per-run timeout, s")
    ap.add_argument("--counts", action="store_true",
                    help="do not time: count user instructions per iteration of the loop rows "
                         "(callgrind), native and rcleak at depth 32")
    ap.add_argument("--from-json", metavar="FILE",
                    help="do not run: print (and --update) the tables of a saved --json run")
    args = ap.parse_args()

    quick = args.quick
    # native and rcleak are cheap and are what the targets compare: nine runs
    # each keep their medians steady on a shared machine, where one run in
    # five can be half again as slow.  The slow tools run five times (the
    # issue's minimum); in quick mode once per row (their probe run is reused
    # when it has the right size), and memcheck only when asked for.
    reps = args.reps or (3 if quick else 9)
    slow_reps = 1 if quick else min(reps, 5)
    if args.variants:
        variants = args.variants.split(",")
    else:
        variants = [v for v in VARIANTS if not (quick and v == "memcheck")]
    for v in variants:
        if v not in VARIANTS:
            ap.error("unknown variant %s" % v)
    rows = make_rows(quick)
    if args.rows:
        want = args.rows.split(",")
        unknown = set(want) - {r["name"] for r in rows}
        if unknown:
            ap.error("unknown rows: %s" % ", ".join(sorted(unknown)))
        rows = [r for r in rows if r["name"] in want]
        if "scale" in want and "scale-1k" not in want:
            rows.insert(rows.index(next(r for r in rows if r["name"] == "scale")),
                        next(r for r in make_rows(quick) if r["name"] == "scale-1k"))

    if args.counts:
        return instruction_counts(args)

    for tool, vs in (("valgrind", ("vg-none", "memcheck")), ("strace", ("strace",))):
        if any(v in variants for v in vs) and not shutil.which(tool):
            print("bench: %s not found; install it or pass --variants" % tool, file=sys.stderr)
            return 2

    if args.from_json:
        # Re-render a saved run (e.g. after the report code changed).
        with open(args.from_json) as f:
            doc = json.load(f)
        results, failures, info = doc["results"], doc["failures"], doc["machine"]
        reps, quick = doc["reps"], doc["quick"]
        slow_reps = doc.get("slow_reps", 1 if quick else reps)
        elapsed = doc.get("seconds", 0)
        rows = [r for r in make_rows(quick) if r["name"] in results]
        variants = [v for v in VARIANTS if any(v in results[r] for r in results)]
    else:
        ran = run_all(args, rows, variants, reps, slow_reps, quick)
        if ran is None:
            return 2
        results, failures, info, elapsed = ran

    derived = scale_derived(results)
    lines = []
    lines.append("")
    lines.append("Medians of %d runs per variant (%s), variants alternated round-robin; "
                 "(ratio) = variant / native." % (
                     reps, "Valgrind and strace: %d" % slow_reps if slow_reps != reps else
                     "every variant"))
    lines.append("")
    lines += build_tables(rows, results, variants)
    st = scale_table(rows, results, variants)
    if st:
        lines.append("")
        lines.append("Scale (rcleak runs with cleanup=0 and json_path set; exit ms = from main's "
                     "return to the process being reaped):")
        lines.append("")
        lines += st
        capped = [m for m in results.get("scale", {}).get("native", []) if m.get("capped")]
        if capped:
            lines.append("")
            lines.append("Note (limits of this machine): " + capped[0]["capped_msg"])
        for v, e in sorted(derived.items()):
            lines.append("")
            lines.append("%s: %d resources; live memory added %.0f KB (%.0f B/resource, slope "
                         "1k->100k %s B/resource, fixed %s KB); peak RSS added %.0f KB "
                         "(%.0f B/resource); report time %.0f ms" % (
                             VARIANT_TITLE[v], e["resources"], e["live_added_bytes"] / 1024,
                             e["live_per_res"],
                             "%.0f" % e["live_slope"] if "live_slope" in e else "?",
                             "%.0f" % (e["fixed_bytes"] / 1024) if "fixed_bytes" in e else "?",
                             e["peak_added_bytes"] / 1024, e["peak_per_res"], e["report_ms"]))
    noisy = []
    for row in rows:
        for v in ("rcleak8", "rcleak32"):
            ms = results[row["name"]].get(v, [])
            if ms and row["kind"] != "scale" and any(m.get("rcleak_lines") for m in ms):
                noisy.append("%s/%s (%d lines)" % (row["name"], v,
                                                   max(m.get("rcleak_lines", 0) for m in ms)))
    if noisy:
        lines.append("")
        lines.append("rcleak printed a report in: " + ", ".join(noisy) +
                     " (a leak the workload really has, e.g. a shell's script fd, or a bug)")
    checks = targets(rows, results, derived)
    if checks:
        lines.append("")
        lines.append("Targets (issue 5; informational, never an exit status):")
        lines.append("")
        for ok, text in checks:
            lines.append("- %s %s" % ("PASS" if ok else "MISS", text))
    if failures:
        lines.append("")
        lines.append("FAILED rows: " + "; ".join(f.splitlines()[0] for f in failures))
    lines.append("")
    lines.append("total time %.0f s" % elapsed)
    print("\n".join(lines))

    md = "Machine: %s CPUs, %s; kernel %s; %s; %s; %s; run %s, %s mode.\n" % (
        info["nproc"], info["cpu"], info["kernel"], info["glibc"], info["valgrind"],
        info["strace"], info["date"], "quick" if quick else "full")
    md += "\n".join(lines) + "\n"
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(md)
    if args.update:
        update_doc(args.update, md)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": info, "reps": reps, "slow_reps": slow_reps, "quick": quick,
                       "seconds": elapsed, "results": results,
                       "derived": derived,
                       "targets": [{"pass": ok, "text": t} for ok, t in checks],
                       "failures": failures}, f, indent=1)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
