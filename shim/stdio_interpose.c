/* Interposers of stdio and dirent entry points.
 *
 * glibc's fopen, tmpfile, opendir and friends reach the kernel through
 * internal aliases (__open_nocancel and the like), not through the exported
 * open/openat, so wrapping open does not see them: each entry point needs its
 * own wrapper.  The FILE or DIR is recorded by the descriptor under it, which
 * is what the kernel (and /proc/self/fd at exit) knows about. */
#include <dirent.h>
#include <stdio.h>

#include "fdtable.h"
#include "rc.h"
#include "real.h"

static FILE *track_file(FILE *fp, unsigned fn)
{
  if (fp != NULL) {
    int saved = errno;
    int fd = fileno_unlocked(fp);
    errno = saved;
    rc_fd_acquired(fd, fn);
  }
  return fp;
}

#define RC_STDIO_OPEN(X)                                                        \
  X(fopen, (const char *path, const char *mode), (path, mode))                   \
  X(fopen64, (const char *path, const char *mode), (path, mode))                 \
  X(tmpfile, (void), ())                                                         \
  X(tmpfile64, (void), ())

#define RC_DEFINE_STDIO_OPEN(name, params, args)                                \
  RC_EXPORT FILE *name params { return track_file(REAL(name) args, RC_FN_##name); }
RC_STDIO_OPEN(RC_DEFINE_STDIO_OPEN)
#undef RC_DEFINE_STDIO_OPEN

/* The descriptor under fdopen/fdopendir usually has its record already (from
 * open or socket); keep it, so the report names the call that created the
 * descriptor.  Only a descriptor no interposer saw is recorded here. */
static void adopt_if_unknown(int fd, unsigned fn)
{
  struct rc_fd_entry e;
  if (fd >= 0 && !rc_fd_lookup(fd, &e))
    rc_fd_acquired(fd, fn);
}

RC_EXPORT FILE *fdopen(int fd, const char *mode)
{
  FILE *fp = REAL(fdopen)(fd, mode);
  if (fp != NULL) {
    int saved = errno;
    adopt_if_unknown(fd, RC_FN_fdopen);
    errno = saved;
  }
  return fp;
}

static void release_file(FILE *fp)
{
  if (fp == NULL)
    return;
  int saved = errno;
  int fd = fileno_unlocked(fp);
  errno = saved;
  if (fd >= 0)
    rc_fd_released(fd);
}

/* freopen closes the stream's descriptor and opens a new one, which often
 * gets the same number. */
RC_EXPORT FILE *freopen(const char *path, const char *mode, FILE *fp)
{
  release_file(fp);
  return track_file(REAL(freopen)(path, mode, fp), RC_FN_freopen);
}

RC_EXPORT FILE *freopen64(const char *path, const char *mode, FILE *fp)
{
  release_file(fp);
  return track_file(REAL(freopen64)(path, mode, fp), RC_FN_freopen64);
}

RC_EXPORT int fclose(FILE *fp)
{
  release_file(fp);
  return REAL(fclose)(fp);
}

RC_EXPORT DIR *opendir(const char *path)
{
  DIR *d = REAL(opendir)(path);
  if (d != NULL) {
    int saved = errno;
    int fd = dirfd(d);
    errno = saved;
    rc_fd_acquired(fd, RC_FN_opendir);
  }
  return d;
}

RC_EXPORT DIR *fdopendir(int fd)
{
  DIR *d = REAL(fdopendir)(fd);
  if (d != NULL) {
    int saved = errno;
    adopt_if_unknown(fd, RC_FN_fdopendir);
    errno = saved;
  }
  return d;
}

RC_EXPORT int closedir(DIR *d)
{
  int saved = errno;
  int fd = dirfd(d);
  errno = saved;
  if (fd >= 0)
    rc_fd_released(fd);
  return REAL(closedir)(d);
}
