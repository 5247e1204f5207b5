/* Shared helpers for the rcleak benchmark programs (tests/bench/).
 *
 * Every program times its own measured section with CLOCK_MONOTONIC and
 * prints one line "RESULT key=value ..." on stdout, so that process start-up
 * and teardown (where a preloaded library or Valgrind add fixed costs) do not
 * pollute the per-iteration numbers. scripts/bench.py parses that line. */
#ifndef RCLEAK_BENCH_H
#define RCLEAK_BENCH_H

/* Include bench.h first: accept4, pipe2 and friends need it. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static inline long long bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* CPU time (user + system) of the whole process, all threads: much less
 * sensitive than wall time to other jobs competing for the CPUs, but blind to
 * work done in child processes. */
static inline long long bench_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Fail loudly: a benchmark that cannot do its work must not print a number. */
#define BENCH_DIE(...)                                                  \
	do {                                                            \
		int bench_errno_ = errno;                               \
		fprintf(stderr, "rcbench: ");                           \
		fprintf(stderr, __VA_ARGS__);                           \
		fprintf(stderr, ": %s\n", strerror(bench_errno_));      \
		exit(2);                                                \
	} while (0)

static inline long bench_parse_count(const char *s, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v <= 0) {
		fprintf(stderr, "rcbench: bad %s '%s'\n", what, s);
		exit(2);
	}
	return v;
}

#endif
