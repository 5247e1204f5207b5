/* TAP output for the C test programs: one `ok(cond, what)` per check, a
 * `tap_skip(why)` for a check the machine cannot make, and `return
 * tap_done();` at the end of main (the plan, and exit status 1 on any
 * failure).  Flushed per line, so a crash shows where it happened. */
#ifndef RCLEAK_TESTS_TAP_H
#define RCLEAK_TESTS_TAP_H

#include <stdio.h>

static int tap_count, tap_failed;

static inline void ok(int cond, const char *what)
{
  tap_count++;
  if (!cond)
    tap_failed++;
  printf("%sok %d - %s\n", cond ? "" : "not ", tap_count, what);
  fflush(stdout);
}

static inline void tap_skip(const char *why)
{
  tap_count++;
  printf("ok %d # SKIP %s\n", tap_count, why);
  fflush(stdout);
}

static inline int tap_done(void)
{
  printf("1..%d\n", tap_count);
  return tap_failed != 0;
}

#endif
