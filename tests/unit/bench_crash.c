/* A preloaded library that crashes every process it is loaded into: what
 * scripts/bench.py must report as a failed run (exit status 1), naming the
 * row, while still printing what the other runs measured. */
#include <signal.h>

__attribute__((constructor)) static void crash(void)
{
  raise(SIGSEGV);
}
