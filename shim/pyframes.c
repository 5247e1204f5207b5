/* CPython 3.11-3.13 frames in acquisition stacks (see scriptframes.h).
 *
 * Reading the frames.  PyGILState_GetThisThreadState returns this thread's
 * state from a pthread key, with or without the GIL (an open() in Python
 * runs with the GIL released).  The frame chain it leads to belongs to this
 * thread, which is inside the capture, so it holds still; the code objects
 * of those frames are alive while they run.  The layouts below come from
 * each version's headers (offsetof with Py_BUILD_CORE, x86_64).  Before the
 * first direct read, the first frame's code object and its type are read
 * with process_vm_readv (layout_proven), and every code object is checked
 * to be one (its type is PyCode_Type) before anything else of it is read:
 * a build whose layout is not the table's yields no frames, not a fault.
 *
 * Locations.  An instruction's line comes from its code's location table;
 * (code object, instruction) pairs found before are remembered, checked
 * against the code object's names since a freed code object's address is
 * reused. */
#include "scriptframes.h"

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

static struct {
  const struct rc_py_layout *L;
  void *(*get_tstate)(void);
  const void *code_type;
} rc_py;

bool rc_py_detect(const void *py_version)
{
  const unsigned long *version = py_version;
  const struct rc_py_layout *L = NULL;
  for (size_t i = 0; version != NULL && i < RC_ARRAY_SIZE(rc_py_layouts); i++)
    if (rc_py_layouts[i].minor == *version >> 16)
      L = &rc_py_layouts[i];
  if (L == NULL)
    return false;
  rc_py.get_tstate = (void *(*)(void))(uintptr_t)rc_sf_symbol("PyGILState_GetThisThreadState");
  rc_py.code_type = rc_sf_symbol("PyCode_Type");
  rc_py.L = L;
  return rc_py.get_tstate != NULL && rc_py.code_type != NULL;
}

/* ---- locations ---- */

#define RC_PY_CACHE 16384u /* power of two */
#define RC_PY_NAME_MAX 1024u

struct rc_py_seen {
  const void *code, *filename, *qualname; /* what a hit checks */
  int32_t lasti;
  uint32_t id;
};
static struct rc_py_seen *rc_py_cache; /* [RC_PY_CACHE], mapped at first use */

static const char *ptr_at(const void *base, unsigned off)
{
  const char *p;
  memcpy(&p, (const char *)base + off, sizeof p);
  return p;
}

/* A str's text as UTF-8 into out[4 * RC_PY_NAME_MAX]; its length, or -1. */
static long utf8_of(const char *s, char *out)
{
  const struct rc_py_layout *L = rc_py.L;
  uint32_t state;
  int64_t len;
  memcpy(&state, s + 32, sizeof state);
  memcpy(&len, s + 16, sizeof len);
  unsigned kind = (state >> 2) & 7, compact = (state >> 5) & 1, ascii = (state >> 6) & 1;
  if (!compact || len < 0)
    return -1;
  if ((uint64_t)len > RC_PY_NAME_MAX)
    len = RC_PY_NAME_MAX;
  if (ascii) {
    memcpy(out, s + L->ascii_data, (size_t)len);
    return (long)len;
  }
  const unsigned char *d = (const unsigned char *)s + L->compact_data;
  long n = 0;
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
  return n;
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
  struct rc_py_seen *seen = rc_py_cache ? &rc_py_cache[cache_slot(code, lasti)] : NULL;
  if (seen && seen->id != 0 && seen->code == code && seen->lasti == lasti &&
      seen->filename == filename && seen->qualname == qualname)
    return seen->id;
  if (filename == NULL || qualname == NULL)
    return 0;
  char file[4 * RC_PY_NAME_MAX], func[4 * RC_PY_NAME_MAX];
  long fl = utf8_of(filename, file), nl = utf8_of(qualname, func);
  if (fl < 0 || nl < 0)
    return 0;
  uint32_t id = rc_sf_intern(RC_LANG_PYTHON, file, (size_t)fl, func, (size_t)nl,
                             line_of(code, lasti));
  if (seen && id != 0)
    *seen = (struct rc_py_seen){code, filename, qualname, lasti, id};
  return id;
}

/* ---- capture ---- */

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
  const struct rc_py_layout *L = rc_py.L;
  const char *ts = rc_py.get_tstate();
  if (ts == NULL || !layout_proven(ts))
    return 0;
  const char *f = ptr_at(ts, L->ts_frame);
  if (L->cframe_frame >= 0 && f != NULL)
    f = ptr_at(f, (unsigned)L->cframe_frame);
  if (f == NULL || !rc_sf_lock())
    return 0;
  if (rc_py_cache == NULL)
    rc_py_cache = rc_reserve(RC_PY_CACHE * sizeof *rc_py_cache);
  int n = 0;
  bool open = false; /* a group has frames not closed by a separator yet */
  for (int steps = 0; f != NULL && n < max - 1 && steps < RC_PY_MAX_CHAIN; steps++) {
    char owner = f[L->fr_owner];
    if (L->fr_is_entry < 0 && owner == RC_PY_OWNED_BY_CSTACK) {
      if (open)
        out[n++] = RC_SF_SEP;
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
        out[n++] = RC_SF_TAG | id;
        open = true;
      }
      if (L->fr_is_entry >= 0 && f[L->fr_is_entry] && open) {
        out[n++] = RC_SF_SEP;
        open = false;
      }
    }
    f = ptr_at(f, L->fr_previous);
  }
  rc_sf_unlock();
  return n;
}
