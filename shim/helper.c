/* A raw second thread for the report (see helper.h). */
#include "helper.h"

#include <sched.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/futex.h>

#include "rc.h"

#if defined(RC_HAVE_RAW_SYSCALL) /* rc.h: x86_64 */
long rc_raw_syscall2(long nr, long a, long b)
{
  return rc_syscall6_raw(nr, a, b, 0, 0, 0, 0);
}
#elif defined(__aarch64__)
#define RC_HAVE_RAW_SYSCALL 1
long rc_raw_syscall2(long nr, long a, long b)
{
  register long x8 __asm__("x8") = nr;
  register long x0 __asm__("x0") = a;
  register long x1 __asm__("x1") = b;
  __asm__ volatile("svc #0" : "+r"(x0) : "r"(x8), "r"(x1) : "memory");
  return x0;
}
#else
#define RC_HAVE_RAW_SYSCALL 0
long rc_raw_syscall2(long nr, long a, long b)
{
  return syscall(nr, a, b); /* not used on a helper: rc_helper_start refuses */
}
#endif

#define RC_HELPER_STACK (64u << 10)

/* What the helper runs.  Static: there is one report per process, so one
 * helper at a time, and the helper must not depend on the caller's frame. */
struct rc_helper_call {
  void (*fn)(void *);
  void *arg;
};
static struct rc_helper_call rc_helper_call;

static int helper_main(void *p)
{
  const struct rc_helper_call *c = p;
  c->fn(c->arg);
  return 0; /* glibc's clone then makes the exit system call for this thread only */
}

static bool several_cpus(void)
{
  unsigned long mask[16] = {0};
  long n = rc_syscall(SYS_sched_getaffinity, 0, sizeof mask, mask);
  if (n <= 0)
    return false;
  int cpus = 0;
  for (long i = 0; i < n / (long)sizeof mask[0]; i++)
    cpus += __builtin_popcountl(mask[i]);
  return cpus >= 2;
}

bool rc_helper_start(struct rc_helper *h, void (*fn)(void *arg), void *arg)
{
  h->stack = NULL;
  h->tid = 0;
  if (!RC_HAVE_RAW_SYSCALL || !several_cpus())
    return false;
  h->stack_size = RC_HELPER_STACK;
  void *st = mmap(NULL, h->stack_size, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (st == MAP_FAILED)
    return false;
  h->stack = st;
  rc_helper_call.fn = fn;
  rc_helper_call.arg = arg;
  /* A thread of this process (CLONE_THREAD, sharing everything), whose tid
   * the kernel writes before clone returns and clears, with a futex wake,
   * when the helper exits: that is the join. */
  int flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
              CLONE_SYSVSEM | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;
  char *top = (char *)st + h->stack_size;
  int r = clone(helper_main, top, flags, &rc_helper_call, &h->tid, NULL, &h->tid);
  if (r <= 0) {
    munmap(st, h->stack_size);
    h->stack = NULL;
    h->tid = 0;
    return false;
  }
  return true;
}

void rc_helper_join(struct rc_helper *h)
{
  if (h->stack == NULL)
    return;
  for (;;) {
    int t = __atomic_load_n(&h->tid, __ATOMIC_ACQUIRE);
    if (t == 0)
      break;
    rc_syscall(SYS_futex, &h->tid, FUTEX_WAIT, t, NULL, NULL, 0);
  }
  munmap(h->stack, h->stack_size);
  h->stack = NULL;
}
