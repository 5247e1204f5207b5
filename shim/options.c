/* RCLEAK_OPTIONS parsing (see options.h).  No allocation: it may run in a
 * constructor before the program's allocator is ready. */
#include "options.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "rc.h"
#include "strbuf.h"

/* aligned(8), not the 32 GCC gives an object this size: the linker sorts
 * .bss by alignment (meson.build), which keeps it on the page of the other
 * small variables every process touches. */
struct rc_options rc_options __attribute__((aligned(8)));

static const unsigned RC_CLEANUP_DEFAULT =
    (1u << RC_KIND_CHILD) | (1u << RC_KIND_TIMER) | (1u << RC_KIND_ITIMER) |
    (1u << RC_KIND_TMPDIR) | (1u << RC_KIND_TMPFILE);

/* Storage of the path options, in bss: its pages are touched only when a
 * path is actually given. */
static char rc_option_paths[3][PATH_MAX] RC_LARGE;

/* The unset paths point here, not at a "" literal: a fork child that only
 * _exits still asks whether a JSON report is wanted, and a literal sits on a
 * read-only page of the library that the child has not mapped (one more page
 * fault in every fork child), where this sits among the small variables the
 * parent wrote. */
static char rc_no_path[1];

static void set_defaults(void)
{
  rc_options = (struct rc_options){
    .log_path = rc_no_path, .json_path = rc_no_path, .suppressions = rc_no_path};
  rc_options.stack_depth = 32;
  rc_options.kill_grace_ms = 500;
  rc_options.cleanup_kinds = RC_CLEANUP_DEFAULT;
  rc_options.signals = (1ull << SIGTERM) | (1ull << SIGINT) | (1ull << SIGHUP) | (1ull << SIGQUIT);
  rc_options.text_report = true;
  rc_options.report_on__exit = true;
  rc_options.default_suppressions = true;
}

static void complain(const char *what, const char *key, size_t klen, const char *val,
                     size_t vlen)
{
  struct rc_strbuf b;
  char buf[512];
  rc_sb_init(&b, buf, sizeof buf);
  rc_sb_puts(&b, "rcleak: RCLEAK_OPTIONS: ");
  rc_sb_puts(&b, what);
  rc_sb_puts(&b, " '");
  rc_sb_putn(&b, key, klen);
  if (val) {
    rc_sb_puts(&b, "=");
    rc_sb_putn(&b, val, vlen);
  }
  rc_sb_puts(&b, "'; using the default\n");
  (void)!write(2, b.buf, b.len);
}

static bool parse_int(const char *s, size_t n, long lo, long hi, int *out)
{
  if (n == 0 || n > 10)
    return false;
  long v = 0;
  size_t i = 0;
  bool neg = s[0] == '-';
  if (neg)
    i = 1;
  if (i == n)
    return false;
  for (; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return false;
    v = v * 10 + (s[i] - '0');
  }
  if (neg)
    v = -v;
  if (v < lo || v > hi)
    return false;
  *out = (int)v;
  return true;
}

static bool parse_bool(const char *s, size_t n, bool *out)
{
  if ((n == 1 && s[0] == '1') || (n == 4 && memcmp(s, "true", 4) == 0) ||
      (n == 3 && memcmp(s, "yes", 3) == 0)) {
    *out = true;
    return true;
  }
  if ((n == 1 && s[0] == '0') || (n == 5 && memcmp(s, "false", 5) == 0) ||
      (n == 2 && memcmp(s, "no", 2) == 0)) {
    *out = false;
    return true;
  }
  return false;
}

static bool parse_path(const char *s, size_t n, char *store, const char **out)
{
  if (n >= PATH_MAX)
    return false;
  memcpy(store, s, n);
  store[n] = '\0';
  *out = store;
  return true;
}

static bool word_eq(const char *s, size_t n, const char *w)
{
  return strlen(w) == n && memcmp(s, w, n) == 0;
}

/* cleanup=1|0|all|none|child,tmpdir,... */
static bool parse_cleanup(const char *s, size_t n, unsigned *out)
{
  if (word_eq(s, n, "1") || word_eq(s, n, "all") || word_eq(s, n, "true")) {
    *out = RC_CLEANUP_DEFAULT;
    return true;
  }
  if (word_eq(s, n, "0") || word_eq(s, n, "none") || word_eq(s, n, "false")) {
    *out = 0;
    return true;
  }
  unsigned mask = 0;
  size_t i = 0;
  while (i < n) {
    size_t j = i;
    while (j < n && s[j] != ',')
      j++;
    unsigned k;
    for (k = 0; k < RC_KIND_COUNT; k++)
      if (word_eq(s + i, j - i, rc_kind_name(k)))
        break;
    if (k == RC_KIND_COUNT || k == RC_KIND_FD || k == RC_KIND_THREAD)
      return false; /* descriptors and threads are never cleaned: not ours to close */
    mask |= 1u << k;
    i = j + 1;
  }
  *out = mask;
  return true;
}

/* signals=SIGTERM,INT,15,...|none */
static bool parse_signals(const char *s, size_t n, uint64_t *out)
{
  static const struct { const char *name; int sig; } names[] = {
    {"TERM", SIGTERM}, {"INT", SIGINT}, {"HUP", SIGHUP}, {"QUIT", SIGQUIT},
    {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"ALRM", SIGALRM}, {"PIPE", SIGPIPE},
    {"ABRT", SIGABRT}, {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM},
    {"PROF", SIGPROF},
  };
  if (word_eq(s, n, "none") || word_eq(s, n, "0") || n == 0) {
    *out = 0;
    return true;
  }
  uint64_t mask = 0;
  size_t i = 0;
  while (i < n) {
    size_t j = i;
    while (j < n && s[j] != ',')
      j++;
    const char *w = s + i;
    size_t wl = j - i;
    if (wl > 3 && memcmp(w, "SIG", 3) == 0) {
      w += 3;
      wl -= 3;
    }
    int sig = 0;
    for (size_t k = 0; k < RC_ARRAY_SIZE(names); k++)
      if (word_eq(w, wl, names[k].name))
        sig = names[k].sig;
    if (sig == 0 && !parse_int(w, wl, 1, 63, &sig))
      return false;
    if (sig == SIGKILL || sig == SIGSTOP)
      return false;
    mask |= 1ull << sig;
    i = j + 1;
  }
  *out = mask;
  return true;
}

static bool apply(const char *k, size_t kl, const char *v, size_t vl)
{
  struct rc_options *o = &rc_options;
  if (word_eq(k, kl, "log_path"))
    return parse_path(v, vl, rc_option_paths[0], &o->log_path);
  if (word_eq(k, kl, "json_path"))
    return parse_path(v, vl, rc_option_paths[1], &o->json_path);
  if (word_eq(k, kl, "suppressions"))
    return parse_path(v, vl, rc_option_paths[2], &o->suppressions);
  if (word_eq(k, kl, "stack_depth"))
    return parse_int(v, vl, 0, 256, &o->stack_depth);
  if (word_eq(k, kl, "exitcode"))
    return parse_int(v, vl, 0, 255, &o->exitcode);
  if (word_eq(k, kl, "verbosity"))
    return parse_int(v, vl, 0, 3, &o->verbosity);
  if (word_eq(k, kl, "kill_grace_ms"))
    return parse_int(v, vl, 0, 600000, &o->kill_grace_ms);
  if (word_eq(k, kl, "report_inherited"))
    return parse_bool(v, vl, &o->report_inherited);
  if (word_eq(k, kl, "text_report"))
    return parse_bool(v, vl, &o->text_report);
  if (word_eq(k, kl, "json_optional"))
    return parse_bool(v, vl, &o->json_optional);
  if (word_eq(k, kl, "report_on__exit"))
    return parse_bool(v, vl, &o->report_on__exit);
  if (word_eq(k, kl, "default_suppressions"))
    return parse_bool(v, vl, &o->default_suppressions);
  if (word_eq(k, kl, "cleanup"))
    return parse_cleanup(v, vl, &o->cleanup_kinds);
  if (word_eq(k, kl, "signals"))
    return parse_signals(v, vl, &o->signals);
  return false;
}

static bool known_key(const char *k, size_t kl)
{
  static const char *const keys[] = {
    "log_path", "json_path", "suppressions", "stack_depth", "exitcode", "verbosity",
    "kill_grace_ms", "report_inherited", "text_report", "report_on__exit", "cleanup",
    "default_suppressions", "json_optional",
    "signals",
  };
  for (size_t i = 0; i < RC_ARRAY_SIZE(keys); i++)
    if (word_eq(k, kl, keys[i]))
      return true;
  return false;
}

RC_HOT int rc_options_parse(const char *spec)
{
  set_defaults();
  if (spec == NULL)
    return 0;
  int bad = 0;
  const char *p = spec;
  while (*p) {
    if (*p == ':' || *p == ' ' || *p == ',') {
      p++;
      continue;
    }
    const char *k = p;
    while (*p && *p != '=' && *p != ':')
      p++;
    size_t kl = (size_t)(p - k);
    if (*p != '=') {
      complain("malformed option (expected key=value)", k, kl, NULL, 0);
      bad++;
      continue;
    }
    p++;
    const char *v = p;
    size_t vl;
    bool quote_ok = true;
    if (*p == '"' || *p == '\'') {
      char q = *p++;
      v = p;
      while (*p && *p != q)
        p++;
      vl = (size_t)(p - v);
      if (*p == q)
        p++;
      else
        quote_ok = false;
    } else {
      while (*p && *p != ':')
        p++;
      vl = (size_t)(p - v);
    }
    if (!quote_ok) {
      complain("unterminated quote in", k, kl, v, vl);
      bad++;
    } else if (!known_key(k, kl)) {
      complain("unknown option", k, kl, v, vl);
      bad++;
    } else if (!apply(k, kl, v, vl)) {
      complain("invalid value in", k, kl, v, vl);
      bad++;
    }
  }
  return bad;
}

void rc_options_expand_path(const char *tmpl, int pid, char *out, unsigned long outlen)
{
  struct rc_strbuf b;
  rc_sb_init(&b, out, outlen);
  for (const char *p = tmpl; *p; p++) {
    if (p[0] == '%' && p[1] == 'p') {
      rc_sb_putu(&b, (unsigned long long)pid);
      p++;
    } else {
      rc_sb_putn(&b, p, 1);
    }
  }
  rc_sb_cstr(&b);
}
