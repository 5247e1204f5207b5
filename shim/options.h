/* RCLEAK_OPTIONS: colon-separated key=value pairs, sanitizer style; a value
 * may be quoted ("..." or '...') to contain a colon.  Parsed once at start-up
 * into static storage, so the exit and signal paths only read it. */
#ifndef RCLEAK_OPTIONS_H
#define RCLEAK_OPTIONS_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

/* Small on purpose: every preloaded process reads it, and the paths, which
 * are rarely set, live in their own storage (options.c) so that a process
 * without them never touches those pages.  The path fields are never NULL:
 * "" when unset. */
struct rc_options {
  const char *log_path;        /* text report destination; "" = stderr; %p = pid */
  const char *json_path;       /* JSON report destination; "" = none; %p = pid */
  const char *suppressions;    /* suppressions file; "" = none */
  uint64_t signals;            /* bit per signal number: where the signal hook reports */
  int stack_depth;             /* frames per stack, 0..RC_STACK_MAX_DEPTH; default 32 */
  int exitcode;                /* status replacing 0 when leaks were found; 0 = leave it */
  int verbosity;               /* 0 quiet, 1 notes on stderr, 2 debugging */
  int kill_grace_ms;           /* SIGTERM -> SIGKILL delay for leftover children */
  unsigned cleanup_kinds;      /* bit per enum rc_kind: which survivors to clean */
  bool report_inherited;       /* report descriptors open when rcleak started */
  bool text_report;            /* write the text report at all (rcleak run sets 0) */
  bool json_optional;          /* a JSON report whose directory is gone is dropped quietly */
  bool report_on__exit;        /* also report from _exit/_Exit */
  bool default_suppressions;   /* apply rcleak's built-in suppressions */
};

extern struct rc_options rc_options;

/* Parse `spec` (may be NULL) into rc_options, starting from the defaults.
 * Each bad item prints one line "rcleak: RCLEAK_OPTIONS: ..." on fd 2 and
 * leaves that option at its default; returns the number of bad items. */
int rc_options_parse(const char *spec);

/* Expand %p in a path option into out (PATH_MAX). */
void rc_options_expand_path(const char *tmpl, int pid, char *out, unsigned long outlen);

#endif
