/* A preloaded library that makes close() 10 us slower: a variant far over
 * every per-acquisition target, so bench_runner can check that a timing,
 * however bad, never makes scripts/bench.py fail (it exits 1 only when a run
 * could not be measured). */
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

__attribute__((visibility("default"))) int close(int fd)
{
  struct timespec t0, t;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  do
    clock_gettime(CLOCK_MONOTONIC, &t);
  while ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) < 10000);
  return (int)syscall(SYS_close, fd);
}
