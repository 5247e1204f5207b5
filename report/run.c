/* SPDX-License-Identifier: MIT */
/*
 * `rcleak run`: run CMD with librcleak.so preloaded, forward signals, reap
 * orphans as a subreaper (to tell which processes left no report), then merge
 * the reports from the report directory and gate.
 */
#include "cli.h"
#include "suppress.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef RCLEAK_INSTALLED_LIBRARY
#define RCLEAK_INSTALLED_LIBRARY "/usr/local/lib/librcleak.so"
#endif

static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP };
static volatile sig_atomic_t child_pid;

/*
 * A signal sent with kill(2) to rcleak (si_code <= 0: SI_USER, SI_QUEUE,
 * SI_TKILL) is forwarded to CMD. A signal from the terminal (SI_KERNEL) went
 * to the whole foreground process group, CMD included, already: forwarding it
 * would deliver it twice, and a second SIGINT means "force quit" to some
 * programs. Async-signal-safe: kill(2) only, errno preserved.
 */
static void forward_signal(int sig, siginfo_t *si, void *uctx)
{
	(void)uctx;
	int saved = errno;
	if (child_pid > 0 && si->si_code <= 0)
		(void)kill((pid_t)child_pid, sig);
	errno = saved;
}

/* RCLEAK_LIBRARY, else the build tree (<dir of rcleak>/../shim), else installed. */
static char *find_library(void)
{
	const char *env = getenv("RCLEAK_LIBRARY");
	if (env && *env) {
		char *p = realpath(env, NULL);
		if (!p)
			warnx("RCLEAK_LIBRARY=%s: %s", env, strerror(errno));
		return p;
	}
	_cleanup_free_ char *self = realpath("/proc/self/exe", NULL);
	if (self) {
		char *slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			_cleanup_free_ char *cand = xasprintf("%s/../shim/librcleak.so", self);
			char *p = realpath(cand, NULL);
			if (p)
				return p;
		}
	}
	if (access(RCLEAK_INSTALLED_LIBRARY, R_OK) == 0)
		return xstrdup(RCLEAK_INSTALLED_LIBRARY);
	warnx("cannot find librcleak.so (looked in the build tree and at %s); set RCLEAK_LIBRARY",
	      RCLEAK_INSTALLED_LIBRARY);
	return NULL;
}

/* key=value for RCLEAK_OPTIONS; quoted when the value holds a colon. */
static bool add_option(struct strbuf *b, const char *key, const char *value)
{
	if (strchr(value, '"')) {
		warnx("%s: a double quote cannot be passed in RCLEAK_OPTIONS: %s", key, value);
		return false;
	}
	const char *q = strchr(value, ':') ? "\"" : "";
	sb_addf(b, "%s%s=%s%s%s", b->len ? ":" : "", key, q, value, q);
	return true;
}

static bool preload_has(const char *preload, const char *lib)
{
	_cleanup_free_ char *copy = xstrdup(preload);
	char *save = NULL;
	for (char *t = strtok_r(copy, ": ", &save); t; t = strtok_r(NULL, ": ", &save))
		if (strcmp(t, lib) == 0)
			return true;
	return false;
}

static bool setup_environment(const struct options *o, const char *lib, const char *dir)
{
	const char *old = getenv("LD_PRELOAD");
	if (old && *old) {
		if (!preload_has(old, lib)) {
			_cleanup_free_ char *v = xasprintf("%s:%s", old, lib);
			(void)setenv("LD_PRELOAD", v, 1);
		}
	} else {
		(void)setenv("LD_PRELOAD", lib, 1);
	}

	struct strbuf opts = { 0 };
	const char *user = getenv("RCLEAK_OPTIONS");
	if (user && *user)
		sb_add(&opts, user);
	_cleanup_free_ char *json = xasprintf("%s/rcleak.%%p.json", dir);
	bool ok = add_option(&opts, "json_path", json) && add_option(&opts, "text_report", "0") &&
		  add_option(&opts, "json_optional", "1");
	_cleanup_free_ char *supp = o->suppressions ? realpath(o->suppressions, NULL) : NULL;
	if (ok && o->suppressions) {
		if (!supp) {
			warnx("%s: %s", o->suppressions, strerror(errno));
			ok = false;
		} else {
			ok = add_option(&opts, "suppressions", supp);
		}
	}
	if (ok && o->stack_depth)
		ok = add_option(&opts, "stack_depth", o->stack_depth);
	if (ok && o->cleanup)
		ok = add_option(&opts, "cleanup", o->cleanup);
	if (ok && o->signals)
		ok = add_option(&opts, "signals", o->signals);
	_cleanup_free_ char *v = sb_steal(&opts);
	if (ok)
		(void)setenv("RCLEAK_OPTIONS", v, 1);
	return ok;
}

/*
 * A directory rcleak makes for the reports is writable by every user, sticky,
 * and not listable by them (01733, a mail spool's mode): a process of the tree
 * that drops its privileges (nginx's workers, PostgreSQL under su or setpriv,
 * any daemon started as root) writes its report there too, where with 0700 it
 * was lost without a trace. What others may plant there is read only as
 * regular files, never through a link (load.c), and the shim never opens a
 * name it did not make (report.c).
 */
#define REPORT_DIR_MODE 01733

static char *make_report_dir(const struct options *o)
{
	if (o->report_dir) {
		if (mkdir(o->report_dir, 0700) == 0)
			(void)chmod(o->report_dir, REPORT_DIR_MODE);
		else if (errno != EEXIST) {
			warnx("%s: %s", o->report_dir, strerror(errno));
			return NULL;
		}
		char *p = realpath(o->report_dir, NULL);
		if (!p)
			warnx("%s: %s", o->report_dir, strerror(errno));
		return p;
	}
	const char *tmp = getenv("TMPDIR");
	_cleanup_free_ char *templ = xasprintf("%s/rcleak.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(templ)) {
		warnx("%s: %s", templ, strerror(errno));
		return NULL;
	}
	(void)chmod(templ, REPORT_DIR_MODE);
	char *p = realpath(templ, NULL);
	return p ? p : xstrdup(templ);
}

/* Removes the files the shim wrote (reports, leftover temp files), then the directory. */
static void remove_report_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (d) {
		int dfd = dirfd(d);
		struct dirent *de;
		while ((de = readdir(d)))
			if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
				(void)unlinkat(dfd, de->d_name, 0);
		(void)closedir(d);
	}
	if (rmdir(dir) < 0)
		warnx("could not remove the report directory %s: %s", dir, strerror(errno));
}

/* The run's copy of the suppressions, in its report directory (never
 * through a link planted there: the directory is writable by all). */
static char *write_suppressions_copy(const char *dir, const char *text, size_t len)
{
	char *path = xasprintf("%s/rcleak-suppressions.txt", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	bool ok = fd >= 0 && write(fd, text, len) == (ssize_t)len;
	int e = errno;
	if (fd >= 0 && close(fd) != 0 && ok) {
		ok = false;
		e = errno;
	}
	if (!ok) {
		warnx("%s: %s", path, strerror(e));
		free(path);
		return NULL;
	}
	return path;
}

struct orphan {
	long pid;
	char *comm;
	int status;
};

/* The command line of a live process, spaces between arguments; NULL if none
 * (a zombie's is empty). */
static char *read_cmdline(pid_t pid)
{
	_cleanup_free_ char *path = xasprintf("/proc/%d/cmdline", (int)pid);
	size_t len = 0;
	char *s = read_file(path, &len);
	if (!s || len == 0) {
		free(s);
		return NULL;
	}
	for (size_t i = 0; i + 1 < len; i++)
		if (s[i] == '\0')
			s[i] = ' ';
	return s;
}

static char *read_comm(pid_t pid)
{
	_cleanup_free_ char *path = xasprintf("/proc/%d/comm", (int)pid);
	size_t len = 0;
	char *s = read_file(path, &len);
	if (!s)
		return xstrdup("?");
	if (len && s[len - 1] == '\n')
		s[len - 1] = '\0';
	return s;
}

static int decode_status(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return 1;
}

/*
 * Waits for CMD. As a child subreaper, rcleak also adopts descendants whose
 * parent exited first: they are reaped here, their comm read before reaping
 * (WNOWAIT), so that one that left no report can be named as not covered.
 * If nonblock, reaps only what has already exited.
 */
static int reap(pid_t cmd, bool nonblock, struct orphan **orphans, size_t *n, size_t *cap,
		int *cmd_status)
{
	for (;;) {
		siginfo_t si;
		memset(&si, 0, sizeof(si));
		int flags = WEXITED | WNOWAIT | (nonblock ? WNOHANG : 0);
		if (waitid(P_ALL, 0, &si, flags) < 0) {
			if (errno == EINTR)
				continue;
			return 0; /* ECHILD: nobody left */
		}
		if (si.si_pid == 0)
			return 0; /* WNOHANG: nothing exited */
		char *comm = si.si_pid == cmd ? NULL : read_comm(si.si_pid);
		int st = 0;
		while (waitpid(si.si_pid, &st, 0) < 0 && errno == EINTR)
			;
		if (si.si_pid == cmd) {
			*cmd_status = decode_status(st);
			if (!nonblock)
				return 1;
			continue;
		}
		grow(orphans, cap, *n, sizeof(**orphans));
		(*orphans)[*n].pid = si.si_pid;
		(*orphans)[*n].comm = comm;
		(*orphans)[*n].status = st;
		(*n)++;
	}
}

/* Descendants that outlived CMD and are still running were reparented to
 * rcleak (the subreaper): their pids, by their parent pid in /proc. */
static size_t survivor_pids(long **pids)
{
	size_t n = 0, cap = 0;
	*pids = NULL;
	DIR *d = opendir("/proc");
	if (!d)
		return 0;
	long self = (long)getpid();
	struct dirent *de;
	while ((de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		if (*end || pid <= 0)
			continue;
		_cleanup_free_ char *path = xasprintf("/proc/%ld/stat", pid);
		size_t len = 0;
		_cleanup_free_ char *stat = read_file(path, &len);
		/* "pid (comm) state ppid ...": comm may hold spaces and parentheses. */
		char *rp = stat ? strrchr(stat, ')') : NULL;
		char state;
		long ppid;
		if (!rp || sscanf(rp + 1, " %c %ld", &state, &ppid) != 2 || ppid != self)
			continue;
		grow(pids, &cap, n, sizeof(**pids));
		(*pids)[n++] = pid;
	}
	(void)closedir(d);
	return n;
}

static void find_survivors(struct orphan **orphans, size_t *n, size_t *cap)
{
	_cleanup_free_ long *pids = NULL;
	size_t np = survivor_pids(&pids);
	for (size_t i = 0; i < np; i++) {
		grow(orphans, cap, *n, sizeof(**orphans));
		(*orphans)[*n].pid = pids[i];
		char *cmd = read_cmdline((pid_t)pids[i]);
		(*orphans)[*n].comm = cmd ? cmd : read_comm((pid_t)pids[i]);
		(*orphans)[*n].status = -1; /* still running */
		(*n)++;
	}
}

/*
 * Helpers that end by themselves once their parent has (multiprocessing's
 * resource tracker and fork server read EOF on a pipe from it; a server a
 * script stopped is still shutting down) are often still running when CMD
 * exits. Give them up to a second to end and write their reports, polling
 * every 10 ms, rather than list them as not covered: but only while some
 * survivor is not a daemon, which no wait would see end.
 */
#define HELPER_GRACE_MS 1000

static bool waiting_for_helpers(const struct report *r)
{
	_cleanup_free_ long *pids = NULL;
	size_t np = survivor_pids(&pids);
	for (size_t i = 0; i < np; i++)
		if (!report_is_daemon(r, pids[i]))
			return true;
	return false;
}

static void await_helpers(pid_t cmd, const char *dir, struct orphan **orphans, size_t *n,
			  size_t *cap, int *status)
{
	struct report r = { 0 };
	report_add_path(&r, dir);
	for (int ms = 0; ms < HELPER_GRACE_MS && waiting_for_helpers(&r); ms += 10) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		(void)nanosleep(&ts, NULL);
		(void)reap(cmd, true, orphans, n, cap, status);
	}
	report_free(&r);
}

static char *join_argv(char **argv, int argc)
{
	struct strbuf b = { 0 };
	for (int i = 0; i < argc; i++)
		sb_addf(&b, "%s%s", i ? " " : "", argv[i]);
	return sb_steal(&b);
}

/*
 * Why a process that outlived its parent left no report. A signal the shim
 * does not report on (SIGPIPE: `yes | head -1`, a producer of `<(...)`)
 * ends it before rcleak can say anything: that is the answer, not a guess at
 * a static binary. Without --signals the shim reports on its default four.
 */
static char *orphan_reason(int status, const char *signals)
{
	if (!WIFSIGNALED(status))
		return xasprintf("no report: exited %d after its parent had (" NO_SHIM_CAUSES "?)",
				 WEXITSTATUS(status));
	int sig = WTERMSIG(status);
	const char *abbrev = sigabbrev_np(sig);
	bool reported = !signals && (sig == SIGTERM || sig == SIGINT || sig == SIGHUP || sig == SIGQUIT);
	if (abbrev == NULL)
		return xasprintf("no report: killed by signal %d after its parent exited", sig);
	if (reported)
		return xasprintf("no report: killed by SIG%s after its parent exited (" NO_SHIM_CAUSES
				 "?)", abbrev);
	return xasprintf("no report: killed by SIG%s after its parent exited, a signal rcleak "
			 "reports on only when --signals names it", abbrev);
}

int cmd_run(const struct options *o)
{
	_cleanup_free_ char *lib = find_library();
	if (!lib)
		return EXIT_TOOL_FAILED;
	/* The suppressions are read here, before CMD runs, so that a bad line is
	 * a usage error.  Every traced process reads them too: a regular file is
	 * handed over by its path; anything else (`--suppressions <(cat a b)` is
	 * a pipe, which only one reader could drain) as a copy in the report
	 * directory, which the merged report then uses as well. */
	_cleanup_free_ char *supp_text = NULL;
	size_t supp_len = 0;
	if (o->suppressions) {
		supp_text = read_file(o->suppressions, &supp_len);
		struct report empty = { 0 };
		if (!supp_text) {
			warnx("%s: %s", o->suppressions, strerror(errno));
			return EXIT_USAGE;
		}
		if (supp_len > RC_SUPP_MAX_FILE) {
			warnx("%s: larger than 1 MiB, the most a traced process reads", o->suppressions);
			return EXIT_USAGE;
		}
		if (suppressions_apply_text(&empty, supp_text, supp_len, o->suppressions) < 0)
			return EXIT_USAGE;
	}
	_cleanup_free_ char *dir = make_report_dir(o);
	if (!dir)
		return EXIT_TOOL_FAILED;
	bool remove_dir = !o->report_dir && !o->keep_reports;
	struct options run_opts = *o;
	_cleanup_free_ char *supp_copy = NULL;
	struct stat st;
	if (o->suppressions && (stat(o->suppressions, &st) != 0 || !S_ISREG(st.st_mode))) {
		supp_copy = write_suppressions_copy(dir, supp_text, supp_len);
		if (!supp_copy) {
			if (remove_dir)
				remove_report_dir(dir);
			return EXIT_TOOL_FAILED;
		}
		run_opts.suppressions = supp_copy;
	}
	o = &run_opts;
	if (!setup_environment(o, lib, dir)) {
		if (remove_dir)
			remove_report_dir(dir);
		return EXIT_USAGE;
	}

	(void)prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);

	sigset_t block, old;
	sigemptyset(&block);
	for (size_t i = 0; i < ARRAY_SIZE(forwarded); i++)
		sigaddset(&block, forwarded[i]);
	sigprocmask(SIG_BLOCK, &block, &old);
	struct sigaction sa = { .sa_sigaction = forward_signal, .sa_flags = SA_SIGINFO | SA_RESTART };
	sigemptyset(&sa.sa_mask);
	struct sigaction saved[ARRAY_SIZE(forwarded)];
	for (size_t i = 0; i < ARRAY_SIZE(forwarded); i++)
		sigaction(forwarded[i], &sa, &saved[i]);

	/* Tells an exec that failed (the child writes its errno) from a CMD that
	 * ran and left no report: the write end closes on a successful exec. */
	int execfail[2] = { -1, -1 };
	(void)pipe2(execfail, O_CLOEXEC);
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		warnx("fork: %s", strerror(errno));
		sigprocmask(SIG_SETMASK, &old, NULL);
		if (remove_dir)
			remove_report_dir(dir);
		return EXIT_TOOL_FAILED;
	}
	if (pid == 0) {
		for (size_t i = 0; i < ARRAY_SIZE(forwarded); i++)
			sigaction(forwarded[i], &saved[i], NULL);
		sigprocmask(SIG_SETMASK, &old, NULL);
		execvp(o->argv[0], o->argv);
		int e = errno;
		fprintf(stderr, "rcleak: %s: %s\n", o->argv[0], strerror(e));
		if (execfail[1] >= 0)
			(void)!write(execfail[1], &e, sizeof(e));
		_exit(e == ENOENT ? 127 : 126);
	}
	if (execfail[1] >= 0)
		close(execfail[1]);
	child_pid = pid;
	sigprocmask(SIG_SETMASK, &old, NULL);

	struct orphan *orphans = NULL;
	size_t norphans = 0, cap = 0;
	int status = EXIT_TOOL_FAILED;
	(void)reap(pid, false, &orphans, &norphans, &cap, &status);
	child_pid = 0;
	(void)reap(pid, true, &orphans, &norphans, &cap, &status);
	await_helpers(pid, dir, &orphans, &norphans, &cap, &status);
	find_survivors(&orphans, &norphans, &cap);
	for (size_t i = 0; i < ARRAY_SIZE(forwarded); i++)
		sigaction(forwarded[i], &saved[i], NULL);

	struct report r = { 0 };
	report_add_path(&r, dir);
	int exec_errno = 0;
	if (execfail[0] >= 0) {
		if (read(execfail[0], &exec_errno, sizeof(exec_errno)) != (ssize_t)sizeof(exec_errno))
			exec_errno = 0;
		close(execfail[0]);
	}
	if (!report_find_pid(&r, pid)) {
		_cleanup_free_ char *cmd = join_argv(o->argv, o->argc);
		_cleanup_free_ char *why = exec_errno ?
			xasprintf("not run: %s", strerror(exec_errno)) :
			xstrdup("no report (" NO_SHIM_CAUSES ", or killed with SIGKILL)");
		report_add_not_covered(&r, pid, (long)getpid(), cmd, why);
	}
	for (size_t i = 0; i < norphans; i++) {
		if (orphans[i].status == -1 && !report_find_pid(&r, orphans[i].pid)) {
			report_add_not_covered(&r, orphans[i].pid, 0, orphans[i].comm,
					       report_is_daemon(&r, orphans[i].pid) ?
						       "no report yet: a daemon, still running "
						       "after CMD exited" :
						       "no report yet: still running after CMD exited");
		} else if (!report_find_pid(&r, orphans[i].pid)) {
			_cleanup_free_ char *why = orphan_reason(orphans[i].status, o->signals);
			report_add_not_covered(&r, orphans[i].pid, 0, orphans[i].comm, why);
		}
		free(orphans[i].comm);
	}
	free(orphans);

	long new_leaks = process_and_render(&r, o, true);
	report_free(&r);
	if (remove_dir)
		remove_report_dir(dir);
	else if (o->keep_reports && !o->report_dir)
		warnx("reports kept in %s", dir);
	if (new_leaks < 0)
		return status != 0 ? status : EXIT_USAGE;
	return gate_exit_status(status, new_leaks, o->error_exitcode);
}
