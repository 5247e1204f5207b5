/* clock_gettime straight from the vDSO.
 *
 * libc's clock_gettime is a wrapper around the vDSO's: a call through the
 * PLT into a page of libc's text that a program which never asks the time
 * does not otherwise touch (a page fault in every short process that
 * acquires anything, for the acquisition's stamp), and ~15 instructions a
 * call.  rc_vdso_init finds __vdso_clock_gettime in the vDSO ld.so already
 * loaded (its link map entry); where there is none (valgrind, another
 * architecture, a kernel without one) rc_clock_ns uses libc's.
 *
 * Async-signal-safe: the vDSO function only reads the kernel's data page. */
#ifndef RCLEAK_VDSO_H
#define RCLEAK_VDSO_H

#include <time.h>

typedef int (*rc_vdso_clock_fn)(clockid_t clock, struct timespec *ts);

/* NULL until rc_vdso_init found it, and where there is none. */
extern rc_vdso_clock_fn rc_vdso_clock_gettime;

/* Look it up (once, at start-up; idempotent). */
void rc_vdso_init(void);

#endif
