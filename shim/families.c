/* Glue between the core and the optional resource families: each hook is a
 * weak reference, so a family plugs in by defining it in its own file and the
 * core needs no edit.  Called from init.c (start-up, fork child) and
 * handover.c (exec). */
#include <string.h>

#include "handover.h"
#include "rc.h"

#define RC_FAMILY_HOOKS(X)                                                      \
  X(child) X(signal) X(timer) X(itimer) X(tmp) X(thread)

/* rc_<family>_init(): at start-up, in the constructor. */
#define RC_DECL_INIT(f) extern void rc_##f##_init(void) __attribute__((weak));
RC_FAMILY_HOOKS(RC_DECL_INIT)
/* rc_<family>_after_fork_child(): in the child of fork (pid already new). */
#define RC_DECL_FORK(f) extern void rc_##f##_after_fork_child(void) __attribute__((weak));
RC_FAMILY_HOOKS(RC_DECL_FORK)
/* rc_<family>_handover_write(o): before exec, append records; returns count. */
#define RC_DECL_HOW(f) extern int rc_##f##_handover_write(struct rc_strbuf *o) __attribute__((weak));
RC_FAMILY_HOOKS(RC_DECL_HOW)
/* rc_<family>_handover_read(kind, fields, stack): after exec, one record;
 * returns whether the kind was the family's. */
#define RC_DECL_HOR(f)                                                          \
  extern bool rc_##f##_handover_read(const char *kind, char *fields, uint32_t stack) \
      __attribute__((weak));
RC_FAMILY_HOOKS(RC_DECL_HOR)

RC_HOT void rc_families_init(void)
{
#define RC_CALL_INIT(f)                                                         \
  if (rc_##f##_init)                                                             \
    rc_##f##_init();
  RC_FAMILY_HOOKS(RC_CALL_INIT)
}

void rc_families_after_fork_child(void)
{
#define RC_CALL_FORK(f)                                                         \
  if (rc_##f##_after_fork_child)                                                 \
    rc_##f##_after_fork_child();
  RC_FAMILY_HOOKS(RC_CALL_FORK)
}

int rc_handover_write_families(struct rc_strbuf *o)
{
  int n = 0;
#define RC_CALL_HOW(f)                                                          \
  if (rc_##f##_handover_write)                                                   \
    n += rc_##f##_handover_write(o);
  RC_FAMILY_HOOKS(RC_CALL_HOW)
  return n;
}

void rc_handover_read_family(const char *kind, char *fields, uint32_t stack)
{
#define RC_CALL_HOR(f)                                                          \
  if (rc_##f##_handover_read && rc_##f##_handover_read(kind, fields, stack))     \
    return;
  RC_FAMILY_HOOKS(RC_CALL_HOR)
}
