/* Lazy resolution of the real functions (see real.h). */
#include "real.h"

#include <dlfcn.h>
#include <string.h>
#include <unistd.h>

#include "rc.h"

/* aligned(8), not the 32 GCC gives an array this size: the linker sorts
 * .bss by alignment (meson.build), which keeps the table on the page of the
 * other small variables every process touches. */
void *rc_real_table[RC_FN_COUNT] __attribute__((aligned(8)));

static const char *const rc_fn_names[RC_FN_COUNT] = {
  [RC_FN_NONE] = NULL,
#define RC_FN_NAME(ret, name, params) [RC_FN_##name] = #name,
  RC_FUNCS(RC_FN_NAME)
#undef RC_FN_NAME
};

const char *rc_fn_name(unsigned fn)
{
  return fn < RC_FN_COUNT ? rc_fn_names[fn] : NULL;
}

unsigned rc_fn_from_name(const char *name)
{
  for (unsigned i = 1; i < RC_FN_COUNT; i++)
    if (strcmp(rc_fn_names[i], name) == 0)
      return i;
  return RC_FN_NONE;
}

/* Races are benign: every thread resolves the same address and stores it.
 * dlsym may allocate (it does on first use in glibc); that is fine because
 * rcleak does not interpose the allocator, and a signal handler never gets
 * here: the signal path calls only functions resolved before (rc_init). */
RC_HOT void *rc_real_resolve(unsigned fn)
{
  int saved = errno;
  int mode = rc_enter();
  void *p = dlsym(RTLD_NEXT, rc_fn_names[fn]);
  rc_leave(mode);
  if (p == NULL) {
    /* Not in this libc (e.g. closefrom on an old glibc): the wrapper then
     * behaves like a missing function.  Say so once, on the raw fd 2. */
    static const char msg[] = "rcleak: cannot resolve the real ";
    (void)!write(2, msg, sizeof msg - 1);
    (void)!write(2, rc_fn_names[fn], strlen(rc_fn_names[fn]));
    (void)!write(2, "\n", 1);
    errno = ENOSYS;
    return (void *)rc_missing_function;
  }
  __atomic_store_n(&rc_real_table[fn], p, __ATOMIC_RELEASE);
  errno = saved;
  return p;
}
