/* Interposers of the child family: what creates a child process (fork,
 * posix_spawn, posix_spawnp, popen; vfork is in vfork.S) and what reaps one
 * (the wait family, pclose).
 *
 * glibc's popen and system start their children through an internal
 * posix_spawn (__spawni) that no interposer sees, so popen needs its own
 * wrapper; system() is deliberately not wrapped: it waits for its own child,
 * and a child it leaves behind is found at exit by the /proc scan and
 * reported as untracked.
 *
 * A child is released only when the kernel says it was reaped: a wait call
 * that returned it with an exit or death status (not a stop or continue, not
 * with WNOWAIT).  Children reaped by the kernel because SIGCHLD is ignored
 * need no wrapper at all: the exit hook checks every record against /proc,
 * and a child that no longer exists is no leak.
 *
 * Every creating wrapper reads CLOCK_BOOTTIME (vDSO) and captures its
 * caller's stack just before the real call (rc_child_birth_begin): with the
 * reading rc_child_acquired takes just after, the clock brackets the child's
 * birth, which identifies it later (child_identity.c). */
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include "child.h"
#include "fdtable.h"
#include "objtable.h"
#include "rc.h"
#include "real.h"

RC_EXPORT pid_t fork(void)
{
  struct rc_child_birth b;
  rc_child_birth_begin(&b);
  pid_t pid = REAL(fork)();
  if (pid > 0)
    rc_child_acquired(pid, RC_FN_fork, &b);
  return pid;
}

/* openpty + fork + login_tty in the child.  glibc's fork inside it is an
 * internal call, so the child is recorded here, with the pseudo-terminal's
 * master end, the one descriptor forkpty leaves in the parent. */
RC_EXPORT pid_t forkpty(int *amaster, char *name, const struct termios *termp,
                        const struct winsize *winp)
{
  struct rc_child_birth b;
  rc_child_birth_begin(&b);
  pid_t pid = REAL(forkpty)(amaster, name, termp, winp);
  if (pid > 0) {
    rc_child_acquired(pid, RC_FN_forkpty, &b);
    rc_fd_acquired(*amaster, RC_FN_forkpty);
  }
  return pid;
}

/* clone(2)'s glibc wrapper runs no atfork handler, so a new process made
 * with it (no CLONE_VM) went on believing it was its parent: its report
 * carried the parent's pid and leaks.  Its child now runs rcleak's
 * after-fork step before the program's function, and reports as a process
 * ending with _exit when it returns; the parent records it like a fork's.
 * The call's arguments live in the wrapper's frame, which the child has its
 * own copy of.  Threads (CLONE_THREAD) and processes sharing our memory
 * (CLONE_VM: vfork-like) pass through: the latter's writes would be the
 * parent's. */
struct rc_clone_call {
  int (*fn)(void *);
  void *arg;
};

static void clone_child_exit(int status)
{
  REAL(_exit)(rc_underscore_exit_status(status));
}

/* The stack the program gave its clone child may be small (it chose the
 * size for its own function: 8 KiB is enough for many), and the report
 * needs more; so it runs on a stack of rcleak's own, with the context that
 * switches to it at the stack's low end.  Never returns. */
#define RC_CLONE_EXIT_STACK (256u << 10)
static void clone_child_report_and_exit(int status)
{
  char *m = mmap(NULL, RC_CLONE_EXIT_STACK, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (m != MAP_FAILED) {
    ucontext_t *ctx = (ucontext_t *)(void *)m;
    size_t skip = (sizeof *ctx + 63) & ~(size_t)63;
    if (getcontext(ctx) == 0) {
      ctx->uc_stack.ss_sp = m + skip;
      ctx->uc_stack.ss_size = RC_CLONE_EXIT_STACK - skip;
      ctx->uc_link = NULL;
      makecontext(ctx, (void (*)(void))clone_child_exit, 1, status);
      (void)setcontext(ctx);
    }
  }
  clone_child_exit(status); /* no memory for a stack: report where we are */
}

static int rc_clone_child(void *p)
{
  const struct rc_clone_call *c = p;
  rc_after_fork_child();
  /* glibc would end the child with a bare exit system call: an _exit. */
  clone_child_report_and_exit(c->fn(c->arg));
  __builtin_unreachable();
}

RC_EXPORT int clone(int (*fn)(void *), void *stack, int flags, void *arg, ...)
{
  /* The optional arguments are read only for the flags that name them;
   * forwarded as they came (in registers and on the stack either way). */
  va_list ap;
  va_start(ap, arg);
  pid_t *ptid = va_arg(ap, pid_t *);
  void *tls = va_arg(ap, void *);
  pid_t *ctid = va_arg(ap, pid_t *);
  va_end(ap);
  if ((flags & (CLONE_VM | CLONE_THREAD)) || rc_tls_mode != RC_MODE_APP)
    return REAL(clone)(fn, stack, flags, arg, ptid, tls, ctid);
  struct rc_clone_call c = {fn, arg};
  struct rc_child_birth b;
  rc_child_birth_begin(&b);
  int pid = REAL(clone)(rc_clone_child, stack, flags, &c, ptid, tls, ctid);
  if (pid > 0 && !(flags & CLONE_PARENT))
    rc_child_acquired(pid, RC_FN_clone, &b);
  return pid;
}

/* A fork child starting a session of its own is daemonizing (daemon.c):
 * the children it leaves when it exits are the daemon's. */
RC_EXPORT pid_t setsid(void)
{
  pid_t r = REAL(setsid)();
  if (r >= 0)
    rc_daemon_detached();
  return r;
}

#if defined(__x86_64__)
/* Called by vfork.S in the parent only, once the child has exec'd or exited
 * and the parent runs again: `r` is the raw system call result, `born_after`
 * the rc_child_clock_now() vfork.S took before the system call. */
long rc_vfork_parent(long r, uint64_t born_after);
long rc_vfork_parent(long r, uint64_t born_after)
{
  if (r < 0) {
    errno = (int)-r;
    return -1;
  }
  /* No copy-on-write here (the child borrowed our memory), so the stack is
   * captured now, through vfork.S's CFI. */
  struct rc_child_birth b = {born_after, rc_obj_capture(), rc_fd_seq_now()};
  rc_child_acquired((pid_t)r, RC_FN_vfork, &b);
  return r;
}
#else
/* No assembly vfork for this architecture (see vfork.S for why a C wrapper
 * cannot call the real vfork).  POSIX allows vfork to be fork, and a correct
 * vfork child (exec or _exit only) behaves the same under fork. */
RC_EXPORT pid_t vfork(void)
{
  struct rc_child_birth b;
  rc_child_birth_begin(&b);
  pid_t pid = REAL(fork)();
  if (pid > 0)
    rc_child_acquired(pid, RC_FN_vfork, &b);
  return pid;
}
#endif

RC_EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
                          const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
  pid_t own = 0; /* the caller may pass NULL, but we need the pid */
  pid_t *p = pid ? pid : &own;
  struct rc_child_birth b;
  rc_child_birth_begin(&b);
  int r = REAL(posix_spawn)(p, path, fa, attr, argv, envp);
  if (r == 0)
    rc_child_acquired(*p, RC_FN_posix_spawn, &b);
  return r;
}

RC_EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
                           const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
  pid_t own = 0;
  pid_t *p = pid ? pid : &own;
  struct rc_child_birth b;
  rc_child_birth_begin(&b);
  int r = REAL(posix_spawnp)(p, file, fa, attr, argv, envp);
  if (r == 0)
    rc_child_acquired(*p, RC_FN_posix_spawnp, &b);
  return r;
}

/* popen returns a FILE, not a pid.  glibc keeps the pid right after the
 * FILE in its private struct _IO_proc_file { struct _IO_FILE_plus file;
 * pid_t pid; ... } (libio/iopopen.c, unchanged since glibc 2.1), where
 * _IO_FILE_plus is a FILE followed by its vtable pointer.  The value read is
 * only trusted if /proc confirms it is a child of this process born during
 * the call (popen is no hot path: the /proc read is affordable here). */
struct rc_io_proc_file {
  FILE file;
  const void *vtable;
  pid_t pid;
};

static pid_t popen_pid(FILE *fp)
{
#ifdef __GLIBC__
  pid_t pid = ((const struct rc_io_proc_file *)fp)->pid;
  return pid > 0 ? pid : -1;
#else
  (void)fp;
  return -1;
#endif
}

RC_EXPORT FILE *popen(const char *command, const char *type)
{
  struct rc_child_birth b;
  rc_child_birth_begin(&b);
  FILE *fp = REAL(popen)(command, type);
  if (fp == NULL || rc_tls_mode == RC_MODE_VFORK)
    return fp;
  int saved = errno;
  rc_fd_acquired(fileno_unlocked(fp), RC_FN_popen);
  pid_t pid = popen_pid(fp);
  struct rc_proc_stat st;
  if (pid > 0 && rc_proc_stat_read(pid, &st) && st.ppid == rc_pid &&
      rc_child_born_within(st.start_time, b.after, rc_child_clock_now()))
    rc_child_acquired(pid, RC_FN_popen, &b);
  errno = saved;
  return fp;
}

RC_EXPORT int pclose(FILE *fp)
{
  pid_t pid = -1;
  if (fp != NULL && rc_tls_mode != RC_MODE_VFORK) {
    int saved = errno;
    /* Forget the descriptor before it is closed (see fdtable.h). */
    rc_fd_released(fileno_unlocked(fp));
    pid = popen_pid(fp);
    errno = saved;
  }
  int r = REAL(pclose)(fp);
  /* pclose waited for the child; if it failed to (ECHILD: someone else
   * reaped it), the child is gone all the same.  Only a record made by
   * popen is dropped, so a bad FILE cannot release an unrelated child. */
  if (pid > 0) {
    int saved = errno;
    struct rc_obj *o = rc_obj_find(RC_KIND_CHILD, (uint64_t)pid);
    if (o != NULL && o->fn == RC_FN_popen && o->owner == rc_pid)
      rc_obj_remove_slot(o);
    errno = saved;
  }
  return r;
}

/* ---- the wait family ---- */

static void reaped_if_ended(pid_t r, int status)
{
  if (r > 0 && (WIFEXITED(status) || WIFSIGNALED(status)))
    rc_child_reaped(r, WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

/* The status is needed to tell a reaped child from a stopped or continued
 * one (WUNTRACED, WCONTINUED), so a NULL status pointer is replaced by ours. */
RC_EXPORT pid_t wait(int *status)
{
  int own = 0;
  int *sp = status ? status : &own;
  pid_t r = REAL(wait)(sp);
  reaped_if_ended(r, *sp);
  return r;
}

RC_EXPORT pid_t waitpid(pid_t pid, int *status, int options)
{
  int own = 0;
  int *sp = status ? status : &own;
  pid_t r = REAL(waitpid)(pid, sp, options);
  reaped_if_ended(r, *sp);
  return r;
}

RC_EXPORT pid_t wait3(int *status, int options, struct rusage *ru)
{
  int own = 0;
  int *sp = status ? status : &own;
  pid_t r = REAL(wait3)(sp, options, ru);
  reaped_if_ended(r, *sp);
  return r;
}

RC_EXPORT pid_t wait4(pid_t pid, int *status, int options, struct rusage *ru)
{
  int own = 0;
  int *sp = status ? status : &own;
  pid_t r = REAL(wait4)(pid, sp, options, ru);
  reaped_if_ended(r, *sp);
  return r;
}

/* waitid reports in a siginfo_t; WNOWAIT leaves the child waitable, so it
 * is not a release. */
RC_EXPORT int waitid(idtype_t idtype, id_t id, siginfo_t *info, int options)
{
  siginfo_t own;
  memset(&own, 0, sizeof own);
  siginfo_t *ip = info ? info : &own;
  int r = REAL(waitid)(idtype, id, ip, options);
  if (r == 0 && !(options & WNOWAIT) && ip->si_pid > 0 &&
      (ip->si_code == CLD_EXITED || ip->si_code == CLD_KILLED || ip->si_code == CLD_DUMPED))
    rc_child_reaped(ip->si_pid, ip->si_code == CLD_EXITED ? 0 : ip->si_status);
  return r;
}
