/* The descriptor a system call had just made when a signal came.
 *
 * The kernel delivers a signal on the way out of a system call, so a process
 * killed while it opens files (an interpreter importing modules) is usually
 * caught with the new descriptor in rax and its wrapper not yet returned:
 * not recorded by rcleak's wrapper, or libc's own work in flight.  A signal
 * sent from another CPU (an IPI) can also land a few instructions later, in
 * the wrapper's epilogue, which keeps rax until its `ret` (and after that
 * `ret` the thread is back in rcleak's wrapper, which the report knows by
 * the pc).  Both are known by glibc's code just before the interrupted
 * instruction:
 *     b8 NR 00 00      mov  $NR, %eax
 *     0f 05            syscall                    <- right after: the first case
 *     48 3d 00 f0 ff ff  cmp $-4096, %rax          (or 01 f0 ff ff: $-4095)
 *     0f 87 / 73 ...   ja / jae  error
 *     ...              stack guard check, pops    <- the epilogue: the second
 *     c3               ret
 * The second case wants the whole check after the syscall and the jump to
 * the error path, so a stray "b8 .. 0f 05" inside another instruction's bytes
 * is not enough, and a pc past them, on the success path: before the error
 * path when that follows (as socket's does: its "neg %eax" leaves errno, a
 * small positive number, in rax), and at most RC_EPILOGUE_MAX bytes on.  rax
 * must be a descriptor either way.  The bytes are read only when they lie in the
 * page of the interrupted instruction, which the thread was executing (x86
 * has execute-only pages only through protection keys, which no loader
 * uses): read directly, no system call (one more in every signal's report
 * could be one a seccomp filter kills for). */
#include "inflight.h"

#include <limits.h>
#include <string.h>
#include <sys/syscall.h>

#include "rc.h"

/* Whether system call `nr` (this architecture's number) returns a new
 * descriptor. */
static bool makes_descriptor(unsigned nr)
{
  static const unsigned calls[] = {
#if defined(__x86_64__)
    SYS_open, SYS_creat, SYS_epoll_create, SYS_eventfd, SYS_signalfd, SYS_inotify_init,
    SYS_dup2,
#endif
    SYS_openat, SYS_socket, SYS_accept, SYS_accept4, SYS_dup, SYS_dup3, SYS_fcntl,
    SYS_epoll_create1, SYS_eventfd2, SYS_signalfd4, SYS_timerfd_create, SYS_inotify_init1,
    SYS_fanotify_init, SYS_perf_event_open, SYS_open_by_handle_at, SYS_mq_open,
#ifdef SYS_memfd_create
    SYS_memfd_create,
#endif
#ifdef SYS_userfaultfd
    SYS_userfaultfd,
#endif
#ifdef SYS_pidfd_open
    SYS_pidfd_open,
#endif
#ifdef SYS_pidfd_getfd
    SYS_pidfd_getfd,
#endif
#ifdef SYS_openat2
    SYS_openat2,
#endif
  };
  for (size_t i = 0; i < RC_ARRAY_SIZE(calls); i++)
    if (calls[i] == nr)
      return true;
  return false;
}

#define RC_PAGE 4096u
#define RC_MOV_SYSCALL 7   /* b8 NR(4) 0f 05 */
#define RC_CHECKED 13      /* and 48 3d 0X f0 ff ff */
#define RC_EPILOGUE_MAX 64 /* past the check: glibc's open64 needs 45 */

/* "mov $NR, %eax; syscall" at p, NR a descriptor maker. */
static bool mov_syscall(const unsigned char *p)
{
  unsigned nr = (unsigned)p[1] | (unsigned)p[2] << 8 | (unsigned)p[3] << 16 |
                (unsigned)p[4] << 24;
  return p[0] == 0xb8 && p[5] == 0x0f && p[6] == 0x05 && makes_descriptor(nr);
}

/* ... followed by glibc's check of the result and its jump to the error
 * path: the success path's end (the error path's start when it follows,
 * else p + RC_CHECKED + RC_EPILOGUE_MAX), or 0 if the code is not that. */
static uintptr_t success_end(const unsigned char *p, uintptr_t limit)
{
  static const unsigned char cmp_high[] = {0xf0, 0xff, 0xff}; /* of $-4096 or $-4095 */
  if (p[7] != 0x48 || p[8] != 0x3d || (p[9] != 0x00 && p[9] != 0x01) ||
      memcmp(p + 10, cmp_high, sizeof cmp_high) != 0 || !mov_syscall(p))
    return 0;
  uintptr_t at = (uintptr_t)(p + RC_CHECKED), target;
  if (at + 2 <= limit && (p[13] == 0x73 || p[13] == 0x77)) { /* jae, ja rel8 */
    target = at + 2 + (uintptr_t)(intptr_t)(signed char)p[14];
  } else if (at + 6 <= limit && p[13] == 0x0f && (p[14] == 0x83 || p[14] == 0x87)) {
    int32_t rel;
    memcpy(&rel, p + 15, sizeof rel); /* jae, ja rel32 */
    target = at + 6 + (uintptr_t)(intptr_t)rel;
  } else {
    return 0;
  }
  uintptr_t end = at + RC_EPILOGUE_MAX;
  return target > at && target < end ? target : end;
}

int rc_in_flight_fd(uintptr_t rip, long long rax)
{
#if defined(__x86_64__)
  if (rax < 0 || rax > INT_MAX)
    return -1;
  uintptr_t page = rip & ~(uintptr_t)(RC_PAGE - 1);
  if (rip - page >= RC_MOV_SYSCALL && mov_syscall((const unsigned char *)(rip - RC_MOV_SYSCALL)))
    return (int)rax;
  /* the code from p on is read up to rip, and past it to the page's end
   * for the jump after the check */
  uintptr_t limit = page + RC_PAGE;
  for (uintptr_t back = RC_CHECKED; back <= RC_CHECKED + RC_EPILOGUE_MAX; back++) {
    if (rip - page < back)
      break;
    const unsigned char *p = (const unsigned char *)(rip - back);
    uintptr_t end = success_end(p, limit);
    if (end != 0)
      return rip < end ? (int)rax : -1;
  }
  return -1;
#else
  (void)rip;
  (void)rax;
  return -1;
#endif
}

bool rc_syscall_unfinished(uintptr_t rip, long long rax)
{
#if defined(__x86_64__)
  uintptr_t in_page = rip & (RC_PAGE - 1);
  const unsigned char *p = (const unsigned char *)rip;
  if (in_page >= 2 && p[-2] == 0x0f && p[-1] == 0x05 && rax < 0)
    return true;
  return in_page <= RC_PAGE - 2 && p[0] == 0x0f && p[1] == 0x05;
#else
  (void)rip;
  (void)rax;
  return false;
#endif
}
