/* SPDX-License-Identifier: MIT */
/* The fuzz input as a C string: a NUL-terminated copy (free it), with one
 * spare NUL after it for targets that split the input at its first NUL. */
#ifndef RCLEAK_FUZZ_INPUT_H
#define RCLEAK_FUZZ_INPUT_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 2);
	if (s) {
		memcpy(s, data, size);
		s[size] = s[size + 1] = '\0';
	}
	return s;
}

#endif
