/* SPDX-License-Identifier: MIT */
/* Small helpers for the rcleak tool: cleanup attributes (systemd style),
 * allocation that exits on failure, growable strings. Never used by the shim. */
#ifndef RCLEAK_REPORT_UTIL_H
#define RCLEAK_REPORT_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

void freep(void *p);     /* free(*(void **)p) */
void closep(int *fd);    /* close(*fd) if >= 0, errno preserved */
void fclosep(FILE **f);  /* fclose(*f) if non-NULL */
#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) _printf_(1, 2);
/* Whether s is UTF-8 throughout; a copy of s with one U+FFFD in place of
 * each run of bytes that is not (JSON output must be UTF-8: common/utf8.h). */
bool utf8_valid(const char *s);
char *xstrdup_utf8(const char *s);

/* Grow *arr (elements of size elem) so that index n fits; *cap tracks capacity. */
void grow(void *arr, size_t *cap, size_t n, size_t elem);

/* A growable string. */
struct strbuf {
	char *s;
	size_t len, cap;
};
void sb_add(struct strbuf *b, const char *s);
void sb_addn(struct strbuf *b, const char *s, size_t n);
void sb_addf(struct strbuf *b, const char *fmt, ...) _printf_(2, 3);
char *sb_steal(struct strbuf *b); /* never NULL */
/* s for people: control characters escaped (common/utf8.h, rc_ctl_escape),
 * so that a name cannot forge report lines or drive a terminal. */
void sb_add_shown(struct strbuf *b, const char *s);
void sb_addn_shown(struct strbuf *b, const char *s, size_t n);
/* sb_steal, with the text shown as sb_add_shown shows it. */
char *sb_steal_shown(struct strbuf *b);
/* A copy of s, shown (sb_add_shown). */
char *xstrdup_shown(const char *s);

/* Read a whole file; NULL with errno set on error. *len gets the size. */
char *read_file(const char *path, size_t *len);
/* The same for a regular file only, never through a symbolic link (EINVAL or
 * ELOOP otherwise): for the files of a report directory others can write to. */
char *read_regular_file(const char *path, size_t *len);

bool str_has_suffix(const char *s, const char *suffix);
const char *path_basename(const char *p);

/* "0x1234" -> 0x1234; false if not a hex number. */
bool parse_hex(const char *s, uint64_t *out);

/* The name of the program for error messages. */
extern const char *program_name;
void warnx(const char *fmt, ...) _printf_(1, 2);

#endif
