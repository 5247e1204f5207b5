/* Shared between thread_interpose.c (wrappers) and thread_family.c. */
#ifndef RCLEAK_THREAD_FAM_H
#define RCLEAK_THREAD_FAM_H

#include <pthread.h>
#include <stdint.h>

#include "objtable.h"
#include "rc_pool.h"

/* Per-thread state, in a pool (element index in the record's data[0]). */
enum {
  RC_THR_REG = 1,      /* the creator has published the record */
  RC_THR_DETACHED = 2, /* created detached, or pthread_detach */
  RC_THR_FINISHED = 4, /* its start routine returned, or it called pthread_exit */
  RC_THR_DONE = 8,     /* released: record removed, element being freed */
};

struct rc_thr {
  uint32_t link; /* pool free list */
  uint32_t flags; /* RC_THR_*, atomic */
  int32_t tid;    /* kernel tid, set by the thread itself */
  uint32_t idx;   /* own pool index */
  void *(*start)(void *);
  void *arg;
  struct rc_obj *obj; /* its record, once published */
};

extern struct rc_pool rc_thr_pool;

#endif
