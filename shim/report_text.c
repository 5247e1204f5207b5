/* The text report, LeakSanitizer style, for people.  Leaks from the same
 * acquisition site (same kind, same acquirer, same stack) are one entry, so a
 * leak in a loop reads as one problem.  Async-signal-safe. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "arena.h"
#include "leaks.h"
#include "options.h"
#include "rc.h"
#include "real.h"
#include "report.h"
#include "scriptframes.h"
#include "sort.h"

#define RC_GROUP_LIST_MAX 8 /* identities listed per group before "+N more" */

struct rc_text {
  struct rc_strbuf o;
  const struct rc_leakset *ls;
  char prefix[32];
};

static void line_start(struct rc_text *t)
{
  rc_sb_puts(&t->o, t->prefix);
}

static bool same_site(const struct rc_leak *a, const struct rc_leak *b)
{
  if ((a->flags | b->flags) & RC_LEAK_UNTRACKED)
    return (a->flags & b->flags & RC_LEAK_UNTRACKED) && a->kind == b->kind;
  return a->kind == b->kind && a->fn == b->fn && a->stack_id == b->stack_id && a->stack_id &&
         ((a->flags ^ b->flags) & RC_LEAK_FOREIGN_STACK) == 0;
}

/* Sort key of a leak's site: kind, then untracked, then flags, then stack,
 * then acquirer (ties keep the collection order).  Leaks of one site are
 * adjacent in this order, untracked ones of a kind together. */
static uint64_t site_key(uint32_t i, const void *arg)
{
  const struct rc_leak *lk = &((const struct rc_leak *)arg)[i];
  return (uint64_t)lk->kind << 56 | (uint64_t)(lk->flags & RC_LEAK_UNTRACKED) << 48 |
         (uint64_t)lk->flags << 40 | (uint64_t)lk->stack_id << 8 | lk->fn;
}

static const char *basename_of(const char *p)
{
  const char *s = strrchr(p, '/');
  return s ? s + 1 : p;
}

/* Names come from the program (paths, command lines, thread and function
 * names): shown with their control characters escaped. */
static void put_shown(struct rc_text *t, const char *s)
{
  rc_sb_put_shown(&t->o, s, strlen(s));
}

/* A family's description of a leak, built apart and then shown: every
 * family's describe writes names into it. */
static void put_description(struct rc_text *t, const struct rc_family *fam,
                            const struct rc_leak *lk)
{
  static char buf[2 * PATH_MAX + 512] RC_LARGE;
  struct rc_strbuf d;
  rc_sb_init(&d, buf, sizeof buf);
  fam->describe(&d, lk);
  rc_sb_put_shown(&t->o, d.buf, d.len);
}

static void put_frames(struct rc_text *t, const struct rc_leak *lk)
{
  uint32_t n;
  const struct rc_frame *fr = rc_leak_frames(lk, &n);
  /* Below a script's innermost frame, the interpreter's own C frames (its
   * evaluation loop, its main) are left to the JSON report. */
  uint32_t hidden = 0;
  bool in_script = false;
  for (uint32_t i = 0; i < n; i++) {
    const struct rc_frame *f = &fr[i];
    in_script = in_script || f->lang;
    if (in_script && !f->lang) {
      hidden++;
      continue;
    }
    line_start(t);
    rc_sb_puts(&t->o, "    #");
    rc_sb_putu(&t->o, i);
    rc_sb_putc(&t->o, ' ');
    if (f->function)
      put_shown(t, f->function);
    else
      rc_sb_puthex(&t->o, f->pc);
    if (f->file) {
      rc_sb_putc(&t->o, ' ');
      put_shown(t, f->file);
      rc_sb_putc(&t->o, ':');
      rc_sb_puti(&t->o, f->line);
    }
    if (f->module) {
      rc_sb_puts(&t->o, " (");
      put_shown(t, basename_of(f->module));
      rc_sb_putc(&t->o, '+');
      rc_sb_puthex(&t->o, f->offset);
      rc_sb_putc(&t->o, ')');
    } else if (f->lang) {
      rc_sb_puts(&t->o, " (");
      rc_sb_puts(&t->o, rc_sf_lang_name(f->lang));
      rc_sb_putc(&t->o, ')');
    }
    rc_sb_putc(&t->o, '\n');
  }
  if (hidden) {
    line_start(t);
    rc_sb_puts(&t->o, "    (");
    rc_sb_putu(&t->o, hidden);
    rc_sb_puts(&t->o, " more frames of the interpreter not shown)\n");
  }
}

static void put_cleanup(struct rc_text *t, const struct rc_leak *lk)
{
  if (lk->cleanup == RC_CLEAN_NONE)
    return;
  rc_sb_puts(&t->o, ", cleanup: ");
  rc_sb_puts(&t->o, rc_cleanup_name(lk->cleanup));
  if (lk->cleanup == RC_CLEAN_KILLED) {
    rc_sb_puts(&t->o, " with ");
    rc_sb_puts(&t->o, rc_signal_name(lk->cleanup_sig));
  } else if (lk->cleanup == RC_CLEAN_FAILED && lk->detail) {
    rc_sb_puts(&t->o, ": ");
    put_shown(t, lk->detail);
  }
}

/* "(opened with openat, 0.52 s before exit, thread 4242)" */
static void put_origin(struct rc_text *t, const struct rc_leak *lk)
{
  struct rc_strbuf *o = &t->o;
  rc_sb_puts(o, " (");
  if (lk->flags & RC_LEAK_UNTRACKED) {
    rc_sb_puts(o, "untracked: no interposed call created it");
  } else {
    rc_sb_puts(o, "acquired with ");
    rc_sb_puts(o, rc_fn_name(lk->fn) ? rc_fn_name(lk->fn) : "?");
    rc_sb_puts(o, ", ");
    rc_sb_putfixed(o, rc_leak_age_ms(t->ls, lk), 2);
    rc_sb_puts(o, " s before exit, thread ");
    rc_sb_puti(o, lk->tid);
    if (lk->flags & RC_LEAK_ACROSS_EXEC)
      rc_sb_puts(o, ", before exec");
  }
  put_cleanup(t, lk);
  rc_sb_puts(o, ")\n");
}

static void put_group(struct rc_text *t, const struct rc_family *fam, const uint32_t *ix,
                      uint32_t n)
{
  const struct rc_leak *first = &t->ls->v[ix[0]];
  line_start(t);
  rc_sb_putc(&t->o, ' ');
  if (n > 1) {
    rc_sb_putu(&t->o, n);
    rc_sb_putc(&t->o, ' ');
    rc_sb_puts(&t->o, fam->plural);
    rc_sb_puts(&t->o, (first->flags & RC_LEAK_UNTRACKED) ? " not seen by any interposer:\n"
                                                         : " leaked from the same site:\n");
    for (uint32_t i = 0; i < n && i < RC_GROUP_LIST_MAX; i++) {
      const struct rc_leak *lk = &t->ls->v[ix[i]];
      line_start(t);
      rc_sb_puts(&t->o, "  ");
      put_description(t, fam, lk);
      put_origin(t, lk);
    }
    if (n > RC_GROUP_LIST_MAX) {
      line_start(t);
      rc_sb_puts(&t->o, "  ... and ");
      rc_sb_putu(&t->o, n - RC_GROUP_LIST_MAX);
      rc_sb_puts(&t->o, " more\n");
    }
  } else {
    put_description(t, fam, first);
    put_origin(t, first);
  }
  put_frames(t, first);
  line_start(t);
  rc_sb_putc(&t->o, '\n');
}

/* A chroot or sandbox may run without /proc: the report is then partial,
 * and says so rather than look complete. */
static bool proc_mounted(void)
{
  struct stat st;
  int saved = errno;
  bool yes = rc_syscall(SYS_newfstatat, AT_FDCWD, "/proc/self/stat", &st, 0) == 0;
  errno = saved;
  return yes;
}

void rc_report_text(int fd, const struct rc_leakset *ls, const struct rc_exit *ex)
{
  static char buf[1 << 16] RC_LARGE;
  static struct rc_text t;
  t.ls = ls;
  rc_sb_init_fd(&t.o, buf, sizeof buf, fd);
  struct rc_strbuf pb;
  rc_sb_init(&pb, t.prefix, sizeof t.prefix);
  rc_sb_puts(&pb, "==");
  rc_sb_puti(&pb, rc_pid);
  rc_sb_puts(&pb, "==");
  rc_sb_cstr(&pb);

  uint32_t total = ls->n - ls->suppressed;
  uint32_t counts[RC_KIND_COUNT] = {0};
  uint32_t *ix = rc_arena_alloc((size_t)total * sizeof *ix + 16);
  uint32_t *tmp = rc_arena_alloc((size_t)total * sizeof *tmp + 16);
  if (ix == NULL || tmp == NULL)
    return;
  uint32_t m = 0;
  for (uint32_t i = 0; i < ls->n; i++) {
    if (ls->v[i].flags & RC_LEAK_SUPPRESSED)
      continue;
    counts[ls->v[i].kind]++;
    ix[m++] = i;
  }
  rc_radix_sort(ix, tmp, m, site_key, ls->v);

  unsigned kinds = 0, only = 0;
  for (unsigned k = 0; k < RC_KIND_COUNT; k++)
    if (counts[k]) {
      kinds++;
      only = k;
    }
  line_start(&t);
  rc_sb_puts(&t.o, "ERROR: rcleak: ");
  rc_sb_putu(&t.o, total);
  if (kinds == 1) {
    rc_sb_puts(&t.o, " leaked ");
    rc_sb_puts(&t.o, total == 1 ? rc_family_of(only)->noun : rc_family_of(only)->plural);
  } else {
    rc_sb_puts(&t.o, " leaked resources");
  }
  if (ex->by_signal) {
    rc_sb_puts(&t.o, " (process ended by ");
    rc_sb_puts(&t.o, rc_signal_name(ex->status));
    rc_sb_putc(&t.o, ')');
  }
  rc_sb_putc(&t.o, '\n');
  if (!proc_mounted()) {
    line_start(&t);
    rc_sb_puts(&t.o, " /proc is not mounted: descriptors' targets, child processes and "
                     "function names could not be read; what follows is what the wrappers "
                     "recorded\n");
  }
  line_start(&t);
  rc_sb_putc(&t.o, '\n');

  for (uint32_t i = 0; i < m;) {
    uint32_t j = i + 1;
    while (j < m && same_site(&ls->v[ix[i]], &ls->v[ix[j]]))
      j++;
    const struct rc_family *fam = rc_family_of(ls->v[ix[i]].kind);
    if (fam != NULL)
      put_group(&t, fam, ix + i, j - i);
    i = j;
  }

  uint32_t cleaned = 0;
  for (uint32_t i = 0; i < m; i++) {
    unsigned c = ls->v[ix[i]].cleanup;
    if (c != RC_CLEAN_NONE && c != RC_CLEAN_FAILED)
      cleaned++;
  }
  rc_sb_puts(&t.o, "SUMMARY: rcleak: ");
  rc_sb_putu(&t.o, total);
  rc_sb_puts(&t.o, total == 1 ? " leak (" : " leaks (");
  bool first = true;
  for (unsigned k = 0; k < RC_KIND_COUNT; k++) {
    if (!counts[k])
      continue;
    if (!first)
      rc_sb_puts(&t.o, ", ");
    first = false;
    rc_sb_putu(&t.o, counts[k]);
    rc_sb_putc(&t.o, ' ');
    rc_sb_puts(&t.o, rc_kind_name(k));
  }
  rc_sb_puts(&t.o, ") in pid ");
  rc_sb_puti(&t.o, rc_pid);
  if (cleaned) {
    rc_sb_puts(&t.o, "; ");
    rc_sb_putu(&t.o, cleaned);
    rc_sb_puts(&t.o, " cleaned");
  }
  if (ls->suppressed) {
    rc_sb_puts(&t.o, "; ");
    rc_sb_putu(&t.o, ls->suppressed);
    rc_sb_puts(&t.o, " suppressed");
  }
  rc_sb_putc(&t.o, '\n');
  rc_sb_flush(&t.o);
}
