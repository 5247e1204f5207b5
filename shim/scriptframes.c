/* Script frames (see scriptframes.h): finding the interpreter, and the
 * location table the languages' readers share.
 *
 * Finding the interpreter.  The first capture looks up symbols the
 * interpreter exports (CPython's Py_Version, bash's executing_line_number)
 * in the GNU hash tables of the objects loaded at start-up: ~2,000
 * instructions once per process, no dlsym (which takes the loader's lock
 * and leaves an error for the program's next dlerror()).  An interpreter
 * loaded later with dlopen is not seen.
 *
 * Locations.  (language, file, function, line) entries, deduplicated by
 * content, their strings copied: the interpreter's own strings may be freed
 * before the report.  Entries are published for lock-free readers (the
 * report, maybe in a signal handler) and never change. */
#include "scriptframes.h"

#include <string.h>

#include "dyn_tables.h"
#include "rc.h"

int rc_sf_lang;

/* ---- symbols of the loaded objects ---- */

RC_HOT static uint32_t gnu_hash(const char *s)
{
  uint32_t h = 5381;
  for (; *s; s++)
    h = h * 33 + (unsigned char)*s;
  return h;
}

RC_HOT static const void *gnu_lookup(const struct link_map *m, const struct rc_dyn_tables *tp,
                                     const char *name, uint32_t h)
{
  const struct rc_dyn_tables t = *tp;
  const ElfW(Sym) *syms = t.syms;
  const char *strs = t.strs;
  const uint32_t *ht = t.gnu_hash;
  if (syms == NULL || strs == NULL || ht == NULL)
    return NULL;
  uint32_t nbuckets = ht[0], symoff = ht[1], nbloom = ht[2], shift = ht[3];
  if (nbuckets == 0 || nbloom == 0)
    return NULL;
  const ElfW(Addr) *bloom = (const ElfW(Addr) *)(const void *)(ht + 4);
  const uint32_t *buckets = (const uint32_t *)(const void *)(bloom + nbloom);
  const uint32_t *chain = buckets + nbuckets;
  const unsigned bits = sizeof(ElfW(Addr)) * 8;
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

/* names[0..n) looked up in one pass over the loaded objects (each one's
 * dynamic section read once): out[i] is the first definition, or NULL. */
RC_HOT static void symbols(const char *const *names, const void **out, size_t n)
{
  uint32_t h[4];
  for (size_t i = 0; i < n; i++) {
    h[i] = gnu_hash(names[i]);
    out[i] = NULL;
  }
  for (const struct link_map *m = _r_debug.r_map; m != NULL; m = m->l_next) {
    struct rc_dyn_tables t = rc_dyn_tables_of(m);
    for (size_t i = 0; i < n; i++)
      if (out[i] == NULL)
        out[i] = gnu_lookup(m, &t, names[i], h[i]);
  }
}

RC_HOT const void *rc_sf_symbol(const char *name)
{
  const void *p;
  symbols(&name, &p, 1);
  return p;
}

RC_HOT int rc_sf_detect(void)
{
  int st = __atomic_load_n(&rc_sf_lang, __ATOMIC_ACQUIRE);
  if (st != 0)
    return st;
  int saved = errno;
  /* each interpreter's mark first, in one pass: most processes are neither
   * (the readers' struct layouts are those of 64-bit builds) */
  static const char *const marks[] = {"Py_Version", "executing_line_number"};
  const void *found[2] = {NULL, NULL};
  if (sizeof(void *) == 8)
    symbols(marks, found, 2);
  st = found[0] && rc_py_detect(found[0])     ? RC_LANG_PYTHON
       : found[1] && rc_bash_detect(found[1]) ? RC_LANG_BASH
                                              : -1;
  __atomic_store_n(&rc_sf_lang, st, __ATOMIC_RELEASE);
  errno = saved;
  return st;
}

/* ---- the location table ---- */

#define RC_SF_MAX_LOCS 65536u
#define RC_SF_HASH 131072u /* power of two, twice the entries */
#define RC_SF_TEXT (8u << 20)
#define RC_SF_NAME_MAX 1024u

struct rc_sf_loc {
  uint64_t hash;
  int32_t line;
  uint32_t file_off, func_off; /* into text */
  uint8_t lang;
};

struct rc_sf_table {
  struct rc_sf_loc loc[RC_SF_MAX_LOCS]; /* [0] unused: id 0 is "none" */
  uint32_t by_hash[RC_SF_HASH];         /* ids, open addressing */
  char text[RC_SF_TEXT];
};

static struct rc_sf_table *rc_sft;
static uint32_t rc_sf_nlocs = 1; /* published count (release) */
static uint32_t rc_sf_used;      /* bytes of text */
static int rc_sf_lock_word;      /* 0, or the pid holding it */

/* The lock: 0, or the pid of the process whose thread holds it (a fork
 * child finds its parent's pid there if a thread of the parent held it at
 * the fork, and takes it over).  Never waits long: the holder may be the
 * very thread a signal handler interrupted.  Maps the table at first use. */
bool rc_sf_lock(void)
{
  if (rc_sft == NULL) {
    struct rc_sf_table *t = rc_reserve(sizeof *t);
    struct rc_sf_table *expected = NULL;
    if (t == NULL)
      return false;
    if (!__atomic_compare_exchange_n(&rc_sft, &expected, t, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE))
      munmap(t, sizeof *t);
  }
  /* Spin, then yield the CPU a bounded number of times: a holder that was
   * preempted (a busy machine: interpreter threads capture at once, with
   * the GIL released around their system calls) needs the CPU back, and a
   * capture that gives up records no script frames, so a rule on them
   * cannot match.  Bounded, since the holder may be the thread a signal
   * handler interrupted, which no wait lets finish. */
  for (int spins = 0; spins < 1000 + 200; spins++) {
    int held = __atomic_load_n(&rc_sf_lock_word, __ATOMIC_RELAXED);
    if ((held == 0 || held != rc_pid) &&
        __atomic_compare_exchange_n(&rc_sf_lock_word, &held, (int)rc_pid, false,
                                    __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
      return true;
    if (spins < 1000)
      __builtin_ia32_pause();
    else
      (void)rc_syscall(SYS_sched_yield);
  }
  return false;
}

void rc_sf_unlock(void)
{
  __atomic_store_n(&rc_sf_lock_word, 0, __ATOMIC_RELEASE);
}

static uint64_t mix(uint64_t h, const char *s, size_t n)
{
  for (size_t i = 0; i < n; i++)
    h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
  return h;
}

static bool same(const struct rc_sf_loc *e, unsigned lang, const char *file, size_t flen,
                 const char *func, size_t fnlen, int line)
{
  const char *ef = rc_sft->text + e->file_off, *en = rc_sft->text + e->func_off;
  return e->lang == lang && e->line == line && strncmp(ef, file, flen) == 0 && ef[flen] == '\0' &&
         strncmp(en, func, fnlen) == 0 && en[fnlen] == '\0';
}

static uint32_t copy(const char *s, size_t n)
{
  uint32_t off = rc_sf_used;
  memcpy(rc_sft->text + off, s, n);
  rc_sft->text[off + n] = '\0';
  rc_sf_used += (uint32_t)n + 1;
  return off;
}

uint32_t rc_sf_intern(unsigned lang, const char *file, size_t flen, const char *func,
                      size_t fnlen, int line)
{
  if (flen > RC_SF_NAME_MAX)
    flen = RC_SF_NAME_MAX;
  if (fnlen > RC_SF_NAME_MAX)
    fnlen = RC_SF_NAME_MAX;
  /* the NUL between them: ("ab", "c") and ("a", "bc") hash apart */
  uint64_t h = 0xcbf29ce484222325ull ^ lang ^ (uint64_t)(uint32_t)line << 8;
  h = mix(mix(mix(h, file, flen), "", 1), func, fnlen);
  uint32_t slot = (uint32_t)(h >> 32) & (RC_SF_HASH - 1);
  for (uint32_t probes = 0; probes < RC_SF_HASH; probes++, slot = (slot + 1) & (RC_SF_HASH - 1)) {
    uint32_t id = rc_sft->by_hash[slot];
    if (id == 0)
      break;
    const struct rc_sf_loc *e = &rc_sft->loc[id];
    if (e->hash == h && same(e, lang, file, flen, func, fnlen, line))
      return id;
  }
  uint32_t id = rc_sf_nlocs;
  if (id >= RC_SF_MAX_LOCS || rc_sf_used + flen + fnlen + 2 > RC_SF_TEXT)
    return 0;
  struct rc_sf_loc *e = &rc_sft->loc[id];
  e->hash = h;
  e->line = line;
  e->lang = (uint8_t)lang;
  e->file_off = copy(file, flen);
  e->func_off = copy(func, fnlen);
  __atomic_store_n(&rc_sf_nlocs, id + 1, __ATOMIC_RELEASE);
  rc_sft->by_hash[slot] = id;
  return id;
}

/* ---- capture and report ---- */

int rc_sf_capture(uintptr_t *out, int max)
{
  if (max < 2 || !rc_sf_active())
    return 0;
  int lang = __atomic_load_n(&rc_sf_lang, __ATOMIC_ACQUIRE);
  int n = lang == RC_LANG_PYTHON ? rc_py_capture(out, max)
          : lang == RC_LANG_BASH ? rc_bash_capture(out, max)
                                 : 0;
  while (n > 0 && out[n - 1] == RC_SF_SEP)
    n--;
  return n;
}

void rc_sf_frame(uintptr_t tag, struct rc_frame *f)
{
  uint32_t id = (uint32_t)(tag & ~RC_SF_TAG);
  memset(f, 0, sizeof *f);
  if (id == 0 || id >= __atomic_load_n(&rc_sf_nlocs, __ATOMIC_ACQUIRE) || rc_sft == NULL)
    return;
  const struct rc_sf_loc *e = &rc_sft->loc[id];
  f->lang = e->lang;
  f->function = rc_sft->text + e->func_off;
  f->file = rc_sft->text + e->file_off;
  f->line = e->line;
}

static bool named(const struct rc_frame *f, const char *name)
{
  size_t n = strlen(name);
  /* "name", or a compiler's clone of it: "name.cold", "name.isra.0" */
  return f->function != NULL && strncmp(f->function, name, n) == 0 &&
         (f->function[n] == '\0' || f->function[n] == '.');
}

bool rc_sf_is_anchor(const struct rc_frame *f)
{
  switch (__atomic_load_n(&rc_sf_lang, __ATOMIC_ACQUIRE)) {
  case RC_LANG_PYTHON:
    return named(f, "_PyEval_EvalFrameDefault");
  case RC_LANG_BASH:
    return named(f, "execute_command_internal");
  default:
    return false;
  }
}

const char *rc_sf_lang_name(unsigned lang)
{
  /* "script": a language a handover from another build of rcleak named */
  return lang == RC_LANG_NATIVE   ? NULL
         : lang == RC_LANG_PYTHON ? "python"
         : lang == RC_LANG_BASH   ? "bash"
         : lang == RC_LANG_JS     ? "js"
                                  : "script";
}
