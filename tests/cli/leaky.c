/* SPDX-License-Identifier: MIT */
/*
 * A small program built with -g for the CLI tests: leaks what argv[1] says.
 * The SYMBOL-LINE markers let the tests find the line numbers to expect.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int open_log(const char *path) { /* SYMBOL-LINE open_log */
	return open(path, O_WRONLY | O_CREAT | O_APPEND, 0600); /* CALL-LINE open_log */
}

static int open_extra(void) { /* SYMBOL-LINE open_extra */
	return open("/dev/null", O_RDONLY); /* CALL-LINE open_extra */
}

static pid_t spawn_sleeper(void) { /* SYMBOL-LINE spawn_sleeper */
	pid_t pid = fork(); /* CALL-LINE spawn_sleeper */
	if (pid == 0) {
		execlp("sleep", "sleep", "30", (char *)NULL);
		_exit(127);
	}
	return pid;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "none";
	const char *log = argc > 2 ? argv[2] : "/dev/null";
	if (strcmp(mode, "none") == 0) {
		int fd = open_log(log);
		if (fd >= 0)
			close(fd);
	} else if (strcmp(mode, "fd") == 0) {
		(void)open_log(log);
	} else if (strcmp(mode, "fd2") == 0) {
		(void)open_log(log);
		(void)open_extra();
	} else if (strcmp(mode, "child") == 0) {
		(void)spawn_sleeper();
	} else if (strcmp(mode, "sleep") == 0) {
		/* For signal forwarding: say we are ready, then wait to be killed. */
		puts("ready");
		fflush(stdout);
		sleep(30);
		return 3;
	} else if (strcmp(mode, "exit") == 0) {
		return argc > 2 ? atoi(argv[2]) : 0;
	} else {
		fprintf(stderr, "leaky: unknown mode %s\n", mode);
		return 2;
	}
	return 0;
}
