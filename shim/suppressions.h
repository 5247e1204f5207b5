/* Suppressions applied inside the process (RCLEAK_OPTIONS suppressions=FILE):
 * a suppressed leak is neither reported nor cleaned.  The file is read and
 * parsed at start-up (rc_init); the built-in rules are parsed by the first
 * report that has leaks.  Both use only system calls and mmap, so the exit
 * and signal paths can do it. */
#ifndef RCLEAK_SUPPRESSIONS_H
#define RCLEAK_SUPPRESSIONS_H

#include "leaks.h"

/* Load rc_options.suppressions (with the built-in rules), if one is given;
 * a bad file prints one line naming the file and line, and no rule of it is
 * applied. */
void rc_suppress_load(void);
/* Mark suppressed leaks in ls (needs symbolized stacks) and count them. */
void rc_suppress_apply(struct rc_leakset *ls);

#endif
