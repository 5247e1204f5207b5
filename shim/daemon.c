/* Daemons: children that left on purpose.
 *
 * A program daemonizes by forking a copy of itself that calls setsid() (a
 * session of its own, no controlling terminal) while the parent exits:
 * gpg-agent, ssh-agent, most servers' --daemon.  The double fork does it in
 * two steps: the first child calls setsid(), forks the daemon and exits at
 * once.  Either way a child is still running when its parent exits, which
 * is a leak by the letter, but the program's work goes on in it: cleaning
 * it up (SIGTERM at the parent's exit) broke every such program (gpg could
 * not reach the agent it had just started).  So a daemon is still reported,
 * marked as one, and left running.
 *
 * What makes a child a daemon here:
 *   - it called setsid() as a fork child, before any exec (a copy of the
 *     program detaching itself), or
 *   - the exiting process itself did so (the middle of a double fork, or a
 *     daemon winding down): its children are part of the detached work.
 * A child that calls setsid() and then execs another program (Node's
 * `detached: true`, Python's start_new_session, a browser a test harness
 * started) is not a daemon of ours: it is cleaned like any other child.
 *
 * The parent cannot see a child's calls, so the child tells it: a page
 * shared by a process and its fork children (MAP_SHARED, mapped before the
 * first fork) holds the children that detached, by pid, parent pid and
 * start time; a child that then execs takes its entry back.  The parent's
 * exit hook reads it (child_family.c), after giving a child still running
 * the program's own image a moment to detach.  Reading and writing it are
 * plain atomic loads and stores: async-signal-safe. */
#include <sys/mman.h>
#include <unistd.h>

#include "child.h"
#include "rc.h"

#define RC_DAEMON_SLOTS 255u

struct rc_daemon_slot {
  int32_t pid; /* 0: free, or taken back at exec */
  int32_t ppid;
  uint64_t start_time; /* field 22 of its /proc/PID/stat */
};

struct rc_daemon_board {
  uint32_t next;
  uint32_t pad;
  struct rc_daemon_slot slot[RC_DAEMON_SLOTS];
};
_Static_assert(sizeof(struct rc_daemon_board) <= 4096, "one page");

static struct rc_daemon_board *rc_board; /* inherited by fork children */
static bool rc_self_daemon;              /* this process detached itself */
static struct rc_daemon_slot *rc_self_slot;

void rc_daemon_before_fork(void)
{
  if (__atomic_load_n(&rc_board, __ATOMIC_ACQUIRE) != NULL || rc_tls_mode != RC_MODE_APP)
    return;
  int saved = errno;
  void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (m != MAP_FAILED) {
    struct rc_daemon_board *none = NULL;
    if (!__atomic_compare_exchange_n(&rc_board, &none, m, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE))
      (void)munmap(m, 4096); /* another thread's fork mapped it first */
  }
  errno = saved;
}

/* The child family's fork hook: a daemon's own fork children have not
 * detached (yet); the board stays, shared with them. */
RC_HOT void rc_child_after_fork_child(void);
RC_HOT void rc_child_after_fork_child(void)
{
  if (rc_self_daemon) {
    rc_self_daemon = false;
    rc_self_slot = NULL;
  }
}

static void publish(struct rc_daemon_slot *s)
{
  __atomic_store_n(&s->pid, rc_pid, __ATOMIC_RELEASE);
}

void rc_daemon_detached(void)
{
  if (rc_tls_mode != RC_MODE_APP || !rc_fork_child || rc_self_daemon)
    return;
  int saved = errno;
  rc_self_daemon = true;
  struct rc_daemon_board *b = __atomic_load_n(&rc_board, __ATOMIC_ACQUIRE);
  struct rc_proc_stat st;
  if (b != NULL && rc_proc_stat_read(rc_pid, &st)) {
    uint32_t i = __atomic_fetch_add(&b->next, 1, __ATOMIC_RELAXED) % RC_DAEMON_SLOTS;
    struct rc_daemon_slot *s = &b->slot[i];
    __atomic_store_n(&s->pid, 0, __ATOMIC_RELEASE);
    s->ppid = rc_ppid;
    s->start_time = st.start_time;
    publish(s);
    rc_self_slot = s;
  }
  errno = saved;
}

/* exec: the program this daemon ran is gone; if exec fails, it is back. */
void rc_daemon_exec_begin(void)
{
  if (rc_self_slot != NULL && rc_tls_mode == RC_MODE_APP)
    __atomic_store_n(&rc_self_slot->pid, 0, __ATOMIC_RELEASE);
}

void rc_daemon_exec_failed(void)
{
  if (rc_self_slot != NULL && rc_tls_mode == RC_MODE_APP)
    publish(rc_self_slot);
}

bool rc_daemon_self(void)
{
  return rc_self_daemon;
}

bool rc_daemon_is(pid_t pid, uint64_t start_time)
{
  const struct rc_daemon_board *b = __atomic_load_n(&rc_board, __ATOMIC_ACQUIRE);
  if (b == NULL)
    return false;
  for (uint32_t i = 0; i < RC_DAEMON_SLOTS; i++) {
    const struct rc_daemon_slot *s = &b->slot[i];
    if (__atomic_load_n(&s->pid, __ATOMIC_ACQUIRE) == pid && s->ppid == rc_pid &&
        s->start_time == start_time)
      return true;
  }
  return false;
}
