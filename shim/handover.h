/* Handing records across exec.  exec keeps the pid, so what this process
 * acquired and what survives the exec (descriptors without CLOEXEC, children,
 * armed interval timers, temp files) is still this process's, to be reported
 * once, by the last image, with the original stack.  The old image writes the
 * records, with stacks already symbolized (the new image has another address
 * space), into a memfd that stays open across the exec, and names it in the
 * environment variable RCLEAK_HANDOVER=<fd>:<pid>.  The new image reads it in
 * its constructor, closes it and removes the variable. */
#ifndef RCLEAK_HANDOVER_H
#define RCLEAK_HANDOVER_H

#include <stdbool.h>
#include <stdint.h>

#include "strbuf.h"
#include "symbolize.h"

/* Families add their records to a handover by appending lines
 * "<kind> <fields...>" followed by the stack (rc_handover_put_stack). */
struct rc_handover_writer {
  void (*write)(struct rc_strbuf *o); /* append this family's records */
};

/* Append "<nframes>\n" and one line per frame of stack `stack_id`. */
void rc_handover_put_stack(struct rc_strbuf *o, uint32_t stack_id, uint32_t flags);

/* Before exec of argv: build the handover for envp.  Returns envp itself
 * when there is nothing to hand over, else a new environment (and remembers
 * the memfd so rc_handover_abort can undo it if exec fails). */
char *const *rc_handover_prepare(char *const *argv, char *const *envp);

/* While a handover is written: whether the new program is given descriptor
 * fd as an argument ("/dev/fd/N", "/proc/self/fd/N", or "...=/dev/fd/N"),
 * as a shell's process substitution `cmd <(producer)` does: the new
 * program's input, not this process's leak. */
bool rc_handover_fd_is_argument(int fd);

/* While a handover is written: the rc_fd_entry.seq of each pipe or socket
 * this process made that the new program is given as an argument (at most
 * max); returns how many.  The child family leaves out the producer of each
 * (child_family.c). */
int rc_handover_argument_pipes(uint32_t *seq, int max);
void rc_handover_abort(char *const *newenv, char *const *envp);

/* At start-up: adopt what the previous image handed over. */
void rc_handover_import(void);

/* The frames of handed-over stack `idx`. */
const struct rc_frame *rc_handover_frames(uint32_t idx, uint32_t *n);

#endif
