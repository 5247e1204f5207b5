/* The signal hook (signal_hook.c): what the rest of rcleak asks of it. */
#ifndef RCLEAK_SIGNAL_HOOK_H
#define RCLEAK_SIGNAL_HOOK_H

#include <stdbool.h>

/* Whether the process has a handler of its own for `sig` (the kernel's
 * disposition: neither default nor ignored).  Async-signal-safe. */
bool rc_signal_handled(int sig);

/* Whether the signal whose context is `ucontext` came inside a call one of
 * rcleak's wrappers made (libc's opendir after its openat, the dynamic
 * loader during the capture that records the result), so that a descriptor
 * may exist that the wrapper has not recorded yet.  Not when the thread is
 * in a system call that has made nothing (a wrapper blocked in waitpid or
 * accept), nor when the descriptor in flight is known (`in_flight` >= 0):
 * then only that one is the wrapper's.  Walks the interrupted thread's
 * callers; async-signal-safe. */
bool rc_signal_in_wrapper_call(const void *ucontext, int in_flight);

#endif
