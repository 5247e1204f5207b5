"""Child-family end-to-end tests: `cases.py NAME` runs one case (TAP).

Each leaking case asserts the exact leak set (kind, pid, state, command,
acquired_by, top function), the cleanup recorded in the JSON, and the
cleanup's effect on the system (the child is gone, or still there with
cleanup=0).  Each clean case asserts an empty report and silence."""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from rctest import (case, check, check_clean, check_eq, check_leaks, main, pid_alive, prog, run,
                    top_function)

SLEEPER = prog("sleeper")



def children_of(res):
    return [int(x) for x in re.findall(r"^child (\d+)$", res.stdout, re.M)]


def child(pid, acquired_by, top, state="running", command=SLEEPER + " sleep", **extra):
    # "daemon" is absent unless the child is one
    want = {"kind": "child", "pid": pid, "state": state, "command": command,
            "acquired_by": acquired_by, "untracked": False, "across_exec": False, "top": top,
            "daemon": None}
    want.update(extra)
    return want


def gone(pid, what):
    """The child no longer exists (not even as a zombie of anyone)."""
    ok = not os.path.exists("/proc/%d" % pid) or not pid_alive(pid)
    return check(ok, what)


def sleeper_report(res, pid):
    return res.reports.get(pid)


def leak_case(name, acquired_by, top, cleanup_signal="SIGTERM", command=SLEEPER + " sleep",
              state="running"):
    res = run([prog("children"), name])
    check_eq(res.status, 0, "%s: exit status unchanged" % name)
    pids = children_of(res)
    check_eq(len(pids), 1, "%s: the program left one child" % name)
    pid = pids[0] if pids else -1
    want = child(pid, acquired_by, top, state=state, command=command, cleanup="killed",
                 cleanup_signal=cleanup_signal)
    check_leaks(res.leaks, [want], "%s: exactly the child, its acquirer and site" % name)
    check_eq(res.report["summary"], {"total": 1, "child": 1, "suppressed": 0}, "%s: summary" % name)
    gone(pid, "%s: the child is gone after exit" % name)
    if cleanup_signal == "SIGTERM":
        # the sleeper runs under rcleak too: its own report says how it died
        rep = sleeper_report(res, pid)
        check(rep is not None and rep["exit"] == {"reason": "signal", "signal": "SIGTERM"},
              "%s: the child died by SIGTERM" % name)
    check("SUMMARY: rcleak: 1 leak (1 child)" in res.stderr, "%s: text report summary" % name)
    return res


@case
def running():
    leak_case("running", "fork", "leak_fork")


@case
def ignoreterm():
    res = leak_case("ignoreterm", "fork", "leak_fork", cleanup_signal="SIGKILL",
                    command=SLEEPER + " ignore-term")
    pid = children_of(res)[0]
    check(pid not in res.reports, "ignoreterm: the SIGKILLed child wrote no report")


@case
def stopped():
    leak_case("stopped", "fork", "case_stopped", state="stopped")


@case
def zombie():
    for name, top in (("zombie", "leak_zombie"), ("wnowait", "case_wnowait")):
        res = run([prog("children"), name])
        check_eq(res.status, 0, "%s: exit status unchanged" % name)
        pid = children_of(res)[0]
        want = child(pid, "fork", top, state="zombie", command="[children]", cleanup="reaped")
        check_leaks(res.leaks, [want], "%s: exactly the zombie child" % name)
        gone(pid, "%s: the zombie was reaped" % name)
        # the child only inherited resources and left with _exit: nothing of its own
        rep = res.reports.get(pid)
        check(rep is not None and rep["leaks"] == [], "%s: the child's own report is empty" % name)
        check("==%d==" % pid not in res.stderr, "%s: the child printed nothing" % name)


@case
def popen():
    res = run([prog("children"), "popen"])
    check_eq(res.status, 0, "popen: exit status unchanged")
    fd = int(re.search(r"^fd (\d+)$", res.stdout, re.M).group(1))
    pids = [p for p in res.reports if p != res.pid]
    check_eq(len(pids), 1, "popen: one child process reported by itself")
    pid = pids[0] if pids else -1
    check_leaks(res.leaks, [
        child(pid, "popen", "leak_popen", cleanup="killed", cleanup_signal="SIGTERM"),
        {"kind": "fd", "fd": fd, "type": "pipe", "acquired_by": "popen", "untracked": False,
         "top": "leak_popen"},
    ], "popen: the child and its pipe, both acquired by popen")
    gone(pid, "popen: the child is gone after exit")


@case
def spawn():
    leak_case("spawn", "posix_spawn", "leak_spawn")
    leak_case("spawnp", "posix_spawnp", "leak_spawn")


@case
def forkpty():
    """forkpty's fork is internal to glibc: the wrapper records the child and
    the master end of its terminal, which the parent keeps."""
    res = run([prog("children"), "forkpty"])
    check_eq(res.status, 0, "exit status unchanged")
    pids = children_of(res)
    m = re.search(r"^master (\d+)$", res.stdout, re.M)
    check(len(pids) == 1 and m is not None, "the program left one child and its terminal")
    pid = pids[0] if pids else -1
    check_leaks(res.leaks, [
        child(pid, "forkpty", "case_forkpty", cleanup="killed", cleanup_signal="SIGTERM"),
        {"kind": "fd", "fd": int(m.group(1)) if m else -1, "type": "chardev",
         "target": "/dev/ptmx", "acquired_by": "forkpty", "top": "case_forkpty"},
    ], "exactly the child and the terminal's master end, acquired by forkpty")
    gone(pid, "the child is gone after exit")


@case
def killed_children():
    """Children a signal ended (SIGKILL: no report of theirs) are listed in
    the parent's report, whichever wait reaped them; one that exited is not,
    and a process that reaped none has no such list."""
    res = run([prog("children"), "killed"])
    check_eq(res.status, 0, "exit status unchanged")
    m = re.search(r"^killed (\d+) (\d+)$", res.stdout, re.M)
    want = [{"pid": int(m.group(i)), "signal": "SIGKILL"} for i in (1, 2)] if m else None
    check_eq(res.report.get("killed_children"), want, "the two killed children")
    check_clean(res, "nothing leaked")
    res = run([prog("children"), "clean-wait"])
    check("killed_children" not in res.report, "no list when no child was killed")


@case
def clone():
    """clone(2) runs no atfork handler: its child must still report as
    itself (its own pid and leaks, not its parent's), and a clone child left
    running is the parent's leak."""
    res = run([prog("children"), "clone"])
    check_eq(res.status, 0, "exit status unchanged")
    m = re.search(r"^clone-child (\d+) fd (\d+)$", res.stdout, re.M)
    pids = children_of(res)
    check(m is not None and len(pids) == 1, "one clone child leaked a descriptor, one is running")
    a, fd = (int(m.group(1)), int(m.group(2))) if m else (-1, -1)
    b = pids[0] if pids else -1
    check_leaks(res.leaks, [child(b, "clone", "case_clone", cleanup="killed",
                                  cleanup_signal="SIGTERM")],
                "the parent: exactly the clone child left running")
    rep = res.reports.get(a)
    check(rep is not None and rep["pid"] == a, "the exited clone child wrote its own report")
    check_leaks(rep["leaks"] if rep else [], [{"kind": "fd", "fd": fd, "target": "/dev/null",
                                               "acquired_by": "open", "top": "clone_leaker"}],
                "the clone child: exactly its own descriptor")
    gone(b, "the running one is gone after exit")


@case
def vfork():
    # the stack goes through vfork.S: its CFI must let the unwinder reach the caller
    res = leak_case("vfork", "vfork", "leak_vfork")
    lk = res.leaks[0]
    fns = [f.get("function") for f in lk["stack"]]
    check(fns[:3] == ["leak_vfork", "case_vfork", "main"],
          "vfork: the stack unwinds through vfork.S to main (%s)" % fns[:3])


@case
def vfork_clean():
    res = run([prog("children"), "clean-vfork"])
    check_eq(res.status, 0, "vfork+exec and vfork+_exit: the parent carries on intact")
    check("vfork ok" in res.stdout, "vfork: the program finished its checks")
    check_clean(res, "vfork")
    # vfork children write no report of their own: only the parent and /bin/true
    others = [r for p, r in res.reports.items() if p != res.pid]
    check(all(r["exe"].endswith("/true") for r in others),
          "vfork: no report from a vfork child that did not exec")


def kill_daemon(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@case
def doublefork():
    res = run([prog("children"), "doublefork"])
    check_eq(res.status, 0, "doublefork: exit status")
    mid = int(re.search(r"^intermediate (\d+)$", res.stdout, re.M).group(1))
    grand = int(re.search(r"^grandchild (\d+)$", res.stdout, re.M).group(1))
    try:
        # the top process waited for its child; the grandchild was never its child
        check_eq(res.leaks, [], "doublefork: top process: JSON has no leaks")
        check("==%d==" % res.pid not in res.stderr, "doublefork: top process printed nothing")
        # the intermediate detached itself (setsid), forked the grandchild and
        # left it running when it exited: a daemon, reported and left alone
        rep = res.reports.get(mid)
        check(rep is not None, "doublefork: the intermediate wrote a report")
        if rep:
            # tid: the intermediate's own thread, not the top process's (whose
            # thread id it inherited in its thread-local cache across the fork)
            check_leaks(rep["leaks"], [child(grand, "fork", "daemonize", cleanup="none",
                                             daemon=True, tid=mid)],
                        "doublefork: the intermediate reports the daemon it started")
        check(pid_alive(grand), "doublefork: the daemon is still running")
    finally:
        kill_daemon(grand)


@case
def doublefork_leak():
    res = run([prog("children"), "doublefork-leak"])
    check_eq(res.status, 0, "doublefork-leak: exit status")
    mid = int(re.search(r"^intermediate (\d+)$", res.stdout, re.M).group(1))
    grand = int(re.search(r"^grandchild (\d+)$", res.stdout, re.M).group(1))
    pid = children_of(res)[0]
    check_leaks(res.leaks, [child(pid, "fork", "leak_fork", cleanup="killed",
                                  cleanup_signal="SIGTERM")],
                "doublefork-leak: the top process reports only the child it leaked")
    rep = res.reports.get(mid)
    try:
        check(rep is not None, "doublefork-leak: the intermediate wrote a report")
        if rep:
            check_leaks(rep["leaks"], [child(grand, "fork", "daemonize", cleanup="none",
                                             daemon=True, tid=mid)],
                        "doublefork-leak: the intermediate reports its daemon, not the top "
                        "process's child it inherited the record of")
        check(pid_alive(grand), "doublefork-leak: the daemon is still running")
        gone(pid, "doublefork-leak: the top process's child is gone")
    finally:
        kill_daemon(grand)


def left_running(name, argv, want, reason=None):
    """Run argv, which announces one child and exits: its status unchanged,
    its leaks exactly want(pid) (a daemon, not cleaned), the child still
    running afterwards (then killed here), and the text report giving
    `reason` with a SUMMARY that cleaned nothing."""
    res = run(argv)
    check_eq(res.status, 0, "%s: exit status unchanged" % name)
    pids = children_of(res)
    check_eq(len(pids), 1, "%s: the program started one child" % name)
    pid = pids[0] if pids else -1
    try:
        check_leaks(res.leaks, [want(pid)], "%s: exactly the child, a daemon, not cleaned" % name)
        check(pid_alive(pid), "%s: the child is still running" % name)
        if reason:
            check(reason in res.stderr, "%s: the text report says why" % name)
            check("SUMMARY: rcleak: 1 leak (1 child) in pid %d\n" % res.pid in res.stderr,
                  "%s: the summary cleaned nothing" % name)
    finally:
        kill_daemon(pid)


@case
def daemon():
    """The child starts a session of its own and carries on as this program
    while the parent exits at once (before the child's setsid(), mostly:
    rcleak waits for it).  Reported as a daemon and left running."""
    left_running("daemon", [prog("children"), "daemon"],
                 lambda pid: child(pid, "fork", "case_daemon", cleanup="none", daemon=True,
                                   command=prog("children") + " daemon"),
                 "(a daemon: it detached into a session of its own; left running)")


@case
def gpg_agent():
    """A real daemon: gpg starts gpg-agent, which daemonizes (fork, setsid in
    the child, the parent exits at once).  Cleaning it up broke gpg: the key
    it generates through the agent was never made."""
    for tool in ("gpg", "gpg-agent", "gpgconf"):
        if shutil.which(tool) is None:
            print("# no %s: skipped" % tool)
            sys.exit(77)
    home = tempfile.mkdtemp(prefix="rctest-gpg-")
    try:
        res = run(["gpg", "--homedir", home, "--batch", "--passphrase", "", "--quick-gen-key",
                   "rcleak-test@example.com", "ed25519"], timeout=60)
        check_eq(res.status, 0, "gpg: exit status")
        keys = subprocess.run(["gpg", "--homedir", home, "--batch", "--list-keys"],
                              capture_output=True, text=True, timeout=60)
        check("rcleak-test@example.com" in keys.stdout, "gpg: the key exists: the agent ran")
        children = [lk for rep in res.reports.values() for lk in rep["leaks"]
                    if lk["kind"] == "child"]
        check_eq(len(children), 1, "gpg: one child left running in the whole tree")
        if children:
            lk = children[0]
            check(lk["command"].startswith("gpg-agent ") and "--daemon" in lk["command"],
                  "gpg: it is the agent: %s" % lk["command"])
            check_eq((lk.get("daemon"), lk["cleanup"]), (True, "none"),
                     "gpg: reported as a daemon and left running")
    finally:
        subprocess.run(["gpgconf", "--homedir", home, "--kill", "all"], timeout=60)
        shutil.rmtree(home, ignore_errors=True)


@case
def detached_exec():
    """setsid() then exec: another program started in a session of its own
    (Node's `detached: true`, Python's start_new_session, `setsid -f`) is
    detached on purpose too: reported as a daemon, left running."""
    left_running("detached-exec", [prog("children"), "detached-exec"],
                 lambda pid: child(pid, "fork", "case_detached_exec", cleanup="none", daemon=True))


@case
def untracked():
    res = run([prog("children"), "untracked"])
    pid = children_of(res)[0]
    try:
        check_eq(res.status, 0, "untracked: exit status")
        check_leaks(res.leaks, [{"kind": "child", "pid": pid, "state": "running",
                                 "command": SLEEPER + " sleep", "acquired_by": None,
                                 "untracked": True, "stack": [], "cleanup": "none"}],
                    "untracked: a raw clone child is found by the /proc scan")
        check(pid_alive(pid), "untracked: an untracked child is not signalled")
    finally:
        os.kill(pid, signal.SIGKILL)


@case
def pid_reuse():
    res = run([prog("children"), "pid-reuse"])
    skip = re.search(r"^SKIP (.*)$", res.stdout, re.M)
    if skip:
        check(True, "pid-reuse # SKIP %s" % skip.group(1))
        return
    m = re.search(r"^reused (\d+) of (\d+)$", res.stdout, re.M)
    reused = int(m.group(1)) if m else -1
    pids = children_of(res)
    pid = pids[0] if pids else -1
    try:
        check_eq(res.status, 0, "pid-reuse: exit status")
        check(m is not None and m.group(1) == m.group(2),
              "pid-reuse: the new child took over the recorded child's pid")
        check_leaks(res.leaks, [
            child(pid, "fork", "leak_fork", cleanup="killed", cleanup_signal="SIGTERM"),
            {"kind": "child", "pid": reused, "state": "running", "command": SLEEPER + " sleep",
             "acquired_by": None, "untracked": True, "stack": [], "cleanup": "none"},
        ], "pid-reuse: the newcomer is untracked, not the recorded fork child; the leaked "
           "child is reported with its own stack")
        check(pid_alive(reused), "pid-reuse: the process that took over the pid is not signalled")
        gone(pid, "pid-reuse: the ordinary leaked child is cleaned")
    finally:
        if reused > 0:
            os.kill(reused, signal.SIGKILL)


@case
def across_exec():
    res = run([prog("children"), "exec"])
    check_eq(res.status, 0, "exec: exit status")
    check("exec'd" in res.stdout, "exec: the new image ran")
    pid = children_of(res)[0]
    check_eq(sorted(res.reports), sorted([res.pid, pid]),
             "exec: reports from the exec'd pid and the sleeper only")
    check_eq(res.report["cmdline"][1:], ["after-exec"], "exec: the report is the last image's")
    check_leaks(res.leaks, [{"kind": "child", "pid": pid, "state": "running",
                             "command": SLEEPER + " sleep", "acquired_by": "fork",
                             "untracked": False, "across_exec": True, "top": "leak_fork",
                             "in_stack": "leak_before_exec", "cleanup": "killed"}],
                "exec: the child is handed over and reported once, with its stack")
    check_eq(res.stderr.count("SUMMARY: rcleak:"), 1, "exec: reported once")
    gone(pid, "exec: the child is gone")


@case
def exec_arg_producers():
    """A shell's `cmd <(quick) <(slow)` run by exec: the producer of each pipe
    the new program is given as an argument is its input, neither reported
    (not as handed over, not as untracked) nor cleaned, whether it is a
    zombie by then or outlives the program.  Children that are no producer,
    forked before the first pipe and after the last producer, still are."""
    res = run([prog("children"), "exec-producers"])
    check_eq(res.status, 0, "exec-producers: exit status")
    others = children_of(res)
    m = re.search(r"^producers (\d+) (\d+)$", res.stdout, re.M)
    check(m is not None and len(others) == 2, "exec-producers: ran: %r" % res.stdout)
    if m is None or len(others) != 2:
        return
    quick, slow = int(m.group(1)), int(m.group(2))
    try:
        check_eq(re.findall(r"^read (\w+)$", res.stdout, re.M), ["quick", "ready"],
                 "exec-producers: the new image read both producers")
        want = [child(pid, "fork", "case_exec_producers", across_exec=True, cleanup="killed",
                      cleanup_signal="SIGTERM") for pid in others]
        check_leaks(res.leaks, want, "exec-producers: exactly the two other children")
        check(pid_alive(slow), "exec-producers: the slow producer is left running, as natively")
        for pid in others:
            gone(pid, "exec-producers: child %d was cleaned" % pid)
        check(quick not in [lk.get("pid") for lk in res.leaks],
              "exec-producers: the quick producer's zombie is not reported")
    finally:
        os.kill(slow, signal.SIGKILL)


@case
def asked_to_end():
    """A program that reaps its children from a SIGCHLD handler (bash,
    libuv) and exits right after sending one a terminating signal (kill,
    killpg on its group, sigqueue) has released it: its zombie is the exit's
    race with the handler, neither reported nor signalled again.  Without
    such a handler, a child killed and never waited for is a zombie never
    reaped: a leak.  One that ignores the signal, and one sent a signal that
    does not end it, are leaks either way, cleaned as usual."""
    for name, handler in (("asked-to-end", True), ("asked-no-handler", False)):
        res = run([prog("children"), name])
        check_eq(res.status, 0, "%s: exit status unchanged" % name)
        m = re.search(r"^asked (\d+) (\d+) (\d+)$", res.stdout, re.M)
        leaked = children_of(res)
        check(m is not None and len(leaked) == 2, "%s: ran: %r" % (name, res.stdout))
        if m is None or len(leaked) != 2:
            continue
        ignoring, continued = leaked
        asked = [int(m.group(i)) for i in (1, 2, 3)]
        want = [child(ignoring, "fork", "quiet_sleeper", command=SLEEPER + " ignore-term",
                      cleanup="killed", cleanup_signal="SIGKILL"),
                child(continued, "fork", "quiet_sleeper", cleanup="killed",
                      cleanup_signal="SIGTERM")]
        if not handler:
            want += [child(pid, "fork", "quiet_sleeper", state="zombie", command="[sleeper]",
                           cleanup="reaped") for pid in asked]
        check_leaks(res.leaks, want,
                    "%s: %s" % (name, "the one ignoring SIGTERM and the one sent SIGCONT" if handler
                                else "those two and the three zombies"))
        sigs = dict(zip(asked, ("SIGTERM", "SIGTERM", "SIGHUP")))
        got = {pid: (res.reports[pid]["exit"] if pid in res.reports else None) for pid in asked}
        check_eq(got, {pid: {"reason": "signal", "signal": sig} for pid, sig in sigs.items()},
                 "%s: each ended by the program's own signal, not rcleak's" % name)
        for pid in asked + leaked:
            gone(pid, "%s: child %d is gone" % (name, pid))


@case
def bash_kill_at_exit():
    # CI scripts end their servers with kill, without waiting
    # each waits until the child sleeps in sleep (clock_nanosleep, 230 on
    # x86_64), its rcleak hooks set, so that sleep's report says how it died
    execd = 'until read -r n x < /proc/$!/syscall; [ "$n" = 230 ]; do :; done; '
    for script in ('sleep 30 & echo "child $!"; %skill $!',
                   'trap "kill \$(jobs -p)" EXIT; sleep 30 & echo "child $!"; %s',
                   'set -m; sleep 30 & echo "child $!"; %skill -- -$!'):
        script %= execd
        res = run(["bash", "-c", script])
        check_eq(res.status, 0, "%s: exit status" % script)
        check_clean(res, script)
        pid = children_of(res)[0]
        rep = res.reports.get(pid)
        check(rep is not None and rep["exit"] == {"reason": "signal", "signal": "SIGTERM"},
              "%s: the sleep died by the script's SIGTERM" % script)


@case
def bash_process_substitution():
    # real bash: its last command is exec'd with the producers as children
    for script, out in (("cat <(echo a) <(echo b)", "a\nb\n"),
                        ("diff <(echo x) <(echo x)", ""),
                        ("env cat <(echo c)", "c\n"),
                        # bash's own children: the command is a builtin, or is forked
                        ("echo abc > >(cat)", "abc\n"),
                        ("tee >(wc -l) <<< abc >/dev/null", "1\n")):
        res = run(["bash", "-c", script])
        check_eq((res.status, res.stdout), (0, out), "%s: ran" % script)
        check_clean(res, script)
    # a script's log through tee: bash never waits for it, and killing it at
    # exit would lose the log's end; as a file (bash exits with tee running)
    # and as a command string (the last command exec'd, tee handed over as a
    # redirection, not an argument)
    d = tempfile.mkdtemp(prefix="rctest-procsub-")
    try:
        log, script = os.path.join(d, "log"), os.path.join(d, "s.sh")
        body = 'exec > >(tee %s >/dev/null) 2>&1\nseq 20000\n' % log
        with open(script, "w") as f:
            f.write(body + "true\n")
        for argv in (["bash", script], ["bash", "-c", body]):
            os.unlink(log) if os.path.exists(log) else None
            res = run(argv)
            what = "exec > >(tee log), bash %s" % argv[1]
            check_eq(res.status, 0, what + ": exit status")
            check_clean(res, what)
            tees = [r for r in res.reports.values() if r["cmdline"][0] == "tee"]
            check_eq([(r["exit"], r["leaks"]) for r in tees],
                     [({"reason": "exit", "status": 0}, [])],
                     what + ": tee ended by itself, clean")
            with open(log) as f:
                check_eq(len(f.read().splitlines()), 20000, what + ": the whole log")
    finally:
        shutil.rmtree(d)
    # the same leak as bash_background, in the image exec'd with a producer
    res = run(["bash", "-c", 'sleep 30 & echo "child $!"; exec cat <(echo d)'])
    pid = children_of(res)[0]
    check_leaks(res.leaks, [{"kind": "child", "pid": pid, "acquired_by": "fork",
                             "across_exec": True, "cleanup": "killed"}],
                "a background child across the same exec is still reported")
    gone(pid, "the background child was cleaned")


@case
def cleanup_off():
    res = run([prog("children"), "running"], options="cleanup=0")
    pid = children_of(res)[0]
    try:
        check_leaks(res.leaks, [child(pid, "fork", "leak_fork", cleanup="none")],
                    "cleanup=0: the child is reported")
        check(pid_alive(pid), "cleanup=0: the child is left alone")
    finally:
        os.kill(pid, signal.SIGKILL)


@case
def cleanup_kinds():
    # a cleanup list without "child" leaves children alone too
    res = run([prog("children"), "running"], options="cleanup=tmpdir")
    pid = children_of(res)[0]
    try:
        check_leaks(res.leaks, [child(pid, "fork", "leak_fork", cleanup="none")],
                    "cleanup=tmpdir: the child is reported, not cleaned")
        check(pid_alive(pid), "cleanup=tmpdir: the child is left alone")
    finally:
        os.kill(pid, signal.SIGKILL)


@case
def clean_wait():
    res = run([prog("children"), "clean-wait"])
    check_eq(res.status, 0, "wait family: program checks passed")
    check_clean(res, "wait, waitpid, wait3, wait4, waitid")


@case
def clean_spawn():
    res = run([prog("children"), "clean-spawn"])
    check_eq(res.status, 0, "posix_spawn: program checks passed")
    check_clean(res, "posix_spawn + waitpid/waitid")


@case
def clean_popen():
    res = run([prog("children"), "clean-popen"])
    check_eq(res.status, 0, "popen: program checks passed")
    check_clean(res, "popen + pclose")


@case
def sigchld_handler():
    res = run([prog("children"), "sigchld-handler"])
    check_eq(res.status, 0, "SIGCHLD handler: program checks passed")
    check("reaped 20" in res.stdout, "SIGCHLD handler: reaped all 20 with waitpid(-1)")
    check_clean(res, "SIGCHLD handler reaping with waitpid(-1)")


@case
def sigchld_ignored():
    for name in ("sigchld-ignored", "sa-nocldwait"):
        res = run([prog("children"), name])
        check_eq(res.status, 0, "%s: program checks passed" % name)
        check_clean(res, "%s: auto-reaped children are no leak" % name)


@case
def bash_background():
    # a real program not written here: bash leaves `sleep 30 &` behind.  It waits
    # until the child has exec'd sleep, so the command is deterministic.
    script = ('sleep 30 & echo "child $!"; '
              'until read -r -d "" x < /proc/$!/cmdline; [ "$x" = sleep ]; do :; done')
    res = run(["bash", "-c", script])
    check_eq(res.status, 0, "bash: exit status")
    pid = children_of(res)[0]
    check_leaks(res.leaks, [{"kind": "child", "pid": pid, "state": "running",
                             "command": "sleep 30", "acquired_by": "fork", "untracked": False,
                             "cleanup": "killed", "cleanup_signal": "SIGTERM"}],
                "bash: the background sleep is reported")
    gone(pid, "bash: the sleep was killed")
    rep = res.reports.get(pid)
    check(rep is not None and rep["exit"] == {"reason": "signal", "signal": "SIGTERM"},
          "bash: sleep died by SIGTERM")


def launched_daemon(launcher, reason):
    """bash starts `LAUNCHER sleep 30 &` and exits at once, before the
    launcher has detached the sleep (rcleak waits for it)."""
    if shutil.which(launcher) is None:
        print("# no %s: skipped" % launcher)
        sys.exit(77)
    left_running(launcher,
                 ["bash", "-c", '%s sleep 30 </dev/null >/dev/null 2>&1 & echo "child $!"' % launcher],
                 lambda pid: {"kind": "child", "pid": pid, "state": "running",
                              "command": "sleep 30", "acquired_by": "fork", "daemon": True,
                              "cleanup": "none"},
                 reason)


@case
def nohup_background():
    """nohup makes its command ignore SIGHUP, to outlive the shell."""
    launched_daemon("nohup", "(a daemon: it ignores SIGHUP, as nohup leaves it; left running)")


@case
def setsid_background():
    """setsid(1) puts its command in a session of its own."""
    launched_daemon("setsid", "(a daemon: it detached into a session of its own; left running)")


@case
def bash_disown():
    """`cmd & disown` lets the command go, on purpose: a daemon, left running
    (a plain `cmd &` left behind is cleaned: bash_background)."""
    left_running("disown",
                 ["bash", "-c", 'sleep 30 </dev/null >/dev/null 2>&1 & echo "child $!"; disown'],
                 lambda pid: {"kind": "child", "pid": pid, "state": "running",
                              "command": "sleep 30", "acquired_by": "fork", "daemon": True,
                              "cleanup": "none"},
                 "(a daemon: bash's disown let it go; left running)")


@case
def subshell_background():
    """`( cmd & )` and `$(cmd &)`, in bash and in sh: a subshell starts the
    command in the background and ends without waiting, the shell's double
    fork.  The command is a daemon of the subshell (a fork child that never
    exec'd), left running; the script itself has nothing."""
    bg = 'sleep 30 </dev/null >/dev/null 2>&1 & echo "child $!"'
    for shell in ("bash", "sh"):
        for script in ("(%s)" % bg, 'x=$(%s); echo "$x"' % bg):
            what = "%s -c '%s'" % (shell, script)
            res = run([shell, "-c", script])
            check_eq(res.status, 0, "%s: exit status" % what)
            pid = children_of(res)[0]
            try:
                check_eq(res.report["leaks"], [], "%s: the script itself has no leak" % what)
                subs = [r for p, r in res.reports.items() if p not in (res.pid, pid)]
                check_eq(len(subs), 1, "%s: the subshell wrote a report" % what)
                if subs:
                    check_leaks(subs[0]["leaks"],
                                [{"kind": "child", "pid": pid, "state": "running",
                                  "command": "sleep 30", "acquired_by": "fork", "daemon": True,
                                  "cleanup": "none"}],
                                "%s: the subshell's one leak: the sleep, a daemon" % what)
                check(pid_alive(pid), "%s: the sleep is still running" % what)
                check("(a daemon: a fork child that never exec'd left it, the middle of a double "
                      "fork such as a shell's ( cmd & ); left running)" in res.stderr,
                      "%s: the text report says why" % what)
            finally:
                kill_daemon(pid)


@case
def subshell_background_fifo():
    """`( echo x > fifo & ); cat fifo`: killing the writer the subshell left
    (as rcleak did) made cat wait for ever."""
    d = tempfile.mkdtemp(prefix="rctest-fifo-")
    try:
        fifo = os.path.join(d, "fifo")
        os.mkfifo(fifo)
        res = run(["sh", "-c", "(echo x > %s &); cat %s" % (fifo, fifo)], timeout=60)
        check_eq((res.status, res.stdout), (0, "x\n"), "cat read what the writer wrote")
        check_eq(res.report["leaks"], [], "the script itself has no leak")
        left = [lk for pid, r in res.reports.items() if pid != res.pid for lk in r["leaks"]]
        check_eq([(lk["kind"], lk.get("daemon"), lk["cleanup"]) for lk in left],
                 [("child", True, "none")], "the subshell's writer: a daemon, left running")
    finally:
        shutil.rmtree(d)


if __name__ == "__main__":
    main()
