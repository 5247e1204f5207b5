"""Temp family: releases by rmdir/unlink/unlinkat/remove/rename*, relative
paths and chdir, removals rcleak cannot see, identity at cleanup, and the
system calls the common patterns cost.  `cases.py NAME` runs one case (TAP);
`cases.py --list` names them.

Each leaking case asserts the exact set of tmpdir/tmpfile leaks (path,
entries or bytes, acquirer), that cleanup removed exactly those, and that
everything the program printed as "keep" is still there."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from rctest import SHIM, case, check, check_clean, check_eq, check_leaks, main, printed, prog, run





def tmp(name, **kw):
    return run([prog("tmpprog"), name], **kw)


def expect(res, name, dirs, files):
    """Exactly these temp dirs and files leaked, and were cleaned; the rest
    of what the program left is untouched."""
    check_eq(res.status, 0, "%s: exit status unchanged" % name)
    want = ([{"kind": "tmpdir", "path": d, "acquired_by": "mkdtemp", "cleanup": "removed"}
             for d in dirs] +
            [{"kind": "tmpfile", "path": f, "acquired_by": "mkstemp", "cleanup": "unlinked"}
             for f in files])
    check_leaks(res.leaks, want, "%s: exactly %d temp dirs and %d temp files" %
                (name, len(dirs), len(files)))
    check(all(not os.path.lexists(p) for p in dirs + files), "%s: those were removed" % name)
    keep = printed(res, "keep")
    missing = [p for p in keep if not os.path.lexists(p)]
    check_eq(missing, [], "%s: the %d other things left are untouched" % (name, len(keep)))


@case
def releases():
    res = tmp("releases")
    dirs, files = printed(res, "leak_dir"), printed(res, "leak_file")
    check_eq((len(dirs), len(files)), (2, 2), "the program kept 2 dirs and 2 files")
    expect(res, "releases", dirs, files)
    full = [lk for lk in res.leaks if lk.get("path") == dirs[1]]
    check(full and full[0]["entries"] == 1, "the dir rmdir could not remove, with its entry")
    check(any(len(d) > 200 for d in dirs), "a long path among them (stored out of line)")


@case
def relative():
    res = tmp("relative")
    dirs, files = printed(res, "leak_dir"), printed(res, "leak_file")
    check_eq((len(dirs), len(files)), (1, 2), "the program kept 1 dir and 2 files")
    expect(res, "relative", dirs, files)
    check(all(lk["path"].startswith("/") for lk in res.leaks),
          "relative temps are reported by absolute path, after chdir")


@case
def relative_left():
    res = tmp("relative_left")
    expect(res, "relative_left", printed(res, "leak_dir"), printed(res, "leak_file"))


@case
def child_rm():
    res = tmp("child_rm")
    expect(res, "child_rm", printed(res, "leak_dir"), [])
    check_eq(len(res.leaks), 1, "what rm -rf and rm -f removed is not reported")


@case
def replaced():
    res = tmp("replaced")
    check_eq(res.status, 0, "replaced: exit status unchanged")
    check_clean(res, "replaced by other objects")
    keep = printed(res, "keep")
    check_eq(len(keep), 5, "5 things to keep")
    check_eq([p for p in keep if not os.path.lexists(p)], [], "none was touched")


@case
def unseen_loop():
    res = tmp("unseen_loop")
    expect(res, "unseen_loop", printed(res, "leak_dir"), printed(res, "leak_file"))
    check_eq(len(res.leaks), 3, "600 removed behind rcleak's back are not reported")


@case
def threads():
    res = tmp("threads")
    dirs = printed(res, "leak_dir")
    check_eq(len(dirs), 4, "4 threads kept one dir each")
    expect(res, "threads", dirs, [])


@case
def signal_handler():
    res = tmp("signal_handler")
    check_eq(res.status, 0, "exit status unchanged")
    check_clean(res, "a temp file removed by a signal handler")


@case
def clean():
    res = tmp("clean")
    check_eq(res.status, 0, "exit status unchanged")
    check_clean(res, "every release pattern")
    check_eq(res.stderr, "", "no output at all")
    res = tmp("clean", json=False)
    check_eq(res.stderr, "", "no output at all without json_path either")


def strace_ok():
    if shutil.which("strace") is None:
        return False
    return subprocess.run(["strace", "-o", "/dev/null", "true"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0


@case
def syscalls():
    """The common patterns cost no system call beyond the program's own:
    one statx the first time a directory gets a temp (the birth-time verdict,
    tmp_family.c), none per acquisition or release after that; a removal
    spelt differently from the creation costs two.  A release that went
    missing would show as more: the sweep statx-es every live record."""
    if not strace_ok():
        check(True, "# SKIP strace not available")
        return
    out = tempfile.mktemp(prefix="rctest-strace-")
    try:
        res = run(["strace", "-f", "-qq", "-o", out, "-E", "LD_PRELOAD=" + SHIM, "-e",
                   "trace=statx,newfstatat,fstat,getcwd,access,faccessat,faccessat2",
                   prog("tmpprog"), "syscalls"], preload=False)
        with open(out) as f:
            lines = f.read().splitlines()
    finally:
        if os.path.exists(out):
            os.unlink(out)
    check_eq(res.status, 0, "exit status unchanged")
    reps = list(res.reports.values())
    check(len(reps) == 1 and reps[0]["leaks"] == [], "200 rounds of 12 patterns: no leak")
    begin = [i for i, l in enumerate(lines) if "/rcleak-test-begin" in l]
    end = [i for i, l in enumerate(lines) if "/rcleak-test-end" in l]
    if not check(len(begin) == 1 and len(end) == 1, "markers found in the trace"):
        return
    inside = [re.sub(r"^\d+\s+", "", l) for l in lines[begin[0] + 1:end[0]]]
    statx = [l for l in inside if l.startswith("statx(")]
    check_eq(len(statx), 2 + 2 * 200, "2 statx for 2,400 temps (the first in the work dir, "
             "the first relative one), and 2 for each of the 200 removals through a dirfd")
    # fstat of a descriptor is the dynamic loader's (dlopen of the unwinder
    # on a later capture), not the temp family's
    others = [l for l in inside if not l.startswith("statx(") and
              not re.match(r'(newfstatat\(\d+, "", |fstat\()', l)]
    check_eq(others, [], "no getcwd, no stat of a path")


if __name__ == "__main__":
    main()
