/* In-process suppressions (see suppressions.h). */
#include "suppressions.h"

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "options.h"
#include "procfs.h"
#include "rc.h"
#include "report.h"
#include "scriptframes.h"
#include "strbuf.h"

#define RC_SUPP_MAX_RULES 4096

static struct rc_supp_rule *rc_rules;
static size_t rc_nrules;

/* One line "rcleak: suppressions: A B[: WHY]" on stderr. */
static void say3(const char *a, const char *b, const char *why)
{
  char buf[PATH_MAX + 300];
  struct rc_strbuf s;
  rc_sb_init(&s, buf, sizeof buf);
  rc_sb_puts(&s, "rcleak: suppressions: ");
  rc_sb_puts(&s, a);
  rc_sb_puts(&s, b);
  if (why) {
    rc_sb_puts(&s, ": ");
    rc_sb_puts(&s, why);
  }
  rc_sb_putc(&s, '\n');
  (void)rc_write_all(rc_report_stderr(), s.buf, s.len);
}

static void say(const char *a, const char *b)
{
  say3(a, b, NULL);
}

/* Built-in suppressions, LeakSanitizer style: resources that well-known
 * programs hold on purpose for their whole life and never close, which would
 * otherwise be reported in every run of them.  default_suppressions=0 turns
 * them off.  Each rule names the function that acquires the resource. */
static const char rc_default_suppressions[] =
    "# GNU make -j: the pipe every job gets as its stdin, kept until exit\n"
    "fd:^get_bad_stdin$\n"

    "# libuv (Node.js): the default loop's epoll, signal pipe and async eventfd\n"
    "fd:^uv_default_loop$\n"
    "# libuv: the /dev/null descriptor each loop keeps in reserve for EMFILE\n"
    "fd:^uv__stream_init$\n"
    "# libuv: descriptors it makes once for the whole process (the signal lock\n"
    "# pipe, at the first uv_loop_init: ctest, cmake)\n"
    "fd:^uv_once$\n"
    "# libuv: the inotify descriptor a loop makes at its first fs watcher (Node's\n"
    "# fs.watch) and keeps after the watchers are closed\n"
    "fd:^uv_fs_event_start$\n"
    "# Node.js: the inspector's I/O thread, detached, runs until exit (the\n"
    "# pattern matches node::inspector::Agent::Start mangled or not)\n"
    "thread:inspector*Agent*Start\n"
    "# jq (libjq's input reader): each input file is closed when the next is\n"
    "# opened, so the last one stays open until exit\n"
    "fd:^jq_util_input_next_input$\n"
    "# git (and libgit2: cargo): a pack file stays open from its first read to\n"
    "# exit, to map windows of it (`git rev-list --all`, fetch's connectivity\n"
    "# check); the object store is closed by only some commands\n"
    "fd:/objects/pack/pack-*.pack$\n"
    "# ninja (and samurai): the build and deps logs, appended to until exit\n"
    "fd:/.ninja_log$\n"
    "fd:/.ninja_deps$\n"
    "# CPython: a thread still running at exit is a daemon thread, which the\n"
    "# interpreter abandons by design (it joins the others before it exits);\n"
    "# 3.13 names the starting function differently\n"
    "thread:^PyThread_start_new_thread$\n"
    "thread:^PyThread_start_joinable_thread$\n"
    "# CPython multiprocessing: the resource tracker and the fork server run\n"
    "# until their parent exits (they read EOF on a pipe from it) and clean up\n"
    "# after it; killing them at its exit loses that, and costs the SIGTERM\n"
    "# they ignore a grace period (matched by their command line)\n"
    "child:-c from multiprocessing.resource_tracker import main\n"
    "child:-c from multiprocessing.forkserver import main\n"
    "# HotSpot (Java): the VM's threads (GC, JIT compilers, ...) and every Java\n"
    "# thread start detached at os::create_thread, and end with the VM\n"
    "thread:^os::create_thread(\n"
    "thread:^_ZN2os13create_thread\n"
    "# the Java launcher: the thread running main, which may end the process\n"
    "# (System.exit) while the launcher waits to join it\n"
    "thread:^CallJavaMainInNewThread$\n"
    "# HotSpot: the runtime image, lib/modules, open for the VM's life\n"
    "fd:^ImageFileReader::open(\n"
    "fd:^_ZN15ImageFileReader4open\n"
    "# Java NIO: the socketpair kept to pre-close descriptors, a static\n"
    "fd:^Java_sun_nio_ch_FileDispatcherImpl_init$\n"
    "# Rust's jobserver crate (rustc, cargo, build scripts): the jobserver's\n"
    "# pipe, opened from the environment, and the thread that waits on it\n"
    "fd:^<jobserver::Client>::from_env_ext$\n"
    "thread:^jobserver::imp::spawn_helper$\n"
    "# rustc: the jobserver it makes when it inherits none, and its Ctrl-C\n"
    "# handler thread, detached; both live until exit\n"
    "fd:^rustc_data_structures::jobserver::default_client$\n"
    "thread:^rustc_driver_impl::install_ctrlc_handler$\n"
    "# LLVM's parallel executor (lld, rust-lld, clang): a process-wide pool\n"
    "# whose threads run until exit; its first thread starts the others, so\n"
    "# the name may be inside a std::thread template's\n"
    "thread:llvm::parallel::detail::*ThreadPoolExecutor::ThreadPoolExecutor(\n"
    "thread:^_ZN4llvm8parallel6detail*ThreadPoolExecutor\n";

/* Built-in suppressions for whole programs: every leak of the given kinds in
 * them.  Two sorts of program qualify:
 *  - wrappers that exist to hold one resource while they run a command;
 *  - the toolchain's batch programs (linkers, GCC's LTO compiler), which
 *    leave every file, and lld its thread pool, to the exit by design: with
 *    them, `rcleak run make` of any C project would fail on the linker
 *    (ld.bfd keeps a dup of each archive its LTO plugin read, gold every
 *    input, lto1 its objects).
 * Stripped, they offer no function name to match, and a rule on their
 * module's basename would also match a function of that name in any other
 * program; so these match the executable's own path instead: a name with a
 * '/' is a suffix of the path (a bin directory, any prefix); one without is
 * the basename, alone or after a target triplet ("x86_64-linux-gnu-"). */
#define RC_K(kind) (1u << (kind))
static const struct {
  unsigned kinds;
  const char *exe;
} rc_program_rules[] = {
  {RC_K(RC_KIND_TIMER), "bin/timeout"}, /* coreutils: the timer that ends the command */
  {RC_K(RC_KIND_FD), "bin/flock"},      /* util-linux: the lock file */
  {RC_K(RC_KIND_FD), "bin/script"},     /* util-linux: the terminal the command runs on */
  {RC_K(RC_KIND_FD), "bin/tar"},        /* GNU tar: each -C directory, kept open to return to */
  {RC_K(RC_KIND_FD), "bin/gzip"},       /* the last input's directory, kept for the next file */
  /* xz: the pipe its signal handlers wake the main loop by; with -T (the
   * default from 5.6) liblzma's workers, which it leaves running at exit
   * (it frees its coder only in debug builds) */
  {RC_K(RC_KIND_FD) | RC_K(RC_KIND_THREAD), "bin/xz"},
  {RC_K(RC_KIND_FD), "bin/gpg"},        /* GnuPG: the trust database, open until exit */
  /* PostgreSQL's server processes (initdb and pg_ctl run them; test
   * fixtures start one per run): the relation files its file cache keeps
   * open, each process's latch signalfd and epoll set, and the interval
   * timer of its timeouts, all left to the exit by design */
  {RC_K(RC_KIND_FD) | RC_K(RC_KIND_ITIMER), "bin/postgres"},
  /* GDB (`gdb -batch -ex bt` in CI): its event pipes and its worker threads,
   * left to the exit */
  {RC_K(RC_KIND_FD) | RC_K(RC_KIND_THREAD), "bin/gdb"},
  {RC_K(RC_KIND_FD), "ld.bfd"},         /* binutils */
  {RC_K(RC_KIND_FD), "ld.gold"},        /* binutils */
  {RC_K(RC_KIND_FD) | RC_K(RC_KIND_THREAD), "bin/lld"}, /* LLVM (ld.lld links to it) */
  {RC_K(RC_KIND_FD), "lto1"},           /* GCC's link-time optimizer */
};

/* Whether the executable's path exe[0..n) is the one a rule names. */
static bool exe_is(const char *exe, size_t n, const char *name)
{
  size_t k = strlen(name);
  if (n <= k || memcmp(exe + n - k, name, k) != 0)
    return false;
  char before = exe[n - k - 1];
  return before == '/' || (before == '-' && strchr(name, '/') == NULL);
}

/* Kinds (bit per kind) the program rules suppress in this process. */
static unsigned program_kinds(void)
{
  static int known;
  static unsigned kinds;
  if (known)
    return kinds;
  known = 1;
  char exe[PATH_MAX];
  ssize_t n = rc_options.default_suppressions ? rc_readlink("/proc/self/exe", exe, sizeof exe) : -1;
  for (size_t i = 0; n > 0 && i < RC_ARRAY_SIZE(rc_program_rules); i++)
    if (exe_is(exe, (size_t)n, rc_program_rules[i].exe))
      kinds |= rc_program_rules[i].kinds;
  return kinds;
}

/* Built-in suppressions of what one runtime holds for the process's life,
 * narrower than a rule on a string of the stack:
 *  - a leak's target AND a frame of its stack (a function, or a module's
 *    basename) must both match: the frame alone is the runtime's generic
 *    open, which every file the program itself leaks goes through too, and
 *    the target is a file any program may leak;
 *  - or the innermost Python frame (scriptframes.h) is the function named: a
 *    rule on any frame would also hide what the program's own code leaks
 *    below it (multiprocessing runs a child's target under spawn_main). */
static const struct {
  unsigned kind;
  bool unless_python;  /* only for a stack without Python frames */
  const char *target;  /* NULL: any, and `frame` is the innermost Python function;
                        * "*SUFFIX": a target ending so */
  const char *frame;
  const char *in_file; /* Python rules: a part of that frame's file name */
} rc_held_rules[] = {
  /* Java's NativePRNG (SecureRandom, UUID.randomUUID, Files.createTemp*)
   * keeps both open in a static, opened through libjava's fileOpen */
  {RC_KIND_FD, false, "/dev/random", "libjava.so", NULL},
  {RC_KIND_FD, false, "/dev/urandom", "libjava.so", NULL},
  /* Java's class loaders: each jar of the class path (and every jar a
   * URLClassLoader reads) stays open for the loader's life, the VM's for the
   * built-in ones (45 of them in `mvn --version`) */
  {RC_KIND_FD, false, "*.jar", "libjava.so", NULL},
  /* CPython multiprocessing: every child it starts replaces sys.stdin with
   * os.open(os.devnull) wrapped with closefd=False, never closed (the first
   * rule where Python frames are not read: 3.10, 3.14) */
  {RC_KIND_FD, true, "/dev/null", "os_open", NULL},
  {RC_KIND_FD, false, NULL, "_close_stdin", "/multiprocessing/"},
  /* multiprocessing children started by spawn or a fork server: the dup of
   * the pipe that tells them their parent is alive */
  {RC_KIND_FD, false, NULL, "spawn_main", "/multiprocessing/"},
  {RC_KIND_FD, false, NULL, "_serve_one", "/multiprocessing/"},
  /* the fork server itself: its SIGCHLD wake-up pipe */
  {RC_KIND_FD, false, NULL, "main", "/multiprocessing/forkserver.py"},
  /* multiprocessing parents: the pipes to the resource tracker and the fork
   * server, which those read to the end to know the parent has exited */
  {RC_KIND_FD, false, NULL, "ResourceTracker.ensure_running", "/multiprocessing/"},
  {RC_KIND_FD, false, NULL, "ForkServer.ensure_running", "/multiprocessing/"},
  /* multiprocessing parents: a Process's sentinel and control pipes, which
   * its finalizer closes when the Process object is collected: at exit,
   * never, for one still referenced (every worker of a Pool) */
  {RC_KIND_FD, false, NULL, "Popen._launch", "/multiprocessing/"},
  {RC_KIND_FD, false, NULL, "ForkServer.connect_to_new_process", "/multiprocessing/"},
  /* CPython's import system reading a module's source or bytecode or
   * listing a sys.path directory, site listing a site directory or reading
   * a .pth file, runpy reading a script: each closes its file or directory before returning, so one
   * still open is a process ended in the middle of an import (a Pool worker
   * terminated while it starts up) */
  {RC_KIND_FD, false, NULL, "FileLoader.get_data", "importlib._bootstrap_external"},
  {RC_KIND_FD, false, NULL, "FileLoader.get_data", "importlib/_bootstrap_external.py"},
  {RC_KIND_FD, false, NULL, "FileFinder._fill_cache", "importlib._bootstrap_external"},
  {RC_KIND_FD, false, NULL, "FileFinder._fill_cache", "importlib/_bootstrap_external.py"},
  {RC_KIND_FD, false, NULL, "addpackage", "<frozen site>"},
  {RC_KIND_FD, false, NULL, "addpackage", "/site.py"},
  {RC_KIND_FD, false, NULL, "addsitedir", "<frozen site>"},
  {RC_KIND_FD, false, NULL, "addsitedir", "/site.py"},
  /* multiprocessing's manager server (Manager()): its listener and each
   * client's connection, served by daemon threads until the server process
   * exits (the connection and socket plumbing above them is skipped) */
  {RC_KIND_FD, false, NULL, "Server.__init__", "/multiprocessing/managers.py"},
  {RC_KIND_FD, false, NULL, "Server.accepter", "/multiprocessing/managers.py"},
  /* linecache reading a source file for a traceback (through tokenize.open,
   * skipped as plumbing), closed at once: one still open is a daemon thread
   * formatting an exception when the process ended (a Manager's server) */
  {RC_KIND_FD, false, NULL, "updatecache", "/linecache.py"},
  /* runpy.run_path reading the script it runs: multiprocessing's spawn and
   * forkserver children run the parent's main script through it */
  {RC_KIND_FD, false, NULL, "_get_code_from_file", "<frozen runpy>"},
  {RC_KIND_FD, false, NULL, "_get_code_from_file", "/runpy.py"},
};

static bool frame_is(const struct rc_frame *f, const char *name)
{
  return (f->function && strcmp(f->function, name) == 0) ||
         (f->module && strcmp(rc_supp_basename(f->module), name) == 0);
}

static bool target_is(const char *target, const char *rule)
{
  return rule[0] == '*' ? rc_str_ends(target, rule + 1) : strcmp(target, rule) == 0;
}

/* Python frames that only open on their caller's behalf: socket.socket,
 * multiprocessing's Listener, tokenize.open.  A rule on "the innermost
 * Python function" looks past them, to the code that asked: the program's
 * own socket is still the program's. */
static bool python_plumbing(const struct rc_frame *f)
{
  static const char *const files[] = {"/socket.py", "/multiprocessing/connection.py",
                                      "/tokenize.py"};
  for (size_t i = 0; f->file != NULL && i < RC_ARRAY_SIZE(files); i++)
    if (rc_str_ends(f->file, files[i]))
      return true;
  return false;
}

static bool has_python(const struct rc_frame *fr, uint32_t n)
{
  for (uint32_t j = 0; j < n; j++)
    if (fr[j].lang == RC_LANG_PYTHON)
      return true;
  return false;
}

static bool held_by_runtime(const struct rc_leak *lk)
{
  uint32_t n;
  const struct rc_frame *fr = NULL;
  for (size_t i = 0; i < RC_ARRAY_SIZE(rc_held_rules); i++) {
    const char *target = rc_held_rules[i].target, *in_file = rc_held_rules[i].in_file;
    if (rc_held_rules[i].kind != lk->kind ||
        (target && (lk->target == NULL || !target_is(lk->target, target))))
      continue;
    if (fr == NULL && (fr = rc_leak_frames_unlined(lk, &n)) == NULL)
      return false;
    if (rc_held_rules[i].unless_python && has_python(fr, n))
      continue;
    for (uint32_t j = 0; j < n; j++) {
      if (target == NULL && (fr[j].lang != RC_LANG_PYTHON || python_plumbing(&fr[j])))
        continue;
      if (frame_is(&fr[j], rc_held_rules[i].frame) &&
          (in_file == NULL || (fr[j].file && strstr(fr[j].file, in_file))))
        return true;
      if (target == NULL)
        break; /* the innermost Python frame only */
    }
  }
  return false;
}


static bool rc_supp_loaded;

static void load_rules(void)
{
  rc_supp_loaded = true;
  if (!rc_options.suppressions[0] && !rc_options.default_suppressions)
    return;
  /* Text and rules live for the whole process: map them once. */
  /* The built-in rules' text, then room for a whole user file. */
  size_t text_size = sizeof rc_default_suppressions + RC_SUPP_MAX_FILE + 1;
  size_t size = (text_size + 15) / 16 * 16 + RC_SUPP_MAX_RULES * sizeof(struct rc_supp_rule);
  char *mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED)
    return;
  struct rc_supp_rule *rules = (struct rc_supp_rule *)(mem + (text_size + 15) / 16 * 16);
  char err[PATH_MAX + 200];
  size_t n = 0, used = 0;
  if (rc_options.default_suppressions) {
    memcpy(mem, rc_default_suppressions, sizeof rc_default_suppressions);
    if (rc_supp_parse(mem, "<built-in>", rules, RC_SUPP_MAX_RULES, &n, err, sizeof err) != 0)
      n = 0;
    used = sizeof rc_default_suppressions;
  }
  if (rc_options.suppressions[0]) {
    char *text = mem + used;
    size_t m = 0;
    const char *why = NULL;
    if (rc_read_user_file(rc_options.suppressions, text, RC_SUPP_MAX_FILE + 1, &why) < 0)
      say3("cannot read ", rc_options.suppressions, why);
    else if (rc_supp_parse(text, rc_options.suppressions, rules + n, RC_SUPP_MAX_RULES - n, &m,
                           err, sizeof err) != 0)
      say(err, "; no rule of it applied");
    else
      n += m;
  }
  if (n == 0) {
    munmap(mem, size);
    return;
  }
  rc_rules = rules;
  rc_nrules = n;
}

/* A suppressions file is read at start-up, where its path means what the
 * user meant (the working directory may change later) and a bad file is
 * reported at once.  The built-in rules alone wait for the first report that
 * has leaks to match: most processes never need them. */
RC_HOT void rc_suppress_load(void)
{
  if (rc_options.suppressions[0])
    load_rules();
}

#define RC_SUPP_MAX_STRS (4 * 256 + 1)

/* Whether a rule of the leak's kind matches a string of these frames. */
static bool frames_match(const struct rc_leak *lk, const struct rc_frame *fr, uint32_t n)
{
  static const char *strs[RC_SUPP_MAX_STRS] RC_LARGE;
  size_t k = 0;
  for (uint32_t i = 0; i < n && k + 4 <= RC_SUPP_MAX_STRS - 1; i++) {
    strs[k++] = fr[i].function;
    strs[k++] = fr[i].module ? rc_supp_basename(fr[i].module) : NULL;
    strs[k++] = fr[i].file;
    strs[k++] = fr[i].file ? rc_supp_basename(fr[i].file) : NULL;
  }
  return rc_supp_find(rc_rules, rc_nrules, lk->kind, strs, k) >= 0;
}

/* Whether a rule of `kind` matches a string of the stack's frames: their
 * functions and modules first, file:line (which may load libdw) only if
 * those matched nothing. */
static bool stack_suppressed(const struct rc_leak *lk)
{
  uint32_t n;
  const struct rc_frame *fr = rc_leak_frames_unlined(lk, &n);
  if (frames_match(lk, fr, n))
    return true;
  fr = rc_leak_frames(lk, &n);
  return frames_match(lk, fr, n);
}

/* A leak is suppressed when a rule of its kind matches its target or a
 * string of its stack.  The stack part is the same for every leak of a site
 * (100k leaks from one loop share it): it is matched once per (kind, stack)
 * and remembered in a small direct-mapped cache; a collision only costs a
 * new match. */
#define RC_SUPP_CACHE 1024
static struct {
  uint32_t stack_id;
  uint8_t kind, flags, valid, result;
} rc_supp_cache[RC_SUPP_CACHE] RC_LARGE;

static bool suppressed(const struct rc_leak *lk)
{
  if (lk->target && rc_supp_find(rc_rules, rc_nrules, lk->kind, &lk->target, 1) >= 0)
    return true;
  uint8_t flags = lk->flags & (RC_LEAK_UNTRACKED | RC_LEAK_FOREIGN_STACK);
  uint32_t h = (lk->stack_id * 2654435761u + lk->kind * 31u + flags) % RC_SUPP_CACHE;
  if (rc_supp_cache[h].valid && rc_supp_cache[h].stack_id == lk->stack_id &&
      rc_supp_cache[h].kind == lk->kind && rc_supp_cache[h].flags == flags)
    return rc_supp_cache[h].result;
  bool r = stack_suppressed(lk);
  rc_supp_cache[h].stack_id = lk->stack_id;
  rc_supp_cache[h].kind = lk->kind;
  rc_supp_cache[h].flags = flags;
  rc_supp_cache[h].result = r;
  rc_supp_cache[h].valid = 1;
  return r;
}

void rc_suppress_apply(struct rc_leakset *ls)
{
  if (!rc_supp_loaded)
    load_rules();
  unsigned prog = program_kinds();
  bool held = rc_options.default_suppressions;
  if (rc_nrules == 0 && prog == 0 && !held)
    return;
  for (uint32_t i = 0; i < ls->n; i++) {
    const struct rc_leak *lk = &ls->v[i];
    if ((prog >> lk->kind & 1u) || (held && held_by_runtime(lk)) ||
        (rc_nrules != 0 && suppressed(lk))) {
      ls->v[i].flags |= RC_LEAK_SUPPRESSED;
      ls->suppressed++;
    }
  }
}
