/* An in-place heapsort: O(n log n), no allocation, no recursion, so the
 * report can sort from a signal handler (glibc's qsort may call malloc). */
#ifndef RCLEAK_SORT_H
#define RCLEAK_SORT_H

#include <stddef.h>

void rc_heapsort(void *base, size_t n, size_t size,
                 int (*cmp)(const void *a, const void *b, void *arg), void *arg);

#endif
