/* file:line for stack frames, from DWARF through elfutils' libdwfl.
 *
 * libdw is loaded with dlopen the first time a report needs it, never at
 * process start: most processes leak nothing and should not pay for loading
 * libdw and its compression libraries.  It allocates, so it is only used when
 * the report does not run inside a signal handler. */
#ifndef RCLEAK_LINES_H
#define RCLEAK_LINES_H

#include "symbolize.h"

/* Fill f->file/f->line (and f->function if still unknown) from f->module and
 * f->offset; no-op when libdw or the debug info is unavailable. */
void rc_lines_frame(struct rc_frame *f);

#endif
