/* clock_gettime from the vDSO (see vdso.h). */
#include "vdso.h"

#include <elf.h>
#include <link.h>
#include <stdbool.h>
#include <stdint.h>

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

/* The vDSO's dynamic section is never relocated (it is read-only): its
 * addresses are link-time ones, relative to the image's load address on
 * every current kernel.  Either way the result is an address in the image. */
RC_HOT static uintptr_t in_image(const struct link_map *m, uintptr_t p)
{
  return p < m->l_addr ? m->l_addr + p : p;
}

RC_HOT static void *lookup(const struct link_map *m, const char *name)
{
  const ElfW(Sym) *syms = NULL;
  const char *strs = NULL;
  const Elf32_Word *hash = NULL;
  for (const ElfW(Dyn) *d = m->l_ld; d->d_tag != DT_NULL; d++) {
    if (d->d_tag == DT_SYMTAB)
      syms = (const ElfW(Sym) *)in_image(m, d->d_un.d_ptr);
    else if (d->d_tag == DT_STRTAB)
      strs = (const char *)in_image(m, d->d_un.d_ptr);
    else if (d->d_tag == DT_HASH)
      hash = (const Elf32_Word *)in_image(m, d->d_un.d_ptr);
  }
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
