/* rcbench_scale: a process holding many live resources at exit.
 *
 *   rcbench_scale FDS TIMERS
 *
 * Opens FDS descriptors (/dev/null) and creates TIMERS POSIX timers, all
 * from one call site each (so rcleak stores two distinct stacks), and exits
 * holding all of them: deliberate leaks, for measuring the memory rcleak adds
 * per live resource and the time its exit report takes.
 *
 * RLIMIT_NOFILE (and RLIMIT_SIGPENDING, which some kernels charge for each
 * POSIX timer) are raised as far as needed, up to the hard limit; raising the
 * hard limit works when privileged. If the descriptor limit cannot be raised
 * that far, the program holds as many as the hard limit allows, says so on
 * stderr and prints capped=1 (the runner reports it); the same for timers
 * and RLIMIT_SIGPENDING.
 *
 * Prints: RESULT workload=scale fds=N timers=M setup_ns=T rss_kb=R capped=C
 *                exit_mono_ns=E
 * where rss_kb is VmRSS just before exit (live registry, before any report is
 * built) and exit_mono_ns is CLOCK_MONOTONIC when main returns: the runner
 * subtracts it from the time the process was reaped to get the exit cost. */
#include "bench.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

/* Raise RESOURCE's soft limit to WANT; if the hard limit is lower, try to
 * raise it too (needs privilege). Returns the soft limit now in force, which
 * may be below WANT: the caller scales down and says so. */
static rlim_t raise_limit(int resource, const char *name, rlim_t want)
{
	struct rlimit rl;

	if (getrlimit(resource, &rl) != 0)
		BENCH_DIE("getrlimit %s", name);
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= want)
		return want;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want) {
		struct rlimit hard = { want, want };

		if (setrlimit(resource, &hard) == 0)
			return want;
		fprintf(stderr,
			"rcbench: cannot raise %s to %llu, hard limit is %llu (%s)\n",
			name, (unsigned long long)want,
			(unsigned long long)rl.rlim_max, strerror(errno));
		want = rl.rlim_max;
	}
	rl.rlim_cur = want;
	if (setrlimit(resource, &rl) != 0)
		BENCH_DIE("setrlimit %s to %llu", name, (unsigned long long)want);
	return want;
}

static long vm_rss_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static int open_one(void)
{
	return open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static int timer_one(timer_t *t)
{
	struct sigevent sev;

	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_NONE;
	return timer_create(CLOCK_MONOTONIC, &sev, t);
}

int main(int argc, char **argv)
{
	enum { SLACK = 1024 };
	long nfds, ntimers, i;
	int capped = 0;
	rlim_t lim;
	long long t0, t1;
	timer_t t;
	long rss;

	if (argc != 3) {
		fprintf(stderr, "usage: %s FDS TIMERS\n", argv[0]);
		return 2;
	}
	nfds = bench_parse_count(argv[1], "fd count");
	ntimers = bench_parse_count(argv[2], "timer count");
	/* Keep SLACK descriptors free for stdio and for rcleak's and Valgrind's
	 * own descriptors (Valgrind reserves some at the top of the limit). */
	lim = raise_limit(RLIMIT_NOFILE, "RLIMIT_NOFILE", (rlim_t)nfds + SLACK);
	if (lim < (rlim_t)nfds + SLACK) {
		if (lim <= 2 * SLACK) {
			fprintf(stderr, "rcbench: RLIMIT_NOFILE %llu is too low\n",
				(unsigned long long)lim);
			return 3;
		}
		fprintf(stderr, "rcbench: holding %ld descriptors instead of %ld\n",
			(long)(lim - SLACK), nfds);
		nfds = (long)(lim - SLACK);
		capped = 1;
	}
	lim = raise_limit(RLIMIT_SIGPENDING, "RLIMIT_SIGPENDING", (rlim_t)ntimers + SLACK);
	if (lim < (rlim_t)ntimers + SLACK) {
		/* Linux charges each POSIX timer's preallocated signal to
		 * RLIMIT_SIGPENDING. */
		if (lim <= 2 * SLACK) {
			fprintf(stderr, "rcbench: RLIMIT_SIGPENDING %llu is too low\n",
				(unsigned long long)lim);
			return 3;
		}
		fprintf(stderr, "rcbench: holding %ld timers instead of %ld\n",
			(long)(lim - SLACK), ntimers);
		ntimers = (long)(lim - SLACK);
		capped = 1;
	}

	t0 = bench_now_ns();
	for (i = 0; i < nfds; i++)
		if (open_one() < 0)
			BENCH_DIE("open #%ld", i);
	for (i = 0; i < ntimers; i++)
		if (timer_one(&t) != 0)
			BENCH_DIE("timer_create #%ld", i);
	t1 = bench_now_ns();
	rss = vm_rss_kb();

	printf("RESULT workload=scale fds=%ld timers=%ld setup_ns=%lld rss_kb=%ld capped=%d exit_mono_ns=%lld\n",
	       nfds, ntimers, t1 - t0, rss, capped, bench_now_ns());
	fflush(stdout);
	return 0;
}
