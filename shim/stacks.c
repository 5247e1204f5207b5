/* Stack capture (see stacks.h); the store is stack_store.c. */
#define UNW_LOCAL_ONLY
#include "stacks.h"

#include <dlfcn.h>
#include <link.h>
#include <libunwind.h>
#include <unwind.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>

#include "options.h"
#include "rc.h"
#include "scriptframes.h"
#include "stack_store.h"
#include "stackwalk.h"

static uint64_t rc_walks; /* walks done (replays and deferred copies not walked are not) */
static uintptr_t rc_self_lo, rc_self_hi; /* librcleak.so's mapped range */

static int find_self(struct dl_phdr_info *info, size_t size, void *data)
{
  (void)size;
  uintptr_t self = (uintptr_t)data;
  uintptr_t lo = UINTPTR_MAX, hi = 0;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD)
      continue;
    uintptr_t a = info->dlpi_addr + ph->p_vaddr;
    if (a < lo)
      lo = a;
    if (a + ph->p_memsz > hi)
      hi = a + ph->p_memsz;
  }
  if (self >= lo && self < hi) {
    rc_self_lo = lo;
    rc_self_hi = hi;
    return 1;
  }
  return 0;
}

static bool rc_own_walker; /* stackwalk.c usable here */

/* The general unwinders, for platforms where stackwalk.c is not available
 * (not x86_64, or a libc without _dl_find_object).  The first captures of a thread go through libgcc's unwinder, then
 * libunwind: libunwind is the faster one per frame, but its first use in a
 * process or thread costs ~0.3 ms (a 256 KiB per-thread cache, a page fault
 * per new frame), while libgcc's starts for next to nothing at ~0.2 us a
 * frame.  All return the same addresses, so stacks dedupe across them. */
#define RC_LIGHT_CAPTURES 16
#define RC_OWN_FRAMES 8

static __thread unsigned rc_tls_captures __attribute__((tls_model("initial-exec")));

typedef _Unwind_Reason_Code (*rc_unwind_backtrace_fn)(_Unwind_Trace_Fn, void *);
typedef _Unwind_Ptr (*rc_unwind_getip_fn)(struct _Unwind_Context *);
static rc_unwind_backtrace_fn rc_gcc_backtrace;
static rc_unwind_getip_fn rc_gcc_getip;
static int rc_gcc_state; /* 0 untried, 1 ready, -1 unavailable */

struct rc_gcc_walk {
  void **buf;
  int n, max;
};

static _Unwind_Reason_Code gcc_frame(struct _Unwind_Context *ctx, void *arg)
{
  struct rc_gcc_walk *w = arg;
  uintptr_t ip = rc_gcc_getip(ctx);
  if (ip == 0 || w->n >= w->max)
    return _URC_END_OF_STACK;
  w->buf[w->n++] = (void *)ip;
  return _URC_NO_REASON;
}

static bool gcc_ready(void)
{
  int st = __atomic_load_n(&rc_gcc_state, __ATOMIC_ACQUIRE);
  if (st)
    return st > 0;
  void *bt = dlsym(RTLD_DEFAULT, "_Unwind_Backtrace");
  void *ip = dlsym(RTLD_DEFAULT, "_Unwind_GetIP");
  if (bt == NULL || ip == NULL) {
    /* not in the process yet: what glibc's backtrace() loads too */
    void *h = dlopen("libgcc_s.so.1", RTLD_NOW | RTLD_LOCAL);
    bt = h ? dlsym(h, "_Unwind_Backtrace") : NULL;
    ip = h ? dlsym(h, "_Unwind_GetIP") : NULL;
  }
  rc_gcc_backtrace = (rc_unwind_backtrace_fn)bt;
  rc_gcc_getip = (rc_unwind_getip_fn)ip;
  st = bt && ip ? 1 : -1;
  __atomic_store_n(&rc_gcc_state, st, __ATOMIC_RELEASE);
  return st > 0;
}

/* libunwind itself is loaded with dlopen when a thread first needs it, not
 * as a dependency of librcleak.so: most processes never get that far, and
 * should not pay for mapping libunwind and liblzma at start-up. */
#define RC_STR2(x) #x
#define RC_STR(x) RC_STR2(x) /* the real (architecture-prefixed) symbol names */
typedef int (*rc_unw_backtrace_fn)(void **, int);
typedef int (*rc_unw_policy_fn)(unw_addr_space_t, unw_caching_policy_t);
static rc_unw_backtrace_fn rc_unw_backtrace;
static int rc_unw_state; /* 0 untried, 1 ready, -1 unavailable */

static bool unw_ready(void)
{
  int st = __atomic_load_n(&rc_unw_state, __ATOMIC_ACQUIRE);
  if (st)
    return st > 0;
  void *h = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
  rc_unw_policy_fn policy = h ? (rc_unw_policy_fn)dlsym(h, RC_STR(unw_set_caching_policy)) : NULL;
  unw_addr_space_t *as = h ? dlsym(h, RC_STR(unw_local_addr_space)) : NULL;
  rc_unw_backtrace = h ? (rc_unw_backtrace_fn)dlsym(h, "unw_backtrace") : NULL;
  if (policy && as)
    policy(*as, UNW_CACHE_PER_THREAD);
  st = rc_unw_backtrace ? 1 : -1;
  __atomic_store_n(&rc_unw_state, st, __ATOMIC_RELEASE);
  return st > 0;
}

void rc_stacks_prepare(void)
{
  static int done;
  if (rc_own_walker || rc_options.stack_depth <= 0 ||
      __atomic_exchange_n(&done, 1, __ATOMIC_ACQ_REL))
    return;
  int mode = rc_enter();
  (void)gcc_ready();
  (void)unw_ready();
  rc_leave(mode);
}

static int backtrace_any(void **buf, int max)
{
  if (rc_tls_captures < RC_LIGHT_CAPTURES) {
    rc_tls_captures++;
    if (gcc_ready()) {
      struct rc_gcc_walk w = {buf, 0, max};
      rc_gcc_backtrace(gcc_frame, &w);
      if (w.n > 0)
        return w.n;
    }
  }
  if (unw_ready())
    return rc_unw_backtrace(buf, max);
  if (gcc_ready() && rc_gcc_backtrace != NULL) {
    struct rc_gcc_walk w = {buf, 0, max};
    rc_gcc_backtrace(gcc_frame, &w);
    return w.n;
  }
  return 0;
}

/* The last few walks of this thread, to be replayed (stackwalk.h): a program
 * acquiring resources in a loop, or from a few sites, pays a comparison of
 * the stack words its walk read instead of a walk and an interning. */
#define RC_WALK_CACHE 4 /* a loop over up to four acquisition sites replays */
struct rc_walk_cache {
  struct rc_unwind_log log[RC_WALK_CACHE];
  uint32_t id[RC_WALK_CACHE];
  uint32_t next, last;
  uint32_t seq; /* odd while a walk fills a log; bumped twice by each fill */
};

/* The caches (5.2 KB each) are not thread-local storage: ld.so zeroes a
 * module's whole TLS block for every new thread (650 instructions and 83
 * cache lines written per pthread_create, for threads that may never
 * acquire anything) and in every process at start-up (a page fault).  The
 * main thread has a static one; a thread started through rcleak's
 * pthread_create trampoline borrows the one numbered after its pool element
 * (rc_stacks_thread_begin) until its start routine ends; any other thread
 * walks without one. */
#define RC_WALK_THREADS 4096 /* pool elements with a cache; later ones walk */
static __thread struct rc_walk_cache *rc_tls_walks __attribute__((tls_model("initial-exec")));
static struct rc_walk_cache rc_main_walks RC_LARGE;
static struct rc_walk_cache *_Atomic rc_thread_walks; /* [RC_WALK_THREADS], mapped at first use */

static void walks_reset(struct rc_walk_cache *wc)
{
  for (uint32_t i = 0; i < RC_WALK_CACHE; i++)
    wc->log[i].valid = false;
  wc->next = wc->last = 0;
}

void rc_stacks_thread_begin(uint32_t idx)
{
  if (!rc_own_walker || rc_options.stack_depth <= 0 || idx == 0 || idx > RC_WALK_THREADS)
    return;
  struct rc_walk_cache *a = atomic_load_explicit(&rc_thread_walks, memory_order_acquire);
  if (a == NULL) {
    int saved = errno;
    const size_t bytes = RC_WALK_THREADS * sizeof(struct rc_walk_cache);
    a = rc_reserve(bytes);
    if (a != NULL) {
      /* A fork child gets it zeroed (every log invalid) instead of a copy
       * of its page tables. */
      (void)madvise(a, bytes, MADV_WIPEONFORK);
      struct rc_walk_cache *expected = NULL;
      if (!atomic_compare_exchange_strong(&rc_thread_walks, &expected, a)) {
        munmap(a, bytes);
        a = expected;
      }
    }
    errno = saved;
    if (a == NULL)
      return;
  }
  /* The previous borrower's logs are kept: a replay re-reads every word a
   * walk from the same registers would read, so a log is right for any
   * thread (one that reuses a cached thread stack replays at once).  Only a
   * fill that never finished (its thread left from a signal handler in the
   * middle of a capture: seq odd) can leave a log that does not match its
   * id, and then all are dropped.  Writing nothing otherwise spares a new
   * thread five cache lines last written on another CPU. */
  struct rc_walk_cache *wc = &a[idx - 1];
  if (RC_UNLIKELY(__atomic_load_n(&wc->seq, __ATOMIC_RELAXED) & 1)) {
    walks_reset(wc);
    wc->seq++;
  }
  rc_tls_walks = wc;
}

void rc_stacks_thread_end(void)
{
  rc_tls_walks = NULL;
}

/* Drop rcleak's own frames from buf[0..n): the wrappers on top, and rc_main
 * (the main wrapper, exit_hook.c) below the program's main.  Returns how
 * many are kept, at most depth. */
static int keep(void **buf, int n, int depth)
{
  int kept = 0;
  for (int i = 0; i < n && kept < depth; i++)
    if ((uintptr_t)buf[i] < rc_self_lo || (uintptr_t)buf[i] >= rc_self_hi)
      buf[kept++] = buf[i];
  return kept;
}

static uint32_t keep_and_intern(void **buf, int n, int depth)
{
  int kept = keep(buf, n, depth);
  return kept ? rc_stack_intern(buf, kept) : 0;
}

/* ---- deferred first captures ----
 *
 * A short-lived process's first walk is most of what its stacks cost: ~60 us
 * here, nearly all page faults (the .eh_frame pages of the program, libc and
 * librcleak, the rule cache, the stack store), for a stack that is usually
 * thrown away a moment later when the descriptor is closed.  So the first
 * few captures on the main thread's stack copy the words from the capturing
 * frame up to the top of the stack (__libc_stack_end, where _start's frame
 * ends: under 1 KiB for a small C program, 4.5 KiB from a signal handler
 * with AVX-512 state) and return a pending id.  The walk runs over the copy
 * only if the record is still alive when its stack is asked for (the
 * report, an exec handover) or before code is unmapped (dlclose).  A
 * walk over the copy reads the same words a walk at capture time would have
 * read, so it yields the same frames, and interning dedupes them with later
 * captures of the same site.  Captures deeper than RC_DEFER_MAX_COPY, on
 * other threads' stacks or on an alternate stack walk at once. */
#define RC_DEFER_SLOTS RC_STACK_PENDING_MAX
#define RC_DEFER_BYTES 32768
#define RC_DEFER_MAX_COPY 8192
#define RC_DEFER_ABOVE_END 256 /* _start's frame ends a little above __libc_stack_end
                                  when ld.so was run as a command; argv and auxv
                                  keep this much above it mapped */

extern void *__libc_stack_end; /* ld.so: the initial stack pointer */

struct rc_deferred {
  struct rc_unwind_regs regs;
  uint32_t nsf;      /* script frames read at the capture (rc_defer_sf) */
  uintptr_t lo, hi;  /* the copied words */
  uint32_t off;      /* their place in rc_defer.bytes */
  uint32_t ready;    /* the copy is complete (release) */
  uint32_t resolved; /* 1 + the interned id, once walked */
};

/* One area, page-aligned: a process's first deferred capture writes its
 * slot and its copy (typically under 1 KB) in the same page. */
static struct {
  struct rc_deferred slot[RC_DEFER_SLOTS];
  unsigned char bytes[RC_DEFER_BYTES];
} rc_defer RC_LARGE __attribute__((aligned(4096)));
static uint32_t rc_defer_next, rc_defer_used;
/* A script interpreter's frames, read when a deferred capture was made:
 * apart from rc_defer, which every process writes, as only interpreters do
 * this. */
#define RC_DEFER_SF 64
static uintptr_t rc_defer_sf[RC_DEFER_SLOTS][RC_DEFER_SF] RC_LARGE;
static uintptr_t rc_defer_stack_top; /* 0: no deferral in this process */

static void defer_init(void)
{
  uintptr_t end = (uintptr_t)__libc_stack_end;
  if (end != 0 && end < UINTPTR_MAX - RC_DEFER_ABOVE_END)
    rc_defer_stack_top = (end + RC_DEFER_ABOVE_END) & ~(uintptr_t)7;
}

__attribute__((noinline)) RC_HOT RC_RAW_READS static uint32_t capture_deferred(const uintptr_t *sf, int nsf)
{
  struct rc_unwind_regs regs;
  RC_UNWIND_GET_REGS(regs);
  uintptr_t top = rc_defer_stack_top;
  if (regs.sp >= top || top - regs.sp > RC_DEFER_MAX_COPY)
    return 0;
  uint32_t k = __atomic_fetch_add(&rc_defer_next, 1, __ATOMIC_RELAXED);
  if (k >= RC_DEFER_SLOTS)
    return 0;
  uint32_t len = (uint32_t)(top - regs.sp);
  uint32_t off = __atomic_fetch_add(&rc_defer_used, len, __ATOMIC_RELAXED);
  if (off + len > RC_DEFER_BYTES)
    return 0;
  rc_copy_raw(rc_defer.bytes + off, (const void *)regs.sp, len);
  struct rc_deferred *d = &rc_defer.slot[k];
  if (nsf > 0)
    memcpy(rc_defer_sf[k], sf, (size_t)nsf * sizeof *sf);
  d->nsf = (uint32_t)nsf;
  d->regs = regs;
  d->lo = regs.sp;
  d->hi = top;
  d->off = off;
  __atomic_store_n(&d->ready, 1, __ATOMIC_RELEASE);
  return RC_STACK_PENDING_BASE + k;
}


/* The walk over a deferred copy; idempotent (the copy never changes), so
 * threads or a signal handler resolving the same id at once agree. */
static uint32_t resolve_deferred(struct rc_deferred *d)
{
  uint32_t r = __atomic_load_n(&d->resolved, __ATOMIC_ACQUIRE);
  if (r != 0)
    return r - 1;
  if (!__atomic_load_n(&d->ready, __ATOMIC_ACQUIRE))
    return 0;
  int depth = rc_options.stack_depth;
  if (depth <= 0)
    return 0;
  void *buf[RC_STACK_MAX_DEPTH + 16 + RC_DEFER_SF];
  if (depth > RC_STACK_MAX_DEPTH)
    depth = RC_STACK_MAX_DEPTH;
  __atomic_fetch_add(&rc_walks, 1, __ATOMIC_RELAXED);
  struct rc_unwind_copy c = {d->lo, d->hi, rc_defer.bytes + d->off};
  int n = rc_unwind_walk_copy(&d->regs, (uintptr_t *)buf, depth, rc_self_lo, rc_self_hi, &c);
  n = n > 0 ? keep(buf, n, depth) : 0;
  uint32_t k = (uint32_t)(d - rc_defer.slot);
  for (uint32_t i = 0; i < d->nsf; i++)
    buf[n++] = (void *)rc_defer_sf[k][i];
  uint32_t id = n > 0 ? rc_stack_intern(buf, n) : 0;
  __atomic_store_n(&d->resolved, id + 1, __ATOMIC_RELEASE);
  return id;
}

uint32_t rc_stack_resolve_slow(uint32_t id)
{
  return resolve_deferred(&rc_defer.slot[id - RC_STACK_PENDING_BASE]);
}

void rc_stacks_settle(void)
{
  uint32_t n = __atomic_load_n(&rc_defer_next, __ATOMIC_ACQUIRE);
  for (uint32_t k = 0; k < n && k < RC_DEFER_SLOTS; k++)
    (void)resolve_deferred(&rc_defer.slot[k]);
}

__attribute__((noinline)) static uint32_t capture_now(int depth);

/* The native stack walked now, and the script's frames sf[0..nsf) after
 * it, interned together. */
__attribute__((noinline)) static uint32_t capture_with(int depth, const uintptr_t *sf, int nsf)
{
  uint32_t id = capture_now(depth);
  uintptr_t buf[RC_STACK_MAX_DEPTH + RC_STACK_MAX_DEPTH];
  int n = 0;
  const struct rc_stack *st = rc_stack_store_get(id);
  for (uint32_t i = 0; st != NULL && i < st->depth && n < RC_STACK_MAX_DEPTH; i++)
    buf[n++] = st->pc[i];
  memcpy(buf + n, sf, (size_t)nsf * sizeof *sf);
  uint32_t both = rc_stack_intern((void *const *)buf, n + nsf);
  return both != 0 ? both : id;
}

/* A capture in a script interpreter's process: its frames are read now
 * (they are gone by the report); the native walk may still be deferred,
 * the frames kept with the copy. */
__attribute__((noinline)) static uint32_t capture_script(int depth)
{
  uintptr_t sf[RC_DEFER_SF];
  int nsf = rc_sf_capture(sf, depth < RC_DEFER_SF ? depth : RC_DEFER_SF);
  if (__atomic_load_n(&rc_defer_next, __ATOMIC_RELAXED) < RC_DEFER_SLOTS && rc_defer_stack_top) {
    uint32_t id = capture_deferred(sf, nsf);
    if (id != 0)
      return id;
  }
  return nsf > 0 ? capture_with(depth, sf, nsf) : capture_now(depth);
}

__attribute__((noinline)) RC_HOT uint32_t rc_stack_capture(void)
{
  int depth = rc_options.stack_depth;
  if (depth <= 0)
    return 0;
  /* one compare for the common case: known to run no script (-1) */
  if (RC_UNLIKELY(__atomic_load_n(&rc_sf_lang, __ATOMIC_RELAXED) >= 0) && rc_sf_active())
    return capture_script(depth);
  if (__atomic_load_n(&rc_defer_next, __ATOMIC_RELAXED) < RC_DEFER_SLOTS && rc_defer_stack_top) {
    uint32_t id = capture_deferred(NULL, 0);
    if (id != 0)
      return id;
  }
  return capture_now(depth);
}

/* A walk from regs (taken by the caller, whose frame stays above this one),
 * and its interning.  The 2 KB buffer lives in this frame, not in the
 * replay's: a replay hit writes no stack page deeper than the wrappers'
 * (after a fork, the first write to each stack page is a copy-on-write
 * fault in the parent). */
__attribute__((noinline)) static uint32_t walk_now(const struct rc_unwind_regs *regs, int depth,
                                                   struct rc_unwind_log *log)
{
  __atomic_fetch_add(&rc_walks, 1, __ATOMIC_RELAXED);
  void *buf[RC_STACK_MAX_DEPTH + 16];
  if (!rc_own_walker) {
    /* rcleak's own frames on top: the wrapper, the family's bookkeeping and
     * these functions.  Walking only that many more than the depth asked
     * for keeps the cost per frame where the program's frames are. */
    int want = depth + RC_OWN_FRAMES;
    if (want > (int)RC_ARRAY_SIZE(buf))
      want = (int)RC_ARRAY_SIZE(buf);
    return keep_and_intern(buf, backtrace_any(buf, want), depth);
  }
  /* rcleak's frames on top are walked through, not counted */
  int n = rc_unwind_walk(regs, (uintptr_t *)buf, depth, rc_self_lo, rc_self_hi, log);
  return n > 0 ? keep_and_intern(buf, n, depth) : 0;
}

/* The cache is the thread's own, but a signal handler on this thread may
 * capture in the middle of a capture (the own walker runs with the thread
 * still in RC_MODE_APP: see rc_stack_capture_app).  A replay writes
 * nothing, so the handler's own replay is harmless; a fill marks the cache
 * (seq odd), so a handler that interrupts it walks without the cache, and
 * a replay that a handler's fill overtook (seq moved) is not trusted. */
__attribute__((noinline)) static uint32_t capture_now(int depth)
{
  struct rc_unwind_regs regs;
  RC_UNWIND_GET_REGS(regs);
  struct rc_walk_cache *wc = rc_own_walker ? rc_tls_walks : NULL;
  if (wc == NULL)
    return walk_now(&regs, depth, NULL);
  uint32_t seq = wc->seq;
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  if (seq & 1)
    return walk_now(&regs, depth, NULL);
  uint32_t gen = rc_unwind_generation();
  for (uint32_t k = 0; k < RC_WALK_CACHE; k++) {
    uint32_t i = (wc->last + k) % RC_WALK_CACHE; /* the last hit first */
    if (rc_unwind_replay(&regs, &wc->log[i], gen)) {
      uint32_t id = wc->id[i];
      __atomic_signal_fence(__ATOMIC_SEQ_CST);
      if (wc->seq != seq)
        return walk_now(&regs, depth, NULL);
      /* Written only when it changes: after a fork, a store would copy the
       * page in the parent's next capture (a fault per fork). */
      /* cppcheck-suppress duplicateConditionalAssign */
      if (wc->last != i)
        wc->last = i;
      return id;
    }
  }
  wc->seq = seq + 1;
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  uint32_t slot = wc->next++ % RC_WALK_CACHE;
  wc->last = slot;
  struct rc_unwind_log *log = &wc->log[slot];
  uint32_t id = walk_now(&regs, depth, log);
  wc->id[slot] = id;
  if (id == 0)
    log->valid = false;
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  wc->seq = seq + 2;
  return id;
}

RC_HOT uint32_t rc_stack_capture_app(int mode)
{
  if (rc_own_walker)
    return rc_stack_capture();
  rc_enter();
  uint32_t id = rc_stack_capture();
  rc_leave(mode);
  return id;
}

RC_HOT void rc_stacks_init(void)
{
  if (rc_options.stack_depth <= 0)
    return; /* no capture will ever run */
  rc_own_walker = rc_unwind_init();
  if (rc_own_walker) {
    defer_init();
    rc_tls_walks = &rc_main_walks; /* rc_init runs on the main thread */
  }
  if (!rc_unwind_object_range((uintptr_t)&rc_stacks_init, &rc_self_lo, &rc_self_hi))
    dl_iterate_phdr(find_self, (void *)(uintptr_t)&rc_stacks_init);
}

bool rc_pc_in_rcleak(uintptr_t pc)
{
  return pc >= rc_self_lo && pc < rc_self_hi;
}

#define RC_INTERRUPTED_DEPTH 16

bool rc_stack_in_rcleak(uintptr_t pc, uintptr_t sp, uintptr_t bp)
{
  if (rc_pc_in_rcleak(pc))
    return true;
  if (!rc_own_walker)
    return false;
  struct rc_unwind_regs regs = {pc, sp, bp};
  uintptr_t pcs[RC_INTERRUPTED_DEPTH];
  int n = rc_unwind_walk(&regs, pcs, RC_INTERRUPTED_DEPTH, 0, 0, NULL);
  for (int i = 0; i < n; i++) {
    uintptr_t start;
    if (!rc_pc_in_rcleak(pcs[i]))
      continue;
    if (rc_unwind_caller_start(pcs[i], &start) &&
        (start == (uintptr_t)rc_main || start == (uintptr_t)rc_thread_start ||
         start == (uintptr_t)rc_thread_start_c11))
      return false; /* the program's own code runs above: no wrapper's call */
    return true;
  }
  return false;
}

const struct rc_stack *rc_stack_get(uint32_t id)
{
  return rc_stack_store_get(rc_stack_resolve(id));
}

uint64_t rc_stack_walks(void)
{
  return __atomic_load_n(&rc_walks, __ATOMIC_RELAXED);
}
