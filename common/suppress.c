/* SPDX-License-Identifier: MIT */
/*
 * Suppression rules: parsing and glob matching.
 *
 * Async-signal-safe on purpose: the shim may call this on its signal path, so
 * nothing here allocates, uses stdio, the locale (no isspace), or any lock.
 * Error messages are formatted by hand into the caller's buffer.
 */
#include "suppress.h"

#include <string.h>

static const char *const kind_names[] = {
	"fd", "child", "timer", "itimer", "tmpdir", "tmpfile", "thread", "leak",
};

int rc_kind_from_name(const char *s, size_t len)
{
	for (size_t i = 0; i < sizeof(kind_names) / sizeof(kind_names[0]); i++)
		if (strlen(kind_names[i]) == len && memcmp(kind_names[i], s, len) == 0)
			return (int)i;
	return -1;
}

const char *rc_kind_name(int kind)
{
	if (kind < 0 || (size_t)kind >= sizeof(kind_names) / sizeof(kind_names[0]))
		return NULL;
	return kind_names[kind];
}

const char *rc_supp_basename(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

/* Locale-free: isspace() may consult the locale, which is not signal-safe. */
static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* A bounded string builder: always NUL-terminated, silently truncates. */
struct sbuf {
	char *p;
	size_t len, cap;
};

static void sb_putn(struct sbuf *b, const char *s, size_t n)
{
	if (b->cap == 0)
		return;
	for (size_t i = 0; i < n && b->len + 1 < b->cap; i++)
		b->p[b->len++] = s[i];
	b->p[b->len] = '\0';
}

static void sb_puts(struct sbuf *b, const char *s)
{
	sb_putn(b, s, strlen(s));
}

static void sb_putu(struct sbuf *b, unsigned long v)
{
	char tmp[24];
	size_t i = sizeof(tmp);
	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v && i > 0);
	sb_putn(b, tmp + i, sizeof(tmp) - i);
}

static int parse_error(char *err, size_t errlen, const char *fname, int line, const char *reason,
		       const char *quote, size_t quotelen)
{
	struct sbuf b = { err, 0, errlen };
	if (errlen)
		err[0] = '\0';
	sb_puts(&b, fname ? fname : "<suppressions>");
	sb_puts(&b, ":");
	sb_putu(&b, (unsigned long)line);
	sb_puts(&b, ": ");
	sb_puts(&b, reason);
	if (quote) {
		sb_puts(&b, " '");
		sb_putn(&b, quote, quotelen);
		sb_puts(&b, "'");
	}
	return -1;
}

static char *trim(char *s, char **end)
{
	while (is_blank(*s))
		s++;
	char *e = s + strlen(s);
	while (e > s && is_blank(e[-1]))
		*--e = '\0';
	if (end)
		*end = e;
	return s;
}

int rc_supp_parse(char *text, const char *fname, struct rc_supp_rule *rules, size_t cap,
		  size_t *n, char *err, size_t errlen)
{
	size_t count = 0;
	int lineno = 0;
	char *p = text;

	while (*p) {
		char *nl = strchr(p, '\n');
		char *next = nl ? nl + 1 : p + strlen(p);
		if (nl)
			*nl = '\0';
		lineno++;

		char *line = trim(p, NULL);
		p = next;
		if (*line == '\0' || *line == '#')
			continue;

		char *colon = strchr(line, ':');
		if (!colon)
			return parse_error(err, errlen, fname, lineno,
					   "expected KIND:PATTERN, got", line, strlen(line));
		*colon = '\0';
		char *kind_end;
		char *kind_s = trim(line, &kind_end);
		int kind = rc_kind_from_name(kind_s, (size_t)(kind_end - kind_s));
		if (kind < 0)
			return parse_error(
				err, errlen, fname, lineno,
				"unknown kind (fd, child, timer, itimer, tmpdir, tmpfile, thread, leak):",
				kind_s, (size_t)(kind_end - kind_s));
		char *pattern = trim(colon + 1, NULL);
		if (*pattern == '\0')
			return parse_error(err, errlen, fname, lineno, "empty pattern", NULL, 0);
		if (count == cap)
			return parse_error(err, errlen, fname, lineno, "too many rules", NULL, 0);
		rules[count].kind = kind;
		rules[count].pattern = pattern;
		rules[count].line = lineno;
		count++;
	}
	*n = count;
	if (errlen)
		err[0] = '\0';
	return 0;
}

/*
 * Wildcard match of pattern [p, pend) against s, with an implicit leading
 * '*' unless anchored at the start and an implicit trailing '*' unless
 * anchored at the end. Classic iterative star backtracking: O(|p|*|s|).
 */
bool rc_supp_match(const char *pattern, const char *s)
{
	if (!pattern || !s)
		return false;
	const char *p = pattern;
	const char *pend = pattern + strlen(pattern);
	bool anchored_start = false, anchored_end = false;

	if (*p == '^') {
		anchored_start = true;
		p++;
	}
	if (pend > p && pend[-1] == '$') {
		anchored_end = true;
		pend--;
	}

	const char *star_p = NULL, *star_s = NULL;
	if (!anchored_start) {
		star_p = p;
		star_s = s;
	}
	for (;;) {
		if (p == pend) {
			if (!anchored_end || *s == '\0')
				return true;
		} else if (*p == '*') {
			star_p = ++p;
			star_s = s;
			continue;
		} else if (*s != '\0' && (*p == '?' || *p == *s)) {
			p++;
			s++;
			continue;
		}
		/* Mismatch: let the last star swallow one more character. */
		if (!star_p || *star_s == '\0')
			return false;
		s = ++star_s;
		p = star_p;
	}
}

long rc_supp_find(const struct rc_supp_rule *rules, size_t n, int kind, const char *const *strs,
		  size_t nstrs)
{
	for (size_t r = 0; r < n; r++) {
		if (rules[r].kind != RC_KIND_ANY && rules[r].kind != kind)
			continue;
		for (size_t i = 0; i < nstrs; i++)
			if (strs[i] && rc_supp_match(rules[r].pattern, strs[i]))
				return (long)r;
	}
	return -1;
}
