/* Interposers of the descriptor family: the system-call wrappers that create
 * and close file descriptors.
 *
 * Each wrapper calls the real function, then records the result: the order
 * matters only for close, where the record goes first (see fdtable.h).  The
 * bookkeeping preserves errno, and does nothing at all in a vfork child. */
#include <fcntl.h>
#include <linux/close_range.h>
#include <mqueue.h>
#include <stdarg.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "fdtable.h"
#include "rc.h"
#include "real.h"
#include "tmp_fam.h"

/* Functions whose only effect is "returns a new descriptor or -1":
 * X(name, parameters, arguments). */
#define RC_FD_SIMPLE(X)                                                         \
  X(creat, (const char *path, mode_t mode), (path, mode))                        \
  X(creat64, (const char *path, mode_t mode), (path, mode))                      \
  X(dup, (int fd), (fd))                                                         \
  X(socket, (int domain, int type, int protocol), (domain, type, protocol))      \
  X(accept, (int fd, struct sockaddr *addr, socklen_t *len), (fd, addr, len))    \
  X(accept4, (int fd, struct sockaddr *addr, socklen_t *len, int flags),         \
    (fd, addr, len, flags))                                                      \
  X(eventfd, (unsigned int initval, int flags), (initval, flags))                \
  X(timerfd_create, (int clockid, int flags), (clockid, flags))                  \
  X(epoll_create, (int size), (size))                                            \
  X(epoll_create1, (int flags), (flags))                                         \
  X(inotify_init, (void), ())                                                    \
  X(inotify_init1, (int flags), (flags))                                         \
  X(memfd_create, (const char *name, unsigned int flags), (name, flags))         \
  X(pidfd_open, (pid_t pid, unsigned int flags), (pid, flags))                   \
  X(pidfd_getfd, (int pidfd, int targetfd, unsigned int flags),                  \
    (pidfd, targetfd, flags))                                                    \
  X(posix_openpt, (int flags), (flags))                                          \
  X(getpt, (void), ())                                                           \
  X(shm_open, (const char *name, int flags, mode_t mode), (name, flags, mode))     \
  X(fanotify_init, (unsigned int flags, unsigned int event_f_flags),             \
    (flags, event_f_flags))                                                      \
  X(open_by_handle_at, (int mount_fd, struct file_handle *handle, int flags),    \
    (mount_fd, handle, flags))

#define RC_DEFINE_SIMPLE(name, params, args)                                    \
  RC_EXPORT int name params                                                      \
  {                                                                              \
    int r_ = REAL(name) args;                                                    \
    rc_fd_acquired(r_, RC_FN_##name);                                            \
    return r_;                                                                   \
  }
RC_FD_SIMPLE(RC_DEFINE_SIMPLE)
#undef RC_DEFINE_SIMPLE

/* The open family.  The mode argument exists only with O_CREAT or O_TMPFILE;
 * it is read as int (mode_t is promoted through the ellipsis). */
static bool needs_mode(int flags)
{
  return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE;
}

#define RC_OPEN_MODE(flags)                                                     \
  int mode = 0;                                                                  \
  va_list ap;                                                                    \
  va_start(ap, flags);                                                           \
  if (needs_mode(flags))                                                         \
    mode = va_arg(ap, int);                                                      \
  va_end(ap)

/* X(name, parameters, the directory a relative path is in, arguments).  An
 * exclusive creation shaped like CPython's tempfile.mkstemp in a Python
 * process also asks the temp family (tmp_fam.h) whether tempfile made it. */
#define RC_OPEN_FAMILY(X)                                                       \
  X(open, (const char *path, int flags, ...), AT_FDCWD, (path, flags, mode))     \
  X(open64, (const char *path, int flags, ...), AT_FDCWD, (path, flags, mode))   \
  X(openat, (int dirfd, const char *path, int flags, ...), dirfd,                \
    (dirfd, path, flags, mode))                                                  \
  X(openat64, (int dirfd, const char *path, int flags, ...), dirfd,              \
    (dirfd, path, flags, mode))

#define RC_DEFINE_OPEN(name, params, dir, args)                                 \
  RC_EXPORT int name params                                                      \
  {                                                                              \
    RC_OPEN_MODE(flags);                                                         \
    struct rc_tmp_window w;                                                      \
    bool excl = RC_TMP_PY_EXCL(flags, mode);                                     \
    if (RC_UNLIKELY(excl))                                                       \
      rc_tmp_window_open(&w);                                                    \
    int fd = REAL(name) args;                                                    \
    rc_fd_acquired(fd, RC_FN_##name);                                            \
    if (RC_UNLIKELY(excl))                                                       \
      rc_tmp_python_mkstemp(dir, path, fd, RC_FN_##name, &w);                    \
    return fd;                                                                   \
  }
RC_OPEN_FAMILY(RC_DEFINE_OPEN)
#undef RC_DEFINE_OPEN

/* FORTIFY_SOURCE builds call these instead of open/openat when the mode
 * argument is known to be absent. */
RC_EXPORT int __open_2(const char *path, int flags)
{
  int fd = REAL(__open_2)(path, flags);
  rc_fd_acquired(fd, RC_FN___open_2);
  return fd;
}

RC_EXPORT int __open64_2(const char *path, int flags)
{
  int fd = REAL(__open64_2)(path, flags);
  rc_fd_acquired(fd, RC_FN___open64_2);
  return fd;
}

RC_EXPORT int __openat_2(int dirfd, const char *path, int flags)
{
  int fd = REAL(__openat_2)(dirfd, path, flags);
  rc_fd_acquired(fd, RC_FN___openat_2);
  return fd;
}

RC_EXPORT int __openat64_2(int dirfd, const char *path, int flags)
{
  int fd = REAL(__openat64_2)(dirfd, path, flags);
  rc_fd_acquired(fd, RC_FN___openat64_2);
  return fd;
}

/* dup2/dup3 onto an open descriptor close it implicitly: the new record
 * simply replaces the old one. */
RC_EXPORT int dup2(int oldfd, int newfd)
{
  int fd = REAL(dup2)(oldfd, newfd);
  if (oldfd != newfd)
    rc_fd_acquired(fd, RC_FN_dup2);
  return fd;
}

RC_EXPORT int dup3(int oldfd, int newfd, int flags)
{
  int fd = REAL(dup3)(oldfd, newfd, flags);
  rc_fd_acquired(fd, RC_FN_dup3);
  return fd;
}

/* fcntl's third argument is an int or a pointer depending on cmd; on the
 * ABIs we support both travel in the same register, so it is forwarded as a
 * pointer-sized integer.  Only F_DUPFD and F_DUPFD_CLOEXEC acquire. */
#define RC_DEFINE_FCNTL(name)                                                   \
  RC_EXPORT int name(int fd, int cmd, ...)                                       \
  {                                                                              \
    va_list ap;                                                                  \
    va_start(ap, cmd);                                                           \
    uintptr_t arg = va_arg(ap, uintptr_t);                                       \
    va_end(ap);                                                                  \
    int r = REAL(name)(fd, cmd, arg);                                            \
    if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC)                                \
      rc_fd_acquired(r, RC_FN_##name);                                           \
    return r;                                                                    \
  }
RC_DEFINE_FCNTL(fcntl)
RC_DEFINE_FCNTL(fcntl64)
#undef RC_DEFINE_FCNTL

RC_EXPORT int pipe(int fds[2])
{
  int r = REAL(pipe)(fds);
  if (r == 0)
    rc_fd_acquired2(fds, RC_FN_pipe);
  return r;
}

RC_EXPORT int pipe2(int fds[2], int flags)
{
  int r = REAL(pipe2)(fds, flags);
  if (r == 0)
    rc_fd_acquired2(fds, RC_FN_pipe2);
  return r;
}

RC_EXPORT int socketpair(int domain, int type, int protocol, int fds[2])
{
  int r = REAL(socketpair)(domain, type, protocol, fds);
  if (r == 0)
    rc_fd_acquired2(fds, RC_FN_socketpair);
  return r;
}

/* A message queue descriptor is a descriptor (Linux), closed by mq_close,
 * which glibc implements with an internal close.  mode and attr follow only
 * with O_CREAT. */
RC_EXPORT mqd_t mq_open(const char *name, int flags, ...)
{
  mode_t mode = 0;
  struct mq_attr *attr = NULL;
  if (flags & O_CREAT) {
    va_list ap;
    va_start(ap, flags);
    mode = (mode_t)va_arg(ap, int);
    attr = va_arg(ap, struct mq_attr *);
    va_end(ap);
  }
  mqd_t q = REAL(mq_open)(name, flags, mode, attr);
  rc_fd_acquired((int)q, RC_FN_mq_open);
  return q;
}

RC_EXPORT int mq_close(mqd_t q)
{
  rc_fd_released((int)q);
  return REAL(mq_close)(q);
}

/* A pseudo-terminal's two ends.  glibc opens them with internal calls that
 * no interposer sees, so without this wrapper both would be untracked. */
RC_EXPORT int openpty(int *amaster, int *aslave, char *name, const struct termios *termp,
                      const struct winsize *winp)
{
  int r = REAL(openpty)(amaster, aslave, name, termp, winp);
  if (r == 0) {
    int fds[2] = {*amaster, *aslave};
    rc_fd_acquired2(fds, RC_FN_openpty);
  }
  return r;
}

/* signalfd(-1, ...) creates a descriptor; signalfd(fd, ...) only changes the
 * mask of an existing one. */
RC_EXPORT int signalfd(int fd, const sigset_t *mask, int flags)
{
  int r = REAL(signalfd)(fd, mask, flags);
  if (fd == -1)
    rc_fd_acquired(r, RC_FN_signalfd);
  return r;
}

/* Descriptors passed with SCM_RIGHTS become ours when the message arrives. */
static void track_rights(const struct msghdr *msg, unsigned fn)
{
  if (msg == NULL || msg->msg_control == NULL)
    return;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c != NULL;
       c = CMSG_NXTHDR((struct msghdr *)msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
      continue;
    size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    const unsigned char *data = CMSG_DATA(c);
    for (size_t i = 0; i < n; i++) {
      int fd;
      memcpy(&fd, data + i * sizeof(int), sizeof fd);
      rc_fd_acquired(fd, fn);
    }
  }
}

RC_EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
  ssize_t r = REAL(recvmsg)(fd, msg, flags);
  if (r >= 0)
    track_rights(msg, RC_FN_recvmsg);
  return r;
}

RC_EXPORT int recvmmsg(int fd, struct mmsghdr *vec, unsigned int n, int flags,
                       struct timespec *timeout)
{
  int r = REAL(recvmmsg)(fd, vec, n, flags, timeout);
  for (int i = 0; i < r; i++)
    track_rights(&vec[i].msg_hdr, RC_FN_recvmmsg);
  return r;
}

RC_EXPORT int close(int fd)
{
  rc_fd_released(fd);
  return REAL(close)(fd);
}

RC_EXPORT int close_range(unsigned int first, unsigned int last, int flags)
{
  /* With CLOSE_RANGE_CLOEXEC nothing is closed now; exec will do it. */
  if (!(flags & CLOSE_RANGE_CLOEXEC))
    rc_fd_released_range(first, last);
  return REAL(close_range)(first, last, flags);
}

RC_EXPORT void closefrom(int lowfd)
{
  if (lowfd >= 0)
    rc_fd_released_range((unsigned)lowfd, ~0u);
  REAL(closefrom)(lowfd);
}
