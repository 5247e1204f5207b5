/* The per-process JSON report (docs/json-schema.md).  Async-signal-safe. */
#include <string.h>

#include "arena.h"
#include "child.h"
#include "leaks.h"
#include "options.h"
#include "procfs.h"
#include "rc.h"
#include "real.h"
#include "report.h"
#include "scriptframes.h"
#include "stacks.h"

static void put_frame(struct rc_strbuf *o, const struct rc_frame *f)
{
  rc_sb_puts(o, "{\"pc\": \"");
  rc_sb_puthex(o, f->pc);
  rc_sb_puts(o, "\", \"module\": ");
  rc_sb_put_json_str(o, f->module ? f->module : "");
  rc_sb_puts(o, ", \"offset\": \"");
  rc_sb_puthex(o, f->offset);
  rc_sb_putc(o, '"');
  if (f->build_id) {
    rc_sb_puts(o, ", \"build_id\": ");
    rc_sb_put_json_str(o, f->build_id);
  }
  if (f->function) {
    rc_sb_puts(o, ", \"function\": ");
    rc_sb_put_json_str(o, f->function);
  }
  if (f->file) {
    rc_sb_puts(o, ", \"file\": ");
    rc_sb_put_json_str(o, f->file);
    rc_sb_puts(o, ", \"line\": ");
    rc_sb_puti(o, f->line);
  }
  if (f->lang) {
    rc_sb_puts(o, ", \"lang\": ");
    rc_sb_put_json_str(o, rc_sf_lang_name(f->lang));
  }
  rc_sb_putc(o, '}');
}

/* "[{frame}, {frame}]", rendered from the symbolized frames. */
static void render_stack(struct rc_strbuf *o, const struct rc_leak *lk)
{
  uint32_t n;
  const struct rc_frame *fr = rc_leak_frames(lk, &n);
  rc_sb_putc(o, '[');
  for (uint32_t i = 0; i < n; i++) {
    if (i)
      rc_sb_puts(o, ", ");
    put_frame(o, &fr[i]);
  }
  rc_sb_putc(o, ']');
}

/* The rendered stack arrays, kept per distinct stack.  A leak in a loop
 * repeats the same stack in every one of its records (100k leaks from three
 * sites are 130 MB of JSON, 90% stacks): rendering each distinct stack once
 * and copying the text makes the report a memcpy.  Only stacks shared by
 * several leaks are kept, within a byte budget, so a process whose leaks all
 * have different stacks costs no more memory than before. */
struct rc_json_stack {
  const char *text; /* arena, or NULL */
  uint32_t len;
  uint32_t uses;    /* leaks of this report with this stack */
  bool tried;
};

#define RC_JSON_STACK_BUDGET (8u << 20)
#define RC_JSON_FOREIGN_SLOTS 64

static struct rc_json_stack *rc_js;      /* by stack id, [0, rc_njs) */
static uint32_t rc_njs;
static struct rc_json_stack rc_js_foreign[RC_JSON_FOREIGN_SLOTS] RC_LARGE; /* by handover index */
static uint32_t rc_js_foreign_idx[RC_JSON_FOREIGN_SLOTS];
static size_t rc_js_budget;

static void stack_cache_init(const struct rc_leakset *ls)
{
  rc_js_budget = RC_JSON_STACK_BUDGET;
  rc_njs = rc_stack_count() + 1;
  rc_js = rc_arena_alloc((size_t)rc_njs * sizeof *rc_js);
  if (rc_js == NULL) {
    rc_njs = 0;
    return;
  }
  for (uint32_t i = 0; i < ls->n; i++) {
    const struct rc_leak *lk = &ls->v[i];
    if (!(lk->flags & (RC_LEAK_SUPPRESSED | RC_LEAK_UNTRACKED | RC_LEAK_FOREIGN_STACK)) &&
        lk->stack_id < rc_njs)
      rc_js[lk->stack_id].uses++;
  }
}

static struct rc_json_stack *stack_slot(const struct rc_leak *lk)
{
  if (lk->stack_id == 0 || (lk->flags & RC_LEAK_UNTRACKED))
    return NULL;
  if (lk->flags & RC_LEAK_FOREIGN_STACK) {
    uint32_t h = lk->stack_id % RC_JSON_FOREIGN_SLOTS;
    struct rc_json_stack *s = &rc_js_foreign[h];
    if (s->tried && rc_js_foreign_idx[h] != lk->stack_id)
      return NULL; /* taken by another handed-over stack */
    rc_js_foreign_idx[h] = lk->stack_id;
    s->uses = 2;
    return s;
  }
  return lk->stack_id < rc_njs ? &rc_js[lk->stack_id] : NULL;
}

static void put_stack(struct rc_strbuf *o, const struct rc_leak *lk)
{
  struct rc_json_stack *s = stack_slot(lk);
  if (s != NULL && s->text != NULL) {
    rc_sb_putn(o, s->text, s->len);
    return;
  }
  if (s != NULL && !s->tried && s->uses > 1) {
    s->tried = true;
    static char scratch[1 << 16] RC_LARGE;
    struct rc_strbuf b;
    rc_sb_init(&b, scratch, sizeof scratch);
    render_stack(&b, lk);
    if (!b.failed) {
      char *t = b.len <= rc_js_budget ? rc_arena_alloc(b.len) : NULL;
      if (t != NULL) {
        memcpy(t, scratch, b.len);
        s->text = t;
        s->len = (uint32_t)b.len;
        rc_js_budget -= b.len;
      }
      rc_sb_putn(o, scratch, b.len);
      return;
    }
    /* longer than the scratch buffer: rendered in place every time */
  }
  render_stack(o, lk);
}

static void put_leak(struct rc_strbuf *o, const struct rc_leakset *ls, const struct rc_leak *lk)
{
  const struct rc_family *fam = rc_family_of(lk->kind);
  rc_sb_puts(o, "{\"kind\": \"");
  rc_sb_puts(o, rc_kind_name(lk->kind));
  rc_sb_puts(o, "\", ");
  if (fam && fam->json_fields) {
    fam->json_fields(o, lk);
    rc_sb_puts(o, ", ");
  }
  rc_sb_puts(o, "\"acquired_by\": ");
  rc_sb_put_json_str(o, rc_fn_name(lk->fn));
  rc_sb_puts(o, ", \"age_ms\": ");
  rc_sb_putu(o, rc_leak_age_ms(ls, lk));
  rc_sb_puts(o, ", \"tid\": ");
  if (lk->tid)
    rc_sb_puti(o, lk->tid);
  else
    rc_sb_puts(o, "null");
  rc_sb_puts(o, ", \"untracked\": ");
  rc_sb_puts(o, (lk->flags & RC_LEAK_UNTRACKED) ? "true" : "false");
  rc_sb_puts(o, ", \"across_exec\": ");
  rc_sb_puts(o, (lk->flags & RC_LEAK_ACROSS_EXEC) ? "true" : "false");
  rc_sb_puts(o, ", \"stack\": ");
  put_stack(o, lk);
  rc_sb_puts(o, ", \"cleanup\": ");
  if (lk->cleanup == RC_CLEAN_FAILED) {
    char buf[256];
    struct rc_strbuf b;
    rc_sb_init(&b, buf, sizeof buf);
    rc_sb_puts(&b, "failed: ");
    rc_sb_puts(&b, lk->detail ? lk->detail : "unknown");
    rc_sb_put_json_str(o, rc_sb_cstr(&b));
  } else {
    rc_sb_putc(o, '"');
    rc_sb_puts(o, rc_cleanup_name(lk->cleanup));
    rc_sb_putc(o, '"');
  }
  if (lk->cleanup == RC_CLEAN_KILLED) {
    rc_sb_puts(o, ", \"cleanup_signal\": \"");
    rc_sb_puts(o, rc_signal_name(lk->cleanup_sig));
    rc_sb_putc(o, '"');
  }
  rc_sb_putc(o, '}');
}

/* The arguments as /proc shows them now.  A process that set its title over
 * its arguments (PostgreSQL, nginx, sshd, Python's setproctitle) pads the
 * rest of that memory with NULs, which read as dozens of empty arguments:
 * with more arguments than it started with, the trailing empty ones are
 * that padding and are left out. */
static void put_cmdline(struct rc_strbuf *o)
{
  static char buf[65536] RC_LARGE;
  ssize_t n = rc_read_file("/proc/self/cmdline", buf, sizeof buf);
  int pieces = 0;
  for (ssize_t i = 0; i < n; i++)
    pieces += buf[i] == '\0';
  if (rc_start_argc > 0 && pieces > rc_start_argc)
    while (n > 1 && buf[n - 1] == '\0' && buf[n - 2] == '\0')
      n--;
  rc_sb_putc(o, '[');
  bool first = true;
  for (ssize_t i = 0; i < n;) {
    const char *arg = buf + i;
    size_t len = strlen(arg);
    if (!first)
      rc_sb_puts(o, ", ");
    first = false;
    rc_sb_put_json_str(o, arg);
    i += (ssize_t)len + 1;
  }
  rc_sb_putc(o, ']');
}

/* "killed_children": the children this process reaped that a signal ended
 * (child.h), only when there are any. */
static void put_killed_children(struct rc_strbuf *o)
{
  pid_t pid;
  int sig;
  bool any = false;
  for (uint32_t i = 0; rc_child_killed(i, &pid, &sig); i++) {
    if (pid <= 0)
      continue;
    rc_sb_puts(o, any ? ", " : ",\n \"killed_children\": [");
    any = true;
    rc_sb_puts(o, "{\"pid\": ");
    rc_sb_puti(o, pid);
    rc_sb_puts(o, ", \"signal\": \"");
    rc_sb_puts(o, rc_signal_name(sig));
    rc_sb_puts(o, "\"}");
  }
  if (any)
    rc_sb_putc(o, ']');
}

bool rc_report_json(int fd, const struct rc_leakset *ls, const struct rc_exit *ex)
{
  static char buf[1 << 16] RC_LARGE;
  struct rc_strbuf o;
  rc_sb_init_fd(&o, buf, sizeof buf, fd);
  stack_cache_init(ls);
  char exe[4096];
  if (rc_readlink("/proc/self/exe", exe, sizeof exe) < 0)
    exe[0] = '\0';
  rc_sb_puts(&o, "{\"rcleak\": 1, \"pid\": ");
  rc_sb_puti(&o, rc_pid);
  rc_sb_puts(&o, ", \"ppid\": ");
  rc_sb_puti(&o, rc_ppid);
  rc_sb_puts(&o, ", \"exe\": ");
  rc_sb_put_json_str(&o, exe);
  rc_sb_puts(&o, ", \"cmdline\": ");
  put_cmdline(&o);
  rc_sb_puts(&o, ",\n \"exit\": {\"reason\": ");
  if (ex->by_signal) {
    rc_sb_puts(&o, "\"signal\", \"signal\": \"");
    rc_sb_puts(&o, rc_signal_name(ex->status));
    rc_sb_putc(&o, '"');
  } else {
    rc_sb_puts(&o, "\"exit\", \"status\": ");
    rc_sb_puti(&o, ex->status);
  }
  rc_sb_puts(&o, "},\n \"leaks\": [");
  uint32_t counts[RC_KIND_COUNT] = {0};
  bool first = true;
  for (uint32_t i = 0; i < ls->n; i++) {
    const struct rc_leak *lk = &ls->v[i];
    if (lk->flags & RC_LEAK_SUPPRESSED)
      continue;
    counts[lk->kind]++;
    rc_sb_puts(&o, first ? "\n  " : ",\n  ");
    first = false;
    put_leak(&o, ls, lk);
  }
  rc_sb_putc(&o, ']');
  put_killed_children(&o);
  rc_sb_puts(&o, ",\n \"summary\": {\"total\": ");
  rc_sb_putu(&o, ls->n - ls->suppressed);
  for (unsigned k = 0; k < RC_KIND_COUNT; k++) {
    if (!counts[k])
      continue;
    rc_sb_puts(&o, ", \"");
    rc_sb_puts(&o, rc_kind_name(k));
    rc_sb_puts(&o, "\": ");
    rc_sb_putu(&o, counts[k]);
  }
  rc_sb_puts(&o, ", \"suppressed\": ");
  rc_sb_putu(&o, ls->suppressed);
  rc_sb_puts(&o, "}}\n");
  return rc_sb_flush(&o);
}
