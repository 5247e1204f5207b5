/* The per-process JSON report (docs/json-schema.md).  Async-signal-safe. */
#include <string.h>

#include "leaks.h"
#include "options.h"
#include "procfs.h"
#include "rc.h"
#include "real.h"
#include "report.h"

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
  rc_sb_putc(o, '}');
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
  rc_sb_puts(o, ", \"stack\": [");
  uint32_t n;
  const struct rc_frame *fr = rc_leak_frames(lk, &n);
  for (uint32_t i = 0; i < n; i++) {
    if (i)
      rc_sb_puts(o, ", ");
    put_frame(o, &fr[i]);
  }
  rc_sb_puts(o, "], \"cleanup\": ");
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

static void put_cmdline(struct rc_strbuf *o)
{
  static char buf[65536];
  ssize_t n = rc_read_file("/proc/self/cmdline", buf, sizeof buf);
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

bool rc_report_json(int fd, const struct rc_leakset *ls, const struct rc_exit *ex)
{
  static char buf[1 << 16];
  struct rc_strbuf o;
  rc_sb_init_fd(&o, buf, sizeof buf, fd);
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
  rc_sb_puts(&o, "],\n \"summary\": {\"total\": ");
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
