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
#include <unistd.h>

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

/* Taking turns (RCBENCH_TURNS="IN_FD OUT_FD K" in the environment; set by
 * scripts/bench.py's turns_row): the measured work runs as K slices, each
 * started when a byte arrives on IN_FD and followed by a byte written to
 * OUT_FD, so that processes chained in a ring of pipes alternate slice by
 * slice.  k == 0: not taking turns. */
struct bench_turns {
	int in, out;
	long k;
	double *ns; /* wall ns per item, per slice */
};

/* Read RCBENCH_TURNS for a run of n items. */
static inline void bench_turns_init(struct bench_turns *t, long n)
{
	const char *s = getenv("RCBENCH_TURNS");

	t->in = t->out = -1;
	t->k = 0;
	t->ns = NULL;
	if (!s || !*s)
		return;
	if (sscanf(s, "%d %d %ld", &t->in, &t->out, &t->k) != 3 || t->k < 1 || t->k > n)
		BENCH_DIE("RCBENCH_TURNS: want \"IN_FD OUT_FD SLICES\", got \"%s\"", s);
	t->ns = calloc((size_t)t->k, sizeof(double));
	if (!t->ns)
		BENCH_DIE("calloc");
}

/* The n items in t->k slices: work(count, arg) does count of them. */
static inline void bench_turns_run(struct bench_turns *t, long n, void (*work)(long, void *),
				   void *arg)
{
	char c = 't';

	for (long k = 0, done = 0; k < t->k; k++) {
		long end = n * (k + 1) / t->k;

		if (read(t->in, &c, 1) != 1)
			BENCH_DIE("turns: read");
		long long t0 = bench_now_ns();
		work(end - done, arg);
		t->ns[k] = (double)(bench_now_ns() - t0) / (double)(end - done);
		done = end;
		if (write(t->out, &c, 1) != 1)
			BENCH_DIE("turns: write");
	}
}

/* "TURNS workload=W slices=K ns=S1,S2,..." */
static inline void bench_turns_print(struct bench_turns *t, const char *workload)
{
	if (t->k == 0)
		return;
	printf("TURNS workload=%s slices=%ld ns=", workload, t->k);
	for (long k = 0; k < t->k; k++)
		printf("%s%.1f", k ? "," : "", t->ns[k]);
	printf("\n");
	free(t->ns);
}

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
