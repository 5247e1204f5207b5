/* The normal exit paths: exit(), return from main, _exit/_Exit, quick_exit.
 *
 * The report runs from an atexit handler registered in rcleak's constructor.
 * It is the first handler registered, so it runs last: after the program's
 * own handlers and C++ static destructors, which may still close
 * descriptors.  It needs the exit status (for `exitcode`), which an atexit
 * handler is not told, so exit() and main's return (through
 * __libc_start_main, which calls exit internally) record it first.
 *
 * Running last has one cost: GNU programs close stderr in an atexit handler
 * (gnulib's close_stdout: ls, sort, tar...), and the report would find fd 2
 * closed.  So exit() and main's return also keep a duplicate of stderr as
 * it was when the exit began (rc_report_stderr): close-on-exec, below 64
 * (where the exit's descriptor check is one ppoll), and rcleak's own, never
 * reported.
 *
 * And fd 2 takes the report only while it is a stderr: the one the process
 * started with, or one the program put there on purpose (dup2, dup3,
 * freopen).  A descriptor that is fd 2 only because it was the lowest free
 * number after the program closed its stderr (a daemon's data file, a
 * socket) is the program's, and the text report must not be written into
 * it; the JSON report, when asked for, still is. */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "fdtable.h"
#include "options.h"
#include "rc.h"
#include "real.h"
#include "report.h"
#include "stacks.h"

static int rc_stderr_keep = -1; /* -2: fd 2 is no stderr */

RC_HOT static bool fd2_is_stderr(void)
{
  struct rc_fd_entry e;
  if (!rc_fd_lookup(2, &e) || e.state != RC_FD_LIVE)
    return true; /* inherited at start-up, or unknown */
  return e.fn == RC_FN_dup2 || e.fn == RC_FN_dup3 || e.fn == RC_FN_freopen ||
         e.fn == RC_FN_freopen64;
}

RC_HOT static void keep_stderr(void)
{
  if (rc_tls_mode == RC_MODE_VFORK || rc_stderr_keep != -1)
    return;
  if (!fd2_is_stderr()) {
    rc_stderr_keep = -2;
    return;
  }
  int saved = errno;
  long fd = rc_syscall(SYS_fcntl, 2, F_DUPFD_CLOEXEC, 32);
  if (fd < 0 && errno == EINVAL) /* RLIMIT_NOFILE at or below 32 */
    fd = rc_syscall(SYS_fcntl, 2, F_DUPFD_CLOEXEC, 3);
  if (fd >= 0) {
    rc_fd_mark_internal((int)fd);
    rc_stderr_keep = (int)fd;
  }
  errno = saved;
}

RC_HOT int rc_report_stderr(void)
{
  if (rc_stderr_keep != -1)
    return rc_stderr_keep >= 0 ? rc_stderr_keep : -1;
  return fd2_is_stderr() ? 2 : -1;
}

static int rc_exit_status;
static int (*rc_real_main)(int, char **, char **);

RC_HOT int rc_main(int argc, char **argv, char **envp)
{
  int r = rc_real_main(argc, argv, envp);
  rc_exit_status = r;
  keep_stderr();
  return r;
}

RC_EXPORT int __libc_start_main(int (*main)(int, char **, char **), int argc, char **argv,
                                void (*init)(void), void (*fini)(void),
                                void (*rtld_fini)(void), void *stack_end)
{
  rc_real_main = main;
  return REAL(__libc_start_main)(rc_main, argc, argv, init, fini, rtld_fini, stack_end);
}

/* Report and decide the final status: `exitcode` replaces a successful
 * status when leaks were found; a failure status is never hidden. */
RC_HOT static int report_and_status(int status)
{
  if (rc_fork_child && !rc_acquired_here && !rc_options.json_path[0])
    return status; /* only inherited resources: nothing of its own to say */
  struct rc_exit ex = {
      .by_signal = false, .in_signal_handler = false, .in_flight_fd = -1, .status = status};
  int leaks = rc_report_run(&ex);
  if (leaks > 0 && rc_options.exitcode != 0 && (status & 0xff) == 0)
    return rc_options.exitcode;
  return status;
}

RC_HOT void rc_atexit_handler(void)
{
  if (rc_tls_mode == RC_MODE_VFORK)
    return;
  int status = report_and_status(rc_exit_status);
  if (rc_stderr_keep >= 0) {
    (void)rc_syscall(SYS_close, rc_stderr_keep);
    rc_fd_released(rc_stderr_keep);
  }
  rc_stderr_keep = -1;
  if (status != rc_exit_status) {
    /* Leave with the new status; stdio is flushed first because _exit
     * skips what exit() would still do after this handler. */
    (void)fflush(NULL);
    REAL(_exit)(status);
  }
}

RC_EXPORT void exit(int status)
{
  if (rc_tls_mode != RC_MODE_VFORK) {
    rc_exit_status = status;
    keep_stderr();
  }
  REAL(exit)(status);
  __builtin_unreachable();
}

RC_EXPORT void quick_exit(int status)
{
  if (rc_tls_mode != RC_MODE_VFORK)
    status = report_and_status(status);
  REAL(quick_exit)(status);
  __builtin_unreachable();
}

/* _exit skips atexit handlers, and programs use it precisely to skip their
 * own cleanup (Python's os._exit, a forked child): report here too. */
int rc_underscore_exit_status(int status)
{
  if (rc_tls_mode == RC_MODE_VFORK || !rc_options.report_on__exit)
    return status;
  return report_and_status(status);
}

RC_EXPORT void _exit(int status)
{
  REAL(_exit)(rc_underscore_exit_status(status));
  __builtin_unreachable();
}

RC_EXPORT void _Exit(int status)
{
  REAL(_Exit)(rc_underscore_exit_status(status));
  __builtin_unreachable();
}
