/* The symbol tables of a loaded object, from its dynamic section: for the
 * lookups rcleak makes without dlsym (vdso.c: the vDSO's clock_gettime;
 * scriptframes.c: an interpreter's exported symbols). */
#ifndef RCLEAK_DYN_TABLES_H
#define RCLEAK_DYN_TABLES_H

#include <elf.h>
#include <link.h>
#include <stdint.h>

#include "rc.h"

struct rc_dyn_tables {
  const ElfW(Sym) *syms;
  const char *strs;
  const Elf32_Word *hash;  /* DT_HASH (SysV), or NULL */
  const uint32_t *gnu_hash; /* DT_GNU_HASH, or NULL */
};

/* ld.so relocates a writable dynamic section's addresses in place; the
 * vDSO's (read-only) keeps link-time ones, relative to the load address.
 * Either way the result is an address in the image. */
RC_HOT static inline uintptr_t rc_dyn_in_image(const struct link_map *m, uintptr_t p)
{
  return p < m->l_addr ? m->l_addr + p : p;
}

RC_HOT static inline struct rc_dyn_tables rc_dyn_tables_of(const struct link_map *m)
{
  struct rc_dyn_tables t = {0};
  for (const ElfW(Dyn) *d = m->l_ld; d != NULL && d->d_tag != DT_NULL; d++) {
    if (d->d_tag == DT_SYMTAB)
      t.syms = (const ElfW(Sym) *)rc_dyn_in_image(m, d->d_un.d_ptr);
    else if (d->d_tag == DT_STRTAB)
      t.strs = (const char *)rc_dyn_in_image(m, d->d_un.d_ptr);
    else if (d->d_tag == DT_HASH)
      t.hash = (const Elf32_Word *)rc_dyn_in_image(m, d->d_un.d_ptr);
    else if (d->d_tag == DT_GNU_HASH)
      t.gnu_hash = (const uint32_t *)rc_dyn_in_image(m, d->d_un.d_ptr);
  }
  return t;
}

#endif
