/* Pointers to the real libc functions behind every interposer.
 *
 * REAL(name) yields a correctly typed pointer to the next definition of `name`
 * after librcleak.so (dlsym(RTLD_NEXT)), resolved on first use.  Internal code
 * calls REAL(close)(fd), never close(fd): calling the exported name would
 * recurse into our own wrapper (tests/test_static_code.sh checks this).
 */
#ifndef RCLEAK_REAL_H
#define RCLEAK_REAL_H

#include "functions.h"

#define RC_REAL_TYPEDEF(ret, name, params) typedef ret(*rc_real_##name##_t) params;
RC_FUNCS(RC_REAL_TYPEDEF)
#undef RC_REAL_TYPEDEF

extern void *rc_real_table[RC_FN_COUNT];
void *rc_real_resolve(unsigned fn);

static inline void *rc_real_get(unsigned fn)
{
  void *p = __atomic_load_n(&rc_real_table[fn], __ATOMIC_ACQUIRE);
  return p ? p : rc_real_resolve(fn);
}

#define REAL(name) ((rc_real_##name##_t)rc_real_get(RC_FN_##name))

#endif
