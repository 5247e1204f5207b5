/* Children this process asked to end (child.h: rc_child_signaled).
 *
 * `kill $server` at the end of a CI script, `trap 'kill $(jobs -p)' EXIT`,
 * Node's `child.kill()` before `process.exit()`: the program ends the child
 * and exits before the kernel's notice of the child's death has come back
 * to its SIGCHLD handler, which reaps every child that ends (bash's
 * waitchld, libuv's).  For such a program the zombie is the exit's race
 * with its handler, not a child it forgot: a child this process sent a
 * terminating signal to, that has ended by the report (within the grace
 * rcleak itself gives a child it ends), is no leak.  One still running then
 * ignored or outlived the request, and is reported and cleaned as any
 * other.  A program without a SIGCHLD handler reaps only by waiting, so a
 * child it killed and never waited for is a zombie never reaped, a leak as
 * any other (Python's Popen.terminate() without wait()).
 *
 * The wrappers of kill, killpg and sigqueue note the target: a pid, a
 * process group (kill(-pgrp), kill(0) for our own, killpg) or everything
 * (kill(-1)), with the CLOCK_BOOTTIME of the request, so that only a
 * process already born then counts (a recycled pid is a new process).  The
 * lists are small rings in .lbss: a process that signals nothing pays no
 * page for them.  Lock-free; read by the report, maybe in a signal
 * handler. */
#include <signal.h>
#include <unistd.h>

#include "child.h"
#include "rc.h"
#include "real.h"
#include "signal_hook.h"

#define RC_SIGNALED_MAX 64
#define RC_SIGNALED_GROUPS 16

struct rc_signaled {
  pid_t target; /* 0: slot being written */
  pid_t owner;  /* the process that sent it (a fork child inherits the ring) */
  uint64_t at;  /* rc_child_clock_now() just before the signal */
};

static struct rc_signaled rc_signaled_pids[RC_SIGNALED_MAX] RC_LARGE;
static struct rc_signaled rc_signaled_groups[RC_SIGNALED_GROUPS] RC_LARGE;
static uint32_t rc_signaled_npids, rc_signaled_ngroups;
static struct rc_signaled rc_signaled_all RC_LARGE; /* kill(-1): target 1 */

/* Whether sig's default action ends a process (signal(7)); a handler may
 * catch it, which is the child's business: only its end counts. */
static bool terminating(int sig)
{
  switch (sig) {
  case 0:
  case SIGCHLD:
  case SIGCONT:
  case SIGSTOP:
  case SIGTSTP:
  case SIGTTIN:
  case SIGTTOU:
  case SIGURG:
  case SIGWINCH:
    return false;
  default:
    return sig > 0 && sig < NSIG;
  }
}

static void note(struct rc_signaled *ring, uint32_t *next, uint32_t cap, pid_t target,
                 uint64_t at)
{
  uint32_t i = __atomic_fetch_add(next, 1, __ATOMIC_RELAXED) % cap;
  __atomic_store_n(&ring[i].target, 0, __ATOMIC_RELAXED);
  ring[i].owner = rc_pid;
  ring[i].at = at;
  __atomic_store_n(&ring[i].target, target, __ATOMIC_RELEASE);
}

void rc_child_signaled(pid_t pid, int sig, uint64_t at)
{
  if (at == 0 || !terminating(sig) || rc_tls_mode == RC_MODE_VFORK)
    return;
  int saved = errno;
  if (pid > 0) {
    note(rc_signaled_pids, &rc_signaled_npids, RC_SIGNALED_MAX, pid, at);
  } else if (pid == -1) {
    uint32_t none = 0;
    note(&rc_signaled_all, &none, 1, 1, at);
  } else {
    pid_t group = pid == 0 ? getpgrp() : -pid;
    note(rc_signaled_groups, &rc_signaled_ngroups, RC_SIGNALED_GROUPS, group, at);
  }
  errno = saved;
}

/* Whether target was asked, by this process, after `st` was born. */
static bool matches(const struct rc_signaled *s, pid_t target, const struct rc_proc_stat *st)
{
  return __atomic_load_n(&s->target, __ATOMIC_ACQUIRE) == target && s->owner == rc_pid &&
         rc_child_born_within(st->start_time, 1, s->at); /* born before it */
}

static bool among_targets(pid_t pid, const struct rc_proc_stat *st)
{
  for (uint32_t i = 0; i < RC_SIGNALED_MAX; i++)
    if (matches(&rc_signaled_pids[i], pid, st))
      return true;
  for (uint32_t i = 0; i < RC_SIGNALED_GROUPS; i++)
    if (st->pgrp > 0 && matches(&rc_signaled_groups[i], st->pgrp, st))
      return true;
  return matches(&rc_signaled_all, 1, st);
}

/* The rings first: the common report, with no child asked to end, makes
 * no system call here. */
bool rc_child_asked_to_end(pid_t pid, const struct rc_proc_stat *st)
{
  return among_targets(pid, st) && rc_signal_handled(SIGCHLD);
}

/* ---- the wrappers ---- */

/* The clock only for a signal that can end a process: `kill(pid, 0)`, the
 * liveness check some programs make in a loop, costs one compare more. */
static uint64_t clock_if_terminating(int sig)
{
  return terminating(sig) ? rc_child_clock_now() : 0;
}

RC_EXPORT int kill(pid_t pid, int sig)
{
  uint64_t at = clock_if_terminating(sig);
  int r = REAL(kill)(pid, sig);
  if (r == 0)
    rc_child_signaled(pid, sig, at);
  return r;
}

RC_EXPORT int killpg(pid_t pgrp, int sig)
{
  uint64_t at = clock_if_terminating(sig);
  int r = REAL(killpg)(pgrp, sig);
  if (r == 0)
    rc_child_signaled(pgrp == 0 ? 0 : -pgrp, sig, at);
  return r;
}

RC_EXPORT int sigqueue(pid_t pid, int sig, const union sigval value)
{
  uint64_t at = clock_if_terminating(sig);
  int r = REAL(sigqueue)(pid, sig, value);
  if (r == 0)
    rc_child_signaled(pid, sig, at);
  return r;
}
