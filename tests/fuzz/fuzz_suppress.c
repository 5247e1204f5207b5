/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: a suppressions file as both the shim (in process, possibly
 * on the signal path) and the tool parse it, and its rules matched against
 * candidate strings taken from the input itself, so that patterns with
 * many '*' meet subjects built to make a backtracking matcher slow.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_input.h"
#include "suppress.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Input: the file text, then optionally "\0" and the subjects, split
	 * at newlines. */
	char *text = fuzz_cstr(data, size);
	if (!text)
		return 0;
	size_t tlen = strlen(text);
	char *subjects = text + tlen + 1 <= text + size ? text + tlen + 1 : text + size + 1;
	char *copy = strdup(subjects);

	struct rc_supp_rule rules[64];
	size_t n = 0;
	char err[256];
	if (rc_supp_parse(text, "fuzz.supp", rules, 64, &n, err, sizeof err) != 0) {
		if (memchr(err, '\0', sizeof err) == NULL)
			abort();
		n = 0;
	}
	for (size_t i = 0; i < n; i++)
		if (rules[i].kind < 0 || rules[i].kind > RC_KIND_ANY || !rules[i].pattern)
			abort();

	const char *strs[8];
	size_t ns = 0;
	for (char *s = copy, *e; s && *s && ns < 8; s = e ? e + 1 : NULL) {
		e = strchr(s, '\n');
		if (e)
			*e = '\0';
		strs[ns++] = s;
	}
	for (int kind = 0; kind < RC_KIND_COUNT; kind++) {
		long hit = rc_supp_find(rules, n, kind, strs, ns);
		if (hit < -1 || hit >= (long)n)
			abort();
	}
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < ns; j++)
			(void)rc_supp_match(rules[i].pattern, strs[j]);
	(void)rc_supp_basename(copy);
	free(copy);
	free(text);
	return 0;
}
