/* A bump allocator over one anonymous mapping, for the report.  mmap is a
 * plain system call (no lock, no allocator state), so this is safe on the
 * signal path; the mapping is reserved with MAP_NORESERVE and only the pages
 * actually used are committed.  Single-threaded: only the reporting thread
 * uses it (see report.c). */
#ifndef RCLEAK_ARENA_H
#define RCLEAK_ARENA_H

#include <stddef.h>

void *rc_arena_alloc(size_t size);        /* zeroed, 16-aligned; NULL when full */
char *rc_arena_strdup(const char *s);     /* NULL for NULL or when full */
char *rc_arena_strndup(const char *s, size_t n);

#endif
