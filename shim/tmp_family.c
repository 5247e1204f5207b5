/* Temporary directories (mkdtemp) and files (the mkstemp family): the
 * registry.  Acquisition and release cost no system call in the common case.
 *
 * Release.  rmdir, unlink, unlinkat, remove, rename, renameat and renameat2
 * are wrapped (tmp_interpose.c): a record is released when the program
 * removes its path, or renames it, or renames something over it.  A rename
 * away releases rather than follows: a temp file renamed to its final name
 * (mkstemp + write + rename, the atomic-write pattern) or a temp dir renamed
 * into place is the program's product, no longer a temporary.  A removal
 * the wrappers cannot see (another process, a raw syscall) is caught by the
 * identity check at exit, which finds the path gone or naming something
 * else; the sweep (below) bounds the registry meanwhile.
 *
 * Matching a removal to a record.  Records are chained by a hash of their
 * last path component; mkdtemp/mkstemp names are random, so the removal of
 * a path that is not a temp costs a hash of its last component and one
 * load.  A path spelt as it was created (the same absolute path, or the
 * same relative one from the working directory) matches by string: no
 * system call.  Another spelling with the same last component as a record
 * (relative against absolute, "./x", a dirfd of unlinkat or renameat, a
 * symlinked directory) matches if its directory is the record's: two statx
 * of the two parent directories, before the call, compare device+inode.
 * This asks only "same directory entry?", never who created what is there:
 * once the entry is removed, nothing is left at the record's path.
 *
 * The working directory.  A relative template is recorded as given, and
 * the invariant is that a relative record is relative to the current
 * working directory: chdir and fchdir are wrapped, and before the directory
 * changes every relative record is made absolute (one getcwd, only when
 * such records exist).  The alternative, getcwd at every acquisition from
 * a relative template, costs a syscall there and two more at every release
 * spelt relatively (an absolute record cannot be compared with a relative
 * path without knowing the cwd).  An acquisition that races with a chdir in
 * another thread cannot tell in which directory it created its temp;
 * rc_tmp_epoch (odd while a chdir runs) detects that and the temp is not
 * recorded.  A cwd changed without the wrappers (glibc's fts, or nftw with
 * FTW_CHDIR, use an internal fchdir; raw syscalls) makes relative records
 * name the wrong place: the identity check then fails, so such a temp is
 * missed, never mistaken for another.
 *
 * Identity (why cleanup does not remove what the process did not create).
 * A path alone says nothing: between creation and exit the temp may be
 * removed and something else put under its name, say a symlink to a
 * directory of precious files.  The wrapper reads CLOCK_REALTIME_COARSE
 * before the call and CLOCK_REALTIME after it (vDSO, no syscall): the window
 * [lo, hi].  The kernel stamps a new inode's birth time (statx btime) from
 * the coarse realtime clock or a later value (multigrain floor), so the
 * object the call created has lo <= btime <= hi; birth time is set at
 * creation and nothing changes it (not rename, writes, chmod, utimensat).
 * The check (at exit, in the sweep, at exec) statx-es the path without
 * following a final symlink and requires the type created (directory or
 * regular file) and a birth time inside the window.  Cleanup then opens
 * with O_NOFOLLOW and compares device+inode with what the check found
 * (tmp_report.c).
 *   What this cannot tell apart: timestamps have the clock tick's
 * granularity (1/HZ, 4 ms here), so an object created at the same path
 * within the same tick after the call has the same birth time.  It takes a
 * removal the wrappers did not see (a raw syscall, another process) and a
 * new directory or file under the same random name within that tick.
 * Measured (Linux 6.18, HZ=250): mkdtemp then raw rmdir+mkdir of the same
 * name right away lands inside the window 1999 times in 2000.  The statx
 * at creation that this replaces (device+inode+birth time) was not exact
 * there either: on ext4, which hands the freed inode number out again at
 * once, the same immediate replacement had the same inode and birth time
 * 921 times in 1000; it was exact on tmpfs.  A replacement made later than
 * the creation tick is always told apart.  Exactness for the same-tick case
 * needs an identity taken at creation (name_to_handle_at gives inode and
 * generation), a syscall per acquisition: about 1.2 us here, four times
 * the budget of a whole acquisition.
 *   Where the birth time is missing (ext4 with 128-byte inodes, NFS, ...)
 * or coarser than the window (FAT's 10 ms), the window cannot judge at all.
 * So the first temp created in a directory still gets a statx, which pins
 * that record by device+inode and tells whether the directory's filesystem
 * stamps birth times inside the window; only then do later temps there skip
 * it.  The verdicts are cached by the directory part of the path (8
 * entries, round robin; relative ones forgotten at chdir).  A wrong verdict
 * (another filesystem mounted over the directory later) or a clock step
 * during the call errs one way only: the check fails, and the temp is
 * neither reported nor cleaned.
 *
 * The sweep.  Releases the wrappers cannot see would grow the registry in a
 * program that leaves the removal to someone else in a loop: whenever the
 * live count doubles, every record is checked and the gone ones released
 * (amortized O(1) per acquisition; memory bounded by twice the live set).
 * A program whose removals the wrappers see never reaches the threshold.
 *
 * Locking.  The pool's spin lock serializes writers; the report reads
 * without it (lock-free views).  A signal handler that removes a temp
 * while its thread holds the lock (rc_tmp_tls_locked) skips the
 * bookkeeping instead of deadlocking: the exit check settles that record. */
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "fam_util.h"
#include "rc_pool.h"
#include "tmp_fam.h"

/* How a record is known to be the object that was created. */
struct rc_tmp_ident {
  uint8_t kind;   /* RC_KIND_TMPDIR or RC_KIND_TMPFILE: the type to expect */
  uint8_t pinned; /* dev/ino (and btime) known; else judged by the window */
  uint64_t lo, hi; /* creation window, ns since the epoch */
  uint64_t dev, ino, btime;
};

#define RC_TMP_SHORT 120 /* paths shorter than this live inline in the entry */

struct rc_tmp_ent {
  uint32_t link; /* pool free list */
  uint8_t used;
  uint8_t rel;   /* path relative to the working directory */
  uint16_t plen; /* strlen of the path */
  uint32_t next;     /* next entry with the same bucket */
  uint32_t hash;     /* of the last path component */
  uint32_t seq;      /* tells the entry a token names from a recycled one */
  uint32_t long_idx; /* path in rc_tmp_long when it does not fit inline */
  /* What the report shows (stack, thread, time...).  Kept here rather than
   * in the object table: one record per temp either way, and a slot of the
   * table would cost a probe, its own cache line and the table's counts at
   * every create and remove.  state is RC_OBJ_LIVE once the entry is
   * findable (FREE while it is being created, DELETED once released). */
  struct rc_obj obj;
  struct rc_tmp_ident id;
  char path[RC_TMP_SHORT];
};
_Static_assert(sizeof(struct rc_tmp_ent) == 256, "entry layout");

struct rc_tmp_long {
  uint32_t link;
  char path[PATH_MAX + 4];
};

static struct rc_pool rc_tmp_ents = RC_POOL_INIT(sizeof(struct rc_tmp_ent), 1u << 20);
static struct rc_pool rc_tmp_long = RC_POOL_INIT(sizeof(struct rc_tmp_long), 1u << 16);

#define RC_TMP_BUCKETS 4096u
static uint32_t rc_tmp_bucket[RC_TMP_BUCKETS] RC_LARGE; /* entry indices; written under the lock */

uint32_t rc_tmp_live;          /* entries in use (tmp_fam.h) */
static uint32_t rc_tmp_rel;    /* of which relative */
static uint32_t rc_tmp_seq;    /* last entry sequence number */
static uint32_t rc_tmp_newest; /* the entry inserted last: the head of its chain */
static uint32_t rc_tmp_epoch;  /* bumped before and after every chdir/fchdir */
static uint32_t rc_tmp_sweep_at = 64;

static __thread int rc_tmp_tls_locked __attribute__((tls_model("initial-exec")));

/* ---- lock ---- */

/* False when this thread already holds it (a signal handler interrupted
 * the registry): the caller then leaves the bookkeeping out. */
bool rc_tmp_lock(void)
{
  if (rc_tmp_tls_locked)
    return false;
  rc_tmp_tls_locked = 1;
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  rc_pool_lock(&rc_tmp_ents);
  return true;
}

void rc_tmp_unlock(void)
{
  rc_pool_unlock(&rc_tmp_ents);
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  rc_tmp_tls_locked = 0;
}

RC_HOT void rc_tmp_after_fork_child(void)
{
  rc_pool_after_fork(&rc_tmp_ents);
  rc_pool_after_fork(&rc_tmp_long);
  rc_tmp_tls_locked = 0;
}

/* ---- paths ---- */

struct rc_tmp_name {
  const char *base; /* last component */
  size_t blen;
  size_t len;  /* of the path without trailing slashes */
  size_t dlen; /* of the directory part, its final slash included */
  uint32_t hash; /* of the last component: the bucket, and a first filter */
};

/* The helpers of the acquisition and removal paths are forced inline: the
 * calls between them cost ~75 instructions per mkdtemp+rmdir pair. */
#define RC_TMP_INLINE static inline __attribute__((always_inline))

/* A hash of s[0..n), eight bytes at a time. */
RC_TMP_INLINE uint64_t hash_bytes(const char *s, size_t n)
{
  uint64_t h = 0x9e3779b97f4a7c15ull ^ n, w = 0;
  if (n >= 8) {
    for (; n > 8; s += 8, n -= 8) {
      memcpy(&w, s, 8);
      h = (h ^ w) * 0xff51afd7ed558ccdull;
      h ^= h >> 32;
    }
    memcpy(&w, s + n - 8, 8); /* the last 8 bytes, overlapping */
  } else if (n >= 4) {
    uint32_t lo, hi; /* the first and the last 4, overlapping */
    memcpy(&lo, s, 4);
    memcpy(&hi, s + n - 4, 4);
    w = (uint64_t)hi << 32 | lo;
  } else {
    for (size_t i = 0; i < n; i++)
      w |= (uint64_t)(unsigned char)s[i] << (8 * i);
  }
  h = (h ^ w) * 0xff51afd7ed558ccdull;
  h ^= h >> 29;
  return h * 0xc4ceb9fe1a85ec53ull;
}

/* Split path and hash its last component; false if it has none ("", "/").
 * libc's vectorized strlen and memrchr: this runs on every removal while
 * temps are live. */
RC_TMP_INLINE bool split(const char *path, struct rc_tmp_name *n)
{
  size_t len = strlen(path);
  while (len > 1 && path[len - 1] == '/')
    len--;
  const char *slash = memrchr(path, '/', len);
  size_t b = slash ? (size_t)(slash - path) + 1 : 0;
  n->base = path + b;
  n->blen = len > b ? len - b : 0;
  n->len = len;
  n->dlen = b;
  n->hash = (uint32_t)(hash_bytes(n->base, n->blen) >> 32);
  return n->blen > 0;
}

/* Entry idx, or NULL for 0 or before the pool exists.  Every index passed
 * here came from the pool (a chain, a token, up to its high-water mark), so
 * rc_pool_get's bound check is left out, and the element size is a
 * constant: this runs a few times per create and remove. */
RC_TMP_INLINE struct rc_tmp_ent *ent(uint32_t idx)
{
  char *base = __atomic_load_n(&rc_tmp_ents.base, __ATOMIC_ACQUIRE);
  return idx == 0 || base == NULL ? NULL : (struct rc_tmp_ent *)(void *)base + (idx - 1);
}

RC_TMP_INLINE const char *ent_path(const struct rc_tmp_ent *e)
{
  if (e->long_idx) {
    const struct rc_tmp_long *l = rc_pool_get(&rc_tmp_long, e->long_idx);
    return l ? l->path : "";
  }
  return e->path;
}

/* In use and findable: not being created, not released. */
RC_TMP_INLINE bool ent_live(const struct rc_tmp_ent *e)
{
  return e->used && __atomic_load_n(&e->obj.state, __ATOMIC_ACQUIRE) == RC_OBJ_LIVE;
}

/* Store path[0..len) in the entry (lock held). */
RC_TMP_INLINE bool set_path_locked(struct rc_tmp_ent *e, const char *path, size_t len)
{
  if (len > PATH_MAX)
    return false;
  if (e->long_idx == 0 && len < RC_TMP_SHORT) {
    memcpy(e->path, path, len);
    e->path[len] = '\0';
    e->plen = (uint16_t)len;
    return true;
  }
  uint32_t li = e->long_idx ? e->long_idx : rc_pool_alloc_locked(&rc_tmp_long);
  struct rc_tmp_long *l = rc_pool_get(&rc_tmp_long, li);
  if (l == NULL)
    return false;
  memcpy(l->path, path, len);
  l->path[len] = '\0';
  e->plen = (uint16_t)len;
  __atomic_store_n(&e->long_idx, li, __ATOMIC_RELEASE);
  return true;
}

/* ---- identity ---- */

/* statx of path relative to dirfd (of dirfd itself for ""), never following
 * a final symlink. */
static bool tmp_statx(int dirfd, const char *path, struct rc_tmp_id *id)
{
  struct statx sx;
  int flags = AT_SYMLINK_NOFOLLOW | (path[0] == '\0' ? AT_EMPTY_PATH : 0);
  if (rc_syscall(SYS_statx, dirfd, path, flags, STATX_TYPE | STATX_INO | STATX_SIZE | STATX_BTIME,
              &sx) != 0)
    return false;
  id->dev = (uint64_t)makedev(sx.stx_dev_major, sx.stx_dev_minor);
  id->ino = sx.stx_ino;
  id->mode = sx.stx_mode & S_IFMT;
  id->size = (int64_t)sx.stx_size;
  id->btime = (sx.stx_mask & STATX_BTIME) && sx.stx_btime.tv_sec >= 0
                  ? (uint64_t)sx.stx_btime.tv_sec * 1000000000u + sx.stx_btime.tv_nsec
                  : 0;
  return true;
}

static bool in_window(uint64_t btime, uint64_t lo, uint64_t hi)
{
  return btime != 0 && btime >= lo && btime <= hi;
}

static bool ident_matches(const struct rc_tmp_ident *t, const struct rc_tmp_id *id)
{
  if (id->mode != (t->kind == RC_KIND_TMPDIR ? (uint32_t)S_IFDIR : (uint32_t)S_IFREG))
    return false;
  if (t->pinned)
    return id->dev == t->dev && id->ino == t->ino &&
           (id->btime == 0 || t->btime == 0 || id->btime == t->btime);
  return in_window(id->btime, t->lo, t->hi);
}

static void pin(struct rc_tmp_ident *t, const struct rc_tmp_id *id)
{
  t->dev = id->dev;
  t->ino = id->ino;
  t->btime = id->btime;
  t->pinned = 1;
}

/* Per-directory verdicts: may the window judge temps created there? */
enum { RC_DIR_UNKNOWN = 0, RC_DIR_WINDOW = 1, RC_DIR_STATX = 2, RC_DIR_REL = 4 };
#define RC_TMP_NDIRV 8u
static uint64_t rc_tmp_dirs[RC_TMP_NDIRV]; /* hash with the low 3 bits replaced by the verdict */
static uint32_t rc_tmp_dirs_next;

RC_TMP_INLINE unsigned dir_verdict(uint64_t h)
{
  for (unsigned i = 0; i < RC_TMP_NDIRV; i++) {
    uint64_t w = __atomic_load_n(&rc_tmp_dirs[i], __ATOMIC_RELAXED);
    if (w != 0 && (w >> 3) == (h >> 3))
      return (unsigned)(w & 3);
  }
  return RC_DIR_UNKNOWN;
}

static void dir_learn(uint64_t h, unsigned verdict)
{
  uint32_t i = __atomic_fetch_add(&rc_tmp_dirs_next, 1, __ATOMIC_RELAXED) % RC_TMP_NDIRV;
  __atomic_store_n(&rc_tmp_dirs[i], (h & ~7ull) | verdict, __ATOMIC_RELAXED);
}

/* ---- entries (lock held) ---- */

/* Unlink entry idx from its chain; `link` is what points at it, if the
 * caller has it (NULL: found by walking the chain). */
RC_TMP_INLINE void chain_remove_locked(struct rc_tmp_ent *e, uint32_t idx, uint32_t *link)
{
  if (link == NULL) {
    link = &rc_tmp_bucket[e->hash % RC_TMP_BUCKETS];
    while (*link && *link != idx)
      link = &ent(*link)->next;
  }
  if (*link == idx)
    __atomic_store_n(link, e->next, __ATOMIC_RELEASE);
}

RC_TMP_INLINE void release_at_locked(uint32_t idx, uint32_t *link)
{
  struct rc_tmp_ent *e = ent(idx);
  if (e == NULL || !e->used)
    return;
  if (ent_live(e)) {
    chain_remove_locked(e, idx, link);
    __atomic_store_n(&e->obj.state, RC_OBJ_DELETED, __ATOMIC_RELEASE);
  }
  if (e->long_idx) {
    rc_pool_free_locked(&rc_tmp_long, e->long_idx);
    e->long_idx = 0;
  }
  if (e->rel)
    __atomic_store_n(&rc_tmp_rel, rc_tmp_rel - 1, __ATOMIC_RELAXED);
  /* Not zeroed: new_ent_locked writes every field; `used` and the state
   * (DELETED) tell lock-free readers it is free meanwhile. */
  __atomic_store_n(&e->used, 0, __ATOMIC_RELEASE);
  rc_pool_free_dirty_locked(&rc_tmp_ents, idx);
  __atomic_store_n(&rc_tmp_live, rc_tmp_live - 1, __ATOMIC_RELAXED);
}

RC_TMP_INLINE void release_locked(uint32_t idx)
{
  release_at_locked(idx, NULL);
}

static void sweep_locked(void)
{
  for (uint32_t i = 1; i <= rc_tmp_ents.hw; i++) {
    struct rc_tmp_ent *e = ent(i);
    struct rc_tmp_id id;
    if (!ent_live(e))
      continue;
    if (tmp_statx(AT_FDCWD, ent_path(e), &id) && ident_matches(&e->id, &id))
      pin(&e->id, &id); /* exact from now on */
    else
      release_locked(i);
  }
  rc_tmp_sweep_at = rc_tmp_live * 2 > 64 ? rc_tmp_live * 2 : 64;
}

/* A new entry for path (its first n->len bytes), not yet findable; 0 if
 * full. */
RC_TMP_INLINE uint32_t new_ent_locked(const char *path, const struct rc_tmp_name *n,
                               const struct rc_tmp_ident *t)
{
  uint32_t idx = rc_pool_alloc_locked(&rc_tmp_ents);
  struct rc_tmp_ent *e = ent(idx);
  if (e == NULL)
    return 0;
  if (!set_path_locked(e, path, n->len)) {
    rc_pool_free_dirty_locked(&rc_tmp_ents, idx);
    return 0;
  }
  __atomic_store_n(&e->obj.state, RC_OBJ_FREE, __ATOMIC_RELAXED); /* was DELETED */
  e->used = 1;
  e->rel = path[0] != '/';
  e->hash = n->hash;
  e->seq = ++rc_tmp_seq ? rc_tmp_seq : ++rc_tmp_seq;
  e->id = *t;
  if (e->rel)
    __atomic_store_n(&rc_tmp_rel, rc_tmp_rel + 1, __ATOMIC_RELAXED);
  __atomic_store_n(&rc_tmp_live, rc_tmp_live + 1, __ATOMIC_RELAXED);
  return idx;
}

/* Record a temp: the stack first, outside the lock (the capture is the
 * slow part), then the entry, its record and its chain link in one locked
 * section, so the entry is findable from the moment it exists (the record's
 * key is the entry index).  `adopt` non-NULL: adopted across exec (with
 * `stack`). */
static void insert(const char *path, const struct rc_tmp_name *n, const struct rc_tmp_ident *t,
                   unsigned fn, const struct rc_tmp_window *w, char **adopt, uint32_t stack)
{
  if (adopt == NULL)
    stack = rc_obj_capture();
  if (!rc_tmp_lock())
    return;
  /* A relative template: if a chdir ran since before the call (or is
   * running), the temp may be in either directory. */
  if (path[0] != '/' && w != NULL &&
      ((w->epoch & 1) || __atomic_load_n(&rc_tmp_epoch, __ATOMIC_SEQ_CST) != w->epoch)) {
    rc_tmp_unlock();
    return;
  }
  uint32_t idx = new_ent_locked(path, n, t);
  if (idx != 0) {
    struct rc_tmp_ent *e = ent(idx);
    rc_obj_fill(&e->obj, t->kind, idx, fn, stack);
    if (adopt)
      (void)rc_fam_adopted(&e->obj, adopt);
    uint32_t *head = &rc_tmp_bucket[e->hash % RC_TMP_BUCKETS];
    e->next = *head;
    __atomic_store_n(head, idx, __ATOMIC_RELEASE);
    rc_tmp_newest = idx;
    __atomic_store_n(&e->obj.state, RC_OBJ_LIVE, __ATOMIC_RELEASE);
    if (rc_tmp_live >= rc_tmp_sweep_at)
      sweep_locked();
  }
  rc_tmp_unlock();
}

/* ---- acquisition ---- */

void rc_tmp_window_open(struct rc_tmp_window *w)
{
  w->epoch = __atomic_load_n(&rc_tmp_epoch, __ATOMIC_SEQ_CST);
  w->lo = rc_clock_ns(CLOCK_REALTIME_COARSE);
  w->hi = 0;
}

void rc_tmp_acquired(unsigned kind, const char *path, int fd, unsigned fn,
                     struct rc_tmp_window *w)
{
  w->hi = rc_clock_ns(CLOCK_REALTIME);
  if (rc_tls_mode != RC_MODE_APP)
    return; /* a vfork child, or rcleak's own */
  int saved = errno;
  static int resolved;
  if (RC_UNLIKELY(!__atomic_load_n(&resolved, __ATOMIC_RELAXED))) {
    rc_tmp_resolve_reals();
    __atomic_store_n(&resolved, 1, __ATOMIC_RELAXED);
  }
  struct rc_tmp_name n;
  struct rc_tmp_ident t = {.kind = (uint8_t)kind, .lo = w->lo, .hi = w->hi};
  if (!split(path, &n) || n.len > PATH_MAX) {
    errno = saved;
    return;
  }
  uint64_t dh = hash_bytes(path, n.dlen);
  unsigned verdict = dir_verdict(dh);
  if (verdict != RC_DIR_WINDOW) {
    /* First temp in this directory, or one whose filesystem the window
     * cannot judge: pin this record by device+inode. */
    struct rc_tmp_id id;
    if (!tmp_statx(fd >= 0 ? fd : AT_FDCWD, fd >= 0 ? "" : path, &id) ||
        id.mode != (kind == RC_KIND_TMPDIR ? (uint32_t)S_IFDIR : (uint32_t)S_IFREG)) {
      errno = saved;
      return; /* already gone or replaced */
    }
    pin(&t, &id);
    if (verdict == RC_DIR_UNKNOWN)
      dir_learn(dh, (in_window(id.btime, w->lo, w->hi) ? RC_DIR_WINDOW : RC_DIR_STATX) |
                        (path[0] != '/' ? RC_DIR_REL : 0));
  }
  insert(path, &n, &t, fn, w, NULL, 0);
  errno = saved;
}

void rc_tmp_adopt(unsigned kind, const char *path, const struct rc_tmp_id *id, char **p,
                  uint32_t stack)
{
  struct rc_tmp_name n;
  struct rc_tmp_ident t = {.kind = (uint8_t)kind};
  if (!split(path, &n) || n.len > PATH_MAX)
    return;
  pin(&t, id);
  insert(path, &n, &t, RC_FN_NONE, NULL, p, stack);
}

/* ---- release ---- */

static uint64_t token_of(uint32_t idx, uint32_t seq)
{
  return (uint64_t)seq << 32 | idx;
}

/* Does the record's path end in the same last component? */
static bool same_name(const char *epath, size_t elen, const struct rc_tmp_name *n)
{
  return elen >= n->blen && memcmp(epath + elen - n->blen, n->base, n->blen) == 0 &&
         (elen == n->blen || epath[elen - n->blen - 1] == '/');
}

/* Device and inode of directory `dir` ("" for dirfd itself, "." when it is
 * AT_FDCWD), resolved from dirfd as the kernel resolves it. */
static bool dir_id(int dirfd, const char *dir, uint64_t *dev, uint64_t *ino)
{
  struct statx sx;
  int flags = dir[0] == '\0' ? AT_EMPTY_PATH : 0;
  if (rc_syscall(SYS_statx, dirfd, dir[0] == '\0' && dirfd == AT_FDCWD ? "." : dir, flags,
              STATX_INO, &sx) != 0)
    return false;
  *dev = (uint64_t)makedev(sx.stx_dev_major, sx.stx_dev_minor);
  *ino = sx.stx_ino;
  return true;
}

/* The slow path of rc_tmp_lookup, out of line so that the common path
 * keeps a small stack frame: does path (from dirfd; its directory part is
 * n->dlen bytes) name its last component in the directory of the record
 * `token` names?  Two statx, before the call. */
static __attribute__((noinline)) bool same_dir(int dirfd, const char *path,
                                               const struct rc_tmp_name *n, uint64_t token)
{
  char buf[PATH_MAX + 2];
  uint64_t d1, i1, d2, i2;
  bool live = false;
  if (!rc_tmp_lock())
    return false;
  const struct rc_tmp_ent *e = ent((uint32_t)token);
  struct rc_tmp_name en;
  if (e != NULL && e->used && e->seq == (uint32_t)(token >> 32) && split(ent_path(e), &en)) {
    memcpy(buf, ent_path(e), en.dlen);
    buf[en.dlen] = '\0';
    live = true;
  }
  rc_tmp_unlock();
  if (!live || !dir_id(AT_FDCWD, buf, &d2, &i2) || n->dlen > PATH_MAX)
    return false;
  memcpy(buf, path, n->dlen);
  buf[n->dlen] = '\0';
  return dir_id(dirfd, buf, &d1, &i1) && d1 == d2 && i1 == i2;
}

/* Walk the chain of n's bucket (lock held) for the record path names:
 * the link to an entry spelt the same way and resolved from the working
 * directory (from_cwd), which names the same directory entry; otherwise
 * NULL, with *cand the token of the first record with the same last
 * component (0 if none), which may still be it. */
RC_TMP_INLINE uint32_t *find_locked(const char *path, const struct rc_tmp_name *n, bool from_cwd,
                                    unsigned kinds, uint64_t *cand)
{
  *cand = 0;
  for (uint32_t *link = &rc_tmp_bucket[n->hash % RC_TMP_BUCKETS], idx; (idx = *link) != 0;
       link = &ent(idx)->next) {
    const struct rc_tmp_ent *e = ent(idx);
    unsigned bit = e->id.kind == RC_KIND_TMPDIR ? RC_TMP_DIRS : RC_TMP_FILES;
    if (e->hash != n->hash || !(kinds & bit))
      continue;
    const char *ep = ent_path(e);
    if (from_cwd && e->plen == n->len && memcmp(ep, path, n->len) == 0)
      return link;
    if (*cand == 0 && same_name(ep, e->plen, n))
      *cand = token_of(idx, e->seq);
  }
  return NULL;
}

/* The start of both lookups: false when nothing can match (not the
 * program's call, no last component, or an empty bucket: a path that is
 * not a temp, the common case). */
RC_TMP_INLINE bool may_match(const char *path, struct rc_tmp_name *n)
{
  return rc_tls_mode == RC_MODE_APP && path != NULL && split(path, n) &&
         __atomic_load_n(&rc_tmp_bucket[n->hash % RC_TMP_BUCKETS], __ATOMIC_ACQUIRE) != 0;
}

/* Spelt differently, or relative to a directory descriptor, with the same
 * last component as record `cand`: it is that record's entry if both name
 * it in the same directory. */
static bool cand_matches(int dirfd, const char *path, const struct rc_tmp_name *n, uint64_t cand)
{
  int saved = errno;
  bool same = same_dir(dirfd, path, n, cand);
  errno = saved;
  return same;
}

uint64_t rc_tmp_lookup(int dirfd, const char *path, unsigned kinds)
{
  struct rc_tmp_name n;
  if (!may_match(path, &n) || !rc_tmp_lock())
    return 0;
  uint64_t token = 0, cand;
  uint32_t *link = find_locked(path, &n, dirfd == AT_FDCWD || path[0] == '/', kinds, &cand);
  if (link != NULL)
    token = token_of(*link, ent(*link)->seq);
  rc_tmp_unlock();
  if (token == 0 && cand != 0 && cand_matches(dirfd, path, &n, cand))
    token = cand;
  return token;
}

void rc_tmp_release(uint64_t token)
{
  if (token == 0 || !rc_tmp_lock())
    return;
  uint32_t idx = (uint32_t)token;
  const struct rc_tmp_ent *e = ent(idx);
  if (e != NULL && ent_live(e) && e->seq == (uint32_t)(token >> 32))
    release_locked(idx);
  rc_tmp_unlock();
}

/* The common case of a removal: the temp made last, removed by the path
 * it was made with (a create, use, remove loop; the innermost of nested
 * temps).  The same string from the same place names the same entry, so
 * one strcmp settles it, without splitting or hashing the path; the entry
 * is the head of its chain, so unlinking it walks nothing.  false: not that
 * one, look it up. */
RC_TMP_INLINE bool removed_newest(int dirfd, const char *path, unsigned kinds)
{
  if ((dirfd != AT_FDCWD && path[0] != '/') || !rc_tmp_lock())
    return false;
  uint32_t idx = rc_tmp_newest;
  const struct rc_tmp_ent *e = ent(idx);
  bool hit = e != NULL && ent_live(e) &&
             (kinds & (e->id.kind == RC_KIND_TMPDIR ? RC_TMP_DIRS : RC_TMP_FILES)) &&
             strcmp(ent_path(e), path) == 0;
  if (hit)
    release_locked(idx);
  rc_tmp_unlock();
  return hit;
}

void rc_tmp_removed(int dirfd, const char *path, unsigned kinds)
{
  if (rc_tls_mode != RC_MODE_APP || path == NULL || removed_newest(dirfd, path, kinds))
    return;
  struct rc_tmp_name n;
  if (!may_match(path, &n) || !rc_tmp_lock())
    return;
  uint64_t cand;
  uint32_t *link = find_locked(path, &n, dirfd == AT_FDCWD || path[0] == '/', kinds, &cand);
  if (link != NULL)
    release_at_locked(*link, link);
  rc_tmp_unlock();
  if (link == NULL && cand != 0 && cand_matches(dirfd, path, &n, cand))
    rc_tmp_release(cand);
}

/* ---- working directory ---- */

void rc_tmp_chdir_begin(void)
{
  if (rc_tls_mode != RC_MODE_APP)
    return; /* a vfork child has a working directory of its own */
  __atomic_add_fetch(&rc_tmp_epoch, 1, __ATOMIC_SEQ_CST);
  for (unsigned i = 0; i < RC_TMP_NDIRV; i++)
    if (__atomic_load_n(&rc_tmp_dirs[i], __ATOMIC_RELAXED) & RC_DIR_REL)
      __atomic_store_n(&rc_tmp_dirs[i], 0, __ATOMIC_RELAXED);
  if (__atomic_load_n(&rc_tmp_rel, __ATOMIC_RELAXED) == 0)
    return;
  int saved = errno;
  if (!rc_tmp_lock()) {
    errno = saved;
    return; /* chdir from a signal handler: see "a cwd changed without the wrappers" */
  }
  char abs[PATH_MAX + 2]; /* the cwd, then each record's path after it */
  long got = rc_syscall(SYS_getcwd, abs, PATH_MAX + 1);
  bool have = got > 0 && abs[0] == '/';
  size_t clen = have ? strlen(abs) : 0;
  if (clen == 1)
    clen = 0; /* "/" */
  for (uint32_t i = 1; i <= rc_tmp_ents.hw; i++) {
    struct rc_tmp_ent *e = ent(i);
    if (!e->used || !e->rel)
      continue;
    size_t rlen = e->plen;
    bool ok = have && clen + 1 + rlen <= PATH_MAX;
    if (ok) {
      abs[clen] = '/';
      memcpy(abs + clen + 1, ent_path(e), rlen + 1);
      ok = set_path_locked(e, abs, clen + 1 + rlen);
    }
    if (ok) {
      e->rel = 0;
      __atomic_store_n(&rc_tmp_rel, rc_tmp_rel - 1, __ATOMIC_RELAXED);
    } else if (ent_live(e)) {
      release_locked(i); /* nowhere to say where it is */
    }
  }
  rc_tmp_unlock();
  errno = saved;
}

void rc_tmp_chdir_end(void)
{
  if (rc_tls_mode == RC_MODE_APP)
    __atomic_add_fetch(&rc_tmp_epoch, 1, __ATOMIC_SEQ_CST);
}

/* ---- views for tmp_report.c ---- */

RC_HOT uint32_t rc_tmp_high(void)
{
  return __atomic_load_n(&rc_tmp_ents.hw, __ATOMIC_ACQUIRE);
}

bool rc_tmp_view(uint32_t idx, struct rc_tmp_view *v)
{
  const struct rc_tmp_ent *e = ent(idx);
  if (e == NULL || !ent_live(e))
    return false;
  const struct rc_obj *o = &e->obj;
  if (o->kind != e->id.kind || o->owner != rc_pid)
    return false; /* another process's (the parent's, after fork) */
  v->kind = e->id.kind;
  v->path = ent_path(e);
  v->o = o;
  return true;
}

bool rc_tmp_is_ours(uint32_t idx, struct rc_tmp_id *id)
{
  const struct rc_tmp_ent *e = ent(idx);
  if (e == NULL || !e->used)
    return false;
  struct rc_tmp_ident t = e->id;
  return tmp_statx(AT_FDCWD, ent_path(e), id) && ident_matches(&t, id);
}
