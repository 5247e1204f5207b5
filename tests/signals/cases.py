"""Signal-hook end-to-end tests: `cases.py NAME` runs one case (TAP)."""
import json
import os
import re
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from rctest import case, check, check_eq, check_leaks, main, pid_alive, prog, run

# sigprog runs the child suite's sleeper by this very path (its argv[0])
SLEEPER = os.path.join(os.path.dirname(prog("sigprog")), "..", "child", "sleeper")



class Starter:
    """on_start hook: wait for "ready", remember what the program said, send sig."""

    def __init__(self, sig):
        self.sig = sig
        self.lines = []

    def __call__(self, p):
        for line in iter(p.stdout.readline, b""):
            line = line.decode()
            self.lines.append(line)
            if line == "ready\n":
                break
        p.send_signal(self.sig)

    def value(self, key):
        for line in self.lines:
            m = re.match(r"%s (\d+)$" % key, line)
            if m:
                return int(m.group(1))
        return None


def gone(pid):
    return not os.path.exists("/proc/%d" % pid) or not pid_alive(pid)


@case
def fatal_signals():
    # the default `signals=`: SIGTERM, SIGINT, SIGHUP, SIGQUIT
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT):
        name = sig.name
        st = Starter(sig)
        res = run([prog("sigprog"), "sleep-leaks"], on_start=st)
        fd, pid = st.value("fd"), st.value("child")
        check_eq(res.status, -sig, "%s: the parent sees death by %s" % (name, name))
        check_eq(res.report["exit"], {"reason": "signal", "signal": name},
                 "%s: the report says so" % name)
        check_leaks(res.leaks, [
            {"kind": "fd", "fd": fd, "type": "chardev", "target": "/dev/null",
             "acquired_by": "open", "untracked": False, "top": "leak_devnull"},
            {"kind": "child", "pid": pid, "state": "running",
             "command": SLEEPER + " sleep", "acquired_by": "fork",
             "untracked": False, "top": "leak_child", "cleanup": "killed",
             "cleanup_signal": "SIGTERM"},
        ], "%s: the complete leak set" % name)
        check_eq(res.report["summary"], {"total": 2, "fd": 1, "child": 1, "suppressed": 0},
                 "%s: summary" % name)
        check(gone(pid), "%s: the leaked child was cleaned" % name)
        check("(process ended by %s)" % name in res.stderr and "SUMMARY: rcleak: 2 leaks" in res.stderr,
              "%s: text report written" % name)


@case
def own_handler():
    st = Starter(signal.SIGTERM)
    res = run([prog("sigprog"), "own-handler"], on_start=st)
    fd = st.value("fd")
    check_eq(res.status, 0, "own handler: its exit(0) is the exit status")
    check("handled" in res.stdout, "own handler: the program's handler ran")
    check_eq(res.report["exit"], {"reason": "exit", "status": 0},
             "own handler: reported through the normal exit path")
    check_leaks(res.leaks, [{"kind": "fd", "fd": fd, "type": "chardev", "acquired_by": "open",
                             "top": "leak_devnull"}], "own handler: the leak is reported")


@case
def query():
    # the program sees exactly what it sees without rcleak, step by step
    native = run([prog("sigprog"), "query"], preload=False, json=False)
    res = run([prog("sigprog"), "query"])
    check_eq(native.status, -signal.SIGTERM, "query: natively the program dies by SIGTERM")
    check_eq(res.status, -signal.SIGTERM, "query: traced too")
    check("raising" in res.stdout and "still alive" not in res.stdout,
          "query: the program walked every step")
    a, b = native.stdout.splitlines(), res.stdout.splitlines()
    for x, y in zip(a, b):
        if x != y:
            print("# native: %s\n# traced: %s" % (x, y))
    check_eq(b, a, "query: every disposition the program sees is its own")
    check_eq(res.report["exit"], {"reason": "signal", "signal": "SIGTERM"},
             "query: SIG_DFL set again by the program still reports")
    check_eq([(lk["kind"], lk["acquired_by"]) for lk in res.leaks], [("fd", "open")],
             "query: the report has the program's leak")


# More managed signals than have a view in .bss (signal_hook.c keeps the
# first four there): HUP, INT, QUIT and USR1 get those, ALRM and TERM the
# array's.  Both kinds must answer queries as natively and report a death.
MANY_SIGNALS = "signals=SIGTERM,SIGINT,SIGHUP,SIGQUIT,SIGUSR1,SIGALRM"


@case
def many_signals():
    native = run([prog("sigprog"), "query"], preload=False, json=False)
    res = run([prog("sigprog"), "query"], options=MANY_SIGNALS)
    check_eq(res.status, -signal.SIGTERM, "six signals, query: death by SIGTERM")
    check_eq(res.stdout.splitlines(), native.stdout.splitlines(),
             "six signals, query: every disposition the program sees is its own")
    check_eq(res.report["exit"], {"reason": "signal", "signal": "SIGTERM"},
             "six signals, query: reported")
    for sig in (signal.SIGALRM, signal.SIGUSR1):
        st = Starter(sig)
        res = run([prog("sigprog"), "sleep-leaks"], options=MANY_SIGNALS, on_start=st)
        fd, pid = st.value("fd"), st.value("child")
        check_eq(res.status, -sig, "six signals, %s: death by it" % sig.name)
        check_eq(res.report["exit"], {"reason": "signal", "signal": sig.name},
                 "six signals, %s: the report says so" % sig.name)
        check_eq(sorted((lk["kind"], lk.get("fd", lk.get("pid"))) for lk in res.leaks),
                 sorted([("fd", fd), ("child", pid)]), "six signals, %s: the leaks" % sig.name)
        check(gone(pid), "six signals, %s: the leaked child was cleaned" % sig.name)


@case
def signals_option():
    # signals=SIGTERM: SIGINT is not hooked, so it kills without a report
    st = Starter(signal.SIGINT)
    res = run([prog("sigprog"), "sleep-leaks"], options="signals=SIGTERM", on_start=st)
    pid = st.value("child")
    try:
        check_eq(res.status, -signal.SIGINT, "signals=SIGTERM: SIGINT kills as usual")
        check(res.pid not in res.reports and "rcleak" not in res.stderr,
              "signals=SIGTERM: no report on SIGINT")
        check(pid_alive(pid), "signals=SIGTERM: nothing was cleaned")
    finally:
        os.kill(pid, signal.SIGKILL)


@case
def stress():
    # SIGTERM while 4 threads acquire and release descriptors, 200 times:
    # always a complete, valid JSON report, always death by SIGTERM
    for i in range(200):
        st = Starter(signal.SIGTERM)
        problems = []
        try:
            res = run([prog("sigprog"), "stress"], on_start=st)
        except AssertionError as e:  # invalid JSON
            check(False, "run %d: %s" % (i, e))
            continue
        fd = st.value("fd")
        if res.status != -signal.SIGTERM:
            problems.append("status %s" % res.status)
        rep = res.reports.get(res.pid)
        if rep is None:
            problems.append("no report")
        else:
            if rep["exit"] != {"reason": "signal", "signal": "SIGTERM"}:
                problems.append("exit %r" % rep["exit"])
            if not any(lk["kind"] == "fd" and lk["fd"] == fd and lk["acquired_by"] == "open"
                       and lk["stack"] and lk["stack"][0].get("function") == "leak_devnull"
                       for lk in rep["leaks"]):
                problems.append("the known leak (fd %s) is missing" % fd)
            kinds = [lk["kind"] for lk in rep["leaks"]]
            threads = [lk for lk in rep["leaks"] if lk["kind"] == "thread"]
            if set(kinds) - {"fd", "thread"}:
                problems.append("a leak of another kind: %r" % kinds)
            # the 4 churning threads are never joined: exactly 4 thread leaks
            if len(threads) != 4 or any(t.get("start_routine") != "churn" for t in threads):
                problems.append("thread leaks %r" % [t.get("start_routine") for t in threads])
            want_summary = {"total": len(kinds), "fd": kinds.count("fd"), "thread": 4, "suppressed": 0}
            if rep["summary"] != want_summary:
                problems.append("summary %r, leaks say %r" % (rep["summary"], want_summary))
        if res.stderr.count("SUMMARY: rcleak:") != 1:
            problems.append("text report: %d SUMMARY lines" % res.stderr.count("SUMMARY: rcleak:"))
        check(not problems, "run %d: complete JSON report, death by SIGTERM %s" % (i, problems or ""))


if __name__ == "__main__":
    main()
