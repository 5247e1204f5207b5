/* Daemons: children detached on purpose.
 *
 * A program daemonizes by forking a child that calls setsid() (a session of
 * its own, no controlling terminal) and letting its parent exit: gpg-agent,
 * ssh-agent, most servers' --daemon, `setsid -f`, start-stop-daemon.  The
 * double fork does it in two steps: the first child calls setsid(), forks
 * the daemon and exits at once.  Either way a child is still running when
 * its parent exits, a leak by the letter, but the program's work goes on in
 * it: cleaning it up (SIGTERM at the parent's exit) broke every such program
 * (gpg could not reach the agent it had just started).  So a daemon is still
 * reported, marked as one, and left running.
 *
 * What makes a child a daemon here (child_family.c):
 *   - it leads a session of its own without a controlling terminal
 *     (/proc/PID/stat: session == pid, tty_nr 0), which only its own
 *     setsid() can have made it: detached on purpose, whether it then execs
 *     or not (Node's `detached: true`, Python's start_new_session, `setsid
 *     -f` do the same for another program).  A forkpty child leads a
 *     session too, but of its terminal: it is cleaned like any child;
 *   - or the exiting process is a fork child that called setsid() itself
 *     (the middle of a double fork, or a daemon winding down): the children
 *     it leaves are the detached work's;
 *   - or it ignores SIGHUP, as nohup leaves the command it runs: made to
 *     outlive the terminal and the shell that started it;
 *   - or the exiting process is a fork child that never exec'd: the middle
 *     of a double fork without setsid(), as a shell's `( cmd & )` or
 *     `$(cmd &)` is (a subshell that starts the command and ends without
 *     waiting), or C's fork-fork-_exit to start a process no one must reap.
 *     Killing that work broke programs (`( echo x > fifo & ); cat fifo`
 *     hung: the writer was SIGTERMed);
 *   - or bash let it go with `disown` (bashframes.c).
 * The parent of a daemon typically exits right after its fork, before the
 * child has reached setsid(): the exit hook gives a child still running the
 * program's own image a moment to exec or detach (await_exec). */
#include "child.h"
#include "rc.h"

static bool rc_self_daemon;

void rc_daemon_detached(void)
{
  if (rc_tls_mode == RC_MODE_APP && rc_fork_child)
    rc_self_daemon = true;
}

/* The child family's fork hook: a daemon's own fork children have not
 * detached (yet).  Writes only when set: a page written in a fork child is
 * a copy-on-write fault. */
RC_HOT void rc_child_after_fork_child(void);
RC_HOT void rc_child_after_fork_child(void)
{
  if (rc_self_daemon)
    rc_self_daemon = false;
}

bool rc_daemon_self(void)
{
  return rc_self_daemon;
}
