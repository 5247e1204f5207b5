/* The temporary directory and file family, shared by its three files:
 *   tmp_interpose.c  the wrappers (mkdtemp, mkstemp..., rmdir, unlink,
 *                    rename..., chdir, fchdir);
 *   tmp_family.c     the registry: records, their identity, path matching
 *                    for removals and renames, the working directory;
 *   tmp_report.c     exit side: leak check, report, cleanup, exec handover. */
#ifndef RCLEAK_TMP_FAM_H
#define RCLEAK_TMP_FAM_H

#include <stdbool.h>
#include <stdint.h>

#include "objtable.h"
#include "rc.h"
#include "scriptframes.h"

/* ---- for the wrappers ---- */

/* Entries in the registry (live records, and ones being created).  Zero
 * means the removal and rename wrappers have nothing to look for: they
 * then cost this one load and the real call. */
extern uint32_t rc_tmp_live;

static inline bool rc_tmp_any(void)
{
  return RC_UNLIKELY(__atomic_load_n(&rc_tmp_live, __ATOMIC_RELAXED) != 0);
}

/* Taken right before mkdtemp/mkstemp: the creation window (see the identity
 * comment in tmp_family.c) and the working-directory epoch. */
struct rc_tmp_window {
  uint64_t lo, hi; /* CLOCK_REALTIME_COARSE before, CLOCK_REALTIME after (ns) */
  uint32_t epoch;  /* rc_tmp_epoch before the call */
};
void rc_tmp_window_open(struct rc_tmp_window *w);

/* A temporary directory (kind RC_KIND_TMPDIR, fd -1) or file (RC_KIND_TMPFILE,
 * its new fd) now exists at `path`, created by `fn` within window w (its `hi`
 * is read here).  Preserves errno. */
void rc_tmp_acquired(unsigned kind, const char *path, int fd, unsigned fn,
                     struct rc_tmp_window *w);

/* CPython's tempfile makes its temps with os.mkdir(name, 0o700) and
 * os.open(name, O_CREAT|O_EXCL|..., 0o600), not mkdtemp(3) and mkstemp(3).
 * A call of that shape in a Python process (rc_tmp_python; RC_TMP_PY_EXCL
 * for the open family: in any other process, the creation window is not
 * even opened) asks rc_tmp_from_python, after it succeeded, whether
 * tempfile made it: the innermost Python frame is `function` of tempfile.py. */
static inline bool rc_tmp_python(void)
{
  return rc_tls_mode == RC_MODE_APP && rc_sf_language() == RC_LANG_PYTHON;
}
#define RC_TMP_PY_EXCL(flags, mode)                                              \
  (((flags) & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL) && (mode) == 0600 &&      \
   rc_tmp_python())
bool rc_tmp_from_python(const char *function);

/* After such an open succeeded: record the file if tempfile's mkstemp made
 * it (a path relative to dirfd other than AT_FDCWD is not followed). */
void rc_tmp_python_mkstemp(int dirfd, const char *path, int fd, unsigned fn,
                           struct rc_tmp_window *w);

/* Resolve the real removal functions (tmp_interpose.c); called once, with
 * the first temp. */
void rc_tmp_resolve_reals(void);

/* Kinds for rc_tmp_lookup and rc_tmp_removed. */
enum { RC_TMP_DIRS = 1, RC_TMP_FILES = 2, RC_TMP_BOTH = 3 };

/* Before a call that removes or renames `path` (relative to dirfd, as the
 * *at functions take it): the live record that path names, as a token for
 * rc_tmp_release, or 0.  No system call when the path is spelt as it was
 * created; otherwise, only if a record has the same last component, two
 * statx (of the two parent directories).  Preserves errno. */
uint64_t rc_tmp_lookup(int dirfd, const char *path, unsigned kinds);

/* After that call succeeded: the record no longer names a temporary (it was
 * removed, or renamed into a name of the program's choosing).  No-op for 0. */
void rc_tmp_release(uint64_t token);

/* After a call that removed `path` (from dirfd) succeeded: release the
 * record it named, lookup and release in one.  Looking up afterwards is as
 * exact as before the call: the match is by string, or by the device and
 * inode of the parent directory, which removing an entry does not change.
 * One locked section instead of two, and nothing done for a call that
 * failed.  (The rename wrappers still look both names up before the call
 * and release by token after it.)  Preserves errno. */
void rc_tmp_removed(int dirfd, const char *path, unsigned kinds);

/* Around chdir/fchdir: records of relative templates are made absolute
 * before the working directory changes (see tmp_family.c). */
void rc_tmp_chdir_begin(void);
void rc_tmp_chdir_end(void);

/* ---- for tmp_report.c ---- */

/* What statx says is at a path now. */
struct rc_tmp_id {
  uint64_t dev, ino, btime; /* btime in ns since the epoch, 0 if the fs has none */
  uint32_t mode;            /* S_IFMT bits */
  int64_t size;
};

/* A live record: its path (relative ones are relative to the current
 * working directory), its stack etc. in `o`. */
struct rc_tmp_view {
  unsigned kind;
  const char *path;
  const struct rc_obj *o;
};

/* Entry idx (1-based, up to rc_tmp_high()) as a live record of this
 * process, or false.  Lock-free, for the report path. */
uint32_t rc_tmp_high(void);
bool rc_tmp_view(uint32_t idx, struct rc_tmp_view *v);

/* Is the object at the record's path now the one that was created?  *id
 * gets what is there (also for the cleanup's device+inode checks). */
bool rc_tmp_is_ours(uint32_t idx, struct rc_tmp_id *id);

/* Exec handover: the registry lock, and a record adopted from an earlier
 * image (identity pinned by device+inode; `p` at the common fields). */
bool rc_tmp_lock(void);
void rc_tmp_unlock(void);
void rc_tmp_adopt(unsigned kind, const char *path, const struct rc_tmp_id *id, char **p,
                  uint32_t stack);

#endif
