/* POSIX timers and interval timers at exit: reconcile the records with the
 * kernel (/proc/self/timers, getitimer), describe, clean, hand interval
 * timers across exec.  Everything on the report path is async-signal-safe:
 * raw system calls, the report arena, no stdio. */
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "fam_util.h"
#include "helper.h"
#include "procfs.h"
#include "sort.h"
#include "timer_fam.h"

/* ---- /proc/self/timers ---- */

#define RC_TIMERS_PROC_MAX 2048

struct rc_ktimer {
  int64_t id;
  int32_t clock;
  bool matched;
  uintptr_t sigval; /* glibc passes its struct timer here for SIGEV_THREAD */
};

static const char *skip_to(const char *p, const char *end, char c)
{
  while (p < end && *p != c)
    p++;
  return p;
}

static long long parse_int(const char **pp, const char *end, int base)
{
  const char *p = *pp;
  bool neg = false;
  if (p < end && *p == '-') {
    neg = true;
    p++;
  }
  long long v = 0;
  for (; p < end; p++) {
    int d;
    if (*p >= '0' && *p <= '9')
      d = *p - '0';
    else if (base == 16 && *p >= 'a' && *p <= 'f')
      d = *p - 'a' + 10;
    else
      break;
    v = v * base + d;
  }
  *pp = p;
  return neg ? -v : v;
}

/* Parse the text of /proc/self/timers ("ID: 3\nsignal: 14/0000...\nnotify:
 * ...\nClockID: 1\n" per timer) into v; returns the count. */
static size_t parse_timers(const char *buf, size_t len, struct rc_ktimer *v, size_t cap)
{
  const char *p = buf, *end = buf + len;
  size_t n = 0;
  while (p < end) {
    const char *eol = skip_to(p, end, '\n');
    if (eol - p > 4 && memcmp(p, "ID: ", 4) == 0) {
      if (n == cap)
        break;
      const char *q = p + 4;
      v[n] = (struct rc_ktimer){.id = parse_int(&q, eol, 10)};
      n++;
    } else if (n && eol - p > 8 && memcmp(p, "signal: ", 8) == 0) {
      const char *q = skip_to(p, eol, '/');
      if (q < eol) {
        q++;
        v[n - 1].sigval = (uintptr_t)parse_int(&q, eol, 16);
      }
    } else if (n && eol - p > 9 && memcmp(p, "ClockID: ", 9) == 0) {
      const char *q = p + 9;
      v[n - 1].clock = (int32_t)parse_int(&q, eol, 10);
    }
    p = eol + 1;
  }
  return n;
}

/* Read /proc/self/timers into `buf` (grown from the given mapping size is not
 * possible on the signal path, so callers pass a generous buffer); -1 if the
 * kernel has no such file (CONFIG_CHECKPOINT_RESTORE off). */
static ssize_t read_timers_text(char *buf, size_t len)
{
  return rc_read_file("/proc/self/timers", buf, len);
}

/* ---- the GLIBC_2.2.5 creation path ---- */

struct newest_ctx {
  struct rc_ktimer *v;
  size_t n;
};

static bool mark_known(struct rc_obj *o, void *arg)
{
  struct newest_ctx *c = arg;
  if (o->owner != rc_pid || (o->flags & RC_TIMERF_THREAD))
    return true;
  for (size_t i = 0; i < c->n; i++)
    if (c->v[i].id == (int64_t)o->data[0])
      c->v[i].matched = true;
  return true;
}

int64_t rc_timer_newest_untracked(void)
{
  size_t len = 1u << 20;
  char *buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (buf == MAP_FAILED)
    return -1;
  struct rc_ktimer *v = (struct rc_ktimer *)(buf + len / 2);
  size_t cap = (len / 2) / sizeof *v;
  ssize_t got = read_timers_text(buf, len / 2);
  struct newest_ctx c = {v, got > 0 ? parse_timers(buf, (size_t)got, v, cap) : 0};
  rc_obj_each(RC_KIND_TIMER, mark_known, &c);
  int64_t best = -1;
  /* Ids are handed out in increasing order (until they wrap at INT_MAX). */
  for (size_t i = 0; i < c.n; i++)
    if (!v[i].matched && v[i].id > best)
      best = v[i].id;
  munmap(buf, len);
  return best;
}

/* ---- timers at exit ---- */

static const char *clock_name(int32_t c)
{
  static const char *const names[] = {
    [CLOCK_REALTIME] = "CLOCK_REALTIME", [CLOCK_MONOTONIC] = "CLOCK_MONOTONIC",
    [CLOCK_PROCESS_CPUTIME_ID] = "CLOCK_PROCESS_CPUTIME_ID",
    [CLOCK_THREAD_CPUTIME_ID] = "CLOCK_THREAD_CPUTIME_ID",
    [CLOCK_MONOTONIC_RAW] = "CLOCK_MONOTONIC_RAW",
    [CLOCK_REALTIME_COARSE] = "CLOCK_REALTIME_COARSE",
    [CLOCK_MONOTONIC_COARSE] = "CLOCK_MONOTONIC_COARSE", [CLOCK_BOOTTIME] = "CLOCK_BOOTTIME",
    [CLOCK_REALTIME_ALARM] = "CLOCK_REALTIME_ALARM",
    [CLOCK_BOOTTIME_ALARM] = "CLOCK_BOOTTIME_ALARM", [CLOCK_TAI] = "CLOCK_TAI",
  };
  if (c < 0)
    return "CLOCK_CPU"; /* clock_getcpuclockid / pthread_getcpuclockid */
  if ((size_t)c < RC_ARRAY_SIZE(names) && names[c])
    return names[c];
  return "CLOCK_UNKNOWN";
}

static uint64_t ts_ns(const struct timespec *t)
{
  return (uint64_t)t->tv_sec * 1000000000u + (uint64_t)t->tv_nsec;
}

static void timer_state_from(struct rc_leak *lk, const struct itimerspec *its)
{
  lk->u.timer.armed = its->it_value.tv_sec != 0 || its->it_value.tv_nsec != 0;
  lk->u.timer.interval_ns = ts_ns(&its->it_interval);
}

/* Armed state and interval, from the kernel. */
static void timer_state(struct rc_leak *lk)
{
  struct itimerspec its;
  memset(&its, 0, sizeof its);
  if (rc_syscall(SYS_timer_gettime, (int)lk->u.timer.id, &its) == 0)
    timer_state_from(lk, &its);
}

#define RC_MAX_KTIMERS (1u << 20)

struct collect_ctx {
  struct rc_leakset *ls;
  struct rc_ktimer *v;
  size_t n;
  uint32_t *by_sigval; /* indices into v, sorted by sigval */
  bool have_proc;
  uint32_t pending;    /* leaks added without their state (query_pending) */
};

static int by_id(const void *a, const void *b, void *arg)
{
  (void)arg;
  int64_t x = ((const struct rc_ktimer *)a)->id, y = ((const struct rc_ktimer *)b)->id;
  return x < y ? -1 : x > y;
}

static int by_sigval(const void *a, const void *b, void *arg)
{
  const struct rc_ktimer *v = arg;
  uintptr_t x = v[*(const uint32_t *)a].sigval, y = v[*(const uint32_t *)b].sigval;
  return x < y ? -1 : x > y;
}

/* The kernel's record of a tracked timer: by id (sorted), or for SIGEV_THREAD
 * timers by the sigval glibc gave the kernel (sorted index).  Binary search
 * keeps the report O(n log n) with 100,000 timers. */
static struct rc_ktimer *find_ktimer(struct collect_ctx *c, const struct rc_obj *o)
{
  size_t lo = 0, hi = c->n;
  if (o->flags & RC_TIMERF_THREAD) {
    uintptr_t want = (uintptr_t)(o->key << 1);
    while (lo < hi) {
      size_t mid = (lo + hi) / 2;
      if (c->v[c->by_sigval[mid]].sigval < want)
        lo = mid + 1;
      else
        hi = mid;
    }
    for (; lo < c->n && c->v[c->by_sigval[lo]].sigval == want; lo++)
      if (!c->v[c->by_sigval[lo]].matched)
        return &c->v[c->by_sigval[lo]];
    return NULL;
  }
  int64_t want = (int64_t)o->data[0];
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (c->v[mid].id < want)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < c->n && c->v[lo].id == want && !c->v[lo].matched ? &c->v[lo] : NULL;
}

static bool collect_timer(struct rc_obj *o, void *arg)
{
  struct collect_ctx *c = arg;
  if (o->owner != rc_pid)
    return true; /* the parent's: POSIX timers are not inherited by fork */
  int64_t kid = (int64_t)o->data[0];
  struct rc_ktimer *k = c->have_proc ? find_ktimer(c, o) : NULL;
  struct itimerspec its;
  bool pending = false;
  if (c->have_proc) {
    if (k == NULL)
      return true; /* gone: deleted by a path we did not see */
    k->matched = true;
    kid = k->id;
  } else if (kid < 0) {
    /* glibc's timer_gettime knows how a SIGEV_THREAD timer_t maps to the
     * kernel's timer; a plain one is the kernel id itself, asked about
     * later, all together (query_timers). */
    memset(&its, 0, sizeof its);
    if (timer_gettime((timer_t)(uintptr_t)o->key, &its) != 0)
      return true;
  } else {
    pending = true;
  }
  struct rc_leak *lk = rc_leak_add(c->ls, RC_KIND_TIMER);
  if (lk == NULL)
    return false;
  rc_fam_fill(lk, o);
  lk->u.timer.id = kid;
  lk->u.timer.clock = (int32_t)o->aux;
  if (pending)
    c->pending++;
  else
    timer_state(lk);
  return true;
}

/* Without /proc/self/timers, every tracked timer with a kernel id is asked
 * with timer_gettime whether it is still alive and how it is armed: one
 * call per timer.  Each call walks a kernel hash chain that grows with the
 * number of timers in the system (~5 us a call at 95k timers, Linux 6.18),
 * so with many timers the calls are split between this thread and a helper
 * on another CPU (helper.h).  A timer found gone gets RC_TIMER_GONE as its
 * id and is dropped afterwards. */
struct timer_query {
  struct rc_leak *v;
  size_t n;
  size_t first_block, block_step; /* blocks of RC_TIMER_BLOCK leaks */
};

#define RC_TIMER_PARALLEL_MIN 4096
#define RC_TIMER_BLOCK 64
#define RC_TIMER_GONE INT64_MIN

static void query_one(struct rc_leak *lk)
{
  if (lk->u.timer.id < 0)
    return; /* SIGEV_THREAD: already asked through glibc */
  struct itimerspec its = {0};
  /* raw: this may run on the helper, which must not touch errno */
  if (rc_raw_syscall2(SYS_timer_gettime, (int)lk->u.timer.id, (long)&its) != 0)
    lk->u.timer.id = RC_TIMER_GONE; /* deleted by a path we did not see */
  else
    timer_state_from(lk, &its);
}

static void query_timers(void *arg)
{
  const struct timer_query *q = arg;
  for (size_t b = q->first_block; b * RC_TIMER_BLOCK < q->n; b += q->block_step) {
    size_t end = (b + 1) * RC_TIMER_BLOCK < q->n ? (b + 1) * RC_TIMER_BLOCK : q->n;
    for (size_t i = b * RC_TIMER_BLOCK; i < end; i++)
      query_one(&q->v[i]);
  }
}

/* Ask about leaks [first, ls->n) of the set (this family's, just added). */
static void query_pending(struct rc_leakset *ls, uint32_t first)
{
  size_t n = ls->n - first;
  struct timer_query mine = {ls->v + first, n, 0, 1};
  struct timer_query other = mine;
  struct rc_helper h;
  /* Alternate blocks, not halves: the cost of a call depends on where the
   * timer sits in its chain (the newest first), which the record order
   * follows in part; interleaving gives both threads the same mix. */
  bool split = n >= RC_TIMER_PARALLEL_MIN;
  if (split) {
    mine.block_step = other.block_step = 2;
    other.first_block = 1;
    split = rc_helper_start(&h, query_timers, &other);
    if (!split)
      mine.block_step = 1;
  }
  query_timers(&mine);
  if (split)
    rc_helper_join(&h);
  uint32_t j = first; /* drop the gone ones, keeping the order of the rest */
  for (uint32_t i = first; i < ls->n; i++)
    if (ls->v[i].u.timer.id != RC_TIMER_GONE)
      ls->v[j++] = ls->v[i];
  ls->n = j;
}

unsigned rc_timer_created;
bool rc_timer_thread_created;

RC_HOT void rc_timer_after_fork_child(void)
{
  /* The child's timers are numbered from 0 again.  Written only when set,
   * so that most fork children do not copy the page. */
  if (rc_timer_created)
    rc_timer_created = 0;
  if (rc_timer_thread_created)
    rc_timer_thread_created = false;
}

/* Whether every POSIX timer this process ever created went through a wrapper
 * and was recorded, so that /proc/self/timers (whose first open costs a short
 * process ~25 us, as its first /proc access) has nothing to add.  The kernel
 * gives a process's timers ids in creation order from 0 (a per-process
 * counter since Linux 3.10, reset by fork, kept across exec), so the id of a
 * timer created now is how many were created before it, ours or not.  Our
 * count is read first: a creation under way in another thread can then only
 * make the two differ.  Every doubt answers false and /proc decides: the
 * probe failing (RLIMIT_SIGPENDING), timers from the image before an exec,
 * CRIU's restore mode (the id asked for, -1, is refused), a kernel that
 * numbers otherwise. */
static bool all_timers_tracked(void)
{
  if (__atomic_load_n(&rc_timer_thread_created, __ATOMIC_RELAXED))
    return false; /* its kernel id is found through /proc */
  unsigned before = __atomic_load_n(&rc_timer_created, __ATOMIC_ACQUIRE);
  struct sigevent sev = {.sigev_notify = SIGEV_NONE};
  int id = -1;
  if (rc_syscall(SYS_timer_create, CLOCK_MONOTONIC, &sev, &id) != 0)
    return false;
  (void)rc_syscall(SYS_timer_delete, id);
  return id >= 0 && (unsigned)id == before;
}

RC_HOT static void timer_collect(struct rc_leakset *ls)
{
  struct collect_ctx c = {.ls = ls};
  /* The kernel serves /proc/self/timers a page per read and walks its list
   * from the start for every page: quadratic.  With many timers, check each
   * tracked one with timer_gettime instead, and give up finding untracked
   * ones (RC_TIMERS_PROC_MAX is far above what programs normally hold).
   * Without untracked ones, the same per-timer check is all there is to do. */
  bool use_proc = rc_obj_count(RC_KIND_TIMER) <= RC_TIMERS_PROC_MAX && !all_timers_tracked();
  size_t buflen = 16u << 20; /* arena: committed only as far as the text goes */
  char *buf = use_proc ? rc_arena_alloc(buflen) : NULL;
  ssize_t got = buf ? read_timers_text(buf, buflen) : -1;
  if (got >= 0) {
    c.v = rc_arena_alloc(RC_MAX_KTIMERS * sizeof *c.v);
    if (c.v) {
      c.n = parse_timers(buf, (size_t)got, c.v, RC_MAX_KTIMERS);
      c.by_sigval = rc_arena_alloc((c.n + 1) * sizeof *c.by_sigval);
      c.have_proc = c.by_sigval != NULL;
      if (c.have_proc) {
        rc_heapsort(c.v, c.n, sizeof *c.v, by_id, NULL);
        for (size_t i = 0; i < c.n; i++)
          c.by_sigval[i] = (uint32_t)i;
        rc_heapsort(c.by_sigval, c.n, sizeof *c.by_sigval, by_sigval, c.v);
      }
    }
  }
  uint32_t first = ls->n;
  rc_obj_each(RC_KIND_TIMER, collect_timer, &c);
  if (c.pending)
    query_pending(ls, first);
  /* Kernel truth: timers no interposer saw (raw syscall) are leaks too. */
  for (size_t i = 0; i < c.n; i++) {
    if (c.v[i].matched)
      continue;
    struct rc_leak *lk = rc_leak_add(ls, RC_KIND_TIMER);
    if (lk == NULL)
      return;
    lk->flags |= RC_LEAK_UNTRACKED;
    lk->u.timer.id = c.v[i].id;
    lk->u.timer.clock = c.v[i].clock;
    timer_state(lk);
  }
}

static void timer_clean(struct rc_leak *lk)
{
  if (rc_syscall(SYS_timer_delete, (int)lk->u.timer.id) == 0) {
    lk->cleanup = RC_CLEAN_DELETED;
  } else {
    lk->cleanup = RC_CLEAN_FAILED;
    lk->detail = rc_fam_errtext(errno);
  }
}

static void timer_json(struct rc_strbuf *o, const struct rc_leak *lk)
{
  rc_sb_puts(o, "\"timer_id\": ");
  rc_sb_puti(o, lk->u.timer.id);
  rc_sb_puts(o, ", \"clock\": \"");
  rc_sb_puts(o, clock_name(lk->u.timer.clock));
  rc_sb_puts(o, "\", \"armed\": ");
  rc_sb_puts(o, lk->u.timer.armed ? "true" : "false");
  rc_sb_puts(o, ", \"interval_ns\": ");
  rc_sb_putu(o, lk->u.timer.interval_ns);
}

static void put_duration(struct rc_strbuf *o, uint64_t ns)
{
  rc_sb_putfixed(o, ns / 1000000u, 3);
  rc_sb_puts(o, " s");
}

static void timer_describe(struct rc_strbuf *o, const struct rc_leak *lk)
{
  rc_sb_puts(o, "timer ");
  rc_sb_puti(o, lk->u.timer.id);
  rc_sb_puts(o, ": ");
  rc_sb_puts(o, clock_name(lk->u.timer.clock));
  if (lk->u.timer.armed) {
    rc_sb_puts(o, ", armed");
    if (lk->u.timer.interval_ns) {
      rc_sb_puts(o, ", every ");
      put_duration(o, lk->u.timer.interval_ns);
    }
  } else {
    rc_sb_puts(o, ", not armed");
  }
}

const struct rc_family rc_family_timer = {
  .kind = RC_KIND_TIMER,
  .noun = "POSIX timer",
  .plural = "POSIX timers",
  .collect = timer_collect,
  .clean = timer_clean,
  .json_fields = timer_json,
  .describe = timer_describe,
};

/* ---- interval timers ---- */

/* Interval timers armed when this image started without a record handed over
 * (set by a program image that ran without rcleak): not ours. */
static unsigned rc_itimer_inherited;

/* One record per `which` (there are three), kept in place rather than in
 * the object table: setitimer and alarm are called in loops (a watchdog
 * re-armed per request), and a fixed slot costs no probe, no table counts.
 * state is RC_OBJ_LIVE while armed by this process, BUSY while a setter
 * rewrites it, FREE otherwise.  A fork child sees its parent's records and
 * tells them by owner, as everywhere. */
static struct rc_obj rc_itimer_recs[3];

/* The live record of `which`, or NULL (lock-free; the report's). */
static struct rc_obj *itimer_rec(int which)
{
  struct rc_obj *o = &rc_itimer_recs[which];
  return __atomic_load_n(&o->state, __ATOMIC_ACQUIRE) == RC_OBJ_LIVE ? o : NULL;
}

/* Claim `which`'s record for rewriting, or NULL when another setter holds
 * it: another thread, or the one this signal handler interrupted (a SIGALRM
 * handler re-arming its timer).  That setter's record then stands; the exit
 * check asks the kernel whether the timer is armed in any case. */
static struct rc_obj *itimer_claim(int which)
{
  struct rc_obj *o = &rc_itimer_recs[which];
  uint32_t st = __atomic_load_n(&o->state, __ATOMIC_RELAXED);
  if (st == RC_OBJ_BUSY || !__atomic_compare_exchange_n(&o->state, &st, RC_OBJ_BUSY, false,
                                                         __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
    return NULL;
  return o;
}

RC_HOT static bool itimer_get(int which, struct itimerval *v)
{
  memset(v, 0, sizeof *v);
  return rc_syscall(SYS_getitimer, which, v) == 0 &&
         (v->it_value.tv_sec != 0 || v->it_value.tv_usec != 0);
}

void rc_itimer_set(int which, int armed, unsigned fn)
{
  if (rc_tls_mode == RC_MODE_VFORK || which < 0 || which > 2)
    return;
  int saved = errno;
  /* One timer per `which`: the new setting replaces the old record. */
  struct rc_obj *o = itimer_claim(which);
  if (o != NULL) {
    __atomic_and_fetch(&rc_itimer_inherited, ~(1u << which), __ATOMIC_RELAXED);
    if (armed)
      rc_obj_fill(o, RC_KIND_ITIMER, (uint64_t)which, fn, rc_obj_capture());
    __atomic_store_n(&o->state, armed ? RC_OBJ_LIVE : RC_OBJ_FREE, __ATOMIC_RELEASE);
  }
  errno = saved;
}

RC_HOT void rc_itimer_init(void)
{
  for (int which = 0; which < 3; which++) {
    struct itimerval v;
    if (itimer_get(which, &v) && itimer_rec(which) == NULL)
      rc_itimer_inherited |= 1u << which;
  }
}

RC_HOT void rc_itimer_after_fork_child(void)
{
  /* A fork child starts with no interval timer (the parent's records no
   * longer match: their owner is the parent).  Written only when set, so
   * that most fork children do not copy the page. */
  if (rc_itimer_inherited)
    rc_itimer_inherited = 0;
}

static const char *const rc_itimer_names[] = {"ITIMER_REAL", "ITIMER_VIRTUAL", "ITIMER_PROF"};

RC_HOT static void itimer_collect(struct rc_leakset *ls)
{
  for (int which = 0; which < 3; which++) {
    struct itimerval v;
    if (!itimer_get(which, &v))
      continue;
    struct rc_obj *o = itimer_rec(which);
    if (o && o->owner != rc_pid)
      o = NULL;
    if (o == NULL && (rc_itimer_inherited & (1u << which)))
      continue;
    struct rc_leak *lk = rc_leak_add(ls, RC_KIND_ITIMER);
    if (lk == NULL)
      return;
    if (o)
      rc_fam_fill(lk, o);
    else
      lk->flags |= RC_LEAK_UNTRACKED;
    lk->u.itimer.which = which;
    lk->u.itimer.value_ns = (uint64_t)v.it_value.tv_sec * 1000000000u +
                            (uint64_t)v.it_value.tv_usec * 1000u;
    lk->u.itimer.interval_ns = (uint64_t)v.it_interval.tv_sec * 1000000000u +
                               (uint64_t)v.it_interval.tv_usec * 1000u;
  }
}

static void itimer_clean(struct rc_leak *lk)
{
  struct itimerval zero;
  memset(&zero, 0, sizeof zero);
  if (rc_syscall(SYS_setitimer, lk->u.itimer.which, &zero, NULL) == 0) {
    lk->cleanup = RC_CLEAN_DISARMED;
  } else {
    lk->cleanup = RC_CLEAN_FAILED;
    lk->detail = rc_fam_errtext(errno);
  }
}

static void itimer_json(struct rc_strbuf *o, const struct rc_leak *lk)
{
  rc_sb_puts(o, "\"which\": \"");
  rc_sb_puts(o, rc_itimer_names[lk->u.itimer.which]);
  rc_sb_puts(o, "\", \"value_ns\": ");
  rc_sb_putu(o, lk->u.itimer.value_ns);
  rc_sb_puts(o, ", \"interval_ns\": ");
  rc_sb_putu(o, lk->u.itimer.interval_ns);
}

static void itimer_describe(struct rc_strbuf *o, const struct rc_leak *lk)
{
  rc_sb_puts(o, "interval timer ");
  rc_sb_puts(o, rc_itimer_names[lk->u.itimer.which]);
  rc_sb_puts(o, ": fires in ");
  put_duration(o, lk->u.itimer.value_ns);
  if (lk->u.itimer.interval_ns) {
    rc_sb_puts(o, ", then every ");
    put_duration(o, lk->u.itimer.interval_ns);
  }
}

const struct rc_family rc_family_itimer = {
  .kind = RC_KIND_ITIMER,
  .noun = "interval timer",
  .plural = "interval timers",
  .collect = itimer_collect,
  .clean = itimer_clean,
  .json_fields = itimer_json,
  .describe = itimer_describe,
};

/* Interval timers survive exec (same pid): "itimer <which> <fn> <tid> <t_ns> <stack>". */
int rc_itimer_handover_write(struct rc_strbuf *b)
{
  int n = 0;
  for (int which = 0; which < 3; which++) {
    struct itimerval v;
    struct rc_obj *o = itimer_rec(which);
    if (o == NULL || o->owner != rc_pid || !itimer_get(which, &v))
      continue;
    rc_sb_puts(b, "itimer ");
    rc_sb_puti(b, which);
    rc_fam_put_common(b, o);
    n++;
  }
  return n;
}

bool rc_itimer_handover_read(const char *kind, char *fields, uint32_t stack)
{
  if (strcmp(kind, "itimer") != 0)
    return false;
  char *p = fields;
  long which = strtol(rc_fam_field(&p), NULL, 10);
  if (which < 0 || which > 2)
    return true;
  struct rc_obj *o = itimer_claim((int)which);
  if (o != NULL) {
    rc_obj_fill(o, RC_KIND_ITIMER, (uint64_t)which, RC_FN_NONE, stack); /* the old image's */
    (void)rc_fam_adopted(o, &p);
    __atomic_store_n(&o->state, RC_OBJ_LIVE, __ATOMIC_RELEASE);
  }
  return true;
}
