/* Async-signal-safe text building: a caller-provided buffer that either
 * truncates (fd < 0) or is flushed with write(2) when full (fd >= 0).
 * No stdio, no allocation, no locale: usable from a signal handler. */
#ifndef RCLEAK_STRBUF_H
#define RCLEAK_STRBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rc_strbuf {
  char *buf;
  size_t cap;
  size_t len;
  int fd;      /* -1: fixed buffer, excess is dropped */
  bool failed; /* a write failed, or text was truncated */
};

void rc_sb_init(struct rc_strbuf *b, char *buf, size_t cap);
void rc_sb_init_fd(struct rc_strbuf *b, char *buf, size_t cap, int fd);
/* The slow path of rc_sb_putn: flush (fd mode) or truncate when full. */
void rc_sb_putn_slow(struct rc_strbuf *b, const char *s, size_t n);

/* Inline fast paths: a report of 100k leaks appends tens of millions of
 * pieces, nearly all of which fit; rc_sb_puts of a literal folds strlen. */
static inline void rc_sb_putn(struct rc_strbuf *b, const char *s, size_t n)
{
  if (n <= b->cap - b->len) {
    __builtin_memcpy(b->buf + b->len, s, n);
    b->len += n;
  } else {
    rc_sb_putn_slow(b, s, n);
  }
}
static inline void rc_sb_puts(struct rc_strbuf *b, const char *s)
{
  rc_sb_putn(b, s, __builtin_strlen(s));
}
static inline void rc_sb_putc(struct rc_strbuf *b, char c)
{
  if (b->len < b->cap)
    b->buf[b->len++] = c;
  else
    rc_sb_putn_slow(b, &c, 1);
}
void rc_sb_putu(struct rc_strbuf *b, unsigned long long v);
void rc_sb_puti(struct rc_strbuf *b, long long v);
void rc_sb_puthex(struct rc_strbuf *b, unsigned long long v); /* 0x... */
/* v/1000 with `decimals` digits after the point (for seconds from ms). */
void rc_sb_putfixed(struct rc_strbuf *b, unsigned long long milli, int decimals);
/* A JSON string literal, quotes included; NULL becomes null.  Bytes that
 * are not UTF-8 become U+FFFD (common/utf8.h). */
void rc_sb_put_json_str(struct rc_strbuf *b, const char *s);
/* s[0..n) for people: control characters escaped (common/utf8.h,
 * rc_ctl_escape), so that a name cannot forge lines or drive a terminal. */
void rc_sb_put_shown(struct rc_strbuf *b, const char *s, size_t n);
/* NUL-terminate a fixed buffer (truncating the last byte if needed). */
const char *rc_sb_cstr(struct rc_strbuf *b);
/* Write out what is buffered (fd mode); false if any write failed. */
bool rc_sb_flush(struct rc_strbuf *b);

/* write(2) all of it, retrying on EINTR and short writes. */
bool rc_write_all(int fd, const char *p, size_t n);

#endif
