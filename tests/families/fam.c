/* Test programs of the timer, itimer, tmpdir, tmpfile and thread families:
 * `fam CASE [dir]`.  Each prints what it leaked ("key value" lines) so that
 * cases.py can assert the exact JSON report. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "handler.h"

static const char *dir; /* the test's work directory (argv[2] or cwd) */

static void die(const char *what)
{
  perror(what);
  exit(99);
}

static void write_file(const char *path, size_t bytes)
{
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0)
    die(path);
  char buf[256];
  memset(buf, 'x', sizeof buf);
  while (bytes) {
    size_t n = bytes < sizeof buf ? bytes : sizeof buf;
    if (write(fd, buf, n) != (ssize_t)n)
      die("write");
    bytes -= n;
  }
  close(fd);
}

/* ---- POSIX timers ---- */

static timer_t make_timer(clockid_t clock)
{
  timer_t t;
  if (timer_create(clock, NULL, &t) != 0)
    die("timer_create");
  return t;
}

static void timers_half(void)
{
  timer_t t[10];
  for (int i = 0; i < 10; i++)
    t[i] = make_timer(CLOCK_MONOTONIC);
  for (int i = 0; i < 10; i++) {
    if (i % 2 == 0)
      timer_delete(t[i]);
    else
      printf("timer %d\n", (int)(intptr_t)t[i]);
  }
}

/* More timers than rcleak reads /proc/self/timers for (2048), and enough for
 * its exit report to ask the kernel from two threads (4096 records): every
 * 10th deleted with timer_delete, every other 7th behind rcleak's back (raw
 * system call: its record stays, the kernel's timer is gone), every 100th
 * armed with its own interval. */
static void timers_many(void)
{
  for (int i = 0; i < 5000; i++) {
    timer_t t = make_timer(CLOCK_MONOTONIC);
    int id = (int)(intptr_t)t;
    if (i % 10 == 0) {
      timer_delete(t);
    } else if (i % 7 == 0) {
      if (syscall(SYS_timer_delete, id) != 0)
        die("SYS_timer_delete");
    } else {
      if (i % 100 == 1) {
        struct itimerspec its = {.it_value = {100, 0}, .it_interval = {0, (i + 1) * 1000}};
        if (timer_settime(t, 0, &its, NULL) != 0)
          die("timer_settime");
        printf("armed %d %d\n", id, (i + 1) * 1000);
      }
      printf("timer %d\n", id);
    }
  }
}

static void arm_timer(void)
{
  timer_t t;
  struct sigevent sev = {.sigev_notify = SIGEV_NONE};
  if (timer_create(CLOCK_REALTIME, &sev, &t) != 0)
    die("timer_create");
  struct itimerspec its = {.it_value = {100, 0}, .it_interval = {1, 500000000}};
  if (timer_settime(t, 0, &its, NULL) != 0)
    die("timer_settime");
  printf("timer %d\n", (int)(intptr_t)t);
}

static void on_timer(union sigval v)
{
  (void)v;
}

static void timer_thread_leak(void)
{
  struct sigevent sev = {.sigev_notify = SIGEV_THREAD};
  sev.sigev_notify_function = on_timer;
  timer_t t, t2;
  if (timer_create(CLOCK_MONOTONIC, &sev, &t) != 0 || timer_create(CLOCK_MONOTONIC, &sev, &t2) != 0)
    die("timer_create");
  timer_delete(t2);
}

/* A function called timeout, like the coreutils program whose timer is a
 * built-in suppression: the rule is the program's, so this leak is not. */
__attribute__((noinline)) void timeout(void);
__attribute__((noinline)) void timeout(void)
{
  timer_t t;
  struct sigevent sev = {.sigev_notify = SIGEV_NONE};
  if (timer_create(CLOCK_MONOTONIC, &sev, &t) != 0)
    die("timer_create");
}

/* A timer the kernel made for a raw system call, which no wrapper saw. */
static int raw_timer(clockid_t clock)
{
  struct sigevent sev = {.sigev_notify = SIGEV_NONE};
  int id = -1;
  if (syscall(SYS_timer_create, clock, &sev, &id) != 0)
    die("SYS_timer_create");
  return id;
}

/* Timers no wrapper saw: one left (an untracked leak), one deleted; a tracked
 * one left, one deleted, one deleted behind rcleak's back. */
static void timers_raw(void)
{
  timer_t kept = make_timer(CLOCK_MONOTONIC);
  printf("timer %d\n", (int)(intptr_t)kept);
  printf("raw %d\n", raw_timer(CLOCK_BOOTTIME));
  if (syscall(SYS_timer_delete, raw_timer(CLOCK_REALTIME)) != 0)
    die("SYS_timer_delete");
  timer_delete(make_timer(CLOCK_MONOTONIC));
  if (syscall(SYS_timer_delete, (int)(intptr_t)make_timer(CLOCK_MONOTONIC)) != 0)
    die("SYS_timer_delete");
}

/* Only tracked timers, some deleted behind rcleak's back: rcleak can tell
 * that no other timer exists without /proc/self/timers, and must still see
 * which are gone. */
static void timers_behind_back(void)
{
  for (int i = 0; i < 12; i++) {
    timer_t t = make_timer(i % 2 ? CLOCK_REALTIME : CLOCK_MONOTONIC);
    if (i % 3 == 0)
      timer_delete(t);
    else if (i % 3 == 1) {
      if (syscall(SYS_timer_delete, (int)(intptr_t)t) != 0)
        die("SYS_timer_delete");
    } else
      printf("timer %d %d\n", (int)(intptr_t)t, i % 2);
  }
}

static void timers_clean(void)
{
  for (int i = 0; i < 1000; i++) {
    timer_t t = make_timer(CLOCK_MONOTONIC);
    struct itimerspec its = {.it_value = {50, 0}};
    timer_settime(t, 0, &its, NULL);
    errno = 1234;
    if (timer_delete(t) != 0 || errno != 1234)
      die("timer_delete: errno not preserved");
  }
  struct sigevent sev = {.sigev_notify = SIGEV_THREAD};
  sev.sigev_notify_function = on_timer;
  timer_t t;
  if (timer_create(CLOCK_MONOTONIC, &sev, &t) != 0)
    die("timer_create");
  timer_delete(t);
}

/* Binaries linked before glibc 2.34 reference the librt version; before 2004
 * the int-timer_t one.  Bind to them as such a binary would. */
int timer_create_233(clockid_t, struct sigevent *, timer_t *);
int timer_delete_233(timer_t);
int timer_create_225(clockid_t, struct sigevent *, int *);
int timer_delete_225(int);
__asm__(".symver timer_create_233, timer_create@GLIBC_2.3.3");
__asm__(".symver timer_delete_233, timer_delete@GLIBC_2.3.3");
__asm__(".symver timer_create_225, timer_create@GLIBC_2.2.5");
__asm__(".symver timer_delete_225, timer_delete@GLIBC_2.2.5");

static void old_timers(void)
{
  timer_t a, b;
  int c, d;
  if (timer_create_233(CLOCK_MONOTONIC, NULL, &a) || timer_create_233(CLOCK_MONOTONIC, NULL, &b))
    die("timer_create@GLIBC_2.3.3");
  timer_delete_233(b);
  if (timer_create_225(CLOCK_REALTIME, NULL, &c) || timer_create_225(CLOCK_REALTIME, NULL, &d))
    die("timer_create@GLIBC_2.2.5");
  timer_delete_225(d);
  printf("timer %d\n", (int)(intptr_t)a);
}

static void timer_fork(void)
{
  timer_t t = make_timer(CLOCK_MONOTONIC);
  printf("timer %d\n", (int)(intptr_t)t);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    make_timer(CLOCK_BOOTTIME); /* the child's own: reported by the child */
    exit(0);
  }
  int st;
  waitpid(pid, &st, 0);
  printf("child %d\n", pid);
}

/* ---- interval timers ---- */

static void arm_itimers(void)
{
  struct itimerval v = {.it_value = {100, 0}, .it_interval = {2, 0}};
  if (setitimer(ITIMER_REAL, &v, NULL) != 0)
    die("setitimer");
  struct itimerval p = {.it_value = {200, 0}, .it_interval = {0, 250000}};
  if (setitimer(ITIMER_PROF, &p, NULL) != 0)
    die("setitimer");
}

static void set_alarm(void)
{
  alarm(100);
}

static void set_ualarm(void)
{
  signal(SIGALRM, SIG_IGN); /* armed all the same; firing must not end the test */
  ualarm(900000, 500000);
}

static void itimers_clean(void)
{
  ualarm(900000, 0);
  ualarm(0, 0);
  struct itimerval v = {.it_value = {100, 0}};
  setitimer(ITIMER_VIRTUAL, &v, NULL);
  alarm(50);
  struct itimerval zero = {{0, 0}, {0, 0}};
  setitimer(ITIMER_VIRTUAL, &zero, NULL);
  alarm(0);
  /* a one-shot that already fired is not armed any more */
  signal(SIGALRM, SIG_IGN);
  struct itimerval shot = {.it_value = {0, 1000}};
  setitimer(ITIMER_REAL, &shot, NULL);
  struct timespec ts = {0, 20000000};
  nanosleep(&ts, NULL);
}

/* A SIGALRM handler that re-arms its one-shot timer 100 times, while the
 * main thread re-arms ITIMER_VIRTUAL in a loop (setter and handler
 * interleave); the handler's last re-arm is long and stays: the one leak,
 * with the handler's stack. */
static volatile sig_atomic_t rearms;

static void rearm_long(void)
{
  struct itimerval v = {.it_value = {100, 0}};
  if (setitimer(ITIMER_REAL, &v, NULL) != 0)
    _exit(3);
}

static void rearm_handler(int sig)
{
  (void)sig;
  if (++rearms < 100) {
    struct itimerval v = {.it_value = {0, 200}};
    if (setitimer(ITIMER_REAL, &v, NULL) != 0)
      _exit(3);
  } else {
    rearm_long();
  }
}

static void itimer_rearm(void)
{
  set_handler(SIGALRM, rearm_handler, SA_RESTART);
  struct itimerval v = {.it_value = {0, 200}};
  setitimer(ITIMER_REAL, &v, NULL);
  struct itimerval on = {.it_value = {50, 0}}, off = {{0, 0}, {0, 0}};
  while (rearms < 100) {
    setitimer(ITIMER_VIRTUAL, &on, NULL);
    setitimer(ITIMER_VIRTUAL, &off, NULL);
  }
  printf("rearms %d\n", (int)rearms);
}

/* The parent's armed timer is not its fork child's (the child starts with
 * none); the child arms one of its own: each reports its own. */
static void itimer_fork(void)
{
  arm_itimers();
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0)
    die("fork");
  if (pid == 0) {
    set_alarm();
    exit(0);
  }
  int st;
  waitpid(pid, &st, 0);
  printf("child %d\n", pid);
}

/* ---- temporary directories ---- */

static char *make_tmpdir(const char *name)
{
  static char path[16][4096];
  static int n;
  char *p = path[n++];
  snprintf(p, 4096, "%s/%sXXXXXX", dir, name);
  if (mkdtemp(p) == NULL)
    die("mkdtemp");
  return p;
}

static void tmpdir_files(void)
{
  char *d = make_tmpdir("full.");
  char f[4200];
  for (int i = 0; i < 3; i++) {
    snprintf(f, sizeof f, "%s/file%d", d, i);
    write_file(f, 10);
  }
  snprintf(f, sizeof f, "%s/sub", d);
  mkdir(f, 0700);
  snprintf(f, sizeof f, "%s/sub/deeper", d);
  mkdir(f, 0700);
  snprintf(f, sizeof f, "%s/sub/deeper/file", d);
  write_file(f, 10);
  printf("tmpdir %s\n", d);
}

static void victim(char *out)
{
  snprintf(out, 4096, "%s/victim", dir);
  mkdir(out, 0700);
  char f[4200];
  snprintf(f, sizeof f, "%s/precious", out);
  write_file(f, 7);
}

static void tmpdir_symlink(void)
{
  char v[4096];
  victim(v);
  /* a temp dir replaced by a symlink to a directory with files */
  char *d = make_tmpdir("swapped.");
  if (rmdir(d) != 0 || symlink(v, d) != 0)
    die("swap");
  printf("swapped %s\n", d);
  /* a temp dir that contains a symlink to a directory with files */
  char *d2 = make_tmpdir("withlink.");
  char l[4200];
  snprintf(l, sizeof l, "%s/link", d2);
  if (symlink(v, l) != 0)
    die("symlink");
  printf("tmpdir %s\n", d2);
}

static void tmpdir_child_removed(void)
{
  char *d = make_tmpdir("bychild.");
  pid_t pid = fork();
  if (pid == 0) {
    if (rmdir(d) != 0)
      _exit(1);
    exit(0);
  }
  int st;
  waitpid(pid, &st, 0);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    die("child");
  /* renamed away counts as gone too */
  char *d2 = make_tmpdir("renamed.");
  char to[4200];
  snprintf(to, sizeof to, "%s/elsewhere", dir);
  if (rename(d2, to) != 0)
    die("rename");
}

static void tmp_loop_clean(void)
{
  for (int i = 0; i < 3000; i++) {
    char p[4096];
    snprintf(p, sizeof p, "%s/loopXXXXXX", dir);
    if (mkdtemp(p) == NULL)
      die("mkdtemp");
    rmdir(p);
    snprintf(p, sizeof p, "%s/loopfXXXXXX", dir);
    errno = 4321;
    int fd = mkstemp(p);
    if (fd < 0 || errno != 4321)
      die("mkstemp: errno not preserved");
    unlink(p);
    close(fd);
  }
  /* a relative template is judged where it was created, not from the new cwd */
  if (chdir(dir) != 0)
    die("chdir");
  char rel[] = "relativeXXXXXX";
  if (mkdtemp(rel) == NULL)
    die("mkdtemp");
  if (chdir("/") != 0)
    die("chdir");
  char abs[4200];
  snprintf(abs, sizeof abs, "%s/%s", dir, rel);
  if (rmdir(abs) != 0)
    die("rmdir");
}

/* ---- temporary files ---- */

static void tmpfile_left(void)
{
  char p[4096];
  snprintf(p, sizeof p, "%s/leftXXXXXX", dir);
  int fd = mkstemp(p);
  if (fd < 0)
    die("mkstemp");
  char buf[123];
  memset(buf, 'y', sizeof buf);
  write(fd, buf, sizeof buf);
  close(fd);
  printf("tmpfile %s\n", p);
}

static void mkstemp_fd_and_path(void)
{
  char p[4096];
  snprintf(p, sizeof p, "%s/bothXXXXXX", dir);
  int fd = mkstemp(p);
  if (fd < 0)
    die("mkstemp");
  printf("fd %d\ntmpfile %s\n", fd, p);
  char q[4096];
  snprintf(q, sizeof q, "%s/sfxXXXXXX.txt", dir);
  int fd2 = mkostemps(q, 4, O_CLOEXEC);
  if (fd2 < 0)
    die("mkostemps");
  write(fd2, "abc", 3);
  printf("fd2 %d\ntmpfile2 %s\n", fd2, q);
}

/* ---- threads ---- */

static volatile int finished_count;
static volatile int running_count; /* forever threads that printed their tid */

static long quick_tids[16];
static int quick_slots;

static void *quick(void *arg)
{
  (void)arg;
  long tid = (long)syscall(SYS_gettid);
  int k = __atomic_fetch_add(&quick_slots, 1, __ATOMIC_SEQ_CST);
  if (k < 16)
    __atomic_store_n(&quick_tids[k], tid, __ATOMIC_SEQ_CST);
  printf("finished %ld\n", tid);
  fflush(stdout);
  __atomic_add_fetch(&finished_count, 1, __ATOMIC_SEQ_CST);
  return NULL;
}

/* A thread that runs for good says so: its tid, counted in running_count. */
static void announce_running(void)
{
  printf("running %ld\n", (long)syscall(SYS_gettid));
  fflush(stdout);
  __atomic_add_fetch(&running_count, 1, __ATOMIC_SEQ_CST);
}

static void *forever(void *arg)
{
  (void)arg;
  announce_running();
  for (;;)
    pause();
  return NULL;
}

static int task_count(void)
{
  DIR *d = opendir("/proc/self/task");
  int n = 0;
  struct dirent *e;
  if (d == NULL) {
    /* No /proc (threads_no_proc, which runs threads_unjoined): this thread,
     * the quick ones the kernel still has (tgkill with signal 0 fails with
     * ESRCH once gone), and the two quick ones not done yet. */
    int done = __atomic_load_n(&finished_count, __ATOMIC_SEQ_CST);
    n = 1;
    for (int i = 0; i < done && i < 16; i++)
      n += syscall(SYS_tgkill, getpid(), quick_tids[i], 0) == 0;
    return n + (done < 2 ? 2 - done : 0);
  }
  while ((e = readdir(d)) != NULL)
    if (e->d_name[0] != '.')
      n++;
  closedir(d);
  return n;
}

/* Wait (safety net: 10 s) until only `n` tasks are left in this process. */
static void wait_tasks(int n)
{
  for (int i = 0; i < 10000 && task_count() > n; i++)
    usleep(1000);
}

/* Until n forever threads have printed their tid (a loaded machine may not
 * have run them yet when main is done). */
static void wait_running(int n)
{
  for (int i = 0; i < 10000 && __atomic_load_n(&running_count, __ATOMIC_SEQ_CST) < n; i++)
    usleep(1000);
}

static void spawn(void *(*fn)(void *))
{
  pthread_t t;
  if (pthread_create(&t, NULL, fn, NULL) != 0)
    die("pthread_create");
}

static void threads_unjoined(void)
{
  spawn(quick);
  spawn(quick);
  wait_tasks(1);
  spawn(forever);
  spawn(forever);
  wait_running(2); /* both printed their tid before pausing */
}

static void threads_clean(void)
{
  pthread_t a, b, c, d, e;
  pthread_create(&a, NULL, quick, NULL);
  pthread_join(a, NULL);
  pthread_create(&b, NULL, quick, NULL);
  while (pthread_tryjoin_np(b, NULL) != 0)
    usleep(1000);
  pthread_create(&c, NULL, quick, NULL);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_sec += 60;
  if (pthread_timedjoin_np(c, NULL, &ts) != 0)
    die("timedjoin");
  pthread_create(&d, NULL, quick, NULL);
  pthread_detach(d);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_create(&e, &attr, quick, NULL);
  for (int i = 0; i < 100; i++) {
    pthread_t t;
    pthread_create(&t, &attr, quick, NULL);
  }
  wait_tasks(1);
}

/* C11 threads: glibc creates them through an internal pthread_create. */
static int c11_quick(void *arg)
{
  printf("c11 %ld\n", (long)syscall(SYS_gettid));
  fflush(stdout);
  return arg ? *(int *)arg : 42;
}

static int c11_exiting(void *arg)
{
  (void)arg;
  thrd_exit(7);
}

static void c11_threads(void)
{
  thrd_t a, b, c, d, e;
  int res = 0;
  if (thrd_create(&a, c11_quick, NULL) != thrd_success || thrd_join(a, &res) != thrd_success ||
      res != 42)
    die("thrd_join: the start routine's result");
  if (thrd_create(&b, c11_exiting, NULL) != thrd_success || thrd_join(b, &res) != thrd_success ||
      res != 7)
    die("thrd_join: thrd_exit's result");
  thrd_create(&c, c11_quick, NULL);
  thrd_detach(c);
  thrd_create(&d, c11_exiting, NULL);
  thrd_detach(d);
  thrd_create(&e, c11_quick, NULL); /* never joined */
  printf("leaked %lu\n", (unsigned long)e);
  wait_tasks(1);
}

static void *exiting(void *arg)
{
  (void)arg;
  pthread_exit(NULL);
}

static void thread_detached_running(void)
{
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_t t;
  pthread_create(&t, &attr, forever, NULL);
  pthread_t x;
  pthread_create(&x, NULL, exiting, NULL); /* pthread_exit, then detached */
  pthread_detach(x);
  wait_tasks(2);      /* the exiting one is gone */
  wait_running(1);    /* the other printed its tid */
}

/* A detached thread still on its way out when the process exits (what
 * Rust's std::thread::scope leaves): it runs until the program's own atexit
 * handler, which runs before rcleak's report, says the exit has begun, and
 * only then returns.  Not a leak.  The busy one never returns: one. */
static volatile int exit_begun;

static void mark_exit(void)
{
  __atomic_store_n(&exit_begun, 1, __ATOMIC_SEQ_CST);
}

static void *until_exit(void *arg)
{
  (void)arg;
  while (!__atomic_load_n(&exit_begun, __ATOMIC_SEQ_CST))
    ;
  return NULL;
}

static void *busy(void *arg)
{
  (void)arg;
  announce_running();
  for (volatile unsigned long i = 0;; i++)
    ;
  return NULL;
}

static void thread_detached_ending(int busy_too)
{
  atexit(mark_exit);
  pthread_t t;
  if (pthread_create(&t, NULL, until_exit, NULL) != 0)
    die("pthread_create");
  pthread_detach(t);
  if (busy_too) {
    if (pthread_create(&t, NULL, busy, NULL) != 0)
      die("pthread_create");
    pthread_detach(t);
    wait_running(1);
  }
}

/* ---- across exec ---- */

static void before_exec(const char *self)
{
  struct itimerval v = {.it_value = {100, 0}, .it_interval = {3, 0}};
  setitimer(ITIMER_REAL, &v, NULL);
  char *d = make_tmpdir("exec.");
  printf("tmpdir %s\n", d);
  fflush(stdout);
  char *argv[] = {(char *)self, "after_exec", (char *)dir, NULL};
  execv(self, argv);
  die("execv");
}

int main(int argc, char **argv)
{
  static char cwd[4096];
  dir = argc > 2 ? argv[2] : getcwd(cwd, sizeof cwd);
  const char *c = argc > 1 ? argv[1] : "";
  if (!strcmp(c, "timers_half")) timers_half();
  else if (!strcmp(c, "timer_armed")) arm_timer();
  else if (!strcmp(c, "timers_many")) timers_many();
  else if (!strcmp(c, "timer_thread")) timer_thread_leak();
  else if (!strcmp(c, "timer_in_timeout")) timeout();
  else if (!strcmp(c, "timers_clean")) timers_clean();
  else if (!strcmp(c, "timers_raw")) timers_raw();
  else if (!strcmp(c, "timers_behind_back")) timers_behind_back();
  else if (!strcmp(c, "old_timers")) old_timers();
  else if (!strcmp(c, "timer_fork")) timer_fork();
  else if (!strcmp(c, "itimers")) arm_itimers();
  else if (!strcmp(c, "alarm")) set_alarm();
  else if (!strcmp(c, "ualarm")) set_ualarm();
  else if (!strcmp(c, "itimer_rearm")) itimer_rearm();
  else if (!strcmp(c, "itimer_fork")) itimer_fork();
  else if (!strcmp(c, "itimers_clean")) itimers_clean();
  else if (!strcmp(c, "tmpdir_files")) tmpdir_files();
  else if (!strcmp(c, "tmpdir_symlink")) tmpdir_symlink();
  else if (!strcmp(c, "tmpdir_child_removed")) tmpdir_child_removed();
  else if (!strcmp(c, "tmp_loop_clean")) tmp_loop_clean();
  else if (!strcmp(c, "tmpfile_left")) tmpfile_left();
  else if (!strcmp(c, "mkstemp_fd_and_path")) mkstemp_fd_and_path();
  else if (!strcmp(c, "threads_unjoined")) threads_unjoined();
  else if (!strcmp(c, "threads_clean")) threads_clean();
  else if (!strcmp(c, "c11_threads")) c11_threads();
  else if (!strcmp(c, "thread_detached_running")) thread_detached_running();
  else if (!strcmp(c, "thread_detached_ending")) thread_detached_ending(0);
  else if (!strcmp(c, "thread_detached_busy")) thread_detached_ending(1);
  else if (!strcmp(c, "exec")) before_exec(argv[0]);
  else if (!strcmp(c, "after_exec")) printf("exec'd %d\n", (int)getpid());
  else {
    fprintf(stderr, "unknown case %s\n", c);
    return 2;
  }
  return 0;
}
