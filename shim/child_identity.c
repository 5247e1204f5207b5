/* Which process a child record names: the birth window (child.h).
 *
 * The kernel stamps every new task in copy_process(), inside the fork, vfork
 * or clone system call, with p->start_boottime = ktime_get_boottime_ns(), and
 * /proc/PID/stat shows it as field 22:
 *     nsec_to_clock_t(timens_add_boottime_ns(task->start_boottime))
 * that is the boot-based time plus the boottime offset of the *reader's* time
 * namespace, divided down (rounding towards zero) to USER_HZ clock ticks,
 * USER_HZ being sysconf(_SC_CLK_TCK).  clock_gettime(CLOCK_BOOTTIME) reads the
 * same timekeeper (the vDSO and ktime_get_boottime_ns() compute it from the
 * same data) plus the same offset of the caller's time namespace.  So when
 * the parent reads CLOCK_BOOTTIME just before the call that creates a child
 * (born_after) and just after it returns (born_before), the child's start
 * time satisfies
 *     ticks(born_after) <= start_ticks <= ticks(born_before)
 * and the parent never has to ask /proc at fork time.  The reader at exit is
 * the same process, or its exec'd image, so the namespace offsets cancel out.
 * A process that changes its own time namespace between the fork and the
 * report (setns(CLONE_NEWTIME), or an execve after unshare(CLONE_NEWTIME),
 * which moves it into the new one: exec_task_namespaces()) shifts the stat
 * reading by the difference of the offsets, exactly as it shifted the exact
 * start time recorded before: those children then fail the check and are
 * left alone (reported as untracked), never wrongly signalled.
 *
 * One tick of margin on each side absorbs any rounding difference between the
 * vDSO's and the kernel's arithmetic.  It does not weaken the identity: to be
 * mistaken for a recorded child, a process must also be this process's child
 * (ppid), hold the recorded pid, and have been created through a path no
 * interposer saw (a tracked creation replaces the stale record), all within
 * that window plus 2 ticks (20 ms at USER_HZ=100) of the recorded child's own
 * birth, after the recorded child was reaped.  The kernel hands out pids
 * cyclically, so that needs pid_max (at least 32768) process creations inside
 * those 20 ms: impossible on any machine we run on.
 *
 * Everything here is async-signal-safe (clock_gettime and sysconf are on
 * POSIX's list) and needs nothing but libc, so tests/child builds it alone. */
#include <errno.h>
#include <time.h>
#include <unistd.h>

#include "child.h"

#define RC_NSEC_PER_SEC 1000000000u
#define RC_CHILD_TICK_MARGIN 1u

uint64_t rc_child_clock_now(void)
{
  struct timespec ts;
  /* vDSO: no system call.  Should the clock be missing (Linux before
   * 2.6.39), 0 makes every window match nothing: children are then reported
   * as untracked and never signalled; errno stays the caller's. */
  int saved = errno;
  if (clock_gettime(CLOCK_BOOTTIME, &ts) != 0) {
    errno = saved;
    return 0;
  }
  return (uint64_t)ts.tv_sec * RC_NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* nsec_to_clock_t(): floor(ns * hz / 1e9).  The kernel divides by 1e9 / hz
 * when hz divides 1e9 (every USER_HZ Linux uses), which is the same number;
 * the 128-bit product cannot overflow. */
static uint64_t ticks_of(uint64_t ns, uint64_t hz)
{
  return (uint64_t)(((unsigned __int128)ns * hz) / RC_NSEC_PER_SEC);
}

bool rc_child_born_within_hz(uint64_t start_ticks, uint64_t born_after, uint64_t born_before,
                             uint64_t hz)
{
  /* A window that is empty or reversed was never recorded properly (a record
   * from a foreign handover, say): it identifies nothing. */
  if (hz == 0 || born_after == 0 || born_before < born_after)
    return false;
  uint64_t lo = ticks_of(born_after, hz);
  uint64_t hi = ticks_of(born_before, hz);
  return start_ticks + RC_CHILD_TICK_MARGIN >= lo && start_ticks <= hi + RC_CHILD_TICK_MARGIN;
}

bool rc_child_born_within(uint64_t start_ticks, uint64_t born_after, uint64_t born_before)
{
  long hz = sysconf(_SC_CLK_TCK);
  return rc_child_born_within_hz(start_ticks, born_after, born_before, hz > 0 ? (uint64_t)hz : 100u);
}
