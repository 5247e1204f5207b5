"""Timer, itimer, tmpdir, tmpfile and thread families: `cases.py NAME` runs
one case (TAP); `cases.py --list` names them."""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from rctest import (case, check, check_clean, check_eq, check_leaks, main, printed, prog, run,
                    top_function)





def fam(name, **kw):
    return run([prog("fam"), name], **kw)


def common(res, name):
    check_eq(res.status, 0, "%s: exit status unchanged" % name)


def kinds(res):
    return sorted(lk["kind"] for lk in res.leaks)


# ---- POSIX timers ----

@case
def timers_half():
    res = fam("timers_half")
    common(res, "timers_half")
    ids = [int(x) for x in printed(res, "timer")]
    check_eq(len(ids), 5, "5 timers left by the program")
    want = [{"kind": "timer", "timer_id": i, "clock": "CLOCK_MONOTONIC", "armed": False,
             "interval_ns": 0, "acquired_by": "timer_create", "untracked": False,
             "across_exec": False, "top": "make_timer", "in_stack": "timers_half",
             "cleanup": "deleted"} for i in ids]
    check_leaks(res.leaks, want, "exactly the 5 undeleted timers, by id")
    check_eq(res.report["summary"], {"total": 5, "timer": 5, "suppressed": 0}, "summary")
    check("SUMMARY: rcleak:" in res.stderr, "text report written")


@case
def timers_many():
    """Over 4096 timers: no /proc/self/timers, each asked with timer_gettime,
    split between the reporting thread and a helper."""
    res = fam("timers_many")
    common(res, "timers_many")
    ids = [int(x) for x in printed(res, "timer")]
    armed = {int(a): int(b) for a, b in (x.split() for x in printed(res, "armed"))}
    check_eq(len(ids), 3857, "3857 timers left by the program")
    check_eq(len(armed), 43, "43 of them armed")
    got = {lk.get("timer_id"): lk for lk in res.leaks}
    check_eq(len(res.leaks), len(ids), "one leak per timer left")
    check_eq(sorted(got), sorted(ids),
             "exactly the timers left, by id (none of those deleted behind rcleak's back)")
    check_eq([i for i in ids if got.get(i, {}).get("armed") != (i in armed)
              or got.get(i, {}).get("interval_ns") != armed.get(i, 0)], [],
             "each timer's armed state and interval, from the kernel")
    check_eq([i for i in ids if got.get(i, {}).get("acquired_by") != "timer_create"
              or got[i].get("untracked") or got[i].get("clock") != "CLOCK_MONOTONIC"
              or top_function(got[i]) != "make_timer" or got[i].get("cleanup") != "deleted"],
             [], "each tracked, with its stack, and deleted at exit")
    check_eq(res.report["summary"], {"total": 3857, "timer": 3857, "suppressed": 0}, "summary")


@case
def timers_raw():
    """A timer made by a raw system call is found in the kernel's list and
    reported untracked (and, as rcleak did not see it made, left alone);
    one made and deleted that way is not a leak."""
    res = fam("timers_raw")
    common(res, "timers_raw")
    kept = int(printed(res, "timer")[0])
    raw = int(printed(res, "raw")[0])
    want = [{"kind": "timer", "timer_id": kept, "clock": "CLOCK_MONOTONIC", "untracked": False,
             "acquired_by": "timer_create", "top": "make_timer", "in_stack": "timers_raw",
             "cleanup": "deleted"},
            {"kind": "timer", "timer_id": raw, "clock": "CLOCK_BOOTTIME", "untracked": True,
             "armed": False, "stack": [], "cleanup": "none"}]
    check_leaks(res.leaks, want, "the tracked timer left and the raw one, nothing else")
    check_eq(res.report["summary"], {"total": 2, "timer": 2, "suppressed": 0}, "summary")


@case
def timers_behind_back():
    """Every timer made through timer_create: the report needs no
    /proc/self/timers, and still drops those deleted behind rcleak's back."""
    res = fam("timers_behind_back")
    common(res, "timers_behind_back")
    left = [x.split() for x in printed(res, "timer")]
    clocks = ["CLOCK_MONOTONIC", "CLOCK_REALTIME"]
    want = [{"kind": "timer", "timer_id": int(i), "clock": clocks[int(c)], "untracked": False,
             "armed": False, "acquired_by": "timer_create", "top": "make_timer",
             "in_stack": "timers_behind_back", "cleanup": "deleted"} for i, c in left]
    check_eq(len(want), 4, "4 timers left by the program")
    check_leaks(res.leaks, want, "exactly the timers left, by id and clock")


@case
def timer_armed():
    res = fam("timer_armed")
    common(res, "timer_armed")
    ids = [int(x) for x in printed(res, "timer")]
    want = [{"kind": "timer", "timer_id": ids[0], "clock": "CLOCK_REALTIME", "armed": True,
             "interval_ns": 1500000000, "acquired_by": "timer_create", "top": "arm_timer",
             "cleanup": "deleted"}]
    check_leaks(res.leaks, want, "an armed timer, with its interval")


@case
def timer_in_timeout():
    """coreutils timeout's timer is suppressed by the program's path, not by a
    frame's name: a function called timeout elsewhere still reports."""
    res = fam("timer_in_timeout")
    common(res, "timer_in_timeout")
    check_leaks(res.leaks, [{"kind": "timer", "clock": "CLOCK_MONOTONIC", "acquired_by":
                             "timer_create", "top": "timeout", "cleanup": "deleted"}],
                "the timer created by a function named timeout is reported")
    check_eq(res.report["summary"].get("suppressed"), 0, "nothing suppressed")


@case
def timer_thread():
    res = fam("timer_thread")
    common(res, "timer_thread")
    want = [{"kind": "timer", "clock": "CLOCK_MONOTONIC", "armed": False, "untracked": False,
             "acquired_by": "timer_create", "top": "timer_thread_leak", "cleanup": "deleted"}]
    check_leaks(res.leaks, want, "a SIGEV_THREAD timer, matched to its kernel timer")
    check(all(isinstance(lk.get("timer_id"), int) and lk["timer_id"] >= 0 for lk in res.leaks),
          "its kernel timer id was found")


@case
def timers_clean():
    res = fam("timers_clean")
    common(res, "timers_clean")
    check_clean(res, "timers created and deleted")
    check_eq(res.stderr, "", "no output at all")


@case
def old_timers():
    """Binaries bound to timer_create@GLIBC_2.3.3 / @GLIBC_2.2.5 are tracked too."""
    res = fam("old_timers")
    common(res, "old_timers")
    ids = [int(x) for x in printed(res, "timer")]
    want = [{"kind": "timer", "timer_id": ids[0], "clock": "CLOCK_MONOTONIC", "untracked": False,
             "acquired_by": "timer_create", "top": "old_timers"},
            {"kind": "timer", "clock": "CLOCK_REALTIME", "untracked": False,
             "acquired_by": "timer_create", "top": "old_timers"}]
    check_leaks(res.leaks, want, "one leak per old version, the deleted ones released")


@case
def timer_fork():
    res = fam("timer_fork")
    common(res, "timer_fork")
    ids = [int(x) for x in printed(res, "timer")]
    child = int(printed(res, "child")[0])
    check_leaks(res.leaks, [{"kind": "timer", "timer_id": ids[0], "top": "make_timer",
                             "in_stack": "timer_fork"}], "parent: its own timer")
    crep = res.reports.get(child)
    check(crep is not None, "the child wrote a report")
    if crep:
        check_leaks(crep["leaks"], [{"kind": "timer", "clock": "CLOCK_BOOTTIME",
                                     "top": "make_timer"}],
                    "child: only its own timer, not the parent's")


# ---- interval timers ----

@case
def itimers():
    res = fam("itimers")
    common(res, "itimers")
    want = [{"kind": "itimer", "which": "ITIMER_REAL", "interval_ns": 2000000000,
             "acquired_by": "setitimer", "untracked": False, "top": "arm_itimers",
             "cleanup": "disarmed"},
            {"kind": "itimer", "which": "ITIMER_PROF", "interval_ns": 250000000,
             "acquired_by": "setitimer", "top": "arm_itimers", "cleanup": "disarmed"}]
    check_leaks(res.leaks, want, "both armed interval timers")
    for lk in res.leaks:
        hi = 100e9 if lk["which"] == "ITIMER_REAL" else 200e9
        # the kernel rounds CPU-time timers up to its tick (up to 10 ms over the value set)
        check(hi - 30e9 < lk["value_ns"] <= hi + 10e6, "%s value_ns %d" % (lk["which"], lk["value_ns"]))


def pending_real_itimer(fn, interval_ns):
    """The program's fn() left ITIMER_REAL armed: exactly that timer, with
    its acquirer and site."""
    res = fam(fn)
    common(res, fn)
    check_leaks(res.leaks, [{"kind": "itimer", "which": "ITIMER_REAL", "interval_ns": interval_ns,
                             "acquired_by": fn, "top": "set_" + fn, "untracked": False,
                             "cleanup": "disarmed"}], "%s() still pending" % fn)
    return res


@case
def alarm():
    res = pending_real_itimer("alarm", 0)
    check(70e9 < res.leaks[0]["value_ns"] <= 100e9 if res.leaks else False, "value_ns")


@case
def ualarm():
    """glibc's ualarm arms ITIMER_REAL with an internal setitimer."""
    pending_real_itimer("ualarm", 500000000)


@case
def itimer_rearm():
    """setitimer from a SIGALRM handler, 100 times, interleaved with the main
    thread's own setitimer calls: no hang, and the record of the timer left
    armed is the handler's last setting."""
    res = fam("itimer_rearm")
    common(res, "itimer_rearm")
    check("rearms 100" in res.stdout, "the handler ran 100 times")
    check_leaks(res.leaks, [{"kind": "itimer", "which": "ITIMER_REAL", "interval_ns": 0,
                             "acquired_by": "setitimer", "top": "rearm_long",
                             "cleanup": "disarmed"}],
                "only the handler's last, long timer")


@case
def itimer_fork():
    res = fam("itimer_fork")
    common(res, "itimer_fork")
    check_leaks(res.leaks, [
        {"kind": "itimer", "which": "ITIMER_REAL", "acquired_by": "setitimer",
         "top": "arm_itimers"},
        {"kind": "itimer", "which": "ITIMER_PROF", "acquired_by": "setitimer",
         "top": "arm_itimers"}], "parent: its own two")
    cpid = int(re.search(r"child (\d+)", res.stdout).group(1))
    crep = res.reports.get(cpid)
    if check(crep is not None, "the child reported"):
        check_leaks(crep["leaks"], [{"kind": "itimer", "which": "ITIMER_REAL",
                                     "acquired_by": "alarm", "top": "set_alarm"}],
                    "child: only its own alarm, not the parent's timers")


@case
def itimers_clean():
    res = fam("itimers_clean")
    common(res, "itimers_clean")
    check_clean(res, "disarmed and expired interval timers")
    check_eq(res.stderr, "", "no output at all")


# ---- temporary directories ----

@case
def tmpdir_files():
    res = fam("tmpdir_files")
    common(res, "tmpdir_files")
    d = printed(res, "tmpdir")[0]
    check_leaks(res.leaks, [{"kind": "tmpdir", "path": d, "entries": 4, "acquired_by": "mkdtemp",
                             "untracked": False, "top": "make_tmpdir",
                             "in_stack": "tmpdir_files", "cleanup": "removed"}],
                "the temp dir, with 4 names inside")
    check(not os.path.lexists(d), "cleanup removed it recursively")
    check("temp dir" in res.stderr and "SUMMARY: rcleak:" in res.stderr, "text report")


@case
def tmpdir_symlink():
    res = fam("tmpdir_symlink")
    common(res, "tmpdir_symlink")
    d2 = printed(res, "tmpdir")[0]
    swapped = printed(res, "swapped")[0]
    check_leaks(res.leaks, [{"kind": "tmpdir", "path": d2, "entries": 1, "top": "make_tmpdir",
                             "cleanup": "removed"}],
                "only the real temp dir; the one replaced by a symlink is gone")
    victim = os.path.join(res.workdir, "victim", "precious")
    check(os.path.isfile(victim), "files behind the symlinks survive")
    check(os.path.islink(swapped), "the symlink put in place of a temp dir is left alone")
    check(not os.path.lexists(d2), "the temp dir holding a symlink was removed")


@case
def tmpdir_child_removed():
    res = fam("tmpdir_child_removed")
    common(res, "tmpdir_child_removed")
    check_clean(res, "removed by a child, renamed away")
    check(os.path.isdir(os.path.join(res.workdir, "elsewhere")),
          "the renamed directory is not touched")


@case
def tmp_loop_clean():
    res = fam("tmp_loop_clean")
    common(res, "tmp_loop_clean")
    check_clean(res, "3000 mkdtemp+rmdir and mkstemp+unlink, relative template")
    check_eq(res.stderr, "", "no output at all")


@case
def tmpfile_left():
    res = fam("tmpfile_left")
    common(res, "tmpfile_left")
    p = printed(res, "tmpfile")[0]
    check_leaks(res.leaks, [{"kind": "tmpfile", "path": p, "bytes": 123, "acquired_by": "mkstemp",
                             "untracked": False, "top": "tmpfile_left", "cleanup": "unlinked"}],
                "the file left behind, its size")
    check(not os.path.lexists(p), "cleanup unlinked it")


@case
def mkstemp_fd_and_path():
    res = fam("mkstemp_fd_and_path")
    common(res, "mkstemp_fd_and_path")
    fd, fd2 = int(printed(res, "fd")[0]), int(printed(res, "fd2")[0])
    p, q = printed(res, "tmpfile")[0], printed(res, "tmpfile2")[0]
    top = "mkstemp_fd_and_path"
    check_leaks(res.leaks, [
        {"kind": "fd", "fd": fd, "type": "file", "target": p, "cloexec": False,
         "acquired_by": "mkstemp", "top": top},
        {"kind": "tmpfile", "path": p, "bytes": 0, "acquired_by": "mkstemp", "top": top},
        {"kind": "fd", "fd": fd2, "type": "file", "target": q, "cloexec": True,
         "acquired_by": "mkostemps", "top": top},
        {"kind": "tmpfile", "path": q, "bytes": 3, "acquired_by": "mkostemps", "top": top},
    ], "the descriptor and the path, separately")
    check_eq(res.report["summary"], {"total": 4, "fd": 2, "tmpfile": 2, "suppressed": 0}, "summary")


@case
def cleanup_off():
    res = fam("tmpfile_left", options="cleanup=0")
    p = printed(res, "tmpfile")[0]
    check_leaks(res.leaks, [{"kind": "tmpfile", "path": p, "cleanup": "none"}], "reported")
    check(os.path.isfile(p), "cleanup=0 leaves the file")
    res = fam("tmpdir_files", options="cleanup=0")
    d = printed(res, "tmpdir")[0]
    check_leaks(res.leaks, [{"kind": "tmpdir", "path": d, "cleanup": "none"}], "reported")
    check(os.path.isfile(os.path.join(d, "sub", "deeper", "file")), "cleanup=0 leaves the dir")
    res = fam("itimers", options="cleanup=0")
    check(all(lk["cleanup"] == "none" for lk in res.leaks) and len(res.leaks) == 2,
          "cleanup=0 leaves interval timers")


# ---- threads ----

@case
def threads_unjoined():
    res = fam("threads_unjoined")
    common(res, "threads_unjoined")
    fin = [int(x) for x in printed(res, "finished")]
    runn = [int(x) for x in printed(res, "running")]
    want = ([{"kind": "thread", "thread_tid": t, "start_routine": "quick", "detached": False,
              "state": "finished", "acquired_by": "pthread_create", "top": "spawn",
              "in_stack": "threads_unjoined", "cleanup": "none"} for t in fin] +
            [{"kind": "thread", "thread_tid": t, "start_routine": "forever", "detached": False,
              "state": "running", "acquired_by": "pthread_create", "top": "spawn",
              "cleanup": "none"} for t in runn])
    check_eq(len(want), 4, "4 threads")
    check_leaks(res.leaks, want, "4 threads never joined, as they are")


@case
def threads_no_proc():
    """Without /proc, whether a thread still runs is asked of the kernel
    (tgkill with signal 0): running and finished threads as they are."""
    import shutil
    import subprocess
    if not shutil.which("unshare") or os.geteuid() != 0 or subprocess.run(
            ["unshare", "-m", "--propagation", "private", "sh", "-c", "umount -l /proc"],
            capture_output=True).returncode != 0:
        print("# cannot unmount /proc in a mount namespace here (needs root): skipped")
        sys.exit(77)
    # unshare and sh exec into the program: one pid throughout.
    res = run(["unshare", "-m", "--propagation", "private", "sh", "-c",
               'umount -l /proc && exec "$0" threads_unjoined', prog("fam")])
    common(res, "threads_no_proc")
    fin = [int(x) for x in printed(res, "finished")]
    runn = [int(x) for x in printed(res, "running")]
    leaks = res.reports.get(res.pid, {}).get("leaks", [])
    check_leaks(leaks,
                [{"kind": "thread", "thread_tid": t, "state": "finished", "detached": False,
                  "acquired_by": "pthread_create"} for t in fin] +
                [{"kind": "thread", "thread_tid": t, "state": "running", "detached": False,
                  "acquired_by": "pthread_create"} for t in runn],
                "4 threads never joined, running and finished told apart without /proc")
    check_eq((len(fin), len(runn)), (2, 2), "two of each")


@case
def threads_clean():
    res = fam("threads_clean")
    common(res, "threads_clean")
    check_clean(res, "joined, tryjoined, timedjoined, detached, created detached")
    check_eq(res.stderr, "", "no output at all")


@case
def c11_threads():
    """thrd_create, thrd_join and thrd_detach: joined (returned or thrd_exit)
    and detached threads are released, results pass through unchanged, and
    the one never joined is reported."""
    res = fam("c11_threads")
    common(res, "c11_threads")
    tids = [int(t) for t in printed(res, "c11")]
    check_eq(len(tids), 3, "three threads ran c11_quick")
    check_leaks(res.leaks, [{"kind": "thread", "acquired_by": "thrd_create",
                             "start_routine": "c11_quick", "detached": False, "state": "finished",
                             "top": "c11_threads", "cleanup": "none"}],
                "exactly the thread never joined")
    check(res.leaks and res.leaks[0]["thread_tid"] in tids, "with its tid")


@case
def thread_detached_running():
    res = fam("thread_detached_running")
    common(res, "thread_detached_running")
    runn = [int(x) for x in printed(res, "running")]
    check_leaks(res.leaks, [{"kind": "thread", "thread_tid": runn[0], "start_routine": "forever",
                             "detached": True, "state": "running",
                             "top": "thread_detached_running"}],
                "a detached thread still running; the finished one released")


@case
def thread_detached_ending():
    """A detached thread that returns only once the exit has begun (as Rust's
    thread::scope leaves them) is on its way out, not a leak."""
    res = fam("thread_detached_ending")
    common(res, "thread_detached_ending")
    check_clean(res, "thread_detached_ending")


@case
def thread_detached_busy():
    """A detached thread busy for good is still reported, after the short
    wait the one above gets."""
    res = fam("thread_detached_busy")
    common(res, "thread_detached_busy")
    runn = [int(x) for x in printed(res, "running")]
    check_leaks(res.leaks, [{"kind": "thread", "thread_tid": runn[0] if runn else None,
                             "start_routine": "busy", "detached": True, "state": "running"}],
                "thread_detached_busy: exactly the busy thread")


# ---- across exec ----

@case
def across_exec():
    res = fam("exec")
    common(res, "across_exec")
    d = printed(res, "tmpdir")[0]
    check_eq(printed(res, "exec'd"), [str(res.pid)], "the new image ran in the same pid")
    check_leaks(res.leaks, [
        {"kind": "itimer", "which": "ITIMER_REAL", "interval_ns": 3000000000,
         "acquired_by": "setitimer", "across_exec": True, "top": "before_exec",
         "cleanup": "disarmed"},
        {"kind": "tmpdir", "path": d, "entries": 0, "acquired_by": "mkdtemp",
         "across_exec": True, "top": "make_tmpdir", "in_stack": "before_exec",
         "cleanup": "removed"},
    ], "reported by the new image, with the old image's stacks")
    check_eq(res.report["cmdline"][1:2], ["after_exec"], "the report is the new image's")
    check_eq(res.stderr.count("SUMMARY: rcleak:"), 1, "reported once")
    check(not os.path.lexists(d), "removed at the end")


if __name__ == "__main__":
    main()
