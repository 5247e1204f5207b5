/* Bounded reading of DWARF-encoded data (call-frame information for
 * stackwalk.c, line tables for dwarf_lines.c): a cursor that never reads
 * past its end and remembers that it tried to.  Little-endian only, as
 * every target rcleak builds for.  No allocation, no libc state:
 * async-signal-safe. */
#ifndef RCLEAK_DWARF_READ_H
#define RCLEAK_DWARF_READ_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

struct rc_dw_cur {
  const unsigned char *p, *end;
  bool bad;
};

/* An n-byte unsigned value (n <= 8). */
static inline uint64_t rc_dw_fixed(struct rc_dw_cur *c, unsigned n)
{
  if ((size_t)(c->end - c->p) < n) {
    c->bad = true;
    c->p = c->end;
    return 0;
  }
  uint64_t v = 0;
  memcpy(&v, c->p, n);
  c->p += n;
  return v;
}

static inline uint64_t rc_dw_uleb(struct rc_dw_cur *c)
{
  if (c->p < c->end && *c->p < 0x80)
    return *c->p++;
  uint64_t v = 0;
  for (unsigned shift = 0; c->p < c->end; shift += 7) {
    unsigned char b = *c->p++;
    if (shift < 64)
      v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80))
      return v;
  }
  c->bad = true;
  return 0;
}

static inline int64_t rc_dw_sleb(struct rc_dw_cur *c)
{
  uint64_t v = 0;
  unsigned shift = 0;
  while (c->p < c->end) {
    unsigned char b = *c->p++;
    if (shift < 64)
      v |= (uint64_t)(b & 0x7f) << shift;
    shift += 7;
    if (!(b & 0x80)) {
      if (shift < 64 && (b & 0x40))
        v |= ~0ull << shift;
      return (int64_t)v;
    }
  }
  c->bad = true;
  return 0;
}

#endif
