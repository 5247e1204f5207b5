"""Helpers for rcleak's end-to-end tests.

A test runs a small C program (built by meson with -g -O0) under librcleak.so,
reads the JSON report the shim wrote, and asserts the exact set of leaks.
Environment, set by meson:
  RCLEAK_SHIM      path of librcleak.so
  RCLEAK_PROGS     directory of the test programs (the test's own subdir in the build)
Every test prints TAP ("ok 1 - ...") and exits 0 on success, 1 on failure.
"""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

SHIM = os.environ.get("RCLEAK_SHIM", "")
PROGS = os.environ.get("RCLEAK_PROGS", "")

_count = 0
_failed = 0


class Result:
    """What a traced run produced."""

    def __init__(self, proc, stdout, stderr, reports, workdir):
        self.status = proc.returncode          # negative: killed by -status
        self.stdout = stdout
        self.stderr = stderr
        self.reports = reports                 # {pid: report dict}, every process that wrote one
        self.workdir = workdir

    @property
    def report(self):
        """The report of the process that was started (the top of the tree)."""
        top = [r for r in self.reports.values() if r["pid"] == self.pid]
        if not top:
            raise AssertionError("no JSON report from pid %s; stderr:\n%s" % (self.pid, self.stderr))
        return top[0]

    @property
    def leaks(self):
        return self.report["leaks"]


def need_tools(*names):
    """Skip the case (exit 77) unless every program named is on PATH."""
    import shutil
    for name in names:
        if shutil.which(name) is None:
            print("# no %s: skipped" % name)
            sys.exit(77)


def prog(name):
    """Absolute path of a test program built in this test's directory."""
    return os.path.join(PROGS, name)


def default_signals():
    """In the child before exec: the signals tests send at their defaults.  A
    background job of a non-interactive shell inherits SIGINT and SIGQUIT
    ignored, and meson resets only SIGINT (it catches it): a program then
    survives the SIGQUIT a test sends it, with or without rcleak."""
    for s in (signal.SIGINT, signal.SIGQUIT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, signal.SIG_DFL)


def run(argv, options=None, env=None, timeout=60, input=None, json=True, preload=True,
        on_start=None):
    """Run argv under the shim; returns a Result.

    options: dict or string for RCLEAK_OPTIONS (json_path is added unless json=False).
    on_start(popen): called right after start (e.g. to send a signal).
    """
    workdir = tempfile.mkdtemp(prefix="rctest-")
    opts = []
    if json:
        opts.append("json_path=%s/r.%%p.json" % workdir)
    if isinstance(options, dict):
        opts += ["%s=%s" % (k, v) for k, v in options.items()]
    elif options:
        opts.append(options)
    e = dict(os.environ)
    e.pop("RCLEAK_OPTIONS", None)
    e.pop("LD_PRELOAD", None)
    if preload:
        e["LD_PRELOAD"] = SHIM
    if opts:
        e["RCLEAK_OPTIONS"] = ":".join(opts)
    e["RCTEST_WORKDIR"] = workdir
    if env:
        e.update(env)
    p = subprocess.Popen(argv, env=e, stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=workdir,
                         preexec_fn=default_signals)
    if on_start:
        on_start(p)
    out, err = p.communicate(input=input.encode() if isinstance(input, str) else input,
                             timeout=timeout)
    reports = {}
    for name in os.listdir(workdir):
        if name.startswith("r.") and name.endswith(".json"):
            with open(os.path.join(workdir, name), "rb") as f:
                text = f.read()
            try:
                text = text.decode("utf-8")  # strictly: JSON is UTF-8
                rep = _json_loads(text)
            except ValueError as ex:  # UnicodeDecodeError is one
                raise AssertionError("invalid JSON in %s: %s\n%s" % (name, ex, text[:2000]))
            reports[rep["pid"]] = rep
    r = Result(p, out.decode(errors="replace"), err.decode(errors="replace"), reports, workdir)
    r.pid = p.pid
    return r


def _json_loads(text):
    return json.loads(text)


def top_function(leak):
    """The innermost frame's function name, or None."""
    st = leak.get("stack") or []
    return st[0].get("function") if st else None


def functions(leak):
    return [f.get("function") for f in leak.get("stack") or []]


def own_walker():
    """Whether rcleak walks stacks with its own unwinder here (x86_64, glibc
    with _dl_find_object, 2.35+): deferred first captures and per-thread
    replay caches exist only with it, so counts of walks are only exact then."""
    try:
        ver = os.confstr("CS_GNU_LIBC_VERSION") or ""
    except (ValueError, OSError):
        ver = ""
    m = re.match(r"glibc (\d+)\.(\d+)", ver)
    return os.uname().machine == "x86_64" and m is not None and \
        (int(m.group(1)), int(m.group(2))) >= (2, 35)


def check(cond, what):
    """Record one TAP assertion."""
    global _count, _failed
    _count += 1
    if cond:
        print("ok %d - %s" % (_count, what))
    else:
        _failed += 1
        print("not ok %d - %s" % (_count, what))
    sys.stdout.flush()
    return cond


def check_eq(actual, expected, what):
    ok = actual == expected
    if not ok:
        print("# expected: %r\n#   actual: %r" % (expected, actual))
    return check(ok, what)


def match_leak(leak, want):
    """want: dict of expected fields; special keys: 'top' (innermost function),
    'in_stack' (a function somewhere in the stack)."""
    for k, v in want.items():
        if k == "top":
            if top_function(leak) != v:
                return False
        elif k == "in_stack":
            if v not in functions(leak):
                return False
        elif leak.get(k) != v:
            return False
    return True


def check_leaks(leaks, wanted, what):
    """Exactly these leaks, in any order: each wanted dict matches one leak
    and no leak is left over."""
    left = list(leaks)
    missing = []
    for w in wanted:
        for i, lk in enumerate(left):
            if match_leak(lk, w):
                del left[i]
                break
        else:
            missing.append(w)
    ok = not missing and not left
    if not ok:
        for m in missing:
            print("# missing: %r" % (m,))
        for lk in left:
            brief = {k: lk.get(k) for k in ("kind", "fd", "type", "target", "acquired_by", "pid", "path",
                                            "untracked", "command", "state", "daemon", "cleanup",
                                            "age_ms")}
            brief["top"] = top_function(lk)
            print("# unexpected: %r" % (brief,))
    return check(ok, what)


def check_clean(res, what):
    """No leak, an empty JSON leak list, and nothing on stderr from rcleak."""
    rep = res.report
    check_eq(rep["leaks"], [], what + ": JSON has no leaks")
    check_eq(rep["summary"]["total"], 0, what + ": summary total 0")
    check("rcleak" not in res.stderr, what + ": rcleak printed nothing")


def done():
    """Finish: plan line and exit status."""
    print("1..%d" % _count)
    sys.exit(1 if _failed or _count == 0 else 0)


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie still answers kill(0): look at its state
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


# ---- the case table every suite's cases.py uses ----

CASES = {}


def case(fn):
    """Registers a test case under its function name."""
    CASES[fn.__name__] = fn
    return fn


def printed(res, key):
    """Values of the program's "key value" lines."""
    return re.findall(r"^%s (.*)$" % re.escape(key), res.stdout, re.M)


def main():
    """`cases.py --list` names the cases; `cases.py NAME...` runs them (TAP)."""
    if sys.argv[1:] == ["--list"]:
        print("\n".join(CASES))
        sys.exit(0)
    for name in sys.argv[1:]:
        CASES[name]()
    done()
