/* The registry of descriptors: one 32-byte entry per fd number, in chunks of
 * 1024 that are mapped on first use, so the hot path is an index, not a
 * search, and no lock is taken.  An entry is written by the thread that got
 * the fd from the kernel and published with a release store of `state`;
 * readers (the exit report, possibly in a signal handler) load it with
 * acquire.  Release marks the entry free BEFORE the real close, so another
 * thread that is handed the same number by the kernel cannot have its fresh
 * record wiped by our late bookkeeping. */
#ifndef RCLEAK_FDTABLE_H
#define RCLEAK_FDTABLE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

enum rc_fd_state {
  RC_FD_FREE = 0,   /* not open as far as we know */
  RC_FD_LIVE,       /* acquired by a program image (see owner) */
  RC_FD_INHERITED,  /* open when rcleak started, or untracked in the parent at fork */
  RC_FD_INTERNAL,   /* rcleak's own (or libunwind's, libdw's while we call them) */
  RC_FD_BUSY        /* being written */
};

enum { RC_FDF_ACROSS_EXEC = 1, RC_FDF_FOREIGN_STACK = 2 };

struct rc_fd_entry {
  uint32_t state;    /* enum rc_fd_state, accessed atomically */
  uint8_t fn;        /* enum rc_fn that acquired it */
  uint8_t flags;     /* RC_FDF_* */
  uint16_t reserved;
  int32_t owner;     /* pid of the process that acquired it */
  int32_t tid;       /* acquiring thread */
  uint32_t stack_id; /* rc_stack id, or a handover stack index with FOREIGN_STACK */
  uint32_t seq;      /* rc_fd_seq_now() just after it was acquired; 0 if handed over */
  uint64_t t_ns;     /* CLOCK_MONOTONIC at acquisition */
};

#define RC_FD_CHUNK 1024
#define RC_FD_MAX (1 << 22)

/* Record fd as acquired by `fn` (captures the stack); rcleak's own fds when
 * called in RC_MODE_SHIM; nothing in RC_MODE_VFORK.  Preserves errno. */
void rc_fd_acquired(int fd, unsigned fn);
/* Same for a pair (pipe, socketpair). */
void rc_fd_acquired2(const int fds[2], unsigned fn);
/* Forget fd (about to be closed).  Preserves errno. */
void rc_fd_released(int fd);
/* Forget fds in [first, last]. */
void rc_fd_released_range(unsigned first, unsigned last);
/* Mark fd as rcleak's own. */
void rc_fd_mark_internal(int fd);
/* Mark fd as inherited. */
void rc_fd_mark_inherited(int fd);
/* Install a record handed over from an earlier image of this pid. */
void rc_fd_adopt(int fd, unsigned fn, int32_t tid, uint64_t t_ns, uint32_t foreign_stack);

/* Snapshot of an entry (consistent: copied while its state was stable); false
 * if the fd has no entry. */
bool rc_fd_lookup(int fd, struct rc_fd_entry *out);

/* Whether the registry holds fd as open (in any state). */
bool rc_fd_registered(int fd);
/* One past the highest fd number that has a chunk. */
int rc_fd_limit(void);

/* How many descriptors this process has acquired so far, counted without a
 * lock (threads racing may share a number): enough to order a descriptor and
 * a fork made by one thread, which is what it is for (the producers of an
 * exec's arguments, handover.c).  A fork child counts on from its parent's. */
uint32_t rc_fd_seq_now(void);

/* Mark every open fd that has no entry as inherited (start-up, fork child). */
void rc_fd_mark_open_as_inherited(void);

#endif
