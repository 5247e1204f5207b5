/* Open descriptors from the descriptor table itself (see fdprobe.h). */
#include "fdprobe.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "rc.h"

#define RC_LONG_BITS (8 * (int)sizeof(unsigned long))

static bool is_open(int fd)
{
  return rc_syscall(SYS_fcntl, fd, F_GETFD) >= 0; /* raw: not our fcntl wrapper */
}

/* Whether the descriptor table ends at or before n, for a closed fd n.
 * select looks only at descriptors below the table's size (the kernel clamps
 * nfds to it) and fails with EBADF on a closed descriptor it looks at -- before
 * polling anything.  So, asked about the closed fd n alone, EBADF means n is
 * inside the table and success that the kernel did not look: the table ends
 * by n, and no descriptor at or above n is open.  Any other failure answers
 * "inside", which only sends the caller to /proc. */
static bool table_ends_by(int n)
{
  unsigned long set[RC_FD_PROBE_MAX / RC_LONG_BITS + 1] = {0};
  set[n / RC_LONG_BITS] = 1ul << (n % RC_LONG_BITS);
  struct timespec zero = {0, 0};
  return rc_syscall(SYS_pselect6, n + 1, set, NULL, NULL, &zero, NULL) >= 0;
}

/* fn for each open descriptor among base..base+n-1 (n <= RC_FD_PROBE_MAX),
 * the set taken before the first call.  One ppoll for the batch (timeout 0:
 * nothing waits, no event is consumed) instead of a fcntl per number, ~1 us
 * against ~8.  poll cannot see an O_PATH descriptor (it reports it POLLNVAL,
 * as a closed one), so a number poll calls closed is asked with fcntl when
 * the caller's registry holds it open (`registered`): a tracked O_PATH
 * descriptor is still found.  An O_PATH descriptor nobody tracked --
 * inherited, or made by a raw system call -- stays invisible to every scan
 * alike, so it is neither marked inherited at start-up nor reported at
 * exit. */
RC_HOT static int probe_batch(int base, int n, void (*fn)(int fd, void *arg), void *arg,
                              bool (*registered)(int fd))
{
  struct pollfd p[RC_FD_PROBE_MAX];
  for (int i = 0; i < n; i++)
    p[i] = (struct pollfd){.fd = base + i, .events = 0, .revents = 0};
  struct timespec zero = {0, 0};
  bool polled = rc_syscall(SYS_ppoll, p, (unsigned long)n, &zero, NULL, 0) >= 0;
  uint64_t open[RC_FD_PROBE_MAX / 64] = {0};
  for (int i = 0; i < n; i++) {
    int fd = base + i;
    bool is;
    if (polled && !(p[i].revents & POLLNVAL))
      is = true;
    else if (polled)
      is = registered && registered(fd) && is_open(fd);
    else
      is = is_open(fd);
    if (is)
      open[i / 64] |= 1ull << (i % 64);
  }
  int count = 0;
  for (int i = 0; i < n; i++) {
    if (open[i / 64] & (1ull << (i % 64))) {
      fn(base + i, arg);
      count++;
    }
  }
  return count;
}

RC_HOT int rc_fd_probe_each(void (*fn)(int fd, void *arg), void *arg, bool (*registered)(int fd))
{
  int saved = errno;
  int size = 0;
  for (int n = 64; n <= RC_FD_PROBE_MAX && size == 0; n *= 2)
    if (!is_open(n) && table_ends_by(n))
      size = n;
  int count = size == 0 ? -1 : probe_batch(0, size, fn, arg, registered);
  errno = saved;
  return count;
}

/* The fallback when the table is large and /proc is not mounted (a chroot or
 * sandbox without it): every number below `end`, batch by batch.  A
 * descriptor fn opens may be visited by a later batch; the callers skip
 * rcleak's own. */
int rc_fd_probe_upto(int end, void (*fn)(int fd, void *arg), void *arg,
                     bool (*registered)(int fd))
{
  int saved = errno;
  int count = 0;
  for (int base = 0; base < end; base += RC_FD_PROBE_MAX)
    count += probe_batch(base, end - base < RC_FD_PROBE_MAX ? end - base : RC_FD_PROBE_MAX, fn,
                         arg, registered);
  errno = saved;
  return count;
}
