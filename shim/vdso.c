/* clock_gettime from the vDSO (see vdso.h). */
#include "vdso.h"

#include <elf.h>
#include <link.h>
#include <stdbool.h>
#include <stdint.h>

#include "dyn_tables.h"
#include "rc.h"

rc_vdso_clock_fn rc_vdso_clock_gettime;

/* s past prefix, or NULL when s does not start with it.  Not strcmp or
 * strncmp: neither is otherwise called at start-up, so each would be one
 * more lazy binding in every process. */
RC_HOT static const char *after(const char *s, const char *prefix)
{
  for (; *prefix != '\0'; s++, prefix++)
    if (*s != *prefix)
      return NULL;
  return s;
}

RC_HOT static void *lookup(const struct link_map *m, const char *name)
{
  struct rc_dyn_tables t = rc_dyn_tables_of(m);
  const ElfW(Sym) *syms = t.syms;
  const char *strs = t.strs;
  const Elf32_Word *hash = t.hash;
  if (syms == NULL || strs == NULL || hash == NULL)
    return NULL; /* no SysV hash table: no symbol count; use libc's */
  Elf32_Word nsyms = hash[1]; /* nchain: one per symbol */
  for (Elf32_Word i = 1; i < nsyms; i++) {
    const ElfW(Sym) *s = &syms[i];
    if (ELF64_ST_TYPE(s->st_info) != STT_FUNC || s->st_shndx == SHN_UNDEF) /* ELF32's is the same */
      continue;
    const char *end = after(strs + s->st_name, name);
    if (end != NULL && *end == '\0')
      return (void *)(m->l_addr + s->st_value);
  }
  return NULL;
}

RC_HOT void rc_vdso_init(void)
{
#if defined(__x86_64__)
  if (rc_vdso_clock_gettime != NULL)
    return;
  for (const struct link_map *m = _r_debug.r_map; m != NULL; m = m->l_next) {
    if (m->l_name != NULL && after(m->l_name, "linux-vdso") != NULL && m->l_ld != NULL) {
      rc_vdso_clock_gettime = (rc_vdso_clock_fn)lookup(m, "__vdso_clock_gettime");
      return;
    }
  }
#endif
}
