/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: `rcleak report` over one input file, in every output format,
 * with the input also used as a baseline and a baseline written from it.
 *
 * A report is data a killed process, a full disk or another user may have
 * mangled: whatever it holds, the tool must name the file and go on, never
 * crash, hang or read outside what it parsed.  The tool's main() is linked
 * in as rcleak_main (-Dmain=rcleak_main), so this runs exactly the command
 * line path a user runs.
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int rcleak_main(int argc, char **argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[] = "/tmp/rcleak-fuzz-XXXXXX";
static char input[64], baseline[64];

static void cleanup(void)
{
	unlink(input);
	unlink(baseline);
	rmdir(dir);
}

static void run(const char *const *args)
{
	char *argv[16];
	int argc = 0;
	for (; argc < 15 && args[argc]; argc++)
		argv[argc] = (char *)args[argc];
	argv[argc] = NULL;
	(void)rcleak_main(argc, argv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (input[0] == '\0') {
		if (!mkdtemp(dir))
			abort();
		snprintf(input, sizeof input, "%s/rcleak.1.json", dir);
		snprintf(baseline, sizeof baseline, "%s/baseline.json", dir);
		atexit(cleanup);
	}
	int fd = open(input, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);

	/* Symbolized once (libdwfl on whatever modules the input names), the
	 * other formats from the same model without it: it is the slow part. */
	run((const char *const[]){ "rcleak", "report", "--error-exitcode=0", "--verbose",
				   "--format", "text", "--output", "/dev/null", input, NULL });
	static const char *const formats[] = { "json", "sarif", "github" };
	for (size_t i = 0; i < sizeof formats / sizeof *formats; i++)
		run((const char *const[]){ "rcleak", "report", "--no-symbolize", "--verbose",
					   "--format", formats[i], "--output", "/dev/null", input,
					   NULL });
	/* The directory form (what rcleak run reads), the input as a baseline,
	 * and a baseline written from it and read back. */
	run((const char *const[]){ "rcleak", "report", "--no-symbolize", "--output", "/dev/null",
				   "--baseline", input,
				   "--write-baseline", baseline, dir, NULL });
	run((const char *const[]){ "rcleak", "report", "--no-symbolize", "--format", "json",
				   "--output", "/dev/null", "--baseline", baseline, input, NULL });
	unlink(baseline);
	return 0;
}
