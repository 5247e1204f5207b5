/* Start-up: options, stack capture, what earlier images handed over, which
 * descriptors were inherited, and the exit and fork hooks.  Kept light: no
 * stack is captured and nothing is allocated until the program acquires a
 * resource. */
#include <pthread.h>
#include <stdlib.h>
#include <sys/single_threaded.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fdtable.h"
#include "handover.h"
#include "options.h"
#include "rc.h"
#include "real.h"
#include "stacks.h"
#include "suppressions.h"

__thread int rc_tls_mode __attribute__((tls_model("initial-exec")));
__thread pid_t rc_tls_tid __attribute__((tls_model("initial-exec")));
__thread pid_t rc_tls_tid_pid __attribute__((tls_model("initial-exec")));
pid_t rc_pid;
int rc_start_argc;
pid_t rc_ppid;
int rc_acquired_here;
bool rc_fork_child;

/* The kernel's encoding of a thread's CPU-time clock (MAKE_THREAD_CPUCLOCK
 * in its ABI): the tid, complemented, above three flag bits. */
#define RC_CPUCLOCK_THREAD_SCHED 6 /* CPUCLOCK_PERTHREAD_MASK | CPUCLOCK_SCHED */

pid_t rc_gettid_slow(void)
{
  /* Every thread rcleak sees start asks once.  glibc and musl answer
   * pthread_getcpuclockid from the tid the kernel wrote into the thread
   * descriptor at clone (CLONE_PARENT_SETTID; CLONE_CHILD_SETTID in a fork
   * child): a read, so safe in a signal handler too, where gettid is a
   * system call (100-200 ns here) in every thread.  Any other answer falls
   * back to the system call.  A vfork child, whose descriptor still holds
   * the parent's tid, never gets here (RC_MODE_VFORK). */
  clockid_t c;
  pid_t tid = 0;
  if (rc_tls_tid_pid != 0)
    tid = rc_pid; /* asked in the process that forked this one: the fork's
                   * one surviving thread, whose tid is the pid (and no call
                   * into a page of libc the child has not touched) */
  else if (pthread_getcpuclockid(pthread_self(), &c) == 0 &&
           (c & 7) == RC_CPUCLOCK_THREAD_SCHED)
    tid = (pid_t)~(c >> 3);
  rc_tls_tid = tid > 0 ? tid : (pid_t)rc_syscall(SYS_gettid);
  rc_tls_tid_pid = rc_pid;
  return rc_tls_tid;
}

long rc_missing_function(void)
{
  errno = ENOSYS;
  return -1;
}

void rc_atexit_handler(void);

/* Hooks of other families, run in the fork child (weak: optional). */
extern void rc_families_after_fork_child(void) __attribute__((weak));

/* glibc's, behind the pthread_atfork and atexit of libc_nonshared.a. */
extern void *__dso_handle;
extern int __register_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void),
                             void *dso);
extern int __cxa_atexit(void (*fn)(void *), void *arg, void *dso);

static void atexit_handler(void *unused)
{
  (void)unused;
  rc_atexit_handler();
}
extern void rc_families_init(void) __attribute__((weak));

/* Descriptors the parent had without our knowing (raw syscalls) must not
 * become the child's untracked leaks: they are marked inherited, but only
 * when the child first acquires something or reports, not in every fork
 * child (most exec or _exit at once).  Until then nothing can tell them
 * apart from the child's own, and nothing needs to. */
static bool rc_fork_scan_pending;

RC_HOT void rc_fork_settle(void)
{
  if (!rc_fork_scan_pending)
    return;
  rc_fork_scan_pending = false;
  rc_fd_mark_open_as_inherited();
}

/* In the child of fork: a new pid, so everything recorded so far is the
 * parent's (its owner no longer matches) and the child reports only what it
 * acquires itself (see rc_fork_settle for the descriptors we never saw).
 *
 * Every page the child writes is a copy-on-write fault (~4 us on a VM), and
 * most fork children exec or _exit at once, so this writes one page of
 * globals and nothing else: no thread-local memory (the mode is left alone,
 * as nothing here calls an interposed function, and rc_gettid notices the
 * new pid by itself), and the families' hooks write only what is set. */
void rc_after_fork_child(void)
{
  rc_ppid = rc_pid;
  rc_pid = (pid_t)rc_syscall(SYS_getpid); /* in line: no page of libc to fault in */
  rc_acquired_here = 0;
  rc_fork_child = true;
  rc_fork_scan_pending = true;
  if (rc_families_after_fork_child)
    rc_families_after_fork_child();
}

RC_HOT void rc_init(void)
{
  static int done;
  if (__atomic_exchange_n(&done, 1, __ATOMIC_ACQ_REL))
    return;
  int saved = errno;
  int mode = rc_enter();
  rc_pid = (pid_t)rc_syscall(SYS_getpid);
  rc_ppid = (pid_t)rc_syscall(SYS_getppid);
  rc_vdso_init();
  rc_options_parse(getenv("RCLEAK_OPTIONS"));
  /* No thread was ever created, so this is the initial thread, whose tid is
   * the pid: the first acquisition needs no gettid. */
  if (__libc_single_threaded) {
    rc_tls_tid = rc_pid;
    rc_tls_tid_pid = rc_pid;
  }
  rc_stacks_init();
  rc_handover_import();
  rc_fd_mark_open_as_inherited();
  rc_suppress_load();
  if (rc_families_init)
    rc_families_init();
  /* What libc_nonshared.a's pthread_atfork and atexit stubs call: the
   * stubs would be linked at the end of librcleak's text, a window of code
   * faulted in by every process for two jumps. */
  (void)__register_atfork(NULL, NULL, rc_after_fork_child, __dso_handle);
  (void)__cxa_atexit(atexit_handler, NULL, __dso_handle);
  /* Resolved now so that the exit path never needs dlsym. */
  (void)REAL(_exit);
  rc_leave(mode);
  errno = saved;
}

/* DT_FINI (-Wl,-fini in meson.build).  The default, crti's _fini, is an
 * empty function in the .fini section at the very end of the text: a code
 * window of its own, faulted in by every process at exit just to return.
 * Destructors run from .fini_array, not from here. */
RC_HOT void rc_fini(void);
RC_HOT void rc_fini(void) {}

/* glibc calls the functions of .init_array with (argc, argv, envp), a
 * preloaded library's too. */
__attribute__((constructor)) RC_HOT static void rc_constructor(int argc, char **argv, char **envp)
{
  (void)argv;
  (void)envp;
  rc_start_argc = argc > 0 ? argc : 0;
  rc_init();
}
