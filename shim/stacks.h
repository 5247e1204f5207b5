/* Acquisition stacks: walked by rcleak's own unwinder (stackwalk.h; libgcc's
 * and libunwind's where it is not available), stored once per distinct stack
 * and referred to by a 32-bit id.  Readers (the report, possibly from a
 * signal handler) never take a lock: records are immutable once published. */
#ifndef RCLEAK_STACKS_H
#define RCLEAK_STACKS_H

#include <stdbool.h>
#include <stdint.h>

#define RC_STACK_MAX_DEPTH 256

struct rc_stack {
  uint64_t hash;
  uint32_t depth;
  uint32_t reserved;
  uintptr_t pc[]; /* return addresses, innermost first; rcleak's frames removed */
};

/* Capture the caller's stack (frames inside librcleak.so are skipped) and
 * return its id; 0 when stacks are disabled (stack_depth=0) or storage is full.
 * Wrappers call it through rc_stack_capture_app (below). */
uint32_t rc_stack_capture(void);

/* Ids from RC_STACK_PENDING_BASE name a capture whose walk was deferred
 * (stacks.c): rc_stack_resolve turns one into the interned id, walking then
 * if no one has yet.  Records keep what rc_stack_capture returned; whatever
 * compares or indexes ids (the report's leak records) resolves them first. */
#define RC_STACK_PENDING_BASE 0xfff00000u
#define RC_STACK_PENDING_MAX 16u

uint32_t rc_stack_resolve_slow(uint32_t id);

static inline uint32_t rc_stack_resolve(uint32_t id)
{
  return id - RC_STACK_PENDING_BASE < RC_STACK_PENDING_MAX ? rc_stack_resolve_slow(id) : id;
}

/* Walk every deferred capture now: called before code is unmapped, which
 * would leave a later walk without the unwind tables it needs. */
void rc_stacks_settle(void);

/* rc_stack_capture for a wrapper in RC_MODE_APP (`mode`, what rc_tls_mode
 * was).  The general unwinders (libgcc, libunwind) may open files, which
 * the wrappers must see as rcleak's own, so they run in RC_MODE_SHIM.
 * rcleak's own walker calls nothing interposed and copes with a capture
 * nested in a signal handler, so the mode is left alone: a thread-local
 * store on every acquisition was a copy-on-write fault after every fork,
 * and an acquisition in a handler that interrupted a capture was taken for
 * rcleak's own. */
uint32_t rc_stack_capture_app(int mode);

/* The stack with this id, or NULL for 0 or an id not (yet) published. */
const struct rc_stack *rc_stack_get(uint32_t id);

/* Highest id published so far: the bound for tables indexed by id.  Two
 * threads that intern the same new stack at once each publish a record and
 * one of them goes unused, so this may exceed rc_stack_distinct(). */
uint32_t rc_stack_count(void);

/* Distinct stacks stored (for verbosity): ids some hash slot holds. */
uint32_t rc_stack_distinct(void);

/* Stack walks done so far (for verbosity): a capture that replays a
 * cached walk, or a deferred copy never needed, does not walk. */
uint64_t rc_stack_walks(void);

/* Bytes of memory the store has touched (for verbosity / benchmarks). */
uint64_t rc_stack_bytes(void);

/* Where the general unwinders are in use (no stackwalk.c walker), load them
 * now if not yet loaded: called when the program installs a signal handler,
 * because a first capture inside that handler (open() is async-signal-safe)
 * must not have to dlopen anything.  A no-op with the walker. */
void rc_stacks_prepare(void);

/* A thread started through rcleak's trampoline, with pool element idx:
 * give it a replay cache (begin), and take it back before the element can
 * be freed (end, on the thread itself). */
void rc_stacks_thread_begin(uint32_t idx);
void rc_stacks_thread_end(void);

/* Whether pc lies in librcleak.so's own mapping. */
bool rc_pc_in_rcleak(uintptr_t pc);

/* Whether a thread stopped at pc with these rsp and rbp (a signal's
 * context) is inside librcleak or a call made from it: pc or one of its
 * callers (up to 16, by rcleak's own walker; pc alone without it) in
 * librcleak's mapping.  Async-signal-safe. */
bool rc_stack_in_rcleak(uintptr_t pc, uintptr_t sp, uintptr_t bp);

/* rcleak's functions that run the program's own code: main under
 * __libc_start_main's wrapper (exit_hook.c), a thread's start routine under
 * the trampoline (thread_interpose.c).  A frame of theirs is the bottom of
 * the program's stack, not a wrapper's call in progress. */
int rc_main(int argc, char **argv, char **envp);
void *rc_thread_start(void *p);
int rc_thread_start_c11(void *p);

/* Called once from rc_init: whether the walker can run, our own mapped range. */
void rc_stacks_init(void);

#endif
