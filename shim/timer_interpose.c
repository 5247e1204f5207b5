/* Interposers of POSIX timers (timer_create, timer_delete) and interval
 * timers (setitimer, alarm).
 *
 * Symbol versions.  glibc 2.34 moved the timer functions from librt into libc
 * and exports each in three versions: GLIBC_2.34 (default), GLIBC_2.3.3 (the
 * same code, what binaries linked against librt before 2.34 reference) and
 * GLIBC_2.2.5 (the pre-2004 ABI where timer_t was an int index).  A versioned
 * reference would bind to an unversioned definition of ours too (ld.so
 * accepts a base-version definition for any version), but then the 2.2.5
 * callers would get a timer_t of the wrong ABI from the default real function,
 * and with several candidates the choice is up to hash-chain order.  So, as
 * libfaketime does, every version gets its own wrapper (.symver + the version
 * script librcleak.map), which calls the same version of the real function
 * (dlvsym).  Only creation and deletion are wrapped: armed state and interval
 * are read from the kernel at exit, so timer_settime/gettime/getoverrun of
 * every version go straight to libc. */
#include <dlfcn.h>
#include <signal.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "objtable.h"
#include "rc.h"
#include "real.h"
#include "timer_fam.h"

/* ---- POSIX timers ---- */

static void track_timer(clockid_t clock, const struct sigevent *sev, uint64_t key,
                        int64_t kid, unsigned flags, unsigned fn)
{
  if (rc_tls_mode == RC_MODE_VFORK)
    return;
  int saved = errno;
  /* A record under the same key is stale: the kernel does not hand out a live
   * id twice (it is the parent's after fork, or was deleted behind our back). */
  struct rc_obj *old = rc_obj_find(RC_KIND_TIMER, key);
  if (old)
    rc_obj_remove_slot(old);
  struct rc_obj *o = rc_obj_begin(RC_KIND_TIMER, key, fn);
  if (o) {
    o->aux = (uint32_t)clock;
    o->data[0] = (uint64_t)kid;
    if (sev && sev->sigev_notify == SIGEV_THREAD) {
      flags |= RC_TIMERF_THREAD;
      rc_timer_thread_created = true;
    }
    o->flags |= (uint16_t)flags;
    rc_obj_publish(o);
    __atomic_add_fetch(&rc_timer_created, 1, __ATOMIC_RELEASE);
  }
  errno = saved;
}

static void untrack_timer(uint64_t key)
{
  int saved = errno;
  rc_obj_remove(RC_KIND_TIMER, key);
  errno = saved;
}

static uint64_t key_of(timer_t id)
{
  return (uint64_t)(uintptr_t)id;
}

/* For a kernel timer glibc's timer_t is the kernel id itself. */
static int64_t kid_of(timer_t id, const struct sigevent *sev)
{
  if (sev && sev->sigev_notify == SIGEV_THREAD)
    return -1; /* found at exit through the sigval glibc gives the kernel */
  return (int64_t)(intptr_t)id;
}

RC_EXPORT int timer_create(clockid_t clock, struct sigevent *sev, timer_t *id)
{
  int r = REAL(timer_create)(clock, sev, id);
  if (r == 0)
    track_timer(clock, sev, key_of(*id), kid_of(*id, sev), 0, RC_FN_timer_create);
  return r;
}

RC_EXPORT int timer_delete(timer_t id)
{
  /* Forget first: once the kernel frees the id another thread may get it. */
  untrack_timer(key_of(id));
  return REAL(timer_delete)(id);
}

/* Older versions, resolved with dlvsym on first use (dlsym sees only the default). */
static void *versioned(void **slot, const char *name, const char *version)
{
  void *p = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
  if (p)
    return p;
  int saved = errno;
  int mode = rc_enter();
  p = dlvsym(RTLD_NEXT, name, version);
  rc_leave(mode);
  if (p == NULL)
    p = (void *)rc_missing_function;
  __atomic_store_n(slot, p, __ATOMIC_RELEASE);
  errno = saved;
  return p;
}

typedef int (*timer_create_fn)(clockid_t, struct sigevent *, timer_t *);
typedef int (*timer_delete_fn)(timer_t);
typedef int (*timer_create_old_fn)(clockid_t, struct sigevent *, int *);
typedef int (*timer_delete_old_fn)(int);
static void *real_create_233, *real_delete_233, *real_create_225, *real_delete_225;

/* GLIBC_2.3.3: the librt ABI, identical to 2.34. */
__attribute__((visibility("default"))) int rc_compat_timer_create_233(clockid_t clock,
                                                                       struct sigevent *sev,
                                                                       timer_t *id)
{
  timer_create_fn f = versioned(&real_create_233, "timer_create", "GLIBC_2.3.3");
  int r = f(clock, sev, id);
  if (r == 0)
    track_timer(clock, sev, key_of(*id), kid_of(*id, sev), 0, RC_FN_timer_create);
  return r;
}
__asm__(".symver rc_compat_timer_create_233, timer_create@GLIBC_2.3.3");

__attribute__((visibility("default"))) int rc_compat_timer_delete_233(timer_t id)
{
  timer_delete_fn f = versioned(&real_delete_233, "timer_delete", "GLIBC_2.3.3");
  untrack_timer(key_of(id));
  return f(id);
}
__asm__(".symver rc_compat_timer_delete_233, timer_delete@GLIBC_2.3.3");

/* GLIBC_2.2.5: timer_t was an int, an index into glibc's compat table that
 * holds the real timer.  The kernel id is not visible through it, so it is
 * looked up once here (/proc/self/timers): this ABI is only used by binaries
 * built before 2004, the cost does not matter. */
__attribute__((visibility("default"))) int rc_compat_timer_create_225(clockid_t clock,
                                                                       struct sigevent *sev,
                                                                       int *id)
{
  timer_create_old_fn f = versioned(&real_create_225, "timer_create", "GLIBC_2.2.5");
  int r = f(clock, sev, id);
  if (r == 0 && rc_tls_mode != RC_MODE_VFORK) {
    int saved = errno;
    int mode = rc_enter();
    int64_t kid = rc_timer_newest_untracked();
    rc_leave(mode);
    errno = saved;
    track_timer(clock, NULL, RC_TIMER_COMPAT_KEY(*id), kid, RC_TIMERF_COMPAT,
                RC_FN_timer_create);
  }
  return r;
}
__asm__(".symver rc_compat_timer_create_225, timer_create@GLIBC_2.2.5");

__attribute__((visibility("default"))) int rc_compat_timer_delete_225(int id)
{
  timer_delete_old_fn f = versioned(&real_delete_225, "timer_delete", "GLIBC_2.2.5");
  untrack_timer(RC_TIMER_COMPAT_KEY(id));
  return f(id);
}
__asm__(".symver rc_compat_timer_delete_225, timer_delete@GLIBC_2.2.5");

/* ---- interval timers ---- */

RC_EXPORT int setitimer(__itimer_which_t which, const struct itimerval *nv, struct itimerval *ov)
{
  int r = REAL(setitimer)(which, nv, ov);
  if (r == 0 && nv != NULL)
    rc_itimer_set((int)which, nv->it_value.tv_sec != 0 || nv->it_value.tv_usec != 0,
                  RC_FN_setitimer);
  return r;
}

RC_EXPORT unsigned int alarm(unsigned int seconds)
{
  unsigned int r = REAL(alarm)(seconds);
  rc_itimer_set(ITIMER_REAL, seconds != 0, RC_FN_alarm);
  return r;
}

/* glibc's ualarm sets ITIMER_REAL with an internal setitimer. */
RC_EXPORT useconds_t ualarm(useconds_t value, useconds_t interval)
{
  useconds_t r = REAL(ualarm)(value, interval);
  if (r != (useconds_t)-1)
    rc_itimer_set(ITIMER_REAL, value != 0, RC_FN_ualarm);
  return r;
}
