/* Common definitions of the shim: export macro, thread-local mode, process
 * identity, clock.  Everything in the shim is hidden (-fvisibility=hidden)
 * except the interposed functions, which are marked RC_EXPORT. */
#ifndef RCLEAK_RC_H
#define RCLEAK_RC_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <time.h>

#define RC_EXPORT __attribute__((visibility("default")))
#define RC_LIKELY(x) __builtin_expect(!!(x), 1)
#define RC_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define RC_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* A system call made here, not through libc's syscall(): the same result
 * (-1 with errno set on failure), without a lazy PLT binding and a page of
 * libc's text that most programs never touch (each costs every preloaded
 * process a page fault), and with no libc state at all, so usable anywhere
 * syscall() is: a signal handler, a vfork child.  Arguments are passed as
 * longs; unused ones are zero, which the kernel ignores.
 * rc_syscall6_raw returns the kernel's answer (-errno on failure) and
 * touches no thread-local memory: the report's helper thread, which shares
 * the reporting thread's TLS, uses it (helper.c). */
#if defined(__x86_64__)
#define RC_HAVE_RAW_SYSCALL 1
static inline long rc_syscall6_raw(long n, long a, long b, long c, long d, long e, long f)
{
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  long r;
  __asm__ volatile("syscall"
                   : "=a"(r)
                   : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return r;
}
#endif
#if defined(__x86_64__) && !defined(__clang_analyzer__) /* the analyzer cannot see what the
                                                          * kernel writes through a pointer */
static inline long rc_syscall6(long n, long a, long b, long c, long d, long e, long f)
{
  long r = rc_syscall6_raw(n, a, b, c, d, e, f);
  if ((unsigned long)r > -4096ul) {
    errno = (int)-r;
    return -1;
  }
  return r;
}
#define RC_SYSCALL_ARGS(n, a, b, c, d, e, f, ...)                                               \
  rc_syscall6((long)(n), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f))
#define rc_syscall(...) RC_SYSCALL_ARGS(__VA_ARGS__, 0, 0, 0, 0, 0, 0, 0)
#else
#include <unistd.h>
#define rc_syscall syscall
#endif

/* Block every signal (the kernel ignores SIGKILL and SIGSTOP) except
 * glibc's two internal ones, as sigfillset + pthread_sigmask would, and
 * return the previous mask: SIGSETXID must stay deliverable, or a setuid()
 * in another thread would wait for this one forever.  In line, without
 * libc: async-signal-safe and no lazy binding in every process's exit. */
#define RC_SIG_GLIBC_INTERNAL ((1ull << (32 - 1)) | (1ull << (33 - 1))) /* SIGCANCEL, SIGSETXID */
static inline uint64_t rc_block_signals(void)
{
  uint64_t all = ~RC_SIG_GLIBC_INTERNAL, old = 0;
  (void)rc_syscall(SYS_rt_sigprocmask, SIG_BLOCK, &all, &old, sizeof all);
  return old;
}
static inline void rc_restore_signals(uint64_t old)
{
  (void)rc_syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, NULL, sizeof old);
}

/* Signals pending for this thread or the process (a mask, bit sig-1). */
static inline uint64_t rc_pending_signals(void)
{
  uint64_t set = 0;
  (void)rc_syscall(SYS_rt_sigpending, &set, sizeof set);
  return set;
}

/* An anonymous read-write reservation, or NULL: Linux commits its pages only
 * when they are touched.  Plain system calls (no allocator state, no lock),
 * so usable in a signal handler and across fork.  Never backed by huge
 * pages: where transparent huge pages are "always" (RHEL's default), the
 * first touch of any aligned 2 MB inside these sparse tables would commit
 * and zero 2 MB, in every process. */
static inline void *rc_reserve(size_t bytes)
{
  void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                 -1, 0);
  if (p == MAP_FAILED)
    return NULL;
  (void)madvise(p, bytes, MADV_NOHUGEPAGE);
  return p;
}
/* Run by every process (start-up, the exit report's collection when there
 * is nothing to report) or every fork child, wherever the file: linked
 * together in .text.hot, next to _init at the start of the library, so that
 * a clean process faults in one window of librcleak's code there (the
 * kernel maps a file's pages 16 at a time), not the three or four its
 * scattered definitions spanned.  DT_FINI names a function there too
 * (rc_fini). */
#define RC_HOT __attribute__((hot))

/* A static array of 1 KiB or more: placed in .lbss, after .bss.  .bss then
 * holds only small variables and starts right after .data, in the page
 * ld.so writes in every process anyway (.got.plt, .data and the zeroed
 * tail of the file's last page), so the small globals every process writes
 * cost no page fault of their own; without it the linker laid them out
 * after the page-aligned arrays, a page by themselves.
 * tests/unit/test_layout.sh checks the layout. */
#define RC_LARGE __attribute__((section(".lbss")))

/* Reads of memory rcleak did not allocate as objects: the program's stack,
 * copied or walked as raw words the way an unwinder does.  Under
 * AddressSanitizer (a build with -Db_sanitize=address, used to check the
 * shim itself) those reads cross its redzones by design, so they are not
 * instrumented, and the copy is a plain loop rather than its checking
 * memcpy.  Other builds are unaffected. */
#if defined(__SANITIZE_ADDRESS__)
#define RC_RAW_READS __attribute__((no_sanitize_address))
RC_RAW_READS static inline void rc_copy_raw(void *dst, const void *src, size_t n)
{
  for (size_t i = 0; i < n; i++)
    ((volatile unsigned char *)dst)[i] = ((const unsigned char *)src)[i];
}
#else
#define RC_RAW_READS
#define rc_copy_raw memcpy
#endif

/* Resource kinds (enum rc_kind, rc_kind_name) are shared with the tool. */
#include "suppress.h"
#include "vdso.h"

/* What the calling thread is doing, read by every wrapper first.
 *  APP:   the application called us: track what it acquires.
 *  SHIM:  rcleak itself (or libunwind/dlsym/libdw called from rcleak) is
 *         acquiring: pass through, and mark descriptors as rcleak's own so
 *         they are never reported.  Saved and restored, never a global flag.
 *  VFORK: this thread is a vfork child sharing the parent's memory: pass
 *         through and touch no rcleak state at all.
 * initial-exec TLS: no allocation, no lock, usable from the signal path. */
enum { RC_MODE_APP = 0, RC_MODE_SHIM = 1, RC_MODE_VFORK = 2 };
extern __thread int rc_tls_mode __attribute__((tls_model("initial-exec")));
extern __thread pid_t rc_tls_tid __attribute__((tls_model("initial-exec")));

/* Whether s ends with suffix. */
static inline bool rc_str_ends(const char *s, const char *suffix)
{
  size_t n = __builtin_strlen(s), m = __builtin_strlen(suffix);
  return n >= m && __builtin_memcmp(s + n - m, suffix, m) == 0;
}

static inline int rc_enter(void)
{
  int old = rc_tls_mode;
  if (old != RC_MODE_VFORK)
    rc_tls_mode = RC_MODE_SHIM;
  return old;
}
static inline void rc_leave(int old) { rc_tls_mode = old; }

/* This process: pid cached (glibc's getpid() is a syscall), refreshed in the
 * fork child; ppid as it was when the process started. */
extern pid_t rc_pid;
/* argc as this image started (glibc passes it to constructors); 0 if unknown */
extern int rc_start_argc;
extern pid_t rc_ppid;

/* Whether this process acquired anything itself (set, never cleared, but
 * for the fork child, which starts again at 0), and whether it is a fork
 * child.  A fork child that acquired nothing has nothing of its own to
 * report: without json_path its exit skips the report altogether. */
extern int rc_acquired_here;
extern bool rc_fork_child;
void rc_fork_settle(void);
/* What a new process copied from this one runs first: fork's atfork child
 * handler, and the clone wrapper's child (init.c). */
void rc_after_fork_child(void);
/* A process ending as by _exit: its report (when report_on__exit allows),
 * and the status to leave with (exit_hook.c). */
int rc_underscore_exit_status(int status);
static inline void rc_note_acquired(void)
{
  if (RC_UNLIKELY(!rc_acquired_here)) {
    rc_fork_settle();
    rc_acquired_here = 1;
  }
}
/* This thread's id, cached in TLS.  The cache is valid while rc_tls_tid_pid
 * is this process's pid: a fork child (new pid, its one thread a new tid)
 * then rereads it on first use, so that the fork need not write
 * thread-local memory in every child. */
extern __thread pid_t rc_tls_tid_pid __attribute__((tls_model("initial-exec")));
pid_t rc_gettid_slow(void);
static inline pid_t rc_gettid(void)
{
  if (RC_LIKELY(rc_tls_tid != 0 && rc_tls_tid_pid == rc_pid))
    return rc_tls_tid;
  return rc_gettid_slow();
}

/* clock, in ns (the vDSO: no system call for the clocks used here). */
static inline uint64_t rc_clock_ns(clockid_t clock)
{
  struct timespec ts;
  rc_vdso_clock_fn vdso = rc_vdso_clock_gettime;
  if (RC_UNLIKELY(vdso == NULL) || RC_UNLIKELY(vdso(clock, &ts) != 0))
    clock_gettime(clock, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t rc_now_ns(void)
{
  return rc_clock_ns(CLOCK_MONOTONIC);
}

/* The acquisition time stamped on every record: the same clock, read at
 * the last tick (1/HZ).  It reads one word from the vDSO page instead of
 * the TSC and its scaling: 10 ns here against 27, on every acquisition.
 * It is never later than rc_now_ns at the same instant, so an age computed
 * against rc_now_ns (the report) errs by at most a tick, and only upwards:
 * a descriptor held for 200 ms never shows as younger than that. */
static inline uint64_t rc_stamp_ns(void)
{
  return rc_clock_ns(CLOCK_MONOTONIC_COARSE);
}

/* Stand-in for a real function missing from this libc: fails with ENOSYS. */
long rc_missing_function(void);

/* Library initialisation (constructor; idempotent). */
void rc_init(void);

#endif
