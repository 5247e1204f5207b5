/* One leak per interposed descriptor acquirer: `acquirers NAME` runs
 * leak_NAME(), which leaks what NAME returns and prints "leaked FD" for each
 * descriptor it leaves open, so the test can match numbers exactly.  Every
 * helper descriptor it needs on the way is closed again. */
#include <dirent.h>
#include <fcntl.h>
#include <mqueue.h>
#include <netinet/in.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

static char path[256];

static void leaked(int fd)
{
  printf("leaked %d\n", fd);
}

static const char *scratch(void)
{
  snprintf(path, sizeof path, "%s/scratch.txt", getenv("RCTEST_WORKDIR") ? getenv("RCTEST_WORKDIR") : "/tmp");
  return path;
}

static void leak_open(void) { leaked(open(scratch(), O_WRONLY | O_CREAT, 0600)); }
static void leak_open64(void) { leaked(open64(scratch(), O_WRONLY | O_CREAT, 0600)); }
static void leak_openat(void) { leaked(openat(AT_FDCWD, scratch(), O_RDWR | O_CREAT, 0600)); }
static void leak_openat64(void) { leaked(openat64(AT_FDCWD, scratch(), O_RDWR | O_CREAT, 0600)); }
static void leak_creat(void) { leaked(creat(scratch(), 0600)); }
static void leak_creat64(void) { leaked(creat64(scratch(), 0600)); }
static void leak_devnull(void) { leaked(open("/dev/null", O_RDONLY)); }

static void leak_dup(void)
{
  int fd = open("/dev/null", O_RDONLY);
  leaked(dup(fd));
  close(fd);
}

static void leak_dup2(void)
{
  int fd = open("/dev/null", O_RDONLY);
  leaked(dup2(fd, 40));
  close(fd);
}

static void leak_dup3(void)
{
  int fd = open("/dev/null", O_RDONLY);
  leaked(dup3(fd, 41, O_CLOEXEC));
  close(fd);
}

static void leak_fcntl(void)
{
  int fd = open("/dev/null", O_RDONLY);
  leaked(fcntl(fd, F_DUPFD, 50));
  leaked(fcntl(fd, F_DUPFD_CLOEXEC, 60));
  close(fd);
}

static void leak_pipe(void)
{
  int p[2];
  pipe(p);
  leaked(p[0]);
  leaked(p[1]);
}

static void leak_pipe2(void)
{
  int p[2];
  pipe2(p, O_CLOEXEC);
  leaked(p[0]);
  close(p[1]);
}

static void leak_socket(void) { leaked(socket(AF_INET, SOCK_DGRAM, 0)); }

static void leak_socketpair(void)
{
  int s[2];
  socketpair(AF_UNIX, SOCK_STREAM, 0, s);
  leaked(s[0]);
  leaked(s[1]);
}

static int listener(int *port)
{
  int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  bind(l, (struct sockaddr *)&a, sizeof a);
  listen(l, 4);
  getsockname(l, (struct sockaddr *)&a, &len);
  *port = ntohs(a.sin_port);
  return l;
}

static void accepted(int use4)
{
  int port;
  int l = listener(&port);
  int c = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  connect(c, (struct sockaddr *)&a, sizeof a);
  struct sockaddr_in peer;
  socklen_t plen = sizeof peer;
  getsockname(c, (struct sockaddr *)&peer, &plen);
  int fd = use4 ? accept4(l, NULL, NULL, SOCK_CLOEXEC) : accept(l, NULL, NULL);
  printf("target AF_INET 127.0.0.1:%d <-> 127.0.0.1:%d\n", port, ntohs(peer.sin_port));
  leaked(fd);
  close(c);
  close(l);
}

static void leak_accept(void) { accepted(0); }
static void leak_accept4(void) { accepted(1); }
static void leak_eventfd(void) { leaked(eventfd(0, 0)); }

static void leak_timerfd(void)
{
  int fd = timerfd_create(CLOCK_MONOTONIC, 0);
  struct itimerspec its = {.it_value = {100, 0}};
  timerfd_settime(fd, 0, &its, NULL);
  leaked(fd);
}

static void leak_signalfd(void)
{
  sigset_t m;
  sigemptyset(&m);
  sigaddset(&m, SIGUSR1);
  int fd = signalfd(-1, &m, 0);
  signalfd(fd, &m, SFD_CLOEXEC); /* changes the mask only: no second leak */
  leaked(fd);
}

static void leak_epoll_create(void) { leaked(epoll_create(4)); }
static void leak_epoll_create1(void) { leaked(epoll_create1(EPOLL_CLOEXEC)); }
static void leak_inotify_init(void) { leaked(inotify_init()); }
static void leak_inotify_init1(void) { leaked(inotify_init1(IN_CLOEXEC)); }
static void leak_memfd_create(void) { leaked(memfd_create("rctest", 0)); }
static void leak_pidfd_open(void) { leaked(pidfd_open(getpid(), 0)); }

static void leak_pidfd_getfd(void)
{
  int self = pidfd_open(getpid(), 0);
  int fd = open("/dev/null", O_RDONLY);
  leaked(pidfd_getfd(self, fd, 0)); /* the copy; the pidfd and the original are closed */
  close(fd);
  close(self);
}

static void leak_posix_openpt(void) { leaked(posix_openpt(O_RDWR | O_NOCTTY)); }
static void leak_getpt(void) { leaked(getpt()); }

static void leak_openpty(void)
{
  int m, s;
  if (openpty(&m, &s, NULL, NULL, NULL) == 0) {
    leaked(m);
    leaked(s);
  }
}

static void leak_forkpty(void)
{
  int m;
  pid_t pid = forkpty(&m, NULL, NULL, NULL);
  if (pid == 0)
    _exit(0);
  waitpid(pid, NULL, 0); /* the child is reaped; its terminal's master end is not closed */
  leaked(m);
}

static void leak_shm_open(void)
{
  char name[64];
  snprintf(name, sizeof name, "/rctest-%d", (int)getpid());
  int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
  shm_unlink(name); /* the object goes; the descriptor stays */
  leaked(fd);
}

static void leak_mq_open(void)
{
  char name[64];
  snprintf(name, sizeof name, "/rctest-%d", (int)getpid());
  mqd_t q = mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, NULL);
  mq_unlink(name);
  leaked((int)q);
}

/* mq_close closes with an internal call: a descriptor a raw system call
 * creates next, with the same number, must not inherit mq_open's record. */
static void leak_mq_close_then_raw(void)
{
  char name[64];
  snprintf(name, sizeof name, "/rctest-%d", (int)getpid());
  mqd_t q = mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, NULL);
  mq_unlink(name);
  mq_close(q);
  leaked((int)syscall(SYS_openat, AT_FDCWD, "/dev/null", O_RDONLY));
}

/* Both need privileges (CAP_SYS_ADMIN, CAP_DAC_READ_SEARCH): exit 77 without. */
static void leak_fanotify_init(void)
{
  int fd = fanotify_init(FAN_CLASS_NOTIF, O_RDONLY);
  if (fd < 0)
    exit(77);
  leaked(fd);
}

static void leak_open_by_handle_at(void)
{
  union { struct file_handle h; char buf[sizeof(struct file_handle) + MAX_HANDLE_SZ]; } u;
  u.h.handle_bytes = MAX_HANDLE_SZ;
  int mount_id;
  int dir = open(getenv("RCTEST_WORKDIR") ? getenv("RCTEST_WORKDIR") : "/tmp", O_RDONLY | O_DIRECTORY);
  if (name_to_handle_at(dir, "", &u.h, &mount_id, AT_EMPTY_PATH) != 0)
    exit(77);
  int fd = open_by_handle_at(dir, &u.h, O_RDONLY);
  close(dir);
  if (fd < 0)
    exit(77);
  leaked(fd);
}

static void leak_fopen(void)
{
  FILE *f = fopen(scratch(), "w");
  leaked(fileno(f));
}

static void leak_fopen64(void)
{
  FILE *f = fopen64(scratch(), "w");
  leaked(fileno(f));
}

static void leak_fdopen(void)
{
  int fd = open(scratch(), O_RDWR | O_CREAT, 0600);
  FILE *f = fdopen(fd, "r+"); /* the record keeps naming open */
  leaked(fileno(f));
}

static void leak_freopen(void)
{
  FILE *f = fopen("/dev/null", "r");
  f = freopen(scratch(), "w", f);
  leaked(fileno(f));
}

static void leak_tmpfile(void)
{
  FILE *f = tmpfile();
  leaked(fileno(f));
}

static void leak_opendir(void)
{
  DIR *d = opendir("/");
  leaked(dirfd(d));
}

static void leak_fdopendir(void)
{
  int fd = open("/", O_RDONLY | O_DIRECTORY);
  DIR *d = fdopendir(fd);
  leaked(dirfd(d));
}

static void leak_recvmsg(void)
{
  int s[2];
  socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, s);
  int fd = open("/dev/null", O_RDONLY);
  char byte = 'x';
  struct iovec iov = {&byte, 1};
  union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } u;
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                       .msg_controllen = sizeof u.buf};
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  sendmsg(s[0], &msg, 0);
  close(fd);
  struct msghdr in = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                      .msg_controllen = sizeof u.buf};
  recvmsg(s[1], &in, 0);
  int got;
  memcpy(&got, CMSG_DATA(CMSG_FIRSTHDR(&in)), sizeof got);
  leaked(got);
  close(s[0]);
  close(s[1]);
}

#define CASES(X)                                                                \
  X(open) X(open64) X(openat) X(openat64) X(creat) X(creat64) X(devnull) X(dup)  \
  X(dup2) X(dup3) X(fcntl) X(pipe) X(pipe2) X(socket) X(socketpair) X(accept)    \
  X(accept4) X(eventfd) X(timerfd) X(signalfd) X(epoll_create) X(epoll_create1)  \
  X(inotify_init) X(inotify_init1) X(memfd_create) X(fopen) X(fopen64) X(fdopen) \
  X(freopen) X(tmpfile) X(opendir) X(fdopendir) X(recvmsg) X(pidfd_open)          \
  X(pidfd_getfd) X(posix_openpt) X(getpt) X(openpty) X(forkpty) X(shm_open)      \
  X(mq_open) X(mq_close_then_raw) X(fanotify_init) X(open_by_handle_at)

int main(int argc, char **argv)
{
  setvbuf(stdout, NULL, _IONBF, 0);
#define RUN(name)                                                               \
  if (argc > 1 && strcmp(argv[1], #name) == 0) {                                 \
    leak_##name();                                                               \
    return 0;                                                                    \
  }
  CASES(RUN)
  fprintf(stderr, "unknown case\n");
  return 2;
}
