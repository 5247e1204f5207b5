/* rcbench_loops: acquire+release loops, one resource family per run.
 *
 *   rcbench_loops WORKLOAD ITERATIONS [DEPTH]
 *
 * WORKLOAD is one of: open socket pipe timer setitimer mkdtemp fork pthread.
 * Each iteration acquires exactly one resource (pipe: one call, two fds) and
 * releases it, so nothing leaks and rcleak prints nothing. A short untimed
 * warm-up runs first so that one-time costs (lazy symbol resolution, the first
 * stack capture, page faults on the shim's tables) are not charged to the
 * loop; process start-up is measured separately by the runner.
 *
 * The loop runs DEPTH (default 40) call frames below main, so that a stack
 * capture limited to 8 or 32 frames really has 8 or 32 frames to walk (a
 * loop called from main has only ~5).
 *
 * Prints: RESULT workload=W iters=N ns_per_iter=X total_ns=T cpu_ns_per_iter=C
 * ns_per_iter is CLOCK_MONOTONIC (wall) time; cpu_ns_per_iter is the process's
 * CPU time (CLOCK_PROCESS_CPUTIME_ID), steadier on a loaded machine for the
 * single-threaded loops but blind to the fork loop's children.
 *
 * Taking turns (RCBENCH_TURNS, bench.h): the loop runs as K slices of
 * ITERATIONS/K.  The runner chains two such processes (native and rcleak)
 * in a ring, so their slices alternate,
 * milliseconds apart: a shared machine's slow phases, which last seconds,
 * then fall on both alike, and each slice of one is compared with the
 * neighbouring slice of the other.  Prints one more line:
 *   TURNS workload=W slices=K ns=S1,S2,...   (wall ns per iteration, per slice) */
#include "bench.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmpbase[4096];

static void op_open(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		BENCH_DIE("open /dev/null");
	if (close(fd) != 0)
		BENCH_DIE("close");
}

static void op_socket(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		BENCH_DIE("socket");
	if (close(fd) != 0)
		BENCH_DIE("close");
}

static void op_pipe(void)
{
	int p[2];

	if (pipe(p) != 0)
		BENCH_DIE("pipe");
	if (close(p[0]) != 0 || close(p[1]) != 0)
		BENCH_DIE("close");
}

static void op_timer(void)
{
	struct sigevent sev;
	timer_t t;

	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_NONE;
	if (timer_create(CLOCK_MONOTONIC, &sev, &t) != 0)
		BENCH_DIE("timer_create");
	if (timer_delete(t) != 0)
		BENCH_DIE("timer_delete");
}

static void op_setitimer(void)
{
	struct itimerval on = { .it_value = { .tv_sec = 100 } };
	struct itimerval off = { 0 };

	if (setitimer(ITIMER_REAL, &on, NULL) != 0)
		BENCH_DIE("setitimer arm");
	if (setitimer(ITIMER_REAL, &off, NULL) != 0)
		BENCH_DIE("setitimer disarm");
}

static void op_mkdtemp(void)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/rcbench.XXXXXX", tmpbase);
	if (!mkdtemp(path))
		BENCH_DIE("mkdtemp %s", path);
	if (rmdir(path) != 0)
		BENCH_DIE("rmdir %s", path);
}

static void op_fork(void)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		BENCH_DIE("fork");
	if (pid == 0)
		_exit(0);
	if (waitpid(pid, &status, 0) != pid)
		BENCH_DIE("waitpid");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "rcbench: child status 0x%x\n", status);
		exit(2);
	}
}

static void *thread_main(void *arg)
{
	return arg;
}

static void op_pthread(void)
{
	static int token;
	pthread_t t;
	void *ret;
	int err = pthread_create(&t, NULL, thread_main, &token);

	if (err) {
		errno = err;
		BENCH_DIE("pthread_create");
	}
	err = pthread_join(t, &ret);
	if (err || ret != &token) {
		errno = err;
		BENCH_DIE("pthread_join");
	}
}

struct loop {
	void (*op)(void);
	long iters;
	long long t0, t1, c0, c1;
};

static volatile int depth_sink;

static struct bench_turns turns;

static void run_ops(long n, void *arg)
{
	void (*op)(void) = ((struct loop *)arg)->op;

	for (long i = 0; i < n; i++)
		op();
}

/* Recurse DEPTH frames, then run the timed loop at the bottom: the frames
 * cost nothing per iteration. The volatile increment after the call keeps the
 * compiler from turning the recursion into a loop. */
__attribute__((noinline)) static void run_at_depth(int depth, struct loop *l)
{
	if (depth > 1) {
		run_at_depth(depth - 1, l);
		depth_sink++;
		return;
	}
	l->c0 = bench_cpu_ns();
	l->t0 = bench_now_ns();
	if (turns.k > 0)
		bench_turns_run(&turns, l->iters, run_ops, l);
	else
		run_ops(l->iters, l);
	l->t1 = bench_now_ns();
	l->c1 = bench_cpu_ns();
}

static const struct {
	const char *name;
	void (*op)(void);
} workloads[] = {
	{ "open", op_open },       { "socket", op_socket },
	{ "pipe", op_pipe },       { "timer", op_timer },
	{ "setitimer", op_setitimer }, { "mkdtemp", op_mkdtemp },
	{ "fork", op_fork },       { "pthread", op_pthread },
};

int main(int argc, char **argv)
{
	void (*op)(void) = NULL;
	const char *tmp = getenv("TMPDIR");
	struct loop l = { 0 };
	long iters, warm, i, depth = 40;

	if (argc != 3 && argc != 4) {
		fprintf(stderr, "usage: %s WORKLOAD ITERATIONS [DEPTH]\n", argv[0]);
		return 2;
	}
	for (size_t k = 0; k < sizeof(workloads) / sizeof(workloads[0]); k++)
		if (strcmp(argv[1], workloads[k].name) == 0)
			op = workloads[k].op;
	if (!op) {
		fprintf(stderr, "rcbench: unknown workload '%s'\n", argv[1]);
		return 2;
	}
	iters = bench_parse_count(argv[2], "iteration count");
	if (argc == 4)
		depth = bench_parse_count(argv[3], "depth");
	snprintf(tmpbase, sizeof(tmpbase), "%s", tmp && *tmp ? tmp : "/tmp");

	warm = iters / 20;
	if (warm > 1000)
		warm = 1000;
	if (warm < 1)
		warm = 1;
	for (i = 0; i < warm; i++)
		op();

	bench_turns_init(&turns, iters);

	l.op = op;
	l.iters = iters;
	run_at_depth((int)depth, &l);

	printf("RESULT workload=%s iters=%ld ns_per_iter=%.1f total_ns=%lld cpu_ns_per_iter=%.1f depth=%ld\n",
	       argv[1], iters, (double)(l.t1 - l.t0) / (double)iters, l.t1 - l.t0,
	       (double)(l.c1 - l.c0) / (double)iters, depth);
	bench_turns_print(&turns, argv[1]);
	return 0;
}
