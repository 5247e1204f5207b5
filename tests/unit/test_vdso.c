/* The vDSO lookup (shim/vdso.c), linked in directly: where the process has a
 * vDSO, __vdso_clock_gettime is found, and for every clock rcleak reads its
 * answer lies between two of libc's for the same clock (libc's
 * clock_gettime calls the same function, so anything else is a wrong
 * symbol or a wrong address).  TAP. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tap.h"
#include "vdso.h"

static bool has_vdso(void)
{
  FILE *f = fopen("/proc/self/maps", "r");
  char line[512];
  bool found = false;
  while (f != NULL && fgets(line, sizeof line, f) != NULL)
    found = found || strstr(line, "[vdso]") != NULL;
  if (f != NULL)
    fclose(f);
  return found;
}

static uint64_t ns(const struct timespec *ts)
{
  return (uint64_t)ts->tv_sec * 1000000000u + (uint64_t)ts->tv_nsec;
}

int main(void)
{
  rc_vdso_init();
#if defined(__x86_64__)
  if (!has_vdso()) {
    tap_skip("no vDSO in this process");
    return tap_done();
  }
  ok(rc_vdso_clock_gettime != NULL, "__vdso_clock_gettime found through the link map");
  if (rc_vdso_clock_gettime == NULL)
    return tap_done();
  static const struct {
    clockid_t id;
    const char *name;
  } clocks[] = {{CLOCK_REALTIME, "CLOCK_REALTIME"},
                {CLOCK_REALTIME_COARSE, "CLOCK_REALTIME_COARSE"},
                {CLOCK_MONOTONIC, "CLOCK_MONOTONIC"},
                {CLOCK_MONOTONIC_COARSE, "CLOCK_MONOTONIC_COARSE"},
                {CLOCK_BOOTTIME, "CLOCK_BOOTTIME"}};
  for (size_t i = 0; i < sizeof clocks / sizeof clocks[0]; i++) {
    struct timespec a, v, b;
    char what[96];
    clock_gettime(clocks[i].id, &a);
    int r = rc_vdso_clock_gettime(clocks[i].id, &v);
    clock_gettime(clocks[i].id, &b);
    snprintf(what, sizeof what, "%s: answers, between two of libc's", clocks[i].name);
    ok(r == 0 && ns(&a) <= ns(&v) && ns(&v) <= ns(&b) && ns(&b) - ns(&a) < 1000000000u, what);
  }
  rc_vdso_clock_fn first = rc_vdso_clock_gettime;
  rc_vdso_init();
  ok(rc_vdso_clock_gettime == first, "a second rc_vdso_init changes nothing");
#else
  ok(rc_vdso_clock_gettime == NULL, "elsewhere: not looked up, libc's clock_gettime is used");
#endif
  return tap_done();
}
