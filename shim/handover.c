/* Records across exec (see handover.h). */
#include "handover.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "arena.h"
#include "fdtable.h"
#include "leaks.h"
#include "procfs.h"
#include "rc.h"
#include "real.h"
#include "stacks.h"

#define RC_HANDOVER_ENV "RCLEAK_HANDOVER"
#define RC_HANDOVER_MAX_STACKS 65536

/* ---- writing (old image) ---- */

/* Whether this handover has read /proc/self/maps yet: only a record with a
 * stack of this image needs symbols, and most execs hand nothing over. */
static bool rc_sym_ready;

/* A field of a frame line: "-" for none; a tab or newline in it (a path
 * may hold one) would split the line, so it becomes a space. */
static void put_field(struct rc_strbuf *o, const char *v)
{
  if (v == NULL || *v == '\0') {
    rc_sb_putc(o, '-');
    return;
  }
  for (; *v; v++)
    rc_sb_putc(o, *v == '\t' || *v == '\n' ? ' ' : *v);
}

void rc_handover_put_stack(struct rc_strbuf *o, uint32_t stack_id, uint32_t flags)
{
  struct rc_leak lk = {.stack_id = stack_id,
                       .flags = (flags & RC_FDF_FOREIGN_STACK) ? RC_LEAK_FOREIGN_STACK : 0};
  uint32_t n = 0;
  const struct rc_frame *fr = NULL;
  if (lk.flags & RC_LEAK_FOREIGN_STACK) {
    fr = rc_handover_frames(stack_id, &n);
  } else {
    const struct rc_stack *st = rc_stack_get(stack_id);
    if (st != NULL && !rc_sym_ready) {
      rc_sym_begin();
      rc_sym_ready = true;
    }
    if (st != NULL) {
      struct rc_frame *f = rc_arena_alloc(st->depth * sizeof *f);
      if (f != NULL) {
        n = rc_stack_frames(st, f);
        fr = f;
      }
    }
  }
  rc_sb_putu(o, n);
  rc_sb_putc(o, '\n');
  for (uint32_t i = 0; i < n; i++) {
    rc_sb_puthex(o, fr[i].pc);
    rc_sb_putc(o, '\t');
    rc_sb_puthex(o, fr[i].offset);
    rc_sb_putc(o, '\t');
    rc_sb_puts(o, fr[i].build_id ? fr[i].build_id : "-");
    rc_sb_putc(o, '\t');
    put_field(o, fr[i].function);
    rc_sb_putc(o, '\t');
    /* a native frame's file:line is looked up by the new image, as its
     * own frames' are; a script frame's comes only from here */
    put_field(o, fr[i].lang ? fr[i].file : NULL);
    rc_sb_putc(o, '\t');
    rc_sb_puti(o, fr[i].lang ? fr[i].line : 0);
    rc_sb_putc(o, '\t');
    rc_sb_putu(o, fr[i].lang);
    rc_sb_putc(o, '\t');
    put_field(o, fr[i].module);
    rc_sb_putc(o, '\n');
  }
}

struct fd_walk {
  struct rc_strbuf *o;
  int count;
};

/* The arguments of the exec a handover is being written for (the exec
 * wrappers' thread; set and cleared around write_memfd). */
static char *const *rc_exec_argv;

/* The number N that arg names as "/dev/fd/N" or "/proc/self/fd/N", whole or
 * after a '=' ("--input=/dev/fd/3"); -1 if none. */
static int named_fd(const char *arg)
{
  static const char *const dirs[] = {"/dev/fd/", "/proc/self/fd/"};
  const char *eq = strrchr(arg, '=');
  const char *p = eq ? eq + 1 : arg;
  for (size_t i = 0; i < RC_ARRAY_SIZE(dirs); i++) {
    size_t k = strlen(dirs[i]);
    if (strncmp(p, dirs[i], k) != 0 || p[k] < '0' || p[k] > '9')
      continue;
    long n = 0;
    for (p += k; *p >= '0' && *p <= '9' && n < INT_MAX / 10; p++)
      n = n * 10 + (*p - '0');
    return *p == '\0' ? (int)n : -1;
  }
  return -1;
}

bool rc_handover_fd_is_argument(int fd)
{
  for (char *const *a = rc_exec_argv; a && *a; a++)
    if (named_fd(*a) == fd)
      return true;
  return false;
}

int rc_handover_argument_pipes(uint32_t *seq, int max)
{
  int n = 0;
  for (char *const *a = rc_exec_argv; a && *a && n < max; a++) {
    int fd = named_fd(*a);
    struct rc_fd_entry e;
    struct stat st;
    if (fd < 0 || !rc_fd_lookup(fd, &e) || e.state != RC_FD_LIVE || e.owner != rc_pid ||
        e.seq == 0 || rc_syscall(SYS_fstat, fd, &st) != 0 ||
        !(S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)))
      continue;
    seq[n++] = e.seq;
  }
  return n;
}


static void put_fd(int fd, void *arg)
{
  struct fd_walk *w = arg;
  struct rc_fd_entry e;
  if (!rc_fd_lookup(fd, &e) || e.state != RC_FD_LIVE || e.owner != rc_pid)
    return;
  long fl = rc_syscall(SYS_fcntl, fd, F_GETFD);
  if (fl < 0 || (fl & FD_CLOEXEC))
    return; /* the exec closes it: released */
  /* A fork child that put a descriptor on a chosen number before its exec
   * (a shell's `cmd 4<file`, libuv's IPC channel of a Node child on fd 3)
   * hands it to the program it execs, as 0, 1 and 2 are: that program's
   * inheritance, not a leak of its own. */
  if (rc_fork_child && (e.fn == RC_FN_dup2 || e.fn == RC_FN_dup3))
    return;
  /* One the new program is given as an argument ("/dev/fd/63": a shell's
   * `cmd <(producer)` run by exec) is its input, like 0, 1 and 2. */
  if (rc_handover_fd_is_argument(fd))
    return;
  rc_sb_puts(w->o, "fd ");
  rc_sb_puti(w->o, fd);
  rc_sb_putc(w->o, ' ');
  rc_sb_puts(w->o, rc_fn_name(e.fn) ? rc_fn_name(e.fn) : "-");
  rc_sb_putc(w->o, ' ');
  rc_sb_puti(w->o, e.tid);
  rc_sb_putc(w->o, ' ');
  rc_sb_putu(w->o, e.t_ns);
  rc_sb_putc(w->o, ' ');
  rc_handover_put_stack(w->o, e.stack_id, e.flags);
  w->count++;
}

/* Families beyond descriptors register writers here (weak: absent until
 * their family is linked in). */
extern int rc_handover_write_families(struct rc_strbuf *o) __attribute__((weak));

/* The handover text; returns the number of records. */
static int write_records(struct rc_strbuf *o)
{
  rc_sb_puts(o, "RCLEAK-HANDOVER 1\n");
  struct fd_walk w = {o, 0};
  rc_proc_each_fd(put_fd, &w, rc_fd_registered);
  if (rc_handover_write_families)
    w.count += rc_handover_write_families(o);
  return w.count;
}

static int rc_pending_fd = -1;

/* Into a memfd that the exec keeps open.  The text is first built in a
 * buffer on the stack, so that the common exec, which hands nothing over,
 * costs no memfd (and reads no /proc/self/maps); a text larger than the
 * buffer is built again, straight into the memfd. */
static int write_memfd(void)
{
  char buf[8192];
  struct rc_strbuf o;
  rc_sb_init(&o, buf, sizeof buf);
  rc_sym_ready = false;
  if (write_records(&o) == 0)
    return -1;
  int memfd = (int)rc_syscall(SYS_memfd_create, "rcleak-handover", 0);
  if (memfd < 0)
    return -1;
  bool ok;
  if (!o.failed) {
    ok = rc_write_all(memfd, o.buf, o.len);
  } else {
    rc_sb_init_fd(&o, buf, sizeof buf, memfd);
    (void)write_records(&o);
    ok = rc_sb_flush(&o);
  }
  if (!ok || lseek(memfd, 0, SEEK_SET) != 0) {
    rc_sys_close(memfd);
    return -1;
  }
  return memfd;
}

char *const *rc_handover_prepare(char *const *argv, char *const *envp)
{
  /* A fork child that acquired nothing owns nothing to hand over (every
   * record it inherited is its parent's): the common fork-then-exec scans
   * nothing and writes no thread-local or stack page, each of which would be
   * a copy-on-write fault in the child. */
  if (rc_fork_child && !rc_acquired_here)
    return envp;
  int mode = rc_tls_mode;
  if (mode != RC_MODE_APP)
    return envp;
  rc_enter();
  rc_exec_argv = argv;
  int memfd = write_memfd();
  rc_exec_argv = NULL;
  if (memfd < 0) {
    rc_leave(mode);
    return envp;
  }
  size_t n = 0;
  while (envp && envp[n])
    n++;
  char **env = malloc((n + 2) * sizeof *env);
  char *var = malloc(64);
  if (env == NULL || var == NULL) {
    free(env);
    free(var);
    rc_sys_close(memfd);
    rc_leave(mode);
    return envp;
  }
  size_t k = 0;
  size_t plen = strlen(RC_HANDOVER_ENV "=");
  for (size_t i = 0; i < n; i++)
    if (strncmp(envp[i], RC_HANDOVER_ENV "=", plen) != 0)
      env[k++] = envp[i];
  struct rc_strbuf vb;
  rc_sb_init(&vb, var, 64);
  rc_sb_puts(&vb, RC_HANDOVER_ENV "=");
  rc_sb_puti(&vb, memfd);
  rc_sb_putc(&vb, ':');
  rc_sb_puti(&vb, rc_pid);
  rc_sb_cstr(&vb);
  env[k++] = var;
  env[k] = NULL;
  rc_pending_fd = memfd;
  rc_leave(mode);
  return env;
}

void rc_handover_abort(char *const *newenv, char *const *envp)
{
  if (newenv == envp)
    return;
  int saved = errno;
  rc_sys_close(rc_pending_fd);
  rc_pending_fd = -1;
  size_t n = 0;
  while (newenv[n])
    n++;
  free(newenv[n - 1]); /* our variable is always last */
  free((void *)newenv);
  errno = saved;
}

/* ---- reading (new image) ---- */

struct rc_foreign_stack {
  struct rc_frame *frames;
  uint32_t n;
  bool lines_done;
};
static struct rc_foreign_stack *rc_foreign;
static uint32_t rc_nforeign;

const struct rc_frame *rc_handover_frames(uint32_t idx, uint32_t *n)
{
  *n = 0;
  if (idx >= rc_nforeign)
    return NULL;
  *n = rc_foreign[idx].n;
  return rc_foreign[idx].frames;
}

static char *next_field(char **p, char sep)
{
  char *s = *p;
  char *e = strchr(s, sep);
  if (e) {
    *e = '\0';
    *p = e + 1;
  } else {
    *p = s + strlen(s);
  }
  return s;
}

static const char *dash_null(const char *s)
{
  return strcmp(s, "-") == 0 ? NULL : rc_arena_strdup(s);
}

/* Parse "<n>\n" and n frame lines at *p; returns the foreign stack index. */
static uint32_t parse_stack(char **p, uint32_t nframes)
{
  if (rc_foreign == NULL)
    rc_foreign = rc_arena_alloc(RC_HANDOVER_MAX_STACKS * sizeof *rc_foreign);
  if (rc_foreign == NULL || rc_nforeign >= RC_HANDOVER_MAX_STACKS)
    return 0;
  struct rc_frame *fr = rc_arena_alloc((nframes + 1) * sizeof *fr);
  uint32_t got = 0;
  for (uint32_t i = 0; i < nframes && **p; i++) {
    char *line = next_field(p, '\n');
    if (fr == NULL)
      continue;
    char *q = line;
    fr[got].pc = (uintptr_t)strtoull(next_field(&q, '\t'), NULL, 16);
    fr[got].offset = (uintptr_t)strtoull(next_field(&q, '\t'), NULL, 16);
    fr[got].build_id = dash_null(next_field(&q, '\t'));
    fr[got].function = dash_null(next_field(&q, '\t'));
    fr[got].file = dash_null(next_field(&q, '\t'));
    fr[got].line = (int)strtol(next_field(&q, '\t'), NULL, 10);
    fr[got].lang = (uint8_t)strtoul(next_field(&q, '\t'), NULL, 10);
    fr[got].module = dash_null(q);
    got++;
  }
  rc_foreign[rc_nforeign] = (struct rc_foreign_stack){fr, got, false};
  return rc_nforeign++;
}

extern void rc_handover_read_family(const char *kind, char *fields, uint32_t stack)
    __attribute__((weak));

RC_HOT void rc_handover_import(void)
{
  const char *v = getenv(RC_HANDOVER_ENV);
  if (v == NULL)
    return;
  char *end;
  long fd = strtol(v, &end, 10);
  long pid = *end == ':' ? strtol(end + 1, NULL, 10) : -1;
  unsetenv(RC_HANDOVER_ENV);
  if (pid != rc_pid || fd < 0)
    return; /* meant for another process: not ours to read or close */
  size_t cap = 64u << 20;
  char *text = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                    -1, 0);
  if (text == MAP_FAILED)
    return;
  size_t got = 0;
  for (;;) {
    ssize_t r = read((int)fd, text + got, cap - 1 - got);
    if (r <= 0)
      break;
    got += (size_t)r;
  }
  text[got] = '\0';
  rc_sys_close((int)fd);
  char *p = text;
  if (strcmp(next_field(&p, '\n'), "RCLEAK-HANDOVER 1") != 0) {
    munmap(text, cap);
    return;
  }
  while (*p) {
    /* "<kind> <fields...> <nframes>\n" then the frames */
    char *line = next_field(&p, '\n');
    char *last = strrchr(line, ' ');
    if (last == NULL)
      continue;
    *last = '\0';
    uint32_t nframes = (uint32_t)strtoul(last + 1, NULL, 10);
    uint32_t stack = parse_stack(&p, nframes);
    char *fields = line;
    char *kind = next_field(&fields, ' ');
    if (strcmp(kind, "fd") == 0) {
      char *q = fields;
      int f = (int)strtol(next_field(&q, ' '), NULL, 10);
      unsigned fn = rc_fn_from_name(next_field(&q, ' '));
      int32_t tid = (int32_t)strtol(next_field(&q, ' '), NULL, 10);
      uint64_t t = strtoull(next_field(&q, ' '), NULL, 10);
      if (rc_syscall(SYS_fcntl, f, F_GETFD) >= 0)
        rc_fd_adopt(f, fn, tid, t, stack);
    } else if (rc_handover_read_family) {
      rc_handover_read_family(kind, fields, stack);
    }
  }
  munmap(text, cap);
}
