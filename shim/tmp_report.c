/* Temporary directories and files at exit: which records are leaks (the
 * identity check of tmp_family.c, one statx per live record), their report,
 * their cleanup, and the handover across exec.  Everything here runs on the
 * report path (async-signal-safe: raw syscalls, no allocation) but the
 * handover, which runs in the exec wrapper. */
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "arena.h"
#include "fam_util.h"
#include "procfs.h"
#include "tmp_fam.h"

static bool stat_nofollow(int dirfd, const char *path, struct stat *st)
{
  return rc_syscall(SYS_newfstatat, dirfd, path, st, AT_SYMLINK_NOFOLLOW) == 0;
}

static bool is_dot(const char *n)
{
  return n[0] == '.' && (n[1] == '\0' || (n[1] == '.' && n[2] == '\0'));
}

/* Open the directory at path if it is still the one checked; -1 otherwise. */
static int open_same_dir(const char *path, uint64_t dev, uint64_t ino)
{
  int fd = rc_sys_open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
  struct stat st;
  if (fd >= 0 && (rc_syscall(SYS_fstat, fd, &st) != 0 || (uint64_t)st.st_dev != dev ||
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

/* The path as the report shows it: a relative record (relative to the
 * working directory, which is the one it was created in) made absolute. */
static const char *report_path(const char *path)
{
  if (path[0] == '/')
    return rc_arena_strdup(path);
  char buf[PATH_MAX + 2];
  long got = rc_syscall(SYS_getcwd, buf, PATH_MAX + 1);
  size_t clen = got > 0 && buf[0] == '/' ? strlen(buf) : 0;
  size_t plen = strlen(path);
  if (clen == 0 || clen + 1 + plen > PATH_MAX)
    return rc_arena_strdup(path);
  if (clen == 1)
    clen = 0; /* "/" */
  buf[clen] = '/';
  memcpy(buf + clen + 1, path, plen + 1);
  return rc_arena_strdup(buf);
}

RC_HOT static void collect_kind(struct rc_leakset *ls, unsigned kind)
{
  uint32_t high = rc_tmp_high();
  for (uint32_t i = 1; i <= high; i++) {
    struct rc_tmp_view v;
    struct rc_tmp_id id;
    if (!rc_tmp_view(i, &v) || v.kind != kind)
      continue;
    if (!rc_tmp_is_ours(i, &id))
      continue; /* removed, renamed away, replaced: released */
    struct rc_leak *lk = rc_leak_add(ls, kind);
    if (lk == NULL)
      return;
    rc_fam_fill(lk, v.o);
    lk->target = report_path(v.path);
    if (lk->target == NULL)
      lk->target = v.path;
    if (kind == RC_KIND_TMPDIR) {
      lk->u.tmpdir.dev = id.dev;
      lk->u.tmpdir.ino = id.ino;
      lk->u.tmpdir.entries = count_entries(lk->target, id.dev, id.ino);
    } else {
      lk->u.tmpfile.dev = id.dev;
      lk->u.tmpfile.ino = id.ino;
      lk->u.tmpfile.bytes = id.size;
    }
  }
}

RC_HOT static void tmpdir_collect(struct rc_leakset *ls)
{
  collect_kind(ls, RC_KIND_TMPDIR);
}

RC_HOT static void tmpfile_collect(struct rc_leakset *ls)
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
  char buf[1024] __attribute__((aligned(8)));
  for (;;) {
    bool progress = false;
    int err = 0;
    if (lseek(dfd, 0, SEEK_SET) != 0)
      return errno;
    for (;;) {
      long got = rc_syscall(SYS_getdents64, dfd, buf, sizeof buf);
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
          if (rc_syscall(SYS_unlinkat, dfd, d->d_name, AT_REMOVEDIR) == 0)
            progress = true;
          else if (!err)
            err = errno;
        } else if (rc_syscall(SYS_unlinkat, dfd, d->d_name, 0) == 0) {
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
  if (dfd < 0 || rc_syscall(SYS_fstat, dfd, &st) != 0 || (uint64_t)st.st_dev != lk->u.tmpdir.dev ||
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
  else if (!err && rc_syscall(SYS_unlinkat, pfd, base, AT_REMOVEDIR) != 0)
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
  } else if (rc_syscall(SYS_unlinkat, pfd, base, 0) != 0) {
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
 * %-escaped so that it is one field on one line.  The identity written is
 * the one the check finds now, so the new image's records are pinned by
 * device+inode.  A relative path stays relative: exec keeps the working
 * directory. */

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
    int hi = *r == '%' ? hexval(r[1]) : -1, lo = hi >= 0 ? hexval(r[2]) : -1;
    if (hi >= 0 && lo >= 0) {
      *w++ = (char)(hi << 4 | lo);
      r += 2;
    } else {
      *w++ = *r;
    }
  }
  *w = '\0';
}

int rc_tmp_handover_write(struct rc_strbuf *b);
int rc_tmp_handover_write(struct rc_strbuf *b)
{
  int n = 0;
  if (!rc_tmp_lock())
    return 0;
  uint32_t high = rc_tmp_high();
  for (uint32_t i = 1; i <= high; i++) {
    struct rc_tmp_view v;
    struct rc_tmp_id id;
    if (!rc_tmp_view(i, &v) || !rc_tmp_is_ours(i, &id))
      continue;
    rc_sb_puts(b, v.kind == RC_KIND_TMPDIR ? "tmpdir " : "tmpfile ");
    rc_sb_putu(b, id.dev);
    rc_sb_putc(b, ' ');
    rc_sb_putu(b, id.ino);
    rc_sb_putc(b, ' ');
    rc_sb_putu(b, id.mode);
    rc_sb_putc(b, ' ');
    rc_sb_putu(b, id.btime);
    rc_sb_putc(b, ' ');
    put_escaped(b, v.path);
    rc_fam_put_common(b, v.o);
    n++;
  }
  rc_tmp_unlock();
  return n;
}

bool rc_tmp_handover_read(const char *kind, char *fields, uint32_t stack);
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
  rc_tmp_adopt(k, path, &id, &p, stack);
  return true;
}
