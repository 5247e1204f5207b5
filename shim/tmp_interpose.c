/* Interposers of the temporary directory and file family.
 *
 * Acquisition: mkdtemp, CPython's tempfile.mkdtemp (through mkdir), and the
 * mkstemp family.  glibc's mkstemp does not
 * call the exported open (it reaches the kernel through internal calls), so
 * each entry point is wrapped: the descriptor is recorded in the fd family,
 * and the path left on disk as a tmpfile (a separate resource: closing the
 * fd does not remove the file).  The creation window is opened right before
 * the real call (tmp_family.c, "Identity").
 *
 * Release: rmdir, unlink, unlinkat, remove, rename, renameat, renameat2.
 * While no temp is recorded (rc_tmp_any) each costs one load and the real
 * call.  Otherwise a removal looks up and releases the record its path
 * named once the call succeeded (rc_tmp_removed); a rename looks up both
 * names before its call and releases by token after it succeeded.  glibc's remove() calls its internal unlink/rmdir, so it is
 * wrapped too and looks for both kinds.
 *
 * Working directory: chdir and fchdir keep relative records meaningful
 * (tmp_family.c, "The working directory"). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdtable.h"
#include "rc.h"
#include "real.h"
#include "scriptframes.h"
#include "tmp_fam.h"

RC_EXPORT char *mkdtemp(char *tmpl)
{
  struct rc_tmp_window w;
  rc_tmp_window_open(&w);
  char *r = REAL(mkdtemp)(tmpl);
  if (r != NULL)
    rc_tmp_acquired(RC_KIND_TMPDIR, r, -1, RC_FN_mkdtemp, &w);
  return r;
}

/* CPython's tempfile.mkdtemp (and TemporaryDirectory, and every test
 * fixture built on them) makes its directory with os.mkdir(name, 0o700), and
 * tempfile.mkstemp (NamedTemporaryFile) its file with os.open(name,
 * O_CREAT|O_EXCL|..., 0o600), not with mkdtemp(3) and mkstemp(3).  So a
 * call of that shape in a Python process asks whose it is: made by
 * tempfile itself (the innermost Python frame), it is a temp like those of
 * libc, reported and removed if left behind.  Every other mkdir and open
 * pays a compare (tmp_fam.h). */
bool rc_tmp_from_python(const char *function)
{
  uintptr_t tags[4];
  if (rc_sf_capture(tags, 4) <= 0 || tags[0] == RC_SF_SEP)
    return false;
  struct rc_frame f;
  rc_sf_frame(tags[0], &f);
  return f.function != NULL && strcmp(f.function, function) == 0 && f.file != NULL &&
         rc_str_ends(f.file, "/tempfile.py");
}

void rc_tmp_python_mkstemp(int dirfd, const char *path, int fd, unsigned fn,
                           struct rc_tmp_window *w)
{
  if (fd < 0 || (dirfd != AT_FDCWD && path[0] != '/'))
    return;
  int saved = errno;
  if (rc_tmp_from_python("_mkstemp_inner"))
    rc_tmp_acquired(RC_KIND_TMPFILE, path, fd, fn, w);
  errno = saved;
}

RC_EXPORT int mkdir(const char *path, mode_t mode)
{
  if (mode != 0700 || !rc_tmp_python())
    return REAL(mkdir)(path, mode);
  struct rc_tmp_window w;
  rc_tmp_window_open(&w);
  int r = REAL(mkdir)(path, mode);
  if (r == 0) {
    int saved = errno;
    if (rc_tmp_from_python("mkdtemp"))
      rc_tmp_acquired(RC_KIND_TMPDIR, path, -1, RC_FN_mkdir, &w);
    errno = saved;
  }
  return r;
}

#define RC_MKSTEMP(X)                                                           \
  X(mkstemp, (char *tmpl), (tmpl))                                               \
  X(mkstemp64, (char *tmpl), (tmpl))                                             \
  X(mkostemp, (char *tmpl, int flags), (tmpl, flags))                            \
  X(mkostemp64, (char *tmpl, int flags), (tmpl, flags))                          \
  X(mkstemps, (char *tmpl, int suffixlen), (tmpl, suffixlen))                    \
  X(mkstemps64, (char *tmpl, int suffixlen), (tmpl, suffixlen))                  \
  X(mkostemps, (char *tmpl, int suffixlen, int flags), (tmpl, suffixlen, flags)) \
  X(mkostemps64, (char *tmpl, int suffixlen, int flags), (tmpl, suffixlen, flags))

#define RC_DEFINE_MKSTEMP(name, params, args)                                   \
  RC_EXPORT int name params                                                      \
  {                                                                              \
    struct rc_tmp_window w_;                                                     \
    rc_tmp_window_open(&w_);                                                     \
    int fd_ = REAL(name) args;                                                   \
    rc_fd_acquired(fd_, RC_FN_##name);                                           \
    if (fd_ >= 0)                                                                \
      rc_tmp_acquired(RC_KIND_TMPFILE, tmpl, fd_, RC_FN_##name, &w_);            \
    return fd_;                                                                  \
  }
RC_MKSTEMP(RC_DEFINE_MKSTEMP)
#undef RC_DEFINE_MKSTEMP

/* ---- removal and rename ---- */

/* The record a removed path named is released only if the call removed it. */
static int released_if_done(int r, int dirfd, const char *path, unsigned kinds)
{
  if (r == 0 && rc_tmp_any())
    rc_tmp_removed(dirfd, path, kinds);
  return r;
}

RC_EXPORT int rmdir(const char *path)
{
  return released_if_done(REAL(rmdir)(path), AT_FDCWD, path, RC_TMP_DIRS);
}

RC_EXPORT int unlink(const char *path)
{
  return released_if_done(REAL(unlink)(path), AT_FDCWD, path, RC_TMP_FILES);
}

RC_EXPORT int unlinkat(int dirfd, const char *path, int flags)
{
  return released_if_done(REAL(unlinkat)(dirfd, path, flags), dirfd, path,
                          (flags & AT_REMOVEDIR) ? RC_TMP_DIRS : RC_TMP_FILES);
}

RC_EXPORT int remove(const char *path)
{
  return released_if_done(REAL(remove)(path), AT_FDCWD, path, RC_TMP_BOTH);
}

/* A rename releases the record of the source (moved to a name of the
 * program's choosing) and of the destination (replaced, or with
 * RENAME_EXCHANGE moved to the source's name).  Renaming a path onto itself
 * (or onto another link of the same file) changes nothing. */
static void renamed(uint64_t from, uint64_t to)
{
  if (from == to)
    return;
  rc_tmp_release(from);
  rc_tmp_release(to);
}

RC_EXPORT int rename(const char *oldpath, const char *newpath)
{
  if (!rc_tmp_any())
    return REAL(rename)(oldpath, newpath);
  uint64_t from = rc_tmp_lookup(AT_FDCWD, oldpath, RC_TMP_BOTH);
  uint64_t to = rc_tmp_lookup(AT_FDCWD, newpath, RC_TMP_BOTH);
  int r = REAL(rename)(oldpath, newpath);
  if (r == 0)
    renamed(from, to);
  return r;
}

RC_EXPORT int renameat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath)
{
  if (!rc_tmp_any())
    return REAL(renameat)(olddirfd, oldpath, newdirfd, newpath);
  uint64_t from = rc_tmp_lookup(olddirfd, oldpath, RC_TMP_BOTH);
  uint64_t to = rc_tmp_lookup(newdirfd, newpath, RC_TMP_BOTH);
  int r = REAL(renameat)(olddirfd, oldpath, newdirfd, newpath);
  if (r == 0)
    renamed(from, to);
  return r;
}

RC_EXPORT int renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath,
                        unsigned int flags)
{
  if (!rc_tmp_any())
    return REAL(renameat2)(olddirfd, oldpath, newdirfd, newpath, flags);
  uint64_t from = rc_tmp_lookup(olddirfd, oldpath, RC_TMP_BOTH);
  uint64_t to = rc_tmp_lookup(newdirfd, newpath, RC_TMP_BOTH);
  int r = REAL(renameat2)(olddirfd, oldpath, newdirfd, newpath, flags);
  if (r == 0)
    renamed(from, to);
  return r;
}

/* ---- working directory ---- */

RC_EXPORT int chdir(const char *path)
{
  rc_tmp_chdir_begin();
  int r = REAL(chdir)(path);
  rc_tmp_chdir_end();
  return r;
}

RC_EXPORT int fchdir(int fd)
{
  rc_tmp_chdir_begin();
  int r = REAL(fchdir)(fd);
  rc_tmp_chdir_end();
  return r;
}

/* With the first temp: resolve the removal functions now, so that their
 * first call does not run dlsym from a signal handler (removing its temp
 * files is what a SIGINT/SIGTERM handler does; dlsym may take the loader's
 * lock or malloc).  Not at start-up: that would cost every process eight
 * dlsym (about 5 us) whether or not it ever makes a temp.  renameat2 stays
 * lazy: glibc has it only since 2.28, and a program that calls it was
 * linked against one that has it. */
void rc_tmp_resolve_reals(void)
{
  static const unsigned fns[] = {RC_FN_rmdir,  RC_FN_unlink,   RC_FN_unlinkat,
                                 RC_FN_remove, RC_FN_rename,   RC_FN_renameat,
                                 RC_FN_chdir,  RC_FN_fchdir};
  for (size_t i = 0; i < RC_ARRAY_SIZE(fns); i++)
    (void)rc_real_get(fns[i]);
}
