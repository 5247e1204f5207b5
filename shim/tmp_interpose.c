/* Interposers of mkdtemp and the mkstemp family.  glibc's mkstemp does not
 * call the exported open (it reaches the kernel through internal calls), so
 * each entry point is wrapped: the descriptor is recorded in the fd family,
 * and the path left on disk as a tmpfile (a separate resource: closing the
 * fd does not remove the file). */
#include <stdlib.h>

#include "fdtable.h"
#include "rc.h"
#include "real.h"
#include "tmp_fam.h"

RC_EXPORT char *mkdtemp(char *tmpl)
{
  char *r = REAL(mkdtemp)(tmpl);
  if (r != NULL)
    rc_tmp_acquired(RC_KIND_TMPDIR, r, -1, RC_FN_mkdtemp);
  return r;
}

#define RC_MKSTEMP(X)                                                           \
  X(mkstemp, (char *tmpl), (tmpl))                                               \
  X(mkstemp64, (char *tmpl), (tmpl))                                             \
  X(mkostemp, (char *tmpl, int flags), (tmpl, flags))                            \
  X(mkostemp64, (char *tmpl, int flags), (tmpl, flags))                          \
  X(mkstemps, (char *tmpl, int suffixlen), (tmpl, suffixlen))                    \
  X(mkstemps64, (char *tmpl, int suffixlen), (tmpl, suffixlen))                  \
  X(mkostemps, (char *tmpl, int suffixlen, int flags), (tmpl, suffixlen, flags)) \
  X(mkostemps64, (char *tmpl, int suffixlen, int flags), (tmpl, suffixlen, flags))

#define RC_DEFINE_MKSTEMP(name, params, args)                                   \
  RC_EXPORT int name params                                                      \
  {                                                                              \
    int fd_ = REAL(name) args;                                                   \
    rc_fd_acquired(fd_, RC_FN_##name);                                           \
    if (fd_ >= 0)                                                                \
      rc_tmp_acquired(RC_KIND_TMPFILE, tmpl, fd_, RC_FN_##name);                 \
    return fd_;                                                                  \
  }
RC_MKSTEMP(RC_DEFINE_MKSTEMP)
#undef RC_DEFINE_MKSTEMP
