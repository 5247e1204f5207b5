/* Reading /proc without stdio or allocation (async-signal-safe). Descriptors
 * opened here are rcleak's own, opened with raw syscalls so no interposer
 * sees them, and closed before the function returns. */
#ifndef RCLEAK_PROCFS_H
#define RCLEAK_PROCFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Call fn(fd, arg) for every descriptor open in this process, excluding the
 * one used for the listing itself: from the descriptor table directly when it
 * is small (fdprobe.h), else from /proc/self/fd.  `registered` (may be NULL)
 * says which descriptors the caller tracks as open (fdprobe.h: O_PATH).
 * Returns the count, -1 on error. */
int rc_proc_each_fd(void (*fn)(int fd, void *arg), void *arg, bool (*registered)(int fd));

/* Call fn(name, d_type, arg) for every entry of the directory `path`
 * (relative to dirfd), "." and ".." excluded, with getdents64 on a raw
 * descriptor; fn returns false to stop.  O_NOFOLLOW applies to the last path
 * component when nofollow is set.  Returns the entry count, -1 on error. */
int rc_dir_each(int dirfd, const char *path, bool nofollow,
                bool (*fn)(const char *name, unsigned char type, void *arg), void *arg);

/* The same over an already open directory descriptor (rewound first). */
int rc_dir_iterate(int dfd, bool (*fn)(const char *name, unsigned char type, void *arg),
                   void *arg);

/* A getdents64 record, for walkers that need more control than rc_dir_each. */
struct rc_dirent64 {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

/* Read up to len-1 bytes of a file into buf, NUL-terminated; returns the byte
 * count or -1. */
ssize_t rc_read_file(const char *path, char *buf, size_t len);
/* The same for a file the user named (a suppressions file), which every
 * traced process reads: only a regular file, opened without blocking, so
 * that a FIFO (which only one reader could drain, and none without a
 * writer) or a terminal cannot hang the program; -1 with *why ("not a
 * regular file", "too large", ...) otherwise.  A file longer than len - 1
 * is "too large", never read in part. */
ssize_t rc_read_user_file(const char *path, char *buf, size_t len, const char **why);

/* readlink into buf, NUL-terminated; -1 on error. */
ssize_t rc_readlink(const char *path, char *buf, size_t len);

/* Raw open/close that bypass every interposer. */
int rc_sys_open(const char *path, int flags, int mode);
int rc_sys_openat(int dirfd, const char *path, int flags, int mode);
void rc_sys_close(int fd);
/* Whether fd is one rc_sys_open(at) opened and rc_sys_close has not closed
 * yet: rcleak's own, never a leak of the program's. */
bool rc_fd_is_own(int fd);

#endif
