/* Unit test of the birth window that identifies a recorded child
 * (shim/child_identity.c, compiled in): TAP on stdout.
 *
 *  - real children: the window the fork wrappers record (CLOCK_BOOTTIME just
 *    before and just after the fork) holds the start time /proc/PID/stat
 *    shows, for many forks in a row, so tick boundaries get crossed;
 *  - a different process (our parent, started earlier) or the same child
 *    against a window a few ticks later or earlier does not match: that is
 *    what keeps cleanup away from a process that took over a recorded pid;
 *  - the tick arithmetic at the edges, with the one-tick margin, and windows
 *    that identify nothing;
 *  - in a new time namespace with a boottime offset (when the kernel lets us
 *    create one): both readings carry the reader's offset, so they still agree. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "child.h"
#include "tap.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif


/* Field 22 of /proc/PID/stat, 0 if unreadable. */
static uint64_t start_ticks(pid_t pid)
{
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  int fd = open(path, O_RDONLY);
  if (fd < 0)
    return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  buf[n > 0 ? n : 0] = '\0';
  char *p = strrchr(buf, ')');
  if (p == NULL)
    return 0;
  p += 2; /* field 3 */
  for (int field = 3; field < 22 && *p; field++) {
    while (*p && *p != ' ')
      p++;
    while (*p == ' ')
      p++;
  }
  return strtoull(p, NULL, 10);
}

struct born {
  pid_t pid;
  uint64_t after, before, ticks;
};

/* A child that waits for us to read its stat, born as the wrappers see it. */
static struct born fork_one(void)
{
  struct born b;
  b.after = rc_child_clock_now();
  b.pid = fork();
  if (b.pid == 0) {
    pause();
    _exit(0);
  }
  b.before = rc_child_clock_now();
  b.ticks = b.pid > 0 ? start_ticks(b.pid) : 0;
  return b;
}

static void reap(pid_t pid)
{
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
}

static void real_children(void)
{
  uint64_t tick = 1000000000u / (uint64_t)sysconf(_SC_CLK_TCK);
  int n = 300, matched = 0, crossed = 0, later = 0, earlier = 0;
  for (int i = 0; i < n; i++) {
    struct born b = fork_one();
    if (b.pid < 0 || b.ticks == 0)
      break;
    matched += rc_child_born_within(b.ticks, b.after, b.before);
    crossed += b.after / tick != b.before / tick;
    /* the same process against the window of a fork that began 3 ticks
     * after this one ended, or ended 3 ticks before it began (a loaded
     * machine can stretch a window over several ticks) */
    uint64_t shift = b.before - b.after + 3 * tick;
    later += rc_child_born_within(b.ticks, b.after + shift, b.before + shift);
    earlier += rc_child_born_within(b.ticks, b.after - shift, b.before - shift);
    reap(b.pid);
  }
  printf("# %d forks, %d windows crossed a tick boundary\n", n, crossed);
  ok(matched == n, "every real child's start time lies in its recorded window");
  ok(later == 0, "a window 3 ticks after the birth does not match");
  ok(earlier == 0, "a window ending 3 ticks before the birth does not match");
}

static void other_process(void)
{
  /* Our parent started before us; a child recorded now is not it. */
  uint64_t ticks = start_ticks(getppid());
  usleep(50 * 1000); /* let at least 5 ticks pass since our own start */
  struct born b = fork_one();
  ok(ticks != 0 && b.pid > 0, "the parent's and a new child's start times are readable");
  ok(rc_child_born_within(b.ticks, b.after, b.before), "the new child matches its window");
  uint64_t self = start_ticks(getpid());
  ok(self + 2 < b.ticks, "this process started more than the margin before the child");
  ok(!rc_child_born_within(ticks, b.after, b.before),
     "an older process (our parent) does not match the new child's window");
  ok(!rc_child_born_within(self, b.after, b.before),
     "this process does not match its child's window");
  reap(b.pid);
}

static void arithmetic(void)
{
  const uint64_t s = 1000000000u, hz = 100;
  /* a window inside tick 100 (1.00 s .. 1.01 s) */
  ok(rc_child_born_within_hz(100, s, s + 5000000, hz), "the tick of the window matches");
  ok(rc_child_born_within_hz(99, s, s + 5000000, hz), "one tick early: inside the margin");
  ok(rc_child_born_within_hz(101, s, s + 5000000, hz), "one tick late: inside the margin");
  ok(!rc_child_born_within_hz(98, s, s + 5000000, hz), "two ticks early: no match");
  ok(!rc_child_born_within_hz(102, s, s + 5000000, hz), "two ticks late: no match");
  /* a window across ticks 100..102 */
  ok(rc_child_born_within_hz(101, s, s + 25000000, hz), "a tick inside a longer window");
  ok(!rc_child_born_within_hz(104, s, s + 25000000, hz), "past a longer window: no match");
  /* rounding towards zero, as nsec_to_clock_t does */
  ok(!rc_child_born_within_hz(102, s + 9999999, s + 9999999, hz),
     "1.0099999 s is tick 100, not 101");
  ok(rc_child_born_within_hz(10, 100000000, 100000000, hz), "0.1 s is tick 10");
  /* a USER_HZ that does not divide 1e9 still rounds the same way */
  ok(rc_child_born_within_hz(1024, s, s, 1024), "hz=1024: 1 s is tick 1024");
  ok(!rc_child_born_within_hz(1026, s, s, 1024), "hz=1024: two ticks late does not match");
  /* windows that identify nothing */
  ok(!rc_child_born_within_hz(0, 0, 0, hz), "an empty record matches nothing");
  ok(!rc_child_born_within_hz(100, s + 5000000, s, hz), "a reversed window matches nothing");
  ok(!rc_child_born_within_hz(100, s, s, 0), "hz 0 matches nothing");
  /* no overflow at the far end of the clock */
  /* floor((2^64 - 1) * 100 / 1e9) = 1844674407370 */
  ok(rc_child_born_within_hz(1844674407370u, UINT64_MAX - 1, UINT64_MAX, hz),
     "no overflow near UINT64_MAX ns");
  ok(!rc_child_born_within_hz(1844674407368u, UINT64_MAX - 1, UINT64_MAX, hz),
     "near UINT64_MAX ns, two ticks early does not match");
}

/* In a child that enters a new time namespace whose boottime is 1000 s
 * ahead: CLOCK_BOOTTIME and /proc's start times both move by the offset. */
static void time_namespace(void)
{
  int p[2];
  if (pipe(p) != 0) {
    ok(false, "pipe");
    return;
  }
  pid_t outer = fork();
  if (outer == 0) {
    close(p[0]);
    char res[64] = "skip";
    if (unshare(CLONE_NEWTIME) == 0) {
      int fd = open("/proc/self/timens_offsets", O_WRONLY);
      const char *off = "boottime 1000 0";
      if (fd >= 0 && write(fd, off, strlen(off)) == (ssize_t)strlen(off)) {
        close(fd);
        /* unshare moved only our future children into the namespace */
        uint64_t host = rc_child_clock_now();
        pid_t inner = fork();
        if (inner == 0) {
          uint64_t ns_now = rc_child_clock_now();
          struct born b = fork_one();
          int match = b.pid > 0 && rc_child_born_within(b.ticks, b.after, b.before);
          int shifted = ns_now > host + 900 * 1000000000ull;
          if (b.pid > 0)
            reap(b.pid);
          char r[8] = {(char)('0' + shifted), (char)('0' + match), 0};
          (void)!write(p[1], r, 2);
          _exit(0);
        }
        waitpid(inner, NULL, 0);
        strcpy(res, "done");
      } else {
        snprintf(res, sizeof res, "skip %s", strerror(errno));
      }
    } else {
      snprintf(res, sizeof res, "skip %s", strerror(errno));
    }
    if (strncmp(res, "skip", 4) == 0)
      (void)!write(p[1], res, strlen(res));
    _exit(0);
  }
  close(p[1]);
  char buf[64] = "";
  ssize_t n = read(p[0], buf, sizeof buf - 1);
  buf[n > 0 ? n : 0] = '\0';
  close(p[0]);
  waitpid(outer, NULL, 0);
  if (strncmp(buf, "skip", 4) == 0) {
    char why[96];
    snprintf(why, sizeof why, "time namespace: %s", buf + 5);
    tap_skip(why);
    return;
  }
  ok(buf[0] == '1', "in the time namespace CLOCK_BOOTTIME is 1000 s ahead");
  ok(buf[1] == '1', "in the time namespace a child still matches its window");
}

int main(void)
{
  real_children();
  other_process();
  arithmetic();
  time_namespace();
  return tap_done();
}
