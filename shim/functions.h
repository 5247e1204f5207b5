/* The one list of every libc function rcleak interposes or calls through to.
 *
 * One row per function: X(return type, name, parameter list).  The list drives
 *  - the pointers to the real functions and their lazy resolver (real.c),
 *  - the `acquired_by` names in reports (enum rc_fn, rc_fn_name()),
 *  - tests/test_exports.sh, which compares `nm -D --defined-only` of the library
 *    with this list, so no wrapper is exported by accident and none is missing.
 * Families add their rows here; the wrappers themselves live in one file per
 * family (fd_interpose.c, stdio_interpose.c, ...).
 */
#ifndef RCLEAK_FUNCTIONS_H
#define RCLEAK_FUNCTIONS_H

#include <dirent.h>
#include <fcntl.h>
#include <mqueue.h>
#include <pty.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <threads.h>

#define RC_FUNCS_FD(X)                                                          \
  X(int, open, (const char *path, int flags, ...))                               \
  X(int, open64, (const char *path, int flags, ...))                             \
  X(int, openat, (int dirfd, const char *path, int flags, ...))                  \
  X(int, openat64, (int dirfd, const char *path, int flags, ...))                \
  X(int, __open_2, (const char *path, int flags))                                \
  X(int, __open64_2, (const char *path, int flags))                              \
  X(int, __openat_2, (int dirfd, const char *path, int flags))                   \
  X(int, __openat64_2, (int dirfd, const char *path, int flags))                 \
  X(int, creat, (const char *path, mode_t mode))                                 \
  X(int, creat64, (const char *path, mode_t mode))                               \
  X(int, dup, (int fd))                                                          \
  X(int, dup2, (int oldfd, int newfd))                                           \
  X(int, dup3, (int oldfd, int newfd, int flags))                                \
  X(int, fcntl, (int fd, int cmd, ...))                                          \
  X(int, fcntl64, (int fd, int cmd, ...))                                        \
  X(int, pipe, (int fds[2]))                                                     \
  X(int, pipe2, (int fds[2], int flags))                                         \
  X(int, socket, (int domain, int type, int protocol))                           \
  X(int, socketpair, (int domain, int type, int protocol, int fds[2]))           \
  X(int, accept, (int fd, struct sockaddr *addr, socklen_t *len))                \
  X(int, accept4, (int fd, struct sockaddr *addr, socklen_t *len, int flags))    \
  X(int, eventfd, (unsigned int initval, int flags))                             \
  X(int, timerfd_create, (int clockid, int flags))                               \
  X(int, signalfd, (int fd, const sigset_t *mask, int flags))                    \
  X(int, epoll_create, (int size))                                               \
  X(int, epoll_create1, (int flags))                                             \
  X(int, inotify_init, (void))                                                   \
  X(int, inotify_init1, (int flags))                                             \
  X(int, memfd_create, (const char *name, unsigned int flags))                   \
  X(int, pidfd_open, (pid_t pid, unsigned int flags))                            \
  X(int, pidfd_getfd, (int pidfd, int targetfd, unsigned int flags))             \
  X(int, posix_openpt, (int flags))                                              \
  X(int, getpt, (void))                                                          \
  X(int, openpty, (int *amaster, int *aslave, char *name,                        \
                   const struct termios *termp, const struct winsize *winp))     \
  X(int, shm_open, (const char *name, int flags, mode_t mode))                   \
  X(mqd_t, mq_open, (const char *name, int flags, ...))                          \
  X(int, mq_close, (mqd_t q))                                                    \
  X(int, fanotify_init, (unsigned int flags, unsigned int event_f_flags))        \
  X(int, open_by_handle_at, (int mount_fd, struct file_handle *handle, int flags)) \
  X(ssize_t, recvmsg, (int fd, struct msghdr *msg, int flags))                   \
  X(int, recvmmsg, (int fd, struct mmsghdr *vec, unsigned int n, int flags,      \
                    struct timespec *timeout))                                   \
  X(int, close, (int fd))                                                        \
  X(int, close_range, (unsigned int first, unsigned int last, int flags))        \
  X(void, closefrom, (int lowfd))

#define RC_FUNCS_STDIO(X)                                                       \
  X(FILE *, fopen, (const char *path, const char *mode))                         \
  X(FILE *, fopen64, (const char *path, const char *mode))                       \
  X(FILE *, fdopen, (int fd, const char *mode))                                  \
  X(FILE *, freopen, (const char *path, const char *mode, FILE *fp))             \
  X(FILE *, freopen64, (const char *path, const char *mode, FILE *fp))           \
  X(FILE *, tmpfile, (void))                                                     \
  X(FILE *, tmpfile64, (void))                                                   \
  X(int, fclose, (FILE *fp))                                                     \
  X(DIR *, opendir, (const char *path))                                          \
  X(DIR *, fdopendir, (int fd))                                                  \
  X(int, closedir, (DIR *dir))

#define RC_FUNCS_TMP(X)                                                         \
  X(int, mkstemp, (char *tmpl))                                                  \
  X(int, mkstemp64, (char *tmpl))                                                \
  X(int, mkostemp, (char *tmpl, int flags))                                      \
  X(int, mkostemp64, (char *tmpl, int flags))                                    \
  X(int, mkstemps, (char *tmpl, int suffixlen))                                  \
  X(int, mkstemps64, (char *tmpl, int suffixlen))                                \
  X(int, mkostemps, (char *tmpl, int suffixlen, int flags))                      \
  X(int, mkostemps64, (char *tmpl, int suffixlen, int flags))

#define RC_FUNCS_PROC(X)                                                        \
  X(int, execve, (const char *path, char *const argv[], char *const envp[]))     \
  X(int, execv, (const char *path, char *const argv[]))                          \
  X(int, execvp, (const char *file, char *const argv[]))                         \
  X(int, execvpe, (const char *file, char *const argv[], char *const envp[]))    \
  X(int, execl, (const char *path, const char *arg, ...))                        \
  X(int, execle, (const char *path, const char *arg, ...))                       \
  X(int, execlp, (const char *file, const char *arg, ...))                       \
  X(int, fexecve, (int fd, char *const argv[], char *const envp[]))              \
  X(void, exit, (int status))                                                    \
  X(void, _exit, (int status))                                                   \
  X(void, _Exit, (int status))                                                   \
  X(void, quick_exit, (int status))                                              \
  X(int, __libc_start_main, (int (*main)(int, char **, char **), int argc,       \
                             char **argv, void (*init)(void), void (*fini)(void), \
                             void (*rtld_fini)(void), void *stack_end))

/* Children: fork, vfork, posix_spawn, popen, the wait family, the signals
 * that end them (child_*.c). */
#define RC_FUNCS_CHILD(X)                                                       \
  X(pid_t, fork, (void))                                                         \
  X(pid_t, vfork, (void))                                                        \
  X(pid_t, forkpty, (int *amaster, char *name, const struct termios *termp,      \
                     const struct winsize *winp))                                \
  X(int, clone, (int (*fn)(void *), void *stack, int flags, void *arg, ...))     \
  X(pid_t, setsid, (void))                                                       \
  X(int, posix_spawn, (pid_t *pid, const char *path,                             \
                       const posix_spawn_file_actions_t *fa,                     \
                       const posix_spawnattr_t *attr, char *const argv[],        \
                       char *const envp[]))                                      \
  X(int, posix_spawnp, (pid_t *pid, const char *file,                            \
                        const posix_spawn_file_actions_t *fa,                    \
                        const posix_spawnattr_t *attr, char *const argv[],       \
                        char *const envp[]))                                     \
  X(FILE *, popen, (const char *command, const char *type))                      \
  X(int, pclose, (FILE *fp))                                                     \
  X(pid_t, wait, (int *status))                                                  \
  X(pid_t, waitpid, (pid_t pid, int *status, int options))                       \
  X(int, waitid, (idtype_t idtype, id_t id, siginfo_t *info, int options))       \
  X(pid_t, wait3, (int *status, int options, struct rusage *ru))                 \
  X(pid_t, wait4, (pid_t pid, int *status, int options, struct rusage *ru))     \
  X(int, kill, (pid_t pid, int sig))                                             \
  X(int, killpg, (pid_t pgrp, int sig))                                          \
  X(int, sigqueue, (pid_t pid, int sig, const union sigval value))

/* Signal dispositions: signal, sigaction, bsd_signal, sysv_signal (signal_hook.c). */
#define RC_FUNCS_SIGNAL(X)                                                      \
  X(int, sigaction, (int sig, const struct sigaction *act, struct sigaction *old)) \
  X(__sighandler_t, signal, (int sig, __sighandler_t handler))                   \
  X(__sighandler_t, bsd_signal, (int sig, __sighandler_t handler))               \
  X(__sighandler_t, sysv_signal, (int sig, __sighandler_t handler))

/* POSIX timers and interval timers (timer_*.c). */
#include <sys/time.h> /* struct itimerval, __itimer_which_t for the rows below */
#define RC_FUNCS_TIMER(X)                                                       \
  X(int, timer_create, (clockid_t clock, struct sigevent *sev, timer_t *id))     \
  X(int, timer_delete, (timer_t id))                                             \
  X(int, setitimer, (__itimer_which_t which, const struct itimerval *nv,         \
                     struct itimerval *ov))                                      \
  X(unsigned int, alarm, (unsigned int seconds))                                 \
  X(useconds_t, ualarm, (useconds_t value, useconds_t interval))

/* Temporary directories: mkdtemp, and mkdir when CPython's tempfile.mkdtemp
 * calls it (tmp_*.c; mkstemp and friends are in RC_FUNCS_TMP, and the open
 * family, in RC_FUNCS_FD, records tempfile's mkstemp);
 * the calls that remove or rename temps (releases), and chdir/fchdir, around
 * which relative temp paths are made absolute (tmp_family.c). */
#define RC_FUNCS_TMPDIR(X)                                                      \
  X(char *, mkdtemp, (char *tmpl))                                               \
  X(int, mkdir, (const char *path, mode_t mode))                                 \
  X(int, rmdir, (const char *path))                                              \
  X(int, unlink, (const char *path))                                             \
  X(int, unlinkat, (int dirfd, const char *path, int flags))                     \
  X(int, remove, (const char *path))                                             \
  X(int, rename, (const char *oldpath, const char *newpath))                     \
  X(int, renameat, (int olddirfd, const char *oldpath, int newdirfd,             \
                    const char *newpath))                                        \
  X(int, renameat2, (int olddirfd, const char *oldpath, int newdirfd,            \
                     const char *newpath, unsigned int flags))                   \
  X(int, chdir, (const char *path))                                              \
  X(int, fchdir, (int fd))

/* Threads: pthread_create, the join family, pthread_detach (thread_*.c). */
#define RC_FUNCS_THREAD(X)                                                      \
  X(int, pthread_create, (pthread_t *th, const pthread_attr_t *attr,             \
                          void *(*start)(void *), void *arg))                    \
  X(int, pthread_join, (pthread_t th, void **ret))                               \
  X(int, pthread_tryjoin_np, (pthread_t th, void **ret))                         \
  X(int, pthread_timedjoin_np, (pthread_t th, void **ret,                        \
                                const struct timespec *abstime))                 \
  X(int, pthread_detach, (pthread_t th))                                         \
  X(int, thrd_create, (thrd_t *thr, thrd_start_t func, void *arg))               \
  X(int, thrd_join, (thrd_t thr, int *res))                                      \
  X(int, thrd_detach, (thrd_t thr))

/* Code unmapping: dlclose invalidates the stack walker's rules (dl_interpose.c). */
#define RC_FUNCS_DL(X)                                                          \
  X(int, dlclose, (void *handle))

#define RC_FUNCS(X)                                                             \
  RC_FUNCS_FD(X) RC_FUNCS_STDIO(X) RC_FUNCS_TMP(X) RC_FUNCS_PROC(X)             \
  RC_FUNCS_CHILD(X) RC_FUNCS_SIGNAL(X) RC_FUNCS_TIMER(X) RC_FUNCS_TMPDIR(X)     \
  RC_FUNCS_THREAD(X) RC_FUNCS_DL(X)

enum rc_fn {
  RC_FN_NONE = 0,
#define RC_FN_ENUM(ret, name, params) RC_FN_##name,
  RC_FUNCS(RC_FN_ENUM)
#undef RC_FN_ENUM
  RC_FN_COUNT
};

/* "openat" for RC_FN_openat; NULL for RC_FN_NONE. */
const char *rc_fn_name(unsigned fn);
/* Reverse lookup, for records handed over across exec; RC_FN_NONE if unknown. */
unsigned rc_fn_from_name(const char *name);

#endif
