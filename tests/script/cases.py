"""Script frames in acquisition stacks (Python, bash), and CPython's
lifetime resources: `cases.py NAME` runs one case (TAP).  The Python cases
run on each CPython 3.11-3.13 found on the machine (the one running the
tests at least)."""
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from rctest import (case, check, check_clean, check_eq, check_leaks, main, need_tools, printed, prog,
                    run, top_function)

VERSIONS = ("3.11", "3.12", "3.13")


def interpreters():
    """[(version, executable)]: the CPython 3.11-3.13 builds here (GIL ones:
    a free-threaded build lays its objects out differently), one per
    executable, whatever launcher found it."""
    cands = [sys.executable, "/usr/bin/python3"]
    cands += [shutil.which("python" + v) or "" for v in VERSIONS]
    for root in ("/usr/bin", "/usr/local/bin", os.path.expanduser("~/.pyenv/versions/*/bin")):
        cands += sorted(glob.glob(os.path.join(root, "python3.1[123]")))
    probe = ("import sys; print('%d.%d' % sys.version_info[:2], sys.executable, "
             "getattr(sys, '_is_gil_enabled', lambda: True)())")
    found = {}
    for c in cands:
        if not c or not os.access(c, os.X_OK):
            continue
        try:
            r = subprocess.run([c, "-c", probe], capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            continue
        parts = r.stdout.split()
        if r.returncode != 0 or len(parts) != 3 or parts[0] not in VERSIONS or parts[2] != "True":
            continue
        found.setdefault(os.path.realpath(parts[1]), (parts[0], parts[1]))
    if not found:
        print("# no CPython 3.11-3.13: skipped")
        sys.exit(77)
    return sorted(found.values())


def py_frames(leak, lang="python"):
    """The leak's frames of a script language, innermost first:
    [(function, file, line)]."""
    return [(f.get("function"), f.get("file"), f.get("line"))
            for f in leak.get("stack") or [] if f.get("lang") == lang]


def script(d, name, text):
    path = os.path.join(d, name)
    with open(path, "w") as f:
        f.write(text)
    return path


LEAKY = """\
import os, sys, threading, time
def open_log(path):
    return os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
class Store:
    def __init__(self, path):
        self.fd = open_log(path)
def worker():
    time.sleep(30)
def main(path):
    s = Store(path)
    threading.Thread(target=worker, daemon=True).start()
    r, w = os.pipe(); os.close(r); os.close(w)
    return s
s = main(sys.argv[1])
if len(sys.argv) > 2:
    os.close(s.fd)
"""


@case
def frames_exact():
    """A descriptor leaked three Python calls deep, through a class's
    __init__ (a second evaluation loop in C): its stack has exactly the
    program's frames, each with function, file and line, in place of the
    interpreter's evaluation loop; the text report shows them; a rule on a
    Python function suppresses it; a clean run reports nothing.  (The file
    is the program's second argument: only the first, the script, is taken
    for an interpreter's own program.)"""
    d = tempfile.mkdtemp()
    src = script(d, "leaky.py", LEAKY)
    log = os.path.join(d, "app.log")
    for ver, py in interpreters():
        res = run([py, src, log])
        check_eq(res.status, 0, "%s: ran" % ver)
        check_leaks(res.leaks, [{"kind": "fd", "type": "file", "target": log}],
                    "%s: exactly the log (the daemon thread is a built-in suppression)" % ver)
        lk = res.leaks[0] if res.leaks else {}
        check_eq(py_frames(lk), [("open_log", src, 3), ("Store.__init__", src, 6),
                                 ("main", src, 10), ("<module>", src, 14)],
                 "%s: the program's frames, innermost first" % ver)
        pyf = [f for f in lk.get("stack") or [] if f.get("lang") == "python"]
        check(pyf and all(f.get("module") == "" and f.get("pc") == "0x0" for f in pyf),
              "%s: Python frames have no module" % ver)
        names = [f.get("function") for f in lk.get("stack") or []]
        check("_PyEval_EvalFrameDefault" not in names and names[:1] != ["open_log"],
              "%s: C frames above, no evaluation loop between: %s" % (ver, names[:6]))
        check(re.search(r"#\d+ open_log %s:3 \(python\)\n.*#\d+ Store\.__init__ %s:6 \(python\)"
                        % (re.escape(src), re.escape(src)), res.stderr, re.S) is not None,
              "%s: the text report names them" % ver)
        check("_PyEval_EvalFrameDefault" not in res.stderr and
              re.search(r"#\d+ <module> %s:14 \(python\)\n==\d+==    \(\d+ more frames of the "
                        r"interpreter not shown\)\n" % re.escape(src), res.stderr) is not None,
              "%s: and leaves the interpreter's C frames below them to the JSON" % ver)

        res = run([py, src, log], options="default_suppressions=0")
        threads = [lk for lk in res.leaks if lk["kind"] == "thread"]
        check_eq(len(threads), 1, "%s: default_suppressions=0: the daemon thread" % ver)
        fr = py_frames(threads[0]) if threads else []
        check(len(fr) == 3 and fr[0][0] == "Thread.start" and fr[0][1].endswith("/threading.py")
              and fr[1:] == [("main", src, 11), ("<module>", src, 14)],
              "%s: started at main:11, through Thread.start: %s" % (ver, fr))

        with tempfile.TemporaryDirectory() as sd:
            supp = script(sd, "s.supp", "fd:^open_log$\n")
            res = run([py, src, log], options="suppressions=" + supp)
            check_eq((res.leaks, res.report["summary"].get("suppressed")), ([], 2),
                     "%s: a rule on the Python function suppresses it (and the built-in "
                     "one the daemon thread)" % ver)
        check_clean(run([py, src, log, "close"]), "%s: clean run" % ver)


@case
def frames_across_exec():
    """A descriptor a Python program leaves open across exec is reported by
    the new image with the Python frames that opened it, file:line included."""
    d = tempfile.mkdtemp()
    data = os.path.join(d, "data")
    open(data, "w").close()
    src = script(d, "keep.py", """\
import os, sys
def open_keep(path):
    fd = os.open(path, os.O_RDONLY)
    os.set_inheritable(fd, True)
    return fd
open_keep(sys.argv[1])
os.execv("/bin/true", ["true"])
""")
    for ver, py in interpreters():
        res = run([py, src, data])
        check_eq(res.status, 0, "%s: ran" % ver)
        check_leaks(res.leaks, [{"kind": "fd", "type": "file", "target": data, "across_exec": True}],
                    "%s: the descriptor, reported by the new image" % ver)
        check_eq(py_frames(res.leaks[0]) if res.leaks else None,
                 [("open_keep", src, 3), ("<module>", src, 6)], "%s: with its Python frames" % ver)


LIFETIME = {"Popen._launch", "ForkServer.connect_to_new_process", "ForkServer.ensure_running",
            "ResourceTracker.ensure_running", "spawn_main", "_serve_one", "main", "_close_stdin"}


@case
def multiprocessing_lifetimes():
    """multiprocessing's own pipes, held until exit by design (a Process's
    sentinel, the resource tracker's and the fork server's pipes, the
    child's parent sentinel): built-in rules on the innermost Python frame.
    A run with spawn and one with forkserver report nothing in any process;
    with default_suppressions=0 every descriptor reported was acquired
    directly in one of those functions."""
    d = tempfile.mkdtemp()
    src = script(d, "mp.py", """\
import concurrent.futures as cf, multiprocessing as mp, sys
if __name__ == "__main__":
    mp.set_start_method(sys.argv[1])
    p = mp.Process(target=print, args=("x",)); p.start(); p.join()
    with cf.ProcessPoolExecutor(2) as ex:
        print(sum(ex.map(abs, [-1, -2])))
""")
    for ver, py in interpreters():
        for method in ("spawn", "forkserver"):
            what = "%s %s" % (ver, method)
            res = run([py, src, method], timeout=120)
            check_eq((res.status, res.stdout), (0, "x\n3\n"), "%s: ran" % what)
            left = [(r["pid"], lk.get("target"), py_frames(lk)[:1])
                    for r in res.reports.values() for lk in r["leaks"]]
            check_eq(left, [], "%s: no leak in any of its %d processes" % (what, len(res.reports)))
            res = run([py, src, method], options="default_suppressions=0", timeout=120)
            # the helpers are not suppressed now, so the exit hook kills them:
            # what they held at that moment is no finding
            ended = [r for r in res.reports.values() if r["exit"]["reason"] == "exit"]
            fds = [lk for r in ended for lk in r["leaks"] if lk["kind"] == "fd"]
            inner = [(py_frames(lk)[:1] or [(None,)])[0][0] for lk in fds]
            check(fds and all(f in LIFETIME for f in inner),
                  "%s: default_suppressions=0: %d descriptors, each from a lifetime site: %s"
                  % (what, len(fds), sorted(set(map(str, inner)))))
            check("Popen._launch" in inner or "ForkServer.connect_to_new_process" in inner,
                  "%s: the Process's sentinel among them" % what)
            others = [lk for r in ended for lk in r["leaks"] if lk["kind"] != "fd"]
            check(others and all(lk["kind"] == "child" and "multiprocessing" in lk.get("command", "")
                                 for lk in others),
                  "%s: and besides them only multiprocessing's helpers: %s"
                  % (what, [(lk["kind"], top_function(lk)) for lk in others]))



@case
def python_tempfile():
    """CPython's tempfile makes its directories with os.mkdir(name, 0o700)
    and its files with os.open(name, O_CREAT|O_EXCL|..., 0o600), not with
    mkdtemp(3) and mkstemp(3): such a call made by tempfile.mkdtemp or
    tempfile's _mkstemp_inner is a temp too, reported with the script's
    frames and removed when left behind.  Removed by os.rmdir, os.unlink,
    shutil.rmtree, a TemporaryDirectory or a NamedTemporaryFile, it is no
    leak; the program's own mkdir and exclusive open with the same modes are
    no temps, and are kept."""
    d = tempfile.mkdtemp()
    src = script(d, "tmp.py", """\
import os, shutil, sys, tempfile
def make(tag):
    return tempfile.mkdtemp(prefix="rctest-%s-" % tag)
def make_file(tag):
    fd, path = tempfile.mkstemp(prefix="rctest-%s-" % tag)
    os.close(fd)
    return path
leaked = make("leak")
open(os.path.join(leaked, "f"), "w").close()
leaked_file = make_file("leak")
os.rmdir(make("rmdir"))
os.unlink(make_file("unlink"))
gone = make("rmtree")
os.mkdir(os.path.join(gone, "sub"), 0o700)
shutil.rmtree(gone)
with tempfile.TemporaryDirectory() as t:
    open(os.path.join(t, "f"), "w").close()
with tempfile.NamedTemporaryFile() as f:
    f.write(b"x")
os.mkdir(sys.argv[1], 0o700)
os.close(os.open(sys.argv[1] + "/f", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
print("leaked", leaked)
print("leaked_file", leaked_file)
""")
    for i, (ver, py) in enumerate(interpreters()):
        mine = os.path.join(d, "mine-%d" % i)
        res = run([py, src, mine])
        leaked, leaked_file = printed(res, "leaked"), printed(res, "leaked_file")
        check_eq((len(leaked), len(leaked_file)), (1, 1), "%s: ran" % ver)
        if not (leaked and leaked_file):
            continue
        check_leaks(res.leaks, [{"kind": "tmpdir", "path": leaked[0], "entries": 1,
                                 "acquired_by": "mkdir", "cleanup": "removed"},
                                {"kind": "tmpfile", "path": leaked_file[0],
                                 "cleanup": "unlinked"}],
                    "%s: exactly the directory and the file left behind" % ver)
        frames = sorted(tuple(f[0] for f in py_frames(lk)[:3]) for lk in res.leaks)
        check_eq(frames, [("_mkstemp_inner", "mkstemp", "make_file"), ("mkdtemp", "make", "<module>")],
                 "%s: their script frames" % ver)
        check(not os.path.lexists(leaked[0]) and not os.path.lexists(leaked_file[0]),
              "%s: both were removed" % ver)
        check(os.path.isfile(os.path.join(mine, "f")), "%s: the program's own are kept" % ver)


def py_caller(leak):
    """The innermost Python function of the leak past socket.py,
    multiprocessing's connection.py and tokenize.py, which open on their
    callers' behalf."""
    for function, file, _ in py_frames(leak):
        if not (file or "").endswith(("/socket.py", "/multiprocessing/connection.py",
                                      "/tokenize.py")):
            return function
    return None


@case
def multiprocessing_manager_server():
    """A Manager's server process exits with its listener and every client's
    connection open, served by daemon threads: built-in rules on the
    manager's Server.__init__ and Server.accepter, found past the socket and
    Listener frames that opened them.  The program's own socket, opened
    through the same socket.py, is still reported."""
    d = tempfile.mkdtemp()
    src = script(d, "mgr.py", """\
import multiprocessing as mp, socket
def put(d, i): d[i] = i
if __name__ == "__main__":
    ctx = mp.get_context("fork")
    with ctx.Manager() as m:
        d = m.dict()
        ps = [ctx.Process(target=put, args=(d, i)) for i in range(2)]
        for p in ps: p.start()
        for p in ps: p.join()
        print(len(d))
    kept = socket.socket(socket.AF_UNIX).detach()
""")
    for ver, py in interpreters():
        res = run([py, src], timeout=120)
        check_eq((res.status, res.stdout), (0, "2\n"), "%s: ran" % ver)
        left = [(r["pid"], lk["kind"], lk.get("type"), py_caller(lk))
                for r in res.reports.values() for lk in r["leaks"]]
        check_eq(left, [(res.pid, "fd", "socket", "<module>")],
                 "%s: the program's own socket alone, in its own process" % ver)
        res = run([py, src], options="default_suppressions=0", timeout=120)
        server = [{py_caller(lk) for lk in r["leaks"] if lk["kind"] == "fd"}
                  for r in res.reports.values() if r["pid"] != res.pid]
        server = [c for c in server if "Server.__init__" in c]
        # the listener is open at the server's exit; a client's connection is
        # too unless its handler saw it close first (a matter of timing);
        # besides: the /dev/null stdin of every child, and what a daemon thread
        # of the server was reading as it exited (a module, a traceback's source)
        check(len(server) == 1 and server[0] <=
              {"Server.__init__", "Server.accepter", "_close_stdin", "FileLoader.get_data",
               "updatecache"},
              "%s: default_suppressions=0: the server's listener (and connections): %s"
              % (ver, server))


def reading(pid, path):
    """Whether process pid is blocked in read(2) on a descriptor of path (by
    /proc/PID/syscall, whose first fields are the call's number and its
    first argument); None when that file cannot be read here."""
    try:
        with open("/proc/%d/syscall" % pid) as f:
            call = f.read().split()
    except OSError:
        return None
    read_nr = {"x86_64": "0", "aarch64": "63"}.get(os.uname().machine)
    if len(call) < 2 or call[0] != read_nr:
        return False
    try:
        return os.readlink("/proc/%d/fd/%d" % (pid, int(call[1], 16))) == path
    except (OSError, ValueError):
        return False


@case
def import_in_flight():
    """A process ended while CPython reads a module, a .pth file or a script (a Pool
    worker terminated as it starts up) holds that file, which the import
    system and site close before returning: not a leak.  Here the file is a
    FIFO, so the read waits with it open when SIGTERM comes: a .pth file
    that site.addsitedir reads (addpackage), a site directory it lists
    (addsitedir), and a module's source read by
    its loader (FileLoader.get_data), a script runpy.run_path runs (as
    multiprocessing's spawn children do), a sys.path directory listed by its
    finder (FileFinder._fill_cache).  With default_suppressions=0 that
    descriptor is reported, with that function as its innermost Python frame."""
    import signal
    if reading(os.getpid(), None) is None:
        print("# /proc/PID/syscall cannot be read here: skipped")
        sys.exit(77)
    readers = [
        ("slow.pth", "addpackage",
         "import site, sys; site.addsitedir(sys.argv[1])\n"),
        ("slowmod.py", "FileLoader.get_data",
         "import sys\nfrom importlib.machinery import SourceFileLoader as L\n"
         "L('slowmod', sys.argv[2]).get_data(sys.argv[2])\n"),
        # run_path reads a bytecode header, closes, and opens the file again
        # for its source: the read that waits is the second one
        ("script.py", "_get_code_from_file", "import runpy, sys; runpy.run_path(sys.argv[2])\n"),
        # the listing of a sys.path entry, with listdir replaced by open (C
        # code both: _fill_cache stays the innermost Python frame) so that
        # the FIFO can hold it
        ("entry", "FileFinder._fill_cache",
         "import importlib._bootstrap_external as be, sys\n"
         "be._os.listdir = open\nbe.FileFinder(sys.argv[2])._fill_cache()\n"),
        # a site directory listed by site.addsitedir, the same way; its
        # comprehension over the listing is a frame of its own before 3.12
        ("site-packages", "addsitedir",
         "import os, site, sys\nos.listdir = open\nsite.addsitedir(sys.argv[2])\n"),
    ]
    for ver, py in interpreters():
        for name, reader, text in readers:
            if reader == "addsitedir" and ver == "3.11":
                print("# %s: addsitedir's comprehension is its own frame: skipped" % ver)
                continue
            for opts, want in ((None, 0), ("default_suppressions=0", 1)):
                d = tempfile.mkdtemp()
                fifo = os.path.join(d, name)
                os.mkfifo(fifo)
                src = script(d, "main.py", text)
                held = []

                def kill_mid_read(p):
                    fd = os.open(fifo, os.O_WRONLY)  # returns once the reader opened it
                    held.append(fd)
                    os.write(fd, b"#xyz\n")
                    for _ in range(30000):  # until it waits in read(2) for the rest
                        if reading(p.pid, fifo):
                            break
                        time.sleep(0.001)
                    p.send_signal(signal.SIGTERM)

                try:
                    res = run([py, "-B", src, d, fifo], options=opts, on_start=kill_mid_read)
                finally:
                    for fd in held:
                        os.close(fd)
                    shutil.rmtree(d, ignore_errors=True)
                what = "%s %s%s" % (ver, reader, ", " + opts if opts else "")
                check_eq(res.status, -signal.SIGTERM, "%s: ended by SIGTERM" % what)
                got = [(lk["kind"], lk.get("target"), (py_frames(lk)[:1] or [(None,)])[0][0])
                       for lk in res.leaks]
                check_eq(got, [("fd", fifo, reader)] * want,
                         "%s: %s" % (what, "the file being read" if want else "nothing leaked"))


BASH_LEAKY = """\
#!/bin/bash
start_worker() {
  sleep "$1" >/dev/null 2>&1 &
}
open_log() {
  exec 7>"$1"
}
start_worker "${2:-30}"
open_log "$1"
if [ -n "$2" ]; then
  exec 7>&-
  wait
fi
"""


@case
def bash_frames():
    """A bash script's leaks name the script's own frames: the function,
    the script file and line of the command that acquired it, then its
    callers (FUNCNAME, BASH_SOURCE, BASH_LINENO, as `caller` shows them),
    in place of bash's innermost execute_command_internal.  A function from
    a sourced file names that file.  The clean run reports nothing."""
    need_tools("bash")
    d = tempfile.mkdtemp()
    src = script(d, "leaky.sh", BASH_LEAKY)
    log = os.path.join(d, "app.log")
    res = run(["bash", src, log])
    check_eq(res.status, 0, "ran")
    check_leaks(res.leaks, [{"kind": "fd", "fd": 7, "target": log},
                            {"kind": "child", "command": "sleep 30"}], "the log and the worker")
    by_kind = {lk["kind"]: lk for lk in res.leaks}
    check_eq(py_frames(by_kind.get("fd", {}), "bash"), [("open_log", src, 6), ("main", src, 9)],
             "the descriptor: open_log at line 6, called from line 9")
    check_eq(py_frames(by_kind.get("child", {}), "bash"),
             [("start_worker", src, 3), ("main", src, 8)],
             "the child: start_worker at line 3, called from line 8")
    names = [f.get("function") for f in by_kind.get("fd", {}).get("stack") or []]
    check(names.count("execute_command_internal") < len([n for n in names if n]),
          "C frames around them: %s" % names[:6])
    check(re.search(r"#\d+ open_log %s:6 \(bash\)\n.*#\d+ main %s:9 \(bash\)\n"
                    % (re.escape(src), re.escape(src)), res.stderr, re.S) is not None,
          "the text report names them")
    # the clean run's worker ends by itself: killing it before it has run
    # sleep would catch it in the middle of its redirections
    check_clean(run(["bash", src, log, "0"]), "clean run")

    lib = script(d, "lib.sh", "lib_open() {\n  exec 8</etc/hostname\n}\n")
    main_sh = script(d, "main.sh", "source %s\nlib_open\n" % lib)
    res = run(["bash", main_sh])
    check_leaks(res.leaks, [{"kind": "fd", "fd": 8, "target": "/etc/hostname"}], "sourced: the fd")
    check_eq(py_frames(res.leaks[0], "bash") if res.leaks else None,
             [("lib_open", lib, 2), ("main", main_sh, 2)], "sourced: the library's file and line")


@case
def no_script_frames_elsewhere():
    """A shell that is not bash (dash) and a C program get C frames only."""
    for argv in (["dash", "-c", "exec 8</etc/hostname"], ["sh", "-c", "exec 8</etc/hostname"]):
        exe = shutil.which(argv[0])
        if exe is None or "bash" in os.path.realpath(exe):
            continue
        res = run(argv)
        check_leaks(res.leaks, [{"kind": "fd", "fd": 8, "target": "/etc/hostname"}],
                    "%s: the fd" % argv[0])
        check(res.leaks and not any(f.get("lang") for f in res.leaks[0]["stack"]),
              "%s: no script frames" % argv[0])


def without_perf_map(res):
    """Remove the perf map a run left in /tmp (runtimes never do)."""
    try:
        os.unlink("/tmp/perf-%d.map" % res.pid)
    except FileNotFoundError:
        pass


@case
def jit_frames_perf_map():
    """Code with no unwind information (what a JIT makes) is walked through
    by its frame pointer when a perf map names it, and the frame takes the
    map's name: a V8-style "JS:~leakyJs /src/app.js:42:7" becomes function
    leakyJs, file /src/app.js, line 42, lang js, and the walk goes on into
    main.  Without a map the walk ends at that frame, as before."""
    res = run([prog("jitlike"), "map"])
    without_perf_map(res)
    if res.status == 77:
        print("# not x86_64: skipped")
        sys.exit(77)
    check_leaks(res.leaks, [{"kind": "fd", "target": "/etc/hostname"}], "map: the descriptor")
    st = res.leaks[0]["stack"] if res.leaks else []
    names = [f.get("function") for f in st]
    check_eq(names[:3], ["open_hostname", "leakyJs", "main"], "map: through the JIT frame into main")
    js = [(f.get("function"), f.get("file"), f.get("line"), f.get("lang"), f.get("module"))
          for f in st if f.get("lang")]
    check_eq(js, [("leakyJs", "/src/app.js", 42, "js", "")], "map: the JavaScript frame, named")
    check(re.search(r"#1 leakyJs /src/app\.js:42 \(js\)\n", res.stderr) is not None,
          "map: the text report names it")

    res = run([prog("jitlike"), "nomap"])
    without_perf_map(res)
    check_leaks(res.leaks, [{"kind": "fd", "target": "/etc/hostname"}], "no map: the descriptor")
    st = res.leaks[0]["stack"] if res.leaks else []
    check(len(st) == 2 and st[0].get("function") == "open_hostname" and not st[1].get("function")
          and not st[1].get("module") and not st[1].get("lang"),
          "no map: the walk ends at the unnamed JIT frame: %s" % st)


NODE_APP = """\
const fs = require('fs');
function openLog(p) { return fs.openSync(p, 'r'); }
function main() { openLog('/etc/hostname'); }
main();
"""


@case
def node_js_frames():
    """Node.js run with --perf-basic-prof (and
    --interpreted-frames-native-stack, for functions not compiled yet):
    the report names the JavaScript functions, with the file and the line
    where each is defined, below V8's C++ frames; without the flags the
    stack ends in V8's builtins, as before."""
    need_tools("node")
    d = tempfile.mkdtemp()
    app = script(d, "app.js", NODE_APP)
    res = run(["node", "--perf-basic-prof", "--interpreted-frames-native-stack", app])
    without_perf_map(res)
    check_eq(res.status, 0, "node ran")
    check_leaks(res.leaks, [{"kind": "fd", "target": "/etc/hostname"}], "the descriptor")
    js = [(f.get("function"), f.get("file"), f.get("line"))
          for f in (res.leaks[0]["stack"] if res.leaks else []) if f.get("lang") == "js"]
    ours = [f for f in js if f[1] == app]
    check_eq(ours[:2], [("openLog", app, 2), ("main", app, 3)],
             "openLog and main, innermost first: %s" % js[:6])
    res = run(["node", app])
    without_perf_map(res)
    check(res.leaks and not any(f.get("lang") for f in res.leaks[0]["stack"]),
          "without --perf-basic-prof: no JavaScript frames")

if __name__ == "__main__":
    main()
