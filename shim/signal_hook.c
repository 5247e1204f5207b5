/* The signal hook: a process ended by SIGTERM (SIGINT, SIGHUP, SIGQUIT, or
 * what `signals=` says) never reaches exit(), so for those signals whose
 * disposition is the default, rcleak's handler is installed at start-up.  It
 * writes the report, cleans survivors, restores the default disposition and
 * re-raises, so the parent still sees "killed by SIGTERM".
 *
 * Transparent to the program: the kernel holds rcleak's handler only while
 * the program's own disposition is SIG_DFL.  signal, sigaction, bsd_signal and
 * sysv_signal are interposed: a program installing a handler (or SIG_IGN)
 * replaces ours in the kernel and gets exactly its own behaviour; setting
 * SIG_DFL puts ours back; a query returns what the program set (SIG_DFL,
 * with its own mask and flags, when the kernel holds ours), never rcleak's
 * handler.  Dispositions changed by libc-internal calls (system() ignores
 * SIGINT and SIGQUIT for a while, then restores what was there) need no
 * wrapper: they save and restore the kernel's value.
 *
 * ASYNC-SIGNAL SAFETY.  rc_signal_handler and everything it calls
 * (rc_report_run and every family's collect/clean/json/describe) use only
 * system calls, stack buffers, static buffers and the mmap-backed report
 * arena: no malloc, no stdio, no lock that an interrupted thread might hold.
 * The sigaction wrappers themselves are async-signal-safe too (POSIX says
 * sigaction is, and programs call it from handlers): their critical section
 * blocks every signal in the calling thread before taking a spin lock, so a
 * handler can never spin on a lock held by the code it interrupted. */
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "inflight.h"
#include "options.h"
#include "rc.h"
#include "real.h"
#include "stacks.h"
#include "report.h"
#include "signal_hook.h"

#define RC_NSIG 65 /* signal numbers 1..64 */

/* Signals the hook manages: configured, catchable, and fatal by default.
 * Fixed at start-up, read-only afterwards. */
static uint64_t rc_sig_managed;

/* The program's view of each managed signal.  While the kernel holds our
 * handler, it holds it with the program's own mask and flags (but for
 * SA_ONSTACK and SA_SIGINFO, kept here), so a query answers exactly what the
 * kernel would have said had the program's SIG_DFL gone through. */
struct rc_sigview {
  bool hooked;              /* the kernel holds rcleak's handler */
  bool app_set;             /* the program has set this signal itself */
  int app_flags;            /* its SA_ONSTACK and SA_SIGINFO */
  struct sigaction initial; /* the disposition at start-up */
};
/* Start-up writes the view of every managed signal.  The first RC_SIG_HOT
 * of them (the default set is four: HUP, INT, QUIT, TERM) get a slot in
 * .bss, in the page ld.so writes at load anyway; the others use their
 * place in rc_sigviews, whose first write is a page fault.  Slots are
 * handed out at start-up only, like the managed set. */
#define RC_SIG_HOT 4
static struct rc_sigview rc_sigviews_hot[RC_SIG_HOT];
static uint8_t rc_sig_hot_slot[RC_NSIG]; /* 1 + index into rc_sigviews_hot; 0: none */
static struct rc_sigview rc_sigviews[RC_NSIG] RC_LARGE;

static struct rc_sigview *view_of(int sig)
{
  unsigned slot = rc_sig_hot_slot[sig];
  return slot ? &rc_sigviews_hot[slot - 1] : &rc_sigviews[sig];
}
/* An int, not an atomic_flag: the fork child must be able to read it (see
 * rc_signal_after_fork_child). */
static int rc_sig_lock;

static bool managed(int sig)
{
  return sig > 0 && sig < 64 && (rc_sig_managed & (1ull << sig));
}

/* Whether a signal's default action ends the process (so there is a report
 * to write); stop, continue and ignore-by-default signals are left alone. */
static bool fatal_by_default(int sig)
{
  switch (sig) {
  case SIGKILL: case SIGSTOP: case SIGCHLD: case SIGCONT: case SIGTSTP:
  case SIGTTIN: case SIGTTOU: case SIGURG: case SIGWINCH:
    return false;
  default:
    /* 32 and 33 are glibc's own (cancellation, setxid) */
    return sig >= 1 && sig < 64 && sig != 32 && sig != 33;
  }
}

/* The kernel's struct for rt_sigaction (not glibc's struct sigaction). */
struct rc_ksigaction {
  void *handler;
  // cppcheck-suppress unusedStructMember
  unsigned long flags;
  // cppcheck-suppress unusedStructMember
  void *restorer;
  uint64_t mask;
};

/* Die by `sig` with the default action: restore SIG_DFL, make the signal
 * pending for this thread, then unblock it (the handler runs with it
 * blocked); it is delivered on the way out of rt_sigprocmask.  Raw system
 * calls only: this also runs in a vfork child, which must not touch
 * rcleak's state, nor call anything that might. */
static void die_by(int sig)
{
  struct rc_ksigaction dfl = {SIG_DFL, 0, NULL, 0};
  (void)rc_syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof dfl.mask);
  (void)rc_syscall(SYS_tgkill, rc_syscall(SYS_getpid), rc_syscall(SYS_gettid), sig);
  uint64_t m = 1ull << (sig - 1);
  (void)rc_syscall(SYS_rt_sigprocmask, SIG_UNBLOCK, &m, NULL, sizeof m);
  (void)rc_syscall(SYS_exit_group, 128 + sig); /* not reached */
}

bool rc_signal_handled(int sig)
{
  struct rc_ksigaction k;
  int saved = errno;
  long r = rc_syscall(SYS_rt_sigaction, sig, NULL, &k, sizeof k.mask);
  errno = saved;
  return r == 0 && k.handler != SIG_DFL && k.handler != SIG_IGN;
}

/* What the report asks of the interrupted thread: where it was, and on
 * x86_64 the registers the in-flight checks read (inflight.c). */
struct interrupted {
  uintptr_t pc, sp, bp;
  long long ax;
};

static struct interrupted interrupted(const void *ucontext)
{
  const ucontext_t *uc = ucontext;
  struct interrupted r = {0, 0, 0, -1};
#if defined(__x86_64__)
  r.pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
  r.sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
  r.bp = (uintptr_t)uc->uc_mcontext.gregs[REG_RBP];
  r.ax = uc->uc_mcontext.gregs[REG_RAX];
#elif defined(__aarch64__)
  r.pc = (uintptr_t)uc->uc_mcontext.pc;
#else
  (void)uc;
#endif
  return r;
}

bool rc_signal_in_wrapper_call(const void *ucontext, int in_flight)
{
  struct interrupted r = interrupted(ucontext);
  if (in_flight >= 0 || rc_syscall_unfinished(r.pc, r.ax))
    return false;
  return rc_stack_in_rcleak(r.pc, r.sp, r.bp);
}

static void rc_signal_handler(int sig, siginfo_t *si, void *ucontext)
{
  (void)si;
  /* A vfork child shares our memory; the child of a raw fork or clone still
   * has the parent's rc_pid: neither may write a report or touch state. */
  if (rc_tls_mode != RC_MODE_VFORK && (pid_t)rc_syscall(SYS_getpid) == rc_pid) {
    struct interrupted r = interrupted(ucontext);
    struct rc_exit ex = {.by_signal = true,
                         .in_signal_handler = true,
                         .interrupted_rcleak = rc_pc_in_rcleak(r.pc),
                         .in_flight_fd = rc_in_flight_fd(r.pc, r.ax),
                         .ucontext = ucontext,
                         .status = sig};
    (void)rc_report_run(&ex);
  }
  die_by(sig);
}

static void lock(uint64_t *saved)
{
  *saved = rc_block_signals();
  while (__atomic_exchange_n(&rc_sig_lock, 1, __ATOMIC_ACQUIRE)) {
  }
}

static void unlock(const uint64_t *saved)
{
  __atomic_store_n(&rc_sig_lock, 0, __ATOMIC_RELEASE);
  rc_restore_signals(*saved);
}

/* rcleak's handler standing in for the program's SIG_DFL, with the
 * program's mask and flags, except: never on the alternate signal stack (the
 * report needs more stack than a sigaltstack usually has), and with
 * SA_SIGINFO, for the interrupted context.  The report itself blocks every
 * signal (report.c). */
static void ours_for(const struct sigaction *app, struct sigaction *ours)
{
  *ours = *app;
  ours->sa_sigaction = rc_signal_handler;
  ours->sa_flags = (ours->sa_flags & ~SA_ONSTACK) | SA_SIGINFO;
}

#define RC_SA_KEPT (SA_ONSTACK | SA_SIGINFO)

/* What the program would see for a kernel disposition `k`. */
static void program_view(const struct rc_sigview *v, const struct sigaction *k,
                         struct sigaction *out)
{
  if (!(k->sa_flags & SA_SIGINFO) || k->sa_sigaction != rc_signal_handler) {
    *out = *k;
  } else if (!v->app_set) {
    *out = v->initial;
  } else {
    *out = *k;
    out->sa_handler = SIG_DFL;
    out->sa_flags = (k->sa_flags & ~RC_SA_KEPT) | (v->app_flags & RC_SA_KEPT);
  }
}

/* sigaction for a managed signal, in a thread that is not a vfork child. */
static int managed_sigaction(int sig, const struct sigaction *act, struct sigaction *oldact)
{
  int saved_errno = errno;
  uint64_t mask;
  lock(&mask);
  struct rc_sigview *v = view_of(sig);
  struct rc_sigview prev = *v;
  struct sigaction kold;
  int r;
  if (act != NULL && act->sa_handler == SIG_DFL) {
    /* the program wants the default: the kernel gets ours */
    struct sigaction ours;
    ours_for(act, &ours); /* read act before oldact is written: they may alias */
    int flags = act->sa_flags;
    r = REAL(sigaction)(sig, &ours, &kold);
    if (r == 0) {
      v->hooked = true;
      v->app_set = true;
      v->app_flags = flags;
    }
  } else {
    r = REAL(sigaction)(sig, act, &kold);
    if (r == 0 && act != NULL) {
      v->hooked = false;
      v->app_set = true;
    }
  }
  int err = errno;
  if (r == 0 && oldact != NULL)
    program_view(&prev, &kold, oldact);
  unlock(&mask);
  errno = r == 0 ? saved_errno : err;
  return r;
}

/* A program that installs a handler may acquire resources inside it: make
 * sure stack capture will not need to load anything then. */
static void before_handler(const void *h)
{
  if (h != (const void *)SIG_DFL && h != (const void *)SIG_IGN && h != (const void *)SIG_ERR &&
      rc_tls_mode == RC_MODE_APP)
    rc_stacks_prepare();
}

RC_EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *oldact)
{
  if (act != NULL)
    before_handler((const void *)act->sa_handler);
  if (!managed(sig))
    return REAL(sigaction)(sig, act, oldact);
  if (rc_tls_mode == RC_MODE_VFORK) {
    /* The vfork child has its own dispositions in the kernel but shares our
     * memory: pass through, and only hide rcleak's handler in the answer. */
    struct sigaction kold;
    int r = REAL(sigaction)(sig, act, &kold);
    if (r == 0 && oldact != NULL)
      program_view(view_of(sig), &kold, oldact); /* read only */
    return r;
  }
  return managed_sigaction(sig, act, oldact);
}

/* signal-style calls on a managed signal, with glibc's semantics: reject
 * what glibc rejects, build the same struct sigaction, return the old
 * handler (as the program sees it) or SIG_ERR. */
static __sighandler_t managed_signal(int sig, __sighandler_t h, int flags, bool mask_self)
{
  if (h == SIG_ERR) {
    errno = EINVAL;
    return SIG_ERR;
  }
  struct sigaction act, old;
  memset(&act, 0, sizeof act);
  act.sa_handler = h;
  sigemptyset(&act.sa_mask);
  if (mask_self)
    sigaddset(&act.sa_mask, sig);
  act.sa_flags = flags;
  if (rc_tls_mode == RC_MODE_VFORK) {
    if (sigaction(sig, &act, &old) != 0) /* our wrapper, on purpose: the vfork path */
      return SIG_ERR;
  } else if (managed_sigaction(sig, &act, &old) != 0) {
    return SIG_ERR;
  }
  return old.sa_handler;
}

/* signal and bsd_signal: BSD semantics (SA_RESTART, the signal blocked in
 * its own handler), like glibc's. */
RC_EXPORT __sighandler_t signal(int sig, __sighandler_t h)
{
  before_handler((const void *)h);
  if (!managed(sig))
    return REAL(signal)(sig, h);
  return managed_signal(sig, h, SA_RESTART, true);
}

RC_EXPORT __sighandler_t bsd_signal(int sig, __sighandler_t h)
{
  before_handler((const void *)h);
  if (!managed(sig))
    return REAL(bsd_signal)(sig, h);
  return managed_signal(sig, h, SA_RESTART, true);
}

/* sysv_signal: System V semantics (one-shot, not blocked, no restart). */
RC_EXPORT __sighandler_t sysv_signal(int sig, __sighandler_t h)
{
  before_handler((const void *)h);
  if (!managed(sig))
    return REAL(sysv_signal)(sig, h);
  return managed_signal(sig, h, SA_RESETHAND | SA_NODEFER, false);
}

/* At start-up: hook every configured fatal signal whose disposition is the
 * default.  One ignored at start (nohup) stays ignored, and is hooked later
 * only if the program sets SIG_DFL. */
void rc_signal_init(void);
RC_HOT void rc_signal_init(void)
{
  /* Straight into the views: a 10 KB array on the stack would cost this
   * start-up (every process) three page faults. */
  unsigned hot = 0;
  for (int sig = 1; sig < 64; sig++) {
    if (!(rc_options.signals & (1ull << sig)) || !fatal_by_default(sig))
      continue;
    if (hot < RC_SIG_HOT)
      rc_sig_hot_slot[sig] = (uint8_t)++hot;
    struct rc_sigview *v = view_of(sig);
    if (REAL(sigaction)(sig, NULL, &v->initial) != 0)
      continue;
    rc_sig_managed |= 1ull << sig;
    if (v->initial.sa_handler == SIG_DFL) {
      struct sigaction ours;
      ours_for(&v->initial, &ours);
      if (REAL(sigaction)(sig, &ours, NULL) == 0)
        v->hooked = true;
    }
  }
}

/* Another thread may have held the lock at fork: the child starts unlocked.
 * Written only when set: a store, even of the same value, copies the page
 * (shared with the parent since the fork) in every fork child. */
void rc_signal_after_fork_child(void);
void rc_signal_after_fork_child(void)
{
  if (rc_sig_lock)
    rc_sig_lock = 0;
}
