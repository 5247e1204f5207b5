/* The symbol lookup through the sorted index of a large table (symbolize.c,
 * index_functions) against the scan of the whole table it replaces, on
 * libc's table: the same symbol at the start, the middle, the last byte and
 * one past the end of every function, and between them. */
#include "../../shim/symbolize.c"

#include "tap.h"

int main(void)
{
  rc_sym_begin();
  const struct rc_mapping *mp = mapping_of((uintptr_t)&fopen);
  ok(mp != NULL, "libc's mapping found");
  if (mp == NULL)
    return tap_done();
  struct rc_module *m = &mods[mp->module];
  if (!m->loaded)
    load_module(m);
  ok(m->nsyms > RC_SYM_SCAN_MAX, "libc's table is large enough to be indexed");
  index_functions(m);
  ok(m->fn_ix != NULL && m->nfn > 1000, "its functions sorted");
  if (m->fn_ix == NULL)
    return tap_done();
  size_t checked = 0, differ = 0, named = 0;
  for (size_t i = 0; i < m->nsyms; i++) {
    const Elf64_Sym *s = &m->syms[i];
    if (!is_function(m, s))
      continue;
    uint64_t probes[] = {s->st_value, s->st_value + s->st_size / 2, sym_end(s) - 1, sym_end(s),
                         s->st_value - 1};
    for (size_t k = 0; k < sizeof probes / sizeof probes[0]; k++) {
      const Elf64_Sym *a = symbol_indexed(m, probes[k]), *b = symbol_scanned(m, probes[k]);
      checked++;
      differ += a != b;
      named += a != NULL;
    }
  }
  char what[128];
  snprintf(what, sizeof what, "%zu lookups, %zu named, %zu differ from the scan", checked, named,
           differ);
  ok(differ == 0 && named > checked / 2, what);
  return tap_done();
}
