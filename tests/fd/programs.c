/* Descriptor scenarios other than "one acquirer leaks": `programs CASE`.
 * Each prints "leaked FD" for every descriptor it deliberately leaves open. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "handler.h"

static void leaked(int fd) { printf("leaked %d\n", fd); }

/* 100,000 descriptors through every common path, all released: no leak. */
static void clean_100k(void)
{
  for (int i = 0; i < 100000; i++) {
    switch (i % 5) {
    case 0: close(open("/dev/null", O_RDONLY)); break;
    case 1: close(socket(AF_UNIX, SOCK_STREAM, 0)); break;
    case 2: { int p[2]; pipe(p); close(p[0]); close(p[1]); break; }
    case 3: fclose(fopen("/dev/null", "r")); break;
    case 4: closedir(opendir("/")); break;
    }
  }
}

/* dup2 onto an open descriptor closes it implicitly; the target is then the
 * dup2's, and the original (closed) is released. */
static void dup2_onto_open(void)
{
  int a = open("/dev/null", O_RDONLY);
  int b = open("/dev/zero", O_RDONLY);
  dup2(a, b);
  close(a);
  leaked(b);
}

static void close_range_case(void)
{
  int fds[10];
  for (int i = 0; i < 10; i++)
    fds[i] = open("/dev/null", O_RDONLY);
  close_range((unsigned)fds[0], (unsigned)fds[7], 0);
  leaked(fds[8]);
  leaked(fds[9]);
  int c = open("/dev/null", O_RDONLY);
  close_range((unsigned)c, (unsigned)c, CLOSE_RANGE_CLOEXEC); /* not a close */
  leaked(c);
}

static void closefrom_case(void)
{
  int keep = open("/dev/null", O_RDONLY);
  int fd = open("/dev/null", O_RDONLY);
  for (int i = 0; i < 5; i++)
    open("/dev/null", O_RDONLY);
  leaked(keep);
  /* everything from fd up goes, including numbers we never saw */
  closefrom(fd);
}

static void stdio_clean(void)
{
  FILE *f = fopen("/dev/null", "r");
  fclose(f);
  DIR *d = opendir("/");
  closedir(d);
  f = tmpfile();
  fclose(f);
  f = fopen("/dev/null", "r");
  f = freopen("/dev/zero", "r", f);
  fclose(f);
  int fd = open("/", O_RDONLY | O_DIRECTORY);
  d = fdopendir(fd);
  closedir(d);
  fd = open("/dev/null", O_RDONLY);
  f = fdopen(fd, "r");
  fclose(f);
}

static void stdio_leaks(void)
{
  FILE *f = fopen("/dev/null", "r");
  leaked(fileno(f));
  DIR *d = opendir("/");
  leaked(dirfd(d));
}

/* The child inherits the parent's table; exits without acquiring anything:
 * it has nothing to report.  argv: exit | _exit */
static void fork_child_inherits(const char *how)
{
  int fd = open("/dev/null", O_RDONLY);
  leaked(fd); /* the parent's own leak */
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    printf("child %d\n", getpid());
    fflush(stdout);
    if (strcmp(how, "_exit") == 0)
      _exit(0);
    exit(0);
  }
  int st;
  waitpid(pid, &st, 0);
}

static void child_own_leak(void)
{
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open("/dev/zero", O_RDONLY);
    printf("child %d leaked %d\n", getpid(), fd);
    fflush(stdout);
    exit(0);
  }
  int st;
  waitpid(pid, &st, 0);
}

/* The parent's raw-syscall descriptor is the parent's (untracked) leak, not
 * the child's, even though the child acquires and leaks one of its own. */
static void fork_raw_inherited(void)
{
  int raw = (int)syscall(SYS_openat, AT_FDCWD, "/dev/null", O_RDONLY);
  printf("raw %d\n", raw);
  fflush(stdout);
  child_own_leak();
}

static void *worker(void *arg)
{
  int keep = (int)(long)arg;
  for (int i = 0; i < 2000; i++)
    close(open("/dev/null", O_RDONLY));
  int fd = -1;
  for (int i = 0; i < keep; i++) {
    fd = open("/dev/zero", O_RDONLY);
    printf("leaked %d\n", fd);
  }
  return NULL;
}

/* 8 threads opening and closing concurrently; thread i leaves i%2+1 open. */
static void threads8(void)
{
  pthread_t t[8];
  for (long i = 0; i < 8; i++)
    pthread_create(&t[i], NULL, worker, (void *)(i % 2 + 1));
  for (int i = 0; i < 8; i++)
    pthread_join(t[i], NULL);
}

/* Stack replay caches are per thread and reused with the thread's pool
 * element: three generations of four threads, each leaking from two sites
 * in turn (so replays alternate between cached walks), and once more from a
 * thread-specific-data destructor, which runs after the start routine has
 * given its cache back. */
static pthread_key_t gen_key;

__attribute__((noinline)) static int gen_site_a(void) { return open("/dev/null", O_RDONLY); }
__attribute__((noinline)) static int gen_site_b(void) { return open("/dev/zero", O_RDONLY); }

static void gen_destructor(void *p)
{
  (void)p;
  printf("dtor %d\n", open("/dev/full", O_RDONLY));
}

static void *gen_worker(void *arg)
{
  (void)arg;
  pthread_setspecific(gen_key, (void *)1);
  for (int i = 0; i < 6; i++) {
    int fd = i % 2 ? gen_site_b() : gen_site_a();
    printf("%s %d\n", i % 2 ? "b" : "a", fd);
  }
  return NULL;
}

static void thread_generations(void)
{
  pthread_key_create(&gen_key, gen_destructor);
  for (int g = 0; g < 3; g++) {
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
      pthread_create(&t[i], NULL, gen_worker, NULL);
    for (int i = 0; i < 4; i++)
      pthread_join(t[i], NULL);
  }
}

/* Captures interrupted by captures: a profiling timer fires every 50 us of
 * CPU time while the main thread opens and closes from three sites in turn
 * (each capture a replay or a fill of the thread's cache; about one signal
 * in ten lands inside one).  The handler leaves its first 200 descriptors
 * open; each of the three sites leaves its last one open.  Every one must
 * be tracked, with its own site's stack, however the captures interleaved. */
#define PROF_LEAKS 200
static volatile sig_atomic_t prof_count;
static int prof_fds[PROF_LEAKS];

static void on_prof(int sig)
{
  (void)sig;
  int saved = errno;
  int fd = open("/dev/full", O_RDONLY);
  if (prof_count < PROF_LEAKS)
    prof_fds[prof_count++] = fd;
  else
    close(fd);
  errno = saved;
}

__attribute__((noinline)) static int nest_site_a(void) { return open("/dev/null", O_RDONLY); }
__attribute__((noinline)) static int nest_site_b(void) { return open("/dev/zero", O_RDONLY); }
__attribute__((noinline)) static int nest_site_c(void) { return open("/dev/urandom", O_RDONLY); }

static void signal_nested(void)
{
  set_handler(SIGPROF, on_prof, SA_RESTART);
  struct itimerval it = {{0, 50}, {0, 50}};
  setitimer(ITIMER_PROF, &it, NULL);
  int last[3] = {-1, -1, -1};
  for (int i = 0; prof_count < PROF_LEAKS || i < 30000; i++) {
    int k = i % 3;
    int fd = k == 0 ? nest_site_a() : k == 1 ? nest_site_b() : nest_site_c();
    if (last[k] >= 0)
      close(last[k]);
    last[k] = fd;
  }
  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_PROF, &off, NULL);
  printf("a %d\nb %d\nc %d\n", last[0], last[1], last[2]);
  for (int i = 0; i < PROF_LEAKS; i++)
    printf("handler %d\n", prof_fds[i]);
}

static void untracked(void)
{
  int fd = (int)syscall(SYS_openat, AT_FDCWD, "/dev/null", O_RDONLY);
  leaked(fd);
}

static void *wait_forever(void *arg)
{
  (void)arg;
  for (;;)
    pause();
  return NULL;
}

/* The same with a second thread alive at the exit: the report pauses for
 * other threads that may be recording a descriptor, then still reports
 * the one no wrapper saw (and the thread). */
static void untracked_threaded(void)
{
  pthread_t t;
  pthread_create(&t, NULL, wait_forever, NULL);
  untracked();
}

/* Raw-syscall descriptors of each path given, then SIGTERM (default
 * action) or, with "exit" first, a normal exit. */
static void untracked_then(char **paths, bool by_signal)
{
  for (; *paths; paths++)
    leaked((int)syscall(SYS_openat, AT_FDCWD, *paths, O_RDONLY | O_CLOEXEC));
  fflush(stdout);
  if (by_signal)
    raise(SIGTERM);
}

/* A signal delivered on the way out of an open, with the new descriptor in
 * rax and the wrapper not yet returned: the process asks dnotify for
 * SIGTERM when a file is created in `dir`, then creates one.  The directory
 * (opened through the wrapper) and a raw-syscall /dev/null are its leaks;
 * the file being created is in flight. */
static void signal_in_open(const char *dir)
{
  int d = open(dir, O_RDONLY | O_DIRECTORY);
  leaked(d);
  leaked((int)syscall(SYS_openat, AT_FDCWD, "/dev/null", O_RDONLY));
  fflush(stdout);
  if (fcntl(d, F_SETSIG, SIGTERM) != 0 || fcntl(d, F_NOTIFY, DN_CREATE) != 0)
    exit(77); /* a kernel without dnotify (CONFIG_DNOTIFY) */
  char path[4096];
  snprintf(path, sizeof path, "%s/created", dir);
  int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  printf("not reached: %d\n", fd); /* SIGTERM ends the process first */
}

/* Where the test's debugger stops before the opendir whose middle it
 * signals (programs_in_wrapper in cases.py). */
__attribute__((noinline, used)) void rc_test_marker(void)
{
  __asm__ volatile("" ::: "memory");
}

/* opendir through rcleak's wrapper, once to resolve it and once after the
 * marker: the test sends SIGTERM from inside libc's opendir, after its
 * openat, where the wrapper has not recorded the directory yet. */
static void opendir_after_marker(const char *dir)
{
  DIR *warm = opendir(dir);
  if (warm == NULL)
    exit(3);
  closedir(warm);
  rc_test_marker();
  DIR *d = opendir(dir);
  printf("not reached: %p\n", (void *)d); /* SIGTERM ends the process first */
}

/* A raw-syscall /dev/null (untracked) and a sleeping child, then waitpid
 * for it through rcleak's wrapper, where the test's SIGTERM finds it: a
 * wrapper blocked in a system call that has made nothing, so both are
 * reported. */
static void waitpid_blocked(void)
{
  leaked((int)syscall(SYS_openat, AT_FDCWD, "/dev/null", O_RDONLY));
  pid_t child = fork();
  if (child == 0) {
    for (;;)
      pause();
  }
  printf("child %d\n", (int)child);
  fflush(stdout);
  int st;
  waitpid(child, &st, 0);
  printf("not reached\n");
}

/* A raw-syscall descriptor at a chosen number: the number decides how large
 * the kernel's descriptor table is at exit (64 entries, then powers of two),
 * and so whether rcleak reads the open set from the table or from /proc. */
static void untracked_at(int target)
{
  int fd = (int)syscall(SYS_openat, AT_FDCWD, "/dev/null", O_RDONLY);
  if (fd != target) {
    if (syscall(SYS_dup3, fd, target, 0) != target)
      exit(3);
    syscall(SYS_close, fd);
  }
  leaked(target);
}

/* O_PATH descriptors (which poll cannot see): one left open, one closed;
 * the other numbers of the table are tried too, the left one at `at`. */
static void opath_at(int target)
{
  int fd = open("/dev/null", O_PATH);
  if (fd < 0)
    exit(3);
  if (fd != target) {
    if (dup2(fd, target) != target)
      exit(3);
    close(fd);
  }
  int gone = open("/tmp", O_PATH | O_DIRECTORY);
  if (gone < 0 || close(gone) != 0)
    exit(3);
  leaked(target);
}

/* errno as the caller sees it must be the real function's. */
static int check(int cond, const char *what)
{
  if (!cond) {
    printf("errno check failed: %s (errno %d)\n", what, errno);
    exit(3);
  }
  return 0;
}

static void errno_case(void)
{
  errno = 1234;
  int fd = open("/dev/null", O_RDONLY);
  check(errno == 1234, "successful open leaves errno alone");
  errno = 1234;
  close(fd);
  check(errno == 1234, "successful close leaves errno alone");
  check(open("/nonexistent/x", O_RDONLY) == -1 && errno == ENOENT, "open ENOENT");
  check(close(-1) == -1 && errno == EBADF, "close EBADF");
  check(fopen("/nonexistent/x", "r") == NULL && errno == ENOENT, "fopen ENOENT");
  check(opendir("/nonexistent") == NULL && errno == ENOENT, "opendir ENOENT");
  check(dup(-1) == -1 && errno == EBADF, "dup EBADF");
  check(socket(12345, SOCK_STREAM, 0) == -1 && errno == EAFNOSUPPORT, "socket EAFNOSUPPORT");
  errno = 4321;
  FILE *f = fopen("/dev/null", "r");
  check(errno == 4321, "successful fopen leaves errno alone");
  fclose(f);
  errno = 77;
  int p[2];
  pipe(p);
  check(errno == 77, "successful pipe leaves errno alone");
  close(p[0]);
  close(p[1]);
  printf("errno ok\n");
}

/* Leaks in a loop: one site, five descriptors. */
static void open_in_loop(void)
{
  for (int i = 0; i < 5; i++)
    leaked(open("/dev/null", O_RDONLY));
}

/* GNU programs close stdout and stderr in an atexit handler (gnulib's
 * close_stdout), which runs before rcleak's: the report still reaches the
 * stderr the exit began with.  `how` is "return" (from main) or "exit". */
static void close_std_at_exit(void)
{
  if (fclose(stdout) != 0 || fclose(stderr) != 0)
    _exit(3);
}

static int closes_stderr(const char *how)
{
  atexit(close_std_at_exit);
  leaked(open("/dev/null", O_RDONLY));
  if (!strcmp(how, "exit"))
    exit(0);
  return 0;
}

/* The program closes its stderr and the next file it opens becomes fd 2
 * ("reused": a daemon's data file), or it puts a log file there on purpose
 * ("redirected": dup2).  The text report goes into the second, never into
 * the first.  argv[3] is the file. */
static int stderr_fd2(const char *how, const char *path)
{
  int fd;
  if (!strcmp(how, "reused")) {
    close(2);
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  } else {
    int log = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    fd = dup2(log, 2);
    close(log);
  }
  if (fd != 2 || write(2, "DATA\n", 5) != 5)
    return 3;
  leaked(open("/dev/null", O_RDONLY));
  return 0;
}

/* Ages: a descriptor held 250 ms, then one opened just before exit.  The
 * acquisition stamp is read from a coarse clock (shim/rc.h, rc_stamp_ns):
 * a reported age may be a tick too old, never too young. */
__attribute__((noinline)) static int open_old(void) { return open("/dev/null", O_RDONLY); }
__attribute__((noinline)) static int open_young(void) { return open("/dev/null", O_RDONLY); }

static void aged(void)
{
  leaked(open_old());
  struct timespec ts = {0, 250 * 1000 * 1000};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
    ;
  leaked(open_young());
}

/* A report file of an earlier process with this pid is already there (pid
 * reuse within one report directory), and so is its NAME.1.json: rcleak
 * must keep both and write its own report beside them. */
static void json_taken(void)
{
  const char *dir = getenv("RCTEST_WORKDIR");
  for (int n = 0; n < 2; n++) {
    char path[4096];
    if (n == 0)
      snprintf(path, sizeof path, "%s/r.%d.json", dir, (int)getpid());
    else
      snprintf(path, sizeof path, "%s/r.%d.%d.json", dir, (int)getpid(), n);
    FILE *f = fopen(path, "w");
    if (f == NULL)
      exit(3);
    fprintf(f, "{\"rcleak\": 1, \"pid\": %d, \"earlier\": %d, \"leaks\": []}\n", 1000000 + n, n);
    fclose(f);
  }
  leaked(open("/dev/null", O_RDONLY));
}

/* Deferred first walks (shim/stacks.c): a process's first captures on the
 * main stack are copies walked only if still needed.  Forty leaks from one
 * site: the first ones deferred, the rest walked at once, one stack for all. */
__attribute__((noinline)) static int open_site(void) { return open("/dev/null", O_RDONLY); }

static void one_site_many(void)
{
  for (int i = 0; i < 40; i++)
    leaked(open_site());
}

/* Acquire+release loops that should replay, not walk: the main thread
 * alternates two sites 1,000 times, then four threads each loop 500 times
 * over one site. */
static void *replay_worker(void *arg)
{
  (void)arg;
  for (int i = 0; i < 500; i++)
    close(open_site());
  return NULL;
}

static void replay_loops(void)
{
  for (int i = 0; i < 1000; i++)
    close(i % 2 ? open_site() : open("/dev/zero", O_RDONLY));
  pthread_t t[4];
  for (int i = 0; i < 4; i++)
    pthread_create(&t[i], NULL, replay_worker, NULL);
  for (int i = 0; i < 4; i++)
    pthread_join(t[i], NULL);
}

/* Several sites acquire and release: nothing leaks, nothing needs a walk. */
static void open_close_sites(void)
{
  int p[2];
  close(open("/dev/null", O_RDONLY));
  close(socket(AF_UNIX, SOCK_STREAM, 0));
  if (pipe(p) == 0) {
    close(p[0]);
    close(p[1]);
  }
  fclose(fopen("/dev/null", "r"));
  closedir(opendir("/"));
}

/* A first capture deeper than a copy may take (about 10 KiB of frames) is
 * walked at once; a shallow one after it is deferred. */
__attribute__((noinline)) static int deep(int n)
{
  volatile char pad[240];
  pad[0] = (char)n;
  int fd = n > 0 ? deep(n - 1) : open("/dev/null", O_RDONLY);
  return fd + (pad[0] & 0);
}

__attribute__((noinline)) static int shallow(void) { return open("/dev/zero", O_RDONLY); }

static void deep_then_shallow(void)
{
  printf("deep %d\n", deep(40));
  printf("shallow %d\n", shallow());
}

/* First captures inside a signal handler: on the main stack (a deferred walk
 * that crosses the signal frame in the copy) and on an alternate stack
 * (outside the main stack: walked at once). */
static volatile int handler_fd = -1;

static void on_usr1(int sig)
{
  (void)sig;
  handler_fd = open("/dev/null", O_RDONLY);
}

__attribute__((noinline)) static void raise_usr1(const char *where)
{
  raise(SIGUSR1);
  printf("%s %d\n", where, handler_fd);
}

static void handler_first(const char *how)
{
  int flags = 0;
  if (strcmp(how, "altstack") == 0) {
    static char alt[65536];
    stack_t ss = {.ss_sp = alt, .ss_size = sizeof alt};
    sigaltstack(&ss, NULL);
    flags = SA_ONSTACK;
  }
  set_handler(SIGUSR1, on_usr1, flags);
  raise_usr1(how);
}

static void fail_with_leak(void)
{
  leaked(open("/dev/null", O_RDONLY));
  exit(3);
}

static void nothing(void) {}

/* Creates each file named and leaks it (names may be any bytes). */
static void open_named(char **paths)
{
  for (; *paths; paths++) {
    int fd = open(*paths, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd >= 0)
      leaked(fd);
  }
}

/* Survives exec: a descriptor without CLOEXEC is still this pid's leak in the
 * new image; a CLOEXEC one is released by the exec. */
static int open_before_exec(void) { return open("/dev/null", O_RDONLY); }

static void exec_handover(const char *self)
{
  int fd = open_before_exec();
  int ce = open("/dev/zero", O_RDONLY | O_CLOEXEC);
  printf("leaked %d\nclosed-by-exec %d\n", fd, ce);
  fflush(stdout);
  execl(self, self, "nothing", (char *)NULL);
  perror("execl");
}

/* Execs itself with one descriptor named as an argument, "/dev/fd/N" (what
 * a shell's `cmd <(producer)` run by exec passes) and one after "=", plus
 * one that is not named: only that one is the new image's leak. */
static void exec_fd_arguments(const char *self)
{
  int named = open("/etc/hostname", O_RDONLY);
  int eq = open("/etc/hostname", O_RDONLY);
  int fd = open_before_exec();
  printf("leaked %d\n", fd);
  fflush(stdout);
  char a1[32], a2[48];
  snprintf(a1, sizeof a1, "/dev/fd/%d", named);
  snprintf(a2, sizeof a2, "--input=/proc/self/fd/%d", eq);
  execl(self, self, "nothing", a1, a2, (char *)NULL);
  perror("execl");
}

/* Enough records that the handover text outgrows any small buffer. */
static void exec_handover_many(const char *self, int n)
{
  for (int i = 0; i < n; i++)
    leaked(open_before_exec());
  execl(self, self, "nothing", (char *)NULL);
  perror("execl");
}

/* Fork children that exec: one acquired a descriptor without CLOEXEC first
 * (its new image reports it, across exec), one acquired nothing (its new
 * image reports nothing, not even the parent's descriptor it inherited).
 * The parent closes its own descriptor and reaps both. */
static void fork_exec_handover(const char *self)
{
  int parents = open("/dev/zero", O_RDONLY);
  pid_t busy = fork();
  if (busy == 0) {
    int fd = open_before_exec();
    printf("busy %d leaked %d\n", (int)getpid(), fd);
    execl(self, self, "nothing", (char *)NULL);
    _exit(127);
  }
  pid_t idle = fork();
  if (idle == 0) {
    printf("idle %d\n", (int)getpid());
    execl(self, self, "nothing", (char *)NULL);
    _exit(127);
  }
  waitpid(busy, NULL, 0);
  waitpid(idle, NULL, 0);
  close(parents);
}

/* A fork child puts descriptors on chosen numbers for the program it
 * execs (dup2 and dup3, as a shell's redirection or libuv's IPC channel
 * do), and leaks one it merely opened: the new image reports only that. */
static void fork_dup2_exec(const char *self)
{
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (dup2(fd, 7) != 7 || dup3(fd, 8, 0) != 8)
      _exit(126);
    close(fd);
    int leaked = open_before_exec();
    printf("child %d placed 7 8 leaked %d\n", (int)getpid(), leaked);
    fflush(stdout);
    execl(self, self, "nothing", (char *)NULL);
    _exit(127);
  }
  waitpid(pid, NULL, 0);
}

static void exec_closed_after(const char *self)
{
  /* the new image closes it: no leak anywhere */
  int fd = open("/dev/null", O_RDONLY);
  char arg[16];
  snprintf(arg, sizeof arg, "%d", fd);
  execl(self, self, "close_arg", arg, (char *)NULL);
}

/* Each acquisition records the acquiring thread's kernel tid: threads of
 * the process, the one thread of a fork child forked by a thread that had
 * already acquired (its cached tid is the parent's), and a thread started in
 * that child.  Every line is "WHO TID leaked FD", TID from gettid. */
static void tid_line(const char *who, int fd)
{
  printf("%s %ld leaked %d\n", who, (long)syscall(SYS_gettid), fd);
}

static void *tid_leaker(void *arg)
{
  tid_line((const char *)arg, open("/dev/zero", O_RDONLY));
  return NULL;
}

static void *tid_forker(void *arg)
{
  (void)arg;
  close(open("/dev/null", O_RDONLY)); /* this thread's tid is now cached */
  pid_t pid = fork();
  if (pid == 0) {
    tid_line("child", open("/dev/full", O_RDONLY));
    pthread_t t;
    pthread_create(&t, NULL, tid_leaker, "child_thread");
    pthread_join(t, NULL);
    exit(0);
  }
  int st;
  waitpid(pid, &st, 0);
  return NULL;
}

static void thread_tids(void)
{
  pthread_t t[4];
  for (int i = 0; i < 3; i++)
    pthread_create(&t[i], NULL, tid_leaker, "thread");
  for (int i = 0; i < 3; i++)
    pthread_join(t[i], NULL);
  pthread_create(&t[3], NULL, tid_forker, NULL);
  pthread_join(t[3], NULL);
}

/* Plants a link at the name of the temporary file this process's JSON report
 * will be written to (json_path=$RCTEST_WORKDIR/r.%p.json), as another user
 * could in `rcleak run`'s directory, then leaks a descriptor. */
static void plant_tmp_link(const char *target)
{
  char path[4096];
  int pid = (int)getpid();
  snprintf(path, sizeof path, "%s/r.%d.json.tmp.%d", getenv("RCTEST_WORKDIR"), pid, pid);
  if (symlink(target, path) != 0)
    perror("symlink");
  printf("fd %d\n", open("/dev/null", O_RDONLY));
}

/* Sets a process title over its arguments as PostgreSQL does (the title,
 * then NULs to the end of the arguments' memory), and leaks a descriptor. */
static void retitle(int argc, char **argv)
{
  char *end = argv[argc - 1] + strlen(argv[argc - 1]) + 1;
  memset(argv[0], 0, (size_t)(end - argv[0]));
  strcpy(argv[0], "programs: retitled ");
  printf("fd %d\n", open("/dev/null", O_RDONLY));
}

int main(int argc, char **argv)
{
  setvbuf(stdout, NULL, _IONBF, 0);
  const char *c = argc > 1 ? argv[1] : "";
  if (!strcmp(c, "clean_100k")) clean_100k();
  else if (!strcmp(c, "dup2_onto_open")) dup2_onto_open();
  else if (!strcmp(c, "close_range")) close_range_case();
  else if (!strcmp(c, "closefrom")) closefrom_case();
  else if (!strcmp(c, "stdio_clean")) stdio_clean();
  else if (!strcmp(c, "stdio_leaks")) stdio_leaks();
  else if (!strcmp(c, "fork_child_inherits")) fork_child_inherits(argc > 2 ? argv[2] : "exit");
  else if (!strcmp(c, "child_own_leak")) child_own_leak();
  else if (!strcmp(c, "fork_raw_inherited")) fork_raw_inherited();
  else if (!strcmp(c, "threads8")) threads8();
  else if (!strcmp(c, "thread_tids")) thread_tids();
  else if (!strcmp(c, "thread_generations")) thread_generations();
  else if (!strcmp(c, "signal_nested")) signal_nested();
  else if (!strcmp(c, "untracked")) untracked();
  else if (!strcmp(c, "untracked_at")) untracked_at(atoi(argv[2]));
  else if (!strcmp(c, "untracked_then_signal")) untracked_then(argv + 2, true);
  else if (!strcmp(c, "untracked_then_exit")) untracked_then(argv + 2, false);
  else if (!strcmp(c, "signal_in_open")) signal_in_open(argv[2]);
  else if (!strcmp(c, "opendir_after_marker")) opendir_after_marker(argv[2]);
  else if (!strcmp(c, "waitpid_blocked")) waitpid_blocked();
  else if (!strcmp(c, "opath_at")) opath_at(atoi(argv[2]));
  else if (!strcmp(c, "errno")) errno_case();
  else if (!strcmp(c, "open_in_loop")) open_in_loop();
  else if (!strcmp(c, "retitle")) retitle(argc, argv);
  else if (!strcmp(c, "untracked_threaded")) untracked_threaded();
  else if (!strcmp(c, "plant_tmp_link")) plant_tmp_link(argv[2]);
  else if (!strcmp(c, "closes_stderr")) return closes_stderr(argv[2]);
  else if (!strcmp(c, "stderr_fd2")) return stderr_fd2(argv[2], argv[3]);
  else if (!strcmp(c, "aged")) aged();
  else if (!strcmp(c, "json_taken")) json_taken();
  else if (!strcmp(c, "fail_with_leak")) fail_with_leak();
  else if (!strcmp(c, "one_site_many")) one_site_many();
  else if (!strcmp(c, "open_close_sites")) open_close_sites();
  else if (!strcmp(c, "replay_loops")) replay_loops();
  else if (!strcmp(c, "deep_then_shallow")) deep_then_shallow();
  else if (!strcmp(c, "handler_first")) handler_first(argv[2]);
  else if (!strcmp(c, "nothing")) nothing();
  else if (!strcmp(c, "open_named")) open_named(argv + 2);
  else if (!strcmp(c, "exec_handover")) exec_handover(argv[0]);
  else if (!strcmp(c, "exec_fd_arguments")) exec_fd_arguments(argv[0]);
  else if (!strcmp(c, "fork_exec_handover")) fork_exec_handover(argv[0]);
  else if (!strcmp(c, "exec_handover_many")) exec_handover_many(argv[0], atoi(argv[2]));
  else if (!strcmp(c, "exec_closed_after")) exec_closed_after(argv[0]);
  else if (!strcmp(c, "fork_dup2_exec")) fork_dup2_exec(argv[0]);
  else if (!strcmp(c, "close_arg")) close(atoi(argv[2]));
  else { fprintf(stderr, "unknown case %s\n", c); return 2; }
  return 0;
}
