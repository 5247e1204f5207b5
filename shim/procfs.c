/* /proc access for the exit and signal paths (see procfs.h). */
#include "procfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fdprobe.h"
#include "rc.h"

/* The descriptors rcleak holds open right now (fd + 1; 0 is a free slot):
 * a report from a signal handler that interrupted rcleak's own work (an
 * exec's handover listing /proc/self/fd, say) must not take one of them
 * for the program's.  Lock-free; a fork child inherits the set with the
 * descriptors. */
#define RC_OWN_FDS 16
static int rc_own_fds[RC_OWN_FDS];
/* bit fd % 64 of each one: the report asks about every open descriptor,
 * and nearly every answer is no */
static uint64_t rc_own_bits;

static void own_bits_update(void)
{
  uint64_t bits = 0;
  for (int i = 0; i < RC_OWN_FDS; i++) {
    int v = __atomic_load_n(&rc_own_fds[i], __ATOMIC_ACQUIRE);
    if (v != 0)
      bits |= 1ull << ((v - 1) & 63);
  }
  __atomic_store_n(&rc_own_bits, bits, __ATOMIC_RELEASE);
}

RC_HOT static void own_add(int fd)
{
  __atomic_fetch_or(&rc_own_bits, 1ull << (fd & 63), __ATOMIC_ACQ_REL);
  for (int i = 0; i < RC_OWN_FDS; i++) {
    int free_slot = 0;
    if (__atomic_compare_exchange_n(&rc_own_fds[i], &free_slot, fd + 1, false, __ATOMIC_RELEASE,
                                    __ATOMIC_RELAXED)) {
      /* again: an own_del of another thread may have recomputed the bits
       * between the first store and the slot */
      __atomic_fetch_or(&rc_own_bits, 1ull << (fd & 63), __ATOMIC_ACQ_REL);
      return;
    }
  }
}

RC_HOT static void own_del(int fd)
{
  for (int i = 0; i < RC_OWN_FDS; i++) {
    int mine = fd + 1;
    if (__atomic_compare_exchange_n(&rc_own_fds[i], &mine, 0, false, __ATOMIC_RELEASE,
                                    __ATOMIC_RELAXED)) {
      own_bits_update();
      return;
    }
  }
}

RC_HOT bool rc_fd_is_own(int fd)
{
  if (!(__atomic_load_n(&rc_own_bits, __ATOMIC_ACQUIRE) >> (fd & 63) & 1))
    return false;
  for (int i = 0; i < RC_OWN_FDS; i++)
    if (__atomic_load_n(&rc_own_fds[i], __ATOMIC_ACQUIRE) == fd + 1)
      return true;
  return false;
}

RC_HOT int rc_sys_openat(int dirfd, const char *path, int flags, int mode)
{
  long r;
  do
    r = rc_syscall(SYS_openat, dirfd, path, flags | O_CLOEXEC, mode);
  while (r < 0 && errno == EINTR);
  if (r >= 0)
    own_add((int)r);
  return (int)r;
}

RC_HOT int rc_sys_open(const char *path, int flags, int mode)
{
  return rc_sys_openat(AT_FDCWD, path, flags, mode);
}

RC_HOT void rc_sys_close(int fd)
{
  if (fd >= 0) {
    own_del(fd);
    (void)rc_syscall(SYS_close, fd);
  }
}

RC_HOT int rc_dir_iterate(int dfd, bool (*fn)(const char *name, unsigned char type, void *arg),
                   void *arg)
{
  int count = 0;
  if (lseek(dfd, 0, SEEK_SET) != 0)
    return -1;
  bool go = true;
  char buf[4096] __attribute__((aligned(8)));
  while (go) {
    long n = rc_syscall(SYS_getdents64, dfd, buf, sizeof buf);
    if (n <= 0)
      break;
    for (long off = 0; off < n && go;) {
      struct rc_dirent64 *d = (struct rc_dirent64 *)(buf + off);
      off += d->d_reclen;
      if (d->d_name[0] == '.' &&
          (d->d_name[1] == '\0' || (d->d_name[1] == '.' && d->d_name[2] == '\0')))
        continue;
      count++;
      go = fn(d->d_name, d->d_type, arg);
    }
  }
  return count;
}

int rc_dir_each(int dirfd, const char *path, bool nofollow,
                bool (*fn)(const char *name, unsigned char type, void *arg), void *arg)
{
  int saved = errno;
  int dfd = rc_sys_openat(dirfd, path, O_RDONLY | O_DIRECTORY | (nofollow ? O_NOFOLLOW : 0), 0);
  if (dfd < 0) {
    errno = saved;
    return -1;
  }
  int count = rc_dir_iterate(dfd, fn, arg);
  rc_sys_close(dfd);
  errno = saved;
  return count;
}

struct fd_each {
  void (*fn)(int fd, void *arg);
  void *arg;
  int self; /* the listing's own descriptor */
  int count;
};

RC_HOT static bool fd_entry(const char *name, unsigned char type, void *arg)
{
  (void)type;
  struct fd_each *e = arg;
  int fd = 0;
  for (const char *s = name; *s >= '0' && *s <= '9'; s++)
    fd = fd * 10 + (*s - '0');
  if (fd != e->self) {
    e->fn(fd, e->arg);
    e->count++;
  }
  return true;
}

/* The registry's bound (fdtable.c); absent from the unit tests that link
 * this file alone. */
extern int rc_fd_limit(void) __attribute__((weak));

RC_HOT int rc_proc_each_fd(void (*fn)(int fd, void *arg), void *arg, bool (*registered)(int fd))
{
  int probed = rc_fd_probe_each(fn, arg, registered); /* small tables: no /proc at all */
  if (probed >= 0)
    return probed;
  int saved = errno;
  int dfd = rc_sys_open("/proc/self/fd", O_RDONLY | O_DIRECTORY, 0);
  if (dfd < 0) {
    /* No /proc (a chroot or sandbox without it): ask the table itself, up
     * to the descriptor limit (at most 64Ki numbers) and past the highest
     * number the registry holds, so no tracked descriptor goes unseen. */
    struct rlimit rl = {0, 0};
    (void)rc_syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, &rl);
    int end = rl.rlim_cur < (1u << 16) ? (int)rl.rlim_cur : 1 << 16;
    if (rc_fd_limit && rc_fd_limit() > end)
      end = rc_fd_limit();
    errno = saved;
    return rc_fd_probe_upto(end, fn, arg, registered);
  }
  struct fd_each e = {fn, arg, dfd, 0};
  (void)rc_dir_iterate(dfd, fd_entry, &e);
  rc_sys_close(dfd);
  errno = saved;
  return e.count;
}

/* Read fd into buf[0..len-1) and NUL-terminate; the bytes read, or len - 1
 * with *more set when the file holds more than that. */
static size_t read_all(int fd, char *buf, size_t len, bool *more)
{
  size_t got = 0;
  while (got + 1 < len) {
    ssize_t r = read(fd, buf + got, len - 1 - got);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      break;
    got += (size_t)r;
  }
  buf[got] = '\0';
  if (more != NULL) {
    char c;
    *more = got + 1 >= len && read(fd, &c, 1) == 1;
  }
  return got;
}

ssize_t rc_read_file(const char *path, char *buf, size_t len)
{
  int saved = errno;
  int fd = rc_sys_open(path, O_RDONLY, 0);
  if (fd < 0) {
    errno = saved;
    return -1;
  }
  size_t got = read_all(fd, buf, len, NULL);
  rc_sys_close(fd);
  errno = saved;
  return (ssize_t)got;
}

ssize_t rc_read_user_file(const char *path, char *buf, size_t len, const char **why)
{
  int saved = errno;
  ssize_t ret = -1;
  int fd = rc_sys_open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY, 0);
  struct stat st;
  bool more = false;
  if (fd < 0) {
    *why = errno == ENOENT ? "no such file" : errno == EACCES ? "permission denied" : "cannot open it";
  } else {
    if (rc_syscall(SYS_fstat, fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      *why = "not a regular file";
    } else {
      size_t got = read_all(fd, buf, len, &more);
      if (more)
        *why = "too large";
      else
        ret = (ssize_t)got;
    }
    rc_sys_close(fd);
  }
  errno = saved;
  return ret;
}

ssize_t rc_readlink(const char *path, char *buf, size_t len)
{
  int saved = errno;
  ssize_t n = readlink(path, buf, len - 1);
  if (n < 0) {
    errno = saved;
    buf[0] = '\0';
    return -1;
  }
  buf[n] = '\0';
  return n;
}
