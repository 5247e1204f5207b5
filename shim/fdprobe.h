/* Which descriptors are open, asked of the kernel's descriptor table
 * instead of through /proc/self/fd.
 *
 * Every preloaded process needs that set twice: at start-up (what it
 * inherited) and at exit (reconciling the registry with the kernel).  In a
 * fresh process the first look at /proc/self/fd costs ~35 us on the
 * benchmark machine (the kernel builds /proc/<pid>, then a dentry and an
 * inode for every descriptor), against ~1 us for one ppoll over the table
 * (timeout 0: it waits for nothing and consumes no event), plus a fcntl for
 * each O_PATH candidate (see fdprobe.c).  So when the descriptor table is
 * small -- as it is in most processes -- it is asked directly; a larger
 * table is left to /proc. */
#ifndef RCLEAK_FDPROBE_H
#define RCLEAK_FDPROBE_H

#include <stdbool.h>

/* Descriptor tables up to this size are probed (the kernel's tables are 64
 * entries, then powers of two). */
#define RC_FD_PROBE_MAX 128

/* Call fn(fd, arg) for every open descriptor, in increasing order, when the
 * process's descriptor table has at most RC_FD_PROBE_MAX entries; the set is
 * taken before the first call, so descriptors fn opens are not visited.
 * Returns the count, or -1 (having called nothing) for a larger table.
 * `registered(fd)` (may be NULL) says whether the caller tracks fd as open:
 * only then is an O_PATH descriptor looked for under that number.
 * Async-signal-safe; preserves errno. */
int rc_fd_probe_each(void (*fn)(int fd, void *arg), void *arg, bool (*registered)(int fd));

/* The same over the descriptors below `end`, whatever the table's size, in
 * batches (see fdprobe.c): for when /proc/self/fd cannot be read. */
int rc_fd_probe_upto(int end, void (*fn)(int fd, void *arg), void *arg,
                     bool (*registered)(int fd));

#endif
