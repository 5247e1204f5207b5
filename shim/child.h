/* The child family (child_interpose.c, child_family.c, child_identity.c,
 * vfork.S) and the signal hook (signal_hook.c).
 *
 * A child is recorded in the object table (objtable.h) under its pid, with
 * the window in which it was born: CLOCK_BOOTTIME just before the call that
 * created it in data[0], just after in data[1].  pid + "its parent is us" +
 * a start time (field 22 of /proc/PID/stat) inside that window is the
 * child's identity: a pid is recycled, the triple is not, so the exit hook
 * never signals a process that merely inherited a leaked child's number.
 * Recording the window costs two vDSO clock reads and no system call, where
 * reading /proc/PID/stat at every fork cost four (see child_identity.c). */
#ifndef RCLEAK_CHILD_H
#define RCLEAK_CHILD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* What /proc/PID/stat says about a process (async-signal-safe to read). */
struct rc_proc_stat {
  char state;          /* 'R', 'S', 'D', 'Z', 'T', 't', ... */
  pid_t ppid;
  pid_t pgrp;          /* field 5 */
  pid_t session;       /* field 6 */
  uint32_t tty;        /* field 7: the controlling terminal, 0 if none */
  uint64_t start_time; /* field 22 */
  char comm[32];
};

/* false when the process does not exist (or /proc is unreadable). */
bool rc_proc_stat_read(pid_t pid, struct rc_proc_stat *st);

/* CLOCK_BOOTTIME in nanoseconds, read through the vDSO (no system call).
 * Taken just before a call that creates a child, it opens the child's birth
 * window; rc_child_acquired closes it. */
uint64_t rc_child_clock_now(void);

/* Whether a process whose /proc/PID/stat start time is `start_ticks` (clock
 * ticks since boot) can have been born between `born_after` and
 * `born_before` (rc_child_clock_now values); `hz` is sysconf(_SC_CLK_TCK). */
bool rc_child_born_within_hz(uint64_t start_ticks, uint64_t born_after, uint64_t born_before,
                             uint64_t hz);
bool rc_child_born_within(uint64_t start_ticks, uint64_t born_after, uint64_t born_before);

/* What a creating wrapper takes just before the real call: the start of the
 * child's birth window and the caller's stack.  Taking the stack before a
 * fork rather than after it spares the parent two page writes after the
 * fork (the capture's stack frames and thread-local state): each page first
 * written while the child lives is a copy-on-write fault, ~4 us here. */
struct rc_child_birth {
  uint64_t after;  /* rc_child_clock_now() */
  uint32_t stack;  /* rc_obj_capture(): 0 outside RC_MODE_APP */
  uint32_t fd_seq; /* rc_fd_seq_now(): the descriptors made before it */
};
void rc_child_birth_begin(struct rc_child_birth *b);

/* The parent saw a new child `pid` created by `fn` after `b` was taken:
 * record it.  Nothing in a vfork child.  No system call; errno preserved. */
void rc_child_acquired(pid_t pid, unsigned fn, const struct rc_child_birth *b);

/* The child `pid` was reaped by a wait-family call; `killed_by` is the
 * signal that ended it, 0 if it exited.  Preserves errno. */
void rc_child_reaped(pid_t pid, int killed_by);

/* Children this process reaped that a signal ended (the last
 * RC_KILLED_MAX): SIGKILL, or a signal rcleak does not manage, ends a
 * process before it can write its report, so the tool names them as not
 * covered when no report of theirs turns up.  Lock-free; for the JSON
 * report.  false past the last. */
#define RC_KILLED_MAX 64
bool rc_child_killed(uint32_t i, pid_t *pid, int *sig);

/* Children this process asked to end (child_signaled.c): the kill, killpg
 * and sigqueue wrappers note a terminating signal sent to `pid` (kill's
 * meaning: > 0 a process, 0 our group, -1 all, < -1 a group) at `at`
 * (rc_child_clock_now() before the call; 0 notes nothing).
 * rc_child_asked_to_end: whether the child that `st` describes was among
 * the targets once born, in a program that reaps from a SIGCHLD handler.
 * Both async-signal-safe; errno preserved. */
void rc_child_signaled(pid_t pid, int sig, uint64_t at);
bool rc_child_asked_to_end(pid_t pid, const struct rc_proc_stat *st);

/* Daemons (daemon.c): children detached from us on purpose.
 * rc_daemon_detached: after a successful setsid().
 * rc_daemon_self: this process detached itself as a fork child (the middle
 * of a double fork). */
enum rc_daemon_why {
  RC_NOT_DAEMON,
  RC_DAEMON_CHILD_DETACHED, /* leads a session of its own, no terminal */
  RC_DAEMON_SELF_DETACHED,  /* this process detached itself (double fork) */
  RC_DAEMON_NOHUP,          /* ignores SIGHUP (nohup) */
  RC_DAEMON_BASH_DISOWNED,  /* bash's `disown` took it out of the job table */
  RC_DAEMON_FORK_MIDDLE,    /* left by a fork child that never exec'd: `( cmd & )` */
};
void rc_daemon_detached(void);
bool rc_daemon_self(void);

#endif
