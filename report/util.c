/* SPDX-License-Identifier: MIT */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "utf8.h"

const char *program_name = "rcleak";

void freep(void *p)
{
	free(*(void **)p);
}

void closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		(void)close(*fd);
		errno = saved;
	}
}

void fclosep(FILE **f)
{
	if (*f)
		(void)fclose(*f);
}

static void oom(void)
{
	fputs("rcleak: out of memory\n", stderr);
	exit(125);
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom();
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		oom();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		oom();
	return p;
}

char *xstrdup(const char *s)
{
	char *p = strdup(s ? s : "");
	if (!p)
		oom();
	return p;
}

bool utf8_valid(const char *s)
{
	bool ok = true;
	for (const unsigned char *p = (const unsigned char *)s; *p && ok;)
		p += rc_utf8_next(p, &ok);
	return ok;
}

char *xstrdup_utf8(const char *s)
{
	if (!s || utf8_valid(s))
		return xstrdup(s);
	struct strbuf b = { 0 };
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		bool ok;
		size_t n = rc_utf8_next(p, &ok);
		if (ok)
			sb_addn(&b, (const char *)p, n);
		else
			sb_add(&b, RC_UTF8_REPLACEMENT);
		p += n;
	}
	return sb_steal(&b);
}

static void add_piece(void *b, const char *s, size_t n)
{
	sb_addn(b, s, n);
}

void sb_addn_shown(struct strbuf *b, const char *s, size_t n)
{
	rc_put_shown(s, n, add_piece, b);
}

void sb_add_shown(struct strbuf *b, const char *s)
{
	sb_addn_shown(b, s, strlen(s));
}

char *xstrdup_shown(const char *s)
{
	struct strbuf b = { 0 };
	sb_add_shown(&b, s ? s : "");
	return sb_steal(&b);
}

char *sb_steal_shown(struct strbuf *b)
{
	char *raw = sb_steal(b);
	char *shown = xstrdup_shown(raw);
	free(raw);
	return shown;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	va_start(ap, fmt);
	int r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0)
		oom();
	return s;
}

void grow(void *arr, size_t *cap, size_t n, size_t elem)
{
	void **a = arr;
	if (n < *cap)
		return;
	size_t c = *cap ? *cap * 2 : 8;
	while (c <= n)
		c *= 2;
	*a = xrealloc(*a, c * elem);
	memset((char *)*a + *cap * elem, 0, (c - *cap) * elem);
	*cap = c;
}

void sb_addn(struct strbuf *b, const char *s, size_t n)
{
	grow(&b->s, &b->cap, b->len + n + 1, 1);
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void sb_add(struct strbuf *b, const char *s)
{
	sb_addn(b, s, strlen(s));
}

void sb_addf(struct strbuf *b, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	va_start(ap, fmt);
	int r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0)
		oom();
	sb_addn(b, s, (size_t)r);
	free(s);
}

char *sb_steal(struct strbuf *b)
{
	char *s = b->s ? b->s : xstrdup("");
	b->s = NULL;
	b->len = b->cap = 0;
	return s;
}

static char *read_fd(int fd, size_t *len);

char *read_file(const char *path, size_t *len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? NULL : read_fd(fd, len);
}

char *read_regular_file(const char *path, size_t *len)
{
	/* O_NONBLOCK: a FIFO swapped in after a check opens without a writer
	 * and reads as empty, rather than blocking for ever. */
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return NULL;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return NULL;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		return NULL;
	}
	return read_fd(fd, len);
}

static char *read_fd(int fd, size_t *len)
{
	struct strbuf b = { 0 };
	char chunk[65536];
	for (;;) {
		ssize_t r = read(fd, chunk, sizeof(chunk));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			int saved = errno;
			free(b.s);
			errno = saved;
			return NULL;
		}
		if (r == 0)
			break;
		sb_addn(&b, chunk, (size_t)r);
	}
	*len = b.len;
	return sb_steal(&b);
}

bool str_has_suffix(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

const char *path_basename(const char *p)
{
	const char *slash = strrchr(p, '/');
	return slash ? slash + 1 : p;
}

bool parse_hex(const char *s, uint64_t *out)
{
	if (!s)
		return false;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	if (!*s)
		return false;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 16);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

void warnx(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", program_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
