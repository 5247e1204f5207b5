/* The descriptor a system call had just made when a signal came (used by
 * the signal hook, signal_hook.c). */
#ifndef RCLEAK_INFLIGHT_H
#define RCLEAK_INFLIGHT_H

#include <stdbool.h>
#include <stdint.h>

/* The thread was interrupted at `rip` with `rax`: if it was on its way out
 * of a system call that makes a descriptor, that descriptor (rax), else -1.
 * Reads code bytes only within rip's page.  Async-signal-safe; x86_64 only
 * (-1 elsewhere). */
int rc_in_flight_fd(uintptr_t rip, long long rax);

/* Whether the thread, stopped at `rip` with `rax`, is in a system call that
 * has made nothing: back from one that failed or was interrupted (rax < 0
 * right after "syscall"), or about to make one again (at "syscall": the
 * kernel restarts a call interrupted under SA_RESTART that way).  So a
 * wrapper blocked in waitpid, accept or a FIFO's open has no descriptor in
 * flight.  x86_64 only (false elsewhere). */
bool rc_syscall_unfinished(uintptr_t rip, long long rax);

#endif
