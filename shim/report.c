/* Exit report orchestration (see report.h). */
#include "report.h"

#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0) /* linux/fs.h; glibc's stdio.h has it since 2.28 */
#endif

#include "arena.h"
#include "handover.h"
#include "lines.h"
#include "options.h"
#include "procfs.h"
#include "rc.h"
#include "scriptframes.h"
#include "stacks.h"
#include "suppressions.h"

#define RC_MAX_LEAKS (1u << 22)

/* The family table: one row per resource family, in report order. */
extern const struct rc_family rc_family_child, rc_family_timer, rc_family_itimer,
    rc_family_tmpdir, rc_family_tmpfile, rc_family_thread;
__attribute__((weak)) const struct rc_family rc_family_child, rc_family_timer,
    rc_family_itimer, rc_family_tmpdir, rc_family_tmpfile, rc_family_thread;

static const struct rc_family *const rc_families[] = {
  &rc_family_fd, &rc_family_child, &rc_family_timer, &rc_family_itimer,
  &rc_family_tmpdir, &rc_family_tmpfile, &rc_family_thread,
};

const struct rc_family *rc_family_of(unsigned kind)
{
  for (size_t i = 0; i < RC_ARRAY_SIZE(rc_families); i++)
    if (rc_families[i]->collect && rc_families[i]->kind == kind)
      return rc_families[i];
  return NULL;
}

struct rc_leak *rc_leak_add(struct rc_leakset *ls, unsigned kind)
{
  if (ls->n == ls->cap)
    return NULL;
  /* Reserved at the first leak: a clean process's report maps no arena. */
  if (ls->v == NULL && (ls->v = rc_arena_alloc(ls->cap * sizeof *ls->v)) == NULL)
    return NULL;
  struct rc_leak *lk = &ls->v[ls->n++];
  memset(lk, 0, sizeof *lk);
  lk->kind = (uint8_t)kind;
  return lk;
}

/* Symbolized stacks, by stack id, filled once per distinct stack. */
struct rc_symstack {
  struct rc_frame *frames;
  uint32_t n;
  bool done;  /* functions and modules */
  bool lined; /* file:line too */
};
static struct rc_symstack *rc_symstacks;
static uint32_t rc_nsymstacks;
static bool rc_want_lines;

/* Native return addresses first, then any script frames (scriptframes.h):
 * each group of those takes the place of the native frame that ran it,
 * innermost first; groups left over (the native walk stopped first, or its
 * frames have no names) follow the native frames.  Returns the count. */
uint32_t rc_stack_frames(const struct rc_stack *st, struct rc_frame *out)
{
  uint32_t nat = 0;
  while (nat < st->depth && !rc_sf_is_tag(st->pc[nat]))
    nat++;
  uint32_t n = 0, sf = nat;
  for (uint32_t i = 0; i < nat; i++) {
    struct rc_frame *f = &out[n];
    memset(f, 0, sizeof *f);
    /* Return addresses point after the call; one byte back is inside it,
     * which is the line people expect to see. */
    f->pc = st->pc[i] - 1;
    rc_sym_frame(f);
    if (sf >= st->depth || !rc_sf_is_anchor(f)) {
      n++;
      continue;
    }
    for (; sf < st->depth && st->pc[sf] != RC_SF_SEP; sf++)
      rc_sf_frame(st->pc[sf], &out[n++]);
    sf++; /* past the separator */
  }
  for (; sf < st->depth; sf++)
    if (st->pc[sf] != RC_SF_SEP)
      rc_sf_frame(st->pc[sf], &out[n++]);
  return n;
}

/* File:line is a second step: the suppressions are matched against
 * functions and modules first, and a leak a rule suppresses that way is
 * never shown, so its lines are never needed.  Looking them up can mean
 * loading libdw (a stripped program with a .gnu_debuglink: tens of ms,
 * which GNU make paid at every exit for the one descriptor a built-in rule
 * suppresses). */
static const struct rc_symstack *symbolize_stack(uint32_t id, bool lines)
{
  if (rc_symstacks == NULL || id == 0 || id >= rc_nsymstacks)
    return NULL;
  struct rc_symstack *s = &rc_symstacks[id];
  if (!s->done) {
    s->done = true;
    const struct rc_stack *st = rc_stack_get(id);
    if (st == NULL)
      return s;
    s->frames = rc_arena_alloc(st->depth * sizeof *s->frames);
    if (s->frames == NULL)
      return s;
    s->n = rc_stack_frames(st, s->frames);
  }
  if (lines && !s->lined) {
    s->lined = true;
    for (uint32_t i = 0; rc_want_lines && i < s->n; i++)
      rc_lines_frame(&s->frames[i]);
  }
  return s;
}

static const struct rc_frame *leak_frames(const struct rc_leak *lk, uint32_t *n, bool lines)
{
  *n = 0;
  if (lk->flags & RC_LEAK_UNTRACKED)
    return NULL;
  if (lk->flags & RC_LEAK_FOREIGN_STACK)
    return rc_handover_frames(lk->stack_id, n);
  const struct rc_symstack *s = symbolize_stack(lk->stack_id, lines);
  if (s == NULL)
    return NULL;
  *n = s->n;
  return s->frames;
}

const struct rc_frame *rc_leak_frames(const struct rc_leak *lk, uint32_t *n)
{
  return leak_frames(lk, n, true);
}

const struct rc_frame *rc_leak_frames_unlined(const struct rc_leak *lk, uint32_t *n)
{
  return leak_frames(lk, n, false);
}

unsigned long long rc_leak_age_ms(const struct rc_leakset *ls, const struct rc_leak *lk)
{
  if (lk->t_ns == 0 || lk->t_ns > ls->now_ns)
    return 0;
  return (ls->now_ns - lk->t_ns) / 1000000u;
}

const char *rc_signal_name(int sig)
{
  static const char *const names[] = {
    [SIGHUP] = "SIGHUP", [SIGINT] = "SIGINT", [SIGQUIT] = "SIGQUIT", [SIGILL] = "SIGILL",
    [SIGTRAP] = "SIGTRAP", [SIGABRT] = "SIGABRT", [SIGBUS] = "SIGBUS", [SIGFPE] = "SIGFPE",
    [SIGKILL] = "SIGKILL", [SIGUSR1] = "SIGUSR1", [SIGSEGV] = "SIGSEGV", [SIGUSR2] = "SIGUSR2",
    [SIGPIPE] = "SIGPIPE", [SIGALRM] = "SIGALRM", [SIGTERM] = "SIGTERM",
    [SIGSTKFLT] = "SIGSTKFLT", [SIGCHLD] = "SIGCHLD", [SIGCONT] = "SIGCONT",
    [SIGSTOP] = "SIGSTOP", [SIGTSTP] = "SIGTSTP", [SIGTTIN] = "SIGTTIN", [SIGTTOU] = "SIGTTOU",
    [SIGURG] = "SIGURG", [SIGXCPU] = "SIGXCPU", [SIGXFSZ] = "SIGXFSZ",
    [SIGVTALRM] = "SIGVTALRM", [SIGPROF] = "SIGPROF", [SIGWINCH] = "SIGWINCH",
    [SIGIO] = "SIGIO", [SIGPWR] = "SIGPWR", [SIGSYS] = "SIGSYS",
  };
  if (sig > 0 && (size_t)sig < RC_ARRAY_SIZE(names) && names[sig])
    return names[sig];
  return "SIGNAL";
}

const char *rc_cleanup_name(unsigned c)
{
  static const char *const names[] = {
    [RC_CLEAN_NONE] = "none", [RC_CLEAN_KILLED] = "killed", [RC_CLEAN_REAPED] = "reaped",
    [RC_CLEAN_REMOVED] = "removed", [RC_CLEAN_UNLINKED] = "unlinked",
    [RC_CLEAN_DELETED] = "deleted", [RC_CLEAN_DISARMED] = "disarmed",
    [RC_CLEAN_FAILED] = "failed",
  };
  return c < RC_ARRAY_SIZE(names) ? names[c] : "none";
}

static const char *errno_text(int e)
{
  switch (e) {
  case ENOENT: return "no such file or directory";
  case EACCES: return "permission denied";
  case ENOTDIR: return "not a directory";
  case EROFS: return "read-only file system";
  case ENOSPC: return "no space left on device";
  case EISDIR: return "is a directory";
  case EMFILE: return "too many open files";
  case ENXIO: return "no process has that FIFO open for reading";
  default: return "I/O error";
  }
}

static void complain_path(const char *what, const char *path, int err)
{
  struct rc_strbuf b;
  char buf[PATH_MAX + 200];
  rc_sb_init(&b, buf, sizeof buf);
  rc_sb_puts(&b, "rcleak: cannot write ");
  rc_sb_puts(&b, what);
  rc_sb_puts(&b, " to ");
  rc_sb_puts(&b, path);
  rc_sb_puts(&b, ": ");
  rc_sb_puts(&b, errno_text(err));
  rc_sb_putc(&b, '\n');
  (void)rc_write_all(rc_report_stderr(), b.buf, b.len);
}

RC_HOT static void write_text(const struct rc_leakset *ls, const struct rc_exit *ex)
{
  if (!rc_options.text_report || ls->n - ls->suppressed == 0)
    return;
  int fd = -1;
  if (rc_options.log_path[0]) {
    char path[PATH_MAX];
    rc_options_expand_path(rc_options.log_path, rc_pid, path, sizeof path);
    /* O_NONBLOCK: a FIFO nobody reads would block the exit for good
     * (ENXIO instead, and the report goes to stderr); one that is read gets
     * the report, rc_write_all waiting for room as a blocking write would,
     * but not for ever on a reader that stopped.  O_NOCTTY: a terminal
     * named here must not become the controlling one of a process that has
     * none. */
    fd = rc_sys_open(path, O_WRONLY | O_CREAT | O_APPEND | O_NONBLOCK | O_NOCTTY, 0644);
    if (fd < 0)
      complain_path("the text report", path, errno);
  }
  int out = fd >= 0 ? fd : rc_report_stderr();
  if (out >= 0)
    rc_report_text(out, ls, ex);
  if (fd >= 0)
    rc_sys_close(fd);
}

/* path with ".N" before a final ".json" (else after it), in out. */
static void numbered(const char *path, unsigned n, char *out, size_t outlen)
{
  size_t len = strlen(path);
  size_t stem = len >= 5 && memcmp(path + len - 5, ".json", 5) == 0 ? len - 5 : len;
  struct rc_strbuf b;
  rc_sb_init(&b, out, outlen);
  rc_sb_putn(&b, path, stem);
  rc_sb_putc(&b, '.');
  rc_sb_putu(&b, n);
  rc_sb_puts(&b, path + stem);
  rc_sb_cstr(&b);
}

/* Put the finished temporary file at path.  A template with %p names one
 * file per process, so a file already there is the report of an earlier
 * process that had this pid: pids are reused after pid_max processes (32768
 * here), which one `rcleak run` of a large test suite can exceed.  That
 * report is kept, and this one goes to the first free NAME.N.json (the
 * tool reads every *.json of the directory).  Without %p the path is the
 * one file the user named, replaced as before.  Raw system calls: rename
 * and link are interposed (tmp family), and this may run in a signal
 * handler. */
static bool publish_json(const char *tmp, const char *path)
{
  if (!strstr(rc_options.json_path, "%p"))
    return rc_syscall(SYS_rename, tmp, path) == 0;
  char cand[PATH_MAX + 16];
  for (unsigned n = 0; n <= 1000; n++) {
    const char *to = path;
    if (n > 0) {
      numbered(path, n, cand, sizeof cand);
      to = cand;
    }
    if (rc_syscall(SYS_renameat2, AT_FDCWD, tmp, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
      return true;
    if (errno == EEXIST)
      continue;
    if (errno != EINVAL && errno != ENOSYS)
      return false;
    /* No RENAME_NOREPLACE here (kernel or filesystem): link refuses an
     * existing name too; where there is no link either, replace. */
    if (rc_syscall(SYS_link, tmp, to) == 0) {
      (void)rc_syscall(SYS_unlink, tmp);
      return true;
    }
    if (errno == EEXIST)
      continue;
    return rc_syscall(SYS_rename, tmp, to) == 0;
  }
  errno = EEXIST;
  return false;
}

/* Why the JSON report could not be written, unless json_optional says that
 * its directory being gone is no news: `rcleak run` removes its directory
 * when the command ends, and a daemon that outlives the run, ending later,
 * has nowhere to write and no one to read it. */
static void complain_json(const char *path, int err)
{
  if (!(rc_options.json_optional && err == ENOENT))
    complain_path("the JSON report", path, err);
}

/* Whole or nothing: write a temporary file beside the target, then rename. */
RC_HOT static void write_json(const struct rc_leakset *ls, const struct rc_exit *ex)
{
  if (!rc_options.json_path[0])
    return;
  char path[PATH_MAX], tmp[PATH_MAX + 32];
  rc_options_expand_path(rc_options.json_path, rc_pid, path, sizeof path);
  struct rc_strbuf tb;
  rc_sb_init(&tb, tmp, sizeof tmp);
  rc_sb_puts(&tb, path);
  rc_sb_puts(&tb, ".tmp.");
  rc_sb_putu(&tb, (unsigned)rc_pid);
  rc_sb_cstr(&tb);
  /* Made here, never opened through a name someone else put there: `rcleak
   * run`'s directory is writable by every user (a process that dropped its
   * privileges writes there too), so a link planted at this name must not be
   * followed.  A file left by an earlier process of this pid is replaced. */
  int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
  int fd = rc_sys_open(tmp, flags, 0644);
  if (fd < 0 && errno == EEXIST && rc_syscall(SYS_unlink, tmp) == 0)
    fd = rc_sys_open(tmp, flags, 0644);
  if (fd < 0) {
    complain_json(path, errno);
    return;
  }
  bool ok = rc_report_json(fd, ls, ex);
  rc_sys_close(fd);
  if (!ok || !publish_json(tmp, path)) {
    complain_json(path, errno);
    (void)rc_syscall(SYS_unlink, tmp);
  }
}

static void clean_survivors(struct rc_leakset *ls)
{
  for (uint32_t i = 0; i < ls->n; i++) {
    struct rc_leak *lk = &ls->v[i];
    if (lk->flags & (RC_LEAK_SUPPRESSED | RC_LEAK_UNTRACKED))
      continue;
    if (!(rc_options.cleanup_kinds & (1u << lk->kind)))
      continue;
    const struct rc_family *f = rc_family_of(lk->kind);
    if (f && f->clean)
      f->clean(lk);
  }
}

/* verbosity=1: one line of what the report cost, for people tuning rcleak. */
static void say_stats(const struct rc_leakset *ls)
{
  char buf[256];
  struct rc_strbuf b;
  rc_sb_init(&b, buf, sizeof buf);
  rc_sb_puts(&b, "rcleak: pid ");
  rc_sb_puti(&b, rc_pid);
  rc_sb_puts(&b, ": ");
  rc_sb_putu(&b, ls->n - ls->suppressed);
  rc_sb_puts(&b, " leaks, ");
  rc_sb_putu(&b, ls->suppressed);
  rc_sb_puts(&b, " suppressed; ");
  rc_sb_putu(&b, rc_stack_distinct());
  rc_sb_puts(&b, " distinct stacks in ");
  rc_sb_putu(&b, rc_stack_bytes());
  rc_sb_puts(&b, " bytes, ");
  rc_sb_putu(&b, rc_stack_walks());
  rc_sb_puts(&b, " walks; report took ");
  rc_sb_putu(&b, (rc_now_ns() - ls->now_ns) / 1000u);
  rc_sb_puts(&b, " us\n");
  (void)rc_write_all(rc_report_stderr(), b.buf, b.len);
}

RC_HOT static int report_once(const struct rc_exit *ex)
{
  int saved = errno;
  rc_fork_settle();
  struct rc_leakset ls = {0};
  ls.now_ns = rc_now_ns();
  ls.by_signal = ex->by_signal;
  ls.interrupted_rcleak = ex->interrupted_rcleak;
  ls.in_flight_fd = ex->by_signal ? ex->in_flight_fd : -1;
  ls.ucontext = ex->by_signal ? ex->ucontext : NULL;
  ls.in_wrapper_call = -1;
  ls.cap = RC_MAX_LEAKS; /* ls.v: at the first leak (rc_leak_add) */
  for (size_t i = 0; i < RC_ARRAY_SIZE(rc_families); i++)
    if (rc_families[i]->collect)
      rc_families[i]->collect(&ls);

  if (ls.n > 0) {
    /* Symbols are only needed when there is something to show (or to match
     * against suppressions): a clean process reads no /proc/self/maps. */
    rc_nsymstacks = rc_stack_count() + 1;
    rc_symstacks = rc_arena_alloc(rc_nsymstacks * sizeof *rc_symstacks);
    rc_want_lines = !ex->in_signal_handler;
    rc_sym_allow_demangle(!ex->in_signal_handler);
    rc_sym_begin();
    rc_suppress_apply(&ls);
    clean_survivors(&ls);
  }
  write_text(&ls, ex);
  write_json(&ls, ex);
  if (rc_options.verbosity > 0)
    say_stats(&ls);
  errno = saved;
  return (int)(ls.n - ls.suppressed);
}

/* A report written to a pipe whose reader is gone (`prog 2>&1 | head -1`)
 * raises SIGPIPE, held pending by the mask above; delivered when the mask
 * is restored, it would end a program that was exiting 0 with 141.  One
 * the report raised (not pending before it) is taken back, unseen. */
static void discard_own_sigpipe(uint64_t pending_before)
{
  uint64_t bit = 1ull << (SIGPIPE - 1);
  if ((pending_before & bit) || !(rc_pending_signals() & bit))
    return;
  int saved = errno;
  uint64_t set = bit;
  struct timespec zero = {0, 0};
  (void)rc_syscall(SYS_rt_sigtimedwait, &set, NULL, &zero, sizeof set);
  errno = saved;
}

static _Atomic int rc_report_state; /* 0 not run, 1 running, 2 done */
static int rc_report_result;

/* Set while this thread writes the report: a signal that interrupts it (or
 * an exit called from a cleanup) must not wait for itself. */
static __thread int rc_tls_reporting __attribute__((tls_model("initial-exec")));

RC_HOT int rc_report_run(const struct rc_exit *ex)
{
  if (rc_tls_reporting)
    return rc_report_result;
  int expected = 0;
  if (!atomic_compare_exchange_strong(&rc_report_state, &expected, 1)) {
    /* Someone else is reporting (another thread exiting, or the thread we
     * interrupted): wait for it, so the process does not die mid-report. */
    struct timespec ts = {0, 1000000};
    while (atomic_load(&rc_report_state) != 2)
      nanosleep(&ts, NULL);
    return rc_report_result;
  }
  /* Every signal is blocked while this thread reports: a fatal signal that
   * arrives now would otherwise run rcleak's handler on this very thread,
   * which would wait forever for the report it interrupted.  It stays
   * pending and is delivered (report complete) when the mask is restored. */
  uint64_t saved_mask = rc_block_signals();
  uint64_t pending_before = rc_pending_signals();
  int mode = rc_enter();
  rc_tls_reporting = 1;
  rc_report_result = report_once(ex);
  rc_tls_reporting = 0;
  rc_leave(mode);
  atomic_store(&rc_report_state, 2);
  discard_own_sigpipe(pending_before);
  rc_restore_signals(saved_mask);
  return rc_report_result;
}
