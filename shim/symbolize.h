/* Turning return addresses into module + offset + function, without
 * allocation or locks: the module map comes from /proc/self/maps and the
 * symbols from each module's ELF .symtab (static functions included) or, for
 * stripped libraries, .dynsym, read through a private read-only mapping of
 * the file.  file:line needs DWARF and comes from lines.c, off the signal path. */
#ifndef RCLEAK_SYMBOLIZE_H
#define RCLEAK_SYMBOLIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rc_frame {
  uintptr_t pc;         /* address inside the call instruction (return address - 1) */
  const char *module;   /* absolute path, or NULL if not in a file mapping */
  uintptr_t offset;     /* ELF virtual address inside module */
  const char *build_id; /* hex, or NULL */
  const char *function; /* or NULL */
  const char *file;     /* or NULL */
  int line;             /* 0 if unknown */
  uint8_t lang;         /* a script's frame (scriptframes.h): function, file, line only */
};

/* Read the module map (once per report). */
void rc_sym_begin(void);
/* Fill f from f->pc.  Strings live in the report arena. */
void rc_sym_frame(struct rc_frame *f);
/* Allow demangling C++ names (through libstdc++'s __cxa_demangle, which
 * allocates): only when the report is not running in a signal handler. */
void rc_sym_allow_demangle(bool allow);

/* A Rust symbol (legacy `_ZN...17h<hash>E` or v0 `_R...`) as Rust's
 * backtraces show it, into out[cap]: its length, or 0 (out unspecified) if
 * sym is not one this can read.  Async-signal-safe (demangle_rust.c). */
size_t rc_demangle_rust(const char *sym, char *out, size_t cap);

/* Symbol name containing an address (for thread start routines); NULL if none. */
const char *rc_sym_name(uintptr_t addr);

#endif
