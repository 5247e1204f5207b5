/* rcleak's own x86_64 stack walker (see stackwalk.h).
 *
 * Per frame the walker needs three things from the call-frame information:
 * how to compute the CFA (the caller's rsp), where the return address is, and
 * where the caller's rbp is (the only callee-saved register a CFA rule on
 * x86_64 is ever based on).  Those are derived once per address by running
 * the FDE's CFA program, packed into 28 bits and kept in a direct-mapped,
 * lock-free cache of 2,048 words: one word per entry, written with a single
 * store, so a reader sees either an old complete entry or a new complete one.
 * Anything the packing cannot express is recomputed each time; anything the
 * interpreter does not understand (register rules based on other registers,
 * CFA expressions other than GCC's stack-realignment one and the PLT stubs')
 * ends the walk there.  Return addresses never point into such code in
 * practice (it is hand-written assembly or a prologue, reached only through
 * a signal), and the alternative, loading a general unwinder, cannot be done
 * from a signal handler, where captures happen too.
 *
 * Semantics follow libgcc's _Unwind_Backtrace: a return address whose code
 * has no FDE is reported and ends the walk; an FDE whose return-address rule
 * is "undefined" (_start, clone's child) ends it without a caller; signal
 * frames (glibc's __restore_rt, recognised by the 'S' augmentation and its
 * exact instruction bytes) continue into the interrupted code, whose pc is
 * then looked up as is rather than minus one. */
#include "stackwalk.h"

#include <dlfcn.h>
#include <stddef.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <ucontext.h>
#include <unistd.h>

#include "dwarf_read.h"
#include "rc.h"

/* perfmap.c (weak: the walker's unit test links without it) */
extern bool rc_perfmap_exists(void) __attribute__((weak));

#if RC_UNWIND_SUPPORTED && defined(DLFO_STRUCT_HAS_EH_DBASE)

typedef int (*rc_find_object_fn)(void *, struct dl_find_object *);
static rc_find_object_fn rc_find_object;
static uint32_t rc_generation;

/* ---- rules ---- */

enum { CFA_RSP, CFA_RBP, CFA_DEREF_RBP };       /* CFA = rsp+off | rbp+off | *(rbp+off) */
enum { BP_SAME, BP_AT_CFA };                    /* caller's rbp: unchanged | at CFA+off */
enum { R_EMPTY, R_FRAME, R_END, R_UNSUPPORTED, R_SIGNAL, R_NOINFO };

struct rule {
  long cfa_off;
  long bp_off;
  int kind;
  int cfa_kind;
  int bp_kind;
};

/* ---- the rule cache ---- */

#define CACHE_BITS 11
#define CACHE_SIZE (1u << CACHE_BITS)
#define RULE_BITS (64 - (47 - CACHE_BITS)) /* the tag is a 47-bit address >> CACHE_BITS */

/* In .bss, so a process that never walks pays nothing.  The first walk
 * makes its four pages writable in one madvise: left to demand paging,
 * each would fault twice (a read maps the zero page, the first store copies
 * it), some 16 faults in a short-lived process's only walk. */
static uint64_t rc_rule_cache[CACHE_SIZE] RC_LARGE __attribute__((aligned(4096)));
static int rc_rule_cache_ready;

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

static void cache_prepare(void)
{
  if (RC_LIKELY(__atomic_load_n(&rc_rule_cache_ready, __ATOMIC_RELAXED)) ||
      __atomic_exchange_n(&rc_rule_cache_ready, 1, __ATOMIC_ACQ_REL))
    return;
  int saved = errno;
  if (rc_syscall(SYS_madvise, rc_rule_cache, sizeof rc_rule_cache, MADV_POPULATE_WRITE) != 0)
    for (size_t i = 0; i < CACHE_SIZE; i += 4096 / sizeof(uint64_t)) {
      uint64_t zero = 0; /* a write even when it fails, and keeps any entry */
      (void)__atomic_compare_exchange_n(&rc_rule_cache[i], &zero, 0, false, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED);
    }
  errno = saved;
}

/* Index mixes high bits into low ones (xor with the tag), and stays
 * reversible, so the tag (address >> CACHE_BITS) identifies the address
 * exactly: no two addresses can share an entry's key. */
static inline uint32_t cache_index(uintptr_t a)
{
  return (uint32_t)((a ^ (a >> CACHE_BITS)) & (CACHE_SIZE - 1));
}

static bool fits(long v, int bits) { return v >= -(1L << (bits - 1)) && v < (1L << (bits - 1)); }

/* kind 3 bits | cfa_kind 2 | cfa_off/8 signed 14 | bp_kind 1 | bp_off/8 signed 8 | spare 2 */
static bool pack(const struct rule *r, uint64_t *out)
{
  if (r->cfa_off % 8 || r->bp_off % 8 || !fits(r->cfa_off / 8, 14) || !fits(r->bp_off / 8, 8))
    return false;
  *out = (uint64_t)r->kind | (uint64_t)r->cfa_kind << 3 |
         ((uint64_t)(r->cfa_off / 8) & 0x3fff) << 5 | (uint64_t)r->bp_kind << 19 |
         ((uint64_t)(r->bp_off / 8) & 0xff) << 20;
  return true;
}

static void unpack(uint64_t w, struct rule *r)
{
  r->kind = (int)(w & 7);
  r->cfa_kind = (int)(w >> 3 & 3);
  r->cfa_off = (long)((int64_t)(w << (64 - 19)) >> (64 - 14)) * 8; /* bits 5..18 */
  r->bp_kind = (int)(w >> 19 & 1);
  r->bp_off = (long)((int64_t)(w << (64 - 28)) >> (64 - 8)) * 8; /* bits 20..27 */
}

/* ---- DWARF decoding ---- */

#define DW_EH_PE_omit 0xff
#define DW_EH_PE_indirect 0x80

/* An encoded pointer.  datarel is relative to dbase (the .eh_frame_hdr
 * table's base); textrel/funcrel/aligned never occur in x86_64 .eh_frame. */
static uintptr_t pointer(struct rc_dw_cur *c, uint8_t enc, uintptr_t dbase)
{
  if (enc == DW_EH_PE_omit)
    return 0;
  uintptr_t here = (uintptr_t)c->p, v;
  switch (enc & 0x0f) {
  case 0x00: v = (uintptr_t)rc_dw_fixed(c, 8); break;
  case 0x01: v = (uintptr_t)rc_dw_uleb(c); break;
  case 0x02: v = (uintptr_t)rc_dw_fixed(c, 2); break;
  case 0x03: v = (uintptr_t)rc_dw_fixed(c, 4); break;
  case 0x04: v = (uintptr_t)rc_dw_fixed(c, 8); break;
  case 0x09: v = (uintptr_t)rc_dw_sleb(c); break;
  case 0x0a: v = (uintptr_t)(int64_t)(int16_t)rc_dw_fixed(c, 2); break;
  case 0x0b: v = (uintptr_t)(int64_t)(int32_t)rc_dw_fixed(c, 4); break;
  case 0x0c: v = (uintptr_t)rc_dw_fixed(c, 8); break;
  default: c->bad = true; return 0;
  }
  switch (enc & 0x70) {
  case 0x00: break;
  case 0x10: v += here; break;
  case 0x30: v += dbase; break;
  default: c->bad = true; return 0;
  }
  return v; /* DW_EH_PE_indirect: only personality pointers, which we skip */
}

/* ---- the CFA program ---- */

struct cfa_state {
  long cfa_off;
  long bp_off;
  int cfa_kind;   /* CFA_*, or -1 (unsupported) */
  int bp_kind;    /* BP_SAME, BP_AT_CFA or -1 (unsupported) */
  int ra;         /* 0 at CFA-8, 1 undefined, -1 unsupported */
};

struct cie {
  int64_t data_align;
  uint64_t code_align;
  uint64_t ra_reg;
  uint8_t fde_enc;
  bool has_aug_data, signal;
  const uint8_t *insns, *insns_end;
};

enum { DW_RBP = 6, DW_RSP = 7 }; /* DWARF register numbers */

static void reg_offset(struct cfa_state *s, uint64_t reg, long off, const struct cie *cie)
{
  if (reg == DW_RBP) {
    s->bp_kind = BP_AT_CFA;
    s->bp_off = off;
  } else if (reg == cie->ra_reg) {
    s->ra = off == -8 ? 0 : -1;
  }
}

/* Any rule but "at CFA+n" for rbp (register, expression, undefined) is one
 * this walker does not follow; for the return address, "undefined" (ra_rule
 * 1) means the outermost frame. */
static void reg_other_rule(struct cfa_state *s, uint64_t reg, const struct cie *cie, int ra_rule)
{
  if (reg == DW_RBP)
    s->bp_kind = -1;
  else if (reg == cie->ra_reg)
    s->ra = ra_rule;
}

/* Runs the program until the location passes target.  init is the CIE's
 * state (for DW_CFA_restore), NULL while running the CIE itself. */
static bool run_cfa(struct rc_dw_cur *c, uintptr_t loc, uintptr_t target, const struct cie *cie,
                    struct cfa_state *s, const struct cfa_state *init)
{
  struct cfa_state stack[8];
  unsigned depth = 0;
  while (c->p < c->end && !c->bad) {
    uint8_t op = *c->p++;
    uint64_t reg, delta = 0;
    switch (op >> 6) {
    case 1:
      delta = (op & 0x3f) * cie->code_align;
      goto advance;
    case 2:
      reg_offset(s, op & 0x3f, (long)rc_dw_uleb(c) * cie->data_align, cie);
      continue;
    case 3:
      reg = op & 0x3f;
      goto restore;
    default:
      break;
    }
    switch (op) {
    case 0x00: /* nop */
      continue;
    case 0x01: /* set_loc */
      {
        uintptr_t nl = pointer(c, cie->fde_enc, 0);
        if (nl > target)
          return true;
        loc = nl;
      }
      continue;
    case 0x02: delta = rc_dw_fixed(c, 1) * cie->code_align; goto advance;
    case 0x03: delta = rc_dw_fixed(c, 2) * cie->code_align; goto advance;
    case 0x04: delta = rc_dw_fixed(c, 4) * cie->code_align; goto advance;
    case 0x05: reg = rc_dw_uleb(c); reg_offset(s, reg, (long)rc_dw_uleb(c) * cie->data_align, cie); continue;
    case 0x06: reg = rc_dw_uleb(c); goto restore;
    case 0x07: reg_other_rule(s, rc_dw_uleb(c), cie, 1); continue;   /* undefined */
    case 0x08: reg = rc_dw_uleb(c);                                   /* same_value */
      if (reg == DW_RBP)
        s->bp_kind = BP_SAME;
      else if (reg == cie->ra_reg)
        s->ra = -1;
      continue;
    case 0x09: reg = rc_dw_uleb(c); (void)rc_dw_uleb(c); reg_other_rule(s, reg, cie, -1); continue;
    case 0x0a:
      if (depth == RC_ARRAY_SIZE(stack))
        return false;
      stack[depth++] = *s;
      continue;
    case 0x0b:
      if (depth == 0)
        return false;
      {
        struct cfa_state saved = stack[--depth];
        /* restore_state restores register rules; the CFA rule too (GCC
         * relies on that in epilogues). */
        *s = saved;
      }
      continue;
    case 0x0c: /* def_cfa */
      reg = rc_dw_uleb(c);
      s->cfa_off = (long)rc_dw_uleb(c);
      s->cfa_kind = reg == DW_RSP ? CFA_RSP : reg == DW_RBP ? CFA_RBP : -1;
      continue;
    case 0x0d: /* def_cfa_register */
      reg = rc_dw_uleb(c);
      if (s->cfa_kind == CFA_DEREF_RBP)
        s->cfa_off = 0; /* the old offset belonged to the expression */
      s->cfa_kind = reg == DW_RSP ? CFA_RSP : reg == DW_RBP ? CFA_RBP : -1;
      continue;
    case 0x0e: s->cfa_off = (long)rc_dw_uleb(c); continue;                    /* def_cfa_offset */
    case 0x0f: /* def_cfa_expression */
      {
        uint64_t len = rc_dw_uleb(c);
        if ((uint64_t)(c->end - c->p) < len)
          return false;
        /* GCC's stack realignment (DRAP): DW_OP_breg6 <off>; DW_OP_deref */
        struct rc_dw_cur e = {c->p, c->p + len, false};
        c->p += len;
        if (len >= 3 && *e.p == 0x76) {
          e.p++;
          long off = (long)rc_dw_sleb(&e);
          if (!e.bad && e.p + 1 == e.end && *e.p == 0x06) {
            s->cfa_kind = CFA_DEREF_RBP;
            s->cfa_off = off;
            continue;
          }
        }
        /* The linker's lazy-binding PLT stubs (a signal can interrupt one):
         * CFA = rsp + 8, + 8 more once the stub's push has run, that is
         * from byte 11 of its 16 (DW_OP_breg7 8; DW_OP_breg16 0;
         * DW_OP_lit15; DW_OP_and; DW_OP_lit11; DW_OP_ge; DW_OP_lit3;
         * DW_OP_shl; DW_OP_plus).  target is the pc the rule is for. */
        static const uint8_t plt[] = {0x77, 0x08, 0x80, 0x00, 0x3f, 0x1a,
                                      0x3b, 0x2a, 0x33, 0x24, 0x22};
        if (len == sizeof plt && memcmp(e.p, plt, sizeof plt) == 0) {
          s->cfa_kind = CFA_RSP;
          s->cfa_off = (target & 15) >= 11 ? 16 : 8;
          continue;
        }
        s->cfa_kind = -1;
      }
      continue;
    case 0x10: /* expression */
    case 0x16: /* val_expression */
      {
        reg = rc_dw_uleb(c);
        uint64_t len = rc_dw_uleb(c);
        if ((uint64_t)(c->end - c->p) < len)
          return false;
        c->p += len;
        reg_other_rule(s, reg, cie, -1);
      }
      continue;
    case 0x11: reg = rc_dw_uleb(c); reg_offset(s, reg, (long)rc_dw_sleb(c) * cie->data_align, cie); continue;
    case 0x12: /* def_cfa_sf */
      reg = rc_dw_uleb(c);
      s->cfa_off = (long)rc_dw_sleb(c) * cie->data_align;
      s->cfa_kind = reg == DW_RSP ? CFA_RSP : reg == DW_RBP ? CFA_RBP : -1;
      continue;
    case 0x13: s->cfa_off = (long)rc_dw_sleb(c) * cie->data_align; continue;
    case 0x14: reg = rc_dw_uleb(c); (void)rc_dw_uleb(c); reg_other_rule(s, reg, cie, -1); continue;
    case 0x15: reg = rc_dw_uleb(c); (void)rc_dw_sleb(c); reg_other_rule(s, reg, cie, -1); continue;
    case 0x2e: (void)rc_dw_uleb(c); continue;                                  /* GNU_args_size */
    case 0x2f: reg = rc_dw_uleb(c); reg_offset(s, reg, -(long)rc_dw_uleb(c) * cie->data_align, cie); continue;
    default:
      return false;
    }
  advance:
    if (loc + delta > target)
      return true;
    loc += delta;
    continue;
  restore:
    if (init == NULL)
      return false;
    if (reg == DW_RBP) {
      s->bp_kind = init->bp_kind;
      s->bp_off = init->bp_off;
    } else if (reg == cie->ra_reg) {
      s->ra = init->ra;
    }
  }
  return !c->bad;
}

static bool parse_cie(const uint8_t *p, struct cie *cie)
{
  uint32_t len;
  memcpy(&len, p, 4);
  if (len == 0 || len == 0xffffffffu)
    return false;
  struct rc_dw_cur c = {p + 4, p + 4 + len, false};
  if (rc_dw_fixed(&c, 4) != 0)
    return false; /* not a CIE */
  uint8_t version = (uint8_t)rc_dw_fixed(&c, 1);
  const char *aug = (const char *)c.p;
  size_t auglen = strnlen(aug, (size_t)(c.end - c.p));
  c.p += auglen + 1;
  cie->code_align = rc_dw_uleb(&c);
  cie->data_align = rc_dw_sleb(&c);
  cie->ra_reg = version == 1 ? rc_dw_fixed(&c, 1) : rc_dw_uleb(&c);
  cie->fde_enc = 0;
  cie->has_aug_data = false;
  cie->signal = false;
  if (aug[0] == 'z') {
    uint64_t alen = rc_dw_uleb(&c);
    const uint8_t *after = c.p + alen;
    cie->has_aug_data = true;
    for (size_t i = 1; i < auglen && !c.bad; i++) {
      switch (aug[i]) {
      case 'R': cie->fde_enc = (uint8_t)rc_dw_fixed(&c, 1); break;
      case 'L': (void)rc_dw_fixed(&c, 1); break;
      case 'P': {
        uint8_t enc = (uint8_t)rc_dw_fixed(&c, 1);
        (void)pointer(&c, enc & (uint8_t)~DW_EH_PE_indirect, 0);
        break;
      }
      case 'S': cie->signal = true; break;
      case 'B': break; /* AArch64 B-key; not on x86_64 but harmless */
      default: return false;
      }
    }
    if (after > c.end)
      return false;
    c.p = after;
  } else if (aug[0] != '\0') {
    return false;
  }
  cie->insns = c.p;
  cie->insns_end = c.end;
  return !c.bad && cie->code_align != 0;
}

static int32_t rd32(const uint8_t *p)
{
  int32_t v;
  memcpy(&v, p, 4);
  return v;
}

/* The FDE covering pc, from the object's .eh_frame_hdr binary-search table. */
static const uint8_t *find_fde(uintptr_t pc, struct cie *cie, uintptr_t *start)
{
  struct dl_find_object fo;
  if (rc_find_object((void *)pc, &fo) != 0 || fo.dlfo_eh_frame == NULL)
    return NULL;
  const uint8_t *hdr = fo.dlfo_eh_frame;
  if (hdr[0] != 1 || hdr[3] != 0x3b) /* version 1, table datarel|sdata4 */
    return NULL;
  struct rc_dw_cur c = {hdr + 4, hdr + 4 + 32, false};
  (void)pointer(&c, hdr[1], (uintptr_t)hdr);
  uint64_t count = pointer(&c, hdr[2], (uintptr_t)hdr);
  if (c.bad || count == 0)
    return NULL;
  const uint8_t *table = c.p; /* pairs of int32: initial location, FDE */
  uintptr_t base = (uintptr_t)hdr;
  size_t lo = 0, hi = count;
  while (hi - lo > 1) { /* last entry whose initial location <= pc */
    size_t mid = lo + (hi - lo) / 2;
    if (base + (intptr_t)rd32(table + 8 * mid) <= pc)
      lo = mid;
    else
      hi = mid;
  }
  if (base + (intptr_t)rd32(table + 8 * lo) > pc)
    return NULL;
  const uint8_t *fde = (const uint8_t *)(base + (intptr_t)rd32(table + 8 * lo + 4));
  uint32_t len, cie_off;
  memcpy(&len, fde, 4);
  memcpy(&cie_off, fde + 4, 4);
  if (len == 0 || len == 0xffffffffu || cie_off == 0)
    return NULL;
  if (!parse_cie(fde + 4 - cie_off, cie))
    return NULL;
  struct rc_dw_cur f = {fde + 8, fde + 4 + len, false};
  uintptr_t begin = pointer(&f, cie->fde_enc, 0);
  uintptr_t range = pointer(&f, cie->fde_enc & 0x0f, 0);
  if (f.bad || pc < begin || pc - begin >= range)
    return NULL;
  *start = begin;
  return fde;
}

/* glibc's __restore_rt: mov $15,%rax; syscall (what libgcc checks too). */
static bool is_sigreturn(uintptr_t pc)
{
  static const uint8_t code[] = {0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05};
  return memcmp((const void *)pc, code, sizeof code) == 0;
}

static void compute_rule(uintptr_t lookup, uintptr_t pc, struct rule *r)
{
  struct cie cie;
  uintptr_t start;
  const uint8_t *fde = find_fde(lookup, &cie, &start);
  r->kind = R_UNSUPPORTED;
  r->cfa_kind = CFA_RSP;
  r->cfa_off = 0;
  r->bp_kind = BP_SAME;
  r->bp_off = 0;
  if (fde == NULL) {
    r->kind = R_NOINFO; /* no unwind information: the last frame, but see fp_step */
    return;
  }
  if (cie.signal) {
    if (is_sigreturn(pc))
      r->kind = R_SIGNAL;
    return;
  }
  struct cfa_state init = {.cfa_off = 8, .bp_off = 0, .cfa_kind = CFA_RSP, .bp_kind = BP_SAME, .ra = -1};
  struct rc_dw_cur c = {cie.insns, cie.insns_end, false};
  if (!run_cfa(&c, start, UINTPTR_MAX, &cie, &init, NULL))
    return;
  struct cfa_state s = init;
  uint32_t len;
  memcpy(&len, fde, 4);
  struct rc_dw_cur f = {fde + 8, fde + 4 + len, false};
  (void)pointer(&f, cie.fde_enc, 0);
  (void)pointer(&f, cie.fde_enc & 0x0f, 0);
  if (cie.has_aug_data) {
    uint64_t alen = rc_dw_uleb(&f);
    f.p += alen;
  }
  if (f.bad || f.p > f.end || !run_cfa(&f, start, lookup, &cie, &s, &init))
    return;
  if (s.ra == 1) {
    r->kind = R_END;
    return;
  }
  if (s.ra != 0 || s.cfa_kind < 0 || s.bp_kind < 0)
    return;
  r->kind = R_FRAME;
  r->cfa_kind = s.cfa_kind;
  r->cfa_off = s.cfa_off;
  r->bp_kind = s.bp_kind;
  r->bp_off = s.bp_off;
}

static void rule_for(uintptr_t lookup, uintptr_t pc, struct rule *r)
{
  if ((lookup >> 47) == 0) {
    uint64_t *slot = &rc_rule_cache[cache_index(lookup)];
    uint64_t w = __atomic_load_n(slot, __ATOMIC_RELAXED);
    if ((w >> RULE_BITS) == (lookup >> CACHE_BITS) && (w & 7) != R_EMPTY) {
      unpack(w, r);
      return;
    }
    compute_rule(lookup, pc, r);
    uint64_t packed;
    if (pack(r, &packed))
      __atomic_store_n(slot, (uint64_t)(lookup >> CACHE_BITS) << RULE_BITS | packed,
                       __ATOMIC_RELAXED);
    return;
  }
  compute_rule(lookup, pc, r);
}

/* ---- the walk ---- */

static inline void log_read(struct rc_unwind_log *log, uintptr_t addr, uintptr_t v)
{
  if (log == NULL)
    return;
  if (log->nreads < RC_UNWIND_LOG_MAX) {
    log->reads[log->nreads].addr = addr;
    log->reads[log->nreads].val = v;
    log->nreads++;
  } else {
    log->valid = false;
  }
}

/* A stack word: from the live stack, or from a copy of it (copy != NULL),
 * where a word outside the copy ends the walk like a corrupt frame would. */
static inline bool read_word(uintptr_t addr, const struct rc_unwind_copy *copy, uintptr_t *v)
{
  if (copy == NULL) {
    *v = *(const uintptr_t *)addr;
    return true;
  }
  if (addr < copy->lo || addr > copy->hi - sizeof(uintptr_t))
    return false;
  memcpy(v, copy->bytes + (addr - copy->lo), sizeof *v);
  return true;
}

static inline bool load(uintptr_t addr, struct rc_unwind_log *log,
                        const struct rc_unwind_copy *copy, uintptr_t *v)
{
  if (!read_word(addr, copy, v))
    return false;
  log_read(log, addr, *v);
  return true;
}

/* The caller's rbp, restored from a frame's save slot, is logged only when a
 * later frame's CFA is computed from it: programs keep data in rbp (a loop
 * counter, a pointer), and a log holding such a value would never replay.
 * Every logged address still depends only on values logged before it, so a
 * replay reads nothing a walk would not. */
struct bp_track {
  uintptr_t value, slot;
  bool initial; /* still the starting register */
  bool pending; /* read from slot, not yet logged */
};

/* The caller's rbp was saved at slot: read it, log it only if used. */
static inline bool bp_restore(struct bp_track *bp, uintptr_t slot, const struct rc_unwind_copy *copy)
{
  bp->slot = slot;
  bp->initial = false;
  bp->pending = true;
  return read_word(slot, copy, &bp->value);
}

static uintptr_t bp_use(struct bp_track *bp, struct rc_unwind_log *log)
{
  if (bp->initial && log != NULL)
    log->uses_bp0 = true;
  else if (bp->pending)
    log_read(log, bp->slot, bp->value);
  bp->pending = false;
  return bp->value;
}

/* ---- frames without unwind information ----
 *
 * Code a JIT compiled has no CFI, and neither has V8's embedded builtins:
 * a walk into JavaScript ends at its first frame.  Those frames do keep
 * the frame-pointer chain (V8's always; the JVM's with
 * -XX:+PreserveFramePointer), so where the runtime also tells what its
 * code is -- a perf map, which names the frames (perfmap.h) -- such a frame
 * is followed through rbp: the caller's rbp at [rbp], the return address at
 * [rbp+8], the caller's stack from rbp+16.  Only then: without a map the
 * frames could not be named anyway, and nothing else pays.
 *   rbp is only data there; it must lie above the stack pointer, within
 * RC_FP_SPAN of it (or at it: a frame with no locals), and each word is read through process_vm_readv, which
 * fails where a direct read would fault (a copy's words come from the
 * copy).  A walk that logs these reads replays them directly later, in
 * order, only after every earlier word matched: the same stack, mapped. */
#define RC_FP_SPAN (8u << 20)

static bool fp_enabled(void)
{
  static int state; /* 0 not asked, 1 yes, -1 no */
  int s = __atomic_load_n(&state, __ATOMIC_RELAXED);
  if (s == 0) {
    s = rc_perfmap_exists != NULL && rc_perfmap_exists() ? 1 : -1;
    __atomic_store_n(&state, s, __ATOMIC_RELAXED);
  }
  return s > 0;
}

/* What one walk knows: its pid (asked once: a fork child's is its own) and
 * the last page a read proved mapped, whose other words are read directly. */
struct fp_state {
  long pid;
  uintptr_t page;
};

static bool fp_word(uintptr_t addr, const struct rc_unwind_copy *copy, uintptr_t *v,
                    struct fp_state *st)
{
  if (copy != NULL)
    return read_word(addr, copy, v);
  uintptr_t page = addr & ~(uintptr_t)4095;
  if (st->page != 0 && page == st->page) {
    *v = *(const uintptr_t *)addr; /* aligned: inside the page proved mapped */
    return true;
  }
  struct iovec here = {v, sizeof *v}, there = {(void *)addr, sizeof *v};
  int saved = errno;
  if (st->pid == 0)
    st->pid = rc_syscall(SYS_getpid);
  bool ok = rc_syscall(SYS_process_vm_readv, st->pid, &here, 1, &there, 1, 0) == (long)sizeof *v;
  errno = saved;
  if (ok)
    st->page = page;
  return ok;
}

static inline __attribute__((always_inline)) int
walk(const struct rc_unwind_regs *regs, uintptr_t *pcs, int max, uintptr_t skip_lo,
     uintptr_t skip_hi, struct rc_unwind_log *log, const struct rc_unwind_copy *copy)
{
  if (rc_find_object == NULL)
    return -1;
  cache_prepare();
  uintptr_t pc = regs->pc, sp = regs->sp;
  struct bp_track bp = {regs->bp, 0, true, false};
  struct fp_state fps = {0, 0};
  bool exact = true;
  if (log != NULL) {
    log->pc0 = regs->pc;
    log->sp0 = regs->sp;
    log->bp0 = regs->bp;
    log->nreads = 0;
    log->uses_bp0 = false;
    log->valid = true;
    log->generation = rc_unwind_generation();
  }
  int n = 0;
  while (n < max) {
    struct rule r;
    rule_for(exact ? pc : pc - 1, pc, &r);
    if (r.kind == R_END)
      break;
    if (r.kind == R_UNSUPPORTED)
      break; /* a truncated stack beats loading another unwinder here */
    uintptr_t cfa, ra;
    if (r.kind == R_NOINFO) {
      if (!fp_enabled())
        break;
      uintptr_t fp = bp_use(&bp, log), caller_bp;
      if (fp < sp || fp - sp > RC_FP_SPAN || (fp & 7) != 0 ||
          !fp_word(fp, copy, &caller_bp, &fps) || !fp_word(fp + 8, copy, &ra, &fps))
        break;
      log_read(log, fp, caller_bp);
      log_read(log, fp + 8, ra);
      cfa = fp + 16;
      bp = (struct bp_track){caller_bp, fp, false, false};
      exact = false;
    } else if (r.kind == R_SIGNAL) {
      /* sp is the ucontext the kernel pushed (the handler's CFA) */
      uintptr_t uc = sp + offsetof(ucontext_t, uc_mcontext.gregs);
      if (!bp_restore(&bp, uc + REG_RBP * sizeof(greg_t), copy) ||
          !load(uc + REG_RSP * sizeof(greg_t), log, copy, &cfa) ||
          !load(uc + REG_RIP * sizeof(greg_t), log, copy, &ra))
        break;
      exact = true; /* the interrupted instruction itself, not a return address */
    } else {
      if (r.cfa_kind == CFA_RSP) {
        cfa = sp + (uintptr_t)r.cfa_off;
      } else {
        cfa = bp_use(&bp, log) + (uintptr_t)r.cfa_off;
        if (r.cfa_kind == CFA_DEREF_RBP && !load(cfa, log, copy, &cfa))
          break;
      }
      /* Callers live above callees: anything else is corrupt or foreign. */
      if (cfa <= sp || (cfa & 7) != 0)
        break;
      if (!load(cfa - 8, log, copy, &ra))
        break;
      if (r.bp_kind == BP_AT_CFA && !bp_restore(&bp, cfa + (uintptr_t)r.bp_off, copy))
        break;
      exact = false;
    }
    if (ra == 0)
      break;
    if (ra < skip_lo || ra >= skip_hi) {
      pcs[n++] = ra;
      skip_hi = 0; /* past the caller's own frames: store everything */
    }
    pc = ra;
    sp = cfa;
  }
  return n;
}

int rc_unwind_walk(const struct rc_unwind_regs *regs, uintptr_t *pcs, int max,
                   uintptr_t skip_lo, uintptr_t skip_hi, struct rc_unwind_log *log)
{
  return walk(regs, pcs, max, skip_lo, skip_hi, log, NULL);
}

int rc_unwind_walk_copy(const struct rc_unwind_regs *regs, uintptr_t *pcs, int max,
                        uintptr_t skip_lo, uintptr_t skip_hi, const struct rc_unwind_copy *copy)
{
  return walk(regs, pcs, max, skip_lo, skip_hi, NULL, copy);
}

bool rc_unwind_caller_start(uintptr_t ret, uintptr_t *start)
{
  struct cie cie;
  return ret != 0 && find_fde(ret - 1, &cie, start) != NULL;
}

uint32_t rc_unwind_generation(void) { return __atomic_load_n(&rc_generation, __ATOMIC_ACQUIRE); }

void rc_unwind_code_unmapped(void)
{
  __atomic_add_fetch(&rc_generation, 1, __ATOMIC_ACQ_REL);
  for (uint32_t i = 0; i < CACHE_SIZE; i++)
    __atomic_store_n(&rc_rule_cache[i], 0, __ATOMIC_RELAXED);
}

RC_HOT bool rc_unwind_init(void)
{
  rc_find_object = (rc_find_object_fn)dlsym(RTLD_DEFAULT, "_dl_find_object");
  return rc_find_object != NULL;
}

RC_HOT bool rc_unwind_object_range(uintptr_t addr, uintptr_t *lo, uintptr_t *hi)
{
  struct dl_find_object fo;
  if (rc_find_object == NULL || rc_find_object((void *)addr, &fo) != 0)
    return false;
  *lo = (uintptr_t)fo.dlfo_map_start;
  *hi = (uintptr_t)fo.dlfo_map_end;
  return true;
}

#else /* no walker on this platform or libc: stacks.c uses the general unwinders */

int rc_unwind_walk(const struct rc_unwind_regs *regs, uintptr_t *pcs, int max,
                   uintptr_t skip_lo, uintptr_t skip_hi, struct rc_unwind_log *log)
{
  (void)regs, (void)pcs, (void)max, (void)skip_lo, (void)skip_hi;
  if (log != NULL)
    log->valid = false;
  return -1;
}
int rc_unwind_walk_copy(const struct rc_unwind_regs *regs, uintptr_t *pcs, int max,
                        uintptr_t skip_lo, uintptr_t skip_hi, const struct rc_unwind_copy *copy)
{
  (void)regs, (void)pcs, (void)max, (void)skip_lo, (void)skip_hi, (void)copy;
  return -1;
}
uint32_t rc_unwind_generation(void) { return 0; }
bool rc_unwind_caller_start(uintptr_t ret, uintptr_t *start)
{
  (void)ret, (void)start;
  return false;
}
void rc_unwind_code_unmapped(void) {}
bool rc_unwind_init(void) { return false; }
bool rc_unwind_object_range(uintptr_t addr, uintptr_t *lo, uintptr_t *hi)
{
  (void)addr, (void)lo, (void)hi;
  return false;
}

#endif
