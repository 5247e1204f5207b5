/* SPDX-License-Identifier: MIT */
/*
 * UTF-8 validation, shared by the shim's JSON writer and the rcleak tool.
 *
 * JSON text is UTF-8 (RFC 8259), but what reports carry is whatever the
 * kernel and the program hand over: command-line arguments, file names,
 * symbol names, any bytes but NUL.  A report with one byte that is not UTF-8
 * (an argument in Latin-1, a file named b"\xff") is rejected whole by strict
 * readers (Python's json, serde, jq), and with it every leak it carries; so
 * both writers put one U+FFFD in place of each maximal run of bytes that is
 * not a well-formed sequence (rc_utf8_next).  Async-signal-safe: no state,
 * no calls.
 */
#ifndef RCLEAK_UTF8_H
#define RCLEAK_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* U+FFFD REPLACEMENT CHARACTER, in UTF-8. */
#define RC_UTF8_REPLACEMENT "\xef\xbf\xbd"

/* What starts at p: a well-formed UTF-8 sequence (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF), whose length (1 to 4) is
 * returned with *ok true; or, with *ok false, the bytes that one U+FFFD
 * replaces: the longest start of a sequence that is not completed (1 to 3),
 * as the Unicode standard recommends ("maximal subpart") and as Python's
 * and browsers' decoders do.  p is NUL-terminated: a NUL ends any sequence. */
static inline size_t rc_utf8_next(const unsigned char *p, bool *ok)
{
	unsigned char c = p[0];
	*ok = true;
	if (c < 0x80)
		return 1;
	size_t n;
	unsigned char lo = 0x80, hi = 0xbf; /* the range of the second byte */
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		if (c == 0xe0)
			lo = 0xa0; /* overlong below U+0800 */
		else if (c == 0xed)
			hi = 0x9f; /* surrogates U+D800..U+DFFF */
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		if (c == 0xf0)
			lo = 0x90; /* overlong below U+10000 */
		else if (c == 0xf4)
			hi = 0x8f; /* above U+10FFFF */
	} else {
		*ok = false; /* a continuation byte, C0/C1 (overlong ASCII), F5..FF */
		return 1;
	}
	if (p[1] < lo || p[1] > hi) {
		*ok = false;
		return 1;
	}
	for (size_t i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf) {
			*ok = false;
			return i;
		}
	return n;
}

/*
 * Text for people (the text reports, the tool's text, SARIF and GitHub
 * messages) shows a name's control characters escaped, never raw: a file
 * named "x\n==123== SUMMARY: ..." would forge report lines, and one holding
 * ESC [ ... would drive the reader's terminal.  JSON carries the name as it
 * is.  For the character at p (a C0 control, DEL, or a C1 control encoded
 * in UTF-8, which some terminals obey): its escape ("\n", "\t", "\r",
 * "\x1b", "\u009b") in out (8 bytes), its length in *outlen, and the
 * number of bytes of p it stands for; 0 when p[0] is shown as it is.
 */
static inline size_t rc_ctl_escape(const unsigned char *p, char out[8], size_t *outlen)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char c = p[0];
	size_t in = 1;
	if (c == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
		c = p[1];
		in = 2;
	} else if (c >= 0x20 && c != 0x7f) {
		return 0;
	}
	size_t n = 0;
	out[n++] = '\\';
	if (c == '\n' || c == '\t' || c == '\r') {
		out[n++] = c == '\n' ? 'n' : c == '\t' ? 't' : 'r';
	} else {
		if (in == 2) {
			out[n++] = 'u';
			out[n++] = '0';
			out[n++] = '0';
		} else {
			out[n++] = 'x';
		}
		out[n++] = hex[c >> 4];
		out[n++] = hex[c & 15];
	}
	*outlen = n;
	return in;
}

/* s[0..n) through put(ctx, piece, len): the runs shown as they are and the
 * escapes of the control characters between them (rc_ctl_escape). */
static inline void rc_put_shown(const char *s, size_t n,
				void (*put)(void *ctx, const char *piece, size_t len), void *ctx)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n, *run = p;
	while (p < end) {
		char esc[8];
		size_t elen, in = rc_ctl_escape(p, esc, &elen);
		if (in == 0 || (size_t)(end - p) < in) {
			p++;
			continue;
		}
		put(ctx, (const char *)run, (size_t)(p - run));
		put(ctx, esc, elen);
		p += in;
		run = p;
	}
	put(ctx, (const char *)run, (size_t)(p - run));
}

#endif
