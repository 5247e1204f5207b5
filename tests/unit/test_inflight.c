/* shim/inflight.c, linked in directly: the descriptor a system call had just
 * made is known from glibc's code before the interrupted instruction, right
 * after the syscall and anywhere on the success path of the wrapper's
 * epilogue, and nowhere else: not on the error path, not past the
 * epilogue, not for a call that makes no descriptor, not from bytes in
 * another page, not when rax holds no descriptor.  First on copies of
 * glibc's code at chosen places, then on this libc's own open64 and socket
 * when they are built that way.  TAP. */
#include <dlfcn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#include "inflight.h"
#include "tap.h"

/* glibc 2.36's open64, single-threaded path: openat (257), the check, ja to
 * a far error path, the stack guard, the pops, ret. */
static const unsigned char open64_code[] = {
  0xb8, 0x01, 0x01, 0x00, 0x00,                   /* 0  mov $0x101,%eax */
  0x0f, 0x05,                                     /* 5  syscall */
  0x48, 0x3d, 0x00, 0xf0, 0xff, 0xff,             /* 7  cmp $-4096,%rax */
  0x0f, 0x87, 0x93, 0x00, 0x00, 0x00,             /* 13 ja +0x93 */
  0x48, 0x8b, 0x54, 0x24, 0x28,                   /* 19 mov 0x28(%rsp),%rdx */
  0x64, 0x48, 0x2b, 0x14, 0x25, 0x28, 0, 0, 0,    /* 24 sub %fs:0x28,%rdx */
  0x0f, 0x85, 0xb2, 0x00, 0x00, 0x00,             /* 33 jne */
  0x48, 0x83, 0xc4, 0x68,                         /* 39 add $0x68,%rsp */
  0x5b, 0x5d, 0xc3,                               /* 43 pop, pop, ret */
};
static const size_t open64_steps[] = {7, 13, 19, 24, 33, 39, 43, 44, 45};

/* glibc's socket (41): jae to the error path right after the ret, whose
 * "neg %eax" leaves errno in rax. */
static const unsigned char socket_code[] = {
  0xb8, 0x29, 0x00, 0x00, 0x00, 0x0f, 0x05,       /* 0  mov $0x29,%eax; syscall */
  0x48, 0x3d, 0x01, 0xf0, 0xff, 0xff,             /* 7  cmp $-4095,%rax */
  0x73, 0x01,                                     /* 13 jae +1 */
  0xc3,                                           /* 15 ret */
  0x48, 0x8b, 0x0d, 0x09, 0x80, 0x0c, 0x00,       /* 16 mov ...,%rcx */
  0xf7, 0xd8,                                     /* 23 neg %eax */
  0x64, 0x89, 0x01,                               /* 25 mov %eax,%fs:(%rcx) */
  0x48, 0x83, 0xc8, 0xff, 0xc3,                   /* 28 or $-1,%rax; ret */
};

static unsigned char *pages; /* two pages, filled with int3 */

static const unsigned char *place(size_t off, const unsigned char *code, size_t n)
{
  memset(pages, 0xcc, 8192);
  memcpy(pages + off, code, n);
  return pages + off;
}

static int at(const unsigned char *p, size_t off, long long rax)
{
  return rc_in_flight_fd((uintptr_t)(p + off), rax);
}

static void copies(void)
{
  const unsigned char *p = place(100, open64_code, sizeof open64_code);
  bool all = true;
  for (size_t i = 0; i < sizeof open64_steps / sizeof *open64_steps; i++)
    all = all && at(p, open64_steps[i], 5) == 5;
  ok(all, "open64: right after the syscall and at every instruction of the epilogue");
  ok(at(p, 7, -1) == -1 && at(p, 24, -13) == -1 && at(p, 24, 1LL << 40) == -1,
     "open64: rax holding -1, -errno or no int: none");
  ok(at(p, 13 + 64 + 1, 5) == -1, "open64: past the epilogue's reach: none");
  ok(at(p, 5, 5) == -1 && at(p, 0, 5) == -1, "open64: before the syscall returned: none");

  unsigned char reading[sizeof open64_code];
  memcpy(reading, open64_code, sizeof reading);
  reading[1] = 0x00; /* read (0): makes no descriptor */
  reading[2] = 0x00;
  p = place(100, reading, sizeof reading);
  ok(at(p, 7, 5) == -1 && at(p, 24, 5) == -1, "a call that makes no descriptor: none");

  p = place(200, socket_code, sizeof socket_code);
  ok(at(p, 7, 4) == 4 && at(p, 13, 4) == 4 && at(p, 15, 4) == 4,
     "socket: after the syscall, at the jae and at the ret");
  ok(at(p, 16, 4) == -1 && at(p, 25, 13) == -1 && at(p, 28, 13) == -1,
     "socket: on the error path (errno in rax after its neg): none");

  /* the same code across a page boundary: the bytes before the pc are in
   * the page before, which the thread was not executing */
  p = place(4096 - 3, open64_code, sizeof open64_code);
  ok(at(p, 7, 5) == -1 && at(p, 24, 5) == -1, "code begun in the page before: not read");
  p = place(4096 - 13, open64_code, sizeof open64_code);
  ok(at(p, 13, 5) == -1 && at(p, 24, 5) == -1, "the check in the page before: not read");
  p = place(4096 - 7, open64_code, sizeof open64_code);
  ok(at(p, 7, 5) == -1, "the syscall's instruction in the page before: not read");
}

/* A thread in a system call that made nothing: back from one with an error
 * (or interrupted: -EINTR), or at the syscall instruction (the restart of
 * one interrupted under SA_RESTART). */
static void unfinished(void)
{
  const unsigned char *p = place(300, open64_code, sizeof open64_code);
  ok(rc_syscall_unfinished((uintptr_t)(p + 7), -4) &&
     !rc_syscall_unfinished((uintptr_t)(p + 7), 5),
     "after the syscall: unfinished with -EINTR, not with a descriptor");
  ok(rc_syscall_unfinished((uintptr_t)(p + 5), 257), "at the syscall (a restart): unfinished");
  ok(!rc_syscall_unfinished((uintptr_t)(p + 24), -4) &&
     !rc_syscall_unfinished((uintptr_t)(p + 0), 257),
     "anywhere else: not (whatever rax holds)");
  p = place(4096 - 6, open64_code, sizeof open64_code); /* 0f in one page, 05 in the next */
  ok(!rc_syscall_unfinished((uintptr_t)(p + 7), -4),
     "the syscall's bytes in the page before: not read");
  p = place(4096 - 1 - 5, open64_code, sizeof open64_code);
  ok(!rc_syscall_unfinished((uintptr_t)(p + 5), 257),
     "a syscall instruction running into the next page: not read");
}

/* This libc's own wrapper for `name`: the syscall of `nr`, its check, and as
 * a pc the end of the syscall and every byte from the check's end to the
 * first ret (some are inside instructions, which no pc is: no harm). */
static void real(const char *name, unsigned nr)
{
  const unsigned char *f = dlsym(RTLD_DEFAULT, name);
  unsigned char want[7] = {0xb8, (unsigned char)nr, (unsigned char)(nr >> 8), 0, 0, 0x0f, 0x05};
  const unsigned char *s = NULL;
  for (size_t i = 0; f != NULL && s == NULL && i < 256; i++)
    if (memcmp(f + i, want, sizeof want) == 0 && f[i + 7] == 0x48 && f[i + 8] == 0x3d)
      s = f + i;
  char what[96];
  if (s == NULL) {
    snprintf(what, sizeof what, "%s: this libc's wrapper is not built that way", name);
    tap_skip(what);
    return;
  }
  size_t ret = 7;
  while (ret < 96 && s[ret] != 0xc3)
    ret++;
  bool all = ret < 96;
  for (size_t off = 7; all && off <= ret; off = off == 7 ? 13 : off + 1)
    all = rc_in_flight_fd((uintptr_t)(s + off), 9) == 9 ||
          ((uintptr_t)(s + off) & 4095) < off; /* the code straddles a page */
  snprintf(what, sizeof what, "%s: this libc's code, from the syscall to the ret", name);
  ok(all, what);
}

int main(void)
{
#if defined(__x86_64__)
  pages = aligned_alloc(4096, 8192);
  if (pages == NULL)
    return 1;
  copies();
  unfinished();
  real("open64", SYS_openat);
  real("socket", SYS_socket);
  free(pages);
#else
  tap_skip("x86_64 only");
#endif
  return tap_done();
}
