/* The descriptor registry (see fdtable.h). */
#include "fdtable.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "procfs.h"
#include "rc.h"
#include "stacks.h"

/* The first chunk (descriptors 0-1023, all most processes ever use) is in
 * .bss and found without the directory: no mmap, and no page of the
 * directory touched, in every process.  (Initialising rc_fd_chunks[0] with
 * its address instead puts the directory in .data with a relocation that
 * ld.so writes at load: a page fault in every process.) */
static struct rc_fd_entry rc_fd_chunk0[RC_FD_CHUNK] RC_LARGE __attribute__((aligned(4096))); /* fds 0-127: one page */
static struct rc_fd_entry *_Atomic rc_fd_chunks[RC_FD_MAX / RC_FD_CHUNK] RC_LARGE; /* [0] unused */
static _Atomic int rc_fd_nchunks = 1; /* one past the highest chunk index mapped */

/* The first use of a chunk past the first: map it (out of line, so that the
 * lookup below stays a few instructions with no registers to save). */
static __attribute__((noinline)) struct rc_fd_entry *chunk_create(unsigned ci)
{
  void *m = mmap(NULL, RC_FD_CHUNK * sizeof(struct rc_fd_entry), PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED)
    return NULL;
  struct rc_fd_entry *expected = NULL;
  if (!atomic_compare_exchange_strong(&rc_fd_chunks[ci], &expected, m)) {
    munmap(m, RC_FD_CHUNK * sizeof(struct rc_fd_entry));
    return expected;
  }
  int want = (int)ci + 1;
  int cur = atomic_load(&rc_fd_nchunks);
  while (cur < want && !atomic_compare_exchange_weak(&rc_fd_nchunks, &cur, want))
    ;
  return m;
}

static inline struct rc_fd_entry *chunk_for(int fd, bool create)
{
  if (fd < 0 || fd >= RC_FD_MAX)
    return NULL;
  unsigned ci = (unsigned)fd / RC_FD_CHUNK;
  if (RC_LIKELY(ci == 0))
    return rc_fd_chunk0;
  struct rc_fd_entry *c = atomic_load_explicit(&rc_fd_chunks[ci], memory_order_acquire);
  if (RC_LIKELY(c != NULL) || !create)
    return c;
  return chunk_create(ci);
}

static inline struct rc_fd_entry *entry_for(int fd, bool create)
{
  struct rc_fd_entry *c = chunk_for(fd, create);
  return c ? &c[(unsigned)fd % RC_FD_CHUNK] : NULL;
}

static void set_state(struct rc_fd_entry *e, uint32_t s)
{
  __atomic_store_n(&e->state, s, __ATOMIC_RELEASE);
}

static uint32_t rc_fd_seq;

uint32_t rc_fd_seq_now(void)
{
  return __atomic_load_n(&rc_fd_seq, __ATOMIC_RELAXED);
}

/* The next number: a plain increment, not a locked one (see fdtable.h). */
static uint32_t next_seq(void)
{
  uint32_t s = __atomic_load_n(&rc_fd_seq, __ATOMIC_RELAXED) + 1;
  __atomic_store_n(&rc_fd_seq, s, __ATOMIC_RELAXED);
  return s;
}

static void write_entry(struct rc_fd_entry *e, unsigned fn, uint32_t stack, uint8_t flags,
                        int32_t tid, uint64_t t_ns, uint32_t seq)
{
  set_state(e, RC_FD_BUSY);
  e->seq = seq;
  e->fn = (uint8_t)fn;
  e->flags = flags;
  e->owner = rc_pid;
  e->tid = tid;
  e->stack_id = stack;
  e->t_ns = t_ns;
  set_state(e, RC_FD_LIVE);
}

void rc_fd_acquired(int fd, unsigned fn)
{
  int mode = rc_tls_mode;
  if (fd < 0 || mode == RC_MODE_VFORK)
    return;
  int saved = errno;
  if (mode == RC_MODE_SHIM) {
    rc_fd_mark_internal(fd);
  } else {
    struct rc_fd_entry *e = entry_for(fd, true);
    rc_note_acquired();
    if (e != NULL) {
      uint32_t stack = rc_stack_capture_app(mode);
      write_entry(e, fn, stack, 0, rc_gettid(), rc_stamp_ns(), next_seq());
    }
  }
  errno = saved;
}

void rc_fd_acquired2(const int fds[2], unsigned fn)
{
  int mode = rc_tls_mode;
  if (mode == RC_MODE_VFORK)
    return;
  int saved = errno;
  if (mode == RC_MODE_SHIM) {
    rc_fd_mark_internal(fds[0]);
    rc_fd_mark_internal(fds[1]);
  } else {
    struct rc_fd_entry *a = entry_for(fds[0], true), *b = entry_for(fds[1], true);
    rc_note_acquired();
    uint32_t stack = rc_stack_capture_app(mode);
    int32_t tid = rc_gettid();
    uint64_t now = rc_stamp_ns();
    uint32_t seq = next_seq();
    if (a)
      write_entry(a, fn, stack, 0, tid, now, seq);
    if (b)
      write_entry(b, fn, stack, 0, tid, now, seq);
  }
  errno = saved;
}

void rc_fd_released(int fd)
{
  if (rc_tls_mode == RC_MODE_VFORK)
    return;
  struct rc_fd_entry *e = entry_for(fd, false);
  if (e != NULL && __atomic_load_n(&e->state, __ATOMIC_RELAXED) != RC_FD_FREE)
    set_state(e, RC_FD_FREE);
}

void rc_fd_released_range(unsigned first, unsigned last)
{
  if (rc_tls_mode == RC_MODE_VFORK)
    return;
  unsigned limit = (unsigned)rc_fd_limit();
  if (last >= limit)
    last = limit ? limit - 1 : 0;
  for (unsigned fd = first; fd <= last && fd < limit; fd++) {
    if (fd % RC_FD_CHUNK == 0 && entry_for((int)fd, false) == NULL) {
      fd += RC_FD_CHUNK - 1; /* whole chunk never used */
      continue;
    }
    rc_fd_released((int)fd);
  }
}

void rc_fd_mark_internal(int fd)
{
  struct rc_fd_entry *e = entry_for(fd, true);
  if (e != NULL)
    set_state(e, RC_FD_INTERNAL);
}

void rc_fd_mark_inherited(int fd)
{
  struct rc_fd_entry *e = entry_for(fd, true);
  if (e != NULL)
    set_state(e, RC_FD_INHERITED);
}

void rc_fd_adopt(int fd, unsigned fn, int32_t tid, uint64_t t_ns, uint32_t foreign_stack)
{
  struct rc_fd_entry *e = entry_for(fd, true);
  if (e != NULL)
    write_entry(e, fn, foreign_stack, RC_FDF_ACROSS_EXEC | RC_FDF_FOREIGN_STACK, tid, t_ns, 0);
}

RC_HOT bool rc_fd_lookup(int fd, struct rc_fd_entry *out)
{
  struct rc_fd_entry *e = entry_for(fd, false);
  if (e == NULL)
    return false;
  for (int tries = 0; tries < 1000; tries++) {
    uint32_t s1 = __atomic_load_n(&e->state, __ATOMIC_ACQUIRE);
    if (s1 == RC_FD_BUSY)
      continue; /* another thread is writing it right now */
    memcpy(out, e, sizeof *out);
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if (__atomic_load_n(&e->state, __ATOMIC_RELAXED) == s1) {
      out->state = s1;
      return s1 != RC_FD_FREE;
    }
  }
  /* Still changing: report what the kernel says, without our record. */
  return false;
}

int rc_fd_limit(void)
{
  return atomic_load(&rc_fd_nchunks) * RC_FD_CHUNK;
}

RC_HOT static void mark_if_unknown(int fd, void *arg)
{
  (void)arg;
  struct rc_fd_entry *e = entry_for(fd, true);
  /* A compare-and-swap, not a load then a store: at start-up the page is
   * untouched, and a load would fault in the zero page only for the store
   * to fault again. */
  uint32_t expected = RC_FD_FREE;
  if (e != NULL)
    __atomic_compare_exchange_n(&e->state, &expected, RC_FD_INHERITED, false, __ATOMIC_ACQ_REL,
                                __ATOMIC_ACQUIRE);
}

RC_HOT void rc_fd_mark_open_as_inherited(void)
{
  /* No `registered`: an entry already held needs no mark, and asking would
   * read the untouched page mark_if_unknown is about to write (two faults). */
  rc_proc_each_fd(mark_if_unknown, NULL, NULL);
}

bool rc_fd_registered(int fd)
{
  struct rc_fd_entry *e = entry_for(fd, false);
  return e != NULL && __atomic_load_n(&e->state, __ATOMIC_ACQUIRE) != RC_FD_FREE;
}
