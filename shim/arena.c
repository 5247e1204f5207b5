/* Report arena (see arena.h). */
#include "arena.h"

#include <string.h>
#include <sys/mman.h>

#define RC_ARENA_SIZE (2ull << 30) /* virtual; committed as touched */

static char *rc_arena_base;
static size_t rc_arena_used;

void *rc_arena_alloc(size_t size)
{
  if (rc_arena_base == NULL) {
    void *m = mmap(NULL, RC_ARENA_SIZE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED)
      return NULL;
    rc_arena_base = m;
  }
  size = (size + 15) & ~(size_t)15;
  if (size > RC_ARENA_SIZE - rc_arena_used)
    return NULL;
  void *p = rc_arena_base + rc_arena_used;
  rc_arena_used += size;
  return p; /* fresh anonymous pages are zero */
}

char *rc_arena_strndup(const char *s, size_t n)
{
  if (s == NULL)
    return NULL;
  char *p = rc_arena_alloc(n + 1);
  if (p != NULL) {
    memcpy(p, s, n);
    p[n] = '\0';
  }
  return p;
}

char *rc_arena_strdup(const char *s)
{
  return s ? rc_arena_strndup(s, strlen(s)) : NULL;
}
