/* rcbench_run: run one benchmark command and measure it from close by.
 *
 *   rcbench_run OUTFILE COMMAND [ARG...]
 *
 * Forks, execs COMMAND, waits for it with wait4 and writes to OUTFILE:
 *   wall_ns=W reaped_ns=R maxrss_kb=M faults=F status=S
 * faults counts the page faults (minor and major) of COMMAND and of every
 * descendant it waited for: a count that, unlike the times, does not move
 * with the load of a shared machine.
 * reaped_ns is CLOCK_MONOTONIC right after wait4 returned (the runner compares
 * it with the time the program's main returned, to get the exit cost).
 *
 * Why not measure from the runner (Python) directly: ru_maxrss survives exec,
 * so a child forked from a 30 MB Python reports at least 30 MB; forked from
 * this small program it reports the command's own peak (Valgrind and strace
 * included, with their traced descendants).
 *
 * LD_PRELOAD must reach COMMAND but not this program: the runner passes it as
 * RCBENCH_PRELOAD, which the child moves into LD_PRELOAD just before exec.
 * Exit status: COMMAND's (128+signal if killed), 127 if it could not run. */
#include "bench.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct rusage ru;
	long long t0, t1;
	int status;
	pid_t pid;
	FILE *out;

	if (argc < 3) {
		fprintf(stderr, "usage: %s OUTFILE COMMAND [ARG...]\n", argv[0]);
		return 2;
	}
	out = fopen(argv[1], "we");
	if (!out)
		BENCH_DIE("cannot write %s", argv[1]);

	t0 = bench_now_ns();
	pid = fork();
	if (pid < 0)
		BENCH_DIE("fork");
	if (pid == 0) {
		const char *pre = getenv("RCBENCH_PRELOAD");

		if (pre && *pre && setenv("LD_PRELOAD", pre, 1) != 0)
			BENCH_DIE("setenv");
		unsetenv("RCBENCH_PRELOAD");
		execvp(argv[2], argv + 2);
		fprintf(stderr, "rcbench_run: cannot run %s: %s\n", argv[2], strerror(errno));
		_exit(127);
	}
	while (wait4(pid, &status, 0, &ru) < 0)
		if (errno != EINTR)
			BENCH_DIE("wait4");
	t1 = bench_now_ns();

	fprintf(out, "wall_ns=%lld reaped_ns=%lld maxrss_kb=%ld faults=%ld status=%d\n", t1 - t0,
		t1, ru.ru_maxrss, ru.ru_minflt + ru.ru_majflt, status);
	if (fclose(out) != 0)
		BENCH_DIE("writing %s", argv[1]);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
