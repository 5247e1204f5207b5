/* SPDX-License-Identifier: MIT */
/*
 * Suppression rules, shared by the preloaded shim and the rcleak tool.
 *
 * Everything here is async-signal-safe: no allocation, no stdio, no locale,
 * no locks. The shim may parse and match rules on its exit/signal path.
 *
 * File format, one rule a line (LeakSanitizer style):
 *     KIND:PATTERN        KIND is fd, child, timer, itimer, tmpdir, tmpfile,
 *                         thread, or "leak" for any kind
 *     # comment           blank lines are fine, whitespace around is trimmed
 */
#ifndef RCLEAK_SUPPRESS_H
#define RCLEAK_SUPPRESS_H

#include <stdbool.h>
#include <stddef.h>

enum rc_kind {
	RC_KIND_FD = 0,
	RC_KIND_CHILD,
	RC_KIND_TIMER,
	RC_KIND_ITIMER,
	RC_KIND_TMPDIR,
	RC_KIND_TMPFILE,
	RC_KIND_THREAD,
	RC_KIND_ANY, /* "leak" in a suppression file: matches every kind */
};

#define RC_KIND_COUNT 7 /* real kinds, RC_KIND_ANY excluded */

/* The largest suppressions file the shim reads (every traced process reads
 * it whole at start-up); `rcleak run` refuses a larger one up front. */
#define RC_SUPP_MAX_FILE (1u << 20)

/* -1 for an unknown name; 0..6 in the order above; RC_KIND_ANY for "leak". */
int rc_kind_from_name(const char *s, size_t len);

/* The name of a kind ("fd", ..., "leak" for RC_KIND_ANY); NULL if out of range. */
const char *rc_kind_name(int kind);

struct rc_supp_rule {
	int kind;            /* enum rc_kind */
	const char *pattern; /* points into the caller's text buffer */
	int line;            /* 1-based line in the file */
};

/*
 * Parse NUL-terminated text in place (NULs are written into it; the rules'
 * patterns point into it, so it must outlive them).
 * On a bad line: returns -1 and writes "FILE:LINE: reason" into err.
 * More rules than cap: returns -1 too ("FILE:LINE: too many rules").
 * Else returns 0 and sets *n.
 */
int rc_supp_parse(char *text, const char *fname, struct rc_supp_rule *rules, size_t cap,
		  size_t *n, char *err, size_t errlen);

/*
 * LeakSanitizer semantics: a substring match unless anchored with '^' (at the
 * start of the pattern) or '$' (at its end); '*' matches any run of
 * characters, '?' exactly one. Iterative, no recursion, no allocation.
 */
bool rc_supp_match(const char *pattern, const char *s);

/* The part of a path after its last '/'. */
const char *rc_supp_basename(const char *path);

/*
 * The first rule (index) matching a leak of the given kind whose candidate
 * strings are strs[0..nstrs) (NULL entries skipped), or -1. The caller
 * supplies the candidates: each frame's function, module basename, source
 * file (full and basename) and, for an fd, its target.
 */
long rc_supp_find(const struct rc_supp_rule *rules, size_t n, int kind, const char *const *strs,
		  size_t nstrs);

#endif
