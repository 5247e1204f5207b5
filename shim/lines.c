/* DWARF line lookup through a lazily loaded libdwfl (see lines.h). */
#include "lines.h"

#include <dlfcn.h>
#include <limits.h>
#include <elfutils/libdwfl.h>
#include <string.h>

#include "arena.h"
#include "dwarf_lines.h"

struct rc_dw {
  __typeof__(dwfl_begin) *begin;
  __typeof__(dwfl_report_elf) *report_elf;
  __typeof__(dwfl_report_end) *report_end;
  __typeof__(dwfl_module_getsrc) *getsrc;
  __typeof__(dwfl_lineinfo) *lineinfo;
  __typeof__(dwfl_line_comp_dir) *comp_dir;
  __typeof__(dwfl_module_addrname) *addrname;
  __typeof__(dwfl_standard_find_debuginfo) *find_debuginfo;
  __typeof__(dwfl_offline_section_address) *section_address;
  Dwfl_Callbacks callbacks;
  char *debuginfo_path;
};

static struct rc_dw dw;
static int dw_state; /* 0 untried, 1 loaded, -1 unavailable */

static bool dw_load(void)
{
  if (dw_state)
    return dw_state > 0;
  dw_state = -1;
  void *h = dlopen("libdw.so.1", RTLD_NOW | RTLD_LOCAL);
  if (h == NULL)
    return false;
#define RC_DW_SYM(field, name)                                                  \
  if ((dw.field = (__typeof__(dw.field))dlsym(h, #name)) == NULL)               \
    return false;
  RC_DW_SYM(begin, dwfl_begin)
  RC_DW_SYM(report_elf, dwfl_report_elf)
  RC_DW_SYM(report_end, dwfl_report_end)
  RC_DW_SYM(getsrc, dwfl_module_getsrc)
  RC_DW_SYM(lineinfo, dwfl_lineinfo)
  RC_DW_SYM(comp_dir, dwfl_line_comp_dir)
  RC_DW_SYM(addrname, dwfl_module_addrname)
  RC_DW_SYM(find_debuginfo, dwfl_standard_find_debuginfo)
  RC_DW_SYM(section_address, dwfl_offline_section_address)
#undef RC_DW_SYM
  dw.callbacks.find_debuginfo = dw.find_debuginfo;
  dw.callbacks.section_address = dw.section_address;
  dw.callbacks.debuginfo_path = &dw.debuginfo_path;
  dw_state = 1;
  return true;
}

/* One Dwfl per module, each reported at bias 0, so an ELF virtual address is
 * looked up as it is. */
struct rc_dw_module {
  const char *path;
  Dwfl_Module *mod;
};
#define RC_DW_MAX_MODULES 256
static struct rc_dw_module dw_mods[RC_DW_MAX_MODULES];
static int dw_nmods;

static Dwfl_Module *module_for(const char *path)
{
  for (int i = 0; i < dw_nmods; i++)
    if (strcmp(dw_mods[i].path, path) == 0)
      return dw_mods[i].mod;
  if (dw_nmods == RC_DW_MAX_MODULES)
    return NULL;
  Dwfl *d = dw.begin(&dw.callbacks);
  Dwfl_Module *m = d ? dw.report_elf(d, path, path, -1, 0, false) : NULL;
  if (d)
    dw.report_end(d, NULL, NULL);
  dw_mods[dw_nmods++] = (struct rc_dw_module){path, m};
  return m;
}

/* DWARF names a source file relative to the directory it was compiled in
 * ("../src/log.c"); report it absolute, with "." and ".." resolved
 * textually, so it means the same wherever the report is read. */
static const char *absolute(const char *dir, const char *file)
{
  if (file[0] == '/' || dir == NULL || dir[0] != '/')
    return rc_arena_strdup(file);
  size_t cap = strlen(dir) + strlen(file) + 2;
  char *out = rc_arena_alloc(cap);
  if (out == NULL)
    return rc_arena_strdup(file);
  size_t len = 0;
  const char *parts[2] = {dir, file};
  for (int k = 0; k < 2; k++) {
    for (const char *p = parts[k]; *p;) {
      while (*p == '/')
        p++;
      const char *e = p;
      while (*e && *e != '/')
        e++;
      size_t n = (size_t)(e - p);
      if (n == 0 || (n == 1 && p[0] == '.')) {
        /* nothing */
      } else if (n == 2 && p[0] == '.' && p[1] == '.') {
        while (len > 0 && out[len - 1] != '/')
          len--;
        if (len > 0)
          len--; /* drop the slash too */
      } else {
        out[len++] = '/';
        memcpy(out + len, p, n);
        len += n;
      }
      p = e;
    }
  }
  if (len == 0)
    out[len++] = '/';
  out[len] = '\0';
  return out;
}

/* The line tables read without libdw (dwarf_lines.h), per module path; NULL
 * where libdw has to be asked. */
struct rc_own_module {
  const char *path;
  struct rc_dwl *dwl;
};
static struct rc_own_module own_mods[RC_DW_MAX_MODULES];
static int own_nmods;

static struct rc_dwl *own_for(const struct rc_frame *f)
{
  for (int i = 0; i < own_nmods; i++)
    if (strcmp(own_mods[i].path, f->module) == 0)
      return own_mods[i].dwl;
  if (own_nmods == RC_DW_MAX_MODULES)
    return NULL;
  struct rc_dwl *d = rc_dwl_open(f->module, f->build_id);
  own_mods[own_nmods++] = (struct rc_own_module){f->module, d};
  return d;
}

/* file:line from the tables read directly: true when that settled it. */
static bool own_lines(struct rc_frame *f)
{
  struct rc_dwl *d = own_for(f);
  if (d == NULL)
    return false;
  static char buf[2 * PATH_MAX];
  const char *file = NULL, *comp_dir = NULL;
  int lineno = 0;
  int r = rc_dwl_lookup(d, f->offset, buf, sizeof buf, &file, &lineno, &comp_dir);
  if (r < 0)
    return false;
  if (r > 0 && file != NULL && lineno > 0) {
    f->file = absolute(comp_dir, file);
    f->line = lineno;
  }
  return true;
}

void rc_lines_frame(struct rc_frame *f)
{
  if (f->module == NULL || !dw_load())
    return;
  Dwfl_Module *m = module_for(f->module);
  if (m == NULL)
    return;
  Dwarf_Addr addr = f->offset;
  if (f->function == NULL) {
    /* libdw's symbol tables only: this opens no DWARF */
    const char *name = dw.addrname(m, addr);
    if (name)
      f->function = rc_arena_strdup(name);
  }
  if (own_lines(f))
    return;
  Dwfl_Line *line = dw.getsrc(m, addr);
  if (line == NULL)
    return;
  int lineno = 0;
  const char *file = dw.lineinfo(line, NULL, &lineno, NULL, NULL, NULL);
  if (file != NULL && lineno > 0) {
    f->file = absolute(dw.comp_dir(line), file);
    f->line = lineno;
  }
}
