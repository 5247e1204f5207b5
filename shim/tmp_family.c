/* Temporary directories (mkdtemp) and files (the mkstemp family): registry,
 * report, cleanup and exec handover.
 *
 * A temp dir or file is released when its path no longer names the inode
 * that was created (rmdir, unlink, rename away, removed by another process):
 * the filesystem is the judge, so nothing else needs wrapping.  The record
 * keeps device+inode, file type and birth time (one statx at creation: a
 * freed inode number is reused at once by ext4 and others, e.g. for a
 * symlink put in place of a removed dir) and the absolute path, stored
 * here at acquisition time in a pool the report can read from a signal
 * handler.  Because releases are not seen as they happen, a program that
 * creates and removes temp files in a loop would grow the registry: the
 * acquisition path sweeps out the gone ones whenever the live count doubles
 * (amortized O(1) per acquisition, memory bounded by twice the live set). */
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "arena.h"
#include "fam_util.h"
#include "procfs.h"
#include "rc_pool.h"
#include "tmp_fam.h"

#define RC_TMP_SHORT 216 /* paths up to this long live inline in the entry */

struct rc_tmp_ent {
  uint32_t link; /* pool free list */
  uint8_t used;
  uint8_t kind;
  uint16_t reserved;
  struct rc_obj *o;
  uint32_t long_idx; /* path in rc_tmp_long when it does not fit inline */
  uint32_t mode;     /* S_IFMT bits at creation */
  uint64_t btime;    /* birth time in ns, 0 if the filesystem does not say */
  char path[RC_TMP_SHORT];
};
_Static_assert(sizeof(struct rc_tmp_ent) == 248, "entry layout");

struct rc_tmp_long {
  uint32_t link;
  char path[PATH_MAX + 4];
};

static struct rc_pool rc_tmp_ents = RC_POOL_INIT(sizeof(struct rc_tmp_ent), 1u << 20);
static struct rc_pool rc_tmp_long = RC_POOL_INIT(sizeof(struct rc_tmp_long), 1u << 16);
static uint32_t rc_tmp_live, rc_tmp_sweep_at = 64; /* under rc_tmp_ents.lock */

static const char *ent_path(const struct rc_tmp_ent *e)
{
  if (e->long_idx) {
    const struct rc_tmp_long *l = rc_pool_get(&rc_tmp_long, e->long_idx);
    return l ? l->path : "";
  }
  return e->path;
}

static bool stat_nofollow(int dirfd, const char *path, struct stat *st)
{
  return syscall(SYS_newfstatat, dirfd, path, st, AT_SYMLINK_NOFOLLOW) == 0;
}

struct rc_tmp_id {
  uint64_t dev, ino, btime;
  uint32_t mode;
  int64_t size;
};

/* statx of fd (path "") or of path, never following a final symlink. */
static bool tmp_statx(int fd, const char *path, struct rc_tmp_id *id)
{
  struct statx sx;
  int flags = AT_SYMLINK_NOFOLLOW | (fd >= 0 ? AT_EMPTY_PATH : 0);
  if (syscall(SYS_statx, fd >= 0 ? fd : AT_FDCWD, fd >= 0 ? "" : path, flags,
              STATX_TYPE | STATX_INO | STATX_SIZE | STATX_BTIME, &sx) != 0)
    return false;
  id->dev = (uint64_t)makedev(sx.stx_dev_major, sx.stx_dev_minor);
  id->ino = sx.stx_ino;
  id->mode = sx.stx_mode & S_IFMT;
  id->size = (int64_t)sx.stx_size;
  id->btime = (sx.stx_mask & STATX_BTIME)
                  ? (uint64_t)sx.stx_btime.tv_sec * 1000000000u + sx.stx_btime.tv_nsec : 0;
  return true;
}

/* Does the path still name the inode that was created? */
static bool still_there(const struct rc_tmp_ent *e, const char *path, struct rc_tmp_id *id)
{
  const struct rc_obj *o = e->o;
  return tmp_statx(-1, path, id) && id->dev == o->data[0] && id->ino == o->data[1] &&
         id->mode == e->mode && (id->btime == 0 || e->btime == 0 || id->btime == e->btime);
}

static uint64_t key_of(uint64_t dev, uint64_t ino)
{
  return ino ^ (dev * 0x9e3779b97f4a7c15ull);
}

/* Remove record and entry (lock held). */
static void release_locked(uint32_t idx)
{
  struct rc_tmp_ent *e = rc_pool_get(&rc_tmp_ents, idx);
  if (e == NULL || !e->used)
    return;
  if (e->o)
    rc_obj_remove_slot(e->o);
  if (e->long_idx)
    rc_pool_free_locked(&rc_tmp_long, e->long_idx);
  rc_pool_free_locked(&rc_tmp_ents, idx);
  rc_tmp_live--;
}

static void sweep_locked(void)
{
  for (uint32_t i = 1; i <= rc_tmp_ents.hw; i++) {
    struct rc_tmp_ent *e = rc_pool_get(&rc_tmp_ents, i);
    struct rc_tmp_id id;
    if (e->used && e->o && !still_there(e, ent_path(e), &id))
      release_locked(i);
  }
  rc_tmp_sweep_at = rc_tmp_live * 2 > 64 ? rc_tmp_live * 2 : 64;
}

/* New entry with `path` (lock held); 0 when full. */
static uint32_t new_ent_locked(unsigned kind, const char *path)
{
  size_t len = strlen(path);
  if (len > PATH_MAX)
    return 0;
  uint32_t idx = rc_pool_alloc_locked(&rc_tmp_ents);
  struct rc_tmp_ent *e = rc_pool_get(&rc_tmp_ents, idx);
  if (e == NULL)
    return 0;
  if (len < RC_TMP_SHORT) {
    memcpy(e->path, path, len + 1);
  } else {
    e->long_idx = rc_pool_alloc_locked(&rc_tmp_long);
    struct rc_tmp_long *l = rc_pool_get(&rc_tmp_long, e->long_idx);
    if (l == NULL) {
      rc_pool_free_locked(&rc_tmp_ents, idx);
      return 0;
    }
    memcpy(l->path, path, len + 1);
  }
  e->kind = (uint8_t)kind;
  e->used = 1;
  rc_tmp_live++;
  return idx;
}

/* Insert entry + record for (kind, dev, ino) at `path`; `adopt` (exec
 * handover) supplies the fields of an earlier image instead of the caller's
 * stack.  Lock held. */
static struct rc_obj *insert_locked(unsigned kind, const char *path, const struct rc_tmp_id *id,
                                    unsigned fn, char **adopt, uint32_t stack)
{
  uint64_t dev = id->dev, ino = id->ino;
  uint64_t key = key_of(dev, ino);
  /* A record with this inode is stale: a new file got the inode of one that
   * was removed since (or the parent's record after fork). */
  struct rc_obj *old = rc_obj_find(kind, key);
  if (old)
    release_locked((uint32_t)old->data[2]);
  uint32_t idx = new_ent_locked(kind, path);
  if (idx == 0)
    return NULL;
  struct rc_obj *o = adopt ? rc_fam_adopt(kind, key, adopt, stack) : rc_obj_begin(kind, key, fn);
  struct rc_tmp_ent *e = rc_pool_get(&rc_tmp_ents, idx);
  if (o == NULL) {
    e->o = NULL;
    release_locked(idx);
    return NULL;
  }
  o->data[0] = dev;
  o->data[1] = ino;
  o->data[2] = idx;
  e->mode = id->mode;
  e->btime = id->btime;
  e->o = o;
  rc_obj_publish(o);
  if (rc_tmp_live >= rc_tmp_sweep_at)
    sweep_locked();
  return o;
}

void rc_tmp_acquired(unsigned kind, const char *path, int fd, unsigned fn)
{
  if (rc_tls_mode != RC_MODE_APP)
    return; /* a vfork child, or rcleak's own */
  int saved = errno;
  struct rc_tmp_id id;
  if (!tmp_statx(fd, path, &id)) {
    errno = saved;
    return;
  }
  /* Absolute, so that a later chdir does not change what it names. */
  char abs[PATH_MAX + 2];
  const char *p = path;
  if (path[0] != '/') {
    long n = syscall(SYS_getcwd, abs, sizeof abs);
    size_t plen = strlen(path);
    if (n > 0 && (size_t)n + plen + 1 <= sizeof abs) {
      size_t cl = strlen(abs);
      if (cl > 1)
        abs[cl++] = '/';
      memcpy(abs + cl, path, plen + 1);
      p = abs;
    }
  }
  rc_pool_lock(&rc_tmp_ents);
  (void)insert_locked(kind, p, &id, fn, NULL, 0);
  rc_pool_unlock(&rc_tmp_ents);
  errno = saved;
}

void rc_tmp_after_fork_child(void)
{
  rc_pool_after_fork(&rc_tmp_ents);
  rc_pool_after_fork(&rc_tmp_long);
}

/* ---- at exit ---- */

static bool is_dot(const char *n)
{
  return n[0] == '.' && (n[1] == '\0' || (n[1] == '.' && n[2] == '\0'));
}

/* Open the directory at path if it is still the one created; -1 otherwise. */
static int open_same_dir(const char *path, uint64_t dev, uint64_t ino)
{
  int fd = rc_sys_open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
  struct stat st;
  if (fd >= 0 && (syscall(SYS_fstat, fd, &st) != 0 || (uint64_t)st.st_dev != dev ||
                  (uint64_t)st.st_ino != ino)) {
    rc_sys_close(fd);
    fd = -1;
  }
  return fd;
}

static bool count_one(const char *name, unsigned char type, void *arg)
{
  (void)name;
  (void)type;
  (void)arg;
  return true;
}

static int64_t count_entries(const char *path, uint64_t dev, uint64_t ino)
{
  int fd = open_same_dir(path, dev, ino);
  if (fd < 0)
    return 0;
  int n = rc_dir_iterate(fd, count_one, NULL);
  rc_sys_close(fd);
  return n < 0 ? 0 : n;
}

static void collect_kind(struct rc_leakset *ls, unsigned kind)
{
  for (uint32_t i = 1; i <= rc_tmp_ents.hw; i++) {
    const struct rc_tmp_ent *e = rc_pool_get(&rc_tmp_ents, i);
    if (e == NULL || !e->used || e->kind != kind || e->o == NULL)
      continue;
    const struct rc_obj *o = e->o;
    if (__atomic_load_n(&o->state, __ATOMIC_ACQUIRE) != RC_OBJ_LIVE || o->kind != kind ||
        o->owner != rc_pid)
      continue; /* another process's (the parent's, after fork) */
    const char *path = ent_path(e);
    struct rc_tmp_id id;
    if (!still_there(e, path, &id))
      continue; /* removed, renamed away, replaced: released */
    struct rc_leak *lk = rc_leak_add(ls, kind);
    if (lk == NULL)
      return;
    rc_fam_fill(lk, o);
    lk->target = rc_arena_strdup(path);
    if (kind == RC_KIND_TMPDIR) {
      lk->u.tmpdir.dev = o->data[0];
      lk->u.tmpdir.ino = o->data[1];
      lk->u.tmpdir.entries = count_entries(path, o->data[0], o->data[1]);
    } else {
      lk->u.tmpfile.dev = o->data[0];
      lk->u.tmpfile.ino = o->data[1];
      lk->u.tmpfile.bytes = id.size;
    }
  }
}

static void tmpdir_collect(struct rc_leakset *ls)
{
  collect_kind(ls, RC_KIND_TMPDIR);
}

static void tmpfile_collect(struct rc_leakset *ls)
{
  collect_kind(ls, RC_KIND_TMPFILE);
}

/* Open the parent directory of path; *base points at the last component. */
static int open_parent(const char *path, const char **base)
{
  const char *slash = strrchr(path, '/');
  if (slash == NULL) {
    *base = path;
    return rc_sys_open(".", O_RDONLY | O_DIRECTORY, 0);
  }
  *base = slash + 1;
  char dir[PATH_MAX + 2];
  size_t n = (size_t)(slash - path);
  if (n == 0)
    n = 1; /* "/" */
  if (n >= sizeof dir)
    return -1;
  memcpy(dir, path, n);
  dir[n] = '\0';
  return rc_sys_open(dir, O_RDONLY | O_DIRECTORY, 0);
}

static void fail(struct rc_leak *lk, const char *why)
{
  lk->cleanup = RC_CLEAN_FAILED;
  lk->detail = why;
}

#define RC_RM_MAX_DEPTH 64

/* Remove everything inside directory dfd, never following a symlink: each
 * name is looked at with AT_SYMLINK_NOFOLLOW, directories are entered with
 * O_NOFOLLOW|O_DIRECTORY through the parent's fd, and everything else
 * (symlinks included) is unlinked as a name.  Entries can be missed while
 * the directory changes under getdents, so passes repeat while they make
 * progress.  Returns 0 or an errno. */
static int remove_contents(int dfd, int depth)
{
  if (depth > RC_RM_MAX_DEPTH)
    return ELOOP;
  int err = 0;
  char buf[1024] __attribute__((aligned(8)));
  for (;;) {
    bool progress = false;
    err = 0;
    if (lseek(dfd, 0, SEEK_SET) != 0)
      return errno;
    for (;;) {
      long got = syscall(SYS_getdents64, dfd, buf, sizeof buf);
      if (got < 0)
        return errno;
      if (got == 0)
        break;
      for (long off = 0; off < got;) {
        struct rc_dirent64 *d = (struct rc_dirent64 *)(buf + off);
        off += d->d_reclen;
        if (is_dot(d->d_name))
          continue;
        struct stat st;
        if (!stat_nofollow(dfd, d->d_name, &st))
          continue;
        if (S_ISDIR(st.st_mode)) {
          int sub = rc_sys_openat(dfd, d->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
          if (sub >= 0) {
            int e = remove_contents(sub, depth + 1);
            rc_sys_close(sub);
            if (e)
              err = e;
          }
          if (syscall(SYS_unlinkat, dfd, d->d_name, AT_REMOVEDIR) == 0)
            progress = true;
          else if (!err)
            err = errno;
        } else if (syscall(SYS_unlinkat, dfd, d->d_name, 0) == 0) {
          progress = true;
        } else {
          err = errno;
        }
      }
    }
    if (!progress)
      return err;
  }
}

static void tmpdir_clean(struct rc_leak *lk)
{
  const char *path = lk->target;
  const char *base;
  int pfd = open_parent(path, &base);
  if (pfd < 0) {
    fail(lk, rc_fam_errtext(errno));
    return;
  }
  int dfd = rc_sys_openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
  struct stat st;
  if (dfd < 0 || syscall(SYS_fstat, dfd, &st) != 0 || (uint64_t)st.st_dev != lk->u.tmpdir.dev ||
      (uint64_t)st.st_ino != lk->u.tmpdir.ino) {
    fail(lk, "replaced by another file");
    rc_sys_close(dfd);
    rc_sys_close(pfd);
    return;
  }
  int err = remove_contents(dfd, 0);
  rc_sys_close(dfd);
  /* Check the name again right before removing it. */
  if (!err && (!stat_nofollow(pfd, base, &st) || (uint64_t)st.st_dev != lk->u.tmpdir.dev ||
               (uint64_t)st.st_ino != lk->u.tmpdir.ino))
    err = -1;
  else if (!err && syscall(SYS_unlinkat, pfd, base, AT_REMOVEDIR) != 0)
    err = errno;
  rc_sys_close(pfd);
  if (err == 0)
    lk->cleanup = RC_CLEAN_REMOVED;
  else
    fail(lk, err < 0 ? "replaced by another file" : rc_fam_errtext(err));
}

static void tmpfile_clean(struct rc_leak *lk)
{
  const char *base;
  int pfd = open_parent(lk->target, &base);
  struct stat st;
  if (pfd < 0) {
    fail(lk, rc_fam_errtext(errno));
  } else if (!stat_nofollow(pfd, base, &st) || S_ISDIR(st.st_mode) || S_ISLNK(st.st_mode) ||
             (uint64_t)st.st_dev != lk->u.tmpfile.dev ||
             (uint64_t)st.st_ino != lk->u.tmpfile.ino) {
    fail(lk, "replaced by another file");
  } else if (syscall(SYS_unlinkat, pfd, base, 0) != 0) {
    fail(lk, rc_fam_errtext(errno));
  } else {
    lk->cleanup = RC_CLEAN_UNLINKED;
  }
  rc_sys_close(pfd);
}

static void tmpdir_json(struct rc_strbuf *o, const struct rc_leak *lk)
{
  rc_sb_puts(o, "\"path\": ");
  rc_sb_put_json_str(o, lk->target ? lk->target : "");
  rc_sb_puts(o, ", \"entries\": ");
  rc_sb_puti(o, lk->u.tmpdir.entries);
}

static void tmpfile_json(struct rc_strbuf *o, const struct rc_leak *lk)
{
  rc_sb_puts(o, "\"path\": ");
  rc_sb_put_json_str(o, lk->target ? lk->target : "");
  rc_sb_puts(o, ", \"bytes\": ");
  rc_sb_puti(o, lk->u.tmpfile.bytes);
}

static void tmpdir_describe(struct rc_strbuf *o, const struct rc_leak *lk)
{
  rc_sb_puts(o, "temp dir ");
  rc_sb_puts(o, lk->target ? lk->target : "?");
  rc_sb_puts(o, " (");
  rc_sb_puti(o, lk->u.tmpdir.entries);
  rc_sb_puts(o, lk->u.tmpdir.entries == 1 ? " entry)" : " entries)");
}

static void tmpfile_describe(struct rc_strbuf *o, const struct rc_leak *lk)
{
  rc_sb_puts(o, "temp file ");
  rc_sb_puts(o, lk->target ? lk->target : "?");
  rc_sb_puts(o, " (");
  rc_sb_puti(o, lk->u.tmpfile.bytes);
  rc_sb_puts(o, " bytes)");
}

const struct rc_family rc_family_tmpdir = {
  .kind = RC_KIND_TMPDIR,
  .noun = "temporary directory",
  .plural = "temporary directories",
  .collect = tmpdir_collect,
  .clean = tmpdir_clean,
  .json_fields = tmpdir_json,
  .describe = tmpdir_describe,
};

const struct rc_family rc_family_tmpfile = {
  .kind = RC_KIND_TMPFILE,
  .noun = "temporary file",
  .plural = "temporary files",
  .collect = tmpfile_collect,
  .clean = tmpfile_clean,
  .json_fields = tmpfile_json,
  .describe = tmpfile_describe,
};

/* ---- across exec ----
 * "tmpdir|tmpfile <dev> <ino> <mode> <btime> <path> <fn> <tid> <t_ns> <stack>", the path
 * %-escaped so that it is one field on one line. */

static void put_escaped(struct rc_strbuf *b, const char *s)
{
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c <= ' ' || c == '%' || c == 0x7f) {
      rc_sb_putc(b, '%');
      rc_sb_putc(b, "0123456789abcdef"[c >> 4]);
      rc_sb_putc(b, "0123456789abcdef"[c & 15]);
    } else {
      rc_sb_putc(b, (char)c);
    }
  }
}

static int hexval(char c)
{
  return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static void unescape(char *s)
{
  char *w = s;
  for (char *r = s; *r; r++) {
    if (*r == '%' && hexval(r[1]) >= 0 && hexval(r[2]) >= 0) {
      *w++ = (char)(hexval(r[1]) << 4 | hexval(r[2]));
      r += 2;
    } else {
      *w++ = *r;
    }
  }
  *w = '\0';
}

int rc_tmp_handover_write(struct rc_strbuf *b)
{
  int n = 0;
  rc_pool_lock(&rc_tmp_ents);
  for (uint32_t i = 1; i <= rc_tmp_ents.hw; i++) {
    const struct rc_tmp_ent *e = rc_pool_get(&rc_tmp_ents, i);
    struct rc_tmp_id id;
    if (!e->used || e->o == NULL || e->o->owner != rc_pid || !still_there(e, ent_path(e), &id))
      continue;
    rc_sb_puts(b, e->kind == RC_KIND_TMPDIR ? "tmpdir " : "tmpfile ");
    rc_sb_putu(b, e->o->data[0]);
    rc_sb_putc(b, ' ');
    rc_sb_putu(b, e->o->data[1]);
    rc_sb_putc(b, ' ');
    rc_sb_putu(b, e->mode);
    rc_sb_putc(b, ' ');
    rc_sb_putu(b, e->btime);
    rc_sb_putc(b, ' ');
    put_escaped(b, ent_path(e));
    rc_fam_put_common(b, e->o);
    n++;
  }
  rc_pool_unlock(&rc_tmp_ents);
  return n;
}

bool rc_tmp_handover_read(const char *kind, char *fields, uint32_t stack)
{
  unsigned k;
  if (strcmp(kind, "tmpdir") == 0)
    k = RC_KIND_TMPDIR;
  else if (strcmp(kind, "tmpfile") == 0)
    k = RC_KIND_TMPFILE;
  else
    return false;
  char *p = fields;
  struct rc_tmp_id id = {0};
  id.dev = strtoull(rc_fam_field(&p), NULL, 10);
  id.ino = strtoull(rc_fam_field(&p), NULL, 10);
  id.mode = (uint32_t)strtoul(rc_fam_field(&p), NULL, 10);
  id.btime = strtoull(rc_fam_field(&p), NULL, 10);
  char *path = rc_fam_field(&p);
  unescape(path);
  rc_pool_lock(&rc_tmp_ents);
  (void)insert_locked(k, path, &id, RC_FN_NONE, &p, stack);
  rc_pool_unlock(&rc_tmp_ents);
  return true;
}
