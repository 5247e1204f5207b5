/* The child family (child_interpose.c, child_family.c, vfork.S) and the
 * signal hook (signal_hook.c).
 *
 * A child is recorded in the object table (objtable.h) under its pid, with
 * the start time the kernel gives it (field 22 of /proc/PID/stat, in clock
 * ticks since boot) in data[0].  pid + start time + "its parent is us" is the
 * child's identity: a pid is recycled, the triple is not, so the exit hook
 * never signals a process that merely inherited a leaked child's number. */
#ifndef RCLEAK_CHILD_H
#define RCLEAK_CHILD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* What /proc/PID/stat says about a process (async-signal-safe to read). */
struct rc_proc_stat {
  char state;          /* 'R', 'S', 'D', 'Z', 'T', 't', ... */
  pid_t ppid;
  uint64_t start_time; /* field 22 */
  char comm[32];
};

/* false when the process does not exist (or /proc is unreadable). */
bool rc_proc_stat_read(pid_t pid, struct rc_proc_stat *st);

/* The parent saw a new child `pid` created by `fn`: record it with the
 * caller's stack.  Nothing in a vfork child.  Preserves errno. */
void rc_child_acquired(pid_t pid, unsigned fn);

/* The child `pid` was reaped by a wait-family call.  Preserves errno. */
void rc_child_reaped(pid_t pid);

#endif
