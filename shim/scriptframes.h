/* Script frames in acquisition stacks: in a CPython 3.11-3.13 process
 * (pyframes.c) or a bash process (bashframes.c), each capture also records
 * the script's own frames (function, file, line), which are what the
 * script's author needs to find a leak; the interpreter's C frames alone all
 * look alike (os_open, _PyEval_EvalFrameDefault, execute_command_internal).
 *
 * The frames are read at acquisition time (they are gone by the report) and
 * stored as tagged entries after the native return addresses of the same
 * stack record: RC_SF_TAG | location id, with RC_SF_SEP closing each group.
 * The report puts each group in place of the native frame that ran it (the
 * language's anchor: Python's evaluation loop; bash's innermost
 * execute_command_internal), and any groups left over after the native
 * frames. */
#ifndef RCLEAK_SCRIPTFRAMES_H
#define RCLEAK_SCRIPTFRAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "symbolize.h"

/* No user-space return address has these bits set (x86_64 and aarch64
 * user addresses are below 2^48 or 2^52). */
#define RC_SF_TAG ((uintptr_t)0xfffe000000000000ull)
#define RC_SF_SEP RC_SF_TAG

/* RC_LANG_JS: JIT-compiled JavaScript named by a perf map (perfmap.h), a
 * native frame with a language's name, not a tagged entry */
enum { RC_LANG_NATIVE = 0, RC_LANG_PYTHON = 1, RC_LANG_BASH = 2, RC_LANG_JS = 3 };

static inline bool rc_sf_is_tag(uintptr_t v)
{
  return (v & RC_SF_TAG) == RC_SF_TAG;
}

/* Which interpreter this process is, looked up once, on the first capture,
 * in the loaded objects' symbol tables (no dlsym): RC_LANG_* or -1 for
 * none; 0 until looked up. */
extern int rc_sf_lang __attribute__((visibility("hidden")));
int rc_sf_detect(void);
static inline int rc_sf_language(void)
{
  int s = __atomic_load_n(&rc_sf_lang, __ATOMIC_ACQUIRE);
  return s != 0 ? s : rc_sf_detect();
}
static inline bool rc_sf_active(void)
{
  return rc_sf_language() > 0;
}

/* The calling thread's script frames, innermost first, as tagged entries
 * into out[0..max); returns how many (0: none).  Never blocks: a capture
 * that finds the location table busy (another thread, or a signal handler
 * interrupting this one) records none. */
int rc_sf_capture(uintptr_t *out, int max);

/* Fill f (function, file, line, lang; no module) from a tagged entry that
 * is not RC_SF_SEP.  Async-signal-safe: reads the published table only. */
void rc_sf_frame(uintptr_t tag, struct rc_frame *f);

/* Whether a native frame is the one a group of script frames replaces. */
bool rc_sf_is_anchor(const struct rc_frame *f);

/* "python", "bash" ("script" for another number); NULL for native frames. */
const char *rc_sf_lang_name(unsigned lang);

/* ---- for the languages' readers ---- */

/* The address of an exported symbol of the objects loaded at start-up
 * (their GNU hash tables), or NULL. */
const void *rc_sf_symbol(const char *name);

/* The shared location table.  lock/unlock around rc_sf_intern. */
bool rc_sf_lock(void);
void rc_sf_unlock(void);
/* The id of location (lang, file, function, line), copying both strings
 * (cut at 1 KiB); 0 when the table is full.  Lock held. */
uint32_t rc_sf_intern(unsigned lang, const char *file, size_t file_len, const char *func,
                      size_t func_len, int line);

/* Per language (pyframes.c, bashframes.c), given the address of its mark
 * (Py_Version, executing_line_number): whether this process runs it,
 * resolving what the reader needs; and its capture. */
bool rc_py_detect(const void *py_version);
int rc_py_capture(uintptr_t *out, int max);
bool rc_bash_detect(const void *executing_line_number);
int rc_bash_capture(uintptr_t *out, int max);

/* Whether this process is bash (5.1 or later) and child `pid` is one of its
 * process substitutions (bashframes.c): input or output of a command, not a
 * leak.  Async-signal-safe (reads bash's list, no call). */
bool rc_bash_procsub(int pid);

/* Whether this process is bash and let its child `pid` go with `disown`
 * (no job holds it any more).  `own`: the child is one this image made (one
 * handed across exec was never in its job table).  Not asked in a signal's
 * report: the job table is bash's, changed under no lock. */
bool rc_bash_disowned(int pid, bool own);

#endif
