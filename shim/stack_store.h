/* The deduplicating stack store: each distinct stack (a list of return
 * addresses) is kept once and named by a 32-bit id.  Lock-free: records are
 * immutable once published, so readers (the report, possibly from a signal
 * handler) never wait.  stacks.c captures; this file only stores. */
#ifndef RCLEAK_STACK_STORE_H
#define RCLEAK_STACK_STORE_H

#include <stdint.h>

#include "stacks.h"

/* The id of the stack pcs[0..n) (n > 0), storing it if it is new; 0 when
 * the store cannot be reserved or is full.  Async-signal-safe (mmap once). */
uint32_t rc_stack_intern(void *const *pcs, int n);

/* The record of an interned id, or NULL (0, or not published yet). */
const struct rc_stack *rc_stack_store_get(uint32_t id);

#endif
