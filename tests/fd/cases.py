"""Descriptor family end-to-end tests: `cases.py NAME` runs one case (TAP)."""
import collections
import fcntl
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from rctest import (SHIM, case, check, check_clean, check_eq, check_leaks, functions, main,
                    need_tools, own_walker, prog, run, top_function)




def leaked_fds(res):
    return [int(x) for x in re.findall(r"^leaked (\d+)$", res.stdout, re.M)]


# One leaking run per interposed acquirer: (case, acquired_by, type, target check)
ACQUIRERS = [
    ("open", "open", "file"), ("open64", "open64", "file"), ("openat", "openat", "file"),
    ("openat64", "openat64", "file"), ("creat", "creat", "file"), ("creat64", "creat64", "file"),
    ("devnull", "open", "chardev"), ("dup", "dup", "chardev"), ("dup2", "dup2", "chardev"),
    ("dup3", "dup3", "chardev"), ("fcntl", "fcntl", "chardev"), ("pipe", "pipe", "pipe"),
    ("pipe2", "pipe2", "pipe"), ("socket", "socket", "socket"),
    ("socketpair", "socketpair", "socket"), ("accept", "accept", "socket"),
    ("accept4", "accept4", "socket"), ("eventfd", "eventfd", "eventfd"),
    ("timerfd", "timerfd_create", "timerfd"), ("signalfd", "signalfd", "signalfd"),
    ("epoll_create", "epoll_create", "epoll"), ("epoll_create1", "epoll_create1", "epoll"),
    ("inotify_init", "inotify_init", "inotify"), ("inotify_init1", "inotify_init1", "inotify"),
    ("memfd_create", "memfd_create", "memfd"), ("fopen", "fopen", "file"),
    ("fopen64", "fopen64", "file"), ("fdopen", "open", "file"), ("freopen", "freopen", "file"),
    ("tmpfile", "tmpfile", "file"), ("opendir", "opendir", "dir"),
    ("fdopendir", "open", "dir"), ("recvmsg", "recvmsg", "chardev"),
    ("pidfd_open", "pidfd_open", "pidfd"), ("pidfd_getfd", "pidfd_getfd", "chardev"),
    ("posix_openpt", "posix_openpt", "chardev"), ("getpt", "getpt", "chardev"),
    ("openpty", "openpty", "chardev"), ("forkpty", "forkpty", "chardev"),
    ("mq_open", "mq_open", "file"), ("fanotify_init", "fanotify_init", "other"),
    ("open_by_handle_at", "open_by_handle_at", "dir"),
    ("shm_open", "shm_open", "file"),
]


def make_acquirer_case(name, acquired_by, ftype):
    def fn():
        res = run([prog("acquirers"), name])
        if res.status == 77:
            print("# %s needs privileges this run does not have: skipped" % name)
            sys.exit(77)
        check_eq(res.status, 0, "%s: program exit status unchanged" % name)
        fds = leaked_fds(res)
        check(len(fds) >= 1, "%s: the program reported what it leaked" % name)
        # the top frame is the program's leak_<case> function (fdopen/fdopendir keep the
        # record of the open that created the descriptor, in the same function)
        top = "accepted" if name.startswith("accept") else "leak_" + name
        want = [{"kind": "fd", "fd": fd, "type": ftype, "acquired_by": acquired_by,
                 "untracked": False, "across_exec": False, "top": top, "in_stack": "leak_" + name}
                for fd in fds]
        check_leaks(res.leaks, want, "%s: exactly the leaked descriptors, acquirer and site" % name)
        check_eq(res.report["summary"], {"total": len(fds), "fd": len(fds), "suppressed": 0},
                 "%s: summary" % name)
        for lk in res.leaks:
            fr = lk["stack"][0]
            check(fr.get("file", "").endswith("acquirers.c") and fr.get("line", 0) > 0,
                  "%s: top frame has file:line (%s:%s)" % (name, fr.get("file"), fr.get("line")))
            check(fr["module"].endswith("/acquirers") and fr["offset"].startswith("0x"),
                  "%s: top frame has module and offset" % name)
            check(lk["tid"] == res.pid, "%s: acquiring thread is the main thread" % name)
        if name in ("open", "creat", "fopen"):
            check(all(lk["target"].endswith("/scratch.txt") for lk in res.leaks),
                  "%s: target is the path" % name)
        if name == "devnull":
            check_eq(res.leaks[0]["target"], "/dev/null", "devnull: target")
            check_eq(res.leaks[0]["cloexec"], False, "devnull: cloexec false")
        if name == "dup3":
            check_eq(res.leaks[0]["cloexec"], True, "dup3 O_CLOEXEC: cloexec true")
            check_eq(res.leaks[0]["fd"], 41, "dup3: onto the requested number")
        if name == "pipe":
            check(all(re.match(r"pipe:\[\d+\]$", lk["target"]) for lk in res.leaks), "pipe: target")
        if name == "socketpair":
            check(all(lk["target"].startswith("AF_UNIX") for lk in res.leaks), "socketpair: AF_UNIX")
        if name in ("accept", "accept4"):
            m = re.search(r"^target (.*)$", res.stdout, re.M)
            check_eq(res.leaks[0]["target"], m.group(1) if m else None, "%s: socket target" % name)
        if name == "timerfd":
            check_eq(res.leaks[0].get("armed"), True, "timerfd: armed")
        # text report on stderr, for people
        check("ERROR: rcleak: %d leaked file descriptor" % len(fds) in res.stderr,
              "%s: text report header" % name)
        check(re.search(r"^SUMMARY: rcleak: %d leaks? \(%d fd\) in pid %d$" % (len(fds), len(fds), res.pid),
                        res.stderr, re.M) is not None, "%s: SUMMARY line" % name)
        check(re.search(r"#0 %s .*acquirers\.c:\d+ \(acquirers\+0x[0-9a-f]+\)" % top, res.stderr)
              is not None, "%s: text frame with function file:line (module+offset)" % name)
    fn.__name__ = "acquirer_" + name
    return fn


for _n, _a, _t in ACQUIRERS:
    case(make_acquirer_case(_n, _a, _t))


@case
def mq_close_releases():
    """mq_close closes with an internal call: the next descriptor, made by a
    raw system call with the same number, is untracked, not mq_open's."""
    res = run([prog("acquirers"), "mq_close_then_raw"])
    fds = leaked_fds(res)
    check_leaks(res.leaks, [{"kind": "fd", "fd": fds[0] if fds else -1, "target": "/dev/null",
                             "untracked": True, "acquired_by": None}],
                "the raw descriptor, untracked")


@case
def fortify():
    out = subprocess.run(["nm", "-D", prog("fortify")], capture_output=True, text=True).stdout
    check("__open_2" in out and "__openat_2" in out, "fortify build calls __open_2 and __openat_2")
    res = run([prog("fortify")])
    fds = leaked_fds(res)
    check_leaks(res.leaks, [{"kind": "fd", "fd": fds[0], "acquired_by": "__open_2", "top": "main"},
                            {"kind": "fd", "fd": fds[1], "acquired_by": "__openat_2", "top": "main"}],
                "FORTIFY entry points tracked")


@case
def dlclose_then_other_module():
    """A module leaks, is dlclosed, and a module with the same code layout but
    another frame size is loaded in its place: its stack (and the program's
    own after it) must be walked with the new module's rules, not the old."""
    mods = [os.path.join(os.path.dirname(prog("dlclose_prog")), "libdlmod_%s.so" % m) for m in "ab"]
    res = run([prog("dlclose_prog")] + mods)
    out = dict(l.split(" ", 1) for l in res.stdout.splitlines())
    check("dlclose ok" in res.stdout, "dlclose returned 0 and left errno alone")
    fa, fb, fm = int(out["fd-a"]), int(out["fd-b"]), int(out["fd-main"])
    same_place = out["base-a"] == out["base-b"]
    check_leaks(res.leaks, [
        {"kind": "fd", "fd": fa, "acquired_by": "open64", "target": "/dev/null"},
        {"kind": "fd", "fd": fb, "acquired_by": "open64", "target": "/dev/null", "top": "dlmod_b_open"},
        {"kind": "fd", "fd": fm, "acquired_by": "open", "target": "/dev/null", "top": "after_dlclose"},
    ], "exactly the three leaks")
    by_fd = {l["fd"]: l for l in res.leaks}
    check_eq(functions(by_fd[fb])[:3], ["dlmod_b_open", "load_and_call", "main"],
             "the replacement module's stack is whole%s" %
             ("" if same_place else " (it did not land where the first was: weaker check)"))
    check_eq(functions(by_fd[fm])[:2], ["after_dlclose", "main"], "the program's own stack after it")
    # fd-a was the process's first capture, a deferred copy: walked before the
    # module went, so it reaches past the unloaded code to the program's frames
    check_eq(functions(by_fd[fa])[1:3], ["load_and_call", "main"],
             "the unloaded module's caller frames, walked before dlclose")


@case
def clean_100k():
    res = run([prog("programs"), "clean_100k"])
    check_eq(res.status, 0, "exit status 0")
    check_clean(res, "100k opened and closed")
    check_eq(res.stderr, "", "nothing at all on stderr")


@case
def clean_no_json_silent():
    res = run([prog("programs"), "nothing"], json=False)
    check_eq((res.status, res.stdout, res.stderr), (0, "", ""), "clean program, no options: no output")


@case
def names_not_utf8():
    """Names that are not UTF-8 (a Latin-1 file name, an argument with a stray
    byte): the JSON stays UTF-8, each maximal invalid subpart one U+FFFD, as
    Python's "replace" decodes it; valid sequences (é, an emoji) kept."""
    names = [b"bad-\xff\xfe.txt", "caf\u00e9.txt".encode(), b"over-\xc0\xaf.txt",
             b"sur-\xed\xa0\x80.txt", b"cut-\xe2\x82.txt", "four-\U0001f600.txt".encode(),
             b"big-\xf4\x90\x80\x80.txt"]
    res = run([prog("programs"), "open_named"] + names)
    check_eq(res.status, 0, "exit status unchanged")
    rep = res.reports.get(res.pid, {})
    shown = [n.decode("utf-8", "replace") for n in names]
    check_eq(shown[0], "bad-\ufffd\ufffd.txt", "the oracle")
    check_leaks(rep.get("leaks", []),
                [{"kind": "fd", "type": "file", "target": os.path.join(res.workdir, n),
                  "acquired_by": "open", "top": "open_named"} for n in shown],
                "one leak per file, its name as Python decodes it with \"replace\"")
    check_eq(rep.get("cmdline", [])[1:], ["open_named"] + shown, "the command line likewise")


@case
def names_control_chars():
    """Names with control characters (a newline followed by a forged report
    line, a terminal escape, a C1 CSI in UTF-8): the text report shows them
    escaped, one line per leak, and the JSON keeps them as they are."""
    names = [b"evil\n==1== SUMMARY: rcleak: 0 leaks", b"esc-\x1b[2J-bel-\x07",
             b"tab\tcr\rdel\x7f", b"csi-\xc2\x9b31m-back\\slash", "caf\u00e9".encode()]
    shown = ["evil\\n==1== SUMMARY: rcleak: 0 leaks", "esc-\\x1b[2J-bel-\\x07",
             "tab\\tcr\\rdel\\x7f", "csi-\\u009b31m-back\\slash", "caf\u00e9"]
    res = run([prog("programs"), "open_named"] + names)
    check_eq(res.status, 0, "exit status unchanged")
    check_leaks(res.leaks,
                [{"kind": "fd", "type": "file", "acquired_by": "open", "top": "open_named",
                  "target": os.path.join(res.workdir, n.decode())} for n in names],
                "the JSON names the files exactly")
    err = res.stderr
    check_eq([c for c in err if (ord(c) < 0x20 and c != "\n") or 0x7f <= ord(c) <= 0x9f], [],
             "no control character in the text report but its line ends")
    listed = [l.split(": file ", 1)[1].split(" (acquired with")[0]
              for l in err.splitlines() if ": file " in l]
    check_eq(listed, [os.path.join(res.workdir, n) for n in shown], "each name shown escaped")
    check_eq(len(re.findall(r"^==\d+== *SUMMARY", err, re.M)) + len(re.findall("^SUMMARY", err, re.M)),
             1, "one SUMMARY line")


@case
def dup2_onto_open():
    res = run([prog("programs"), "dup2_onto_open"])
    fds = leaked_fds(res)
    check_leaks(res.leaks, [{"kind": "fd", "fd": fds[0], "acquired_by": "dup2", "type": "chardev",
                             "target": "/dev/null", "top": "dup2_onto_open"}],
                "dup2 onto an open fd: one leak, owned by dup2, pointing at the new file")


@case
def close_range():
    res = run([prog("programs"), "close_range"])
    fds = leaked_fds(res)
    check_eq(len(fds), 3, "three left open")
    check_leaks(res.leaks, [{"kind": "fd", "fd": f, "acquired_by": "open", "top": "close_range_case"}
                            for f in fds], "close_range releases its range; CLOEXEC flag releases nothing")
    check_eq(res.leaks and [lk["cloexec"] for lk in res.leaks if lk["fd"] == fds[2]], [True],
             "close_range CLOSE_RANGE_CLOEXEC set cloexec")


@case
def closefrom():
    res = run([prog("programs"), "closefrom"])
    fds = leaked_fds(res)
    check_leaks(res.leaks, [{"kind": "fd", "fd": fds[0], "acquired_by": "open"}],
                "closefrom releases everything above")


@case
def stdio_clean():
    res = run([prog("programs"), "stdio_clean"])
    check_clean(res, "fopen/fclose, opendir/closedir, tmpfile, freopen, fdopen(dir)")


@case
def stdio_leaks():
    res = run([prog("programs"), "stdio_leaks"])
    fds = leaked_fds(res)
    check_leaks(res.leaks, [{"kind": "fd", "fd": fds[0], "acquired_by": "fopen", "type": "chardev"},
                            {"kind": "fd", "fd": fds[1], "acquired_by": "opendir", "type": "dir",
                             "target": "/"}], "FILE and DIR leaks")


def _fork_case(how):
    res = run([prog("programs"), "fork_child_inherits", how])
    fds = leaked_fds(res)
    child = int(re.search(r"^child (\d+)$", res.stdout, re.M).group(1))
    check_leaks(res.leaks, [{"kind": "fd", "fd": fds[0], "acquired_by": "open"}], "parent: its own leak")
    check(child in res.reports, "child (%s) wrote a report" % how)
    if child in res.reports:
        cr = res.reports[child]
        check_eq(cr["leaks"], [], "child (%s): inherited fds are not its leaks" % how)
        check_eq(cr["ppid"], res.pid, "child: ppid is its creator")
        check_eq(cr["exit"], {"reason": "exit", "status": 0}, "child: exit status")
    check_eq(res.stderr.count("ERROR: rcleak"), 1, "only the parent prints a report")


@case
def fork_child_exit():
    _fork_case("exit")


@case
def fork_child__exit():
    _fork_case("_exit")


@case
def fork_child_own_leak():
    res = run([prog("programs"), "child_own_leak"])
    m = re.search(r"^child (\d+) leaked (\d+)$", res.stdout, re.M)
    child, fd = int(m.group(1)), int(m.group(2))
    check_eq(res.leaks, [], "parent: clean")
    check_leaks(res.reports[child]["leaks"], [{"kind": "fd", "fd": fd, "acquired_by": "open",
                                              "target": "/dev/zero", "tid": child}],
                "child: exactly its own leak")


@case
def fork_raw_inherited():
    res = run([prog("programs"), "fork_raw_inherited"])
    raw = int(re.search(r"^raw (\d+)$", res.stdout, re.M).group(1))
    m = re.search(r"^child (\d+) leaked (\d+)$", res.stdout, re.M)
    child, fd = int(m.group(1)), int(m.group(2))
    check_leaks(res.leaks, [{"kind": "fd", "fd": raw, "untracked": True}],
                "parent: its raw-syscall descriptor, untracked")
    check_leaks(res.reports[child]["leaks"], [{"kind": "fd", "fd": fd, "acquired_by": "open",
                                              "target": "/dev/zero"}],
                "child: only its own leak, not the parent's raw descriptor")
    res = run([prog("programs"), "fork_child_inherits", "_exit"], json=False)
    check_eq(res.stderr.count("ERROR: rcleak"), 1, "without JSON, a child that acquired nothing is silent")


@case
def threads8():
    res = run([prog("programs"), "threads8"])
    fds = leaked_fds(res)
    check_eq(len(fds), 12, "8 threads leave 12 open")
    check_leaks(res.leaks, [{"kind": "fd", "fd": f, "acquired_by": "open", "target": "/dev/zero",
                             "top": "worker"} for f in fds], "exactly the 12 left open, from worker")
    tids = {lk["tid"] for lk in res.leaks}
    check(len(tids) == 8 and res.pid not in tids, "acquired by 8 distinct non-main threads")


@case
def thread_tids():
    """Every leak names the kernel tid of the thread that acquired it: three
    threads; a fork child whose one thread had acquired before the fork (its
    cached tid is the parent's, its tid now the child's pid); a thread
    started in that child."""
    res = run([prog("programs"), "thread_tids"])
    lines = [l.split() for l in res.stdout.splitlines()]
    got = {who: [(int(tid), int(fd)) for w, tid, _, fd in lines if w == who]
           for who in ("thread", "child", "child_thread")}
    check_eq([len(got[w]) for w in ("thread", "child", "child_thread")], [3, 1, 1],
             "three threads, the child and its thread each leak one")
    check_leaks(res.leaks, [{"kind": "fd", "fd": fd, "target": "/dev/zero", "tid": tid}
                            for tid, fd in got["thread"]], "parent: each thread's own tid")
    child = got["child"][0][0]
    check_eq(sorted(res.reports), sorted([res.pid, child]), "a report from the parent and the child")
    check_leaks(res.reports[child]["leaks"],
                [{"kind": "fd", "fd": got["child"][0][1], "target": "/dev/full", "tid": child},
                 {"kind": "fd", "fd": got["child_thread"][0][1], "target": "/dev/zero",
                  "tid": got["child_thread"][0][0]}],
                "child: its pid for the forking thread, the new thread's own tid")


@case
def thread_generations():
    """Three generations of threads reuse pool elements and so replay
    caches; each thread alternates two sites and leaks once more from a
    thread-specific-data destructor.  Every stack is the thread's own."""
    res = run([prog("programs"), "thread_generations"])
    got = [l.split() for l in res.stdout.splitlines()]
    want = {"a": ("/dev/null", ["gen_site_a", "gen_worker"]),
            "b": ("/dev/zero", ["gen_site_b", "gen_worker"]),
            "dtor": ("/dev/full", ["gen_destructor"])}
    check_eq(sorted(collections.Counter(k for k, _ in got).items()), [("a", 36), ("b", 36), ("dtor", 12)],
             "twelve threads: 3 + 3 leaks from the sites, 1 from the destructor")
    check_leaks(res.leaks, [{"kind": "fd", "fd": int(fd), "target": want[k][0], "top": want[k][1][0]}
                            for k, fd in got], "exactly those leaks, each from its site")
    by_fd = {l["fd"]: l for l in res.leaks}
    bad = [(k, fd, functions(by_fd[int(fd)])) for k, fd in got
           if int(fd) in by_fd and functions(by_fd[int(fd)])[:len(want[k][1])] != want[k][1]]
    check_eq(bad, [], "each stack starts with its own site's frames")
    tids = {lk["tid"] for lk in res.leaks}
    check(len(tids) == 12 and res.pid not in tids, "acquired by 12 distinct threads")


@case
def signal_nested():
    """A profiling signal's handler acquires while the main loop's captures
    run (replays and cache fills): all 200 descriptors the handler left open
    are tracked, with the handler's stack, and each site's has its own."""
    res = run([prog("programs"), "signal_nested"], timeout=120)
    lines = [l.split() for l in res.stdout.splitlines()]
    sites = {k: int(v) for k, v in lines if k != "handler"}
    handler = [int(v) for k, v in lines if k == "handler"]
    want = {"a": ("/dev/null", "nest_site_a"), "b": ("/dev/zero", "nest_site_b"),
            "c": ("/dev/urandom", "nest_site_c")}
    check(len(handler) == 200 and all(fd >= 0 for fd in handler) and len(sites) == 3,
          "the program left 3 + 200 descriptors open")
    check_leaks(res.leaks, [{"kind": "fd", "fd": sites[k], "target": t, "top": top, "untracked": False}
                            for k, (t, top) in want.items()] +
                [{"kind": "fd", "fd": fd, "target": "/dev/full", "top": "on_prof", "untracked": False}
                 for fd in handler],
                "exactly those, each tracked with its own site on top")
    by_fd = {l["fd"]: l for l in res.leaks}
    bad = [fd for fd in handler if "signal_nested" not in functions(by_fd.get(fd, {}))]
    check_eq(bad, [], "every handler stack continues into the interrupted loop")
    for k in "abc":
        check_eq(functions(by_fd.get(sites[k], {}))[:3], [want[k][1], "signal_nested", "main"],
                 "site %s: its own stack" % k)


@case
def untracked():
    res = run([prog("programs"), "untracked"])
    fds = leaked_fds(res)
    check_leaks(res.leaks, [{"kind": "fd", "fd": fds[0], "untracked": True, "acquired_by": None,
                             "stack": [], "type": "chardev", "target": "/dev/null"}],
                "raw syscall fd reported untracked, no stack")
    check_eq(res.report["summary"]["total"], 1, "untracked counts in summary")


@case
def untracked_threaded():
    """With another thread alive at the exit, the report pauses once for a
    descriptor some thread may be recording, and still reports the one no
    wrapper saw: exactly it and the thread."""
    res = run([prog("programs"), "untracked_threaded"])
    fds = leaked_fds(res)
    check_leaks(res.leaks, [{"kind": "fd", "fd": fds[0], "untracked": True, "acquired_by": None,
                             "type": "chardev", "target": "/dev/null"},
                            {"kind": "thread", "state": "running", "acquired_by": "pthread_create"}],
                "the raw syscall's descriptor and the thread")


def small_fd_tables():
    """Children forked from now on get a descriptor table sized by this
    process's highest open descriptor: close what the test runner may have
    left us (a shell job's fd 255...), so that the cases below, not the
    environment, decide the table sizes they exercise."""
    os.closerange(3, 65536)


@case
def untracked_at_signal():
    """A signal may end a process in the middle of libc's own work (a
    locale, nsswitch.conf, /proc) or of the dynamic loader's (a library
    being mapped), through opens no interposer sees: in the report a signal
    causes, an untracked descriptor of a system file, of a shared object or
    of a named semaphore's file is that work in flight and is left out; one
    of the program's own files (named like a library, but not one:
    "libx.sonic") is still reported, and at exit all are."""
    d = tempfile.mkdtemp()
    own = os.path.join(d, "data")
    lib = os.path.join(d, "_ext.cpython-311-x86_64-linux-gnu.so")
    versioned = os.path.join(d, "libfoo.so.1.2")
    not_lib = os.path.join(d, "libx.sonic")
    # glibc's sem_open opens, maps and closes a named semaphore's file
    sem = "/dev/shm/sem.rctest-%d" % os.getpid()
    for p in (own, lib, versioned, not_lib, sem):
        open(p, "w").close()
    paths = ["/etc/hostname", "/proc/self/status", own, lib, versioned, not_lib, sem]
    res = run([prog("programs"), "untracked_then_signal"] + paths)
    check_eq(res.status, -signal.SIGTERM, "ended by SIGTERM")
    check_leaks(res.leaks, [{"kind": "fd", "untracked": True, "type": "file", "target": own},
                            {"kind": "fd", "untracked": True, "type": "file", "target": not_lib}],
                "SIGTERM: the program's own files only")
    res = run([prog("programs"), "untracked_then_exit"] + paths)
    check_eq(res.status, 0, "exited")
    check_leaks(res.leaks, [{"kind": "fd", "untracked": True, "target": "/etc/hostname"},
                            {"kind": "fd", "untracked": True, "target": "/proc/%d/status" % res.pid}] +
                [{"kind": "fd", "untracked": True, "target": p}
                 for p in (own, lib, versioned, not_lib, sem)],
                "exit: all seven")
    shutil.rmtree(d, ignore_errors=True)
    os.unlink(sem)


@case
def untracked_in_flight_at_signal():
    """A signal comes on the way out of an open (dnotify's, here): the new
    descriptor is in rax, the wrapper has not recorded it, and it is not a
    leak; the program's leaks, a directory opened through the wrapper and a
    raw-syscall /dev/null, are reported as they are."""
    d = tempfile.mkdtemp()
    try:
        res = run([prog("programs"), "signal_in_open", d])
    finally:
        shutil.rmtree(d, ignore_errors=True)
    if res.status == 77:
        print("# dnotify is not available here: skipped")
        sys.exit(77)
    check_eq(res.status, -signal.SIGTERM, "ended by SIGTERM")
    fds = leaked_fds(res)
    check_eq(len(fds), 2, "the program leaked two descriptors")
    check_leaks(res.leaks,
                [{"kind": "fd", "fd": fds[0], "type": "dir", "target": d, "acquired_by": "open",
                  "top": "signal_in_open"},
                 {"kind": "fd", "fd": fds[1], "untracked": True, "target": "/dev/null"}],
                "the directory and /dev/null; not the file being created")


@case
def untracked_inside_wrapper_at_signal():
    """A signal that comes inside a call an rcleak wrapper made, after the
    descriptor exists and before the wrapper records it (here in libc's
    opendir, at the malloc after its openat: a debugger delivers SIGTERM
    there) finds an untracked descriptor that is the wrapper's, in flight:
    not reported.  A wrapper blocked in a system call that made nothing
    (waitpid) is not that: the program's untracked /dev/null and its child
    are reported."""
    need_tools("gdb")
    d = tempfile.mkdtemp()
    try:
        def under_gdb(argv, options):
            opts = ["json_path=%s/r.%%p.json" % d] + ([options] if options else [])
            return subprocess.run(
                ["gdb", "-q", "-batch", "-nx", "-ex", "set startup-with-shell off",
                 "-ex", "set environment LD_PRELOAD=%s" % SHIM,
                 "-ex", "set environment RCLEAK_OPTIONS=%s" % ":".join(opts),
                 "-ex", "handle SIGTERM nostop noprint pass",
                 "-ex", "break rc_test_marker", "-ex", "run",
                 "-ex", "break malloc", "-ex", "continue",
                 "-ex", "info symbol $pc", "-ex", "signal SIGTERM", "--args"] + argv,
                capture_output=True, text=True, timeout=120)
        r = under_gdb([prog("programs"), "opendir_after_marker", d], None)
        reports = [n for n in os.listdir(d) if n.startswith("r.")]
        if "malloc" not in r.stdout or len(reports) != 1:
            print("# gdb could not stop it at malloc here: skipped\n# %s" %
                  (r.stdout + r.stderr)[-600:].replace("\n", "\n# "))
            sys.exit(77)
        with open(os.path.join(d, reports[0])) as f:
            rep = json.load(f)
        check_eq(rep["exit"], {"reason": "signal", "signal": "SIGTERM"},
                 "ended by the SIGTERM delivered inside opendir")
        check_eq(rep["leaks"], [], "the directory being opened is not reported")
    finally:
        shutil.rmtree(d, ignore_errors=True)

    def term_in_wait4(p):
        for _ in range(30000):
            try:
                with open("/proc/%d/syscall" % p.pid) as f:
                    if f.read().split()[0] == "61":  # wait4
                        break
            except (OSError, IndexError):
                pass
            time.sleep(0.001)
        p.send_signal(signal.SIGTERM)
    res = run([prog("programs"), "waitpid_blocked"], on_start=term_in_wait4)
    check_eq(res.status, -signal.SIGTERM, "ended by SIGTERM in waitpid")
    fds = leaked_fds(res)
    child = int(re.search(r"^child (\d+)$", res.stdout, re.M).group(1))
    check_leaks(res.leaks,
                [{"kind": "fd", "fd": fds[0], "untracked": True, "target": "/dev/null"},
                 {"kind": "child", "pid": child, "cleanup": "killed"}],
                "blocked in waitpid: the untracked /dev/null and the child")


@case
def untracked_any_table():
    # rcleak asks the descriptor table itself when it has 64 or 128 entries
    # and reads /proc/self/fd when it is larger: a raw-syscall descriptor is
    # found either way, at the edges of each table size too.
    small_fd_tables()
    for n in (3, 63, 64, 127, 128, 255, 1000):
        res = run([prog("programs"), "untracked_at", str(n)])
        check_eq(leaked_fds(res), [n], "fd %d: the program made it" % n)
        check_leaks(res.leaks, [{"kind": "fd", "fd": n, "untracked": True, "acquired_by": None,
                                 "type": "chardev", "target": "/dev/null"}],
                    "fd %d: the raw-syscall descriptor, untracked, and nothing else" % n)


@case
def opath_any_table():
    # An O_PATH descriptor cannot be polled: a tracked one left open is still
    # reported, in every table size, and one closed is not.
    small_fd_tables()
    for n in (3, 63, 64, 127, 200):
        res = run([prog("programs"), "opath_at", str(n)])
        check_eq(leaked_fds(res), [n], "fd %d: the program left it" % n)
        check_leaks(res.leaks, [{"kind": "fd", "fd": n, "untracked": False,
                                 "acquired_by": "dup2" if n != 3 else "open",
                                 "type": "chardev", "target": "/dev/null"}],
                    "fd %d: the O_PATH descriptor left open, and nothing else" % n)


@case
def inherited_any_table():
    # Descriptors open before the program started are inherited, whichever
    # way the start-up found them (table sizes 64, 128, 256, 1024).
    small_fd_tables()
    d = tempfile.mkdtemp()
    for n in (10, 100, 200, 1000):
        r, w = os.pipe()
        os.dup2(r, n)
        try:
            for report_inherited in (0, 1):
                path = "%s/%d.%d.json" % (d, n, report_inherited)
                e = dict(os.environ, LD_PRELOAD=SHIM, RCLEAK_OPTIONS="json_path=%s:report_inherited=%d"
                         % (path, report_inherited))
                p = subprocess.run([prog("programs"), "nothing"], env=e, pass_fds=(n,),
                                   capture_output=True, text=True)
                check_eq(p.returncode, 0, "fd %d: status unchanged" % n)
                fds = [lk["fd"] for lk in json.load(open(path))["leaks"]]
                if report_inherited:
                    check(n in fds and all(f == n or f <= 2 for f in fds),
                          "fd %d: report_inherited=1 reports it (and 0-2): %r" % (n, fds))
                else:
                    check_eq(fds, [], "fd %d: an inherited descriptor is not a leak" % n)
        finally:
            os.close(n)
            os.close(r)
            os.close(w)


@case
def errno_preserved():
    res = run([prog("programs"), "errno"])
    check("errno ok" in res.stdout, "program saw the real functions' errno: " + res.stdout.strip())
    check_clean(res, "errno program")


@case
def grouped_text():
    res = run([prog("programs"), "open_in_loop"])
    check_eq(len(res.leaks), 5, "five leaks in JSON")
    check("5 file descriptors leaked from the same site" in res.stderr, "grouped in text")
    check_eq(res.stderr.count("#0 open_in_loop"), 1, "one stack for the group")


@case
def ages():
    res = run([prog("programs"), "aged"])
    fds = leaked_fds(res)
    check_leaks(res.leaks, [{"kind": "fd", "fd": fds[0], "top": "open_old"},
                            {"kind": "fd", "fd": fds[1], "top": "open_young"}],
                "the two descriptors, by site")
    age = {top_function(lk): lk["age_ms"] for lk in res.leaks}
    # held at least 250 ms: the reported age never understates it
    check(age["open_old"] >= 250, "held 250 ms, reported %d ms" % age["open_old"])
    # the stamps are a clock tick apart at most from the truth (10 ms at HZ=100)
    check(age["open_old"] - age["open_young"] >= 240,
          "ages %d and %d ms: 250 ms apart, less a tick" % (age["open_old"], age["open_young"]))
    check_eq(res.report["summary"], {"total": 2, "fd": 2, "suppressed": 0}, "summary")


@case
def json_name_taken():
    # json_path=WORKDIR/r.%p.json (rctest); the program leaves r.<pid>.json and
    # r.<pid>.1.json of "earlier processes" with its pid.
    res = run([prog("programs"), "json_taken"])
    check_eq(res.status, 0, "exit status")
    fds = leaked_fds(res)
    names = sorted(n for n in os.listdir(res.workdir) if n.endswith(".json"))
    want = ["r.%d.json" % res.pid, "r.%d.1.json" % res.pid, "r.%d.2.json" % res.pid]
    check_eq(names, sorted(want), "its report beside the two earlier ones, none replaced")
    for n, name in enumerate(want[:2]):
        with open(os.path.join(res.workdir, name)) as f:
            check_eq(json.load(f).get("earlier"), n, "%s kept as it was" % name)
    with open(os.path.join(res.workdir, want[2])) as f:
        rep = json.load(f)
    check_eq(rep["pid"], res.pid, "the new file is this process's report")
    check_leaks(rep["leaks"], [{"kind": "fd", "fd": fds[0], "top": "json_taken"}],
                "with exactly its leak")
    # a path without %p is the user's one file: replaced
    fixed = os.path.join(res.workdir, "fixed.json")
    with open(fixed, "w") as f:
        f.write("{}")
    res2 = run([prog("programs"), "open_in_loop"], options="json_path=" + fixed, json=False)
    with open(fixed) as f:
        check_eq(json.load(f).get("pid"), res2.pid, "a fixed json_path is replaced")


@case
def json_tmp_link_planted():
    """A link planted at the name of the report's temporary file (by another
    user, in `rcleak run`'s directory, which all may write to) is not
    followed: the file it points to keeps its content, and the report is
    written whole."""
    precious = os.path.join(tempfile.mkdtemp(), "precious")
    with open(precious, "w") as f:
        f.write("precious\n")
    res = run([prog("programs"), "plant_tmp_link", precious])
    with open(precious) as f:
        check_eq(f.read(), "precious\n", "the linked file is untouched")
    fd = int(res.stdout.split()[1])
    check_leaks(res.leaks, [{"kind": "fd", "fd": fd, "target": "/dev/null"}], "the report, whole")
    check("cannot write" not in res.stderr and "symlink" not in res.stderr,
          "nothing said but the report")


@case
def cmdline_retitled():
    """A process that sets its title over its arguments (PostgreSQL, nginx,
    setproctitle) leaves NULs to the end of their memory: its cmdline is the
    title, not the title and dozens of empty arguments.  A program that was
    given empty arguments keeps them."""
    res = run([prog("programs"), "retitle", "x" * 40, "y" * 40])
    check_eq(res.report["cmdline"], ["programs: retitled "], "the title alone")
    fd = int(res.stdout.split()[1])
    check_leaks(res.leaks, [{"kind": "fd", "fd": fd, "target": "/dev/null"}], "its leak")
    res = run([prog("programs"), "nothing", "", ""])
    check_eq(res.report["cmdline"], [prog("programs"), "nothing", "", ""],
             "empty arguments it was given are kept")
    check_clean(res, "nothing")


@case
def json_dir_missing():
    """A JSON report that cannot be written is said in one line naming the
    path and why; with json_optional=1 (what `rcleak run` sets) a directory
    that is gone is no news, and the program's own output and status are
    untouched either way."""
    gone = os.path.join(tempfile.mkdtemp(), "gone", "r.%p.json")
    for optional in (False, True):
        opts = "json_path=" + gone + (":json_optional=1" if optional else "")
        res = run([prog("programs"), "nothing"], options=opts, json=False)
        want = [] if optional else [
            "rcleak: cannot write the JSON report to %s: no such file or directory"
            % gone.replace("%p", str(res.pid))]
        check_eq([l for l in res.stderr.splitlines() if l], want,
                 "json_optional=%d: %s" % (optional, "nothing said" if optional else "one line"))
        check_eq(res.status, 0, "json_optional=%d: the program's status" % optional)
    # a directory that exists is written as ever
    res = run([prog("programs"), "open_in_loop"], options="json_optional=1")
    check_eq(len(res.leaks), 5, "json_optional=1 with the directory there: the report")


STATS_RE = (r"^rcleak: pid %d: (\d+) leaks, (\d+) suppressed; (\d+) distinct stacks in \d+ bytes, "
            r"(\d+) walks")


def stats(res):
    """(leaks, suppressed, distinct stacks, stack walks) from the verbosity=1 line."""
    m = re.search(STATS_RE % res.pid, res.stderr, re.M)
    return tuple(int(x) for x in m.groups()) if m else None


@case
def deferred_clean():
    """A process's first captures are stack copies walked only when needed:
    descriptors from five sites, all closed, leave nothing walked or stored."""
    res = run([prog("programs"), "open_close_sites"])
    check_clean(res, "five sites opened and closed")
    res = run([prog("programs"), "open_close_sites"], options="verbosity=1")
    check_eq(res.leaks, [], "no leaks with verbosity=1")
    if own_walker():
        check_eq(stats(res), (0, 0, 0, 0), "no stack was walked and interned")


@case
def replay_loops():
    """Acquire+release loops replay the thread's cached walks: the main
    thread walks each of its two sites once (after its sixteen deferred
    copies, which are never walked) and its pthread_create site once; each
    of four threads walks its one site once.  Four distinct stacks (the
    threads' are one)."""
    res = run([prog("programs"), "replay_loops"], options="verbosity=1")
    check_eq(res.leaks, [], "nothing leaked")
    if own_walker():
        check_eq(stats(res), (0, 0, 4, 7), "seven walks for 3,004 captures")
    else:
        check_eq(stats(res)[:3], (0, 0, 4), "four distinct stacks (no replay cache here)")


@case
def deferred_one_site():
    """Forty leaks from one site: the first sixteen captured as copies and
    walked at exit, the rest walked at once; one stack for all of them."""
    res = run([prog("programs"), "one_site_many"], options="verbosity=1")
    fds = leaked_fds(res)
    check_eq(len(fds), 40, "the program leaked forty")
    check_leaks(res.leaks, [{"kind": "fd", "fd": fd, "acquired_by": "open", "target": "/dev/null",
                             "top": "open_site"} for fd in fds], "exactly the forty, from open_site")
    stacks = {tuple((f.get("function"), f.get("offset")) for f in lk["stack"]) for lk in res.leaks}
    check_eq(len(stacks), 1, "deferred and immediate captures give the same stack")
    check_eq(functions(res.leaks[0])[:3], ["open_site", "one_site_many", "main"], "the whole stack")
    check_eq(functions(res.leaks[0])[-1], "_start", "walked to the top of the stack")
    check("40 file descriptors leaked from the same site" in res.stderr, "one group in the text")
    if own_walker():
        check_eq(stats(res), (40, 0, 1, 17), "one distinct stack interned, from sixteen copies "
                 "walked at exit and one walk the other 23 captures replayed")
    else:
        check_eq(stats(res)[:3], (40, 0, 1), "one distinct stack interned")


@case
def deferred_deep_then_shallow():
    """A first capture with more stack than a copy may hold is walked at once;
    a shallow one after it is deferred; both stacks exact."""
    res = run([prog("programs"), "deep_then_shallow"], options="stack_depth=8")
    out = dict(l.split(" ", 1) for l in res.stdout.splitlines())
    deep, shallow = int(out["deep"]), int(out["shallow"])
    check_leaks(res.leaks, [{"kind": "fd", "fd": deep, "target": "/dev/null", "top": "deep"},
                            {"kind": "fd", "fd": shallow, "target": "/dev/zero", "top": "shallow"}],
                "both leaks")
    by_fd = {l["fd"]: l for l in res.leaks}
    check_eq(functions(by_fd[deep]), ["deep"] * 8, "deep: eight recursion frames (stack_depth=8)")
    check_eq(functions(by_fd[shallow])[:3], ["shallow", "deep_then_shallow", "main"],
             "shallow: its own stack")


@case
def deferred_signal_handler():
    """First capture in a signal handler: on the main stack the deferred copy
    holds the signal frame and the walk crosses it; on an alternate stack the
    walk runs at once.  Both give the whole stack down to _start."""
    got = {}
    for how in ("main", "altstack"):
        res = run([prog("programs"), "handler_first", how])
        fd = int(res.stdout.split()[1])
        check_leaks(res.leaks, [{"kind": "fd", "fd": fd, "acquired_by": "open", "top": "on_usr1"}],
                    "%s: the handler's descriptor" % how)
        fns = functions(res.leaks[0]) if res.leaks else []
        got[how] = fns
        i = fns.index("raise_usr1") if "raise_usr1" in fns else -1
        check(i > 1 and fns[i:i + 3] == ["raise_usr1", "handler_first", "main"] and fns[-1] == "_start",
              "%s: through the signal frame to main and _start: %s" % (how, fns))
    check_eq(got["main"], got["altstack"], "the same frames either way")


@case
def bad_options():
    for opts, word in (("stack_depth=banana", "stack_depth"), ("bogus_option=1", "bogus_option"),
                       ("json_path", "json_path"), ("exitcode=-5", "exitcode")):
        res = run([prog("programs"), "nothing"], options=opts, json=False)
        lines = [l for l in res.stderr.splitlines() if l]
        check_eq(len(lines), 1, "%s: exactly one line" % opts)
        check(lines and lines[0].startswith("rcleak: RCLEAK_OPTIONS: ") and word in lines[0],
              "%s: names the problem: %r" % (opts, lines[:1]))
        check_eq(res.status, 0, "%s: program runs on" % opts)
    # a bad option does not disable the good ones
    res = run([prog("programs"), "open_in_loop"], options="nonsense=1")
    check_eq(len(res.leaks), 5, "other options (json_path) still apply")


@case
def exitcode():
    res = run([prog("programs"), "open_in_loop"], options="exitcode=23")
    check_eq(res.status, 23, "leaks + exitcode=23: status 23")
    res = run([prog("programs"), "nothing"], options="exitcode=23")
    check_eq(res.status, 0, "clean + exitcode=23: status 0")
    res = run([prog("programs"), "fail_with_leak"], options="exitcode=23")
    check_eq(res.status, 3, "a failing status is never replaced")
    check_eq(res.report["exit"], {"reason": "exit", "status": 3}, "JSON exit status is the program's")
    res = run([prog("programs"), "open_in_loop"])
    check_eq(res.status, 0, "default: status left alone")


@case
def log_path():
    res = run([prog("programs"), "open_in_loop"], options="log_path=%s/log.%%p" % "LOGDIR")
    # the test's workdir is only known after the run: use a fixed dir instead
    d = tempfile.mkdtemp()
    res = run([prog("programs"), "open_in_loop"], options="log_path=%s/log.%%p" % d)
    path = os.path.join(d, "log.%d" % res.pid)
    check(os.path.exists(path), "log_path with %p expanded to the pid")
    text = open(path).read() if os.path.exists(path) else ""
    check("SUMMARY: rcleak: 5 leaks (5 fd)" in text, "text report in the log file")
    check_eq(res.stderr, "", "nothing on stderr")
    res = run([prog("programs"), "nothing"], options="log_path=%s/clean.%%p" % d)
    check(not os.path.exists(os.path.join(d, "clean.%d" % res.pid)), "clean: no log file")


@case
def report_inherited():
    r, w = os.pipe()
    try:
        def go(opts):
            e = dict(os.environ, LD_PRELOAD=SHIM, RCLEAK_OPTIONS=opts)
            return subprocess.run([prog("programs"), "nothing"], env=e, pass_fds=(r,),
                                  capture_output=True, text=True)
        import tempfile
        d = tempfile.mkdtemp()
        p = go("json_path=%s/a.json" % d)
        import json
        check_eq(json.load(open(d + "/a.json"))["leaks"], [], "inherited fd is not a leak by default")
        p = go("json_path=%s/b.json:report_inherited=1" % d)
        leaks = json.load(open(d + "/b.json"))["leaks"]
        check(any(lk["fd"] == r and lk["type"] == "pipe" for lk in leaks),
              "report_inherited=1 reports it")
        check_eq(p.returncode, 0, "status unchanged")
    finally:
        os.close(r)
        os.close(w)


@case
def exec_handover():
    res = run([prog("programs"), "exec_handover"])
    fds = leaked_fds(res)
    check_eq(list(res.reports), [res.pid], "one report: the final image of the pid")
    check_leaks(res.leaks, [{"kind": "fd", "fd": fds[0], "acquired_by": "open", "across_exec": True,
                             "type": "chardev", "target": "/dev/null", "top": "open_before_exec"}],
                "the non-CLOEXEC fd is reported once, by the new image, with its original stack")
    check_eq(res.stderr.count("ERROR: rcleak"), 1, "one text report")
    check("RCLEAK_HANDOVER" not in open("/proc/self/environ").read(), "handover variable not leaked to us")


@case
def exec_fd_arguments():
    """A descriptor the new program is given as an argument ("/dev/fd/N", as
    a shell's `cmd <(producer)` run by exec passes it, or "--x=/proc/self/
    fd/N") is its input, like 0, 1 and 2, not a leak handed across exec;
    one not named is."""
    res = run([prog("programs"), "exec_fd_arguments"])
    fds = leaked_fds(res)
    check_eq(list(res.reports), [res.pid], "one report: the final image of the pid")
    check_leaks(res.leaks, [{"kind": "fd", "fd": fds[0], "acquired_by": "open", "across_exec": True,
                             "target": "/dev/null", "top": "open_before_exec"}],
                "only the descriptor no argument names")


@case
def fork_exec_handover():
    """A fork child that acquired a descriptor and execs hands it to its new
    image; one that acquired nothing hands nothing (its parent's descriptors
    are the parent's), and the parent, which closed its own, is clean."""
    res = run([prog("programs"), "fork_exec_handover"])
    m = re.search(r"^busy (\d+) leaked (\d+)$", res.stdout, re.M)
    busy, fd = int(m.group(1)), int(m.group(2))
    idle = int(re.search(r"^idle (\d+)$", res.stdout, re.M).group(1))
    check_eq(res.report["leaks"], [], "the parent: no leak")
    check(busy in res.reports and idle in res.reports, "both children's new images wrote a report")
    if busy in res.reports:
        check_leaks(res.reports[busy]["leaks"],
                    [{"kind": "fd", "fd": fd, "acquired_by": "open", "across_exec": True,
                      "target": "/dev/null", "top": "open_before_exec"}],
                    "the busy child's descriptor, reported by its new image with its stack")
    if idle in res.reports:
        check_eq(res.reports[idle]["leaks"], [], "the idle child's new image: nothing")


@case
def fork_dup2_exec():
    """What a fork child put on a chosen number (dup2, dup3) before its exec
    is the new program's inheritance; what it merely opened is still its
    leak, handed over."""
    res = run([prog("programs"), "fork_dup2_exec"])
    m = re.search(r"^child (\d+) placed 7 8 leaked (\d+)$", res.stdout, re.M)
    check(m is not None, "the child ran: %r" % res.stdout)
    if m is None:
        return
    child, fd = int(m.group(1)), int(m.group(2))
    check_eq(res.report["leaks"], [], "the parent: no leak")
    check(child in res.reports, "the child's new image wrote a report")
    if child in res.reports:
        check_leaks(res.reports[child]["leaks"],
                    [{"kind": "fd", "fd": fd, "acquired_by": "open", "across_exec": True,
                      "top": "open_before_exec"}],
                    "the new image: only the descriptor opened, not those placed on 7 and 8")


@case
def bash_redirection():
    """bash -c 'cmd 7<file': bash opens the file on the lowest free number
    and moves it to 7 with dup2 in the child, before the exec: the command
    inherits it, and reports nothing."""
    res = run(["bash", "-c", "/bin/true 7</etc/hostname; echo ran"])
    check_eq(res.stdout, "ran\n", "bash ran the command")
    check(len(res.reports) == 2, "both bash and the command reported (%d)" % len(res.reports))
    check_eq([lk for rep in res.reports.values() for lk in rep["leaks"]], [],
             "no leak in either: fd 7 is the command's inheritance")


@case
def exec_handover_many():
    # 200 records with their stacks: far more text than one buffer holds
    res = run([prog("programs"), "exec_handover_many", "200"])
    fds = leaked_fds(res)
    check_eq(len(fds), 200, "200 descriptors left open before the exec")
    check_eq(list(res.reports), [res.pid], "one report: the final image of the pid")
    check_leaks(res.leaks, [{"kind": "fd", "fd": f, "acquired_by": "open", "across_exec": True,
                             "target": "/dev/null", "top": "open_before_exec"} for f in fds],
                "every one reported by the new image, with its original stack")


@case
def exec_then_closed():
    res = run([prog("programs"), "exec_closed_after"])
    check_clean(res, "fd handed across exec and closed by the new image")


@case
def python_multiprocessing_helpers():
    """multiprocessing's resource tracker runs until its parent exits (EOF
    on a pipe), then cleans up after it.  It is a built-in suppression: not
    killed at the parent's exit (SIGTERM is ignored there: SIGKILL after the
    grace period), so it ends by itself."""
    script = ("import multiprocessing as mp\n"
              "mp.set_start_method('spawn')\n"
              "p = mp.Process(target=print, args=('x',)); p.start(); p.join()\n")

    def tracker(res):
        reps = [r for r in res.reports.values()
                if "multiprocessing.resource_tracker" in " ".join(r.get("cmdline", []))]
        return reps[0] if len(reps) == 1 else None

    res = run(["python3", "-c", script])
    check_eq(res.status, 0, "python ran")
    children = [lk for lk in res.report["leaks"] if lk["kind"] == "child"]
    check_eq(children, [], "the tracker is not reported by the parent")
    rep = tracker(res)  # it holds our stderr: the run waited for it to end
    check(rep is not None and rep["exit"]["reason"] == "exit",
          "the tracker ended by itself: %r" % (rep and rep["exit"]))
    res = run(["python3", "-c", script], options="default_suppressions=0")
    check_leaks([lk for lk in res.report["leaks"] if lk["kind"] == "child"],
                [{"kind": "child", "cleanup": "killed", "cleanup_signal": "SIGKILL"}],
                "default_suppressions=0: reported, and killed (it ignores SIGTERM)")


@case
def stderr_reader_gone():
    """`prog 2>&1 | head -1`: the report goes to a pipe whose reader has
    exited.  The write fails with EPIPE; the SIGPIPE it raises must not end
    a program that was exiting 0 (with 141, which pipefail turns into a
    failed CI step).  The JSON report is written all the same."""
    with tempfile.TemporaryDirectory() as d:
        env = dict(os.environ, LD_PRELOAD=SHIM,
                   RCLEAK_OPTIONS="json_path=%s/r.%%p.json" % d)
        # bash leaves fd 3 open (a leak it reports), and exits once stdin ends
        p = subprocess.Popen(["bash", "-c", "exec 3</etc/hostname; read -r x; exit 0"], env=env,
                             stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        p.stderr.close()  # the reader is gone before the report is written
        p.stdin.close()
        status = p.wait(timeout=60)
        reports = [json.load(open(os.path.join(d, n))) for n in os.listdir(d)]
    check_eq(status, 0, "exit status 0, as without rcleak (not 141, SIGPIPE)")
    check_eq(len(reports), 1, "the JSON report was written")
    if reports:
        check_leaks(reports[0]["leaks"], [{"kind": "fd", "fd": 3, "target": "/etc/hostname"}],
                    "it has the leak the text report could not show")


@case
def stderr_nonblocking():
    """A report larger than the pipe, to a stderr in non-blocking mode (as
    Node leaves its stdio pipes) read slowly: it arrives whole, not cut at
    the first EAGAIN."""
    r, w = os.pipe()
    fcntl.fcntl(w, fcntl.F_SETFL, fcntl.fcntl(w, fcntl.F_GETFL) | os.O_NONBLOCK)
    env = dict(os.environ, LD_PRELOAD=SHIM)
    env.pop("RCLEAK_OPTIONS", None)
    p = subprocess.Popen([prog("programs"), "exec_handover_many", "300"], env=env,
                         stdout=subprocess.DEVNULL, stderr=w)
    os.close(w)
    time.sleep(0.5)  # not a timing assertion: the reader is merely late
    chunks = []
    with os.fdopen(r, "rb") as f:
        while True:
            b = f.read(65536)
            if not b:
                break
            chunks.append(b)
    text = b"".join(chunks).decode(errors="replace")
    status = p.wait(timeout=60)
    check_eq(status, 0, "exit status unchanged")
    check(len(text) > 65536, "the report is larger than a pipe (%d bytes)" % len(text))
    check("SUMMARY: rcleak: 300 leaks (300 fd)" in text, "the report arrived whole, its SUMMARY last")


@case
def python_real_program():
    res = run(["python3", "-c", "import os\nfd = os.open('/etc/hostname', os.O_RDONLY)\nprint(fd)\n"])
    fd = int(res.stdout.strip())
    leaks = [lk for lk in res.leaks if lk["fd"] == fd]
    check_eq(len(leaks), 1, "python3: the leaked descriptor is reported")
    if leaks:
        check(leaks[0]["acquired_by"] in ("open", "open64", "openat", "openat64"), "acquired by open")
        check_eq(leaks[0]["target"], "/etc/hostname", "target")
        check(len(leaks[0]["stack"]) > 2, "with a stack")
    check_eq([lk["fd"] for lk in res.leaks], [fd], "and nothing else from python itself")
    res = run(["python3", "-c", "with open('/etc/hostname') as f: f.read()"])
    check_clean(res, "python3 closing its file")


@case
def shell_real_program():
    res = run(["bash", "-c", "exec 7</etc/hostname; exec 8</dev/null; exec 8<&-; true"])
    check_leaks(res.leaks, [{"kind": "fd", "fd": 7, "target": "/etc/hostname", "type": "file"}],
                "bash: fd 7 left open is reported, fd 8 closed is not")
    res = run(["bash", "-c", "ls / >/dev/null; cat /etc/hostname >/dev/null"])
    check_eq(sum(len(r["leaks"]) for r in res.reports.values()), 0, "bash pipeline: no leak in any process")
    check(len(res.reports) >= 3, "every process of the tree wrote a report (%d)" % len(res.reports))


@case
def shell_script_file():
    d = tempfile.mkdtemp()
    script = os.path.join(d, "s.sh")
    with open(script, "w") as f:
        f.write("exec 6</dev/null\necho hi\n")
    for shell in ("bash", "dash"):
        if subprocess.run(["which", shell], capture_output=True).returncode:
            continue
        res = run([shell, script])
        check_eq(res.stdout, "hi\n", "%s ran the script" % shell)
        check_leaks(res.leaks, [{"kind": "fd", "fd": 6, "target": "/dev/null"}],
                    "%s: the script's own leak is reported, the script file the shell reads is not" % shell)


@case
def suppressions_in_process():
    d = tempfile.mkdtemp()
    supp = os.path.join(d, "supp.txt")
    with open(supp, "w") as f:
        f.write("# hide the loop\nfd:open_in_loop\n")
    res = run([prog("programs"), "open_in_loop"], options="suppressions=" + supp)
    check_eq(res.leaks, [], "suppressed by function: nothing reported")
    check_eq(res.report["summary"], {"total": 0, "suppressed": 5}, "summary counts the suppressed")
    check_eq(res.stderr, "", "no text report for suppressed leaks")
    with open(supp, "w") as f:
        f.write("fd:/dev/zero\n")
    res = run([prog("programs"), "dup2_onto_open"], options="suppressions=" + supp)
    check_eq(len(res.leaks), 1, "a target rule only hides what it names (/dev/null stays)")
    with open(supp, "w") as f:
        f.write("fd:ok\nbogus line\n")
    res = run([prog("programs"), "open_in_loop"], options="suppressions=" + supp)
    errs = [l for l in res.stderr.splitlines() if l.startswith("rcleak: suppressions:")]
    check_eq(len(errs), 1, "bad suppressions file: one error line")
    check(errs and "supp.txt:2" in errs[0], "naming file and line: %r" % errs[:1])
    check_eq(len(res.leaks), 5, "and the leaks are still reported")
    res = run([prog("programs"), "open_in_loop"], options="suppressions=/nonexistent/supp")
    check(any("cannot read /nonexistent/supp" in l for l in res.stderr.splitlines()),
          "unreadable suppressions file named")
    check_eq((res.status, len(res.leaks)), (0, 5), "program unaffected, nothing lost")


@case
def user_files_not_regular():
    """A suppressions file or log_path that is a FIFO cannot hang the program:
    the suppressions FIFO is refused in one line (every traced process would
    otherwise wait on it), a log FIFO nobody reads sends the report to stderr
    with one line, and one that is read late gets the whole report (written
    without blocking, waiting for room).  A suppressions file over 1 MiB is
    refused, not cut short."""
    d = tempfile.mkdtemp(prefix="rctest-fifo-")
    try:
        fifo = os.path.join(d, "fifo")
        os.mkfifo(fifo)
        res = run([prog("programs"), "open_in_loop"], options="suppressions=" + fifo, timeout=30)
        errs = [l for l in res.stderr.splitlines() if l.startswith("rcleak: suppressions:")]
        check_eq(errs, ["rcleak: suppressions: cannot read %s: not a regular file" % fifo],
                 "a FIFO as suppressions file: one line")
        check_eq((res.status, len(res.leaks)), (0, 5), "suppressions FIFO: program unaffected, nothing lost")

        big = os.path.join(d, "big.supp")
        with open(big, "w") as f:
            f.write(("# %s\n" % ("x" * 1020)) * 1100 + "fd:open_in_loop\n")
        res = run([prog("programs"), "open_in_loop"], options="suppressions=" + big)
        errs = [l for l in res.stderr.splitlines() if l.startswith("rcleak: suppressions:")]
        check_eq(errs, ["rcleak: suppressions: cannot read %s: too large" % big],
                 "a suppressions file over 1 MiB: one line")
        check_eq(len(res.leaks), 5, "too large: no rule of it applied, nothing lost")

        res = run([prog("programs"), "open_in_loop"], options="log_path=" + fifo, timeout=30)
        check_eq(res.status, 0, "log FIFO without a reader: exit status unchanged")
        lines = res.stderr.splitlines()
        check_eq(lines[:1], ["rcleak: cannot write the text report to %s: "
                             "no process has that FIFO open for reading" % fifo],
                 "log FIFO without a reader: one line")
        check(any("ERROR: rcleak: 5 leaked file descriptors" in l for l in lines),
              "and the report on stderr instead")

        # A reader with a one-page pipe that starts reading late: a report
        # longer than the pipe (names of control characters, escaped 4x) must
        # arrive whole through the non-blocking descriptor.
        names = [bytes([1 + (i + j) % 30 for j in range(200)]) + b"-%d" % i for i in range(8)]
        rfd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        try:
            fcntl.fcntl(rfd, 1031, 4096)  # F_SETPIPE_SZ
            fcntl.fcntl(rfd, fcntl.F_SETFL, 0)
            p = subprocess.Popen([prog("programs"), "open_named"] + [os.path.join(d.encode(), n) for n in names],
                                 env=dict(os.environ, LD_PRELOAD=SHIM, RCLEAK_OPTIONS="log_path=" + fifo),
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                 cwd=d)
            time.sleep(0.5)
            chunks = []
            while True:
                b = os.read(rfd, 65536)
                if not b:
                    break
                chunks.append(b)
            err = p.communicate(timeout=30)[1]
        finally:
            os.close(rfd)
        text = b"".join(chunks).decode()
        check_eq((p.returncode, err), (0, b""), "log FIFO read late: exit 0, nothing on stderr")
        check(len(text) > 4096, "the report is longer than the pipe (%d bytes)" % len(text))
        check_eq(len(re.findall(r": file .*-\d \(acquired with open", text)), 8, "every leak in it")
        check(re.search(r"^SUMMARY: rcleak: 8 leaks", text, re.M) is not None, "and its SUMMARY line")
    finally:
        shutil.rmtree(d, ignore_errors=True)


@case
def no_proc():
    """Without /proc (a chroot or sandbox that does not mount it) and with a
    descriptor table too large to probe at once (bash's fd 200), the
    descriptors the wrappers recorded are still found and reported, and the
    text report says what could not be read."""
    need_tools("unshare", "umount", "bash")
    probe = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                            "umount -l /proc"], capture_output=True)
    if os.geteuid() != 0 or probe.returncode != 0:
        print("# cannot unmount /proc in a mount namespace here (needs root): skipped")
        sys.exit(77)
    # unshare and bash exec into the program: one pid throughout.
    res = run(["unshare", "-m", "--propagation", "private", "bash", "-c",
               'umount -l /proc && exec 200</dev/null && exec "$0" open_in_loop', prog("programs")])
    check_eq(res.status, 0, "exit status unchanged")
    check_leaks(res.reports.get(res.pid, {}).get("leaks", []),
                [{"kind": "fd", "acquired_by": "open", "fd": fd} for fd in range(3, 8)] +
                [{"kind": "fd", "acquired_by": "dup2", "fd": 200}],
                "the five descriptors, found without /proc, and bash's fd 200 (handed "
                "across its exec)")
    lines = res.stderr.splitlines()
    check(any("/proc is not mounted" in l for l in lines), "the text report says why it is partial")


@case
def closes_stderr():
    """A program whose atexit handler closes stderr (every GNU program, by
    gnulib's close_stdout) still gets its text report there; the copy of
    stderr that makes it possible is not reported."""
    for how in ("return", "exit"):
        res = run([prog("programs"), "closes_stderr", how])
        fds = leaked_fds(res)
        check_eq(res.status, 0, "%s: exit status" % how)
        check_leaks(res.leaks, [{"kind": "fd", "fd": fds[0], "target": "/dev/null",
                                 "acquired_by": "open", "top": "closes_stderr"}],
                    "%s: exactly the program's leak" % how)
        check("SUMMARY: rcleak: 1 leak (1 fd)" in res.stderr and
              "#0 closes_stderr " in res.stderr,
              "%s: the text report reached stderr after the program closed it" % how)


@case
def stderr_fd2():
    """The text report goes to fd 2 only while fd 2 is a stderr: never into a
    file that became fd 2 because the program closed its stderr (a daemon's
    data file), but into one the program put there with dup2 (a log)."""
    for how, want_report in (("reused", False), ("redirected", True)):
        path = os.path.join(tempfile.mkdtemp(), "file")
        res = run([prog("programs"), "stderr_fd2", how, path])
        check_eq(res.status, 0, "%s: exit status" % how)
        with open(path) as f:
            text = f.read()
        fds = leaked_fds(res)
        # (fds 0-2 are not reported unless report_inherited=1)
        check_leaks(res.leaks, [{"kind": "fd", "fd": fds[0] if fds else -1, "target": "/dev/null",
                                 "acquired_by": "open", "top": "stderr_fd2"}],
                    "%s: the JSON report has the leak" % how)
        if want_report:
            check(text.startswith("DATA\n") and "SUMMARY: rcleak: 1 leak (1 fd)" in text,
                  "redirected: the text report is in the log the program made its stderr")
        else:
            check_eq(text, "DATA\n", "reused: the data file that became fd 2 is untouched")


@case
def suppressions_no_libdw():
    """A leak a rule suppresses by function is never shown, so its file:line
    is never looked up: for a program whose lines only libdw can read (DWARF
    4 here; a stripped program with a .gnu_debuglink, like make, alike) the
    report loads no libdw, which costs tens of ms.  Without the rule the
    same report needs the lines, and loads it."""
    if shutil.which("strace") is None:
        print("# strace not installed: skipped")
        sys.exit(77)
    d = tempfile.mkdtemp()
    supp = os.path.join(d, "supp.txt")
    with open(supp, "w") as f:
        f.write("fd:^open_in_loop$\n")
    trace = os.path.join(d, "trace")
    for rule, want_libdw in ((None, True), (supp, False)):
        opts = "suppressions=" + supp if rule else None
        env = {"RCLEAK_OPTIONS": opts} if opts else {}
        res = run(["strace", "-f", "-qq", "-o", trace, "-e", "trace=openat", "-E",
                   "LD_PRELOAD=" + SHIM] + (["-E", "RCLEAK_OPTIONS=" + opts] if opts else []) +
                  [prog("programs_dwarf4"), "open_in_loop"], preload=False, env=env)
        with open(trace) as f:
            opened = [l for l in f if "libdw.so" in l]
        what = "suppressed by function" if rule else "reported"
        check_eq(res.status, 0, "%s: exit status" % what)
        check_eq(bool(opened), want_libdw, "%s: libdw %s" % (what, "loaded for file:line" if
                                                            want_libdw else "never loaded"))
        if rule:
            check("1 leak" not in res.stderr and "rcleak" not in res.stderr,
                  "suppressed: nothing printed")
        else:
            check(re.search(r"#0 open_in_loop \S*programs\.c:\d+ ", res.stderr) is not None,
                  "reported: file:line from the DWARF 4 tables")


@case
def make_default_suppression():
    d = tempfile.mkdtemp()
    with open(os.path.join(d, "Makefile"), "w") as f:
        # two jobs that overlap, so make hands one of them its "bad stdin" pipe
        f.write("all: a b\na:\n\t@sleep 0.3\nb:\n\t@sleep 0.3\n")
    for var in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL"):  # no jobserver from whoever runs the tests
        os.environ.pop(var, None)
    res = run(["make", "-s", "-j2", "-C", d])
    check_eq(res.status, 0, "make ran")
    check_eq(sum(len(r["leaks"]) for r in res.reports.values()), 0,
             "GNU make -j's lifetime stdin pipe is a built-in suppression")
    check_eq(res.report["summary"].get("suppressed"), 1, "and counted as suppressed")
    res = run(["make", "-s", "-j2", "-C", d], options="default_suppressions=0")
    check_leaks(res.leaks, [{"kind": "fd", "type": "pipe", "top": "get_bad_stdin"}],
                "default_suppressions=0 shows it")


def suppressed_by_default(argv, what, suppressed=None, tools=(), timeout=60, between=None):
    """Run argv under rcleak: no leak in any of its processes and nothing
    printed, because built-in rules hide them (`suppressed` of them, if
    given, in the main process).  Then `between()`, and the same run with
    default_suppressions=0, which is returned for its leaks to be checked."""
    need_tools(*tools)
    res = run(argv, timeout=timeout)
    check_eq(res.status, 0, "%s ran" % what)
    check_eq(sum(len(r["leaks"]) for r in res.reports.values()), 0,
             "%s: its lifetime resources are built-in suppressions" % what)
    if suppressed is not None:
        check_eq(res.report["summary"].get("suppressed"), suppressed,
                 "%s: counted as suppressed" % what)
    check_eq(res.stderr, "", "%s: nothing printed" % what)
    if between:
        between()
    return run(argv, options="default_suppressions=0", timeout=timeout)


@case
def wrapper_default_suppressions():
    """coreutils timeout, util-linux flock and script hold a resource for their
    whole life on purpose (the timer that ends the command, the lock file, the
    terminal), and so do the archivers and GnuPG (GNU tar each directory of
    a -C, gzip the last input's directory, xz its signal pipe and, with -T,
    the worker it made for a small input, gpg its trust database): a
    built-in rule each, so that the commands CI wraps in them
    or archives and signs its artifacts with report clean."""
    tmp = tempfile.mkdtemp()
    lock = os.path.join(tmp, "lockfile")
    tree = os.path.join(tmp, "tree")
    os.mkdir(tree)
    open(os.path.join(tree, "f"), "w").close()
    text = os.path.join(tmp, "text")  # not empty: one block for one worker
    with open(text, "w") as f:
        f.write("x\n")
    gnupg = os.path.join(tmp, "gnupg")
    os.mkdir(gnupg, 0o700)
    if shutil.which("gpg"):  # its first run says it made the keybox and the trust database
        subprocess.run(["gpg", "--homedir", gnupg, "--list-keys"], capture_output=True, timeout=60)
    cases = [(["timeout", "5", "true"],
              [{"kind": "timer", "acquired_by": "timer_create", "cleanup": "deleted"}]),
             (["flock", "-w", "5", lock, "true"],
              [{"kind": "fd", "type": "file", "target": lock, "acquired_by": "open"}]),
             (["script", "-qec", "true", "/dev/null"],
              [{"kind": "fd", "type": "chardev", "target": "/dev/ptmx", "acquired_by": "openpty"},
               {"kind": "fd", "type": "chardev", "acquired_by": "openpty"}]),
             (["tar", "-cf", os.path.join(tmp, "out.tar"), "-C", tree, "."],
              [{"kind": "fd", "type": "dir", "target": tree}]),
             (["gzip", "-c", os.path.join(tree, "f")],
              [{"kind": "fd", "type": "dir", "target": tree}]),
             (["xz", "-c", os.path.join(tree, "f")],
              [{"kind": "fd", "type": "pipe", "acquired_by": "pipe"}] * 2),
             (["xz", "-T2", "-c", text],
              [{"kind": "fd", "type": "pipe", "acquired_by": "pipe"}] * 2 +
              [{"kind": "thread", "acquired_by": "pthread_create"}]),
             (["gpg", "--homedir", gnupg, "--list-keys"],
              [{"kind": "fd", "type": "file", "target": os.path.join(gnupg, "trustdb.gpg"),
                "acquired_by": "open"}])]
    for argv, leaks in cases:
        if shutil.which(argv[0]) is None:
            print("# no %s here: its case skipped" % argv[0])
            continue
        res = suppressed_by_default(argv, argv[0], suppressed=len(leaks))
        check_leaks(res.leaks, leaks, "%s: default_suppressions=0 shows them" % argv[0])


@case
def gdb_default_suppressions():
    """GDB leaves its event pipes and its worker threads (as many as the
    machine has CPUs) to the exit: a program rule, so that the `gdb -batch
    -ex bt` of a CI script's crash handling reports clean.  The program it
    runs is still traced, and clean."""
    need_tools("gdb")
    argv = ["gdb", "-nx", "-batch", "-ex", "run", "--args", prog("programs"), "nothing"]
    res = run(argv, timeout=120)
    check_eq(res.status, 0, "gdb ran the program")
    inferior = [r for pid, r in res.reports.items()
                if pid != res.pid and r["cmdline"][-2:] == [prog("programs"), "nothing"]]
    check_eq([r["leaks"] for r in inferior], [[]], "the program gdb ran: traced, and clean")
    check_eq([r["leaks"] for r in res.reports.values() if r["leaks"]], [],
             "gdb and its children (iconv): nothing reported")
    check_eq(res.stderr, "", "gdb: nothing printed")
    hidden = res.report["summary"].get("suppressed")
    res = run(argv, options="default_suppressions=0", timeout=120)
    leaks = res.report["leaks"]
    kinds = collections.Counter((lk["kind"], lk.get("type") or lk.get("state")) for lk in leaks)
    check(kinds[("fd", "pipe")] >= 2 and kinds[("thread", "running")] >= 1 and
          sum(kinds.values()) == kinds[("fd", "pipe")] + kinds[("thread", "running")],
          "default_suppressions=0: pipes and running threads only: %s" % dict(kinds))
    check_eq(hidden, len(leaks), "all of them were counted as suppressed")


@case
def ninja_default_suppressions():
    """ninja keeps .ninja_log and .ninja_deps open until it exits: matched by
    their names, whatever the build directory."""
    d = tempfile.mkdtemp()
    with open(os.path.join(d, "build.ninja"), "w") as f:
        f.write("rule cc\n  command = cc -MD -MF $out.d -c $in -o $out\n  deps = gcc\n"
                "  depfile = $out.d\nbuild a.o: cc a.c\n")
    with open(os.path.join(d, "a.c"), "w") as f:
        f.write("int a(void) { return 1; }\n")
    res = suppressed_by_default(["ninja", "-C", d], "ninja", suppressed=2,
                                between=lambda: os.unlink(os.path.join(d, "a.o")))
    check_leaks(res.leaks, [{"kind": "fd", "type": "file", "target": os.path.join(d, name),
                             "acquired_by": "fopen"} for name in (".ninja_log", ".ninja_deps")],
                "default_suppressions=0 shows both")


@case
def jq_default_suppressions():
    """jq closes each input file when it opens the next one: the last stays
    open until it exits, from libjq's reader (a function rule)."""
    if shutil.which("jq") is None:
        print("# no jq: skipped")
        return
    d = tempfile.mkdtemp()
    inputs = [os.path.join(d, n) for n in ("a.json", "b.json")]
    for i, path in enumerate(inputs):
        with open(path, "w") as f:
            f.write('{"n": %d}\n' % i)
    res = suppressed_by_default(["jq", "-c", ".n"] + inputs, "jq", suppressed=1)
    check_eq(res.stdout, "0\n1\n", "jq read both")
    check_leaks(res.leaks, [{"kind": "fd", "type": "file", "target": inputs[1],
                             "acquired_by": "fopen"}],
                "default_suppressions=0 shows the last input, and only it")


@case
def git_default_suppressions():
    """git keeps a pack file open from its first read until it exits, to map
    windows of it; `git rev-list --all` (fetch's connectivity check runs one)
    does not close its object store: matched by the pack's name, in any
    repository.  A loose object is read and closed: nothing to hide."""
    if shutil.which("git") is None:
        print("# no git: skipped")
        return
    repo = tempfile.mkdtemp()
    git = ["git", "-C", repo, "-c", "user.name=t", "-c", "user.email=t@t", "-c", "gc.auto=0"]
    subprocess.run(git[:3] + ["init", "-q"], check=True, timeout=60)
    with open(os.path.join(repo, "f"), "w") as f:
        f.write("x\n")
    subprocess.run(git + ["add", "f"], check=True, timeout=60)
    subprocess.run(git + ["commit", "-qm", "one"], check=True, timeout=60)
    loose = run(git + ["rev-list", "--all"])
    check_clean(loose, "rev-list over loose objects")
    check_eq(loose.report["summary"].get("suppressed"), 0, "loose objects: nothing suppressed")
    subprocess.run(git + ["gc", "-q"], check=True, timeout=60)
    packs = glob.glob(os.path.join(repo, ".git", "objects", "pack", "pack-*.pack"))
    check_eq(len(packs), 1, "gc made one pack")
    res = suppressed_by_default(git + ["rev-list", "--all"], "git rev-list", suppressed=1)
    check_leaks(res.leaks, [{"kind": "fd", "type": "file", "target": packs[0]}],
                "default_suppressions=0 shows the pack, and only it")


def _initdb_reports(initdb, as_user, options):
    """initdb (as `as_user`, if given) under rcleak: {pid: report} of its tree."""
    rdir, data = tempfile.mkdtemp(), tempfile.mkdtemp()
    os.chmod(rdir, 0o777)
    argv = [initdb, "-D", os.path.join(data, "d"), "-A", "trust", "-U", "postgres", "-N"]
    if as_user:
        os.chown(data, as_user.pw_uid, as_user.pw_gid)
        argv = ["setpriv", "--reuid=%d" % as_user.pw_uid, "--regid=%d" % as_user.pw_gid,
                "--clear-groups", "--"] + argv
    opts = "json_path=%s/r.%%p.json" % rdir + (":" + options if options else "")
    res = run(argv, options=opts, json=False, timeout=300)
    if res.status != 0:
        print("\n".join("# " + l for l in res.stderr.splitlines()[-20:]))
    check_eq(res.status, 0, "initdb ran (%s)" % (options or "defaults"))
    reports = {}
    for name in os.listdir(rdir):
        with open(os.path.join(rdir, name)) as f:
            rep = json.load(f)
        reports[rep["pid"]] = rep
    return reports, os.path.join(data, "d")


@case
def postgres_default_suppressions():
    """PostgreSQL's server processes leave to the exit the relation files its
    file cache keeps open, their latch signalfd and epoll set and the
    interval timer of their timeouts: a program rule.  initdb runs the
    server twice (bootstrap and single-user) and is clean itself."""
    initdb = shutil.which("initdb") or next(iter(sorted(glob.glob(
        "/usr/lib/postgresql/*/bin/initdb"))), None)
    if initdb is None:
        print("# no PostgreSQL: skipped")
        sys.exit(77)
    as_user = None
    if os.geteuid() == 0:  # the server refuses to run as root
        import pwd
        try:
            as_user = pwd.getpwnam("postgres")
        except KeyError:
            print("# root, and no postgres user: skipped")
            sys.exit(77)
        need_tools("setpriv")
    reports, _ = _initdb_reports(initdb, as_user, None)
    servers = [r for r in reports.values() if r["exe"].endswith("/postgres")]
    check(len(servers) >= 2, "the server ran as its own processes (%d)" % len(servers))
    check_eq({r["pid"]: r["leaks"] for r in reports.values() if r["leaks"]}, {},
             "no leak reported in the whole tree")
    check(all(r["summary"].get("suppressed", 0) == 0 for r in reports.values()
              if r not in servers), "only the server's are suppressed")
    check(sum(r["summary"].get("suppressed", 0) for r in servers) > 10,
          "the server's are suppressed")
    reports, data = _initdb_reports(initdb, as_user, "default_suppressions=0")
    servers = [r for r in reports.values() if r["exe"].endswith("/postgres")]
    leaks = [lk for r in servers for lk in r["leaks"]]
    others = [lk for r in reports.values() if r not in servers for lk in r["leaks"]]
    check_eq(others, [], "default_suppressions=0: initdb and its shells are clean")
    kinds = collections.Counter(
        "data file" if (lk.get("target") or "").startswith(data + "/") else
        lk.get("type") if lk["kind"] == "fd" else lk["kind"] for lk in leaks)
    check(kinds["data file"] > 10 and kinds["signalfd"] >= 2 and kinds["epoll"] >= 2 and
          set(kinds) <= {"data file", "signalfd", "epoll", "itimer"},
          "default_suppressions=0: the server's data files, latch descriptors and "
          "timers: %s" % dict(kinds))


@case
def ctest_default_suppressions():
    """libuv makes its signal lock pipe once per process (uv_once, from the
    first uv_loop_init) and keeps it: ctest, which runs CMake projects'
    tests, reported it on every run."""
    if shutil.which("cmake") is None:
        print("# no cmake: skipped")
        sys.exit(77)
    d = tempfile.mkdtemp()
    with open(os.path.join(d, "CMakeLists.txt"), "w") as f:
        f.write("cmake_minimum_required(VERSION 3.10)\nproject(t NONE)\nenable_testing()\n"
                "add_test(NAME ok COMMAND true)\n")
    build = os.path.join(d, "build")
    subprocess.run(["cmake", "-S", d, "-B", build], check=True, capture_output=True)
    res = suppressed_by_default(["ctest", "--test-dir", build], "ctest", tools=["ctest"])
    check_leaks(res.leaks, [{"kind": "fd", "type": "pipe", "acquired_by": "pipe2"},
                            {"kind": "fd", "type": "pipe", "acquired_by": "pipe2"}],
                "default_suppressions=0: exactly libuv's signal lock pipe")
    check(all("uv_once" in functions(lk) for lk in res.leaks), "made under uv_once")


@case
def python_daemon_thread():
    """A Python daemon thread still running at exit is abandoned by design:
    a built-in suppression, like a Java VM's threads."""
    code = ("import threading, time; threading.Thread(target=time.sleep, args=(30,),"
            " daemon=True).start(); print('started')")
    res = suppressed_by_default([sys.executable, "-c", code], "python", suppressed=1)
    tops = [top_function(lk) for lk in res.leaks]
    check_leaks(res.leaks, [{"kind": "thread", "acquired_by": "pthread_create", "detached": True,
                             "state": "running", "top": tops[0] if tops else None}],
                "default_suppressions=0: exactly the daemon thread")
    check(tops and tops[0] in ("PyThread_start_new_thread", "PyThread_start_joinable_thread",
                               "do_start_joinable_thread"), "started by CPython (%s)" % tops)


@case
def toolchain_default_suppressions():
    """The linkers and GCC's LTO compiler leave their files (lld: its thread
    pool) to the exit by design; without built-in rules `rcleak run make`
    of any C project would fail on the toolchain.  ld.bfd keeps a dup of an
    archive its LTO plugin read (libc_nonshared.a, for atexit), gold every
    input, lto1 its objects.  Matched by the executable, whatever its
    target-triplet prefix; the compiler's own processes are clean anyway."""
    need_tools("gcc")
    d = tempfile.mkdtemp()
    src = os.path.join(d, "ae.c")
    with open(src, "w") as f:
        f.write("#include <stdlib.h>\nstatic void f(void) {}\n"
                "int g(int x) { return x + 1; }\nint main(void) { atexit(f); return g(-1); }\n")
    obj = os.path.join(d, "ae.o")
    subprocess.run(["gcc", "-c", "-o", obj, src], check=True, timeout=60)
    out = os.path.join(d, "ae")

    def leaks_in(res, exe_end):
        return [lk for r in res.reports.values() if r["exe"].endswith(exe_end) for lk in r["leaks"]]

    def clean_then_shown(argv, what):
        res = suppressed_by_default(argv, what, timeout=120)
        return [lk for r in res.reports.values() for lk in r["leaks"]], res

    leaks, res = clean_then_shown(["gcc", "-fuse-ld=bfd", "-o", out, obj], "ld.bfd")
    check_leaks(leaks, [{"kind": "fd", "type": "file", "acquired_by": "dup",
                         "target": os.path.realpath(subprocess.run(
                             ["gcc", "-print-file-name=libc_nonshared.a"], capture_output=True,
                             text=True, check=True).stdout.strip()),
                         "top": "bfd_plugin_close_file_descriptor"}],
                "default_suppressions=0: ld.bfd's dup of libc_nonshared.a, nothing else")
    check_eq(len(leaks_in(res, "ld.bfd")), 1, "held by ld.bfd")

    def files_of(argv, exe_end, least, opener, target_re, what):
        """default_suppressions=0: at least `least` leaks, all of the
        program's, each a file it opened with `opener` matching target_re."""
        leaks, res = clean_then_shown(argv, what)
        check(len(leaks) >= least and leaks == leaks_in(res, exe_end),
              "default_suppressions=0: %d leaks, all %s's" % (len(leaks), what))
        check_leaks(leaks, [{"kind": "fd", "type": "file", "acquired_by": opener,
                             "target": lk.get("target")} for lk in leaks
                            if re.search(target_re, lk.get("target") or "")],
                    "default_suppressions=0: %s's files, nothing else" % what)

    files_of(["gcc", "-fuse-ld=gold", "-o", out, obj], "ld.gold", 3, "open64",
             r"\.(a|o|so[.0-9]*)$", "ld.gold")
    plain = os.path.join(d, "plain.c")  # no atexit: the linker keeps nothing of this link
    with open(plain, "w") as f:
        f.write("int g(int x) { return x + 1; }\nint main(void) { return g(-1); }\n")
    files_of(["gcc", "-flto", "-O2", "-o", out, plain], "/lto1", 1, "open",
             r"^/tmp/cc\w+(\.ltrans\d+)?\.o$", "lto1")

    if shutil.which("ld.lld") is None:
        print("# no ld.lld: its part skipped")
        return
    leaks, res = clean_then_shown(["gcc", "-fuse-ld=lld", "-o", out, obj], "lld")
    check(len(leaks) >= 1 and leaks == leaks_in(res, "/lld"),
          "default_suppressions=0: %d leaks, all lld's" % len(leaks))
    check_leaks(leaks, [{"kind": "thread", "acquired_by": "pthread_create"} for _ in leaks],
                "default_suppressions=0: lld's threads, nothing else")


@case
def java_default_suppressions():
    """A Java VM holds its threads, its runtime image and NIO's socketpair
    until it exits; javac also exits from the launcher's main thread while
    the launcher waits to join it.  All built-in suppressions."""
    d = tempfile.mkdtemp()
    with open(os.path.join(d, "H.java"), "w") as f:
        f.write("public class H { public static void main(String[] a) throws Exception {"
                " Thread t = new Thread(() -> {}); t.start(); t.join(); } }\n")
    res = suppressed_by_default(["javac", "-d", d, os.path.join(d, "H.java")], "javac",
                                tools=["javac"], timeout=120,
                                between=lambda: os.unlink(os.path.join(d, "H.class")))
    vm = [lk for lk in res.leaks if lk["kind"] == "thread" and
          (top_function(lk) or "").startswith("os::create_thread(")]
    check(len(vm) >= 2, "default_suppressions=0: the VM's threads (%d)" % len(vm))
    check_leaks(res.leaks, [
        {"kind": "fd", "type": "file", "acquired_by": "open", "top": "ImageFileReader::open()"},
        {"kind": "fd", "type": "socket", "acquired_by": "socketpair",
         "top": "Java_sun_nio_ch_FileDispatcherImpl_init"},
        {"kind": "thread", "acquired_by": "pthread_create", "top": "CallJavaMainInNewThread"},
    ] + [{"kind": "thread", "acquired_by": "pthread_create", "top": top_function(lk)}
         for lk in vm], "default_suppressions=0: and exactly these others")


# Java statements that open /etc/hostname and keep it open in a static.
JAVA_KEEP_HOSTNAME = 'kept = new java.io.FileInputStream("/etc/hostname"); kept.read();'


def javac_class(name, main):
    """Class NAME (with a static `kept` stream) whose main runs `main`,
    compiled: the directory of its .class."""
    d = tempfile.mkdtemp()
    src = os.path.join(d, name + ".java")
    with open(src, "w") as f:
        f.write("public class %s { static java.io.FileInputStream kept;"
                " public static void main(String[] a) throws Exception { %s } }\n" % (name, main))
    subprocess.run(["javac", "-d", d, src], check=True, timeout=120)
    return d


@case
def java_securerandom_devices():
    """Java's NativePRNG (behind SecureRandom, UUID.randomUUID and
    Files.createTempFile) keeps /dev/random and /dev/urandom open in a static
    for the VM's life: a built-in rule that needs both the device and
    libjava's open.  A file the program itself leaks through the same open
    is still reported."""
    need_tools("javac", "java")
    d = javac_class("R", "System.out.println(java.util.UUID.randomUUID().toString().length());"
                    + JAVA_KEEP_HOSTNAME)
    own = {"kind": "fd", "type": "file", "target": "/etc/hostname", "top": "handleOpen"}
    res = run(["java", "-cp", d, "R"], timeout=120)
    check_eq((res.status, res.stdout), (0, "36\n"), "java ran")
    check_leaks(res.leaks, [own], "exactly the program's own file")
    check_eq(res.report["summary"]["total"], 1, "summary: one leak")
    res = run(["java", "-cp", d, "R"], options="default_suppressions=0", timeout=120)
    devices = [lk for lk in res.leaks if lk["kind"] == "fd" and lk.get("type") == "chardev"]
    check_leaks(devices, [{"kind": "fd", "type": "chardev", "target": "/dev/random", "top": "handleOpen"},
                          {"kind": "fd", "type": "chardev", "target": "/dev/urandom", "top": "handleOpen"}],
                "default_suppressions=0: both devices, opened by libjava")
    check_leaks([lk for lk in res.leaks if lk.get("target") == "/etc/hostname"], [own],
                "default_suppressions=0: and the program's own file")


@case
def java_classpath_jars():
    """Java's class loaders keep every jar of the class path open for the
    VM's life (Maven: 45 of them): a built-in rule on a target ending in
    .jar and libjava's open.  A jar the program itself opens and keeps
    open goes through the same open and is hidden too (they cannot be told
    apart: the Java frames above are not symbolized); a file of another
    name is still reported."""
    need_tools("javac", "java", "jar")
    d = javac_class("K", JAVA_KEEP_HOSTNAME + " System.out.println(\"k\");")
    jar = os.path.join(d, "k.jar")
    subprocess.run(["jar", "cf", jar, "-C", d, "K.class"], check=True, timeout=120)
    os.unlink(os.path.join(d, "K.class"))
    own = {"kind": "fd", "type": "file", "target": "/etc/hostname", "top": "handleOpen"}
    res = run(["java", "-cp", jar, "K"], timeout=120)
    check_eq((res.status, res.stdout), (0, "k\n"), "java ran K from the jar")
    check_leaks(res.leaks, [own], "exactly the program's own file")
    res = run(["java", "-cp", jar, "K"], options="default_suppressions=0", timeout=120)
    check_leaks([lk for lk in res.leaks if lk.get("target") in (jar, "/etc/hostname")],
                [{"kind": "fd", "type": "file", "target": jar, "top": "handleOpen"}, own],
                "default_suppressions=0: the class path's jar, opened by libjava, and the file")


@case
def python_multiprocessing_stdin():
    """Every child CPython's multiprocessing starts replaces sys.stdin with
    os.open(os.devnull) wrapped with closefd=False, never closed: a built-in
    rule on the device and os_open.  The same open of another file is still
    reported."""
    script = ("import multiprocessing as mp, os\n"
              "mp.set_start_method('fork')\n"
              "p = mp.Process(target=print, args=('x',)); p.start(); p.join(); p.close()\n"
              "leaked = os.open('/etc/hostname', os.O_RDONLY)\n")

    def child_leaks(res):
        return [lk for r in res.reports.values() if r["pid"] != res.pid for lk in r["leaks"]]

    own = {"kind": "fd", "type": "file", "target": "/etc/hostname", "top": "os_open"}
    res = run(["python3", "-c", script])
    check_eq((res.status, res.stdout), (0, "x\n"), "python ran")
    check_eq(len(res.reports), 2, "a report from the parent and from its child")
    check_leaks(child_leaks(res), [], "the child: nothing")
    check_leaks(res.leaks, [own], "the parent: exactly its own os.open")
    res = run(["python3", "-c", script], options="default_suppressions=0")
    check_leaks(child_leaks(res), [{"kind": "fd", "type": "chardev", "target": "/dev/null",
                                    "top": "os_open"}],
                "default_suppressions=0: the child's stdin")


@case
def cxx_demangled():
    if not os.path.exists(prog("cxx_leak")):
        print("# no C++ compiler: skipped")
        sys.exit(77)
    res = run([prog("cxx_leak")])
    fds = leaked_fds(res)
    check_leaks(res.leaks, [{"kind": "fd", "fd": fds[0], "acquired_by": "open",
                             "top": "app::Logger::open_log(std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> > const&)"}],
                "C++ function names are demangled in JSON")
    check("#0 app::Logger::open_log(std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> > const&) " in res.stderr, "and in the text report")


@case
def rust_demangled():
    """Rust names, legacy (the program's) and v0 (much of std's), as Rust's
    backtraces show them: the process has no libstdc++ to ask."""
    rustc = shutil.which("rustc")
    if rustc is None:
        print("# no rustc: skipped")
        sys.exit(77)
    with tempfile.TemporaryDirectory() as d:
        exe = os.path.join(d, "leak")
        src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "rust_leak.rs")
        subprocess.run([rustc, "-g", "--crate-name", "leak", "-o", exe, src], check=True,
                       timeout=300)
        res = run([exe])
    check_eq(res.status, 0, "rust: exit status")
    check_leaks(res.leaks, [
        {"kind": "fd", "type": "file", "target": "/etc/hostname", "in_stack": "leak::store::open_log"},
        {"kind": "thread", "state": "running", "detached": False, "in_stack": "leak::Pool::spawn"},
    ], "rust: exactly the file and the thread, named as in Rust")
    names = [f.get("function") or "" for lk in res.leaks for f in lk["stack"]]
    names += [lk.get("start_routine") or "" for lk in res.leaks if lk["kind"] == "thread"]
    check(names and not [n for n in names if n.startswith(("_R", "_ZN"))],
          "rust: no mangled name left: %r" % [n for n in names if n.startswith(("_R", "_ZN"))])
    check(any(n.startswith("<std::") and "File>::open" in n for n in names),
          "rust: std's v0 names read too: %r" % names[:4])
    check("#4 leak::store::open_log " in res.stderr or " leak::store::open_log " in res.stderr,
          "rust: and in the text report")


@case
def cargo_default_suppressions():
    """cargo build: rustc holds the jobserver's pipe (opened from the
    environment cargo gives it) and the thread waiting on it, and its Ctrl-C
    handler thread, for its whole life: built-in suppressions, matched by
    their demangled Rust names."""
    with tempfile.TemporaryDirectory() as d:
        os.makedirs(os.path.join(d, "src"))
        with open(os.path.join(d, "Cargo.toml"), "w") as f:
            f.write('[package]\nname = "hello"\nversion = "0.1.0"\nedition = "2021"\n')
        with open(os.path.join(d, "src", "main.rs"), "w") as f:
            f.write('fn main() { println!("hello"); }\n')
        argv = ["cargo", "build", "--offline", "-q", "--manifest-path",
                os.path.join(d, "Cargo.toml")]
        res = suppressed_by_default(argv, "cargo build", tools=["cargo"], timeout=300,
                                    between=lambda: shutil.rmtree(os.path.join(d, "target")))
    # Which processes hold which depends on the toolchain (whether rustc
    # inherits cargo's jobserver or makes its own, whether it links with
    # rust-lld): every leak is one of these sites, and rustc's are there.
    sites = [("fd", "<jobserver::Client>::from_env_ext"),
             ("fd", "rustc_data_structures::jobserver::default_client"),
             ("thread", "jobserver::imp::spawn_helper"),
             ("thread", "rustc_driver_impl::install_ctrlc_handler"),
             ("thread", "llvm::parallel::detail::(anonymous namespace)::ThreadPoolExecutor::"
                        "ThreadPoolExecutor(llvm::ThreadPoolStrategy)")]  # in a frame's name
    leaks = [lk for rep in res.reports.values() for lk in rep["leaks"]]
    found = [(lk["kind"], [site for kind, site in sites for fn in functions(lk)
                           if kind == lk["kind"] and (fn == site or (kind == "thread" and
                                                                     site.startswith("llvm::") and
                                                                     site in fn))])
             for lk in leaks]
    check(leaks and all(fns for _, fns in found),
          "default_suppressions=0: every leak is at a known site: %r" %
          [(lk["kind"], functions(lk)[:3]) for lk, (_, fns) in zip(leaks, found) if not fns])
    check(any("rustc_driver_impl::install_ctrlc_handler" in fns for _, fns in found) and
          any(k == "fd" for k, _ in found),
          "default_suppressions=0: rustc's jobserver pipe and Ctrl-C thread are among them")


@case
def node_fork_ipc():
    """child_process.fork (jest's workers): libuv puts the IPC channel on the
    child's fd 3 with dup2 before the exec; a child that exits without
    disconnecting leaks nothing of its own."""
    if shutil.which("node") is None:
        print("# node not installed: skipped")
        sys.exit(77)
    with tempfile.TemporaryDirectory() as d:
        js = os.path.join(d, "f.js")
        with open(js, "w") as f:
            f.write("const {fork} = require('child_process');\n"
                    "if (process.argv[2] === 'c') { process.send('hi'); setTimeout(() => process.exit(0), 10); }\n"
                    "else { const c = fork(__filename, ['c']); c.on('message', m => console.log(m));"
                    " c.on('exit', () => console.log('exit')); }\n")
        res = run(["node", js])
    check_eq(res.stdout, "hi\nexit\n", "node: parent and child ran")
    check_eq(len(res.reports), 2, "node: both processes reported")
    check_eq([lk for rep in res.reports.values() for lk in rep["leaks"]], [],
             "node: no leak in either, the child's IPC channel included")


@case
def node_real_program():
    if subprocess.run(["which", "node"], capture_output=True).returncode:
        print("# node not installed: skipped")
        sys.exit(77)
    res = run(["node", "-e", "const fs = require('fs'); fs.openSync('/etc/hostname');"
               " fs.readFile('/etc/hostname', () => console.log('read'));"])
    check_eq(res.stdout, "read\n", "node ran")
    check_leaks(res.leaks, [{"kind": "fd", "type": "file", "target": "/etc/hostname",
                             "acquired_by": "open64"}],
                "node: exactly the file the script left open (runtime's own resources suppressed)")
    res = run(["node", "-e", "console.log(1)"])
    check_clean(res, "node: a clean script")
    check(res.report["summary"]["suppressed"] > 0, "the runtime's lifetime resources count as suppressed")
    # fs.watch: libuv makes the loop's inotify descriptor at the first watcher
    # and keeps it after the watcher is closed.
    watch = "require('fs').watch('/tmp').close(); console.log('watched')"
    res = run(["node", "-e", watch])
    check_eq(res.stdout, "watched\n", "node ran fs.watch")
    check_clean(res, "node: a closed watcher")
    res = run(["node", "-e", watch], options="default_suppressions=0")
    inot = [lk for lk in res.leaks if lk.get("type") == "inotify"]
    check_leaks(inot, [{"kind": "fd", "type": "inotify", "acquired_by": "inotify_init1",
                        "top": "uv_fs_event_start"}],
                "default_suppressions=0: the loop's inotify descriptor, from uv_fs_event_start")


if __name__ == "__main__":
    main()
