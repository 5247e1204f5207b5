/* A fixed-size element pool for the timer, tmp and thread families: one
 * anonymous MAP_NORESERVE mapping (pages are committed as they are touched),
 * a free list threaded through the elements, and a spin lock taken only by
 * the wrappers (acquire/release), never by the report path, which only reads
 * elements reachable from live object-table records.  Elements are recycled,
 * so a program that acquires and releases in a loop uses bounded memory.
 * The lock is reset in the fork child (rc_pool_after_fork), where the thread
 * that held it no longer exists. */
#ifndef RCLEAK_RC_POOL_H
#define RCLEAK_RC_POOL_H

#include <stdint.h>
#include <string.h>

#include "rc.h"

struct rc_pool {
  uint32_t elem; /* element size, a multiple of 8 and at least 8 */
  uint32_t cap;  /* elements */
  char *base;
  uint32_t hw;        /* elements ever handed out (high-water mark) */
  uint32_t free_head; /* 1-based index of the first free element, 0 = none */
  int lock;
};

#define RC_POOL_INIT(size, count) {.elem = (size), .cap = (count)}

static inline void rc_pool_lock(struct rc_pool *p)
{
  while (__atomic_exchange_n(&p->lock, 1, __ATOMIC_ACQUIRE))
    __builtin_ia32_pause();
}

static inline void rc_pool_unlock(struct rc_pool *p)
{
  __atomic_store_n(&p->lock, 0, __ATOMIC_RELEASE);
}

/* Written only when set: a store, even of the same value, would copy the
 * page (shared with the parent since the fork) in every fork child. */
static inline void rc_pool_after_fork(struct rc_pool *p)
{
  if (p->lock)
    p->lock = 0;
}

/* Pointer to element idx (1-based), or NULL. */
static inline void *rc_pool_get(const struct rc_pool *p, uint32_t idx)
{
  char *base = __atomic_load_n(&p->base, __ATOMIC_ACQUIRE);
  if (idx == 0 || idx > p->cap || base == NULL)
    return NULL;
  return base + (size_t)(idx - 1) * p->elem;
}

/* Allocate a zeroed element; returns its 1-based index, 0 when full.  Call
 * with the lock held.  Elements are zeroed when freed (and new ones come
 * zeroed from the mapping), so only the free-list link needs clearing here:
 * one memset per acquire/release cycle, not two. */
static inline uint32_t rc_pool_alloc_locked(struct rc_pool *p)
{
  if (p->base == NULL) {
    void *m = rc_reserve((size_t)p->elem * p->cap);
    if (m == NULL)
      return 0;
    __atomic_store_n(&p->base, (char *)m, __ATOMIC_RELEASE);
  }
  uint32_t idx;
  if (p->free_head) {
    idx = p->free_head;
    void *e = rc_pool_get(p, idx);
    uint32_t next;
    memcpy(&next, e, sizeof next);
    p->free_head = next;
    memset(e, 0, sizeof next);
  } else if (p->hw < p->cap) {
    idx = ++p->hw;
  } else {
    return 0;
  }
  return idx;
}

/* Give element idx back without zeroing it, for an owner that writes every
 * field it reads when it allocates the element again (alloc clears only the
 * link) and leaves the fields a lock-free reader checks saying "not in use":
 * zeroing a 256-byte element costs a quarter of a temp's bookkeeping.  Call
 * with the lock held. */
static inline void rc_pool_free_dirty_locked(struct rc_pool *p, uint32_t idx)
{
  void *e = rc_pool_get(p, idx);
  if (e == NULL)
    return;
  memcpy(e, &p->free_head, sizeof p->free_head);
  p->free_head = idx;
}

/* Give element idx back, zeroed.  Call with the lock held. */
static inline void rc_pool_free_locked(struct rc_pool *p, uint32_t idx)
{
  void *e = rc_pool_get(p, idx);
  if (e == NULL)
    return;
  memset(e, 0, p->elem);
  rc_pool_free_dirty_locked(p, idx);
}

#endif
