/* dlclose: the one way code leaves a process under a library's feet.  The
 * stack walker caches unwind rules by code address (stackwalk.c); once an
 * object is unmapped, another may be loaded at the same addresses with
 * different rules, so the cache is dropped after every real dlclose that
 * succeeded.  Rare in practice (plugins, Python extension reloads), cheap
 * (one 64 KiB clear), and it keeps a stale rule from ever steering a walk.
 * Before the real call, the walks stacks.c deferred are done while the code
 * they go through is still there. */
#include "rc.h"
#include "real.h"
#include "stacks.h"
#include "stackwalk.h"

RC_EXPORT int dlclose(void *handle)
{
  int saved = errno;
  rc_stacks_settle(); /* deferred walks may need the code about to go */
  errno = saved;
  int r = REAL(dlclose)(handle);
  if (r == 0) {
    saved = errno;
    rc_unwind_code_unmapped();
    errno = saved;
  }
  return r;
}
