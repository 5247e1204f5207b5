/* SPDX-License-Identifier: MIT */
#ifndef RCLEAK_REPORT_CLI_H
#define RCLEAK_REPORT_CLI_H

#include "model.h"

#include <stdbool.h>
#include <stddef.h>

/* Exit codes of the tool itself (besides the command's own status). */
#define EXIT_USAGE 2         /* bad option, bad suppression file, no report found */
#define EXIT_TOOL_FAILED 125 /* run: rcleak could not start the command (as env(1)) */
#define DEFAULT_ERROR_EXITCODE 23

enum format { FORMAT_TEXT, FORMAT_JSON, FORMAT_SARIF, FORMAT_GITHUB };

struct options {
	enum format format;
	const char *output;
	const char *suppressions;
	const char *baseline;
	const char *write_baseline;
	int error_exitcode;
	bool verbose;
	bool no_symbolize;
	const char *source_root; /* base of relative paths in SARIF/GitHub; default cwd */
	/* run */
	const char *report_dir;
	bool keep_reports;
	const char *stack_depth;
	const char *cleanup;
	const char *signals;
	char **argv; /* run: the command; report: the inputs */
	int argc;
};

/* pipeline.c: tree, coverage, symbolize, suppress, baseline, sites, render.
 * Returns the number of new (gating) leaks, or -1 after printing an error. */
long process_and_render(struct report *r, const struct options *o, bool run_mode);

/* gate.c */
int gate_exit_status(int command_status, long new_leaks, int error_exitcode);

/* run.c */
int cmd_run(const struct options *o);

#endif
