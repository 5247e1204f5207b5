/* TAP test of shim/stackwalk.c: at many points, the frames it finds must be
 * exactly those libgcc's unwinder (glibc's backtrace()) finds, the walk must
 * never fall back where the CFI is ordinary, and a replayed log must match
 * only the stack it was taken on. */
#include <execinfo.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stackwalk.h"
#include "stackwalk_test.h"
#include "tap.h"

static volatile int sw_sink_b;

static const char *current;
static struct rc_unwind_log saved_log;
static int want_max = 64;
static int replaying, replay_result, replay_same_sp;

/* Walks (comparing with libgcc) or replays the last walk's log, always from
 * this one function, so a replay starts from the same instruction. */
__attribute__((noinline)) static void probe(void)
{
  struct rc_unwind_regs regs;
  RC_UNWIND_GET_REGS(regs);
  if (replaying) {
    replay_same_sp = regs.sp == saved_log.sp0;
    replay_result = rc_unwind_replay(&regs, &saved_log, rc_unwind_generation());
    if (getenv("SW_DEBUG")) {
      printf("# sp %d pc %d bp %d/%d valid %d n %u\n", replay_same_sp, regs.pc == saved_log.pc0, regs.bp == saved_log.bp0, saved_log.uses_bp0, saved_log.valid, saved_log.nreads);
      for (unsigned i = 0; i < saved_log.nreads; i++)
        printf("# %u %#lx %#lx now %#lx\n", i, (unsigned long)saved_log.reads[i].addr,
               (unsigned long)saved_log.reads[i].val, *(unsigned long *)saved_log.reads[i].addr);
    }
    return;
  }
  uintptr_t own[300];
  void *ref[301];
  int n = rc_unwind_walk(&regs, own, want_max, 0, 0, &saved_log);
  int m = backtrace(ref, want_max + 1) - 1; /* ref[0] is this function */
  int same = n == m;
  for (int i = 0; same && i < n; i++)
    same = own[i] == (uintptr_t)ref[i + 1];
  char what[160];
  snprintf(what, sizeof what, "%s: walker %d frames, libgcc %d, identical", current, n, m);
  ok(same, what);
  if (!same) {
    for (int i = 0; i < (n > m ? n : m); i++)
      printf("# %2d own %#lx ref %#lx\n", i, i < n ? (unsigned long)own[i] : 0ul,
             i < m ? (unsigned long)(uintptr_t)ref[i + 1] : 0ul);
  }
  ok(saved_log.valid, "  and its read log is complete");
}

/* Two call chains with the same frame sizes: the same stack pointer reaches
 * probe() through different return addresses. */
__attribute__((noipa)) static void outer_a(void) { sw_opt_chain(4, probe); sw_sink_b = 1; }
__attribute__((noipa)) static void outer_b(void) { sw_opt_chain(4, probe); sw_sink_b = 2; }

/* The replay steps run from one call site (a loop the compiler cannot
 * unroll), since every frame up to main's is part of what is compared. */
struct step {
  void (*outer)(void);
  int replay, unmap_before;
  int result, same_sp;
};

static void run_steps(struct step *steps, unsigned n)
{
  for (volatile unsigned i = 0; i < n; i++) {
    if (steps[i].unmap_before)
      rc_unwind_code_unmapped();
    replaying = steps[i].replay;
    steps[i].outer();
    steps[i].result = replay_result;
    steps[i].same_sp = replay_same_sp;
  }
  replaying = 0;
}

static void on_signal(int sig)
{
  (void)sig;
  current = "inside a signal handler (through __restore_rt)";
  probe();
}

static void on_signal_alt(int sig)
{
  (void)sig;
  current = "inside a handler on an alternate signal stack";
  probe();
}

static void *thread_main(void *arg)
{
  (void)arg;
  current = "thread, -O2 chain of 5";
  sw_opt_chain(5, probe);
  return NULL;
}

/* A stub laid out and described like a linker's lazy-binding PLT entry
 * (jmp *GOT; push index; jmp PLT0, 16 bytes, with the CFA expression
 * ld writes for them): a signal that interrupts one leaves the walk there. */
__asm__(".text\n"
        ".p2align 4\n"
        "sw_fake_plt:\n"
        ".cfi_startproc\n"
        ".cfi_escape 0x0f,0x0b,0x77,0x08,0x80,0x00,0x3f,0x1a,0x3b,0x2a,0x33,0x24,0x22\n"
        "  jmp *sw_fake_got(%rip)\n" /* 6 bytes */
        "  pushq $0x12345678\n"      /* 5 bytes, as ld's push of the index */
        "  .byte 0xe9\n"              /* jmp rel32 to the stub, 5 bytes */
        "  .long sw_fake_plt - (. + 4)\n"
        ".cfi_endproc\n");
extern const char sw_fake_plt[];
const void *sw_fake_got;

static void plt_frames(void)
{
  /* Interrupted at the stub's jmp (its caller's return address on top of
   * the stack), then after its push (one word above it). */
  uintptr_t stack[4] = {0x1111, 0x2222, 0, 0}, pcs[1];
  struct rc_unwind_regs at_jmp = {(uintptr_t)sw_fake_plt, (uintptr_t)stack, 0};
  struct rc_unwind_regs after_push = {(uintptr_t)sw_fake_plt + 11, (uintptr_t)stack, 0};
  int n = rc_unwind_walk(&at_jmp, pcs, 1, 0, 0, NULL);
  ok(n == 1 && pcs[0] == 0x1111, "PLT stub, at its first instruction: the caller's return address");
  n = rc_unwind_walk(&after_push, pcs, 1, 0, 0, NULL);
  ok(n == 1 && pcs[0] == 0x2222, "PLT stub, after its push: the caller's return address");
}

int main(void)
{
  if (!rc_unwind_init()) {
    printf("1..0 # SKIP no _dl_find_object in this libc\n");
    return 0;
  }
  void *warm[4];
  backtrace(warm, 4); /* loads libgcc_s before any comparison */

  current = "main";
  probe();
  current = "-O2 -fomit-frame-pointer chain of 20";
  sw_opt_chain(20, probe);
  current = "-O0 frame-pointer chain of 20";
  sw_fp_chain(20, probe);
  current = "alloca chain of 10";
  sw_opt_alloca(10, probe);
  current = "over-aligned locals, chain of 6";
  sw_opt_aligned(6, probe);
  want_max = 8;
  current = "depth limit 8 in a chain of 30";
  sw_opt_chain(30, probe);
  want_max = 64;

  signal(SIGUSR1, on_signal);
  raise(SIGUSR1);

  /* The same from an alternate signal stack: the walk leaves it through
   * __restore_rt for the interrupted frames on the main stack. */
  static char altstack[64 * 1024];
  stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal_alt;
  sa.sa_flags = SA_ONSTACK;
  sigaltstack(&ss, NULL);
  sigaction(SIGUSR2, &sa, NULL);
  raise(SIGUSR2);

  pthread_t t;
  pthread_create(&t, NULL, thread_main, NULL);
  pthread_join(t, NULL);

  plt_frames();

  /* Replay: the log of a walk through one chain matches a second pass
   * through it; through another chain at the same stack pointer, it does
   * not; after code was unmapped, nothing matches. */
  current = "replay source";
  struct step steps[] = {
    {outer_a, 0, 0, 0, 0}, {outer_a, 1, 0, 0, 0}, {outer_b, 1, 0, 0, 0},
    {outer_a, 1, 0, 0, 0}, {outer_a, 1, 1, 0, 0},
  };
  run_steps(steps, 5);
  ok(steps[1].result == 1, "replaying a log through the same chain matches");
  ok(steps[2].same_sp && steps[2].result == 0,
     "replaying it through another chain at the same stack pointer does not");
  ok(steps[3].result == 1, "the first chain still matches");
  ok(steps[4].result == 0, "a log taken before code was unmapped never matches");

  return tap_done();
}
