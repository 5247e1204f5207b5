/* The child family at exit: which children are leaks, what they look like,
 * how they are cleaned, and how records cross exec.
 *
 * Kernel truth beats bookkeeping: a recorded child counts only if
 * /proc/PID/stat still shows a process with our pid as parent and a start
 * time inside the window recorded at creation (child_identity.c); one reaped
 * behind our back (SIGCHLD ignored, SA_NOCLDWAIT, a libc-internal wait, a
 * SIGCHLD handler that reaped it before the fork wrapper recorded it) simply
 * no longer matches.  Children no interposer saw (system()'s, a raw clone)
 * are found by listing this process's children and reported as untracked.
 *
 * Everything on the report path is async-signal-safe, because the report
 * also runs from rcleak's handler of a terminating signal: raw system calls,
 * stack buffers and the report arena; no malloc, no stdio, no locks. */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "child.h"
#include "fam_util.h"
#include "fdtable.h"
#include "handover.h"
#include "leaks.h"
#include "objtable.h"
#include "options.h"
#include "procfs.h"
#include "rc.h"
#include "real.h"
#include "scriptframes.h"
#include "strbuf.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

enum { RC_CHILD_RUNNING, RC_CHILD_STOPPED, RC_CHILD_ZOMBIE };

/* rc_obj.flags of a child handed over as the producer of an argument of
 * the exec (pick_producer): known, never reported or cleaned. */
enum { RC_CHILD_ARG_PRODUCER = 0x0001 };
static const char *const rc_child_state_names[] = {"running", "stopped", "zombie"};

/* ---- /proc/PID/stat ---- */

static void proc_path(struct rc_strbuf *b, pid_t pid, const char *leaf)
{
  rc_sb_puts(b, "/proc/");
  rc_sb_putu(b, (unsigned)pid);
  rc_sb_putc(b, '/');
  rc_sb_puts(b, leaf);
  rc_sb_cstr(b);
}

/* /proc/PID/<leaf> into buf (NUL-terminated): its length, or <= 0. */
static ssize_t proc_read(pid_t pid, const char *leaf, char *buf, size_t size)
{
  char path[48];
  struct rc_strbuf b;
  rc_sb_init(&b, path, sizeof path);
  proc_path(&b, pid, leaf);
  return rc_read_file(path, buf, size);
}

bool rc_proc_stat_read(pid_t pid, struct rc_proc_stat *st)
{
  char buf[1024];
  if (proc_read(pid, "stat", buf, sizeof buf) <= 0)
    return false;
  /* "pid (comm) S ppid ... starttime ...": comm may hold spaces and ')',
   * so fields are counted from the last ')'. */
  char *open = strchr(buf, '(');
  char *close = strrchr(buf, ')');
  if (open == NULL || close == NULL || close < open || close[1] != ' ')
    return false;
  size_t n = (size_t)(close - open - 1);
  if (n >= sizeof st->comm)
    n = sizeof st->comm - 1;
  memcpy(st->comm, open + 1, n);
  st->comm[n] = '\0';
  const char *p = close + 2;
  st->state = *p;
  st->ppid = 0;
  st->pgrp = 0;
  st->session = 0;
  st->tty = 0;
  st->start_time = 0;
  /* p is at field 3 (state); fields are single-space separated from here */
  for (int field = 3; *p && field <= 22; field++) {
    if (field == 4 || field == 5 || field == 6 || field == 7 || field == 22) {
      uint64_t v = 0;
      for (const char *q = p; *q >= '0' && *q <= '9'; q++)
        v = v * 10 + (uint64_t)(*q - '0');
      if (field == 4)
        st->ppid = (pid_t)v;
      else if (field == 5)
        st->pgrp = (pid_t)v;
      else if (field == 6)
        st->session = (pid_t)v;
      else if (field == 7)
        st->tty = (uint32_t)v;
      else
        st->start_time = v;
    }
    while (*p && *p != ' ')
      p++;
    while (*p == ' ')
      p++;
  }
  return st->start_time != 0;
}

/* Whether the live record `o` still names a child of this process: the
 * process with its pid exists, has us as parent and was born in the
 * record's window.  `st` receives what /proc says. */
static bool record_matches(const struct rc_obj *o, struct rc_proc_stat *st)
{
  return rc_proc_stat_read((pid_t)o->key, st) && st->ppid == rc_pid &&
         rc_child_born_within(st->start_time, o->data[0], o->data[1]);
}

/* ---- recording (called from the interposers) ---- */

/* errno lives in a thread-local page that, right after a fork, the parent
 * still shares with the child: storing even the same value would copy it. */
static inline void restore_errno(int saved)
{
  /* cppcheck-suppress duplicateConditionalAssign */
  if (errno != saved)
    errno = saved;
}

/* Records of children that vanished without a wait we saw (SIGCHLD ignored,
 * a handler that reaped the child before its fork wrapper recorded it) are
 * dropped when the live records pile up, so a long-running program that
 * forks forever does not fill the table.  The trigger is the live count, not
 * the number of forks: a program that waits for its children never prunes,
 * and one that does not pays one /proc read per record each time the count
 * doubles (amortised O(1) per fork).  The exit hook does not depend on it. */
#define RC_CHILD_PRUNE_MIN 1024u
static uint32_t rc_child_prune_at = RC_CHILD_PRUNE_MIN;

static bool prune_one(struct rc_obj *o, void *arg)
{
  (void)arg;
  struct rc_proc_stat st;
  if (o->owner == rc_pid && !record_matches(o, &st))
    rc_obj_remove_slot(o);
  return true;
}

static void prune_if_piled_up(void)
{
  if (RC_LIKELY(rc_obj_count(RC_KIND_CHILD) < __atomic_load_n(&rc_child_prune_at,
                                                                 __ATOMIC_RELAXED)))
    return;
  int mode = rc_enter();
  rc_obj_each(RC_KIND_CHILD, prune_one, NULL);
  rc_leave(mode);
  uint32_t live = rc_obj_count(RC_KIND_CHILD);
  uint32_t next = live < RC_CHILD_PRUNE_MIN / 2 ? RC_CHILD_PRUNE_MIN : 2 * live;
  __atomic_store_n(&rc_child_prune_at, next, __ATOMIC_RELAXED);
}

void rc_child_birth_begin(struct rc_child_birth *b)
{
  b->stack = rc_obj_capture();
  b->fd_seq = rc_fd_seq_now();
  b->after = rc_child_clock_now();
}

/* The fork path: no system call and no /proc read (the birth window replaces
 * the start time read from /proc/PID/stat; see child_identity.c).  After the
 * fork the parent writes only the record's slot and the table's live count
 * (two pages), and errno only if it changed. */
void rc_child_acquired(pid_t pid, unsigned fn, const struct rc_child_birth *b)
{
  if (rc_tls_mode == RC_MODE_VFORK || pid <= 0)
    return;
  uint64_t born_before = rc_child_clock_now();
  int saved = errno;
  /* Any older record with this pid is stale: the kernel handed the number
   * out again, so that process is gone.  (A child already reaped by a
   * SIGCHLD handler before we got here is recorded all the same; its record
   * no longer matches anything, like one reaped with SIGCHLD ignored.) */
  rc_obj_remove(RC_KIND_CHILD, (uint64_t)pid);
  struct rc_obj *o = rc_obj_begin_stack(RC_KIND_CHILD, (uint64_t)pid, fn, b->stack);
  if (o != NULL) {
    o->data[0] = b->after;
    o->data[1] = born_before;
    o->aux = b->fd_seq;
    rc_obj_publish(o);
  }
  prune_if_piled_up();
  restore_errno(saved);
}

/* The children a signal ended (child.h), in .lbss: written only when a
 * child is killed, so a process that reaps none pays no page for them. */
static struct {
  pid_t pid, owner;
  int sig;
} rc_killed[RC_KILLED_MAX] RC_LARGE;
static uint32_t rc_killed_next;

/* The wait path: one bounded lookup by pid (objtable.h), nothing scanned. */
void rc_child_reaped(pid_t pid, int killed_by)
{
  if (rc_tls_mode == RC_MODE_VFORK)
    return;
  int saved = errno;
  rc_obj_remove(RC_KIND_CHILD, (uint64_t)pid);
  if (killed_by != 0) {
    uint32_t i = __atomic_fetch_add(&rc_killed_next, 1, __ATOMIC_RELAXED) % RC_KILLED_MAX;
    __atomic_store_n(&rc_killed[i].pid, 0, __ATOMIC_RELAXED); /* being written */
    rc_killed[i].sig = killed_by;
    rc_killed[i].owner = rc_pid;
    __atomic_store_n(&rc_killed[i].pid, pid, __ATOMIC_RELEASE);
  }
  restore_errno(saved);
}

bool rc_child_killed(uint32_t i, pid_t *pid, int *sig)
{
  if (i >= RC_KILLED_MAX)
    return false;
  *pid = __atomic_load_n(&rc_killed[i].pid, __ATOMIC_ACQUIRE);
  *sig = rc_killed[i].sig;
  /* a fork child's copy of its parent's entries is not its own */
  if (*pid > 0 && rc_killed[i].owner != rc_pid)
    *pid = 0;
  return true;
}

/* ---- the exit report ---- */

#define RC_CHILD_SEEN_MAX 65536

struct collect_ctx {
  struct rc_leakset *ls;
  pid_t *seen; /* tracked children already reported */
  uint32_t nseen;
  char *self_cmdline; /* ours, to spot a child that has not exec'd yet */
  ssize_t self_len;
  uint64_t exec_deadline; /* CLOCK_MONOTONIC; 0 until a child needs it */
  uint64_t end_deadline;  /* the same, for children asked to end */
};

static void nap_ms(long ms);

static struct rc_leakset *rc_child_ls; /* for the batch clean, see child_clean */

static bool seen(const struct collect_ctx *c, pid_t pid)
{
  for (uint32_t i = 0; i < c->nseen; i++)
    if (c->seen[i] == pid)
      return true;
  return false;
}

/* "sleep 30": the cmdline with NULs as spaces; "[comm]" when it is empty (a
 * zombie, a kernel-side clone), as ps shows them. */
static const char *command_of(pid_t pid, const struct rc_proc_stat *st)
{
  char buf[4096];
  ssize_t n = proc_read(pid, "cmdline", buf, sizeof buf);
  /* A live process shows an empty cmdline while it is inside execve (its
   * old memory is gone, the new one not set up yet): ask again shortly. */
  for (int tries = 0; n <= 0 && st->state != 'Z' && tries < 50; tries++) {
    nap_ms(1);
    n = proc_read(pid, "cmdline", buf, sizeof buf);
  }
  while (n > 0 && buf[n - 1] == '\0')
    n--;
  if (n <= 0) {
    char c[48];
    struct rc_strbuf cb;
    rc_sb_init(&cb, c, sizeof c);
    rc_sb_putc(&cb, '[');
    rc_sb_puts(&cb, st->comm);
    rc_sb_putc(&cb, ']');
    return rc_arena_strdup(rc_sb_cstr(&cb));
  }
  for (ssize_t i = 0; i < n; i++)
    if (buf[i] == '\0')
      buf[i] = ' ';
  buf[n] = '\0';
  return rc_arena_strdup(buf);
}

static uint8_t state_of(char s)
{
  if (s == 'Z')
    return RC_CHILD_ZOMBIE;
  if (s == 'T' || s == 't')
    return RC_CHILD_STOPPED;
  return RC_CHILD_RUNNING;
}

/* Leads a session of its own without a terminal: detached on purpose.  A
 * forkpty child leads one too, but with the pseudo-terminal as its
 * controlling terminal: a terminal session, not a daemon. */
static bool detached(pid_t pid, const struct rc_proc_stat *st)
{
  return st->session == pid && st->tty == 0;
}

/* Ended: a zombie, or another process under the pid. */
static bool ended(const struct rc_proc_stat *st, uint64_t start_time)
{
  return st->start_time != start_time || st->state == 'Z';
}

/* nohup and setsid(1) exec the command they are given once they have
 * detached it (SIGHUP ignored, a new session): a child still running one
 * of them is on its way to that, and gets the same moment. */
static bool detaching_launcher(const char *cmdline, ssize_t n)
{
  if (n <= 0)
    return false;
  const char *argv0 = cmdline, *base = argv0;
  for (const char *p = argv0; p < cmdline + n && *p; p++)
    if (*p == '/')
      base = p + 1;
  return strcmp(base, "nohup") == 0 || strcmp(base, "setsid") == 0;
}

/* Whether the process ignores SIGHUP (/proc/PID/status SigIgn), as nohup
 * leaves the command it runs: made to outlive its terminal and parent. */
static bool ignores_sighup(pid_t pid)
{
  char buf[2048];
  if (proc_read(pid, "status", buf, sizeof buf) <= 0)
    return false;
  const char *p = strstr(buf, "\nSigIgn:");
  if (p == NULL)
    return false;
  p += 9;
  while (*p == ' ' || *p == '\t')
    p++;
  const char *end = p;
  while ((*end >= '0' && *end <= '9') || (*end >= 'a' && *end <= 'f'))
    end++;
  if (end == p)
    return false;
  char last = end[-1]; /* the lowest four signals: SIGHUP is bit 0 */
  unsigned v = last <= '9' ? (unsigned)(last - '0') : 10u + (unsigned)(last - 'a');
  return v & 1u;
}

/* A child caught between fork and exec (a shell's `cmd &` when the shell
 * exits at once) still shows our own command line, which says nothing about
 * what it runs.  Give such children a moment to exec, or to detach as a
 * daemon (daemon.c): the parent of a daemon typically exits right after the
 * fork, while the child is on its way to setsid().  250 ms in total for
 * the whole report, so children that never exec (workers) cost little. */
static void await_exec(struct collect_ctx *c, pid_t pid, uint64_t start_time)
{
  if (c->self_len <= 0 || rc_daemon_self())
    return;
  char buf[4096];
  for (;;) {
    ssize_t n = proc_read(pid, "cmdline", buf, sizeof buf);
    /* empty: inside execve (see command_of): ask again */
    bool launcher = detaching_launcher(buf, n);
    if (n > 0 && !launcher &&
        (n != c->self_len || memcmp(buf, c->self_cmdline, (size_t)n) != 0))
      return; /* exec'd */
    /* gone or ended: nothing to wait for; a launcher that detached its
     * command still execs it, and its command line is what to show */
    struct rc_proc_stat st;
    if (!rc_proc_stat_read(pid, &st) || ended(&st, start_time) ||
        (detached(pid, &st) && !launcher && n > 0))
      return;
    uint64_t now = rc_now_ns();
    if (c->exec_deadline == 0)
      c->exec_deadline = now + 250000000u;
    if (now >= c->exec_deadline)
      return;
    nap_ms(1);
  }
}

/* A child this process asked to end (child_signaled.c) that ends within the
 * grace rcleak gives the children it ends itself (kill_grace_ms, shared by
 * all of them): released, its zombie left for init as without rcleak. */
static bool ends_as_asked(struct collect_ctx *c, pid_t pid, const struct rc_proc_stat *st0)
{
  if (!rc_child_asked_to_end(pid, st0))
    return false;
  struct rc_proc_stat st = *st0;
  for (;;) {
    if (st.state == 'Z' || st.state == 'X')
      return true;
    uint64_t now = rc_now_ns();
    if (c->end_deadline == 0)
      c->end_deadline = now + (uint64_t)rc_options.kill_grace_ms * 1000000u;
    if (now >= c->end_deadline)
      return false;
    nap_ms(1);
    if (!rc_proc_stat_read(pid, &st) || st.start_time != st0->start_time)
      return true; /* gone: reaped by another thread meanwhile */
  }
}

static struct rc_leak *add_child(struct collect_ctx *c, pid_t pid, const struct rc_proc_stat *st0,
                                 bool own)
{
  struct rc_proc_stat stb, *st = &stb;
  *st = *st0;
  if (st->state != 'Z' && st->state != 'T' && st->state != 't') {
    await_exec(c, pid, st0->start_time);
    if (!rc_proc_stat_read(pid, st) || st->start_time != st0->start_time)
      return NULL; /* it ended meanwhile: reaped by someone, no leak */
  }
  /* enum rc_daemon_why: which of the two detached (daemon.c) */
  uint8_t daemon = st->state == 'Z'         ? RC_NOT_DAEMON
                   : detached(pid, st)     ? RC_DAEMON_CHILD_DETACHED
                   : rc_daemon_self()      ? RC_DAEMON_SELF_DETACHED
                   : ignores_sighup(pid)   ? RC_DAEMON_NOHUP
                                           : RC_NOT_DAEMON;
  if (daemon == RC_NOT_DAEMON && st->state != 'Z') {
    if (rc_fork_child)
      daemon = RC_DAEMON_FORK_MIDDLE;
    else if (!c->ls->by_signal && rc_bash_disowned(pid, own))
      daemon = RC_DAEMON_BASH_DISOWNED;
  }
  struct rc_leak *lk = rc_leak_add(c->ls, RC_KIND_CHILD);
  if (lk == NULL)
    return NULL;
  lk->u.child.pid = pid;
  lk->u.child.state = state_of(st->state);
  lk->u.child.start_time = st->start_time;
  lk->u.child.daemon = daemon;
  lk->target = command_of(pid, st);
  return lk;
}

static bool collect_tracked(struct rc_obj *o, void *arg)
{
  struct collect_ctx *c = arg;
  if (o->owner != rc_pid)
    return true; /* the parent's record, inherited by fork: not ours */
  pid_t pid = (pid_t)o->key;
  struct rc_proc_stat st;
  if (!record_matches(o, &st) || st.state == 'X')
    return true; /* reaped by a path no wrapper saw: released */
  if (seen(c, pid))
    return true;
  if ((o->flags & RC_CHILD_ARG_PRODUCER) || rc_bash_procsub(pid) || ends_as_asked(c, pid, &st)) {
    /* an exec's argument producer (pick_producer), bash's process
     * substitution, a child that ended as the program asked: not a leak,
     * and known, so not an untracked one either */
    if (c->nseen < RC_CHILD_SEEN_MAX)
      c->seen[c->nseen++] = pid;
    return true;
  }
  struct rc_leak *lk = add_child(c, pid, &st, !(o->flags & RC_OBJF_ACROSS_EXEC));
  if (lk == NULL)
    return c->ls->n < c->ls->cap; /* stop only when the set is full */
  rc_fam_fill(lk, o);
  if (c->nseen < RC_CHILD_SEEN_MAX)
    c->seen[c->nseen++] = pid;
  return true;
}

static void consider_untracked(struct collect_ctx *c, pid_t pid)
{
  if (pid <= 0 || seen(c, pid))
    return;
  struct rc_proc_stat st;
  if (!rc_proc_stat_read(pid, &st) || st.ppid != rc_pid)
    return;
  if (rc_bash_procsub(pid) || ends_as_asked(c, pid, &st))
    return;
  struct rc_leak *lk = add_child(c, pid, &st, false);
  if (lk != NULL)
    lk->flags |= RC_LEAK_UNTRACKED;
  if (c->nseen < RC_CHILD_SEEN_MAX)
    c->seen[c->nseen++] = pid;
}

static pid_t parse_pid(const char **s)
{
  const char *p = *s;
  pid_t v = 0;
  while (*p >= '0' && *p <= '9')
    v = v * 10 + (*p++ - '0');
  *s = p;
  return v;
}

/* Call fn for each numeric entry of a /proc directory. */
struct numeric_ctx {
  void (*fn)(pid_t, void *);
  void *arg;
};

static bool numeric_entry(const char *name, unsigned char type, void *arg)
{
  (void)type;
  struct numeric_ctx *n = arg;
  if (*name >= '1' && *name <= '9')
    n->fn(parse_pid(&name), n->arg);
  return true;
}

static void each_numeric(const char *dir, void (*fn)(pid_t, void *), void *arg)
{
  struct numeric_ctx n = {fn, arg};
  (void)rc_dir_each(AT_FDCWD, dir, false, numeric_entry, &n);
}

/* Fast path: /proc/self/task/TID/children (CONFIG_PROC_CHILDREN). */
struct task_ctx {
  struct collect_ctx *c;
  bool unavailable;
};

static void task_children(pid_t tid, void *arg)
{
  struct task_ctx *t = arg;
  char path[64], buf[8192];
  struct rc_strbuf b;
  rc_sb_init(&b, path, sizeof path);
  rc_sb_puts(&b, "/proc/self/task/");
  rc_sb_putu(&b, (unsigned)tid);
  rc_sb_puts(&b, "/children");
  rc_sb_cstr(&b);
  int saved = errno;
  int fd = rc_sys_open(path, O_RDONLY, 0);
  if (fd < 0) {
    if (errno == ENOENT && tid == rc_pid)
      t->unavailable = true;
    errno = saved;
    return;
  }
  size_t got = 0;
  for (;;) {
    long r = rc_syscall(SYS_read, fd, buf + got, sizeof buf - 1 - got);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      break;
    got += (size_t)r;
    if (got == sizeof buf - 1)
      break;
  }
  buf[got] = '\0';
  rc_sys_close(fd);
  errno = saved;
  for (const char *p = buf; *p;) {
    if (*p >= '0' && *p <= '9')
      consider_untracked(t->c, parse_pid(&p));
    else
      p++;
  }
}

static void any_process(pid_t pid, void *arg)
{
  consider_untracked(arg, pid);
}

RC_HOT static void child_collect(struct rc_leakset *ls)
{
  rc_child_ls = ls;
  /* One system call answers the common case, a process with no children at
   * all (ECHILD): then there is nothing to look up in /proc, and nothing to
   * allocate (a clean report maps no arena).  WNOWAIT consumes nothing;
   * __WALL counts clone children too. */
  siginfo_t si;
  memset(&si, 0, sizeof si);
  int saved = errno;
  long any = rc_syscall(SYS_waitid, P_ALL, 0, &si, WEXITED | WSTOPPED | WCONTINUED | WNOHANG |
                                                   WNOWAIT | __WALL, NULL);
  bool none = any < 0 && errno == ECHILD;
  errno = saved;
  if (none)
    return;
  struct collect_ctx c = {.ls = ls,
                          .seen = rc_arena_alloc(RC_CHILD_SEEN_MAX * sizeof(pid_t)),
                          .self_cmdline = rc_arena_alloc(4096)};
  if (c.seen == NULL || c.self_cmdline == NULL)
    return;
  c.self_len = rc_read_file("/proc/self/cmdline", c.self_cmdline, 4096);
  rc_obj_each(RC_KIND_CHILD, collect_tracked, &c);
  struct task_ctx t = {&c, false};
  each_numeric("/proc/self/task", task_children, &t);
  if (t.unavailable) /* no children files: look at every process's parent */
    each_numeric("/proc", any_process, &c);
}

/* ---- cleaning ---- */

struct victim {
  struct rc_leak *lk;
  pid_t pid;
  int pidfd; /* pins the process once its identity is checked; -1 if none */
  bool done;
};

/* The leak's start time is the one /proc showed when the report collected
 * it, already checked against the record's birth window: from there on the
 * identity is exact. */
static bool is_ours(const struct rc_leak *lk, struct rc_proc_stat *st)
{
  return rc_proc_stat_read(lk->u.child.pid, st) && st->ppid == rc_pid &&
         st->start_time == lk->u.child.start_time;
}

static long send_sig(const struct victim *v, int sig)
{
  if (v->pidfd >= 0)
    return rc_syscall(SYS_pidfd_send_signal, v->pidfd, sig, NULL, 0);
  return rc_syscall(SYS_kill, v->pid, sig);
}

/* Reap the victim if it has ended; true when it is gone. */
static bool try_reap(struct victim *v)
{
  siginfo_t si;
  memset(&si, 0, sizeof si);
  long r = v->pidfd >= 0
               ? rc_syscall(SYS_waitid, P_PIDFD, v->pidfd, &si, WEXITED | WNOHANG, NULL)
               : rc_syscall(SYS_waitid, P_PID, v->pid, &si, WEXITED | WNOHANG, NULL);
  if (r == 0 && si.si_pid != 0)
    return true;
  return r < 0 && errno == ECHILD; /* someone else reaped it meanwhile */
}

static void fail(struct rc_leak *lk, const char *why)
{
  lk->cleanup = RC_CLEAN_FAILED;
  lk->detail = why;
}

static void nap_ms(long ms)
{
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* Wait until every victim not done is reaped, or `ms` passes; each reaped
 * one gets `sig` as the signal that worked. */
static void reap_all(struct victim *v, uint32_t n, long ms, int sig)
{
  uint64_t deadline = rc_now_ns() + (uint64_t)ms * 1000000u;
  for (;;) {
    bool pending = false;
    for (uint32_t i = 0; i < n; i++) {
      if (v[i].done)
        continue;
      if (try_reap(&v[i])) {
        v[i].done = true;
        v[i].lk->cleanup = RC_CLEAN_KILLED;
        v[i].lk->cleanup_sig = sig;
      } else {
        pending = true;
      }
    }
    if (!pending || rc_now_ns() >= deadline)
      return;
    nap_ms(2);
  }
}

/* All leaked children are cleaned together, on the first call, so that N
 * children ignoring SIGTERM cost one grace period, not N: SIGTERM to all
 * (plus SIGCONT to a stopped one, or the SIGTERM would wait for it), wait up
 * to kill_grace_ms, SIGKILL the rest, reap.  Zombies are just reaped. */
static void child_clean(struct rc_leak *first)
{
  if (first->cleanup != RC_CLEAN_NONE || first->u.child.daemon)
    return; /* done with an earlier one of the batch, or left running */
  /* The batch: `first` and every later child leak the report will clean
   * (the same filter as report.c's clean_survivors). */
  struct rc_leakset *ls = rc_child_ls;
  bool in_set = ls != NULL && first >= ls->v && first < ls->v + ls->n;
  uint32_t from = in_set ? (uint32_t)(first - ls->v) : 0;
  uint32_t to = in_set ? ls->n : 1;
  struct victim *v = rc_arena_alloc((to - from) * sizeof *v);
  if (v == NULL) {
    fail(first, "out of memory");
    return;
  }
  uint32_t n = 0;
  for (uint32_t i = from; i < to; i++) {
    struct rc_leak *lk = in_set ? &ls->v[i] : first;
    if (lk != first && (lk->kind != RC_KIND_CHILD || lk->cleanup != RC_CLEAN_NONE ||
                        lk->u.child.daemon ||
                        (lk->flags & (RC_LEAK_SUPPRESSED | RC_LEAK_UNTRACKED))))
      continue;
    struct rc_proc_stat st;
    if (!is_ours(lk, &st)) {
      fail(lk, "no longer this process's child");
      continue;
    }
    struct victim *x = &v[n];
    x->lk = lk;
    x->pid = lk->u.child.pid;
    x->pidfd = (int)rc_syscall(SYS_pidfd_open, x->pid, 0);
    if (x->pidfd >= 0 && !is_ours(lk, &st)) {
      /* the pid changed hands between the check and the pidfd */
      rc_sys_close(x->pidfd);
      fail(lk, "no longer this process's child");
      continue;
    }
    n++;
    if (st.state == 'Z') {
      x->done = true;
      if (try_reap(x))
        lk->cleanup = RC_CLEAN_REAPED;
      else
        fail(lk, "could not reap the zombie");
      continue;
    }
    if (send_sig(x, SIGTERM) != 0) {
      x->done = true;
      fail(lk, errno == EPERM ? "permission denied" : "cannot signal it");
      continue;
    }
    if (st.state == 'T' || st.state == 't')
      (void)send_sig(x, SIGCONT);
  }
  reap_all(v, n, rc_options.kill_grace_ms, SIGTERM);
  bool killed = false;
  for (uint32_t i = 0; i < n; i++)
    if (!v[i].done) {
      (void)send_sig(&v[i], SIGKILL);
      killed = true;
    }
  if (killed) /* SIGKILL is not refused; the bound is a safety net (D state) */
    reap_all(v, n, 10000, SIGKILL);
  for (uint32_t i = 0; i < n; i++) {
    if (!v[i].done)
      fail(v[i].lk, "still alive after SIGKILL");
    if (v[i].pidfd >= 0)
      rc_sys_close(v[i].pidfd);
  }
}

static void child_json(struct rc_strbuf *o, const struct rc_leak *lk)
{
  rc_sb_puts(o, "\"pid\": ");
  rc_sb_puti(o, lk->u.child.pid);
  rc_sb_puts(o, ", \"state\": \"");
  rc_sb_puts(o, rc_child_state_names[lk->u.child.state]);
  rc_sb_puts(o, "\", \"command\": ");
  rc_sb_put_json_str(o, lk->target ? lk->target : "");
  if (lk->u.child.daemon) /* only then: the schema of other children is unchanged */
    rc_sb_puts(o, ", \"daemon\": true");
}

static void child_describe(struct rc_strbuf *o, const struct rc_leak *lk)
{
  rc_sb_puts(o, "child ");
  rc_sb_puti(o, lk->u.child.pid);
  rc_sb_puts(o, ": ");
  rc_sb_puts(o, rc_child_state_names[lk->u.child.state]);
  if (lk->target && *lk->target) {
    rc_sb_putc(o, ' ');
    rc_sb_puts(o, lk->target);
  }
  if (lk->u.child.daemon == RC_DAEMON_CHILD_DETACHED)
    rc_sb_puts(o, " (a daemon: it detached into a session of its own; left running)");
  else if (lk->u.child.daemon == RC_DAEMON_SELF_DETACHED)
    rc_sb_puts(o, " (a daemon: started after this process detached into a session of its "
                  "own; left running)");
  else if (lk->u.child.daemon == RC_DAEMON_NOHUP)
    rc_sb_puts(o, " (a daemon: it ignores SIGHUP, as nohup leaves it; left running)");
  else if (lk->u.child.daemon == RC_DAEMON_BASH_DISOWNED)
    rc_sb_puts(o, " (a daemon: bash's disown let it go; left running)");
  else if (lk->u.child.daemon == RC_DAEMON_FORK_MIDDLE)
    rc_sb_puts(o, " (a daemon: a fork child that never exec'd left it, the middle of a double "
                  "fork such as a shell's ( cmd & ); left running)");
}

const struct rc_family rc_family_child = {
  .kind = RC_KIND_CHILD,
  .noun = "child process",
  .plural = "child processes",
  .collect = child_collect,
  .clean = child_clean,
  .json_fields = child_json,
  .describe = child_describe,
};

/* ---- across exec (handover.h) ---- */

/* "child <pid> <acquirer> <tid> <t_ns> <born_after> <born_before> " + the
 * stack.  The new image reads the same CLOCK_BOOTTIME, so the window stays
 * valid across exec. */
#define RC_ARG_PRODUCERS_MAX 64

struct how_ctx {
  struct rc_strbuf *o;
  int count;
  int nproducers;
  pid_t producers[RC_ARG_PRODUCERS_MAX];
};

/* The producer of a pipe the new program is given as an argument.  bash runs
 * the last command of `bash -c 'cmd <(producer)'` as pipe, fork (the
 * producer, writing into the pipe), exec of `cmd /dev/fd/63`.  cmd reads
 * what the producer writes, never knew it had a child, and natively the
 * producer just outlives it or becomes a zombie that init reaps: it is
 * cmd's input, not a leak of cmd.  It is the first child this process made
 * after the pipe (the pipe's descriptor seq against the fd_seq the child's
 * record took at its fork).  By that order and not by the child's own
 * descriptors: a producer as quick as `echo a` is already a zombie, with no
 * /proc/PID/fd to read, by the time of the exec. */
struct producer_pick {
  uint32_t seq;      /* the pipe's */
  pid_t pid;         /* the first child made after it so far, 0 if none */
  uint64_t born;
};

static bool pick_producer(struct rc_obj *o, void *arg)
{
  struct producer_pick *p = arg;
  if (o->owner == rc_pid && !(o->flags & RC_OBJF_ACROSS_EXEC) && o->aux >= p->seq &&
      (p->pid == 0 || o->data[0] < p->born)) {
    p->pid = (pid_t)o->key;
    p->born = o->data[0];
  }
  return true;
}

static void find_producers(struct how_ctx *h)
{
  uint32_t seq[RC_ARG_PRODUCERS_MAX];
  int n = rc_handover_argument_pipes(seq, RC_ARG_PRODUCERS_MAX);
  for (int i = 0; i < n; i++) {
    struct producer_pick p = {seq[i], 0, 0};
    rc_obj_each(RC_KIND_CHILD, pick_producer, &p);
    if (p.pid != 0)
      h->producers[h->nproducers++] = p.pid;
  }
}

static bool is_producer(const struct how_ctx *h, pid_t pid)
{
  for (int i = 0; i < h->nproducers; i++)
    if (h->producers[i] == pid)
      return true;
  return false;
}

static bool handover_one(struct rc_obj *o, void *arg)
{
  struct how_ctx *h = arg;
  if (o->owner != rc_pid)
    return true;
  /* A producer is handed over all the same, so that the new image knows it
   * for what it is rather than finding it as an untracked child; so is a
   * process substitution of bash's that the new program writes to or reads
   * from as a redirection (`exec > >(tee log)` before the last command). */
  bool producer = (o->flags & RC_CHILD_ARG_PRODUCER) || is_producer(h, (pid_t)o->key) ||
                  rc_bash_procsub((pid_t)o->key);
  rc_sb_puts(h->o, producer ? "argchild " : "child ");
  rc_sb_putu(h->o, o->key);
  rc_sb_putc(h->o, ' ');
  rc_sb_puts(h->o, rc_fn_name(o->fn) ? rc_fn_name(o->fn) : "-");
  rc_sb_putc(h->o, ' ');
  rc_sb_puti(h->o, o->tid);
  rc_sb_putc(h->o, ' ');
  rc_sb_putu(h->o, o->t_ns);
  rc_sb_putc(h->o, ' ');
  rc_sb_putu(h->o, o->data[0]);
  rc_sb_putc(h->o, ' ');
  rc_sb_putu(h->o, o->data[1]);
  rc_sb_putc(h->o, ' ');
  rc_handover_put_stack(h->o, o->stack_id,
                        (o->flags & RC_OBJF_FOREIGN_STACK) ? RC_FDF_FOREIGN_STACK : 0);
  h->count++;
  return true;
}

int rc_child_handover_write(struct rc_strbuf *o);
int rc_child_handover_write(struct rc_strbuf *o)
{
  struct how_ctx h = {.o = o};
  find_producers(&h);
  rc_obj_each(RC_KIND_CHILD, handover_one, &h);
  return h.count;
}

bool rc_child_handover_read(const char *kind, char *fields, uint32_t stack);
bool rc_child_handover_read(const char *kind, char *fields, uint32_t stack)
{
  bool producer = strcmp(kind, "argchild") == 0;
  if (!producer && strcmp(kind, "child") != 0)
    return false;
  char *p = fields;
  pid_t pid = (pid_t)strtol(p, &p, 10);
  while (*p == ' ')
    p++;
  char *name = p;
  while (*p && *p != ' ')
    p++;
  if (*p)
    *p++ = '\0';
  unsigned fn = rc_fn_from_name(name);
  int32_t tid = (int32_t)strtol(p, &p, 10);
  uint64_t t_ns = strtoull(p, &p, 10);
  uint64_t born_after = strtoull(p, &p, 10);
  uint64_t born_before = strtoull(p, &p, 10);
  if (pid <= 0)
    return true;
  rc_obj_remove(RC_KIND_CHILD, (uint64_t)pid);
  struct rc_obj *o = rc_obj_begin(RC_KIND_CHILD, (uint64_t)pid, fn);
  if (o != NULL) {
    o->tid = tid;
    o->t_ns = t_ns;
    o->stack_id = stack;
    o->flags |= RC_OBJF_ACROSS_EXEC | RC_OBJF_FOREIGN_STACK;
    if (producer)
      o->flags |= RC_CHILD_ARG_PRODUCER;
    o->data[0] = born_after;
    o->data[1] = born_before;
    rc_obj_publish(o);
  }
  return true;
}
