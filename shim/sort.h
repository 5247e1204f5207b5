/* An in-place heapsort: O(n log n), no allocation, no recursion, so the
 * report can sort from a signal handler (glibc's qsort may call malloc). */
#ifndef RCLEAK_SORT_H
#define RCLEAK_SORT_H

#include <stddef.h>
#include <stdint.h>

void rc_heapsort(void *base, size_t n, size_t size,
                 int (*cmp)(const void *a, const void *b, void *arg), void *arg);

/* Stable sort of the indices ix[0..n) by the 64-bit key(ix[i], arg): an LSD
 * radix sort, one pass per key byte that is not the same for all of them,
 * so equal keys keep their order.  tmp has room for n indices.  O(n) per
 * pass, no allocation, no recursion. */
void rc_radix_sort(uint32_t *ix, uint32_t *tmp, size_t n,
                   uint64_t (*key)(uint32_t i, const void *arg), const void *arg);

#endif
