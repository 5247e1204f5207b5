/* A second thread for the report, for work the kernel makes slow per item
 * (one timer_gettime per POSIX timer walks a kernel hash chain: ~5 us each
 * at 95k timers), split in two halves on a machine with two or more CPUs.
 *
 * Made with a raw clone(2), not pthread_create: the report may run inside a
 * signal handler, where pthread_create is not async-signal-safe, and must
 * not allocate.  The helper shares the reporting thread's TLS pointer (no
 * CLONE_SETTLS), so the function it runs may only make raw system calls
 * (rc_raw_syscall2): no libc call, no errno, no rcleak state but its own
 * slice of the work.  It inherits the reporting thread's signal mask (all
 * blocked, see report.c), so no handler ever runs on it. */
#ifndef RCLEAK_HELPER_H
#define RCLEAK_HELPER_H

#include <stdbool.h>
#include <stddef.h>

struct rc_helper {
  void *stack;
  size_t stack_size;
  int tid; /* cleared by the kernel when the helper exits (CLONE_CHILD_CLEARTID) */
};

/* Start fn(arg) on a helper; false when there is no point (one CPU, an
 * architecture without rc_raw_syscall2) or it could not be started: the
 * caller then does all the work itself. */
bool rc_helper_start(struct rc_helper *h, void (*fn)(void *arg), void *arg);

/* Wait until the helper has returned (its writes are visible after). */
void rc_helper_join(struct rc_helper *h);

/* A system call that never touches errno: the raw kernel return, -errno on
 * failure.  Usable on the helper. */
long rc_raw_syscall2(long nr, long a, long b);

#endif
