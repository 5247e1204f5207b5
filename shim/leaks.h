/* The leak set built at exit: one record per leaked resource, of any kind,
 * plus the family table that fills, describes and cleans them.  Built on
 * the report arena, so it is usable from the signal path. */
#ifndef RCLEAK_LEAKS_H
#define RCLEAK_LEAKS_H

#include <stdbool.h>
#include <stdint.h>

#include "stacks.h"
#include "strbuf.h"
#include "symbolize.h"

enum {
  RC_LEAK_UNTRACKED = 1,
  RC_LEAK_ACROSS_EXEC = 2,
  RC_LEAK_FOREIGN_STACK = 4, /* stack_id indexes the stacks handed over by exec */
  RC_LEAK_SUPPRESSED = 8,
};

enum rc_cleanup_result {
  RC_CLEAN_NONE = 0,
  RC_CLEAN_KILLED,   /* with cleanup_sig */
  RC_CLEAN_REAPED,
  RC_CLEAN_REMOVED,
  RC_CLEAN_UNLINKED,
  RC_CLEAN_DELETED,
  RC_CLEAN_DISARMED,
  RC_CLEAN_FAILED,   /* with `detail` as the reason */
};

struct rc_leak {
  uint8_t kind;    /* enum rc_kind */
  uint8_t fn;      /* enum rc_fn of the acquirer, RC_FN_NONE if untracked */
  uint8_t flags;   /* RC_LEAK_* */
  uint8_t cleanup; /* enum rc_cleanup_result */
  int32_t cleanup_sig;
  int32_t tid;
  uint32_t stack_id;
  uint64_t t_ns;
  const char *target;  /* fd target, child command, tmpdir/tmpfile path (arena) */
  const char *detail;  /* cleanup failure reason (arena or static) */
  union {
    struct { int32_t fd; uint8_t type; bool cloexec; int8_t armed; } fd;
    struct { int32_t pid; uint8_t state; uint8_t daemon; uint64_t start_time; } child;
    struct { int64_t id; int32_t clock; bool armed; uint64_t interval_ns; } timer;
    struct { int32_t which; uint64_t value_ns, interval_ns; } itimer;
    struct { int64_t entries; uint64_t dev, ino; } tmpdir;
    struct { int64_t bytes; uint64_t dev, ino; } tmpfile;
    struct { int32_t tid; bool detached; bool finished; uintptr_t start_routine; } thread;
    uint64_t raw[3];
  } u;
};

/* The stack id a leak record carries: a deferred capture's walked and
 * interned now, so that the report compares and indexes interned ids only
 * (a handed-over stack's index is left as it is). */
static inline uint32_t rc_leak_stack_id(uint32_t stack_id, uint8_t flags)
{
  return flags & RC_LEAK_FOREIGN_STACK ? stack_id : rc_stack_resolve(stack_id);
}

/* One cache line: the report walks 100k of them several times, and they are
 * most of its peak memory. */
_Static_assert(sizeof(struct rc_leak) <= 64, "struct rc_leak grew past 64 bytes");

struct rc_leakset {
  struct rc_leak *v;
  uint32_t n, cap;
  uint32_t suppressed;
  uint64_t now_ns; /* CLOCK_MONOTONIC at the end of the process */
  bool by_signal;          /* the report of a process a signal is ending */
  bool interrupted_rcleak; /* a signal's report, from inside rcleak's own code */
  int in_flight_fd;        /* a signal's report: see struct rc_exit; -1 */
  const void *ucontext;    /* a signal's report: see struct rc_exit; NULL */
  int8_t in_wrapper_call;  /* rc_signal_in_wrapper_call, once asked; -1 before */
  int8_t other_threads;    /* fd_family.c: 1: the process has other threads, -1: none; 0 before */
  uint8_t settle_ms;       /* fd_family.c: how long the report has waited for them */
};

/* Append a zeroed record of `kind`; NULL when the set is full. */
struct rc_leak *rc_leak_add(struct rc_leakset *ls, unsigned kind);

/* A family of resources: how its leaks are found, described and cleaned.
 * Every callback runs on the report path and must be async-signal-safe. */
struct rc_family {
  unsigned kind;
  const char *noun;        /* "file descriptor" */
  const char *plural;      /* "file descriptors" */
  void (*collect)(struct rc_leakset *ls);
  void (*clean)(struct rc_leak *lk);                          /* may be NULL */
  void (*json_fields)(struct rc_strbuf *o, const struct rc_leak *lk);
  void (*describe)(struct rc_strbuf *o, const struct rc_leak *lk); /* "fd 5: file /tmp/x" */
};

extern const struct rc_family rc_family_fd;
const struct rc_family *rc_family_of(unsigned kind);

/* The frames of a leak's stack, symbolized; *n = 0 when it has none. */
/* Symbolize stack st into out[st->depth] (rc_sym_begin done): native
 * frames with any Python frames in place; returns the count. */
struct rc_stack;
uint32_t rc_stack_frames(const struct rc_stack *st, struct rc_frame *out);

const struct rc_frame *rc_leak_frames(const struct rc_leak *lk, uint32_t *n);
/* The same with functions and modules only, file:line not looked up yet
 * (which may load libdw): enough to match most suppressions. */
const struct rc_frame *rc_leak_frames_unlined(const struct rc_leak *lk, uint32_t *n);

#endif
