/* The deduplicating stack store (see stack_store.h). */
#include "stack_store.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>

#include "rc.h"

/* One reservation; Linux commits pages only when they are touched, so an
 * idle process pays nothing and a busy one pays for what it stores.
 *
 * Laid out for fork: every 2 MB window of it that holds a touched page has a
 * page table that each fork copies and each fork child's exit frees (~5 us
 * a window on this VM; ld.so places no other mapping there to share it).
 * So the reservation is 2 MB aligned and its first window holds everything
 * a process with up to a few thousand stacks touches: the header (which
 * also keeps the first ids' record offsets, and the first records: the
 * first stacks cost one page and their hash slots), the rest of the
 * arena's first part, the id index and the hash slots.  The arena goes on
 * past the window.  Before this layout the slots alone (8 MB, at the end)
 * spread a process's stacks over up to four more windows.  The price: room
 * for 131,072 distinct stacks (was a million); a program past that gets its
 * further records without a stack. */
#define RC_STACK_MAX_IDS (1u << 17)     /* distinct stacks */
#define RC_STACK_SLOTS (1u << 18)       /* power of two, load factor <= 0.5 */
#define RC_STACK_WINDOW (2u << 20)      /* one page table's reach */
#define RC_STACK_RESERVE (256u << 20)   /* the whole store */
#define RC_STACK_SLOTS_AT (RC_STACK_WINDOW - RC_STACK_SLOTS * 4u)          /* 1 MB */
#define RC_STACK_OFFSETS_AT (RC_STACK_SLOTS_AT - RC_STACK_MAX_IDS * 4u)    /* 512 KB */

#define RC_STACK_FIRST_IDS 32 /* ids whose record offset is kept in the header */

_Static_assert(RC_STACK_MAX_IDS <= RC_STACK_PENDING_BASE, "interned ids below the pending ones");
_Static_assert(RC_STACK_OFFSETS_AT >= 64u << 10, "room for the arena's first part");

struct rc_stack_store {
  uint32_t *slots;   /* hash slot -> id (0 = empty) */
  uint32_t *offsets; /* id -> offset of its record in arena (ids from RC_STACK_FIRST_IDS) */
  char *arena;       /* the reservation itself: the header is its first bytes */
  uint64_t arena_used;
  uint32_t nids;      /* ids published, including a race's unused ones */
  uint32_t ndistinct; /* ids a hash slot holds: the distinct stacks */
  uint32_t first[RC_STACK_FIRST_IDS]; /* id -> offset, the first ids */
};

static struct rc_stack_store *_Atomic rc_store;

/* A 2 MB aligned reservation of `bytes`: reserve a window more and give
 * back the unaligned ends. */
static char *reserve_aligned(size_t bytes)
{
  char *m = rc_reserve(bytes + RC_STACK_WINDOW);
  if (m == NULL)
    return NULL;
  char *a = (char *)(((uintptr_t)m + RC_STACK_WINDOW - 1) & ~(uintptr_t)(RC_STACK_WINDOW - 1));
  size_t head = (size_t)(a - m); /* < RC_STACK_WINDOW, so the tail is never empty */
  if (head > 0)
    munmap(m, head);
  munmap(a + bytes, RC_STACK_WINDOW - head);
  return a;
}

static struct rc_stack_store *store_get(void)
{
  struct rc_stack_store *s = atomic_load_explicit(&rc_store, memory_order_acquire);
  if (RC_LIKELY(s != NULL))
    return s;
  /* First capture in the process; a thread that loses the race unmaps its
   * copy. */
  char *m = reserve_aligned(RC_STACK_RESERVE);
  if (m == NULL)
    return NULL;
  struct rc_stack_store *n = (struct rc_stack_store *)m;
  n->arena = m;
  n->arena_used = (sizeof *n + 7) & ~(size_t)7; /* so no offset is 0 ("unpublished") */
  n->offsets = (uint32_t *)(m + RC_STACK_OFFSETS_AT);
  n->slots = (uint32_t *)(m + RC_STACK_SLOTS_AT);
  struct rc_stack_store *expected = NULL;
  if (!atomic_compare_exchange_strong(&rc_store, &expected, n)) {
    munmap(m, RC_STACK_RESERVE);
    return expected;
  }
  return n;
}

static uint64_t hash_pcs(void *const *pcs, int n)
{
  uint64_t h = 0x9e3779b97f4a7c15ull ^ (uint64_t)n;
  for (int i = 0; i < n; i++) {
    h ^= (uint64_t)(uintptr_t)pcs[i];
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 32;
  }
  return h;
}

static uint32_t *offset_of(struct rc_stack_store *s, uint32_t id)
{
  return id < RC_STACK_FIRST_IDS ? &s->first[id] : &s->offsets[id];
}

static const struct rc_stack *record_at(struct rc_stack_store *s, uint32_t id)
{
  uint32_t off = __atomic_load_n(offset_of(s, id), __ATOMIC_ACQUIRE);
  return off ? (const struct rc_stack *)(s->arena + off) : NULL;
}

static uint32_t publish(struct rc_stack_store *s, void *const *pcs, int n, uint64_t h)
{
  uint64_t size = (sizeof(struct rc_stack) + (size_t)n * sizeof(uintptr_t) + 7) & ~7ull;
  /* Bump allocation around the index in the first window: a record that
   * would reach into it goes past the window instead. */
  uint64_t used = __atomic_load_n(&s->arena_used, __ATOMIC_RELAXED), off;
  do {
    off = used;
    if (off < RC_STACK_WINDOW && off + size > RC_STACK_OFFSETS_AT)
      off = RC_STACK_WINDOW;
  } while (!__atomic_compare_exchange_n(&s->arena_used, &used, off + size, true,
                                        __ATOMIC_RELAXED, __ATOMIC_RELAXED));
  if (off + size > RC_STACK_RESERVE)
    return 0;
  uint32_t id = __atomic_add_fetch(&s->nids, 1, __ATOMIC_RELAXED);
  if (id >= RC_STACK_MAX_IDS)
    return 0;
  struct rc_stack *rec = (struct rc_stack *)(s->arena + off);
  rec->hash = h;
  rec->depth = (uint32_t)n;
  memcpy(rec->pc, pcs, (size_t)n * sizeof(uintptr_t));
  __atomic_store_n(offset_of(s, id), (uint32_t)off, __ATOMIC_RELEASE);
  return id;
}

static uint32_t intern(struct rc_stack_store *s, void *const *pcs, int n)
{
  uint64_t h = hash_pcs(pcs, n);
  uint32_t slot = (uint32_t)h & (RC_STACK_SLOTS - 1);
  uint32_t fresh = 0;
  for (uint32_t probes = 0; probes < RC_STACK_SLOTS; probes++) {
    /* The first probe reads with a write (a compare-and-swap of 0 for 0,
     * which x86 performs as a write even when it fails): on a page never
     * touched, a plain load would fault in the zero page and the store that
     * follows would fault again to copy it.  (A fetch_or of 0 does not do:
     * compilers turn it into a load and a loop.) */
    uint32_t id = 0;
    if (probes == 0)
      (void)__atomic_compare_exchange_n(&s->slots[slot], &id, 0, false, __ATOMIC_ACQUIRE,
                                        __ATOMIC_ACQUIRE);
    else
      id = __atomic_load_n(&s->slots[slot], __ATOMIC_ACQUIRE);
    if (id == 0) {
      if (fresh == 0 && (fresh = publish(s, pcs, n, h)) == 0)
        return 0;
      if (__atomic_compare_exchange_n(&s->slots[slot], &id, fresh, false,
                                      __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        __atomic_add_fetch(&s->ndistinct, 1, __ATOMIC_RELAXED);
        return fresh;
      }
      /* Another thread filled this slot: look at what it put there. */
    }
    const struct rc_stack *r = record_at(s, id);
    if (r && r->hash == h && r->depth == (uint32_t)n &&
        memcmp(r->pc, pcs, (size_t)n * sizeof(uintptr_t)) == 0)
      return id; /* a fresh record, if any, stays unused: rare and harmless */
    slot = (slot + 1) & (RC_STACK_SLOTS - 1);
  }
  return 0;
}

uint32_t rc_stack_intern(void *const *pcs, int n)
{
  struct rc_stack_store *s = store_get();
  return s != NULL && n > 0 ? intern(s, pcs, n) : 0;
}

const struct rc_stack *rc_stack_store_get(uint32_t id)
{
  struct rc_stack_store *s = atomic_load_explicit(&rc_store, memory_order_acquire);
  if (s == NULL || id == 0 || id > __atomic_load_n(&s->nids, __ATOMIC_ACQUIRE) ||
      id >= RC_STACK_MAX_IDS)
    return NULL;
  return record_at(s, id);
}

uint32_t rc_stack_count(void)
{
  struct rc_stack_store *s = atomic_load_explicit(&rc_store, memory_order_acquire);
  return s ? __atomic_load_n(&s->nids, __ATOMIC_ACQUIRE) : 0;
}

uint32_t rc_stack_distinct(void)
{
  struct rc_stack_store *s = atomic_load_explicit(&rc_store, memory_order_acquire);
  return s ? __atomic_load_n(&s->ndistinct, __ATOMIC_RELAXED) : 0;
}

uint64_t rc_stack_bytes(void)
{
  struct rc_stack_store *s = atomic_load_explicit(&rc_store, memory_order_acquire);
  if (s == NULL)
    return 0;
  uint64_t used = __atomic_load_n(&s->arena_used, __ATOMIC_RELAXED);
  if (used > RC_STACK_WINDOW)
    used -= RC_STACK_WINDOW - RC_STACK_OFFSETS_AT; /* the index is not records */
  return used + (uint64_t)__atomic_load_n(&s->nids, __ATOMIC_RELAXED) * 8u;
}
