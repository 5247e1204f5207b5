#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""End-to-end tests of the rcleak command line tool (issue 4).

Usage: cli_test.py CASE       (meson runs one test per case; exit 77 = skipped)
       cli_test.py --list

Environment (set by tests/cli/meson.build):
  RCLEAK          the rcleak binary
  FIXTURES        tests/cli/fixtures
  LEAKY           a -g test program (tests/cli/leaky.c), LEAKY_SRC its source
  RCLEAK_LIBRARY  librcleak.so, when the shim is built (run-* cases need it)
  RC_COMMON_LIB   the static library holding common/suppress.c
"""
import difflib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

RCLEAK = os.environ.get("RCLEAK", "")
FIXTURES = os.environ.get("FIXTURES", os.path.join(os.path.dirname(__file__), "fixtures"))
LEAKY = os.environ.get("LEAKY", "")
LEAKY_SRC = os.environ.get("LEAKY_SRC", "")
SHIM = os.environ.get("RCLEAK_LIBRARY", "")
SKIP = 77

CASES = {}


def case(fn):
    CASES[fn.__name__.replace("_", "-")] = fn
    return fn


class Failure(Exception):
    pass


def fail(msg):
    raise Failure(msg)


def check(cond, msg):
    if not cond:
        fail(msg)


def eq(actual, expected, what):
    if actual != expected:
        if isinstance(actual, str) and isinstance(expected, str):
            diff = "".join(difflib.unified_diff(expected.splitlines(True), actual.splitlines(True),
                                                "expected", "actual"))
            fail(f"{what} differs:\n{diff}")
        fail(f"{what}: expected {expected!r}, got {actual!r}")


def rcleak(*args, env=None, cwd=None, timeout=60, stdin=subprocess.DEVNULL):
    e = dict(os.environ)
    if env:
        e.update(env)
    return subprocess.run([RCLEAK, *args], capture_output=True, text=True, env=e, cwd=cwd,
                          timeout=timeout, stdin=stdin)


def fixture(*parts):
    return os.path.join(FIXTURES, *parts)


class TempDir:
    def __enter__(self):
        self.path = tempfile.mkdtemp(prefix="rcleak-cli-test.")
        return self.path

    def __exit__(self, *exc):
        shutil.rmtree(self.path, ignore_errors=True)


# --------------------------------------------------------------------------
# rcleak report, from hand-written per-process reports
# --------------------------------------------------------------------------

TREE_TEXT = """\
rcleak: process tree
  pid 100: fake-app --serve 'a b' [exit 0], 3 leaks (1 suppressed)
      fd 5: file /tmp/app.log (openat) -> site 5
      child pid 101: sleep 30, running (fork), cleanup: killed by SIGTERM -> site 3
      child pid 103: static-helper -x, running (posix_spawn), cleanup: killed by SIGKILL -> site 2
    pid 101: sleep 30 [killed by SIGTERM], no leaks
    pid 102: fake-app --worker [exit 0], 5 leaks
        fd 6: pipe pipe:[1001] (pipe2) -> site 1
        fd 7: pipe pipe:[1001] (pipe2) -> site 1
        fd 8: pipe pipe:[1002] (pipe2) -> site 1
        fd 9: pipe pipe:[777] (untracked) -> site 4
        tmpdir /tmp/fake.abc, 2 entries (mkdtemp), cleanup: removed -> site 6
    pid 103: static-helper -x [not covered: no report: killed with SIGKILL by the cleanup]
rcleak: leak sites, most frequent first
  site 1: 3 file descriptors leaked from the same site
      fd 6: pipe pipe:[1001] (pipe2) in pid 102
      fd 7: pipe pipe:[1001] (pipe2) in pid 102
      fd 8: pipe pipe:[1002] (pipe2) in pid 102
      #0 reader_thread src/worker.c:33 (fake-app+0x3300)
      #1 libfake.so.1+0x9abc
  site 2: 1 child process leaked
      child pid 103: static-helper -x, running (posix_spawn) in pid 100, cleanup: killed by SIGKILL
      #0 spawn_helper src/worker.c:20 (fake-app+0x2100)
      #1 main src/main.c:13 (fake-app+0x1120)
  site 3: 1 child process leaked
      child pid 101: sleep 30, running (fork) in pid 100, cleanup: killed by SIGTERM
      #0 spawn_worker src/worker.c:7 (fake-app+0x2000)
      #1 main src/main.c:12 (fake-app+0x1110)
  site 4: 1 file descriptor leaked
      fd 9: pipe pipe:[777] (untracked) in pid 102
      (no stack: not acquired through an interposed call)
  site 5: 1 file descriptor leaked
      fd 5: file /tmp/app.log (openat) in pid 100
      #0 open_log src/log.c:42 (fake-app+0x1234)
      #1 main src/main.c:10 (fake-app+0x1100)
  site 6: 1 temporary directory leaked
      tmpdir /tmp/fake.abc, 2 entries (mkdtemp) in pid 102, cleanup: removed
      #0 make_scratch /src/fake/scratch.c:5 (fake-app+0x4000)
SUMMARY: rcleak: 8 leaks (5 fd, 2 child, 1 tmpdir) in 2 of 3 processes; 1 suppressed; 1 not covered
"""


@case
def report_text_tree():
    """Process tree, sites by frequency, not-covered child, SUMMARY, exit 23."""
    r = rcleak("report", fixture("tree"))
    eq(r.stdout, TREE_TEXT, "text report")
    eq(r.stderr, "", "stderr")
    eq(r.returncode, 23, "exit status")
    # The same files named one by one merge the same way.
    files = sorted(os.path.join(fixture("tree"), f) for f in os.listdir(fixture("tree")))
    r2 = rcleak("report", *files)
    eq(r2.stdout, TREE_TEXT, "text report from files")
    eq(r2.returncode, 23, "exit status from files")


@case
def report_same_pid_twice():
    """Two processes of one run with the same pid (pids wrapped): the shim writes
    the later one's report to rcleak.PID.1.json, and both are merged."""
    with TempDir() as d:
        for f in os.listdir(fixture("tree")):
            shutil.copy(fixture("tree", f), d)
        with open(os.path.join(d, "rcleak.102.1.json"), "w") as f:
            json.dump({"rcleak": 1, "pid": 102, "ppid": 100, "exe": "/usr/bin/fake-app",
                       "cmdline": ["fake-app", "--late"], "exit": {"reason": "exit", "status": 0},
                       "leaks": [{"kind": "fd", "fd": 4, "type": "file", "target": "/tmp/late.log",
                                  "cloexec": False, "acquired_by": "open", "age_ms": 7, "tid": 102,
                                  "untracked": False, "cleanup": "none",
                                  "stack": [{"pc": "0x555555557400", "module": "/usr/bin/fake-app",
                                             "offset": "0x3400", "function": "late_log",
                                             "file": "src/late.c", "line": 3}]}],
                       "summary": {"total": 1, "fd": 1, "suppressed": 0}}, f)
        r = rcleak("report", d)
        lines = r.stdout.splitlines()
        eq([l for l in lines if l.startswith("    pid 102:")],
           ["    pid 102: fake-app --late [exit 0], 1 leak",
            "    pid 102: fake-app --worker [exit 0], 5 leaks"], "both processes with pid 102")
        eq(lines[-1], "SUMMARY: rcleak: 9 leaks (6 fd, 2 child, 1 tmpdir) in 3 of 4 processes; "
           "1 suppressed; 1 not covered", "summary counts both")
        eq(r.returncode, 23, "exit status")


@case
def report_clean():
    """A clean process tree: empty report, exit 0; --verbose shows the tree."""
    r = rcleak("report", fixture("clean"))
    eq(r.stdout, "", "stdout")
    eq(r.stderr, "", "stderr")
    eq(r.returncode, 0, "exit status")
    r = rcleak("report", "-v", fixture("clean"))
    eq(r.stdout, "rcleak: process tree\n"
                 "  pid 200: /bin/true [exit 0], no leaks\n"
                 "    pid 201: true [exit 0], no leaks\n"
                 "SUMMARY: rcleak: 0 leaks in 2 processes; 0 suppressed\n", "verbose report")
    eq(r.returncode, 0, "exit status")


@case
def report_error_exitcode():
    """--error-exitcode: 0 disables the gate, N replaces 23; bad values are usage errors."""
    r = rcleak("report", "--error-exitcode=0", fixture("tree"))
    eq(r.returncode, 0, "exit status with --error-exitcode=0")
    check(r.stdout.endswith(TREE_TEXT.splitlines()[-1] + "\n"), "report still printed")
    r = rcleak("report", "--error-exitcode", "7", fixture("tree"))
    eq(r.returncode, 7, "exit status with --error-exitcode 7")
    r = rcleak("report", "--error-exitcode=7", fixture("clean"))
    eq(r.returncode, 0, "clean tree with --error-exitcode=7")
    for bad in ("-1", "256", "x", ""):
        r = rcleak("report", "--error-exitcode=" + bad, fixture("tree"))
        eq(r.returncode, 2, f"exit status with --error-exitcode={bad!r}")
        eq(r.stdout, "", "no report on a usage error")


@case
def report_usage_errors():
    """Usage errors exit 2 with a message on stderr."""
    for args, msg in [
        ((), "rcleak: missing command (run or report)\n"),
        (("frobnicate",), "rcleak: unknown command (run or report): 'frobnicate'\n"),
        (("report",), "rcleak: report: no input FILE or DIR given\n"),
        (("report", "--format=xml", fixture("tree")),
         "rcleak: unknown format (text, json, sarif, github): 'xml'\n"),
        (("report", "--keep-reports", fixture("tree")),
         "rcleak: option only valid with 'rcleak run': '--keep-reports'\n"),
        (("run",), "rcleak: run: no command given\n"),
    ]:
        r = rcleak(*args)
        eq(r.returncode, 2, f"exit status of rcleak {' '.join(args)}")
        eq(r.stderr, msg + "Try 'rcleak --help'.\n", f"stderr of rcleak {' '.join(args)}")
        eq(r.stdout, "", "stdout")
    r = rcleak("report", "--no-such-option", fixture("tree"))
    eq(r.returncode, 2, "unknown option")
    check("unrecognized option '--no-such-option'" in r.stderr, r.stderr)


@case
def report_bad_inputs():
    """Truncated, empty, garbage and foreign files are named; the rest is merged."""
    with TempDir() as d:
        for f in os.listdir(fixture("tree")):
            shutil.copy(fixture("tree", f), d)
        with open(fixture("tree", "rcleak.101.json")) as f:
            text = f.read()
        # pid 101's report cut mid-write: the tree loses it, and says so.
        os.unlink(os.path.join(d, "rcleak.101.json"))
        with open(os.path.join(d, "rcleak.101.json.tmp.x"), "w") as f:
            f.write(text[:120])
        open(os.path.join(d, "rcleak.105.json"), "w").close()
        with open(os.path.join(d, "rcleak.106.json"), "w") as f:
            f.write("hello {")
        with open(os.path.join(d, "rcleak.107.json"), "w") as f:
            f.write("[1, 2]\n")
        with open(os.path.join(d, "rcleak.108.json"), "w") as f:
            f.write('{"rcleak": 2, "pid": 5}\n')
        with open(os.path.join(d, "rcleak.109.json"), "w") as f:
            f.write('{"rcleak": 1, "pid": 9, "leaks": []} junk\n')
        with open(os.path.join(d, "notes.txt"), "w") as f:
            f.write("not a report, not *.json: ignored\n")
        r = rcleak("report", d, os.path.join(d, "missing.json"))
        eq(r.stderr,
           f"rcleak: {d}/rcleak.101.json.tmp.x: truncated JSON (process killed while writing its report?)\n"
           f"rcleak: {d}/rcleak.105.json: empty file (process killed before writing its report?)\n"
           f"rcleak: {d}/rcleak.106.json: not valid JSON: unexpected character at byte 0\n"
           f"rcleak: {d}/rcleak.107.json: not an rcleak report (not a JSON object)\n"
           f"rcleak: {d}/rcleak.108.json: unsupported report version 2\n"
           f"rcleak: {d}/rcleak.109.json: not valid JSON: trailing data at byte 37\n"
           f"rcleak: {d}/missing.json: No such file or directory\n", "stderr")
        # pid 101 is now a child without a report; everything else is as before.
        # Killed by the cleanup 10 ms after it started (the fixture's age_ms):
        # maybe before rcleak had started in it.
        expected = TREE_TEXT.replace(
            "    pid 101: sleep 30 [killed by SIGTERM], no leaks\n",
            "    pid 101: sleep 30 [not covered: no report: killed by the cleanup 10 ms after it "
            "was started, maybe before rcleak had started in it (or statically linked, "
            "set-user/group-ID, or LD_PRELOAD cleared)]\n")
        expected = expected.replace("1 suppressed; 1 not covered",
                                    "1 suppressed; 2 not covered; 7 unreadable reports")
        expected = expected.replace("in 2 of 3 processes", "in 2 of 2 processes")
        eq(r.stdout, expected, "merged report")
        eq(r.returncode, 23, "exit status")
        # The same child killed 5 s after it started: rcleak would have been
        # running in it, so the loader cannot be why it left no report.
        with open(os.path.join(d, "rcleak.100.json")) as f:
            parent = f.read()
        with open(os.path.join(d, "rcleak.100.json"), "w") as f:
            f.write(parent.replace('"age_ms": 10,', '"age_ms": 5000,', 1))
        r = rcleak("report", d)
        check("    pid 101: sleep 30 [not covered: no report: statically linked, "
              "set-user/group-ID, or LD_PRELOAD cleared?]\n" in r.stdout, r.stdout)

        # Nothing usable at all: exit 2.
        r = rcleak("report", os.path.join(d, "rcleak.105.json"), os.path.join(d, "rcleak.106.json"))
        eq(r.returncode, 2, "exit status with no usable report")
        eq(r.stdout, "", "stdout")
        check(r.stderr.endswith("rcleak: report: no usable report found\n"), r.stderr)
        check(f"{d}/rcleak.105.json: empty file" in r.stderr, r.stderr)


SUPP_EXPECT = {
    # rule file text -> (leaks left, suppressed total, exit)
    "fd:^/tmp/app.log$\n": (7, 2, 23),          # fd target
    "child:worker.c\n": (6, 3, 23),             # file basename, both children
    "child:src/worker.c$\n": (6, 3, 23),        # full file path
    "leak:fake-app\n": (1, 8, 23),              # module basename, any kind: only the untracked fd is left
    "leak:reader_*\nfd:pipe:\\[777\\]\n": (5, 4, 23),  # glob on function; [ is literal: no match
    "leak:^open_log$\n": (7, 2, 23),            # anchored function
    "leak:^open_lo$\n": (8, 1, 23),             # anchored: no match
    "# comment\n\nleak:fake-app\nfd:pipe:[777]\n": (0, 9, 0),  # all suppressed: clean, exit 0
    "thread:fake-app\n": (8, 1, 23),            # kind must match
}


@case
def report_suppressions():
    """Suppressions by target, function, module, file (full and basename), kinds; counts."""
    with TempDir() as d:
        for text, (left, supp, code) in SUPP_EXPECT.items():
            path = os.path.join(d, "s.supp")
            with open(path, "w") as f:
                f.write(text)
            r = rcleak("report", "--format=json", "--suppressions", path, fixture("tree"))
            eq(r.returncode, code, f"exit status with {text!r}")
            m = json.loads(r.stdout)
            eq(m["summary"]["total"], left, f"leaks left with {text!r}")
            eq(m["summary"]["suppressed"], supp, f"suppressed with {text!r}")
            eq(sum(len(p["leaks"]) for p in m["processes"]), left, f"leaks listed with {text!r}")
        # The text report says it too.
        with open(os.path.join(d, "s.supp"), "w") as f:
            f.write("fd:^/tmp/app.log$\n")
        r = rcleak("report", "--suppressions", os.path.join(d, "s.supp"), fixture("tree"))
        check("  pid 100: fake-app --serve 'a b' [exit 0], 2 leaks (2 suppressed)\n" in r.stdout,
              r.stdout)
        check("fd 5:" not in r.stdout, "suppressed fd still listed")
        eq(r.stdout.splitlines()[-1],
           "SUMMARY: rcleak: 7 leaks (4 fd, 2 child, 1 tmpdir) in 2 of 3 processes; 2 suppressed; 1 not covered",
           "SUMMARY")


@case
def report_suppressions_bad_file():
    """A bad suppression line is an error naming file and line: exit 2, no report."""
    with TempDir() as d:
        path = os.path.join(d, "bad.supp")
        with open(path, "w") as f:
            f.write("# ok\nfd:/tmp\nfile:/etc/passwd\n")
        r = rcleak("report", "--suppressions", path, fixture("tree"))
        eq(r.returncode, 2, "exit status")
        eq(r.stdout, "", "stdout")
        eq(r.stderr, f"rcleak: {path}:3: unknown kind (fd, child, timer, itimer, tmpdir, tmpfile, "
                     "thread, leak): 'file'\n", "stderr")
        with open(path, "w") as f:
            f.write("leak\n")
        r = rcleak("report", "--suppressions", path, fixture("tree"))
        eq(r.stderr, f"rcleak: {path}:1: expected KIND:PATTERN, got 'leak'\n", "stderr")
        r = rcleak("report", "--suppressions", os.path.join(d, "nope"), fixture("tree"))
        eq(r.returncode, 2, "missing suppression file")
        eq(r.stderr, f"rcleak: {d}/nope: No such file or directory\n", "stderr")


@case
def report_baseline():
    """A baseline makes known sites pass; a new site fails and is the only one named new."""
    with TempDir() as d:
        base = os.path.join(d, "base.txt")
        r = rcleak("report", "--write-baseline", base, fixture("tree"))
        eq(r.returncode, 23, "first run (no baseline) fails")
        with open(base) as f:
            eq(f.read(),
               "# rcleak baseline v1: one known leak site a line (kind|frames, innermost first)\n"
               "child|spawn_helper;main\n"
               "child|spawn_worker;main\n"
               "fd|<no stack> pipe in fake-app\n"
               "fd|open_log;main\n"
               "fd|reader_thread;libfake.so.1+0x9abc\n"
               "tmpdir|make_scratch\n", "baseline file")
        r = rcleak("report", "--baseline", base, fixture("tree"))
        eq(r.returncode, 0, "same leaks with the baseline pass")
        check("  site 1: 3 file descriptors leaked from the same site [known]\n" in r.stdout, r.stdout)
        check("[new]" not in r.stdout, "nothing new")
        eq(r.stdout.splitlines()[-1],
           "SUMMARY: rcleak: 8 leaks (5 fd, 2 child, 1 tmpdir) in 2 of 3 processes; 0 new, 8 known; "
           "1 suppressed; 1 not covered", "SUMMARY")

        # One extra leak at a new site (and one more at a known site).
        for f in os.listdir(fixture("tree")):
            shutil.copy(fixture("tree", f), d)
        with open(os.path.join(d, "rcleak.102.json")) as f:
            rep = json.load(f)
        extra = json.loads(json.dumps(rep["leaks"][0]))
        extra["fd"] = 11
        extra["stack"][0]["function"] = "open_cache"
        extra["stack"][0]["offset"] = "0x3400"
        known = json.loads(json.dumps(rep["leaks"][0]))
        known["fd"] = 12
        rep["leaks"] += [extra, known]
        with open(os.path.join(d, "rcleak.102.json"), "w") as f:
            json.dump(rep, f)
        r = rcleak("report", "--baseline", base, d)
        eq(r.returncode, 23, "a new site fails")
        new_lines = [l for l in r.stdout.splitlines() if "[new]" in l]
        eq(new_lines, ["        fd 11: pipe pipe:[1001] (pipe2) -> site 1 [new]",
                       "  site 1: 1 file descriptor leaked [new]"], "lines marked new (new sites first)")
        check("  site 2: 4 file descriptors leaked from the same site [known]\n" in r.stdout, r.stdout)
        eq(r.stdout.splitlines()[-1],
           "SUMMARY: rcleak: 10 leaks (7 fd, 2 child, 1 tmpdir) in 2 of 3 processes; 1 new, 9 known; "
           "1 suppressed; 1 not covered", "SUMMARY")
        r = rcleak("report", "--format=json", "--baseline", base, d)
        m = json.loads(r.stdout)
        news = [(p["pid"], l["fd"]) for p in m["processes"] for l in p["leaks"] if l["status"] == "new"]
        eq(news, [(102, 11)], "new leaks in JSON")
        eq((m["summary"]["new"], m["summary"]["known"]), (1, 9), "new/known counts")
        r = rcleak("report", "--baseline", os.path.join(d, "nope"), d)
        eq(r.returncode, 2, "missing baseline file")


@case
def report_json_merged():
    """The merged JSON: schema fields, unknown fields kept, round trip gives the same report."""
    r = rcleak("report", "--format", "json", fixture("tree"))
    eq(r.returncode, 23, "exit status")
    m = json.loads(r.stdout)
    eq(m["rcleak_merged"], 1, "rcleak_merged")
    check(m["tool"].startswith("rcleak "), "tool")
    eq([p["pid"] for p in m["processes"]], [100, 101, 102], "processes")
    eq(m["not_covered"], [{"pid": 103, "ppid": 100, "command": "static-helper -x",
                           "reason": "no report: killed with SIGKILL by the cleanup"}], "not_covered")
    eq(m["bad_inputs"], [], "bad_inputs")
    eq(m["summary"], {"processes": 3, "processes_with_leaks": 2, "total": 8, "fd": 5, "child": 2,
                      "tmpdir": 1, "suppressed": 1, "not_covered": 1, "bad_inputs": 0}, "summary")
    p100 = m["processes"][0]
    eq(p100["summary"], {"total": 3, "fd": 1, "child": 2, "suppressed": 1}, "process summary")
    eq(p100["leaks"][0]["a_future_field"], {"x": 1}, "unknown field passed through")
    eq([l["site"] for l in p100["leaks"]], [5, 3, 2], "site numbers")
    check("status" not in p100["leaks"][0], "no status without a baseline")
    eq(m["sites"][0], {"site": 1, "kind": "fd", "count": 3,
                       "signature": "fd|reader_thread;libfake.so.1+0x9abc",
                       "location": {"function": "reader_thread", "file": "src/worker.c", "line": 33},
                       "pids": [102]}, "site 1")
    eq(len(m["sites"]), 6, "sites")
    with TempDir() as d:
        merged = os.path.join(d, "merged.json")
        r = rcleak("report", "--format=json", "--output", merged, fixture("tree"))
        eq(r.stdout, "", "stdout with --output")
        eq(r.returncode, 23, "exit status with --output")
        r = rcleak("report", merged)
        eq(r.stdout, TREE_TEXT, "text report of the merged report")
        eq(r.returncode, 23, "exit status")
        r = rcleak("report", "--format=json", merged)
        eq(json.loads(r.stdout)["processes"], m["processes"], "merged JSON round trip")


@case
def report_not_utf8():
    """Bytes that are not UTF-8 in a report (an argument in Latin-1, a file
    named b"\\xff") come out as U+FFFD in every format, so that strict readers
    take the file: each maximal invalid subpart once, as Python's "replace"."""
    with open(fixture("tree", "rcleak.100.json"), "rb") as f:
        text = f.read()
    odd = {b"/tmp/app.log": b"/tmp/app-\xff\xe2\x82.log",   # a byte, a cut sequence
           b'"--serve"': b'"--s\xc3\xa9rve-\xc0\xaf"',     # valid é, an overlong /
           b'"open_log"': b'"open_\xed\xa0\x80log"'}        # a surrogate
    for k, v in odd.items():
        check(k in text, f"fixture has {k!r}")
        text = text.replace(k, v)
    want = {k: v.decode("utf-8", "replace") for k, v in odd.items()}
    eq(want[b"/tmp/app.log"], "/tmp/app-\ufffd\ufffd.log", "the oracle")
    with TempDir() as d:
        with open(os.path.join(d, "rcleak.100.json"), "wb") as f:
            f.write(text)
        bad_name = os.path.join(os.fsencode(d), b"rcleak.\xff.json")
        with open(bad_name, "wb") as f:
            f.write(b"garbage")
        outs = {}
        for fmt in ("json", "sarif", "text"):
            r = subprocess.run([RCLEAK, "report", "--format", fmt, d], capture_output=True)
            eq(r.returncode, 23, f"{fmt}: exit status")
            try:
                outs[fmt] = r.stdout.decode("utf-8")
            except UnicodeDecodeError as e:
                fail(f"{fmt}: output is not UTF-8: {e}")
        m = json.loads(outs["json"])
        p = m["processes"][0]
        fd = p["leaks"][0]
        eq(fd["target"], want[b"/tmp/app.log"].strip('"'), "json: fd target")
        eq(p["cmdline"], ["fake-app", want[b'"--serve"'].strip('"'), "a b"], "json: cmdline")
        eq(fd["stack"][0]["function"], want[b'"open_log"'].strip('"'), "json: function")
        eq([b["file"] for b in m["bad_inputs"]], [d + "/rcleak.\ufffd.json"], "json: bad input's name")
        s = json.loads(outs["sarif"])
        check_sarif_shape(s)
        check(any("/tmp/app-\ufffd\ufffd.log" in x["message"]["text"]
                  for x in s["runs"][0]["results"]), "sarif: the fd's target in a message")
        check("fd 5: file /tmp/app-\ufffd\ufffd.log (openat)" in outs["text"], "text: the fd line")
        check("fake-app '--s\u00e9rve-\ufffd\ufffd' 'a b'" in outs["text"], "text: the command")


@case
def report_sarif():
    """SARIF 2.1.0 shape: required properties, one result per site, file:line locations."""
    r = rcleak("report", "--format=sarif", "--source-root=/src/", fixture("tree"))
    eq(r.returncode, 23, "exit status")
    s = json.loads(r.stdout)
    check_sarif_shape(s)
    run = s["runs"][0]
    eq(len(run["results"]), 6, "one result per site")
    res = run["results"][0]
    eq(res["ruleId"], "rcleak/fd", "ruleId")
    eq(run["tool"]["driver"]["rules"][res["ruleIndex"]]["id"], "rcleak/fd", "ruleIndex")
    eq(res["level"], "error", "level")
    eq(res["message"]["text"], "3 file descriptors leaked from the same site: fd 6: pipe pipe:[1001] "
       "(pipe2) in pid 102; fd 7: pipe pipe:[1001] (pipe2) in pid 102; fd 8: pipe pipe:[1002] "
       "(pipe2) in pid 102", "message")
    loc = res["locations"][0]["physicalLocation"]
    eq(loc["artifactLocation"], {"uri": "src/worker.c", "uriBaseId": "SRCROOT"}, "artifactLocation")
    eq(loc["region"], {"startLine": 33}, "region")
    eq(len(res["stacks"][0]["frames"]), 2, "stack frames")
    eq(res["properties"]["count"], 3, "count")
    # A path under the current directory is made relative to SRCROOT.
    tmpd = [x for x in run["results"] if x["ruleId"] == "rcleak/tmpdir"][0]
    eq(tmpd["locations"][0]["physicalLocation"]["artifactLocation"],
       {"uri": "fake/scratch.c", "uriBaseId": "SRCROOT"}, "relative artifact")
    eq(run["originalUriBaseIds"]["SRCROOT"]["uri"], "file:///src/", "SRCROOT")
    # An untracked leak has no location, but still a result.
    untracked = [x for x in run["results"] if "untracked" in x["message"]["text"]][0]
    eq(untracked["locations"], [], "no location without a stack")
    notes = run["invocations"][0]["toolExecutionNotifications"]
    eq([n["message"]["text"] for n in notes],
       ["pid 103 (static-helper -x) not covered: no report: killed with SIGKILL by the cleanup"],
       "notifications")


def check_sarif_shape(s):
    """Required properties of the SARIF 2.1.0 schema for what rcleak emits."""
    eq(s["version"], "2.1.0", "version")
    check(isinstance(s.get("$schema"), str), "$schema")
    check(isinstance(s["runs"], list) and len(s["runs"]) == 1, "runs")
    run = s["runs"][0]
    driver = run["tool"]["driver"]
    check(isinstance(driver["name"], str), "tool.driver.name")
    ids = set()
    for rule in driver["rules"]:
        check(isinstance(rule["id"], str) and rule["id"] not in ids, "rule id unique")
        ids.add(rule["id"])
        check(isinstance(rule["shortDescription"]["text"], str), "rule shortDescription.text")
    for inv in run["invocations"]:
        check(isinstance(inv["executionSuccessful"], bool), "invocation.executionSuccessful")
        for n in inv["toolExecutionNotifications"]:
            check(isinstance(n["message"]["text"], str), "notification message.text")
    for res in run["results"]:
        check(isinstance(res["message"]["text"], str) and res["message"]["text"], "result message.text")
        check(res["ruleId"] in ids, "result ruleId known")
        check(driver["rules"][res["ruleIndex"]]["id"] == res["ruleId"], "ruleIndex agrees")
        check(res["level"] in ("none", "note", "warning", "error"), "level")
        for loc in res["locations"]:
            phys = loc.get("physicalLocation")
            if phys:
                check(isinstance(phys["artifactLocation"]["uri"], str), "artifactLocation.uri")
                if "region" in phys:
                    check(isinstance(phys["region"]["startLine"], int) and
                          phys["region"]["startLine"] >= 1, "region.startLine")
        for st in res.get("stacks", []):
            check(isinstance(st["frames"], list), "stack.frames")
            for fr in st["frames"]:
                check(isinstance(fr["location"], dict), "stackFrame.location")
        for k, v in res.get("partialFingerprints", {}).items():
            check(isinstance(v, str), "partialFingerprints values are strings")
        if "baselineState" in res:
            check(res["baselineState"] in ("new", "unchanged", "updated", "absent"), "baselineState")


@case
def report_github():
    """GitHub workflow annotations, with escaping; known sites are warnings."""
    r = rcleak("report", "--format=github", "--source-root=/src", fixture("tree"))
    eq(r.returncode, 23, "exit status")
    lines = r.stdout.splitlines()
    eq(len(lines), 7, "one annotation per site + SUMMARY")
    eq(lines[0], "::error file=src/worker.c,line=33,title=rcleak%3A 3 file descriptors leaked "
                 "from the same site::fd 6: pipe pipe:[1001] (pipe2) in pid 102%0Afd 7: pipe "
                 "pipe:[1001] (pipe2) in pid 102%0Afd 8: pipe pipe:[1002] (pipe2) in pid 102%0A"
                 "#0 reader_thread src/worker.c:33 (fake-app+0x3300)%0A#1 libfake.so.1+0x9abc",
       "first annotation")
    eq(lines[3], "::error title=rcleak%3A 1 file descriptor leaked::fd 9: pipe pipe:[777] "
                 "(untracked) in pid 102", "annotation without a location")
    check(lines[5].startswith("::error file=fake/scratch.c,line=5,title="), lines[5])
    eq(lines[6], TREE_TEXT.splitlines()[-1], "SUMMARY")
    with TempDir() as d:
        base = os.path.join(d, "base")
        rcleak("report", "--write-baseline", base, fixture("tree"))
        r = rcleak("report", "--format=github", "--baseline", base, fixture("tree"))
        eq(r.returncode, 0, "exit status with baseline")
        eq(sum(l.startswith("::warning ") for l in r.stdout.splitlines()), 6, "known sites are warnings")


# --------------------------------------------------------------------------
# Symbolization from module + offset (libdwfl), with a -g program
# --------------------------------------------------------------------------

def marker_line(marker):
    with open(LEAKY_SRC) as f:
        for i, line in enumerate(f, 1):
            if marker in line:
                return i
    fail(f"marker {marker} not in {LEAKY_SRC}")


def symbol_offset(name):
    out = subprocess.run(["nm", LEAKY], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] == name:
            return int(parts[0], 16)
    fail(f"{name} not in nm {LEAKY}")


def build_id(path):
    out = subprocess.run(["readelf", "-n", path], capture_output=True, text=True, check=True).stdout
    m = re.search(r"Build ID: ([0-9a-f]+)", out)
    return m.group(1) if m else None


def need_leaky():
    if not LEAKY or not os.path.exists(LEAKY):
        fail("LEAKY test program missing")
    for tool in ("nm", "readelf"):
        if not shutil.which(tool):
            print(f"SKIP: {tool} (binutils) not installed")
            sys.exit(SKIP)


@case
def report_symbolize():
    """module+offset -> function (static too) and file:line; build-id mismatch; shim names kept."""
    need_leaky()
    bid = build_id(LEAKY)
    check(bid, "the test program has a build-id")
    off = symbol_offset("open_log")
    off2 = symbol_offset("open_extra")

    def frame(o, **extra):
        # +1: stack entries are return addresses, rcleak looks up offset-1.
        f = {"pc": hex(0x555555554000 + o + 1), "module": LEAKY, "offset": hex(o + 1), "build_id": bid}
        f.update(extra)
        return f

    leaks = [
        {"kind": "fd", "fd": 3, "type": "file", "target": "/tmp/x", "acquired_by": "openat",
         "stack": [frame(off)]},
        {"kind": "fd", "fd": 4, "type": "file", "target": "/tmp/y", "acquired_by": "openat",
         "stack": [frame(off2, build_id="00" + bid[2:] if not bid.startswith("00") else "11" + bid[2:])]},
        {"kind": "fd", "fd": 5, "type": "file", "target": "/tmp/z", "acquired_by": "openat",
         "stack": [frame(off2, function="named_by_shim")]},
    ]
    rep = {"rcleak": 1, "pid": 300, "ppid": 1, "exe": LEAKY, "cmdline": ["leaky", "fd"],
           "exit": {"reason": "exit", "status": 0}, "leaks": leaks,
           "summary": {"total": 3, "fd": 3, "suppressed": 0}}
    with TempDir() as d:
        p = os.path.join(d, "rcleak.300.json")
        with open(p, "w") as f:
            json.dump(rep, f)
        r = rcleak("report", "--format=json", p)
        eq(r.returncode, 23, "exit status")
        m = json.loads(r.stdout)
        fr = [l["stack"][0] for l in m["processes"][0]["leaks"]]
        src = os.path.realpath(LEAKY_SRC)
        check(all(os.path.isabs(f["file"]) for f in (fr[0], fr[2])), "absolute source paths")
        eq((fr[0]["function"], os.path.realpath(fr[0]["file"]), fr[0]["line"]),
           ("open_log", src, marker_line("SYMBOL-LINE open_log")), "symbolized frame")
        eq(fr[1].get("function"), None, "no symbol for a rebuilt module")
        eq(fr[1].get("build_id_mismatch"), True, "build-id mismatch flagged")
        eq(fr[2]["function"], "named_by_shim", "the shim's function name is kept")
        eq(os.path.realpath(fr[2]["file"]), src, "file filled in under the shim's name")
        eq(fr[2]["line"], marker_line("SYMBOL-LINE open_extra"), "line filled in")
        r = rcleak("report", p)
        mod = os.path.basename(LEAKY)
        check(f"      #0 open_log {fr[0]['file']}:{fr[0]['line']} ({mod}+{off + 1:#x})\n" in r.stdout,
              r.stdout)
        check(f"      #0 {mod}+{off2 + 1:#x} [build-id mismatch: module rebuilt since the report]\n"
              in r.stdout, r.stdout)
        # --no-symbolize leaves the frames alone.
        r = rcleak("report", "--no-symbolize", "--format=json", p)
        fr = [l["stack"][0] for l in json.loads(r.stdout)["processes"][0]["leaks"]]
        eq(fr[0].get("function"), None, "--no-symbolize")


@case
def report_durations():
    """Timer durations read as people read them, from the nanoseconds of the report."""
    cases = [(99728153000, 100000000000, "due in 99.728 s, interval 100 s"),
             (250000000, 1000000, "due in 250 ms, interval 1 ms"),
             (50000, 1500, "due in 50 us, interval 1.5 us"),
             (999, 0, "due in 999 ns")]
    leaks = [{"kind": "itimer", "which": "ITIMER_REAL", "value_ns": v, "interval_ns": i,
              "acquired_by": "setitimer", "stack": []} for v, i, _ in cases]
    leaks.append({"kind": "timer", "timer_id": 7, "clock": "CLOCK_MONOTONIC", "armed": True,
                  "interval_ns": 20000000, "acquired_by": "timer_create", "stack": []})
    rep = {"rcleak": 1, "pid": 302, "ppid": 1, "exe": "/bin/true", "cmdline": ["x"],
           "exit": {"reason": "exit", "status": 0}, "leaks": leaks,
           "summary": {"total": 5, "itimer": 4, "timer": 1, "suppressed": 0}}
    with TempDir() as d:
        p = os.path.join(d, "rcleak.302.json")
        with open(p, "w") as f:
            json.dump(rep, f)
        r = rcleak("report", p)
        eq(r.returncode, 23, "exit status")
        got = [l.strip().split(" (")[0] for l in r.stdout.splitlines()
               if l.startswith("      ") and "timer" in l and "in pid" not in l]
        eq(got, [f"itimer ITIMER_REAL, {t}" for _, _, t in cases] +
           ["timer 7: CLOCK_MONOTONIC, armed, interval 20 ms"], "durations")


@case
def report_control_chars():
    """Names from a report with control characters are shown escaped in text,
    SARIF and GitHub output (no forged lines, no terminal escapes); JSON keeps them."""
    evil = "x\n==1== SUMMARY: rcleak: 0 leaks\x1b[2J\x07\u009b"
    shown = "x\\n==1== SUMMARY: rcleak: 0 leaks\\x1b[2J\\x07\\u009b"
    leaks = [{"kind": "fd", "fd": 3, "type": "file", "target": "/tmp/" + evil, "acquired_by": "open",
              "stack": [{"pc": "0x1", "module": "/nonexistent/m" + evil, "offset": "0x10",
                         "function": "f" + evil, "file": "/src/" + evil + ".c", "line": 7}]},
             {"kind": "child", "pid": 999999, "command": "sh " + evil, "state": "zombie",
              "cleanup": "reaped", "acquired_by": "fork", "stack": []}]
    rep = {"rcleak": 1, "pid": 303, "ppid": 1, "exe": "/bin/" + evil, "cmdline": ["prog", evil],
           "exit": {"reason": "signal", "signal": "SIG" + evil}, "leaks": leaks,
           "summary": {"total": 2, "fd": 1, "child": 1, "suppressed": 0}}

    def raw_controls(text):
        return [c for c in text if (ord(c) < 0x20 and c != "\n") or 0x7f <= ord(c) <= 0x9f]

    with TempDir() as d:
        p = os.path.join(d, "rcleak.303.json")
        with open(p, "w") as f:
            json.dump(rep, f)
        bad = os.path.join(d, "rcleak.304.json\x1b[31m")
        with open(bad, "w") as f:
            f.write("{")
        for fmt in ("text", "github"):
            r = rcleak("report", "--no-symbolize", "--format=" + fmt, d)
            eq(r.returncode, 23, fmt + ": exit status")
            eq(raw_controls(r.stdout) + raw_controls(r.stderr), [], fmt + ": no raw control character")
        # SARIF is JSON: its data fields carry names as they are; the messages
        # people read show them escaped.
        r = rcleak("report", "--no-symbolize", "--format=sarif", d)
        texts = []

        def messages(o):
            if isinstance(o, dict):
                for k, v in o.items():
                    if k == "message" and isinstance(v, dict):
                        texts.append(v.get("text", ""))
                    messages(v)
            elif isinstance(o, list):
                for v in o:
                    messages(v)
        messages(json.loads(r.stdout))
        check(len(texts) >= 2, f"SARIF messages: {texts}")
        eq([c for t in texts for c in raw_controls(t)], [], "sarif: no raw control character in messages")
        r = rcleak("report", "--no-symbolize", d)
        out = r.stdout
        for piece in ("file /tmp/" + shown, "f" + shown + " /src/" + shown + ".c:7 (m" + shown + "+0x10)",
                      "prog '" + shown + "' [killed by SIG" + shown + "]",
                      "pid 999999: sh " + shown + " [not covered"):
            check(piece in out, f"text shows {piece!r}: {out}")
        eq(len([l for l in out.splitlines() if l.startswith("SUMMARY")]), 1, "one SUMMARY line")
        check("rcleak.304.json\\x1b[31m: " in r.stderr, r.stderr)
        r = rcleak("report", "--no-symbolize", "--format=json", d)
        m = json.loads(r.stdout)
        lk = m["processes"][0]["leaks"][0]
        eq((lk["target"], lk["stack"][0]["function"]), ("/tmp/" + evil, "f" + evil),
           "JSON keeps the names")


@case
def report_symbolize_special_files():
    """A module path naming a FIFO, a device or a pipe is not read: the report finishes."""
    with TempDir() as d:
        fifo = os.path.join(d, "fifo")
        os.mkfifo(fifo)
        mods = [fifo, "/dev/zero", "/proc/self/fd/0"]
        leaks = [{"kind": "fd", "fd": 3 + i, "type": "file", "target": f"/tmp/t{i}",
                  "acquired_by": "open",
                  "stack": [{"pc": "0x401000", "module": m, "offset": "0x1000"}]}
                 for i, m in enumerate(mods)]
        rep = {"rcleak": 1, "pid": 301, "ppid": 1, "exe": "/bin/true", "cmdline": ["x"],
               "exit": {"reason": "exit", "status": 0}, "leaks": leaks,
               "summary": {"total": 3, "fd": 3, "suppressed": 0}}
        p = os.path.join(d, "rcleak.301.json")
        with open(p, "w") as f:
            json.dump(rep, f)
        # stdin: a pipe nobody writes to or closes, so reading it would block.
        rfd, wfd = os.pipe()
        try:
            r = rcleak("report", "--format=json", p, stdin=rfd, timeout=30)
        except subprocess.TimeoutExpired:
            fail("rcleak report blocked on a module that is not a regular file")
        finally:
            os.close(rfd)
            os.close(wfd)
        eq(r.returncode, 23, "exit status")
        eq(r.stderr, "", "stderr")
        fr = [l["stack"][0] for l in json.loads(r.stdout)["processes"][0]["leaks"]]
        eq([(f["module"], f["offset"], f.get("function"), f.get("file")) for f in fr],
           [(m, "0x1000", None, None) for m in mods], "frames left as module+offset")


# --------------------------------------------------------------------------
# common/suppress.c: unit test and async-signal-safety of its imports
# --------------------------------------------------------------------------

@case
def suppress_signal_safe():
    """suppress.c calls nothing but async-signal-safe string functions."""
    lib = os.environ.get("RC_COMMON_LIB", "")
    if not shutil.which("nm"):
        print("SKIP: nm not installed")
        return SKIP
    out = subprocess.run(["nm", "-u", lib], capture_output=True, text=True, check=True).stdout
    undefined = sorted({l.split()[-1] for l in out.splitlines() if l.strip() and ":" not in l})
    allowed = {"strlen", "memcmp", "strchr", "strrchr", "memcpy", "memset"}
    eq([u for u in undefined if u not in allowed], [], "calls outside the async-signal-safe set")


@case
def help_text():
    """--help, run --help, --version."""
    r = rcleak("--help")
    eq(r.returncode, 0, "exit status")
    check(r.stdout.startswith("Usage: rcleak run [OPTIONS] [--] CMD [ARGS...]\n"), r.stdout)
    for word in ("--format", "--suppressions", "--baseline", "--write-baseline", "--error-exitcode",
                 "sarif", "github"):
        check(word in r.stdout, f"{word} in --help")
    r = rcleak("run", "--help")
    eq(r.returncode, 0, "exit status")
    for word in ("--report-dir", "--keep-reports", "--stack-depth", "--cleanup", "--signals",
                 "LD_PRELOAD", "RCLEAK_LIBRARY"):
        check(word in r.stdout, f"{word} in run --help")
    r = rcleak("--version")
    check(re.fullmatch(r"rcleak \d+\.\d+\.\d+\n", r.stdout), r.stdout)


# --------------------------------------------------------------------------
# rcleak run, with the shim
# --------------------------------------------------------------------------

def need_shim(*symbols):
    """Skip (77) when the shim is not built, or explicitly lacks a family's entry points."""
    if not SHIM or not os.path.exists(SHIM):
        print("SKIP: librcleak.so not built")
        sys.exit(SKIP)
    if symbols:
        out = subprocess.run(["nm", "-D", "--defined-only", SHIM], capture_output=True,
                             text=True).stdout
        have = {l.split()[-1].split("@")[0] for l in out.splitlines() if l.strip()}
        missing = [s for s in symbols if s not in have]
        if missing:
            print(f"SKIP: the shim does not interpose {', '.join(missing)} yet")
            sys.exit(SKIP)


def run_json(*args, env=None, cwd=None, timeout=60):
    """rcleak run --format=json; returns (CompletedProcess, merged report)."""
    r = rcleak("run", "--format=json", *args, env=env, cwd=cwd, timeout=timeout)
    try:
        m = json.loads(r.stdout if "--output" in " ".join(args) else r.stderr[r.stderr.index("{"):])
    except (ValueError, json.JSONDecodeError):
        fail(f"no merged JSON report; stderr:\n{r.stderr}\nstdout:\n{r.stdout}")
    return r, m


def leaks_of(m):
    return [(p, l) for p in m["processes"] for l in p["leaks"]]


def pid_alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@case
def run_clean():
    """A program that leaks nothing: empty report, exit 0, CMD's stdout untouched."""
    need_shim()
    r = rcleak("run", "--", LEAKY, "none")
    eq(r.stderr, "", "stderr (empty report)")
    eq(r.stdout, "", "stdout")
    eq(r.returncode, 0, "exit status")
    r = rcleak("run", "-v", "--", LEAKY, "none")
    check(re.fullmatch(r"rcleak: process tree\n  pid \d+: \S+leaky none \[exit 0\], no leaks\n"
                       r"SUMMARY: rcleak: 0 leaks in 1 process; 0 suppressed\n", r.stderr), r.stderr)
    for code in ("0", "1", "42"):
        r = rcleak("run", LEAKY, "exit", code)
        eq(r.returncode, int(code), f"CMD's own status {code}")
        eq(r.stderr, "", "stderr")


@case
def run_fd_leak():
    """A -g program leaking one fd: exit 23, function and file:line in the report."""
    need_shim()
    with TempDir() as d:
        log = os.path.join(d, "app.log")
        r, m = run_json(LEAKY, "fd", log)
        eq(r.returncode, 23, "exit status")
        lk = leaks_of(m)
        eq([(l["kind"], l["type"], l["target"]) for _, l in lk], [("fd", "file", log)], "leaks")
        top = lk[0][1]["stack"][0]
        eq((top["function"], os.path.basename(top["file"]), top["line"]),
           ("open_log", "leaky.c", marker_line("CALL-LINE open_log")), "top frame")
        r = rcleak("run", "--", LEAKY, "fd", log)
        eq(r.returncode, 23, "exit status (text)")
        check(f"      #0 open_log {top['file']}:{top['line']} ({os.path.basename(LEAKY)}+0x" in r.stderr,
              r.stderr)
        check(r.stderr.splitlines()[-1].startswith("SUMMARY: rcleak: 1 leak (1 fd) in 1 of 1 process;"),
              r.stderr)
        r = rcleak("run", "--error-exitcode=0", "--", LEAKY, "fd", log)
        eq(r.returncode, 0, "--error-exitcode=0")
        check("SUMMARY: rcleak: 1 leak" in r.stderr, "still reported")
        # A failing command's status is never replaced.
        r = rcleak("run", "--", "sh", "-c", f"exec 7>{log}; exit 3")
        eq(r.returncode, 3, "failing CMD keeps its status")


@case
def run_large_tree():
    """A tree of more than 40 processes is shown pruned: the processes with
    leaks (and their ancestors), and one line counting the children left
    out; -v shows every one.  A tree of 40 is shown whole."""
    need_shim()
    loop = "i=0; while [ $i -lt %d ]; do /bin/true; i=$((i+1)); done; exec 3</etc/hostname; exec /bin/true"
    r = rcleak("run", "--", "sh", "-c", loop % 45)
    eq(r.returncode, 23, f"exit status; stderr {r.stderr}")
    tree = r.stderr.split("rcleak: leak sites")[0].splitlines()
    eq(len(tree), 4, f"the tree: its heading, the root, its leak, one line for the rest: {tree}")
    check(re.fullmatch(r"  pid \d+: /bin/true \[exit 0\], 1 leak", tree[1]), tree)
    check(re.fullmatch(r"      fd 3: file /etc/hostname \(open(64)?\), across exec -> site 1", tree[2]),
          tree)
    eq(tree[3], "    (45 more processes without leaks; -v lists them)", "the children left out")
    check(r.stderr.splitlines()[-1].startswith("SUMMARY: rcleak: 1 leak (1 fd) in 1 of 46 processes;"),
          r.stderr)
    r = rcleak("run", "-v", "--", "sh", "-c", loop % 45)
    eq(len(re.findall(r"^    pid \d+: /bin/true \[exit 0\], no leaks$", r.stderr, re.M)), 45,
       "-v: every child")
    r = rcleak("run", "--", "sh", "-c", loop % 39)
    eq(len(re.findall(r"^    pid \d+: /bin/true \[exit 0\], no leaks$", r.stderr, re.M)), 39,
       "40 processes: the whole tree")
    check("more processes without leaks" not in r.stderr, r.stderr)


@case
def run_sarif_file_line():
    """SARIF from a run of a -g program carries its file:line."""
    need_shim()
    with TempDir() as d:
        out = os.path.join(d, "out.sarif")
        r = rcleak("run", "--format=sarif", "--output", out, "--", LEAKY, "fd",
                   os.path.join(d, "x.log"), cwd=os.path.dirname(os.path.realpath(LEAKY_SRC)))
        eq(r.returncode, 23, "exit status")
        with open(out) as f:
            s = json.load(f)
        check_sarif_shape(s)
        res = s["runs"][0]["results"]
        eq(len(res), 1, "results")
        phys = res[0]["locations"][0]["physicalLocation"]
        eq(phys["artifactLocation"], {"uri": "leaky.c", "uriBaseId": "SRCROOT"}, "artifact")
        eq(phys["region"]["startLine"], marker_line("CALL-LINE open_log"), "startLine")


@case
def run_github():
    """GitHub annotations from a run."""
    need_shim()
    with TempDir() as d:
        r = rcleak("run", "--format=github", "--", LEAKY, "fd", os.path.join(d, "x.log"),
                   cwd=os.path.dirname(os.path.realpath(LEAKY_SRC)))
        eq(r.returncode, 23, "exit status")
        lines = r.stderr.splitlines()
        check(lines[0].startswith(f"::error file=leaky.c,line={marker_line('CALL-LINE open_log')},"
                                  "title=rcleak%3A 1 file descriptor leaked::fd "), lines[0])
        check(lines[-1].startswith("SUMMARY: rcleak: 1 leak (1 fd)"), lines[-1])


@case
def run_baseline():
    """Baseline from a first run: an identical run passes, one extra leak fails naming only it."""
    need_shim()
    with TempDir() as d:
        base = os.path.join(d, "base")
        log = os.path.join(d, "x.log")
        r = rcleak("run", "--write-baseline", base, "--", LEAKY, "fd", log)
        eq(r.returncode, 23, "first run")
        r = rcleak("run", "--baseline", base, "--", LEAKY, "fd", log)
        eq(r.returncode, 0, "identical run passes")
        check("[known]" in r.stderr and "[new]" not in r.stderr, r.stderr)
        r = rcleak("run", "--baseline", base, "--", LEAKY, "fd2", log)
        eq(r.returncode, 23, "extra leak fails")
        new = [l for l in r.stderr.splitlines() if "[new]" in l]
        eq(len(new), 2, f"one new leak, one new site: {new}")
        check(re.fullmatch(r"      fd \d+: chardev /dev/null \(open(at)?(64)?\) -> site \d \[new\]", new[0]),
              new[0])
        check("#0 open_extra " in r.stderr, r.stderr)
        check(re.search(r"; 1 new, 1 known;", r.stderr.splitlines()[-1]), r.stderr)


@case
def run_report_dir_truncated():
    """--report-dir keeps the reports; a truncated file among them is named, the rest merged."""
    need_shim()
    with TempDir() as d:
        rd = os.path.join(d, "reports")
        r = rcleak("run", "--report-dir", rd, "--", LEAKY, "fd", os.path.join(d, "x.log"))
        eq(r.returncode, 23, "exit status")
        files = os.listdir(rd)
        eq(len(files), 1, f"one report: {files}")
        check(re.fullmatch(r"rcleak\.\d+\.json", files[0]), files[0])
        with open(os.path.join(rd, "rcleak.1.json"), "w") as f:
            f.write('{"rcleak": 1, "pid": 1, "leaks": [{"kind"')
        r = rcleak("report", rd)
        eq(r.returncode, 23, "exit status")
        eq(r.stderr, f"rcleak: {rd}/rcleak.1.json: truncated JSON (process killed while writing "
                     "its report?)\n", "stderr")
        check("SUMMARY: rcleak: 1 leak (1 fd) in 1 of 1 process; 0 suppressed; 1 unreadable report\n"
              in r.stdout, r.stdout)


@case
def run_env_preserved():
    """LD_PRELOAD and RCLEAK_OPTIONS are appended to, never replaced; temp dir removed."""
    need_shim()
    with TempDir() as d:
        env_out = os.path.join(d, "env")
        tmp = os.path.join(d, "tmp")
        os.mkdir(tmp)
        r = rcleak("run", "--stack-depth=7", "--", "sh", "-c",
                   f'printf "%s\\n%s\\n" "$LD_PRELOAD" "$RCLEAK_OPTIONS" > {env_out}',
                   env={"LD_PRELOAD": "libc.so.6", "RCLEAK_OPTIONS": "verbosity=0", "TMPDIR": tmp})
        eq(r.returncode, 0, f"exit status; stderr {r.stderr}")
        with open(env_out) as f:
            preload, opts = f.read().splitlines()
        eq(preload, "libc.so.6:" + os.path.realpath(SHIM), "LD_PRELOAD")
        check(re.fullmatch(r"verbosity=0:json_path=" + re.escape(tmp) +
                           r"/rcleak\.[^/:]+/rcleak\.%p\.json:text_report=0:json_optional=1:stack_depth=7", opts),
              opts)
        eq(os.listdir(tmp), [], "the temporary report directory is removed")


@case
def run_not_found():
    """CMD not found: 127, not executable: 126; the tree says it was not run."""
    need_shim()
    r = rcleak("run", "--", "/nonexistent/cmd")
    eq(r.returncode, 127, "not found")
    check(r.stderr.startswith("rcleak: /nonexistent/cmd: No such file or directory\n"), r.stderr)
    r = rcleak("run", "--", "/etc/passwd")
    eq(r.returncode, 126, "not executable")
    # the tree says why CMD has no report: it never ran
    for cmd, why in (("/nonexistent/cmd", "No such file or directory"),
                     ("/etc/passwd", "Permission denied")):
        r, m = run_json("--", cmd)
        eq([(e["command"], e["reason"]) for e in m["not_covered"]], [(cmd, "not run: " + why)],
           f"{cmd}: not covered, and why")


def start_sleeper(out):
    """rcleak run LEAKY sleep, with the forwarded signals at their defaults (a
    background job of a non-interactive shell would inherit SIGINT ignored)."""
    def defaults():
        for s in (signal.SIGINT, signal.SIGQUIT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(s, signal.SIG_DFL)
    p = subprocess.Popen([RCLEAK, "run", "--format=json", "--output", out, "--", LEAKY, "sleep"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         preexec_fn=defaults)
    eq(p.stdout.readline(), "ready\n", "CMD started")
    return p


def stop_with(p, sig):
    t0 = time.monotonic()
    p.send_signal(sig)
    try:
        p.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()
        fail(f"{sig.name} was not forwarded")
    # CMD sleeps 30 s and exits 3 if nothing reaches it.
    check(time.monotonic() - t0 < 10, "CMD ended promptly")
    eq(p.returncode, 128 + sig, f"exit status after {sig.name}")


@case
def run_signal_forwarding():
    """SIGTERM, SIGINT and SIGHUP sent to rcleak reach CMD; rcleak exits 128+sig."""
    need_shim()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        with TempDir() as d:
            stop_with(start_sleeper(os.path.join(d, "merged.json")), sig)


@case
def run_signal_report():
    """A CMD killed by a forwarded signal still writes its report (the shim's signal hook)."""
    need_shim("sigaction")
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        with TempDir() as d:
            out = os.path.join(d, "merged.json")
            stop_with(start_sleeper(out), sig)
            with open(out) as f:
                m = json.load(f)
            eq([(pr["exit"]["reason"], pr["exit"].get("signal")) for pr in m["processes"]],
               [("signal", sig.name)], f"report of a process killed by {sig.name}")
            eq(m["not_covered"], [], "not covered")


@case
def run_not_covered():
    """A process that cleared LD_PRELOAD writes no report and is listed as not covered."""
    need_shim()
    with TempDir() as d:
        pidfile = os.path.join(d, "bg")
        # The background sleep outlives sh: either the shim in sh reports it as
        # a leaked child (child family) or rcleak finds it reparented to itself.
        r, m = run_json("--error-exitcode=0", "--", "sh", "-c",
                        f"env -u LD_PRELOAD sleep 2 & echo $! > {pidfile}")
        with open(pidfile) as f:
            bg = int(f.read())
        if pid_alive(bg):
            os.kill(bg, signal.SIGKILL)
        eq(r.returncode, 0, f"exit status; stderr {r.stderr}")
        eq([e["pid"] for e in m["not_covered"]], [bg], "not covered")
        check("sleep" in m["not_covered"][0]["command"], m["not_covered"][0]["command"])
        eq([os.path.basename(p["exe"]) for p in m["processes"]], ["dash" if os.path.realpath(
            "/bin/sh").endswith("dash") else os.path.basename(os.path.realpath("/bin/sh"))],
           "covered processes")
        r = rcleak("run", "--error-exitcode=0", "--", "sh", "-c",
                   f"env -u LD_PRELOAD sleep 2 & echo $! > {pidfile}; sleep 0.3")
        with open(pidfile) as f:
            bg = int(f.read())
        if pid_alive(bg):
            os.kill(bg, signal.SIGKILL)
        check(re.search(rf"\n  +pid {bg}: .*sleep 2 \[not covered: ", r.stderr), r.stderr)
        check("; 1 not covered" in r.stderr.splitlines()[-1], r.stderr)


@case
def run_orphan_reasons():
    """A process that outlived its parent and left no report: the tree says
    how it ended.  Killed by a signal the shim does not report on (SIGPIPE,
    as `yes` in `yes | head -1` dies), that is the reason; one that exited,
    only a guess at why it had no rcleak."""
    need_shim()
    with TempDir() as d:
        script = os.path.join(d, "orphan.sh")
        with open(script, "w") as f:
            # the middle sh, without the shim, starts the orphan and exits at
            # once; the orphan ends itself; the script waits until rcleak, its
            # subreaper, has reaped it
            f.write('env -u LD_PRELOAD sh -c \'sh -c "echo \\$\\$ > $1; $2" & exit\' sh "$1" "$2"\n'
                    'until [ -s "$1" ]; do sleep 0.01; done\n'
                    'while kill -0 "$(cat "$1")" 2>/dev/null; do sleep 0.01; done\n')
        for i, (end, reason) in enumerate((
                ("kill -PIPE $$", "no report: killed by SIGPIPE after its parent exited, "
                                          "a signal rcleak reports on only when --signals names it"),
                ("exit 3", "no report: exited 3 after its parent had (statically linked, "
                           "set-user/group-ID, or LD_PRELOAD cleared?)"))):
            pidfile = os.path.join(d, "orphan%d" % i)
            r, m = run_json("--", "sh", script, pidfile, end)
            with open(pidfile) as f:
                orphan = int(f.read())
            eq(r.returncode, 0, f"{end}: exit status; stderr {r.stderr}")
            eq([(e["pid"], e["reason"]) for e in m["not_covered"]], [(orphan, reason)],
               f"{end}: not covered, and why")
            os.unlink(pidfile)
            r = rcleak("run", "--", "sh", script, pidfile, end)
            with open(pidfile) as f:
                orphan = int(f.read())
            check(f"\n  pid {orphan}: sh [not covered: {reason}]\n" in r.stderr, r.stderr)


@case
def run_killed_child():
    """A descendant killed by SIGKILL writes no report; its parent reaped it,
    so no leak names it, but the parent's report lists it, and the tree says
    it was not covered."""
    need_shim()
    with TempDir() as d:
        pidfile = os.path.join(d, "killed")
        r, m = run_json("--", "sh", "-c", f"sh -c 'echo $$ > {pidfile}; kill -KILL $$'; true")
        with open(pidfile) as f:
            killed = int(f.read())
        eq(r.returncode, 0, f"exit status: the command's; stderr {r.stderr}")
        eq([(e["pid"], e["reason"]) for e in m["not_covered"]],
           [(killed, "no report: killed by SIGKILL, then reaped by its parent")], "not covered")
        r = rcleak("run", "--", "sh", "-c", f"sh -c 'echo $$ > {pidfile}; kill -KILL $$'; true")
        with open(pidfile) as f:
            killed = int(f.read())
        check(re.search(rf"\n    pid {killed}: \? \[not covered: no report: killed by SIGKILL, "
                        rf"then reaped by its parent\]\n", r.stderr), r.stderr)
        check("; 1 not covered" in r.stderr.splitlines()[-1], r.stderr)


@case
def run_daemon():
    """setsid -f starts a daemon and exits: the daemon is reported, left
    running, and the tree says it has no report yet because it runs on."""
    need_shim("setsid")
    if shutil.which("setsid") is None:
        print("SKIP: no setsid")
        sys.exit(SKIP)
    daemon = None
    try:
        r, m = run_json("--", "setsid", "-f", "sh", "-c",
                        "exec sleep 30 </dev/null >/dev/null 2>&1")
        lk = leaks_of(m)
        eq([(p["cmdline"][0], l["kind"], l.get("daemon"), l["cleanup"]) for p, l in lk],
           [("setsid", "child", True, "none")], f"leaks; stderr {r.stderr}")
        daemon = lk[0][1]["pid"] if lk else None
        eq(r.returncode, 23, "exit status: a leak")
        check(daemon is not None and pid_alive(daemon), "the daemon is still running")
        eq([(e["pid"], e["reason"]) for e in m["not_covered"]],
           [(daemon, "no report yet: a daemon, still running after CMD exited")], "not covered")
    finally:
        if daemon:
            os.kill(daemon, signal.SIGKILL)


@case
def run_daemon_outlives_run():
    """A daemon that ends after the run has removed its report directory has
    nowhere to write its report: it says nothing (json_optional=1), where it
    used to print "cannot write the JSON report" into the daemon's stderr."""
    need_shim("setsid")
    if shutil.which("setsid") is None:
        print("SKIP: no setsid")
        sys.exit(SKIP)
    with TempDir() as d:
        done = os.path.join(d, "done")
        # the daemon keeps rcleak's stderr pipe: the run returns when it ends
        r = rcleak("run", "--format=json", "--output", os.path.join(d, "m.json"), "--",
                   "setsid", "-f", "sh", "-c", f"sleep 0.3; echo x > {done}", timeout=60)
        eq(r.returncode, 23, "exit status: the daemon is a leak of setsid")
        check(os.path.exists(done), "the daemon ran to its end")
        eq(r.stderr, "", "nothing printed, by the run or by the daemon after it")


@case
def run_privileges_dropped():
    """A process of the tree that drops its privileges (a server's workers,
    PostgreSQL under su) writes its report into the run's directory too: it
    used to be lost, without a line in the tree.  The directory is removed
    afterwards, the other user's report included."""
    need_shim()
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        print("SKIP: needs root and setpriv")
        sys.exit(SKIP)
    with TempDir() as d:
        tmp = os.path.join(d, "tmp")
        os.mkdir(tmp)
        os.chmod(d, 0o755)
        log = "/dev/null"  # a file nobody may open
        # the shell (root) reaps it: only its own report can say it existed
        r, m = run_json("--", "sh", "-c", f"setpriv --reuid=65534 --regid=65534 --clear-groups "
                        f"-- {LEAKY} fd {log}; true", env={"TMPDIR": tmp})
        eq(r.returncode, 23, f"exit status: its leak; stderr {r.stderr}")
        eq([(p["cmdline"][0], l["kind"], l.get("target")) for p, l in leaks_of(m)],
           [(LEAKY, "fd", log)], "the leak of the process running as nobody")
        eq(m["not_covered"], [], "nothing else is missing")
        eq(os.listdir(tmp), [], "the report directory is removed")


@case
def report_dir_planted():
    """What another user may plant in a report directory is not read through:
    a link to a report elsewhere is not a report of this run (it used to be
    read as one), and a FIFO is skipped, not waited on."""
    with TempDir() as d:
        rd = os.path.join(d, "reports")
        os.mkdir(rd)
        shutil.copy(fixture("clean", "rcleak.200.json"), rd)
        os.symlink(fixture("tree", "rcleak.102.json"), os.path.join(rd, "rcleak.102.json"))
        os.mkfifo(os.path.join(rd, "rcleak.103.json"))
        r = rcleak("report", "--format=json", rd, timeout=30)
        m = json.loads(r.stdout)
        eq([p["pid"] for p in m["processes"]], [200], "the regular report alone")
        eq(m["summary"]["total"], 0, "no leak from the linked report")
        eq(r.returncode, 0, f"exit status; stderr {r.stderr}")


@case
def run_helper_awaited():
    """A child that ends by itself once its parent has (here cat, reading a
    pipe only the parent holds; multiprocessing's resource tracker does the
    same) is still running when CMD exits: the run waits for it (up to a
    second) and includes its report, instead of listing it as not covered.
    A daemon is not waited for."""
    need_shim()
    # after EOF the helper takes a moment to finish (0.2 s, well inside the
    # second): without the wait the run looks before it has ended
    helper = "cat; sleep 0.2"
    script = ("import os, subprocess\n"
              "r, w = os.pipe()\n"
              f"subprocess.Popen(['sh', '-c', {helper!r}], stdin=r, stdout=subprocess.DEVNULL)\n"
              "os.close(r)\n")
    r, m = run_json("--cleanup=0", "--", sys.executable, "-c", script)
    eq(r.returncode, 23, f"exit status: leaks; stderr {r.stderr}")
    eq(m["not_covered"], [], "nothing not covered")
    sh = [p for p in m["processes"] if p["cmdline"] == ["sh", "-c", helper]]
    eq([(p["exit"], p["leaks"]) for p in sh], [({"reason": "exit", "status": 0}, [])],
       "the helper's own report: it ended after EOF, clean")
    lk = leaks_of(m)
    eq(sorted((l["kind"], l.get("command") or l.get("type")) for _, l in lk),
       [("child", "sh -c " + helper), ("fd", "pipe")],
       "the parent's leaks: the helper, and the pipe's write end")


@case
def run_shell_child():
    """bash -c 'sleep 30 & exit' reports the sleep (and it is killed); exit 23."""
    need_shim("fork")
    r, m = run_json("--", "bash", "-c", "sleep 30 & exit")
    eq(r.returncode, 23, "exit status")
    lk = leaks_of(m)
    eq([(p["cmdline"][0], l["kind"], l.get("command"), l.get("state")) for p, l in lk],
       [("bash", "child", "sleep 30", "running")], "leaks")
    child = lk[0][1]["pid"]
    eq(lk[0][1]["cleanup"], "killed", "cleanup")
    check(not pid_alive(child), "the sleep was killed")
    r = rcleak("run", "--error-exitcode=0", "--", "bash", "-c", "sleep 30 & exit")
    eq(r.returncode, 0, "--error-exitcode=0")
    check(re.search(r"child pid \d+: sleep 30, running", r.stderr), r.stderr)


@case
def run_all_suppressed():
    """Leaks that suppressions all hid: exit 0, and the text report is the
    SUMMARY line alone (the tree only with --verbose)."""
    need_shim()
    with TempDir() as d:
        log = os.path.join(d, "app.log")
        supp = os.path.join(d, "s.supp")
        with open(supp, "w") as f:
            f.write("fd:^open_log$\n")
        r = rcleak("run", "--suppressions", supp, "--", LEAKY, "fd", log)
        eq(r.stderr, "SUMMARY: rcleak: 0 leaks in 1 process; 1 suppressed\n", "stderr")
        eq(r.returncode, 0, "exit status")
        r = rcleak("run", "-v", "--suppressions", supp, "--", LEAKY, "fd", log)
        check(re.fullmatch(r"rcleak: process tree\n  pid \d+: \S+leaky fd \S+ \[exit 0\], "
                           r"no leaks \(1 suppressed\)\n"
                           r"SUMMARY: rcleak: 0 leaks in 1 process; 1 suppressed\n", r.stderr),
              r.stderr)
        eq(r.returncode, 0, "exit status (verbose)")


@case
def run_shell_child_suppressed():
    """A suppression hides the child, and then it is not killed either."""
    need_shim("fork")
    with TempDir() as d:
        supp = os.path.join(d, "s.supp")
        with open(supp, "w") as f:
            f.write("# bash's background jobs are fine\nchild:bash\n")
        marker = os.path.join(d, "alive")
        r, m = run_json("--suppressions", supp, "--", "bash", "-c",
                        # the sleep must not hold our output pipes open, or reading
                        # them would wait for it to end
                        f"sleep 30 >/dev/null 2>&1 & echo $! > {marker}; exit")
        eq(r.returncode, 0, "exit status")
        eq(leaks_of(m), [], "no leaks")
        eq(m["summary"]["suppressed"], 1, "suppressed count")
        with open(marker) as f:
            pid = int(f.read())
        alive = pid_alive(pid)
        if alive:
            os.kill(pid, signal.SIGKILL)
        check(alive, "a suppressed child is not killed")


@case
def run_suppressions_pipe():
    """--suppressions from a pipe (`<(cat a b)`): read once, and every traced
    process gets the same rules from a regular copy: the bash child is
    suppressed in its process (so not killed), a grandchild's fd is suppressed
    too, and nothing is said about the suppressions."""
    need_shim("fork")
    with TempDir() as d:
        marker = os.path.join(d, "alive")
        rfd, wfd = os.pipe()
        os.write(wfd, b"child:bash\nfd:/etc/hostname\n")
        os.close(wfd)
        out = os.path.join(d, "m.json")
        try:
            r = subprocess.run(
                [RCLEAK, "run", "--format=json", "--output", out, "--suppressions", f"/dev/fd/{rfd}",
                 "--", "bash", "-c",
                 f"sleep 30 >/dev/null 2>&1 & echo $! > {marker}; "
                 "python3 -c 'import os; os.open(\"/etc/hostname\", os.O_RDONLY)'; exit"],
                capture_output=True, text=True, timeout=60, pass_fds=[rfd], stdin=subprocess.DEVNULL)
        finally:
            os.close(rfd)
        with open(marker) as f:
            pid = int(f.read())
        alive = pid_alive(pid)
        if alive:
            os.kill(pid, signal.SIGKILL)
        eq((r.returncode, r.stderr), (0, ""), "exit status and stderr")
        with open(out) as f:
            m = json.load(f)
        eq(leaks_of(m), [], "no leaks")
        eq(m["summary"]["suppressed"], 2, "suppressed: the child in bash, the fd in python")
        check(alive, "a suppressed child is not killed")

    with TempDir() as d:
        big = os.path.join(d, "big.supp")
        with open(big, "w") as f:
            f.write(("# %s\n" % ("x" * 1020)) * 1100)
        r = rcleak("run", "--suppressions", big, "--", "true")
        eq((r.returncode, r.stderr), (2, f"rcleak: {big}: larger than 1 MiB, the most a traced "
                                         "process reads\n"), "a file the shim would refuse: usage error")


@case
def run_make():
    """make -j2 over a Makefile whose recipe leaks a background child."""
    need_shim("fork")
    if not shutil.which("make"):
        print("SKIP: make not installed")
        return SKIP
    with TempDir() as d:
        with open(os.path.join(d, "Makefile"), "w") as f:
            f.write("all: a b\n"
                    "a:\n\t@sleep 30 & echo started-a\n"
                    "b:\n\t@echo built-b\n")
        r, m = run_json("--", "make", "-s", "-j2", cwd=d)
        eq(r.returncode, 23, f"exit status; stderr {r.stderr}")
        lk = leaks_of(m)
        eq([(l["kind"], l.get("command")) for _, l in lk], [("child", "sleep 30")], "leaks")
        check(os.path.basename(lk[0][0]["cmdline"][0]) in ("sh", "dash", "bash"),
              f"leaked by the recipe's shell: {lk[0][0]['cmdline']}")
        check(any(os.path.basename(p["cmdline"][0]) == "make" for p in m["processes"]), "make covered")
        r = rcleak("run", "--", "make", "-s", "-j2", "b", cwd=d)
        eq(r.returncode, 0, "a clean recipe")
        eq(r.stderr, "", "empty report")


@case
def run_python_popen():
    """python3 leaking a child through subprocess.Popen."""
    need_shim("fork")
    py = os.path.realpath(sys.executable)  # the interpreter itself, not a wrapper script
    code = "import subprocess, sys\np = subprocess.Popen(['sleep', '30'])\nsys.exit(0)\n"
    r, m = run_json("--", py, "-c", code)
    eq(r.returncode, 23, f"exit status; stderr {r.stderr}")
    lk = [(p, l) for p, l in leaks_of(m) if l["kind"] == "child"]
    eq([l.get("command") for _, l in lk], ["sleep 30"], "child leaks")
    check(not pid_alive(lk[0][1]["pid"]), "the child was killed")



@case
def run_script_frames():
    """A Python program's and a bash script's leaks, merged by rcleak run:
    the text names the script's frames, the JSON keeps them (lang python),
    and the github annotation points at the script's own line, not the
    interpreter's C source."""
    need_shim()
    with TempDir() as d:
        sh = os.path.join(d, "app.sh")
        with open(sh, "w") as f:
            f.write("open_log() {\n  exec 7>\"$1\"\n}\nopen_log app.log\n")
        r = rcleak("run", "--", "bash", sh, cwd=d)
        eq(r.returncode, 23, f"bash: exit status; stderr {r.stderr}")
        check(re.search(r"\n      #\d+ open_log " + re.escape(sh) + r":2 \(bash\)\n"
                        r"      #\d+ main " + re.escape(sh) + r":4 \(bash\)\n"
                        r"      \(\d+ more frames of the interpreter not shown; --format=json has "
                        r"them\)\n", r.stderr), r.stderr)
        check("execute_command_internal" not in r.stderr, "bash's own frames below left out")
        r = rcleak("run", "--format=github", "--", "bash", sh, cwd=d)
        check(r.stderr.startswith("::error file=app.sh,line=2,"), r.stderr[:200])
        if sys.version_info[:2] not in ((3, 11), (3, 12), (3, 13)):
            print(f"# Python frames are read from CPython 3.11-3.13, not {sys.version}: skipped")
            return
        py = os.path.realpath(sys.executable)
        src = os.path.join(d, "app.py")
        with open(src, "w") as f:
            f.write("import os\n"
                    "def open_log(path):\n"
                    "    return os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)\n"
                    "open_log(os.path.join(os.path.dirname(__file__), 'app.log'))\n")
        r = rcleak("run", "--", py, src, cwd=d)
        eq(r.returncode, 23, f"python: exit status; stderr {r.stderr}")
        check(re.search(r"\n      #\d+ open_log " + re.escape(src) + r":3 \(python\)\n"
                        r"      #\d+ <module> " + re.escape(src) + r":4 \(python\)\n", r.stderr),
              r.stderr)
        r, m = run_json("--", py, src, cwd=d)
        fr = [(f.get("function"), f.get("file"), f.get("line"), f.get("module"))
              for _, l in leaks_of(m) for f in l["stack"] if f.get("lang") == "python"]
        eq(fr, [("open_log", src, 3, ""), ("<module>", src, 4, "")], "Python frames in the JSON")
        r = rcleak("run", "--format=github", "--", py, src, cwd=d)
        check(r.stderr.startswith("::error file=app.py,line=3,"), r.stderr[:200])

def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    if sys.argv[1] == "--list":
        print("\n".join(CASES))
        return 0
    fn = CASES.get(sys.argv[1])
    if not fn:
        print(f"unknown case {sys.argv[1]}")
        return 2
    if not RCLEAK or not os.path.exists(RCLEAK):
        print("RCLEAK is not set to the rcleak binary")
        return 1
    try:
        rc = fn()
    except Failure as e:
        print(f"FAIL {sys.argv[1]}: {e}")
        return 1
    if rc == SKIP:
        return SKIP
    print(f"PASS {sys.argv[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
