/* Suppressions applied inside the process (RCLEAK_OPTIONS suppressions=FILE):
 * a suppressed leak is neither reported nor cleaned.  The file is read and
 * parsed at start-up (rc_init), so the exit and signal paths only match. */
#ifndef RCLEAK_SUPPRESSIONS_H
#define RCLEAK_SUPPRESSIONS_H

#include "leaks.h"

/* Load rc_options.suppressions; a bad file prints one line naming the file
 * and line, and no rule is applied. */
void rc_suppress_load(void);
/* Mark suppressed leaks in ls (needs symbolized stacks) and count them. */
void rc_suppress_apply(struct rc_leakset *ls);

#endif
