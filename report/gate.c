/* SPDX-License-Identifier: MIT */
/*
 * The exit status rule, shared by `run` and `report` (which passes 0 as the
 * command's status):
 *  - a failing command's status is never replaced: the build already failed;
 *  - a command that succeeded, with unsuppressed leaks not in the baseline,
 *    exits with error_exitcode (default 23, as LeakSanitizer); 0 disables;
 *  - else 0.
 */
#include "cli.h"

int gate_exit_status(int command_status, long new_leaks, int error_exitcode)
{
	if (command_status != 0)
		return command_status;
	if (new_leaks > 0 && error_exitcode != 0)
		return error_exitcode;
	return 0;
}
