/* Python frames in acquisition stacks (see pyframes.h).
 *
 * Finding the interpreter.  The first capture looks up Py_Version (3.11 and
 * later export it), PyGILState_GetThisThreadState and PyCode_Type in the
 * GNU hash tables of the objects loaded at start-up (libpython, or a python
 * executable that links it statically and exports its API): a few hundred
 * nanoseconds once per process, no dlsym (which takes the loader's lock and
 * leaves an error for the program's next dlerror()).  A Python embedded
 * later with dlopen is not seen.
 *
 * Reading the frames.  PyGILState_GetThisThreadState returns this thread's
 * state from a pthread key, with or without the GIL (an open() in Python
 * runs with the GIL released).  The frame chain it leads to belongs to this
 * thread, which is inside the capture, so it holds still; the code objects
 * of those frames are alive while they run.  The layouts below come from
 * each version's headers (offsetof with Py_BUILD_CORE, x86_64); every code
 * object is checked to be one (its type is PyCode_Type) before anything
 * else of it is read, so a layout that does not fit (a free-threaded build,
 * say) yields no frames rather than a wrong read past the first one.
 *
 * Locations.  (code object, instruction) pairs are resolved once: the
 * line from the code's location table, the file and qualified name copied as
 * UTF-8.  Entries are published for lock-free readers (the report, maybe in
 * a signal handler) and never change; the cache that finds them again is
 * checked against the code object's names, since a freed code object's
 * address is reused. */
#include "pyframes.h"

#include <elf.h>
#include <link.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "rc.h"

struct rc_py_layout {
  unsigned long minor;   /* PY_VERSION_HEX >> 16 */
  uint16_t ts_frame;     /* PyThreadState: cframe (3.11, 3.12) or current_frame */
  int16_t cframe_frame;  /* _PyCFrame.current_frame; -1: ts_frame is the frame */
  uint16_t fr_code, fr_previous, fr_instr, fr_owner;
  int16_t fr_is_entry;   /* 3.11; later versions push an entry frame instead */
  uint16_t co_filename, co_qualname, co_linetable, co_firstlineno, co_firsttraceable, co_code;
  uint16_t ascii_data;   /* sizeof(PyASCIIObject): an ASCII str's text */
  uint16_t compact_data; /* sizeof(PyCompactUnicodeObject): any other's */
};

static const struct rc_py_layout rc_py_layouts[] = {
  {0x030b, 56, 8, 32, 48, 56, 69, 68, 112, 128, 136, 72, 168, 184, 48, 72},
  {0x030c, 56, 0, 0, 8, 56, 70, -1, 112, 128, 136, 68, 176, 192, 40, 56},
  {0x030d, 72, -1, 0, 8, 56, 70, -1, 112, 128, 136, 68, 184, 200, 40, 56},
};

#define RC_PY_OWNED_BY_GENERATOR 1
#define RC_PY_OWNED_BY_CSTACK 3 /* 3.12+: the entry frame of a C-level evaluation */
#define RC_PY_MAX_CHAIN 4096   /* frames followed per capture, at most */

int rc_py_state;

static struct {
  const struct rc_py_layout *L;
  void *(*get_tstate)(void);
  const void *code_type;
} rc_py;

/* ---- symbol lookup in the loaded objects ---- */

RC_HOT static uintptr_t in_image(const struct link_map *m, uintptr_t p)
{
  return p < m->l_addr ? m->l_addr + p : p;
}

RC_HOT static uint32_t gnu_hash(const char *s)
{
  uint32_t h = 5381;
  for (; *s; s++)
    h = h * 33 + (unsigned char)*s;
  return h;
}

RC_HOT static const void *gnu_lookup(const struct link_map *m, const char *name)
{
  const ElfW(Sym) *syms = NULL;
  const char *strs = NULL;
  const uint32_t *ht = NULL;
  for (const ElfW(Dyn) *d = m->l_ld; d != NULL && d->d_tag != DT_NULL; d++) {
    if (d->d_tag == DT_SYMTAB)
      syms = (const ElfW(Sym) *)in_image(m, d->d_un.d_ptr);
    else if (d->d_tag == DT_STRTAB)
      strs = (const char *)in_image(m, d->d_un.d_ptr);
    else if (d->d_tag == DT_GNU_HASH)
      ht = (const uint32_t *)in_image(m, d->d_un.d_ptr);
  }
  if (syms == NULL || strs == NULL || ht == NULL)
    return NULL;
  uint32_t nbuckets = ht[0], symoff = ht[1], nbloom = ht[2], shift = ht[3];
  if (nbuckets == 0 || nbloom == 0)
    return NULL;
  const ElfW(Addr) *bloom = (const ElfW(Addr) *)(const void *)(ht + 4);
  const uint32_t *buckets = (const uint32_t *)(const void *)(bloom + nbloom);
  const uint32_t *chain = buckets + nbuckets;
  const unsigned bits = sizeof(ElfW(Addr)) * 8;
  uint32_t h = gnu_hash(name);
  ElfW(Addr) word = bloom[(h / bits) % nbloom];
  ElfW(Addr) mask = (ElfW(Addr))1 << (h % bits) | (ElfW(Addr))1 << ((h >> shift) % bits);
  if ((word & mask) != mask)
    return NULL;
  uint32_t i = buckets[h % nbuckets];
  if (i < symoff)
    return NULL;
  for (;; i++) {
    uint32_t h2 = chain[i - symoff];
    const ElfW(Sym) *s = &syms[i];
    if ((h | 1) == (h2 | 1) && s->st_shndx != SHN_UNDEF && strcmp(strs + s->st_name, name) == 0)
      return (const void *)(m->l_addr + s->st_value);
    if (h2 & 1)
      return NULL;
  }
}

RC_HOT static const void *lookup(const char *name)
{
  for (const struct link_map *m = _r_debug.r_map; m != NULL; m = m->l_next) {
    const void *p = gnu_lookup(m, name);
    if (p != NULL)
      return p;
  }
  return NULL;
}

RC_HOT bool rc_py_detect(void)
{
  int st = __atomic_load_n(&rc_py_state, __ATOMIC_ACQUIRE);
  if (st != 0)
    return st > 0;
  int saved = errno;
  const unsigned long *version = lookup("Py_Version");
  const struct rc_py_layout *L = NULL;
  for (size_t i = 0; version != NULL && i < RC_ARRAY_SIZE(rc_py_layouts); i++)
    if (rc_py_layouts[i].minor == *version >> 16)
      L = &rc_py_layouts[i];
  if (L != NULL) {
    rc_py.get_tstate = (void *(*)(void))(uintptr_t)lookup("PyGILState_GetThisThreadState");
    rc_py.code_type = lookup("PyCode_Type");
    rc_py.L = L;
  }
  st = L != NULL && rc_py.get_tstate != NULL && rc_py.code_type != NULL ? 1 : -1;
  __atomic_store_n(&rc_py_state, st, __ATOMIC_RELEASE);
  errno = saved;
  return st > 0;
}

/* ---- the location table ---- */

#define RC_PY_MAX_LOCS 65536u
#define RC_PY_CACHE 16384u /* power of two */
#define RC_PY_TEXT (8u << 20)
#define RC_PY_NAME_MAX 1024u

struct rc_py_loc {
  const void *code, *filename, *qualname; /* what the cache checks */
  int32_t lasti, line;
  uint32_t file_off, func_off; /* into text */
};

struct rc_py_table {
  struct rc_py_loc loc[RC_PY_MAX_LOCS]; /* [0] unused: id 0 is "none" */
  uint32_t cache[RC_PY_CACHE];          /* loc ids by (code, lasti) */
  char text[RC_PY_TEXT];
};

static struct rc_py_table *rc_pyt;
static uint32_t rc_py_nlocs = 1; /* published count (release) */
static uint32_t rc_py_used;      /* bytes of text */
static int rc_py_lock;           /* 0, or the pid holding it */

static const char *ptr_at(const void *base, unsigned off)
{
  const char *p;
  memcpy(&p, (const char *)base + off, sizeof p);
  return p;
}

/* A str's text as UTF-8 into the table's text; its offset, or UINT32_MAX. */
static uint32_t copy_str(const char *s)
{
  const struct rc_py_layout *L = rc_py.L;
  uint32_t state;
  int64_t len;
  memcpy(&state, s + 32, sizeof state);
  memcpy(&len, s + 16, sizeof len);
  unsigned kind = (state >> 2) & 7, compact = (state >> 5) & 1, ascii = (state >> 6) & 1;
  if (!compact || len < 0)
    return UINT32_MAX;
  if ((uint64_t)len > RC_PY_NAME_MAX)
    len = RC_PY_NAME_MAX;
  /* at most 4 UTF-8 bytes a character, and the NUL */
  if (rc_py_used + (uint64_t)len * 4 + 1 > RC_PY_TEXT)
    return UINT32_MAX;
  char *out = rc_pyt->text + rc_py_used;
  size_t n = 0;
  if (ascii) {
    memcpy(out, s + L->ascii_data, (size_t)len);
    n = (size_t)len;
  } else {
    const unsigned char *d = (const unsigned char *)s + L->compact_data;
    for (int64_t i = 0; i < len; i++) {
      uint32_t c = kind == 1   ? d[i]
                   : kind == 2 ? ((const uint16_t *)(const void *)d)[i]
                               : ((const uint32_t *)(const void *)d)[i];
      if (c < 0x80) {
        out[n++] = (char)c;
      } else if (c < 0x800) {
        out[n++] = (char)(0xc0 | c >> 6);
        out[n++] = (char)(0x80 | (c & 0x3f));
      } else if (c < 0x10000) {
        out[n++] = (char)(0xe0 | c >> 12);
        out[n++] = (char)(0x80 | (c >> 6 & 0x3f));
        out[n++] = (char)(0x80 | (c & 0x3f));
      } else {
        out[n++] = (char)(0xf0 | c >> 18);
        out[n++] = (char)(0x80 | (c >> 12 & 0x3f));
        out[n++] = (char)(0x80 | (c >> 6 & 0x3f));
        out[n++] = (char)(0x80 | (c & 0x3f));
      }
    }
  }
  out[n] = '\0';
  uint32_t off = rc_py_used;
  rc_py_used += (uint32_t)n + 1;
  return off;
}

/* The location table's varints (Objects/locations.md in CPython). */
static unsigned scan_varint(const uint8_t **p, const uint8_t *end)
{
  unsigned v = 0, shift = 0;
  while (*p < end) {
    unsigned b = *(*p)++;
    v |= (b & 63) << shift;
    shift += 6;
    if (!(b & 64) || shift > 30)
      break;
  }
  return v;
}

static int scan_svarint(const uint8_t **p, const uint8_t *end)
{
  unsigned u = scan_varint(p, end);
  return (u & 1) ? -(int)(u >> 1) : (int)(u >> 1);
}

/* The line of instruction `lasti` (code units), as PyCode_Addr2Line. */
static int line_of(const char *code, int32_t lasti)
{
  const struct rc_py_layout *L = rc_py.L;
  const char *table = ptr_at(code, L->co_linetable);
  int32_t first;
  int64_t size;
  memcpy(&first, code + L->co_firstlineno, sizeof first);
  if (table == NULL)
    return 0;
  memcpy(&size, table + 16, sizeof size);
  if (size <= 0)
    return 0;
  const uint8_t *p = (const uint8_t *)table + 32, *end = p + size;
  int line = first;
  int32_t addr = 0;
  while (p < end) {
    uint8_t b = *p;
    unsigned what = (b >> 3) & 15;
    int32_t units = (b & 7) + 1;
    const uint8_t *q = p + 1;
    if (what == 13 || what == 14)
      line += scan_svarint(&q, end);
    else if (what >= 10 && what <= 12)
      line += (int)what - 10;
    if (lasti < addr + units)
      return what == 15 ? 0 : line;
    addr += units;
    do
      p++;
    while (p < end && !(*p & 128));
  }
  return 0;
}

static uint32_t cache_slot(const void *code, int32_t lasti)
{
  uint64_t k = (uint64_t)(uintptr_t)code * 0x9e3779b97f4a7c15ull ^ (uint64_t)(uint32_t)lasti;
  return (uint32_t)(k >> 40) & (RC_PY_CACHE - 1);
}

/* The location id of instruction lasti of code; 0 if none.  Lock held. */
static uint32_t location(const char *code, int32_t lasti)
{
  const struct rc_py_layout *L = rc_py.L;
  const char *filename = ptr_at(code, L->co_filename), *qualname = ptr_at(code, L->co_qualname);
  uint32_t *slot = &rc_pyt->cache[cache_slot(code, lasti)];
  if (*slot != 0) {
    const struct rc_py_loc *e = &rc_pyt->loc[*slot];
    if (e->code == code && e->lasti == lasti && e->filename == filename &&
        e->qualname == qualname)
      return *slot;
  }
  uint32_t id = rc_py_nlocs;
  if (id >= RC_PY_MAX_LOCS || filename == NULL || qualname == NULL)
    return 0;
  uint32_t file = copy_str(filename), func = copy_str(qualname);
  if (file == UINT32_MAX || func == UINT32_MAX)
    return 0;
  rc_pyt->loc[id] = (struct rc_py_loc){code, filename, qualname, lasti, line_of(code, lasti), file,
                                       func};
  __atomic_store_n(&rc_py_nlocs, id + 1, __ATOMIC_RELEASE);
  *slot = id;
  return id;
}

/* ---- capture ---- */

/* The table's lock: 0, or the pid of the process whose thread holds it (a
 * fork child finds its parent's pid there if a thread of the parent held it
 * at the fork, and takes it over).  Never waits long: the holder may be the
 * very thread a signal handler interrupted. */
static bool lock_table(void)
{
  for (int spins = 0; spins < 1000; spins++) {
    int held = __atomic_load_n(&rc_py_lock, __ATOMIC_RELAXED);
    if ((held == 0 || held != rc_pid) &&
        __atomic_compare_exchange_n(&rc_py_lock, &held, (int)rc_pid, false, __ATOMIC_ACQUIRE,
                                    __ATOMIC_RELAXED))
      return true;
    __builtin_ia32_pause();
  }
  return false;
}

static bool safe_read(const void *addr, void *out, size_t n)
{
  struct iovec here = {out, n}, there = {(void *)(uintptr_t)addr, n};
  return rc_syscall(SYS_process_vm_readv, rc_pid, &here, 1, &there, 1, 0) == (long)n;
}

/* Once per process, before any frame is read directly: read the first
 * frame's code object and its type through process_vm_readv, which fails
 * (EFAULT) where a direct read would fault, so a build whose thread or
 * frame layout is not the table's (a distribution's patch, a debug build)
 * turns Python frames off instead of crashing the program.  Where the call
 * is not allowed (a seccomp filter) the table is trusted. */
static bool layout_proven(const char *ts)
{
  static int proven; /* 0 not yet, 1 yes, -1 no */
  int p = __atomic_load_n(&proven, __ATOMIC_ACQUIRE);
  if (p != 0)
    return p > 0;
  const struct rc_py_layout *L = rc_py.L;
  int saved = errno;
  const char *f = NULL, *code = NULL;
  const void *type = NULL;
  bool ok = safe_read(ts + L->ts_frame, &f, sizeof f) &&
            (L->cframe_frame < 0 || (f != NULL && safe_read(f + L->cframe_frame, &f, sizeof f)));
  if (ok && f == NULL) {
    errno = saved;
    return false; /* no frame to judge by yet: ask again next time */
  }
  ok = ok && safe_read(f + L->fr_code, &code, sizeof code) && code != NULL &&
       safe_read(code + 8, &type, sizeof type) && type == rc_py.code_type;
  if (!ok && (errno == ENOSYS || errno == EPERM))
    ok = true;
  errno = saved;
  __atomic_store_n(&proven, ok ? 1 : -1, __ATOMIC_RELEASE);
  return ok;
}

int rc_py_capture(uintptr_t *out, int max)
{
  if (max < 2 || !rc_py_active())
    return 0;
  const struct rc_py_layout *L = rc_py.L;
  const char *ts = rc_py.get_tstate();
  if (ts == NULL)
    return 0;
  if (!layout_proven(ts))
    return 0;
  const char *f = ptr_at(ts, L->ts_frame);
  if (L->cframe_frame >= 0 && f != NULL)
    f = ptr_at(f, (unsigned)L->cframe_frame);
  if (f == NULL)
    return 0;
  if (rc_pyt == NULL) {
    struct rc_py_table *t = rc_reserve(sizeof *t);
    struct rc_py_table *expected = NULL;
    if (t == NULL)
      return 0;
    if (!__atomic_compare_exchange_n(&rc_pyt, &expected, t, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE))
      munmap(t, sizeof *t);
  }
  if (!lock_table())
    return 0;
  int n = 0;
  bool open = false; /* a group has frames not closed by a separator yet */
  for (int steps = 0; f != NULL && n < max - 1 && steps < RC_PY_MAX_CHAIN; steps++) {
    char owner = f[L->fr_owner];
    if (L->fr_is_entry < 0 && owner == RC_PY_OWNED_BY_CSTACK) {
      if (open)
        out[n++] = RC_PY_SEP;
      open = false;
    } else {
      const char *code = ptr_at(f, L->fr_code);
      if (code == NULL || ptr_at(code, 8) != rc_py.code_type)
        break; /* not a layout this code knows: stop here */
      const char *instr = ptr_at(f, L->fr_instr);
      intptr_t lasti = (instr - (code + L->co_code)) / 2;
      int32_t first;
      memcpy(&first, code + L->co_firsttraceable, sizeof first);
      /* A frame that has not reached its first traceable instruction is
       * one CPython's own tracebacks skip too: being set up, or a shim
       * (3.13 runs a class's __init__ under one named "__init__"). */
      bool incomplete = owner != RC_PY_OWNED_BY_GENERATOR && lasti < first;
      uint32_t id = lasti >= 0 && lasti < INT32_MAX && !incomplete
                        ? location(code, (int32_t)lasti)
                        : 0;
      if (id != 0) {
        out[n++] = RC_PY_TAG | id;
        open = true;
      }
      if (L->fr_is_entry >= 0 && f[L->fr_is_entry] && open) {
        out[n++] = RC_PY_SEP;
        open = false;
      }
    }
    f = ptr_at(f, L->fr_previous);
  }
  __atomic_store_n(&rc_py_lock, 0, __ATOMIC_RELEASE);
  while (n > 0 && out[n - 1] == RC_PY_SEP)
    n--;
  return n;
}

/* ---- the report ---- */

void rc_py_frame(uintptr_t tag, struct rc_frame *f)
{
  uint32_t id = (uint32_t)(tag & ~RC_PY_TAG);
  memset(f, 0, sizeof *f);
  f->python = true;
  if (id == 0 || id >= __atomic_load_n(&rc_py_nlocs, __ATOMIC_ACQUIRE) || rc_pyt == NULL)
    return;
  const struct rc_py_loc *e = &rc_pyt->loc[id];
  f->function = rc_pyt->text + e->func_off;
  f->file = rc_pyt->text + e->file_off;
  f->line = e->line;
}

bool rc_py_is_eval_frame(const struct rc_frame *f)
{
  static const char eval[] = "_PyEval_EvalFrameDefault";
  return f->function != NULL && strncmp(f->function, eval, sizeof eval - 1) == 0 &&
         (f->function[sizeof eval - 1] == '\0' || f->function[sizeof eval - 1] == '.');
}
