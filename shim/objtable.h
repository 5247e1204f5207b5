/* Registry of the resources that are not descriptors (children, POSIX
 * timers, threads), keyed by (kind, key): a pid, a timer id, a pthread_t.
 * (Temp dirs and files, and the three interval timers, keep the same record,
 * struct rc_obj, in elements of their own: rc_obj_fill.)  Lock-free open
 * addressing over one reserved
 * mapping: insert claims a free or deleted slot with compare-and-swap, remove
 * marks it deleted, readers (the report, possibly in a signal handler) never
 * block.  Keys are unique among live entries of a kind (the kernel does not
 * hand out a live pid or timer id twice), which is what makes reusing
 * deleted slots safe. */
#ifndef RCLEAK_OBJTABLE_H
#define RCLEAK_OBJTABLE_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "rc.h"

enum rc_obj_state { RC_OBJ_FREE = 0, RC_OBJ_BUSY, RC_OBJ_LIVE, RC_OBJ_DELETED };

struct rc_obj {
  uint32_t state;    /* enum rc_obj_state, accessed atomically */
  uint8_t kind;      /* enum rc_kind */
  uint8_t fn;        /* enum rc_fn that acquired it */
  uint16_t flags;    /* family-defined, plus RC_OBJF_* */
  int32_t owner;     /* pid of the process that acquired it */
  int32_t tid;       /* acquiring thread */
  uint64_t key;
  uint32_t stack_id; /* rc_stack id, or handover index with RC_OBJF_FOREIGN_STACK */
  uint32_t aux;      /* family-defined */
  uint64_t t_ns;     /* CLOCK_MONOTONIC at acquisition */
  uint64_t data[3];  /* family-defined */
};

enum { RC_OBJF_ACROSS_EXEC = 0x8000, RC_OBJF_FOREIGN_STACK = 0x4000 };

/* Insert a live record for (kind, key), capturing the caller's stack (in
 * RC_MODE_APP); returns the slot so the caller can fill data/aux/flags, then
 * must call rc_obj_publish.  NULL in a vfork child or when the table is full. */
struct rc_obj *rc_obj_begin(unsigned kind, uint64_t key, unsigned fn);
void rc_obj_publish(struct rc_obj *o);

/* The two halves of rc_obj_begin, for a caller that must capture the stack
 * earlier than it can insert (the fork wrapper captures before the fork, so
 * that the parent writes no stack or thread-local page after it: each such
 * write is a copy-on-write fault while the child lives).  rc_obj_capture
 * returns the caller's stack id as rc_obj_begin would record it (0 outside
 * RC_MODE_APP); rc_obj_begin_stack inserts with that id. */
uint32_t rc_obj_capture(void);
struct rc_obj *rc_obj_begin_stack(unsigned kind, uint64_t key, unsigned fn, uint32_t stack);

/* Fill o as a new record of (kind, key) acquired by fn with `stack`: what
 * rc_obj_begin_stack writes into a slot it claimed, for a family that keeps
 * the record in an element of its own instead (the tmp family: one entry
 * per temp, no probing of the table).  o->state is left to the caller. */
static inline void rc_obj_fill(struct rc_obj *o, unsigned kind, uint64_t key, unsigned fn,
                               uint32_t stack)
{
  o->kind = (uint8_t)kind;
  o->fn = (uint8_t)fn;
  o->flags = 0;
  o->owner = rc_pid;
  o->tid = rc_gettid();
  o->key = key;
  o->stack_id = stack;
  o->aux = 0;
  o->t_ns = rc_stamp_ns();
  memset(o->data, 0, sizeof o->data);
}

/* The live record for (kind, key), or NULL. */
struct rc_obj *rc_obj_find(unsigned kind, uint64_t key);
/* Remove (kind, key); returns whether it was there. */
bool rc_obj_remove(unsigned kind, uint64_t key);
void rc_obj_remove_slot(struct rc_obj *o);

/* How many records of `kind` are live. */
uint32_t rc_obj_count(unsigned kind);

/* Visit every live record of `kind` (all kinds if kind < 0), lock-free;
 * fn returns false to stop. */
void rc_obj_each(int kind, bool (*fn)(struct rc_obj *o, void *arg), void *arg);

#endif
