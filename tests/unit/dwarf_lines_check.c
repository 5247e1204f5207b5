/* The shim's own DWARF line reader (shim/dwarf_lines.c) must give libdw's
 * answers (dwfl_module_getsrc + dwfl_lineinfo + dwfl_line_comp_dir), which
 * is what the reports showed before it existed: compare both at every
 * address (or every STEP-th) of the executable segments of some modules.
 *
 *   dwarf_lines_check MODULE[,STEP]...   (TAP)
 *
 * "self" is this program (compiled -g: the reader must handle it, not leave
 * it all to libdw) and "libc" the C library this program runs with (its
 * DWARF is in libc6-dbg's build-id file when that is installed). */
#include <elf.h>
#include <elfutils/libdwfl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dwarf_lines.h"
#include "elf_sections.h"

static int count, failed;

static void result(bool ok, const char *what)
{
  printf("%s %d - %s\n", ok ? "ok" : "not ok", ++count, what);
  if (!ok)
    failed = 1;
}

static bool same(const char *a, const char *b)
{
  return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

static bool libc_path(char *out, size_t cap)
{
  FILE *f = fopen("/proc/self/maps", "re");
  char line[PATH_MAX + 128];
  bool found = false;
  while (f && !found && fgets(line, sizeof line, f)) {
    char *p = strchr(line, '/');
    char *nl = strchr(line, '\n');
    if (nl)
      *nl = '\0';
    if (p && strstr(p, "/libc.so.6") && strlen(p) < cap) {
      strcpy(out, p);
      found = true;
    }
  }
  if (f)
    fclose(f);
  return found;
}

static void check_module(const char *path, unsigned step, bool must_own)
{
  static char *debuginfo_path;
  char what[PATH_MAX + 200], bid[256] = "";
  struct rc_elf e;
  if (!rc_elf_open(&e, path)) {
    snprintf(what, sizeof what, "%s: readable ELF", path);
    result(false, what);
    return;
  }
  rc_elf_build_id(&e, bid, sizeof bid);
  Dwfl_Callbacks cb = {.find_debuginfo = dwfl_standard_find_debuginfo,
                       .section_address = dwfl_offline_section_address,
                       .debuginfo_path = &debuginfo_path};
  Dwfl *d = dwfl_begin(&cb);
  Dwfl_Module *m = dwfl_report_elf(d, path, path, -1, 0, false);
  dwfl_report_end(d, NULL, NULL);
  struct rc_dwl *own = rc_dwl_open(path, bid[0] ? bid : NULL);
  if (must_own) {
    snprintf(what, sizeof what, "%s: read without libdw", path);
    result(own != NULL, what);
  }
  const Elf64_Ehdr *eh = (const Elf64_Ehdr *)e.image;
  const Elf64_Phdr *ph = (const Elf64_Phdr *)(e.image + eh->e_phoff);
  long n = 0, lines = 0, asked_libdw = 0, diff = 0;
  for (int i = 0; i < eh->e_phnum; i++) {
    if (ph[i].p_type != PT_LOAD || !(ph[i].p_flags & PF_X))
      continue;
    for (uint64_t addr = ph[i].p_vaddr; addr < ph[i].p_vaddr + ph[i].p_memsz; addr += step) {
      n++;
      const char *lf = NULL, *lc = NULL;
      int ll = 0;
      Dwfl_Line *line = m ? dwfl_module_getsrc(m, addr) : NULL;
      if (line) {
        lf = dwfl_lineinfo(line, NULL, &ll, NULL, NULL, NULL);
        lc = dwfl_line_comp_dir(line);
      }
      if (lf == NULL || ll <= 0) {
        lf = lc = NULL;
        ll = 0;
      }
      if (own == NULL) {
        asked_libdw++;
        continue;
      }
      char buf[2 * PATH_MAX];
      const char *of = NULL, *oc = NULL;
      int ol = 0;
      int r = rc_dwl_lookup(own, addr, buf, sizeof buf, &of, &ol, &oc);
      if (r < 0) {
        asked_libdw++;
        continue;
      }
      if (r == 0 || of == NULL || ol <= 0) {
        of = oc = NULL;
        ol = 0;
      }
      lines += lf != NULL;
      if (same(lf, of) && ll == ol && (lf == NULL || same(lc, oc)))
        continue;
      if (++diff <= 5)
        printf("# 0x%llx: libdw %s:%d (%s), own %s:%d (%s)\n", (unsigned long long)addr,
               lf ? lf : "-", ll, lc ? lc : "-", of ? of : "-", ol, oc ? oc : "-");
    }
  }
  snprintf(what, sizeof what,
           "%s: same file:line as libdw at %ld addresses (%ld with a line, %ld left to libdw)",
           path, n - asked_libdw, lines, asked_libdw);
  result(diff == 0 && n > 0, what);
  dwfl_end(d);
  rc_elf_close(&e);
}

int main(int argc, char **argv)
{
  for (int a = 1; a < argc; a++) {
    char path[PATH_MAX];
    unsigned step = 1;
    const char *arg = argv[a];
    const char *comma = strchr(arg, ',');
    size_t len = comma ? (size_t)(comma - arg) : strlen(arg);
    if (comma)
      step = (unsigned)atoi(comma + 1);
    if (step == 0 || len >= sizeof path)
      return 2;
    memcpy(path, arg, len);
    path[len] = '\0';
    bool must_own = false;
    if (strcmp(path, "self") == 0) {
      ssize_t k = readlink("/proc/self/exe", path, sizeof path - 1);
      if (k <= 0)
        return 2;
      path[k] = '\0';
      must_own = true;
    } else if (strcmp(path, "libc") == 0 && !libc_path(path, sizeof path)) {
      printf("ok %d # SKIP no libc.so.6 mapped\n", ++count);
      continue;
    }
    check_module(path, step, must_own);
  }
  printf("1..%d\n", count);
  return failed;
}
