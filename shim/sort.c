/* Heapsort for the report (see sort.h). */
#include "sort.h"

#include <stdint.h>
#include <string.h>

static void swap_bytes(unsigned char *a, unsigned char *b, size_t size)
{
  unsigned char t[64];
  while (size > 0) {
    size_t k = size < sizeof t ? size : sizeof t;
    memcpy(t, a, k);
    memcpy(a, b, k);
    memcpy(b, t, k);
    a += k;
    b += k;
    size -= k;
  }
}

static void sift(unsigned char *v, size_t root, size_t n, size_t size,
                 int (*cmp)(const void *, const void *, void *), void *arg)
{
  for (;;) {
    size_t child = 2 * root + 1;
    if (child >= n)
      return;
    if (child + 1 < n && cmp(v + child * size, v + (child + 1) * size, arg) < 0)
      child++;
    if (cmp(v + root * size, v + child * size, arg) >= 0)
      return;
    swap_bytes(v + root * size, v + child * size, size);
    root = child;
  }
}

void rc_heapsort(void *base, size_t n, size_t size,
                 int (*cmp)(const void *a, const void *b, void *arg), void *arg)
{
  unsigned char *v = base;
  if (n < 2)
    return;
  size_t sorted = 1; /* input often comes nearly or wholly in order */
  while (sorted < n && cmp(v + (sorted - 1) * size, v + sorted * size, arg) <= 0)
    sorted++;
  if (sorted == n)
    return;
  for (size_t i = n / 2; i-- > 0;)
    sift(v, i, n, size, cmp, arg);
  for (size_t end = n; end-- > 1;) {
    swap_bytes(v, v + end * size, size);
    sift(v, 0, end, size, cmp, arg);
  }
}

void rc_radix_sort(uint32_t *ix, uint32_t *tmp, size_t n,
                   uint64_t (*key)(uint32_t i, const void *arg), const void *arg)
{
  if (n < 2)
    return;
  uint64_t all_or = 0, all_and = ~0ull;
  for (size_t i = 0; i < n; i++) {
    uint64_t k = key(ix[i], arg);
    all_or |= k;
    all_and &= k;
  }
  uint64_t varies = all_or ^ all_and; /* bits not the same in every key */
  uint32_t *src = ix, *dst = tmp;
  for (unsigned shift = 0; shift < 64; shift += 8) {
    if (((varies >> shift) & 0xff) == 0)
      continue;
    size_t count[257] = {0};
    for (size_t i = 0; i < n; i++)
      count[((key(src[i], arg) >> shift) & 0xff) + 1]++;
    for (unsigned b = 0; b < 256; b++)
      count[b + 1] += count[b];
    for (size_t i = 0; i < n; i++)
      dst[count[(key(src[i], arg) >> shift) & 0xff]++] = src[i];
    uint32_t *t = src;
    src = dst;
    dst = t;
  }
  if (src != ix)
    for (size_t i = 0; i < n; i++)
      ix[i] = src[i];
}
