"""Where file:line comes from when the program's DWARF is not inside it.

libdw (dwfl_standard_find_debuginfo) also finds a separate debug file by
name: PROG.debug beside the program or in .debug/ below it.  rcleak skips
libdw's search when it is certain to find nothing (it would otherwise load
libdebuginfod and ~25 libraries at exit), so check that such files are
still found, and that a program with no DWARF anywhere still reports its
leak with the function name and no file:line.  TAP."""
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from rctest import check, check_eq, done, run

PROG = sys.argv[1]


def leak_frame(res):
    leaks = res.leaks
    check_eq(len(leaks), 1, "one leak")
    frames = [f for f in leaks[0]["stack"] if f.get("function") == "leak_here"] if leaks else []
    check(len(frames) == 1, "its stack has leak_here")
    return frames[0] if frames else {}


def objcopy(*args):
    subprocess.run(["objcopy"] + list(args), check=True)


ref = leak_frame(run([PROG]))
check(ref.get("file", "").endswith("/debuginfo_leak.c") and ref.get("line", 0) > 0,
      "unstripped: file:line of the leak")

tmp = tempfile.mkdtemp(prefix="rcdbg-")
try:
    app = os.path.join(tmp, "app")
    shutil.copy(PROG, app)
    objcopy("--only-keep-debug", app, app + ".debug")
    objcopy("--strip-debug", app)
    got = leak_frame(run([app]))
    check_eq((got.get("file"), got.get("line")), (ref.get("file"), ref.get("line")),
             "DWARF in app.debug beside it: same file:line")

    os.mkdir(os.path.join(tmp, ".debug"))
    os.rename(app + ".debug", os.path.join(tmp, ".debug", "app.debug"))
    got = leak_frame(run([app]))
    check_eq((got.get("file"), got.get("line")), (ref.get("file"), ref.get("line")),
             "DWARF in .debug/app.debug: same file:line")

    os.unlink(os.path.join(tmp, ".debug", "app.debug"))
    got = leak_frame(run([app]))
    check_eq((got.get("function"), got.get("file"), got.get("line")), ("leak_here", None, None),
             "no DWARF anywhere: the function, no file:line")
finally:
    shutil.rmtree(tmp)
done()
