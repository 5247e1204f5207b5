/* Registry of non-descriptor resources (see objtable.h). */
#include "objtable.h"

#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>

#include "rc.h"
#include "stacks.h"

#define RC_OBJ_SLOTS (1u << 18) /* power of two; 16 MiB reserved, touched as used */

static struct rc_obj *_Atomic rc_objs;

/* Every key lives within this many slots of its hash.  Deleted slots are
 * reused by inserts but never turned back into free ones (that is not safe
 * without a lock), so in a long create/delete loop with ever new keys (the
 * kernel hands out fresh timer ids and pids) the table fills with them; the
 * bound keeps a lookup of an absent key at one page of probing instead of
 * the whole table.  At under 50% live entries, a window without a free or
 * deleted slot is vanishingly rare; an insert that finds none is dropped. */
#define RC_OBJ_MAX_PROBE 64u

/* Which pages of the table were ever written: the table is reserved, not
 * committed, and a report that walked all of it would fault in every page
 * (16 MiB) in every process, fork children included.  Walks visit only
 * pages marked here. */
#define RC_OBJ_PER_PAGE (4096 / sizeof(struct rc_obj))
#define RC_OBJ_PAGES (RC_OBJ_SLOTS / RC_OBJ_PER_PAGE)
_Static_assert(4096 % sizeof(struct rc_obj) == 0, "records must tile a page");

/* The page marks and, per kind, the live records (so that a walk for a kind
 * with none, the common case, costs nothing) live in one page right after
 * the slots, in the same mapping: a fork child gets them zeroed together
 * with the slots (see table()), so its view is consistently empty, and the
 * parent's count update after a fork is no copy-on-write fault. */
struct rc_obj_meta {
  uint32_t live[RC_KIND_COUNT + 1];
  uint64_t pages[RC_OBJ_PAGES / 64];
};
_Static_assert(sizeof(struct rc_obj_meta) <= 4096, "the table's meta data fits a page");
#define RC_OBJ_MAP_BYTES (RC_OBJ_SLOTS * sizeof(struct rc_obj) + 4096)

static struct rc_obj_meta *meta_of(struct rc_obj *t)
{
  return (struct rc_obj_meta *)(void *)(t + RC_OBJ_SLOTS);
}

static void mark_page(struct rc_obj *t, uint32_t slot)
{
  uint64_t *pages = meta_of(t)->pages;
  uint32_t page = slot / (uint32_t)RC_OBJ_PER_PAGE;
  uint64_t bit = 1ull << (page % 64);
  if (!(__atomic_load_n(&pages[page / 64], __ATOMIC_RELAXED) & bit))
    __atomic_fetch_or(&pages[page / 64], bit, __ATOMIC_RELEASE);
}

static struct rc_obj *table(bool create)
{
  struct rc_obj *t = atomic_load_explicit(&rc_objs, memory_order_acquire);
  if (RC_LIKELY(t != NULL) || !create)
    return t;
  void *m = rc_reserve(RC_OBJ_MAP_BYTES);
  if (m == NULL)
    return NULL;
  /* A fork child gets this mapping zero-filled instead of copied (Linux 4.14;
   * on older kernels the advice fails and the child gets a copy, as before):
   * an empty table, no counts, no page marks.  Nothing is lost: every record
   * here is the parent's (owner), which a fork child skips everywhere.  What
   * is gained: fork copies none of the table's page-table entries, which
   * grow with every pid ever recorded (sequential keys, deleted slots stay
   * resident: 2 MB once pids wrap at pid_max 32768, ~75 us more per fork),
   * and the parent's first writes to the table after a fork are no
   * copy-on-write faults. */
  (void)madvise(m, RC_OBJ_MAP_BYTES, MADV_WIPEONFORK);
  struct rc_obj *expected = NULL;
  if (!atomic_compare_exchange_strong(&rc_objs, &expected, m)) {
    munmap(m, RC_OBJ_MAP_BYTES);
    return expected;
  }
  return m;
}

/* Pids and kernel timer ids are small integers handed out in sequence: kept
 * in sequence in the table too, so N live records touch N*64 bytes of it
 * instead of a page each (memory per resource, and the report's walk).
 * Other keys (pthread_t, inode numbers) are addresses or sparse: mixed. */
static uint32_t slot_of(unsigned kind, uint64_t key)
{
  if ((kind == RC_KIND_TIMER || kind == RC_KIND_CHILD) && key < (1ull << 31))
    return (uint32_t)(key + (uint64_t)kind * (RC_OBJ_SLOTS / 8)) & (RC_OBJ_SLOTS - 1);
  uint64_t h = (key ^ ((uint64_t)kind << 56)) * 0x9e3779b97f4a7c15ull;
  return (uint32_t)(h >> 40) & (RC_OBJ_SLOTS - 1);
}

static uint32_t load_state(const struct rc_obj *o)
{
  return __atomic_load_n(&o->state, __ATOMIC_ACQUIRE);
}

uint32_t rc_obj_capture(void)
{
  int mode = rc_tls_mode;
  if (mode != RC_MODE_APP)
    return 0;
  rc_note_acquired();
  return rc_stack_capture_app(mode);
}

struct rc_obj *rc_obj_begin(unsigned kind, uint64_t key, unsigned fn)
{
  if (rc_tls_mode == RC_MODE_VFORK)
    return NULL;
  return rc_obj_begin_stack(kind, key, fn, rc_obj_capture());
}

struct rc_obj *rc_obj_begin_stack(unsigned kind, uint64_t key, unsigned fn, uint32_t stack)
{
  if (rc_tls_mode == RC_MODE_VFORK)
    return NULL;
  struct rc_obj *t = table(true);
  if (t == NULL)
    return NULL;
  uint32_t s = slot_of(kind, key);
  for (uint32_t probes = 0; probes < RC_OBJ_MAX_PROBE; probes++) {
    struct rc_obj *o = &t[s];
    uint32_t st = load_state(o);
    if (st == RC_OBJ_FREE || st == RC_OBJ_DELETED) {
      if (__atomic_compare_exchange_n(&o->state, &st, RC_OBJ_BUSY, false, __ATOMIC_ACQ_REL,
                                      __ATOMIC_ACQUIRE)) {
        mark_page(t, s);
        rc_obj_fill(o, kind, key, fn, stack);
        return o;
      }
    }
    s = (s + 1) & (RC_OBJ_SLOTS - 1);
  }
  return NULL;
}

void rc_obj_publish(struct rc_obj *o)
{
  if (o == NULL)
    return;
  /* o is a slot of the table, so the table exists */
  __atomic_fetch_add(&meta_of(table(false))->live[o->kind], 1, __ATOMIC_RELAXED);
  __atomic_store_n(&o->state, RC_OBJ_LIVE, __ATOMIC_RELEASE);
}

struct rc_obj *rc_obj_find(unsigned kind, uint64_t key)
{
  struct rc_obj *t = table(false);
  /* None of the kind live (a create/release loop between lookups): nothing
   * to probe for, past the deleted slots the loop leaves behind. */
  if (t == NULL || kind > RC_KIND_COUNT ||
      __atomic_load_n(&meta_of(t)->live[kind], __ATOMIC_ACQUIRE) == 0)
    return NULL;
  uint32_t s = slot_of(kind, key);
  for (uint32_t probes = 0; probes < RC_OBJ_MAX_PROBE; probes++) {
    struct rc_obj *o = &t[s];
    uint32_t st = load_state(o);
    if (st == RC_OBJ_FREE)
      return NULL;
    if (st == RC_OBJ_LIVE && o->kind == kind && o->key == key)
      return o;
    s = (s + 1) & (RC_OBJ_SLOTS - 1);
  }
  return NULL;
}

void rc_obj_remove_slot(struct rc_obj *o)
{
  uint32_t st = RC_OBJ_LIVE;
  if (__atomic_compare_exchange_n(&o->state, &st, RC_OBJ_DELETED, false, __ATOMIC_ACQ_REL,
                                  __ATOMIC_ACQUIRE))
    __atomic_fetch_sub(&meta_of(table(false))->live[o->kind], 1, __ATOMIC_RELAXED);
}

bool rc_obj_remove(unsigned kind, uint64_t key)
{
  if (rc_tls_mode == RC_MODE_VFORK)
    return false;
  struct rc_obj *o = rc_obj_find(kind, key);
  if (o == NULL)
    return false;
  rc_obj_remove_slot(o);
  return true;
}

RC_HOT uint32_t rc_obj_count(unsigned kind)
{
  struct rc_obj *t = table(false);
  if (t == NULL || kind > RC_KIND_COUNT)
    return 0;
  return __atomic_load_n(&meta_of(t)->live[kind], __ATOMIC_ACQUIRE);
}

RC_HOT void rc_obj_each(int kind, bool (*fn)(struct rc_obj *o, void *arg), void *arg)
{
  struct rc_obj *t = table(false);
  if (t == NULL)
    return;
  struct rc_obj_meta *meta = meta_of(t);
  if (kind >= 0 && kind <= RC_KIND_COUNT && __atomic_load_n(&meta->live[kind], __ATOMIC_ACQUIRE) == 0)
    return;
  for (uint32_t w = 0; w < RC_OBJ_PAGES / 64; w++) {
    uint64_t bits = __atomic_load_n(&meta->pages[w], __ATOMIC_ACQUIRE);
    while (bits) {
      uint32_t page = w * 64 + (uint32_t)__builtin_ctzll(bits);
      bits &= bits - 1;
      for (uint32_t s = page * (uint32_t)RC_OBJ_PER_PAGE; s < (page + 1) * RC_OBJ_PER_PAGE; s++) {
        struct rc_obj *o = &t[s];
        if (load_state(o) != RC_OBJ_LIVE || (kind >= 0 && o->kind != (unsigned)kind))
          continue;
        if (!fn(o, arg))
          return;
      }
    }
  }
}
