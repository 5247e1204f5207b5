/* Shared between timer_interpose.c (wrappers) and timer_family.c (report). */
#ifndef RCLEAK_TIMER_FAM_H
#define RCLEAK_TIMER_FAM_H

#include <stdbool.h>
#include <stdint.h>

/* Flags of a timer record (rc_obj.flags, family bits). */
enum {
  RC_TIMERF_THREAD = 1, /* SIGEV_THREAD: timer_t points at glibc's struct, kernel id found via sigval */
  RC_TIMERF_COMPAT = 2, /* GLIBC_2.2.5 ABI: timer_t is an index into glibc's compat list */
};

/* Key of a GLIBC_2.2.5 timer (an int index) in the object table: tagged so it
 * never meets a kernel id or a SIGEV_THREAD timer_t (bit 63). */
#define RC_TIMER_COMPAT_KEY(idx) ((1ull << 62) | (uint32_t)(idx))

/* POSIX timers created through a wrapper and recorded, by this process since
 * it was forked (the kernel numbers a process's timers from 0 in creation
 * order: see all_timers_tracked in timer_family.c). */
extern unsigned rc_timer_created;
/* Whether one of them was a SIGEV_THREAD timer (its kernel id is known only
 * from /proc/self/timers, matched by the sigval glibc gives the kernel). */
extern bool rc_timer_thread_created;

/* The kernel id of the timer created last and not tracked yet (GLIBC_2.2.5
 * path only), -1 if none. */
int64_t rc_timer_newest_untracked(void);

/* An interval timer was set (armed or disarmed) by `fn`. */
void rc_itimer_set(int which, int armed, unsigned fn);

#endif
