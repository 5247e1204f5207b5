/* Python frames in acquisition stacks: in a CPython 3.11-3.13 process, each
 * capture also records the interpreter's own frames (function, file, line),
 * which are what a Python programmer needs to find a leak; the C frames of
 * the interpreter alone all look alike (os_open, _PyEval_EvalFrameDefault).
 *
 * The frames are read from the capturing thread's PyThreadState at
 * acquisition time (they are gone by the report), with the struct layout of
 * the running minor version, and stored as tagged entries after the native
 * return addresses of the same stack record: RC_PY_TAG | location id, with
 * RC_PY_SEP closing the frames one C-level evaluation loop ran.  The
 * report puts each group in place of the `_PyEval_EvalFrameDefault` frame
 * that ran it. */
#ifndef RCLEAK_PYFRAMES_H
#define RCLEAK_PYFRAMES_H

#include <stdbool.h>
#include <stdint.h>

#include "symbolize.h"

/* No user-space return address has these bits set (x86_64 and aarch64
 * user addresses are below 2^48 or 2^52). */
#define RC_PY_TAG ((uintptr_t)0xfffe000000000000ull)
#define RC_PY_SEP RC_PY_TAG

static inline bool rc_py_is_tag(uintptr_t v)
{
  return (v & RC_PY_TAG) == RC_PY_TAG;
}

/* Whether this process runs a supported CPython (looked up once, on the
 * first call: the loaded objects' symbol tables, no dlsym). */
extern int rc_py_state __attribute__((visibility("hidden"))); /* 0 not looked up, 1 Python, -1 not */
bool rc_py_detect(void);
static inline bool rc_py_active(void)
{
  int s = __atomic_load_n(&rc_py_state, __ATOMIC_ACQUIRE);
  return s != 0 ? s > 0 : rc_py_detect();
}

/* The calling thread's Python frames, innermost first, as tagged entries
 * into out[0..max); returns how many (0: none, or no Python here).  Never
 * blocks: a capture that finds the location table busy (another thread, or
 * a signal handler interrupting this one) records no Python frames. */
int rc_py_capture(uintptr_t *out, int max);

/* Fill f (function, file, line; no module) from a tagged entry that is not
 * RC_PY_SEP.  Async-signal-safe: reads the published table only. */
void rc_py_frame(uintptr_t tag, struct rc_frame *f);

/* Whether a native frame is the evaluation loop a group of Python frames
 * belongs to. */
bool rc_py_is_eval_frame(const struct rc_frame *f);

#endif
