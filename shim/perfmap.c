/* Names of JIT-compiled code from /tmp/perf-PID.map (see perfmap.h).
 *
 * The file is the one perf reads: a line per code region, "START SIZE
 * NAME" in hex, appended as code is compiled (a region reused later gets a
 * later line, so the last line covering an address wins).  V8 writes it
 * with --perf-basic-prof (Node.js), naming JavaScript functions
 * "JS:~name file:line:col" ("JS:*" when optimized; "LazyCompile:*name
 * file:line" before Node 20); the JVM's perf-map-agent, .NET
 * (DOTNET_PerfMapEnabled) and LuaJIT write it too.  Read with system calls
 * into memory mapped for the report: async-signal-safe. */
#include "perfmap.h"

#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arena.h"
#include "procfs.h"
#include "rc.h"
#include "scriptframes.h"
#include "strbuf.h"

static const char *rc_map;
static size_t rc_map_len;
static int rc_map_state; /* 0 not read, 1 read, -1 none */

static void map_path(char *buf, size_t cap)
{
  struct rc_strbuf b;
  rc_sb_init(&b, buf, cap);
  rc_sb_puts(&b, "/tmp/perf-");
  rc_sb_putu(&b, (unsigned long)rc_pid);
  rc_sb_puts(&b, ".map");
  (void)rc_sb_cstr(&b);
}

bool rc_perfmap_exists(void)
{
  char path[64];
  map_path(path, sizeof path);
  int saved = errno;
  bool ok = rc_syscall(SYS_faccessat, AT_FDCWD, path, R_OK, 0) == 0;
  errno = saved;
  return ok;
}

static bool load(void)
{
  if (rc_map_state != 0)
    return rc_map_state > 0;
  rc_map_state = -1;
  char path[64];
  map_path(path, sizeof path);
  int saved = errno;
  int fd = rc_sys_open(path, O_RDONLY, 0);
  struct stat st;
  if (fd >= 0 && fstat(fd, &st) == 0 && st.st_size > 0) {
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m != MAP_FAILED) {
      rc_map = m;
      rc_map_len = (size_t)st.st_size;
      rc_map_state = 1;
    }
  }
  rc_sys_close(fd);
  errno = saved;
  return rc_map_state > 0;
}

static const char *hex(const char *p, const char *end, uintptr_t *v)
{
  uintptr_t x = 0;
  const char *s = p;
  for (; p < end; p++) {
    char c = *p;
    unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0')
                 : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                 : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
                                        : 16u;
    if (d == 16)
      break;
    x = x << 4 | d;
  }
  *v = x;
  return p > s ? p : NULL;
}

static char *arena_copy(const char *s, size_t n)
{
  char buf[1024];
  if (n >= sizeof buf)
    n = sizeof buf - 1;
  memcpy(buf, s, n);
  buf[n] = '\0';
  return rc_arena_strdup(buf);
}

static const char *last_colon(const char *s, const char *end)
{
  const char *c = NULL;
  for (; s < end; s++)
    if (*s == ':')
      c = s;
  return c;
}

static bool digits(const char *s, const char *end)
{
  if (s >= end)
    return false;
  for (; s < end; s++)
    if (*s < '0' || *s > '9')
      return false;
  return true;
}

/* "JS:~name file:line:col" -> function, file, line; other names as they are. */
static void fill(struct rc_frame *f, const char *name, size_t n)
{
  static const char *const js[] = {"JS:~", "JS:*", "JS:^", "JS:", "LazyCompile:~",
                                   "LazyCompile:*", "LazyCompile:", "Function:~",
                                   "Function:*", "Script:~", "Script:*"};
  size_t skip = 0;
  for (size_t i = 0; i < RC_ARRAY_SIZE(js) && skip == 0; i++) {
    size_t k = strlen(js[i]);
    if (n >= k && memcmp(name, js[i], k) == 0)
      skip = k;
  }
  if (skip == 0) {
    f->function = arena_copy(name, n);
    return;
  }
  const char *s = name + skip, *end = name + n;
  const char *sp = memchr(s, ' ', (size_t)(end - s));
  const char *fn_end = sp ? sp : end;
  f->function = fn_end > s ? arena_copy(s, (size_t)(fn_end - s)) : "(anonymous)";
  f->lang = RC_LANG_JS;
  if (sp == NULL)
    return;
  /* "file:line:col" (Node 20) or "file:line"; the file may hold colons */
  const char *loc = sp + 1;
  const char *c2 = last_colon(loc, end);
  if (c2 == NULL || !digits(c2 + 1, end))
    return;
  const char *c1 = last_colon(loc, c2);
  const char *file_end = c2, *line_at = c2 + 1;
  if (c1 != NULL && digits(c1 + 1, c2)) {
    file_end = c1;
    line_at = c1 + 1;
  }
  long line = 0;
  for (const char *q = line_at; q < end && *q >= '0' && *q <= '9'; q++)
    line = line * 10 + (*q - '0');
  if (file_end > loc && line > 0) {
    f->file = arena_copy(loc, (size_t)(file_end - loc));
    f->line = (int)line;
  }
}

bool rc_perfmap_frame(struct rc_frame *f)
{
  if (!load())
    return false;
  const char *p = rc_map, *end = rc_map + rc_map_len;
  const char *best = NULL;
  size_t best_len = 0;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *le = nl ? nl : end;
    uintptr_t start, size;
    const char *q = hex(p, le, &start);
    if (q != NULL && q < le && *q == ' ') {
      q = hex(q + 1, le, &size);
      if (q != NULL && q < le && *q == ' ' && f->pc >= start && f->pc - start < size) {
        best = q + 1;
        best_len = (size_t)(le - best);
      }
    }
    p = le + 1;
  }
  if (best == NULL)
    return false;
  fill(f, best, best_len);
  return true;
}
