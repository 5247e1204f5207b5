/* DWARF line lookup through a lazily loaded libdwfl (see lines.h). */
#include "lines.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <elfutils/libdwfl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "arena.h"
#include "rc.h"
#include "strbuf.h"
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
  __typeof__(dwfl_module_build_id) *build_id;
  Dwfl_Callbacks callbacks;
  char *debuginfo_path;
};

static struct rc_dw dw;
static int dw_state; /* 0 untried, 1 loaded, -1 unavailable */

/* Whether a file exists at dir/sub/name (each part optional). */
static bool exists3(const char *dir, const char *sub, const char *name)
{
  char path[PATH_MAX];
  struct rc_strbuf b;
  rc_sb_init(&b, path, sizeof path);
  if (dir) {
    rc_sb_puts(&b, dir);
    rc_sb_putc(&b, '/');
  }
  if (sub) {
    rc_sb_puts(&b, sub);
    rc_sb_putc(&b, '/');
  }
  rc_sb_puts(&b, name);
  struct stat st;
  return !b.failed && stat(rc_sb_cstr(&b), &st) == 0;
}

/* Whether the name search of dwfl_standard_find_debuginfo could open
 * anything for `file` without a .gnu_debuglink, with the default debuginfo
 * path ":.debug:/usr/lib/debug": FILE.debug beside it, .debug/FILE.debug
 * and .debug/FILE below it, and under /usr/lib/debug each tail of its
 * directory (elfutils libdwfl/find-debuginfo.c).  A superset is fine. */
static bool may_find_by_name(const char *file)
{
  char dir[PATH_MAX], dbg[NAME_MAX + 8];
  const char *slash = strrchr(file, '/');
  const char *base = slash ? slash + 1 : file;
  size_t dlen = slash ? (size_t)(slash - file) : 0;
  if (dlen >= sizeof dir || strlen(base) > NAME_MAX)
    return true;
  memcpy(dir, file, dlen);
  dir[dlen] = '\0';
  const char *d = slash ? dir : NULL;
  struct rc_strbuf b;
  rc_sb_init(&b, dbg, sizeof dbg);
  rc_sb_puts(&b, base);
  rc_sb_puts(&b, ".debug");
  rc_sb_cstr(&b);
  if (exists3(d, NULL, dbg) || exists3(d, ".debug", dbg) || exists3(d, ".debug", base))
    return true;
  if (d == NULL || d[0] != '/')
    return false;
  for (const char *sub = d;;) {
    sub = strchr(sub, '/');
    if (sub != NULL && *++sub == '\0')
      return false;
    if (exists3("/usr/lib/debug", sub, dbg) || exists3("/usr/lib/debug", sub, base))
      return true;
    if (sub == NULL)
      return false;
  }
}

/* dwfl_standard_find_debuginfo, except when it is certain to find nothing.
 * Having found nothing on disk it asks debuginfod, and libdw 0.188 then
 * loads libdebuginfod with libcurl, GnuTLS, Kerberos, LDAP... (~25
 * libraries, ~7 MB and tens of ms at every report of a program built
 * without -g) even when DEBUGINFOD_URLS is unset, in which case the client
 * answers nothing without looking anywhere (not even its cache).  So with
 * DEBUGINFOD_URLS unset or empty, no .gnu_debuglink, no build-id debug file
 * and no file the name search could open, the answer is "none" right away. */
static int find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
                          GElf_Addr base, const char *file_name, const char *debuglink_file,
                          GElf_Word debuglink_crc, char **debuginfo_file_name)
{
  const char *urls = getenv("DEBUGINFOD_URLS");
  if ((urls == NULL || urls[0] == '\0') && debuglink_file == NULL) {
    const unsigned char *bits = NULL;
    GElf_Addr vaddr;
    int n = dw.build_id(mod, &bits, &vaddr);
    bool maybe = false;
    if (n > 0) { /* /usr/lib/debug/.build-id/xx/yyyy.debug */
      char path[PATH_MAX];
      struct rc_strbuf b;
      rc_sb_init(&b, path, sizeof path);
      rc_sb_puts(&b, "/usr/lib/debug/.build-id/");
      for (int i = 0; i < n; i++) {
        rc_sb_putc(&b, "0123456789abcdef"[bits[i] >> 4]);
        rc_sb_putc(&b, "0123456789abcdef"[bits[i] & 15]);
        if (i == 0)
          rc_sb_putc(&b, '/');
      }
      rc_sb_puts(&b, ".debug");
      maybe = b.failed || exists3(NULL, NULL, rc_sb_cstr(&b));
    }
    if (!maybe && file_name != NULL) {
      maybe = may_find_by_name(file_name);
      char *canon = maybe ? NULL : realpath(file_name, NULL);
      if (canon != NULL && strcmp(canon, file_name) != 0)
        maybe = may_find_by_name(canon);
      free(canon);
    }
    if (!maybe) {
      errno = 0;
      return -1;
    }
  }
  return dw.find_debuginfo(mod, userdata, modname, base, file_name, debuglink_file,
                           debuglink_crc, debuginfo_file_name);
}

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
  RC_DW_SYM(build_id, dwfl_module_build_id)
#undef RC_DW_SYM
  dw.callbacks.find_debuginfo = find_debuginfo;
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
static struct rc_dw_module dw_mods[RC_DW_MAX_MODULES] RC_LARGE;
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
static struct rc_own_module own_mods[RC_DW_MAX_MODULES] RC_LARGE;
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
  static char buf[2 * PATH_MAX] RC_LARGE;
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
