/* Rust symbol names, demangled the way Rust's own backtraces show them
 * (rustc-demangle's alternate form: no hashes, no crate disambiguators).
 *
 * Rust code has two manglings.  The legacy one (`_ZN4leak4main17h<hash>E`)
 * is Itanium C++ on the surface, but __cxa_demangle lives in libstdc++,
 * which a Rust program does not load; the v0 one (`_RNv...`, what Rust's own
 * standard library uses for many functions) is nothing C++ tools read.  A
 * Rust program's report would show raw symbols for exactly the frames that
 * matter, its innermost (std's File::open, Thread::new).
 *
 * Async-signal-safe: no allocation, the output goes to the caller's buffer,
 * recursion and backreferences are bounded.  Reference: "Rust Symbol
 * Mangling (v0)", RFC 2603, and the grammar in the rustc book. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "symbolize.h"

struct dm {
  const char *s; /* after "_R": backreferences count from here */
  size_t n, pos;
  char *out;
  size_t cap, len;
  unsigned depth;
  bool err;
  bool trunc; /* out is full: the rest is parsed, not printed */
};

#define RC_DM_MAX_DEPTH 64

/* A name longer than out (deeply generic code) is cut, ending in "...":
 * its start says what it is. */
static void put(struct dm *d, const char *p, size_t n)
{
  if (d->err || d->trunc)
    return;
  if (d->len + n + 4 >= d->cap) {
    d->trunc = true;
    return;
  }
  memcpy(d->out + d->len, p, n);
  d->len += n;
}

static void puts_(struct dm *d, const char *p)
{
  put(d, p, strlen(p));
}

static void put_u64(struct dm *d, uint64_t v)
{
  char b[24];
  size_t i = sizeof b;
  do {
    b[--i] = (char)('0' + v % 10);
    v /= 10;
  } while (v != 0);
  put(d, b + i, sizeof b - i);
}

static char peek(const struct dm *d)
{
  return d->pos < d->n ? d->s[d->pos] : '\0';
}

static bool eat(struct dm *d, char c)
{
  if (peek(d) != c)
    return false;
  d->pos++;
  return true;
}

/* {0-9a-zA-Z} "_": "_" is 0, otherwise the digits' value + 1. */
static uint64_t base62(struct dm *d)
{
  if (eat(d, '_'))
    return 0;
  uint64_t v = 0;
  for (;;) {
    char c = peek(d);
    unsigned x;
    if (c >= '0' && c <= '9')
      x = (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'z')
      x = 10u + (unsigned)(c - 'a');
    else if (c >= 'A' && c <= 'Z')
      x = 36u + (unsigned)(c - 'A');
    else if (c == '_') {
      d->pos++;
      return v + 1;
    } else {
      d->err = true;
      return 0;
    }
    d->pos++;
    if (v > (UINT64_MAX - x) / 62) {
      d->err = true;
      return 0;
    }
    v = v * 62 + x;
  }
}

/* "0" | nonzero {digit}: a 0 is a whole number (an empty identifier's
 * length, followed by the next identifier's digits). */
static uint64_t decimal(struct dm *d)
{
  if (peek(d) < '0' || peek(d) > '9') {
    d->err = true;
    return 0;
  }
  if (eat(d, '0'))
    return 0;
  uint64_t v = 0;
  while (peek(d) >= '0' && peek(d) <= '9') {
    v = v * 10 + (uint64_t)(peek(d) - '0');
    if (v > d->n) { /* no length can be longer than the symbol */
      d->err = true;
      return 0;
    }
    d->pos++;
  }
  return v;
}

/* [disambiguator] ["u"] decimal ["_"] bytes.  Punycode ("u") is shown as
 * encoded: rare, and still readable. */
struct ident {
  const char *p;
  size_t n;
  uint64_t dis;
};

static struct ident identifier(struct dm *d)
{
  struct ident id = {"", 0, 0};
  if (eat(d, 's'))
    id.dis = base62(d) + 1;
  (void)eat(d, 'u');
  uint64_t len = decimal(d);
  (void)eat(d, '_');
  if (d->err || len > d->n - d->pos) {
    d->err = true;
    return id;
  }
  id.p = d->s + d->pos;
  id.n = (size_t)len;
  d->pos += (size_t)len;
  return id;
}

static void path(struct dm *d, bool in_value);
static void type(struct dm *d);

/* The next element of a list ended by "E": false at its end, or at the
 * symbol's (an error). */
static bool more(struct dm *d)
{
  if (d->err || eat(d, 'E'))
    return false;
  if (d->pos >= d->n) {
    d->err = true;
    return false;
  }
  return true;
}

static bool enter(struct dm *d)
{
  if (d->err || ++d->depth > RC_DM_MAX_DEPTH) {
    d->err = true;
    return false;
  }
  return true;
}

/* "B" base62: parse again at an earlier position, then come back. */
static void backref(struct dm *d, void (*fn)(struct dm *, bool), bool arg)
{
  size_t at = d->pos - 1;
  uint64_t to = base62(d);
  if (d->err || to >= at) {
    d->err = true;
    return;
  }
  size_t back = d->pos;
  d->pos = (size_t)to;
  fn(d, arg);
  d->pos = back;
}

static void type_as_path_fn(struct dm *d, bool unused)
{
  (void)unused;
  type(d);
}

static void lifetime_skip(struct dm *d)
{
  (void)base62(d);
}

static void constant(struct dm *d);

static void const_fn(struct dm *d, bool unused)
{
  (void)unused;
  constant(d);
}

/* A const generic argument: an integer, bool or char of the types that
 * can carry one, "p" (a placeholder) or a backreference. */
static void constant(struct dm *d)
{
  if (!enter(d))
    return;
  if (eat(d, 'p'))
    puts_(d, "_");
  else if (eat(d, 'B'))
    backref(d, const_fn, false);
  else {
    char t = peek(d);
    d->pos++;
    bool neg = (t == 'a' || t == 's' || t == 'l' || t == 'x' || t == 'n' || t == 'i') && eat(d, 'n');
    uint64_t v = 0;
    unsigned digits = 0;
    while (peek(d) != '_' && !d->err) {
      char c = peek(d);
      unsigned x = c >= '0' && c <= '9' ? (unsigned)(c - '0')
                   : c >= 'a' && c <= 'f' ? 10u + (unsigned)(c - 'a')
                                          : 16u;
      if (x == 16 || ++digits > 16)
        d->err = true;
      v = v * 16 + x;
      d->pos++;
    }
    (void)eat(d, '_');
    if (t == 'b')
      puts_(d, v ? "true" : "false");
    else if (t == 'c') {
      char ch = (char)v;
      put(d, "'", 1);
      put(d, &ch, 1);
      put(d, "'", 1);
    } else if (strchr("ahtmyoj" "slxni", t) != NULL && t != '\0') {
      if (neg)
        put(d, "-", 1);
      put_u64(d, v);
    } else
      d->err = true;
  }
  d->depth--;
}

/* {generic-arg} "E", printed "<a, b>" (after "::" in a value path);
 * lifetimes are left out, and so is a list of nothing else. */
static void generic_args(struct dm *d, bool in_value)
{
  bool first = true;
  while (more(d)) {
    if (eat(d, 'L')) {
      lifetime_skip(d);
      continue;
    }
    puts_(d, first ? (in_value ? "::<" : "<") : ", ");
    first = false;
    if (eat(d, 'K'))
      constant(d);
    else
      type(d);
  }
  if (!first)
    put(d, ">", 1);
}

static void path_fn(struct dm *d, bool in_value)
{
  path(d, in_value);
}

static void path(struct dm *d, bool in_value)
{
  if (!enter(d))
    return;
  char c = peek(d);
  d->pos++;
  switch (c) {
  case 'C': {
    struct ident id = identifier(d);
    put(d, id.p, id.n);
    break;
  }
  case 'N': {
    char ns = peek(d);
    d->pos++;
    path(d, in_value);
    struct ident id = identifier(d);
    if (ns >= 'A' && ns <= 'Z') {
      put(d, "::{", 3);
      puts_(d, ns == 'C' ? "closure" : ns == 'S' ? "shim" : "");
      if (ns != 'C' && ns != 'S')
        put(d, &ns, 1);
      if (id.n) {
        put(d, ":", 1);
        put(d, id.p, id.n);
      }
      put(d, "#", 1);
      put_u64(d, id.dis);
      put(d, "}", 1);
    } else if (ns >= 'a' && ns <= 'z') {
      if (id.n) {
        put(d, "::", 2);
        put(d, id.p, id.n);
      }
    } else
      d->err = true;
    break;
  }
  case 'M': /* <T>: an inherent impl; its own path is not shown */
  case 'X': /* <T as Trait>: a trait impl */
    if (eat(d, 's'))
      (void)base62(d);
    {
      size_t out = d->len; /* the impl's path is parsed, not printed */
      bool trunc = d->trunc;
      path(d, false);
      d->len = out;
      d->trunc = trunc;
    }
    put(d, "<", 1);
    type(d);
    if (c == 'X') {
      put(d, " as ", 4);
      path(d, false);
    }
    put(d, ">", 1);
    break;
  case 'Y': /* <T as Trait>: in a trait's definition */
    put(d, "<", 1);
    type(d);
    put(d, " as ", 4);
    path(d, false);
    put(d, ">", 1);
    break;
  case 'I':
    path(d, in_value);
    generic_args(d, in_value);
    break;
  case 'B':
    backref(d, path_fn, in_value);
    break;
  default:
    d->err = true;
  }
  d->depth--;
}

static const char *basic_type(char c)
{
  switch (c) {
  case 'a': return "i8";
  case 'b': return "bool";
  case 'c': return "char";
  case 'd': return "f64";
  case 'e': return "str";
  case 'f': return "f32";
  case 'h': return "u8";
  case 'i': return "isize";
  case 'j': return "usize";
  case 'l': return "i32";
  case 'm': return "u32";
  case 'n': return "i128";
  case 'o': return "u128";
  case 'p': return "_";
  case 's': return "i16";
  case 't': return "u16";
  case 'u': return "()";
  case 'v': return "...";
  case 'x': return "i64";
  case 'y': return "u64";
  case 'z': return "!";
  default: return NULL;
  }
}

static void binder_skip(struct dm *d)
{
  if (eat(d, 'G'))
    (void)base62(d);
}

static void fn_sig(struct dm *d)
{
  binder_skip(d);
  if (eat(d, 'U'))
    puts_(d, "unsafe ");
  if (eat(d, 'K')) {
    puts_(d, "extern \"");
    if (eat(d, 'C'))
      put(d, "C", 1);
    else {
      struct ident id = identifier(d);
      for (size_t i = 0; i < id.n; i++)
        put(d, id.p[i] == '_' ? "-" : &id.p[i], 1);
    }
    puts_(d, "\" ");
  }
  puts_(d, "fn(");
  bool first = true;
  while (more(d)) {
    if (!first)
      put(d, ", ", 2);
    first = false;
    type(d);
  }
  put(d, ")", 1);
  if (peek(d) == 'u')
    d->pos++; /* returns () */
  else {
    puts_(d, " -> ");
    type(d);
  }
}

static void dyn_bounds(struct dm *d)
{
  binder_skip(d);
  puts_(d, "dyn ");
  bool first = true;
  while (more(d)) {
    if (!first)
      puts_(d, " + ");
    first = false;
    path(d, false);
    /* Trait<A, Assoc = T>: bindings join the trait's own arguments */
    bool args = d->len > 0 && d->out[d->len - 1] == '>' && !d->trunc;
    bool any = false;
    while (!d->err && eat(d, 'p')) {
      struct ident id = identifier(d);
      if (args && !any)
        d->len--; /* reopen "<...>" */
      puts_(d, args || any ? ", " : "<");
      any = true;
      put(d, id.p, id.n);
      puts_(d, " = ");
      type(d);
    }
    if (any)
      put(d, ">", 1);
  }
  if (eat(d, 'L'))
    lifetime_skip(d);
  else
    d->err = true;
}

static void type(struct dm *d)
{
  if (!enter(d))
    return;
  char c = peek(d);
  const char *basic = basic_type(c);
  if (basic != NULL) {
    d->pos++;
    puts_(d, basic);
    d->depth--;
    return;
  }
  d->pos++;
  switch (c) {
  case 'R':
  case 'Q':
    put(d, "&", 1);
    if (eat(d, 'L'))
      lifetime_skip(d);
    if (c == 'Q')
      puts_(d, "mut ");
    type(d);
    break;
  case 'P':
    puts_(d, "*const ");
    type(d);
    break;
  case 'O':
    puts_(d, "*mut ");
    type(d);
    break;
  case 'A':
    put(d, "[", 1);
    type(d);
    put(d, "; ", 2);
    constant(d);
    put(d, "]", 1);
    break;
  case 'S':
    put(d, "[", 1);
    type(d);
    put(d, "]", 1);
    break;
  case 'T': {
    unsigned n = 0;
    put(d, "(", 1);
    while (more(d)) {
      if (n++)
        put(d, ", ", 2);
      type(d);
    }
    put(d, n == 1 ? ",)" : ")", n == 1 ? 2 : 1);
    break;
  }
  case 'F':
    fn_sig(d);
    break;
  case 'D':
    dyn_bounds(d);
    break;
  case 'B':
    backref(d, type_as_path_fn, false);
    break;
  default: /* a named type: a path */
    d->pos--;
    path(d, false);
  }
  d->depth--;
}

/* Legacy: "_ZN" {decimal bytes} "E", the last element "h" + 16 hex digits
 * (17 bytes): the hash, left out.  Escapes: $LT$ < and so on, $uXX$ a code
 * point, ".." a path separator inside an element. */
static bool legacy_hash(const char *p, size_t n)
{
  if (n != 17 || p[0] != 'h')
    return false;
  for (size_t i = 1; i < 17; i++)
    if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
      return false;
  return true;
}

static void legacy_element(struct dm *d, const char *p, size_t n)
{
  static const struct {
    const char *esc, *to;
  } escapes[] = {{"$SP$", "@"}, {"$BP$", "*"}, {"$RF$", "&"}, {"$LT$", "<"},
                 {"$GT$", ">"}, {"$LP$", "("}, {"$RP$", ")"}, {"$C$", ","}};
  if (n >= 2 && p[0] == '_' && p[1] == '$') {
    p++;
    n--;
  }
  for (size_t i = 0; i < n && !d->err;) {
    if (p[i] == '.' && i + 1 < n && p[i + 1] == '.') {
      put(d, "::", 2);
      i += 2;
      continue;
    }
    if (p[i] == '$') {
      bool done = false;
      for (size_t k = 0; k < sizeof escapes / sizeof escapes[0] && !done; k++) {
        size_t el = strlen(escapes[k].esc);
        if (n - i >= el && memcmp(p + i, escapes[k].esc, el) == 0) {
          puts_(d, escapes[k].to);
          i += el;
          done = true;
        }
      }
      if (!done && n - i >= 5 && p[i + 1] == 'u') { /* $u7e$ */
        unsigned v = 0;
        size_t j = i + 2;
        for (; j < n && p[j] != '$'; j++) {
          char c = p[j];
          unsigned x = c >= '0' && c <= '9' ? (unsigned)(c - '0')
                       : c >= 'a' && c <= 'f' ? 10u + (unsigned)(c - 'a')
                                              : 256u;
          if (x == 256 || j - i > 4) {
            d->err = true;
            return;
          }
          v = v * 16 + x;
        }
        if (j >= n || v == 0 || v > 0x7e) {
          d->err = true;
          return;
        }
        char ch = (char)v;
        put(d, &ch, 1);
        i = j + 1;
        done = true;
      }
      if (!done) {
        d->err = true;
        return;
      }
      continue;
    }
    put(d, p + i, 1);
    i++;
  }
}

/* The name's length, "..." appended if it was cut; 0 if unreadable. */
static size_t finish(struct dm *d)
{
  if (d->err || d->len == 0)
    return 0;
  if (d->trunc) {
    memcpy(d->out + d->len, "...", 3);
    d->len += 3;
  }
  d->out[d->len] = '\0';
  return d->len;
}

static size_t legacy(const char *sym, size_t n, char *out, size_t cap)
{
  struct dm d = {sym, n, 3, out, cap, 0, 0, false, false}; /* after "_ZN" */
  const char *el[64];
  size_t len[64], count = 0;
  while (!d.err && peek(&d) != 'E') {
    uint64_t l = decimal(&d);
    if (d.err || l > n - d.pos || count == 64)
      return 0;
    el[count] = sym + d.pos;
    len[count++] = (size_t)l;
    d.pos += (size_t)l;
  }
  /* After the "E": nothing, or a suffix the compiler added (".llvm.123") */
  if (d.err || d.pos >= n || (d.pos + 1 != n && sym[d.pos + 1] != '.') || count < 2 ||
      !legacy_hash(el[count - 1], len[count - 1]))
    return 0; /* not Rust's: C++'s to demangle, or nothing */
  for (size_t i = 0; i + 1 < count; i++) {
    if (i)
      put(&d, "::", 2);
    legacy_element(&d, el[i], len[i]);
  }
  return finish(&d);
}

size_t rc_demangle_rust(const char *sym, char *out, size_t cap)
{
  if (sym == NULL || cap == 0)
    return 0;
  size_t n = strlen(sym);
  if (n > 3 && memcmp(sym, "_ZN", 3) == 0)
    return legacy(sym, n, out, cap);
  if (n < 3 || sym[0] != '_' || sym[1] != 'R')
    return 0;
  /* A suffix the compiler or linker added (".llvm.123", ".cold") is no
   * part of the name; v0 names have no dot of their own. */
  const char *dot = memchr(sym, '.', n);
  if (dot != NULL)
    n = (size_t)(dot - sym);
  struct dm d = {sym + 2, n - 2, 0, out, cap, 0, 0, false, false};
  if (peek(&d) >= '0' && peek(&d) <= '9' && decimal(&d) != 0)
    return 0; /* an encoding version this does not know */
  if (d.err || !(peek(&d) >= 'A' && peek(&d) <= 'Z'))
    return 0;
  path(&d, true);
  /* What may follow (the instantiating crate, a vendor suffix) is not
   * shown. */
  return finish(&d);
}
