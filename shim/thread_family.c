/* Threads at exit: a thread never joined (and not detached), or still
 * running, is a leak.  "finished" comes from the trampoline's flag, or from
 * the kernel: its /proc/self/task/<tid> is gone.  Async-signal-safe. */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "fam_util.h"
#include "procfs.h"
#include "thread_fam.h"

/* Whether thread tid of this process has ended: tgkill with signal 0 asks
 * the kernel without /proc (which a chroot may lack) and without a path walk. */
static bool task_gone(int32_t tid)
{
  int saved = errno;
  bool gone = rc_syscall(SYS_tgkill, rc_pid, tid, 0) != 0 && errno == ESRCH;
  errno = saved;
  return gone;
}

/* A detached thread may be on its way out as the process exits: Rust's
 * std::thread::scope, for one, lets the scope end when each closure has
 * returned and detaches the threads, which still have to return through
 * the trampoline (one in six runs of a four-thread scope was reported
 * "running, detached").  While such a thread is runnable, not asleep in a
 * system call, give it a moment: 20 ms in all per report, so a detached
 * thread busy for good costs that once; threads parked for the process's
 * life (a VM's, an event loop's) are asleep and cost one read. */
#define RC_THREAD_SETTLE_NS 20000000u

static uint64_t rc_thread_settle_spent;

static bool settle_nap(void)
{
  if (rc_thread_settle_spent >= RC_THREAD_SETTLE_NS)
    return false;
  struct timespec ts = {0, 200000};
  (void)rc_syscall(SYS_nanosleep, &ts, NULL);
  rc_thread_settle_spent += 200000;
  return true;
}

/* Finished, or released meanwhile (its finish completed the record's
 * release: the record is gone and s may already be another thread's). */
static bool done(const struct rc_obj *o, const struct rc_thr *s)
{
  return __atomic_load_n(&o->state, __ATOMIC_ACQUIRE) != RC_OBJ_LIVE ||
         (__atomic_load_n(&s->flags, __ATOMIC_ACQUIRE) & RC_THR_FINISHED);
}

/* Whether detached thread s (record o) finishes within the wait; *tid is
 * set once it has started (a thread created just before the exit may not
 * have run yet: it is runnable by definition). */
static bool settles(const struct rc_obj *o, const struct rc_thr *s, int32_t *tid)
{
  while (*tid == 0) {
    if (done(o, s))
      return true;
    if (!settle_nap())
      return false;
    *tid = __atomic_load_n(&s->tid, __ATOMIC_ACQUIRE);
  }
  char path[64], buf[512];
  struct rc_strbuf b;
  rc_sb_init(&b, path, sizeof path);
  rc_sb_puts(&b, "/proc/self/task/");
  rc_sb_puti(&b, *tid);
  rc_sb_puts(&b, "/stat");
  rc_sb_cstr(&b);
  for (;;) {
    if (done(o, s))
      return true;
    ssize_t n = rc_read_file(path, buf, sizeof buf - 1);
    if (n <= 0)
      return task_gone(*tid); /* gone, or no /proc to tell whether it runs */
    buf[n] = '\0';
    const char *close = strrchr(buf, ')');
    if (close == NULL || close[1] != ' ' || close[2] != 'R' || !settle_nap())
      return false;
  }
}

static bool collect_thread(struct rc_obj *o, void *arg)
{
  struct rc_leakset *ls = arg;
  if (o->owner != rc_pid)
    return true; /* the parent's: threads are not inherited by fork */
  const struct rc_thr *s = rc_pool_get(&rc_thr_pool, (uint32_t)o->data[0]);
  if (s == NULL)
    return true;
  uint32_t f = __atomic_load_n(&s->flags, __ATOMIC_ACQUIRE);
  if (f & RC_THR_DONE)
    return true;
  int32_t tid = __atomic_load_n(&s->tid, __ATOMIC_ACQUIRE);
  bool detached = f & RC_THR_DETACHED;
  bool finished = (f & RC_THR_FINISHED) ||
                  (detached ? settles(o, s, &tid) : tid != 0 && task_gone(tid));
  if (detached && finished)
    return true; /* released */
  struct rc_leak *lk = rc_leak_add(ls, RC_KIND_THREAD);
  if (lk == NULL)
    return false;
  rc_fam_fill(lk, o);
  lk->u.thread.tid = tid;
  lk->u.thread.detached = detached;
  lk->u.thread.finished = finished;
  lk->u.thread.start_routine = (uintptr_t)s->start;
  return true;
}

RC_HOT static void thread_collect(struct rc_leakset *ls)
{
  if (rc_thr_pool.hw == 0)
    return; /* no thread was ever created: skip the table walk */
  rc_obj_each(RC_KIND_THREAD, collect_thread, ls);
}

/* The symbol is looked up here, not in collect: the module map is read
 * (rc_sym_begin) after every family has collected. */
static const char *start_name(const struct rc_leak *lk)
{
  return lk->u.thread.start_routine ? rc_sym_name(lk->u.thread.start_routine) : NULL;
}

static void thread_json(struct rc_strbuf *o, const struct rc_leak *lk)
{
  rc_sb_puts(o, "\"thread_tid\": ");
  if (lk->u.thread.tid)
    rc_sb_puti(o, lk->u.thread.tid);
  else
    rc_sb_puts(o, "null");
  rc_sb_puts(o, ", \"start_routine\": ");
  rc_sb_put_json_str(o, start_name(lk));
  rc_sb_puts(o, ", \"detached\": ");
  rc_sb_puts(o, lk->u.thread.detached ? "true" : "false");
  rc_sb_puts(o, ", \"state\": ");
  rc_sb_puts(o, lk->u.thread.finished ? "\"finished\"" : "\"running\"");
}

static void thread_describe(struct rc_strbuf *o, const struct rc_leak *lk)
{
  const char *name = start_name(lk);
  rc_sb_puts(o, "thread ");
  rc_sb_puti(o, lk->u.thread.tid);
  rc_sb_puts(o, ": ");
  rc_sb_puts(o, name ? name : "?");
  rc_sb_puts(o, lk->u.thread.finished ? ", finished" : ", running");
  rc_sb_puts(o, lk->u.thread.detached ? ", detached" : ", never joined");
}

const struct rc_family rc_family_thread = {
  .kind = RC_KIND_THREAD,
  .noun = "thread",
  .plural = "threads",
  .collect = thread_collect,
  .clean = NULL, /* threads die with the process; nothing to clean */
  .json_fields = thread_json,
  .describe = thread_describe,
};

RC_HOT void rc_thread_after_fork_child(void)
{
  /* The thread that held the pool lock at fork does not exist here. */
  rc_pool_after_fork(&rc_thr_pool);
}
