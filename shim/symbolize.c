/* Module map and ELF symbol lookup (see symbolize.h). */
#include "symbolize.h"

#include <dlfcn.h>
#include <elf.h>
#include <stdlib.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arena.h"
#include "perfmap.h"
#include "procfs.h"
#include "sort.h"

/* weak: the unit test of this file links without perfmap.c */
extern bool rc_perfmap_frame(struct rc_frame *f) __attribute__((weak));

struct rc_mapping {
  uintptr_t start, end, file_off;
  int module; /* index in modules */
};

struct rc_module {
  const char *path;
  const char *build_id;
  const unsigned char *image; /* whole file mapped read-only, or NULL */
  size_t size;
  bool loaded;
  const Elf64_Phdr *phdr;
  int phnum;
  const Elf64_Sym *syms;
  size_t nsyms;
  const char *strtab;
  size_t strtab_size;
  /* Large symbol tables: the function symbols sorted by address (fn_ix,
   * symbol indices; stable, so equal addresses keep table order) and the
   * greatest end address up to each position (fn_maxend); built at the
   * module's first lookup. */
  bool fn_tried;
  uint32_t nfn;
  const uint32_t *fn_ix;
  const uint64_t *fn_maxend;
};

#define RC_MAX_MAPPINGS 8192
#define RC_MAX_MODULES 1024

static struct rc_mapping *maps;
static int nmaps;
static struct rc_module *mods;
static int nmods;

static uintptr_t parse_hex(const char **p)
{
  uintptr_t v = 0;
  for (;;) {
    char c = **p;
    int d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else
      return v;
    v = v * 16 + (uintptr_t)d;
    (*p)++;
  }
}

static int module_index(const char *path, size_t len)
{
  for (int i = nmods - 1; i >= 0; i--)
    if (strncmp(mods[i].path, path, len) == 0 && mods[i].path[len] == '\0')
      return i;
  if (nmods == RC_MAX_MODULES)
    return -1;
  mods[nmods].path = rc_arena_strndup(path, len);
  return mods[nmods].path ? nmods++ : -1;
}

void rc_sym_begin(void)
{
  if (maps == NULL) {
    maps = rc_arena_alloc(RC_MAX_MAPPINGS * sizeof *maps);
    mods = rc_arena_alloc(RC_MAX_MODULES * sizeof *mods);
  }
  nmaps = 0;
  if (maps == NULL || mods == NULL)
    return;
  /* /proc/self/maps of a large process can be big: read it in one go into
   * arena memory sized generously. */
  size_t cap = 4u << 20;
  char *text = rc_arena_alloc(cap);
  if (text == NULL || rc_read_file("/proc/self/maps", text, cap) <= 0)
    return;
  for (const char *p = text; *p && nmaps < RC_MAX_MAPPINGS;) {
    const char *line = p;
    while (*p && *p != '\n')
      p++;
    const char *eol = p;
    if (*p)
      p++;
    const char *q = line;
    uintptr_t start = parse_hex(&q);
    if (*q++ != '-')
      continue;
    uintptr_t end = parse_hex(&q);
    if (*q++ != ' ')
      continue;
    bool exec = q[2] == 'x';
    q += 5;
    uintptr_t off = parse_hex(&q);
    /* skip " dev inode " to the path */
    int fields = 0;
    while (q < eol && fields < 2) {
      while (q < eol && *q == ' ')
        q++;
      while (q < eol && *q != ' ')
        q++;
      fields++;
    }
    while (q < eol && *q == ' ')
      q++;
    if (!exec || q >= eol || *q != '/')
      continue;
    size_t plen = (size_t)(eol - q);
    if (plen > 10 && memcmp(eol - 10, " (deleted)", 10) == 0)
      plen -= 10;
    int m = module_index(q, plen);
    if (m < 0)
      continue;
    maps[nmaps++] = (struct rc_mapping){start, end, off, m};
  }
}

static const char *hex_of(const unsigned char *p, size_t n)
{
  char *s = rc_arena_alloc(n * 2 + 1);
  if (s == NULL)
    return NULL;
  for (size_t i = 0; i < n; i++) {
    s[2 * i] = "0123456789abcdef"[p[i] >> 4];
    s[2 * i + 1] = "0123456789abcdef"[p[i] & 15];
  }
  return s;
}

static bool in_image(const struct rc_module *m, uint64_t off, uint64_t len)
{
  return off <= m->size && len <= m->size - off;
}

static void find_build_id(struct rc_module *m, const Elf64_Ehdr *eh)
{
  for (int i = 0; i < m->phnum; i++) {
    const Elf64_Phdr *ph = &m->phdr[i];
    if (ph->p_type != PT_NOTE || !in_image(m, ph->p_offset, ph->p_filesz))
      continue;
    const unsigned char *p = m->image + ph->p_offset, *end = p + ph->p_filesz;
    while (p + sizeof(Elf64_Nhdr) <= end) {
      const Elf64_Nhdr *nh = (const Elf64_Nhdr *)p;
      const unsigned char *name = p + sizeof *nh;
      const unsigned char *desc = name + ((nh->n_namesz + 3) & ~3u);
      if (desc + nh->n_descsz > end)
        break;
      if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 && memcmp(name, "GNU", 4) == 0) {
        m->build_id = hex_of(desc, nh->n_descsz);
        return;
      }
      p = desc + ((nh->n_descsz + 3) & ~3u);
    }
  }
  (void)eh;
}

static void find_symbols(struct rc_module *m, const Elf64_Ehdr *eh)
{
  if (eh->e_shoff == 0 || eh->e_shentsize != sizeof(Elf64_Shdr) ||
      !in_image(m, eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr)))
    return;
  const Elf64_Shdr *sh = (const Elf64_Shdr *)(m->image + eh->e_shoff);
  const Elf64_Shdr *best = NULL;
  for (int i = 0; i < eh->e_shnum; i++) {
    /* .symtab (static functions too) wins over .dynsym, whatever the order */
    if (sh[i].sh_type == SHT_SYMTAB || (sh[i].sh_type == SHT_DYNSYM && best == NULL))
      best = &sh[i];
  }
  if (best == NULL || best->sh_link >= eh->e_shnum || best->sh_entsize != sizeof(Elf64_Sym))
    return;
  const Elf64_Shdr *str = &sh[best->sh_link];
  if (!in_image(m, best->sh_offset, best->sh_size) || !in_image(m, str->sh_offset, str->sh_size))
    return;
  m->syms = (const Elf64_Sym *)(m->image + best->sh_offset);
  m->nsyms = best->sh_size / sizeof(Elf64_Sym);
  m->strtab = (const char *)(m->image + str->sh_offset);
  m->strtab_size = str->sh_size;
}

static void load_module(struct rc_module *m)
{
  m->loaded = true;
  int fd = rc_sys_open(m->path, O_RDONLY, 0);
  if (fd < 0)
    return;
  struct stat st;
  if (fstat(fd, &st) == 0 && st.st_size >= (off_t)sizeof(Elf64_Ehdr)) {
    void *img = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (img != MAP_FAILED) {
      m->image = img;
      m->size = (size_t)st.st_size;
    }
  }
  rc_sys_close(fd);
  if (m->image == NULL)
    return;
  const Elf64_Ehdr *eh = (const Elf64_Ehdr *)m->image;
  if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
      eh->e_phentsize != sizeof(Elf64_Phdr) ||
      !in_image(m, eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr))) {
    munmap((void *)m->image, m->size);
    m->image = NULL;
    return;
  }
  m->phdr = (const Elf64_Phdr *)(m->image + eh->e_phoff);
  m->phnum = eh->e_phnum;
  find_build_id(m, eh);
  find_symbols(m, eh);
}

static const struct rc_mapping *mapping_of(uintptr_t pc)
{
  for (int i = 0; i < nmaps; i++)
    if (pc >= maps[i].start && pc < maps[i].end)
      return &maps[i];
  return NULL;
}

/* File offset -> ELF virtual address, through the PT_LOAD that holds it. */
static bool vaddr_of(const struct rc_module *m, uintptr_t file_off, uintptr_t *out)
{
  for (int i = 0; i < m->phnum; i++) {
    const Elf64_Phdr *ph = &m->phdr[i];
    if (ph->p_type == PT_LOAD && file_off >= ph->p_offset &&
        file_off < ph->p_offset + ph->p_filesz) {
      *out = file_off - ph->p_offset + ph->p_vaddr;
      return true;
    }
  }
  return false;
}

static bool is_function(const struct rc_module *m, const Elf64_Sym *s)
{
  return (ELF64_ST_TYPE(s->st_info) == STT_FUNC || ELF64_ST_TYPE(s->st_info) == STT_GNU_IFUNC) &&
         s->st_shndx != SHN_UNDEF && s->st_name < m->strtab_size;
}

static uint64_t sym_end(const Elf64_Sym *s)
{
  return s->st_value + (s->st_size ? s->st_size : 1);
}

/* The rule both lookups follow: of the function symbols that contain
 * vaddr, the first global one in table order (the public name among
 * aliases), else the last one. */
struct rc_sym_pick {
  const Elf64_Sym *global, *any;
  size_t global_i, any_i;
};

static void pick(struct rc_sym_pick *p, const Elf64_Sym *s, size_t i)
{
  if (ELF64_ST_BIND(s->st_info) == STB_GLOBAL && (p->global == NULL || i < p->global_i)) {
    p->global = s;
    p->global_i = i;
  }
  if (p->any == NULL || i > p->any_i) {
    p->any = s;
    p->any_i = i;
  }
}

/* Below this many symbols a scan per lookup is cheaper than sorting. */
#define RC_SYM_SCAN_MAX 2048

static uint64_t sym_addr_key(uint32_t i, const void *arg)
{
  return ((const struct rc_module *)arg)->syms[i].st_value;
}

/* Sort a large table's function symbols by address, once: a scan of every
 * symbol per frame cost node (~120k symbols) 16 ms at each exit with five
 * suppressed leaks.  Arena memory, no allocation: the report path's. */
static void index_functions(struct rc_module *m)
{
  m->fn_tried = true;
  uint32_t n = 0;
  for (size_t i = 0; i < m->nsyms; i++)
    n += is_function(m, &m->syms[i]);
  uint32_t *ix = rc_arena_alloc((size_t)n * sizeof *ix);
  uint32_t *tmp = rc_arena_alloc((size_t)n * sizeof *tmp);
  uint64_t *maxend = rc_arena_alloc((size_t)n * sizeof *maxend);
  if (n == 0 || ix == NULL || tmp == NULL || maxend == NULL)
    return; /* left to the scan */
  uint32_t k = 0;
  for (size_t i = 0; i < m->nsyms; i++)
    if (is_function(m, &m->syms[i]))
      ix[k++] = (uint32_t)i;
  rc_radix_sort(ix, tmp, n, sym_addr_key, m);
  uint64_t hi = 0;
  for (uint32_t j = 0; j < n; j++) {
    uint64_t e = sym_end(&m->syms[ix[j]]);
    maxend[j] = hi = e > hi ? e : hi;
  }
  m->fn_ix = ix;
  m->fn_maxend = maxend;
  m->nfn = n;
}

/* The lookup through the sorted index (index_functions done). */
static const Elf64_Sym *symbol_indexed(const struct rc_module *m, uintptr_t vaddr)
{
  struct rc_sym_pick p = {0};
  /* Past the last symbol that starts at or below vaddr, then back while an
   * earlier one may still reach it. */
  size_t lo = 0, hi = m->nfn;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (m->syms[m->fn_ix[mid]].st_value <= vaddr)
      lo = mid + 1;
    else
      hi = mid;
  }
  for (size_t j = lo; j-- > 0 && m->fn_maxend[j] > vaddr;) {
    const Elf64_Sym *s = &m->syms[m->fn_ix[j]];
    if (vaddr < sym_end(s))
      pick(&p, s, m->fn_ix[j]);
  }
  return p.global ? p.global : p.any;
}

/* The lookup by a scan of the whole table. */
static const Elf64_Sym *symbol_scanned(const struct rc_module *m, uintptr_t vaddr)
{
  struct rc_sym_pick p = {0};
  for (size_t i = 0; i < m->nsyms; i++) {
    const Elf64_Sym *s = &m->syms[i];
    if (is_function(m, s) && vaddr >= s->st_value && vaddr < sym_end(s))
      pick(&p, s, i);
  }
  return p.global ? p.global : p.any;
}

static const char *symbol_at(struct rc_module *m, uintptr_t vaddr)
{
  if (m->nsyms > RC_SYM_SCAN_MAX && !m->fn_tried)
    index_functions(m);
  const Elf64_Sym *best = m->fn_ix ? symbol_indexed(m, vaddr) : symbol_scanned(m, vaddr);
  return best ? m->strtab + best->st_name : NULL;
}

static bool rc_demangle_ok;

void rc_sym_allow_demangle(bool allow)
{
  rc_demangle_ok = allow;
}

/* Rust's names, legacy and v0, by rcleak's own demangler (no allocation:
 * also from a signal handler); then "_ZN4node5StartEiPPc" ->
 * "node::Start(int, char**)", when the process has libstdc++ (C++
 * programs, where C++ names come from). */
static const char *demangle(const char *name)
{
  typedef char *(*demangle_fn)(const char *, char *, size_t *, int *);
  static demangle_fn fn;
  static bool looked;
  char rust[1024];
  if (name != NULL && rc_demangle_rust(name, rust, sizeof rust) > 0) {
    const char *copy = rc_arena_strdup(rust);
    return copy ? copy : name;
  }
  if (!rc_demangle_ok || name == NULL || name[0] != '_' || name[1] != 'Z')
    return name;
  if (!looked) {
    looked = true;
    fn = (demangle_fn)dlsym(RTLD_DEFAULT, "__cxa_demangle");
  }
  if (fn == NULL)
    return name;
  int status = -1;
  char *d = fn(name, NULL, NULL, &status);
  if (d == NULL || status != 0) {
    free(d);
    return name;
  }
  const char *copy = rc_arena_strdup(d);
  free(d);
  return copy ? copy : name;
}

void rc_sym_frame(struct rc_frame *f)
{
  const struct rc_mapping *mp = mapping_of(f->pc);
  if (mp == NULL) {
    /* no file behind it: code a JIT compiled, which a perf map may name
     * (its entries are the code's own addresses, not return addresses
     * minus one, but a call is never a region's last byte) */
    if (rc_perfmap_frame != NULL)
      (void)rc_perfmap_frame(f);
    return;
  }
  struct rc_module *m = &mods[mp->module];
  if (!m->loaded)
    load_module(m);
  f->module = m->path;
  f->build_id = m->build_id;
  uintptr_t file_off = f->pc - mp->start + mp->file_off;
  f->offset = file_off;
  if (m->image == NULL)
    return;
  uintptr_t va;
  if (vaddr_of(m, file_off, &va)) {
    f->offset = va;
    f->function = demangle(symbol_at(m, va));
  }
}

const char *rc_sym_name(uintptr_t addr)
{
  struct rc_frame f = {.pc = addr};
  rc_sym_frame(&f);
  return f.function;
}
