/* DWARF 5 line tables without libdw (see dwarf_lines.h). */
#include "dwarf_lines.h"

#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>

#include "arena.h"
#include "dwarf_read.h"
#include "elf_sections.h"
#include "sort.h"
#include "strbuf.h"

/* ---- bounded reading: dwarf_read.h ---- */

static const char *str_at(const struct rc_section *s, uint64_t off)
{
  if (s->data == NULL || off >= s->size || memchr(s->data + off, 0, s->size - off) == NULL)
    return NULL;
  return (const char *)s->data + off;
}

/* ---- one module ---- */

struct rc_seq {
  uint64_t lo, hi;
  uint64_t max_hi_before; /* highest hi of the sequences sorted before this one */
  uint64_t unit_off;      /* line program header, in .debug_line */
  uint64_t ops_off;       /* first opcode of the sequence */
};

struct rc_dwl {
  struct rc_elf elf;
  struct rc_section line, line_str, str;
  bool str_tried;
  struct rc_seq *seqs;
  size_t nseqs;
  uint64_t *arange_lo; /* start addresses of .debug_aranges, sorted */
  size_t naranges;
  uint64_t last_end;   /* end of the range that starts last */
  bool row_at_end; /* some sequence has a row at its end address */
};

/* A line program header (DWARF 5 only). */
struct lhdr {
  uint64_t unit_off;
  const unsigned char *ops, *end; /* opcodes of the whole unit */
  unsigned offset_size, addr_size, min_inst, line_range, opcode_base;
  int line_base;
  bool default_stmt;
  const unsigned char *std_lens;
  const unsigned char *dir_fmt, *dirs, *file_fmt, *files; /* entry formats and tables */
  uint64_t ndir_fmt, ndirs, nfile_fmt, nfiles;
};

enum {
  DW_FORM_block = 0x09, DW_FORM_block1 = 0x0a, DW_FORM_data1 = 0x0b, DW_FORM_data2 = 0x05,
  DW_FORM_data4 = 0x06, DW_FORM_data8 = 0x07, DW_FORM_data16 = 0x1e, DW_FORM_string = 0x08,
  DW_FORM_strp = 0x0e, DW_FORM_udata = 0x0f, DW_FORM_line_strp = 0x1f,
  DW_LNCT_path = 1, DW_LNCT_directory_index = 2,
};

/* .debug_str, read on first need: line tables rarely refer to it. */
static const struct rc_section *debug_str(const struct rc_dwl *cm)
{
  struct rc_dwl *m = (struct rc_dwl *)cm;
  if (!m->str_tried) {
    m->str_tried = true;
    if (!rc_elf_section(&m->elf, ".debug_str", &m->str))
      m->str.data = NULL;
  }
  return &m->str;
}

/* Read one attribute value of `form`: a string (*s) or a number (*v). */
static void read_form(const struct rc_dwl *m, const struct lhdr *h, struct rc_dw_cur *c, uint64_t form,
                      const char **s, uint64_t *v)
{
  *s = NULL;
  *v = 0;
  switch (form) {
  case DW_FORM_string: {
    const unsigned char *z = memchr(c->p, 0, (size_t)(c->end - c->p));
    if (z == NULL) {
      c->bad = true;
      return;
    }
    *s = (const char *)c->p;
    c->p = z + 1;
    return;
  }
  case DW_FORM_line_strp:
    if ((*s = str_at(&m->line_str, rc_dw_fixed(c, h->offset_size))) == NULL)
      c->bad = true;
    return;
  case DW_FORM_strp:
    if ((*s = str_at(debug_str(m), rc_dw_fixed(c, h->offset_size))) == NULL)
      c->bad = true;
    return;
  case DW_FORM_udata: *v = rc_dw_uleb(c); return;
  case DW_FORM_data1: *v = rc_dw_fixed(c, 1); return;
  case DW_FORM_data2: *v = rc_dw_fixed(c, 2); return;
  case DW_FORM_data4: *v = rc_dw_fixed(c, 4); return;
  case DW_FORM_data8: *v = rc_dw_fixed(c, 8); return;
  case DW_FORM_data16: rc_dw_fixed(c, 8); rc_dw_fixed(c, 8); return;
  case DW_FORM_block: {
    uint64_t n = rc_dw_uleb(c);
    if (n > (uint64_t)(c->end - c->p))
      c->bad = true;
    else
      c->p += n;
    return;
  }
  case DW_FORM_block1: {
    uint64_t n = rc_dw_fixed(c, 1);
    if (n > (uint64_t)(c->end - c->p))
      c->bad = true;
    else
      c->p += n;
    return;
  }
  default:
    c->bad = true; /* strx and others: not handled here */
  }
}

/* Entry `idx` of a directory or file table: its path and directory index.
 * With want < 0 only walks the table (to find where it ends). */
static const unsigned char *table(const struct rc_dwl *m, const struct lhdr *h,
                                  const unsigned char *fmt, uint64_t nfmt, const unsigned char *t,
                                  uint64_t n, int64_t want, const char **path, uint64_t *dir)
{
  struct rc_dw_cur c = {t, h->end, false};
  for (uint64_t i = 0; i < n && !c.bad; i++) {
    struct rc_dw_cur f = {fmt, h->end, false};
    for (uint64_t k = 0; k < nfmt && !c.bad && !f.bad; k++) {
      uint64_t type = rc_dw_uleb(&f), form = rc_dw_uleb(&f);
      const char *s;
      uint64_t v;
      read_form(m, h, &c, form, &s, &v);
      if ((int64_t)i != want)
        continue;
      if (type == DW_LNCT_path)
        *path = s;
      else if (type == DW_LNCT_directory_index)
        *dir = v;
    }
    if (f.bad)
      c.bad = true;
  }
  return c.bad ? NULL : c.p;
}

static const unsigned char *skip_formats(struct rc_dw_cur *c, uint64_t *n)
{
  const unsigned char *start;
  *n = rc_dw_fixed(c, 1);
  start = c->p;
  for (uint64_t i = 0; i < *n * 2 && !c->bad; i++)
    rc_dw_uleb(c);
  return start;
}

/* The header of the unit at `off`; its directory and file tables are only
 * walked (and their forms checked) when `tables` is set, for a lookup: the
 * index needs none of it. */
static bool parse_header(const struct rc_dwl *m, uint64_t off, struct lhdr *h, uint64_t *next,
                         bool tables)
{
  memset(h, 0, sizeof *h);
  h->unit_off = off;
  struct rc_dw_cur c = {m->line.data + off, m->line.data + m->line.size, false};
  uint64_t len = rc_dw_fixed(&c, 4);
  h->offset_size = 4;
  if (len == 0xffffffffu) {
    len = rc_dw_fixed(&c, 8);
    h->offset_size = 8;
  }
  if (c.bad || len > (uint64_t)(c.end - c.p))
    return false;
  h->end = c.p + len;
  c.end = h->end;
  *next = (uint64_t)(h->end - m->line.data);
  unsigned version = (unsigned)rc_dw_fixed(&c, 2);
  h->addr_size = (unsigned)rc_dw_fixed(&c, 1);
  unsigned seg = (unsigned)rc_dw_fixed(&c, 1);
  uint64_t hlen = rc_dw_fixed(&c, h->offset_size);
  if (c.bad || version != 5 || seg != 0 || (h->addr_size != 4 && h->addr_size != 8) ||
      hlen > (uint64_t)(c.end - c.p))
    return false;
  h->ops = c.p + hlen;
  h->min_inst = (unsigned)rc_dw_fixed(&c, 1);
  unsigned max_ops = (unsigned)rc_dw_fixed(&c, 1);
  h->default_stmt = rc_dw_fixed(&c, 1) != 0;
  unsigned lb = (unsigned)rc_dw_fixed(&c, 1); /* a signed byte */
  h->line_base = lb < 128 ? (int)lb : (int)lb - 256;
  h->line_range = (unsigned)rc_dw_fixed(&c, 1);
  h->opcode_base = (unsigned)rc_dw_fixed(&c, 1);
  if (c.bad || max_ops != 1 || h->line_range == 0 || h->opcode_base == 0 ||
      (size_t)(c.end - c.p) < h->opcode_base - 1)
    return false;
  h->std_lens = c.p;
  c.p += h->opcode_base - 1;
  if (!tables)
    return true;
  h->dir_fmt = skip_formats(&c, &h->ndir_fmt);
  h->ndirs = rc_dw_uleb(&c);
  h->dirs = c.p;
  if (c.bad || (c.p = table(m, h, h->dir_fmt, h->ndir_fmt, h->dirs, h->ndirs, -1, NULL, NULL)) == NULL)
    return false;
  h->file_fmt = skip_formats(&c, &h->nfile_fmt);
  h->nfiles = rc_dw_uleb(&c);
  h->files = c.p;
  return !c.bad && table(m, h, h->file_fmt, h->nfile_fmt, h->files, h->nfiles, -1, NULL, NULL) != NULL;
}

/* ---- the line number state machine ---- */

struct row {
  uint64_t addr;
  uint64_t file;
  uint32_t line;
  bool end_seq;
};

/* Called for every row; `next` is where the opcodes after it start. */
typedef bool (*row_fn)(void *ctx, const struct row *r, const unsigned char *next);

/* Inlined into each caller, so the row callback is a direct call (the index
 * runs it over every row of every unit: 1.3 MB of opcodes for glibc). */
static inline __attribute__((always_inline)) bool run(const struct lhdr *h,
                                                      const unsigned char *from, row_fn fn,
                                                      void *ctx)
{
  struct rc_dw_cur c = {from, h->end, false};
  struct row r = {0, 1, 1, false};
  while (c.p < c.end && !c.bad) {
    unsigned op = *c.p++;
    if (op >= h->opcode_base) {
      unsigned adj = op - h->opcode_base;
      r.addr += (uint64_t)h->min_inst * (adj / h->line_range);
      r.line += (uint32_t)(h->line_base + (int)(adj % h->line_range));
      if (!fn(ctx, &r, c.p))
        return true;
      continue;
    }
    switch (op) {
    case 0: {
      uint64_t len = rc_dw_uleb(&c);
      if (len == 0 || len > (uint64_t)(c.end - c.p))
        return false;
      const unsigned char *after = c.p + len;
      unsigned sub = *c.p++;
      if (sub == 1) { /* DW_LNE_end_sequence */
        r.end_seq = true;
        if (!fn(ctx, &r, after))
          return true;
        r = (struct row){0, 1, 1, false};
      } else if (sub == 2) { /* DW_LNE_set_address */
        if (len - 1 != h->addr_size)
          return false;
        r.addr = rc_dw_fixed(&c, h->addr_size);
      }
      c.p = after;
      break;
    }
    case 1: /* DW_LNS_copy */
      if (!fn(ctx, &r, c.p))
        return true;
      break;
    case 2: r.addr += (uint64_t)h->min_inst * rc_dw_uleb(&c); break;
    case 3: r.line += (uint32_t)rc_dw_sleb(&c); break;
    case 4: r.file = rc_dw_uleb(&c); break;
    case 8: r.addr += (uint64_t)h->min_inst * ((255 - h->opcode_base) / h->line_range); break;
    case 9: r.addr += rc_dw_fixed(&c, 2); break;
    default: /* column, stmt, basic block, prologue, epilogue, isa, unknown: skip operands */
      for (unsigned k = 0; k < h->std_lens[op - 1] && !c.bad; k++)
        rc_dw_uleb(&c);
    }
  }
  return !c.bad;
}

/* ---- building the sequence index ---- */

struct build {
  struct rc_seq *v;
  size_t n, cap;
  const struct rc_dwl *m;
  const struct lhdr *h;
  const unsigned char *seq_start;
  bool have_row;
  uint64_t lo, last;
  bool row_at_end;
};

static bool on_build_row(void *ctx, const struct row *r, const unsigned char *next)
{
  struct build *b = ctx;
  if (!b->have_row) {
    b->have_row = true;
    b->lo = r->addr;
  }
  if (!r->end_seq) {
    b->last = r->addr;
    return true;
  }
  if (b->last == r->addr && b->lo != r->addr)
    b->row_at_end = true;
  if (b->n == b->cap)
    return false;
  b->v[b->n++] = (struct rc_seq){b->lo, r->addr, 0, b->h->unit_off,
                                 (uint64_t)(b->seq_start - b->m->line.data)};
  b->have_row = false;
  b->seq_start = next;
  return true;
}

static void *reserve(size_t bytes)
{
  void *p = mmap(NULL, bytes ? bytes : 1, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  return p == MAP_FAILED ? NULL : p;
}

static uint64_t seq_lo(uint32_t i, const void *arg)
{
  return ((const struct rc_seq *)arg)[i].lo;
}

static uint64_t u64_at(uint32_t i, const void *arg)
{
  return ((const uint64_t *)arg)[i];
}

/* v[0..n) of `size`-byte records, sorted by key, ties in their order (the
 * order of the file: which of two sequences at one address comes first in
 * a unit decides libdw's answer); a new mapping, or NULL. */
static void *sorted_copy(const void *v, size_t n, size_t size,
                         uint64_t (*key)(uint32_t i, const void *arg))
{
  if (n > UINT32_MAX)
    return NULL;
  uint32_t *ix = reserve(2 * n * sizeof *ix);
  unsigned char *out = ix ? reserve(n * size) : NULL;
  if (out == NULL) {
    if (ix)
      munmap(ix, 2 * n * sizeof *ix);
    return NULL;
  }
  for (size_t i = 0; i < n; i++)
    ix[i] = (uint32_t)i;
  rc_radix_sort(ix, ix + n, n, key, v);
  for (size_t i = 0; i < n; i++)
    memcpy(out + i * size, (const unsigned char *)v + (size_t)ix[i] * size, size);
  munmap(ix, 2 * n * sizeof *ix);
  return out;
}

static bool index_sequences(struct rc_dwl *m)
{
  /* Every sequence takes at least 14 bytes (set_address + end_sequence). */
  size_t cap = m->line.size / 14 + 1;
  struct build b = {.v = reserve(cap * sizeof *b.v), .cap = cap, .m = m};
  if (b.v == NULL)
    return false;
  for (uint64_t off = 0, next; off < m->line.size; off = next) {
    struct lhdr h;
    if (!parse_header(m, off, &h, &next, false))
      return false;
    b.h = &h;
    b.seq_start = h.ops;
    b.have_row = false;
    if (!run(&h, h.ops, on_build_row, &b) || b.n == b.cap)
      return false;
  }
  struct rc_seq *v = sorted_copy(b.v, b.n, sizeof *b.v, seq_lo);
  munmap(b.v, cap * sizeof *b.v);
  if (v == NULL)
    return false;
  b.v = v;
  uint64_t max_hi = 0;
  for (size_t i = 0; i < b.n; i++) {
    b.v[i].max_hi_before = max_hi;
    if (b.v[i].hi > max_hi)
      max_hi = b.v[i].hi;
  }
  m->seqs = b.v;
  m->nseqs = b.n;
  m->row_at_end = b.row_at_end;
  return true;
}

/* libdwfl finds the unit of an address from .debug_aranges: the range that
 * starts last at or before it, whatever its length, except that past the
 * end of the range that starts last there is none (libdwfl/cu.c,
 * addrarange).  Without .debug_aranges libdw 0.188 finds no unit, hence no
 * line: that case is left to libdw (open fails). */
static bool index_aranges(struct rc_dwl *m)
{
  struct rc_section s;
  if (!rc_elf_section(&m->elf, ".debug_aranges", &s))
    return false;
  size_t cap = s.size / 16 + 1;
  uint64_t *lo = reserve(cap * sizeof *lo);
  size_t n = 0;
  uint64_t last_lo = 0, last_end = 0;
  if (lo == NULL)
    return false;
  for (struct rc_dw_cur c = {s.data, s.data + s.size, false}; c.p < c.end;) {
    const unsigned char *set = c.p;
    uint64_t len = rc_dw_fixed(&c, 4);
    unsigned osz = 4;
    if (len == 0xffffffffu) {
      len = rc_dw_fixed(&c, 8);
      osz = 8;
    }
    if (c.bad || len > (uint64_t)(c.end - c.p))
      return false;
    struct rc_dw_cur u = {c.p, c.p + len, false};
    c.p += len;
    rc_dw_fixed(&u, 2);   /* version */
    rc_dw_fixed(&u, osz); /* the unit in .debug_info */
    unsigned asz = (unsigned)rc_dw_fixed(&u, 1), ssz = (unsigned)rc_dw_fixed(&u, 1);
    if (u.bad || (asz != 4 && asz != 8) || ssz != 0)
      return false;
    size_t hdr = (size_t)(u.p - set), align = (size_t)2 * asz;
    u.p += (align - hdr % align) % align;
    for (;;) {
      uint64_t a = rc_dw_fixed(&u, asz), l = rc_dw_fixed(&u, asz);
      if (u.bad || (a == 0 && l == 0))
        break;
      if (n == cap)
        return false;
      lo[n++] = a;
      if (n == 1 || a >= last_lo) {
        last_lo = a;
        last_end = a + l;
      }
    }
  }
  uint64_t *sorted = sorted_copy(lo, n, sizeof *lo, u64_at);
  munmap(lo, cap * sizeof *lo);
  if (sorted == NULL)
    return false;
  lo = sorted;
  m->arange_lo = lo;
  m->naranges = n;
  m->last_end = last_end;
  return n > 0;
}

static bool has_unit(const struct rc_dwl *m, uint64_t addr)
{
  if (addr < m->arange_lo[0])
    return false;
  if (addr >= m->arange_lo[m->naranges - 1])
    return addr <= m->last_end;
  return true;
}

/* The DWARF file libdw would use: the module itself when it has DWARF,
 * else the build-id debug file.  Anything else (.gnu_debuglink, debuginfod)
 * is left to libdw. */
static bool open_dwarf_file(struct rc_elf *e, const char *path, const char *build_id)
{
  if (!rc_elf_open(e, path))
    return false;
  if (rc_elf_has(e, ".debug_info") || rc_elf_has(e, ".debug_line") ||
      rc_elf_has(e, ".debug_frame"))
    return true;
  rc_elf_close(e);
  size_t n = build_id ? strlen(build_id) : 0;
  char dbg[512], id[256];
  if (n < 4 || n > 200)
    return false;
  struct rc_strbuf b;
  rc_sb_init(&b, dbg, sizeof dbg);
  rc_sb_puts(&b, "/usr/lib/debug/.build-id/");
  rc_sb_putn(&b, build_id, 2);
  rc_sb_putc(&b, '/');
  rc_sb_puts(&b, build_id + 2);
  rc_sb_puts(&b, ".debug");
  if (!rc_elf_open(e, rc_sb_cstr(&b)))
    return false;
  if (rc_elf_build_id(e, id, sizeof id) && strcmp(id, build_id) == 0)
    return true;
  rc_elf_close(e);
  return false;
}

struct rc_dwl *rc_dwl_open(const char *path, const char *build_id)
{
  struct rc_dwl *m = rc_arena_alloc(sizeof *m);
  if (m == NULL || !open_dwarf_file(&m->elf, path, build_id))
    return NULL;
  if (!rc_elf_has(&m->elf, ".debug_info") || !rc_elf_section(&m->elf, ".debug_line", &m->line) ||
      !index_aranges(m))
    return NULL;
  if (rc_elf_has(&m->elf, ".debug_line_str") &&
      !rc_elf_section(&m->elf, ".debug_line_str", &m->line_str))
    return NULL;
  if (!index_sequences(m))
    return NULL;
  return m;
}

/* ---- lookups ---- */

struct find {
  uint64_t addr;
  struct row best;
  bool found;
};

static bool on_find_row(void *ctx, const struct row *r, const unsigned char *next)
{
  struct find *f = ctx;
  (void)next;
  if (r->end_seq)
    return false; /* this sequence is done */
  if (r->addr <= f->addr && (!f->found || r->addr >= f->best.addr)) {
    f->best = *r;
    f->found = true;
  }
  return true;
}

int rc_dwl_lookup(struct rc_dwl *m, uint64_t addr, char *buf, size_t cap, const char **file,
                  int *line, const char **comp_dir)
{
  if (!has_unit(m, addr))
    return 0;
  size_t lo = 0, hi = m->nseqs; /* first sequence with lo > addr */
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (m->seqs[mid].lo <= addr)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo == 0)
    return 0;
  /* libdw sorts the rows of the unit by address (end-of-sequence rows first
   * among equals) and takes the last row <= addr, none if that row ends a
   * sequence.  Without overlapping sequences that is the covering
   * sequence's last row <= addr, or no line in a gap, unless a sequence has
   * a row at its own end address (which sorts after its end). */
  const struct rc_seq *s = &m->seqs[lo - 1];
  if (s->max_hi_before > s->lo)
    return -1; /* sequences overlap here: libdw's merged order decides */
  if (s->hi <= addr)
    return m->row_at_end ? -1 : 0;
  struct lhdr h;
  uint64_t next;
  if (!parse_header(m, s->unit_off, &h, &next, true))
    return -1;
  struct find f = {.addr = addr};
  if (!run(&h, m->line.data + s->ops_off, on_find_row, &f) || !f.found)
    return -1;
  const char *name = NULL, *dir = NULL, *dir0 = NULL;
  uint64_t diridx = 0, unused;
  if (f.best.file >= h.nfiles ||
      table(m, &h, h.file_fmt, h.nfile_fmt, h.files, h.nfiles, (int64_t)f.best.file, &name,
            &diridx) == NULL ||
      name == NULL || diridx >= h.ndirs ||
      table(m, &h, h.dir_fmt, h.ndir_fmt, h.dirs, h.ndirs, (int64_t)diridx, &dir, &unused) == NULL ||
      dir == NULL ||
      table(m, &h, h.dir_fmt, h.ndir_fmt, h.dirs, h.ndirs, 0, &dir0, &unused) == NULL)
    return -1;
  struct rc_strbuf b;
  rc_sb_init(&b, buf, cap);
  if (name[0] != '/') {
    rc_sb_puts(&b, dir);
    rc_sb_putc(&b, '/');
  }
  rc_sb_puts(&b, name);
  rc_sb_cstr(&b);
  if (b.failed)
    return -1;
  *file = buf;
  *line = (int)f.best.line;
  *comp_dir = dir0; /* DWARF 5: directory 0 is the compilation directory */
  return 1;
}
