/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: RCLEAK_OPTIONS as the shim parses it, inside the traced
 * process, before main.  Any text must leave every option within its
 * documented range (a bad item keeps its default), and the %p expansion of
 * the path options must stay within its buffer.
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_input.h"
#include "options.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *spec = fuzz_cstr(data, size);
	if (!spec)
		return 0;
	(void)rc_options_parse(spec);
	free(spec);
	/* The parsed values must be usable as they are. */
	if (rc_options.stack_depth < 0 || rc_options.stack_depth > 256 ||
	    rc_options.kill_grace_ms < 0 || rc_options.verbosity < 0 ||
	    !rc_options.log_path || !rc_options.json_path || !rc_options.suppressions ||
	    strlen(rc_options.log_path) >= PATH_MAX || strlen(rc_options.json_path) >= PATH_MAX ||
	    strlen(rc_options.suppressions) >= PATH_MAX)
		abort();
	char out[PATH_MAX];
	rc_options_expand_path(rc_options.json_path, INT32_MAX, out, sizeof out);
	rc_options_expand_path(rc_options.log_path, 1, out, sizeof out);
	if (strnlen(out, sizeof out) == sizeof out)
		abort();
	return 0;
}
