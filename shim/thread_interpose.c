/* Interposers of pthread_create, the join family and pthread_detach, and of
 * their C11 counterparts thrd_create, thrd_join and thrd_detach (glibc
 * creates C11 threads with an internal pthread_create no interposer sees).
 *
 * A thread is released when it is joined (pthread_join, pthread_tryjoin_np,
 * pthread_timedjoin_np) or when it is detached and has finished.  To know
 * when it finishes, and its kernel tid, the thread runs through a trampoline
 * (rc_thread_start) whose cleanup handler also fires on pthread_exit and
 * cancellation.  The per-thread state lives in rc_thr_pool, not in malloc'd
 * memory, so the report can read it from a signal handler.  rcleak creates
 * no thread of its own.
 *
 * Release happens exactly once, by whichever event completes the set
 * "published + detached + finished" (an atomic flag word), or by a
 * successful join.  Joins and detaches look the record up BEFORE the real
 * call: afterwards the pthread_t may already belong to a new thread. */
#include <pthread.h>
#include <threads.h>

#include "rc.h"
#include "real.h"
#include "stacks.h"
#include "thread_fam.h"

struct rc_pool rc_thr_pool = RC_POOL_INIT(sizeof(struct rc_thr), 1u << 18);

static struct rc_thr *thr_get(uint32_t idx)
{
  return rc_pool_get(&rc_thr_pool, idx);
}

static void thr_free(struct rc_thr *s)
{
  rc_pool_lock(&rc_thr_pool);
  rc_pool_free_locked(&rc_thr_pool, s->idx);
  rc_pool_unlock(&rc_thr_pool);
}

/* Set `bits`; release when the thread is published, detached and finished. */
static void thr_set(struct rc_thr *s, uint32_t bits)
{
  uint32_t want = RC_THR_REG | RC_THR_DETACHED | RC_THR_FINISHED;
  uint32_t f = __atomic_or_fetch(&s->flags, bits, __ATOMIC_ACQ_REL);
  while ((f & (want | RC_THR_DONE)) == want) {
    if (__atomic_compare_exchange_n(&s->flags, &f, f | RC_THR_DONE, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE)) {
      if (s->obj)
        rc_obj_remove_slot(s->obj);
      thr_free(s);
      return;
    }
  }
}

static void thr_finished(void *p)
{
  int saved = errno;
  rc_stacks_thread_end(); /* the element, and its cache, may be freed now */
  thr_set(p, RC_THR_FINISHED);
  errno = saved;
}

static void thread_begin(struct rc_thr *s)
{
  __atomic_store_n(&s->tid, rc_gettid(), __ATOMIC_RELEASE);
  rc_stacks_thread_begin(s->idx);
}

void *rc_thread_start(void *p)
{
  struct rc_thr *s = p;
  thread_begin(s);
  void *(*start)(void *) = s->start;
  void *arg = s->arg;
  void *volatile ret = NULL;
  pthread_cleanup_push(thr_finished, s);
  ret = start(arg);
  pthread_cleanup_pop(1);
  return ret;
}

/* The same for thrd_create, whose start routine returns int (glibc calls
 * this one as such, as it would have called the program's).  thrd_exit is
 * pthread_exit underneath: the cleanup handler runs for it too. */
int rc_thread_start_c11(void *p)
{
  struct rc_thr *s = p;
  thread_begin(s);
  thrd_start_t start = (thrd_start_t)(void (*)(void))s->start;
  void *arg = s->arg;
  volatile int ret = 0;
  pthread_cleanup_push(thr_finished, s);
  ret = start(arg);
  pthread_cleanup_pop(1);
  return ret;
}

/* A thread's state before its creation: NULL outside RC_MODE_APP or when
 * the pool is full (the thread is then created untracked).  Preserves
 * errno. */
static struct rc_thr *thr_new(void *(*start)(void *), void *arg, bool detached)
{
  if (rc_tls_mode != RC_MODE_APP)
    return NULL;
  rc_pool_lock(&rc_thr_pool);
  uint32_t idx = rc_pool_alloc_locked(&rc_thr_pool);
  rc_pool_unlock(&rc_thr_pool);
  struct rc_thr *s = thr_get(idx);
  if (s == NULL)
    return NULL;
  s->idx = idx;
  s->start = start;
  s->arg = arg;
  if (detached)
    s->flags = RC_THR_DETACHED;
  return s;
}

static void thr_created(struct rc_thr *s, uint64_t key, unsigned fn);

RC_EXPORT int pthread_create(pthread_t *th, const pthread_attr_t *attr, void *(*start)(void *),
                             void *arg)
{
  int saved = errno;
  int det = PTHREAD_CREATE_JOINABLE;
  if (attr != NULL)
    (void)pthread_attr_getdetachstate(attr, &det);
  struct rc_thr *s = thr_new(start, arg, det == PTHREAD_CREATE_DETACHED);
  errno = saved;
  if (s == NULL)
    return REAL(pthread_create)(th, attr, start, arg);
  int r = REAL(pthread_create)(th, attr, rc_thread_start, s);
  saved = errno;
  if (r != 0)
    thr_free(s);
  else
    thr_created(s, (uint64_t)*th, RC_FN_pthread_create);
  errno = saved;
  return r;
}

RC_EXPORT int thrd_create(thrd_t *thr, thrd_start_t func, void *arg)
{
  int saved = errno;
  struct rc_thr *s = thr_new((void *(*)(void *))(void (*)(void))func, arg, false);
  errno = saved;
  if (s == NULL)
    return REAL(thrd_create)(thr, func, arg);
  int r = REAL(thrd_create)(thr, rc_thread_start_c11, s);
  saved = errno;
  if (r != thrd_success)
    thr_free(s);
  else
    thr_created(s, (uint64_t)*thr, RC_FN_thrd_create);
  errno = saved;
  return r;
}

/* The thread exists: record it under its pthread_t (thrd_t is one). */
static void thr_created(struct rc_thr *s, uint64_t key, unsigned fn)
{
  /* A live record under this pthread_t is stale (the parent's, after fork). */
  struct rc_obj *old = rc_obj_find(RC_KIND_THREAD, key);
  if (old != NULL) {
    struct rc_thr *os = thr_get((uint32_t)old->data[0]);
    rc_obj_remove_slot(old);
    if (os && os != s && old->owner != rc_pid)
      thr_free(os);
  }
  struct rc_obj *o = rc_obj_begin(RC_KIND_THREAD, key, fn);
  if (o != NULL) {
    o->data[0] = s->idx;
    s->obj = o;
    rc_obj_publish(o);
  }
  thr_set(s, RC_THR_REG);
}

/* The record of th (this process's), before a join or detach. */
static struct rc_thr *find_thr(pthread_t th, struct rc_obj **op)
{
  if (rc_tls_mode == RC_MODE_VFORK)
    return NULL;
  struct rc_obj *o = rc_obj_find(RC_KIND_THREAD, (uint64_t)th);
  if (o == NULL || o->owner != rc_pid)
    return NULL;
  *op = o;
  return thr_get((uint32_t)o->data[0]);
}

/* After a successful join: the thread is gone, so is its state. */
static void joined(struct rc_thr *s, struct rc_obj *o)
{
  if (s == NULL)
    return;
  int saved = errno;
  uint32_t f = __atomic_fetch_or(&s->flags, RC_THR_DONE, __ATOMIC_ACQ_REL);
  if (!(f & RC_THR_DONE)) {
    if (o->data[0] == s->idx)
      rc_obj_remove_slot(o);
    thr_free(s);
  }
  errno = saved;
}

static void detached(struct rc_thr *s, struct rc_obj *o)
{
  (void)o;
  if (s == NULL)
    return;
  int saved = errno;
  thr_set(s, RC_THR_DETACHED);
  errno = saved;
}

/* The calls that settle a thread's record when they succeed, each looking
 * the record up before it: X(name, parameters, arguments, success value,
 * what success means). */
#define RC_THREAD_SETTLERS(X)                                                   \
  X(pthread_join, (pthread_t th, void **ret), (th, ret), 0, joined)              \
  X(pthread_tryjoin_np, (pthread_t th, void **ret), (th, ret), 0, joined)        \
  X(pthread_timedjoin_np, (pthread_t th, void **ret, const struct timespec *abstime), \
    (th, ret, abstime), 0, joined)                                               \
  X(thrd_join, (thrd_t th, int *res), (th, res), thrd_success, joined)           \
  X(pthread_detach, (pthread_t th), (th), 0, detached)                           \
  X(thrd_detach, (thrd_t th), (th), thrd_success, detached)

#define RC_DEFINE_SETTLER(name, params, args, ok, then)                         \
  RC_EXPORT int name params                                                      \
  {                                                                              \
    struct rc_obj *o_ = NULL;                                                    \
    struct rc_thr *s_ = find_thr(th, &o_);                                       \
    int r_ = REAL(name) args;                                                    \
    if (r_ == (ok))                                                              \
      then(s_, o_);                                                              \
    return r_;                                                                   \
  }
RC_THREAD_SETTLERS(RC_DEFINE_SETTLER)
#undef RC_DEFINE_SETTLER
