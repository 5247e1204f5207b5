/* The exit report: find the leaks of every family, apply suppressions, clean
 * the survivors, write the text and JSON reports.
 *
 * Async-signal-safe by construction, because the same code runs from exit()
 * and from rcleak's handler of a terminating signal: only system calls
 * (open, read, write, readlink, fstat, mmap, kill, waitid, rename, ...), the
 * report arena (mmap) and static buffers; no malloc, no stdio, no locks.  The
 * one exception is file:line lookup (lines.c, libdw), which allocates and is
 * therefore only done when the report does not run in a signal handler. */
#ifndef RCLEAK_REPORT_H
#define RCLEAK_REPORT_H

#include <stdbool.h>

#include "leaks.h"

struct rc_exit {
  bool by_signal;
  bool in_signal_handler; /* forbids everything that is not async-signal-safe */
  /* The signal interrupted rcleak's own code: a wrapper may hold a
   * descriptor the real call made and the registry has not recorded yet. */
  bool interrupted_rcleak;
  /* A signal's report: the descriptor a system call had just made when the
   * signal came (signal_hook.c), which no wrapper has recorded yet; -1. */
  int in_flight_fd;
  /* A signal's report: the interrupted context, for the question whether a
   * call one of rcleak's wrappers made was interrupted (signal_hook.h:
   * rc_signal_in_wrapper_call), asked only when an untracked descriptor
   * needs the answer; NULL otherwise. */
  const void *ucontext;
  int status;             /* exit status, or the signal number */
};

/* Run the report once per process; later calls (another thread, a signal
 * during exit) wait for the first and return its result.  Returns the number
 * of unsuppressed leaks. */
int rc_report_run(const struct rc_exit *ex);

/* Where the text report and rcleak's messages go: the program's stderr as
 * its exit began (exit_hook.c), else fd 2; -1 when fd 2 is not a stderr
 * (writes to it then fail, harmlessly). */
int rc_report_stderr(void);

/* Writers (report_text.c, report_json.c); `groups` orders ls->v for text. */
void rc_report_text(int fd, const struct rc_leakset *ls, const struct rc_exit *ex);
bool rc_report_json(int fd, const struct rc_leakset *ls, const struct rc_exit *ex);

/* Helpers shared by the writers. */
const char *rc_signal_name(int sig);
const char *rc_cleanup_name(unsigned c);
unsigned long long rc_leak_age_ms(const struct rc_leakset *ls, const struct rc_leak *lk);

#endif
