/* Installing a signal handler in the C test programs: sigaction with an
 * empty mask and the given flags (SA_RESTART, ...). */
#ifndef RCLEAK_TESTS_HANDLER_H
#define RCLEAK_TESTS_HANDLER_H

#include <signal.h>
#include <string.h>

static inline void set_handler(int sig, void (*fn)(int), int flags)
{
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = fn;
  sa.sa_flags = flags;
  sigaction(sig, &sa, NULL);
}

#endif
