/* rcleak's own stack walker for x86_64: DWARF call-frame information (the
 * .eh_frame_hdr of each object, found with _dl_find_object) interpreted once
 * per return address and kept in a small lock-free rule cache, so a walk over
 * known code costs a cache lookup and two loads a frame.
 *
 * Every memory read a walk makes is appended to a log (address, value).  A
 * later walk from the same starting registers that finds the same values at
 * the same addresses necessarily produces the same frames, so the caller can
 * replay the log instead of walking (stacks.c keeps the last few logs per
 * thread).  Replaying reads exactly the addresses a real walk would read, in
 * the same order, stopping at the first difference: it is never less safe
 * than walking.
 *
 * Async-signal-safe: only memory reads, atomics, _dl_find_object (documented
 * async-signal-safe) and, once per process, mmap. */
#ifndef RCLEAK_STACKWALK_H
#define RCLEAK_STACKWALK_H

#include <stdbool.h>
#include <stdint.h>

/* Where a walk starts: an instruction address in the caller's function and
 * the values rsp and rbp have there.  Must be taken in the function that
 * then calls rc_unwind_walk / rc_unwind_replay (its frame is above theirs). */
struct rc_unwind_regs {
  uintptr_t pc, sp, bp;
};

#if defined(__x86_64__)
#define RC_UNWIND_SUPPORTED 1
/* The label sits between the two instructions, so pc, sp and bp are the
 * values of one instruction boundary, which is what the CFI describes. */
#define RC_UNWIND_GET_REGS(r)                                                   \
  __asm__ volatile("lea 0f(%%rip), %0\n0:\n\tmov %%rsp, %1\n\tmov %%rbp, %2"    \
                   : "=&r"((r).pc), "=&r"((r).sp), "=&r"((r).bp))
#else
#define RC_UNWIND_SUPPORTED 0
#define RC_UNWIND_GET_REGS(r) ((r).pc = (r).sp = (r).bp = 0)
#endif

#define RC_UNWIND_LOG_MAX 80 /* depth 32 + rcleak frames + the rbp values used */

struct rc_unwind_log {
  uintptr_t pc0, sp0, bp0; /* the starting registers */
  uint32_t generation;  /* rc_unwind_generation() when it was taken */
  uint16_t nreads;
  bool uses_bp0;        /* some frame's CFA came from the starting rbp */
  bool valid;
  struct rc_unwind_read {
    uintptr_t addr, val;
  } reads[RC_UNWIND_LOG_MAX];
};

/* Walk from regs, storing up to max return addresses (callers of the
 * function regs was taken in, innermost first) in pcs; leading return
 * addresses inside [skip_lo, skip_hi) (the caller's own frames) are walked
 * through but neither stored nor counted.  Returns the number
 * stored (a frame this walker cannot follow ends the walk), or -1 when the
 * walker is not available (another platform, libc without
 * _dl_find_object).  log may be NULL; when the walk's reads do not fit in
 * it, log->valid is false. */
int rc_unwind_walk(const struct rc_unwind_regs *regs, uintptr_t *pcs, int max,
                   uintptr_t skip_lo, uintptr_t skip_hi, struct rc_unwind_log *log);

/* A copy of the stack words [lo, hi) taken when the registers were: a walk
 * over it gives the frames a walk at that moment would have given, as long as
 * the code it went through is still mapped (stacks.c defers a process's
 * first walks this way). */
struct rc_unwind_copy {
  uintptr_t lo, hi;
  const unsigned char *bytes;
};

/* rc_unwind_walk over a copy: a word the walk needs from outside the copy
 * ends it there. */
int rc_unwind_walk_copy(const struct rc_unwind_regs *regs, uintptr_t *pcs, int max,
                        uintptr_t skip_lo, uintptr_t skip_hi, const struct rc_unwind_copy *copy);

/* Whether a walk from regs now would read what log recorded (and so produce
 * the same frames). */
static inline bool rc_unwind_replay(const struct rc_unwind_regs *regs,
                                    const struct rc_unwind_log *log, uint32_t generation)
{
  if (!log->valid || log->sp0 != regs->sp || log->pc0 != regs->pc ||
      log->generation != generation ||
      (log->uses_bp0 && log->bp0 != regs->bp))
    return false;
  /* Four reads a round, against a bound computed once: the loop's own
   * bookkeeping (pointer step, bound, branch) is then under one instruction
   * a read, where two a round with the bound recomputed each time made it
   * 2.5 (226 instructions for 34 reads at depth 32; now about 150).  Still in
   * order, and still stopping at the first difference. */
#define RC_REPLAY_SAME(x) (*(const volatile uintptr_t *)(x).addr == (x).val)
  const struct rc_unwind_read *r = log->reads;
  const struct rc_unwind_read *const end4 = r + (log->nreads & ~3u);
  for (; r != end4; r += 4) {
    if (!RC_REPLAY_SAME(r[0]) || !RC_REPLAY_SAME(r[1]) || !RC_REPLAY_SAME(r[2]) ||
        !RC_REPLAY_SAME(r[3]))
      return false;
  }
  unsigned rest = log->nreads & 3u;
  return (rest < 1 || RC_REPLAY_SAME(r[0])) && (rest < 2 || RC_REPLAY_SAME(r[1])) &&
         (rest < 3 || RC_REPLAY_SAME(r[2]));
#undef RC_REPLAY_SAME
}

/* Bumped when code is unmapped (dlclose): cached rules and logs taken
 * before describe code that may no longer be there. */
uint32_t rc_unwind_generation(void);
void rc_unwind_code_unmapped(void);

/* Whether the walker can run in this process (x86_64, _dl_find_object).
 * Called once from rc_stacks_init. */
bool rc_unwind_init(void);

/* The start of the function that return address `ret` returns into (its
 * FDE's), after rc_unwind_init.  Async-signal-safe. */
bool rc_unwind_caller_start(uintptr_t ret, uintptr_t *start);

/* The mapped range of the object containing addr (after rc_unwind_init). */
bool rc_unwind_object_range(uintptr_t addr, uintptr_t *lo, uintptr_t *hi);

#endif
