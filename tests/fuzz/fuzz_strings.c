/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: how the shim writes names (paths, arguments, symbols: any
 * bytes but NUL) into its reports, from inside the traced process.
 *   JSON (rc_sb_put_json_str): the output must parse as one JSON string
 *   that is valid UTF-8, and give back the input exactly when the input was
 *   UTF-8 already.
 *   Text (rc_sb_put_shown): no control character may come out (they would
 *   forge report lines or drive a terminal), and text without any must come
 *   out unchanged.
 * Both write into a fixed buffer large enough for any escape.
 */
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_input.h"
#include "strbuf.h"
#include "utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool valid_utf8(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		bool ok;
		p += rc_utf8_next(p, &ok);
		if (!ok)
			return false;
	}
	return true;
}

static bool has_controls(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f ||
		    (c == 0xc2 && i + 1 < n && (unsigned char)s[i + 1] >= 0x80 &&
		     (unsigned char)s[i + 1] <= 0x9f))
			return true;
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = fuzz_cstr(data, size);
	if (!in)
		return 0;
	size_t len = strlen(in);
	size_t cap = 8 * len + 16; /* the longest escape is 6 bytes for 1 */
	char *out = malloc(cap);
	struct rc_strbuf b;

	rc_sb_init(&b, out, cap);
	rc_sb_put_json_str(&b, in);
	if (b.failed)
		abort();
	json_tokener *tok = json_tokener_new();
	json_object *o = json_tokener_parse_ex(tok, out, (int)b.len);
	if (!o || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != b.len || !json_object_is_type(o, json_type_string))
		abort(); /* not exactly one JSON string */
	const char *back = json_object_get_string(o);
	if ((size_t)json_object_get_string_len(o) != strlen(back))
		abort(); /* a NUL came out of a NUL-free input */
	if (!valid_utf8(back))
		abort();
	if (valid_utf8(in) && strcmp(back, in) != 0)
		abort();
	json_object_put(o);
	json_tokener_free(tok);

	rc_sb_init(&b, out, cap);
	rc_sb_put_shown(&b, in, len);
	if (b.failed || has_controls(out, b.len))
		abort();
	if (!has_controls(in, len) && (b.len != len || memcmp(out, in, len) != 0))
		abort();
	free(out);
	free(in);
	return 0;
}
