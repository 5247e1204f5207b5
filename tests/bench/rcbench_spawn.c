/* rcbench_spawn: the many-short-processes row measured spawn by spawn.
 *
 *   rcbench_spawn N PROGRAM PRELOAD...
 *
 * Spawns PROGRAM (no arguments) N times under each PRELOAD ("-" for none,
 * else a library put in LD_PRELOAD), taking the variants in turn for every
 * spawn, so that a machine whose speed drifts within seconds (it does, here)
 * slows every variant alike; the sh loop of the main row runs each variant
 * for a second or more at a time.  RCLEAK_OPTIONS passes through.  Prints,
 * per variant, "RESULT variant=K median_ns=M p25_ns=Q mean_ns=A": spawn to
 * reaped, in ns. */
#include "bench.h"

#include <spawn.h>
#include <sys/wait.h>

extern char **environ;

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

/* environ without LD_PRELOAD, plus LD_PRELOAD=lib unless lib is "-". */
static char **env_for(const char *lib)
{
	size_t n = 0, k = 0;
	char **env;

	while (environ[n])
		n++;
	env = calloc(n + 2, sizeof *env);
	if (!env)
		BENCH_DIE("calloc");
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "LD_PRELOAD=", 11) != 0)
			env[k++] = environ[i];
	if (strcmp(lib, "-") != 0) {
		size_t len = strlen(lib) + sizeof "LD_PRELOAD=";

		env[k] = malloc(len);
		if (!env[k])
			BENCH_DIE("malloc");
		snprintf(env[k], len, "LD_PRELOAD=%s", lib);
		k++;
	}
	env[k] = NULL;
	return env;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: %s N PROGRAM PRELOAD...\n", argv[0]);
		return 2;
	}
	long n = bench_parse_count(argv[1], "count");
	int nv = argc - 3;
	char *args[] = {argv[2], NULL};
	char ***envs = calloc((size_t)nv, sizeof *envs);
	long long *t = calloc((size_t)nv * (size_t)n, sizeof *t);

	if (!envs || !t)
		BENCH_DIE("calloc");
	for (int v = 0; v < nv; v++)
		envs[v] = env_for(argv[3 + v]);
	for (long i = 0; i < n; i++) {
		for (int v = 0; v < nv; v++) {
			long long t0 = bench_now_ns();
			pid_t pid;
			int st, e = posix_spawn(&pid, argv[2], NULL, NULL, args, envs[v]);

			if (e != 0) {
				errno = e;
				BENCH_DIE("spawn %s", argv[2]);
			}
			if (waitpid(pid, &st, 0) != pid)
				BENCH_DIE("waitpid");
			if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
				errno = 0;
				BENCH_DIE("%s failed (status %d)", argv[2], st);
			}
			t[(size_t)v * (size_t)n + (size_t)i] = bench_now_ns() - t0;
		}
	}
	for (int v = 0; v < nv; v++) {
		long long *tv = t + (size_t)v * (size_t)n;
		double sum = 0;

		for (long i = 0; i < n; i++)
			sum += (double)tv[i];
		qsort(tv, (size_t)n, sizeof *tv, cmp_ll);
		printf("RESULT variant=%d median_ns=%lld p25_ns=%lld mean_ns=%.0f\n", v, tv[n / 2],
		       tv[n / 4], sum / (double)n);
	}
	for (int v = 0; v < nv; v++) {
		for (char **e = envs[v]; *e; e++)
			if (strncmp(*e, "LD_PRELOAD=", 11) == 0)
				free(*e); /* the one env_for allocated */
		free(envs[v]);
	}
	free(envs);
	free(t);
	return 0;
}
