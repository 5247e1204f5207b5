/* Async-signal-safe text building (see strbuf.h). */
#include "strbuf.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "utf8.h"

/* A descriptor in non-blocking mode (Node puts its stdio pipes there, and
 * the mode belongs to the open file, so the whole pipeline shares it)
 * refuses a write the pipe has no room for: wait until it has, as a
 * blocking write would, but for at most RC_WRITE_STALL_MS without any
 * progress, so a reader that stopped reading cannot hold the exit for
 * ever. */
#define RC_WRITE_STALL_MS 10000

bool rc_write_all(int fd, const char *p, size_t n)
{
  int stalled_ms = 0;
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      if ((errno == EAGAIN || errno == EWOULDBLOCK) && stalled_ms < RC_WRITE_STALL_MS) {
        struct pollfd pf = {.fd = fd, .events = POLLOUT};
        int r = poll(&pf, 1, 100);
        if (r == 0)
          stalled_ms += 100;
        else if (r < 0 && errno != EINTR)
          return false;
        continue;
      }
      return false;
    }
    stalled_ms = 0;
    p += w;
    n -= (size_t)w;
  }
  return true;
}

void rc_sb_init(struct rc_strbuf *b, char *buf, size_t cap)
{
  b->buf = buf;
  b->cap = cap;
  b->len = 0;
  b->fd = -1;
  b->failed = false;
  if (cap)
    buf[0] = '\0';
}

void rc_sb_init_fd(struct rc_strbuf *b, char *buf, size_t cap, int fd)
{
  rc_sb_init(b, buf, cap);
  b->fd = fd;
}

bool rc_sb_flush(struct rc_strbuf *b)
{
  if (b->fd >= 0 && b->len > 0) {
    if (!rc_write_all(b->fd, b->buf, b->len))
      b->failed = true;
    b->len = 0;
  }
  return !b->failed;
}

void rc_sb_putn_slow(struct rc_strbuf *b, const char *s, size_t n)
{
  while (n > 0) {
    size_t room = b->cap - b->len;
    if (room == 0) {
      if (b->fd < 0) {
        b->failed = true;
        return;
      }
      rc_sb_flush(b);
      room = b->cap;
    }
    size_t k = n < room ? n : room;
    memcpy(b->buf + b->len, s, k);
    b->len += k;
    s += k;
    n -= k;
  }
}


void rc_sb_putu(struct rc_strbuf *b, unsigned long long v)
{
  char tmp[24];
  int i = (int)sizeof tmp;
  do {
    tmp[--i] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  rc_sb_putn(b, tmp + i, sizeof tmp - (size_t)i);
}

void rc_sb_puti(struct rc_strbuf *b, long long v)
{
  if (v < 0) {
    rc_sb_putc(b, '-');
    rc_sb_putu(b, 0ull - (unsigned long long)v);
  } else {
    rc_sb_putu(b, (unsigned long long)v);
  }
}

void rc_sb_puthex(struct rc_strbuf *b, unsigned long long v)
{
  char tmp[18];
  int i = (int)sizeof tmp;
  do {
    tmp[--i] = "0123456789abcdef"[v & 15];
    v >>= 4;
  } while (v);
  tmp[--i] = 'x';
  tmp[--i] = '0';
  rc_sb_putn(b, tmp + i, sizeof tmp - (size_t)i);
}

void rc_sb_putfixed(struct rc_strbuf *b, unsigned long long milli, int decimals)
{
  rc_sb_putu(b, milli / 1000);
  if (decimals <= 0)
    return;
  rc_sb_putc(b, '.');
  unsigned long long frac = milli % 1000;
  char d[3] = {(char)('0' + frac / 100), (char)('0' + frac / 10 % 10), (char)('0' + frac % 10)};
  rc_sb_putn(b, d, decimals > 3 ? 3 : (size_t)decimals);
}

static void put_piece(void *b, const char *s, size_t n)
{
  rc_sb_putn(b, s, n);
}

void rc_sb_put_shown(struct rc_strbuf *b, const char *s, size_t n)
{
  rc_put_shown(s, n, put_piece, b);
}

void rc_sb_put_json_str(struct rc_strbuf *b, const char *s)
{
  if (s == NULL) {
    rc_sb_puts(b, "null");
    return;
  }
  rc_sb_putc(b, '"');
  const unsigned char *p = (const unsigned char *)s;
  const unsigned char *run = p;
  for (; *p; p++) {
    unsigned char c = *p;
    if (c >= 0x80) {
      bool ok;
      size_t n = rc_utf8_next(p, &ok);
      if (!ok) { /* not UTF-8 (common/utf8.h) */
        rc_sb_putn(b, (const char *)run, (size_t)(p - run));
        run = p + n;
        rc_sb_puts(b, "\\ufffd");
      }
      p += n - 1;
      continue;
    }
    if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f)
      continue;
    rc_sb_putn(b, (const char *)run, (size_t)(p - run));
    run = p + 1;
    switch (c) {
    case '"': rc_sb_puts(b, "\\\""); break;
    case '\\': rc_sb_puts(b, "\\\\"); break;
    case '\n': rc_sb_puts(b, "\\n"); break;
    case '\t': rc_sb_puts(b, "\\t"); break;
    case '\r': rc_sb_puts(b, "\\r"); break;
    default: {
      char u[6] = {'\\', 'u', '0', '0', "0123456789abcdef"[c >> 4], "0123456789abcdef"[c & 15]};
      rc_sb_putn(b, u, 6);
    }
    }
  }
  rc_sb_putn(b, (const char *)run, (size_t)(p - run));
  rc_sb_putc(b, '"');
}

const char *rc_sb_cstr(struct rc_strbuf *b)
{
  if (b->cap == 0)
    return "";
  if (b->len >= b->cap) {
    b->len = b->cap - 1;
    b->failed = true;
  }
  b->buf[b->len] = '\0';
  return b->buf;
}
