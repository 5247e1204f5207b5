/* Small helpers shared by the timer, itimer, tmp and thread families. */
#ifndef RCLEAK_FAM_UTIL_H
#define RCLEAK_FAM_UTIL_H

#include <stdlib.h>
#include <string.h>

#include "fdtable.h"
#include "functions.h"
#include "handover.h"
#include "leaks.h"
#include "objtable.h"
#include "rc.h"

/* Copy what every leak carries (acquirer, thread, time, stack) from a record. */
static inline void rc_fam_fill(struct rc_leak *lk, const struct rc_obj *o)
{
  lk->fn = o->fn;
  lk->tid = o->tid;
  lk->t_ns = o->t_ns;
  if (o->flags & RC_OBJF_ACROSS_EXEC)
    lk->flags |= RC_LEAK_ACROSS_EXEC;
  if (o->flags & RC_OBJF_FOREIGN_STACK)
    lk->flags |= RC_LEAK_FOREIGN_STACK;
  lk->stack_id = rc_leak_stack_id(o->stack_id, lk->flags);
}

/* Handover: " <fn> <tid> <t_ns> " then the stack, after the family's own fields. */
static inline void rc_fam_put_common(struct rc_strbuf *b, const struct rc_obj *o)
{
  const char *fn = rc_fn_name(o->fn);
  rc_sb_putc(b, ' ');
  rc_sb_puts(b, fn ? fn : "-");
  rc_sb_putc(b, ' ');
  rc_sb_puti(b, o->tid);
  rc_sb_putc(b, ' ');
  rc_sb_putu(b, o->t_ns);
  rc_sb_putc(b, ' ');
  rc_handover_put_stack(b, o->stack_id,
                        (o->flags & RC_OBJF_FOREIGN_STACK) ? RC_FDF_FOREIGN_STACK : 0);
}

/* Next space-separated field of a handover line (in place). */
static inline char *rc_fam_field(char **p)
{
  char *s = *p;
  char *e = strchr(s, ' ');
  if (e) {
    *e = '\0';
    *p = e + 1;
  } else {
    *p = s + strlen(s);
  }
  return s;
}

/* A record adopted across exec: "<fn> <tid> <t_ns>" at *p (the family's own
 * fields come first) go into o, just filled with the old image's stack.
 * Returns o (NULL for NULL), not yet published. */
static inline struct rc_obj *rc_fam_adopted(struct rc_obj *o, char **p)
{
  if (o == NULL)
    return NULL;
  o->fn = (uint8_t)rc_fn_from_name(rc_fam_field(p));
  o->tid = (int32_t)strtol(rc_fam_field(p), NULL, 10);
  o->t_ns = strtoull(rc_fam_field(p), NULL, 10);
  o->flags |= RC_OBJF_ACROSS_EXEC | RC_OBJF_FOREIGN_STACK;
  return o;
}

/* "I/O error"-style reasons for cleanup failures (static strings). */
static inline const char *rc_fam_errtext(int e)
{
  switch (e) {
  case ENOENT: return "no such file or directory";
  case EACCES: return "permission denied";
  case EPERM: return "operation not permitted";
  case ENOTDIR: return "not a directory";
  case ENOTEMPTY: return "directory not empty";
  case EROFS: return "read-only file system";
  case EBUSY: return "device or resource busy";
  case ELOOP: return "too deep";
  case EINVAL: return "invalid argument";
  case EMFILE: return "too many open files";
  default: return "I/O error";
  }
}

#endif
