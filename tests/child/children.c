/* Child-family test program: `children CASE` runs one behaviour.  Every case
 * prints "child <pid>" for each child it leaves behind (the Python side
 * checks the report against these), and exits 0 unless something unexpected
 * happened (then it prints "FAIL ..." and exits 2). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pty.h>
#include <sched.h>
#include <signal.h>
#include <linux/sched.h> /* struct clone_args */
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "handler.h"

extern char **environ;
static char sleeper[PATH_MAX + 16];

static void fail(const char *what)
{
  printf("FAIL %s: %s\n", what, strerror(errno));
  exit(2);
}

static void announce(pid_t pid)
{
  printf("child %d\n", (int)pid);
  fflush(stdout);
}

/* In a forked child: stdout to the pipe, then become the sleeper. */
static void exec_sleeper(int wfd, const char *mode)
{
  dup2(wfd, 1);
  execl(sleeper, sleeper, mode, (char *)NULL);
  _exit(127);
}

/* In the parent: wait for the sleeper's "ready" (its cmdline is final then). */
static void await_ready(int rfd)
{
  char buf[16];
  ssize_t n = read(rfd, buf, sizeof buf);
  if (n != 6 || memcmp(buf, "ready\n", 6) != 0)
    fail("sleeper did not get ready");
  close(rfd);
}

static void wait_state(pid_t pid, char want)
{
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  for (int i = 0; i < 20000; i++) {
    int fd = open(path, O_RDONLY);
    if (fd < 0)
      fail("stat");
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    char *p = strrchr(buf, ')');
    if (p && p[2] == want)
      return;
    usleep(1000);
  }
  errno = ETIMEDOUT;
  fail("waiting for a child state");
}

/* ---- leaking cases ---- */

/* Fork a sleeper in `mode`, in a session (SESSION) or a process group
 * (GROUP) of its own or neither, and wait until it is ready.  Inlined, so
 * the fork's caller is the function that called this. */
enum detach { STAY, SESSION, GROUP };
static inline __attribute__((always_inline)) pid_t start_sleeper(const char *mode,
                                                                 enum detach how)
{
  int p[2];
  if (pipe(p) != 0)
    fail("pipe");
  pid_t pid = fork();
  if (pid < 0)
    fail("fork");
  if (pid == 0) {
    close(p[0]);
    if ((how == SESSION && setsid() < 0) || (how == GROUP && setpgid(0, 0) != 0))
      _exit(3);
    exec_sleeper(p[1], mode);
  }
  close(p[1]);
  await_ready(p[0]);
  return pid;
}

/* The same, announced (in a session of its own if `session`). */
static inline __attribute__((always_inline)) void fork_sleeper(const char *mode, bool session)
{
  announce(start_sleeper(mode, session ? SESSION : STAY));
}

static void leak_fork(const char *mode)
{
  fork_sleeper(mode, false);
}

static void case_running(void) { leak_fork("sleep"); }
static void case_ignoreterm(void) { leak_fork("ignore-term"); }

static void case_stopped(void)
{
  pid_t pid = start_sleeper("sleep", STAY);
  kill(pid, SIGSTOP);
  int st;
  /* a stop reported by waitpid is not a release */
  if (waitpid(pid, &st, WUNTRACED) != pid || !WIFSTOPPED(st))
    fail("waitpid WUNTRACED");
  announce(pid);
}

static void leak_zombie(void)
{
  pid_t pid = fork();
  if (pid == 0)
    _exit(7);
  wait_state(pid, 'Z');
  announce(pid);
}
static void case_zombie(void) { leak_zombie(); }

static void case_wnowait(void)
{
  pid_t pid = fork();
  if (pid == 0)
    _exit(0);
  siginfo_t si;
  memset(&si, 0, sizeof si);
  if (waitid(P_PID, pid, &si, WEXITED | WNOWAIT) != 0 || si.si_pid != pid)
    fail("waitid WNOWAIT");
  announce(pid);
}

static void leak_popen(void)
{
  char cmd[PATH_MAX + 32];
  snprintf(cmd, sizeof cmd, "exec %s sleep", sleeper);
  FILE *fp = popen(cmd, "r");
  if (fp == NULL)
    fail("popen");
  char line[16];
  if (fgets(line, sizeof line, fp) == NULL || strcmp(line, "ready\n") != 0)
    fail("popen read");
  printf("fd %d\n", fileno(fp));
}
static void case_popen(void) { leak_popen(); }

static void leak_spawn(int use_p)
{
  int p[2];
  if (pipe(p) != 0)
    fail("pipe");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, p[1], 1);
  posix_spawn_file_actions_addclose(&fa, p[0]);
  char *argv[] = {sleeper, "sleep", NULL};
  pid_t pid;
  int r = use_p ? posix_spawnp(&pid, sleeper, &fa, NULL, argv, environ)
                : posix_spawn(&pid, sleeper, &fa, NULL, argv, environ);
  if (r != 0) {
    errno = r;
    fail("posix_spawn");
  }
  posix_spawn_file_actions_destroy(&fa);
  close(p[1]);
  await_ready(p[0]);
  announce(pid);
}
static void case_spawn(void) { leak_spawn(0); }
static void case_spawnp(void) { leak_spawn(1); }

static void leak_vfork(void)
{
  int p[2];
  if (pipe(p) != 0)
    fail("pipe");
  pid_t pid = vfork();
  if (pid == 0) {
    dup2(p[1], 1);
    execl(sleeper, sleeper, "sleep", (char *)NULL);
    _exit(127);
  }
  if (pid < 0)
    fail("vfork");
  close(p[1]);
  await_ready(p[0]);
  announce(pid);
}
static void case_vfork(void) { leak_vfork(); }

/* forkpty: the child runs on the pseudo-terminal, the parent keeps its
 * master end (closing it would hang the child up). */
static void case_forkpty(void)
{
  int p[2], master;
  if (pipe(p) != 0)
    fail("pipe");
  pid_t pid = forkpty(&master, NULL, NULL, NULL);
  if (pid < 0)
    fail("forkpty");
  if (pid == 0) {
    close(p[0]);
    exec_sleeper(p[1], "sleep");
  }
  close(p[1]);
  await_ready(p[0]);
  printf("master %d\n", master);
  announce(pid);
}

/* Children ended by SIGKILL, which leaves no report of theirs: reaped with
 * waitpid and with waitid; one that exits is not listed. */
static void case_killed(void)
{
  pid_t pids[3];
  for (int i = 0; i < 3; i++) {
    pids[i] = fork();
    if (pids[i] < 0)
      fail("fork");
    if (pids[i] == 0) {
      if (i < 2)
        raise(SIGKILL);
      _exit(3);
    }
  }
  siginfo_t si;
  if (waitpid(pids[0], NULL, 0) != pids[0] || waitid(P_PID, (id_t)pids[1], &si, WEXITED) != 0 ||
      waitpid(pids[2], NULL, 0) != pids[2])
    fail("wait");
  printf("killed %d %d\n", (int)pids[0], (int)pids[1]);
}

/* clone(2) without CLONE_VM: a new process that glibc's wrapper runs no
 * atfork handler for.  One leaks a descriptor and returns, on a stack of
 * 8 KiB (enough for it, not for the report, which rcleak runs on a stack of
 * its own); one becomes the sleeper and is left running. */
static char clone_small_stack[8 * 1024] __attribute__((aligned(16)));
static char clone_stack[64 * 1024] __attribute__((aligned(16)));

static int clone_leaker(void *arg)
{
  (void)arg;
  int fd = open("/dev/null", O_RDONLY);
  printf("clone-child %d fd %d\n", (int)getpid(), fd);
  fflush(stdout);
  return 0;
}

static int clone_sleeper(void *arg)
{
  const int *p = arg;
  close(p[0]);
  exec_sleeper(p[1], "sleep");
  return 127;
}

static void case_clone(void)
{
  fflush(stdout);
  int st;
  pid_t a = clone(clone_leaker, clone_small_stack + sizeof clone_small_stack, SIGCHLD, NULL);
  if (a < 0 || waitpid(a, &st, 0) != a)
    fail("clone");
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    fail("the clone child on a small stack did not exit 0");
  int p[2];
  if (pipe(p) != 0)
    fail("pipe");
  pid_t b = clone(clone_sleeper, clone_stack + sizeof clone_stack, SIGCHLD, p);
  if (b < 0)
    fail("clone");
  close(p[1]);
  await_ready(p[0]);
  announce(b);
}

/* The intermediate of a double fork: starts the daemon, reports its pid
 * to the top process, and leaves with _exit. */
static void daemonize(int out)
{
  setsid();
  pid_t pid = start_sleeper("sleep", STAY);
  dprintf(out, "%d\n", (int)pid);
  close(out);
  _exit(0);
}

/* A daemon: the child starts a session of its own and carries on as this
 * program, while the parent exits at once, typically before the child has
 * reached setsid().  Like a real daemon it lets go of the harness's pipes. */
static void case_daemon(void)
{
  pid_t pid = fork();
  if (pid < 0)
    fail("fork");
  if (pid == 0) {
    int fd = open("/dev/null", O_RDWR);
    dup2(fd, 1);
    dup2(fd, 2);
    close(fd);
    if (setsid() < 0)
      _exit(3);
    for (;;)
      pause();
  }
  announce(pid);
}

/* setsid() and then exec: another program in a session of its own (what
 * Node's `detached: true`, Python's start_new_session and `setsid -f` do). */
static void case_detached_exec(void)
{
  fork_sleeper("sleep", true);
}

static void case_doublefork(void)
{
  int p[2];
  if (pipe(p) != 0)
    fail("pipe");
  pid_t mid = fork();
  if (mid == 0) {
    close(p[0]);
    daemonize(p[1]);
  }
  close(p[1]);
  char buf[32] = {0};
  ssize_t n = read(p[0], buf, sizeof buf - 1);
  close(p[0]);
  if (n <= 0)
    fail("read grandchild pid");
  int st;
  if (waitpid(mid, &st, 0) != mid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
    fail("waitpid intermediate");
  printf("intermediate %d\ngrandchild %d\n", (int)mid, atoi(buf));
}

/* The same with a child already leaked by the top process before the first
 * fork: the intermediate inherits that record (or, where the kernel wipes
 * the record table in a fork child, does not see it at all) and must report
 * only the grandchild it started itself. */
static void case_doublefork_leak(void)
{
  leak_fork("sleep");
  case_doublefork();
}

/* After a raw clone: the child becomes the sleeper (execve without libc, its
 * stdout the pipe), the parent waits until it says it is ready. */
static void raw_sleeper(long pid, int p[2])
{
  if (pid == 0) {
    syscall(SYS_dup2, p[1], 1);
    char *argv[] = {sleeper, "sleep", NULL};
    syscall(SYS_execve, sleeper, argv, environ);
    syscall(SYS_exit_group, 127);
  }
  close(p[1]);
  await_ready(p[0]);
}

/* A child no interposer sees: the raw system call, and execve without libc. */
static void case_untracked(void)
{
  int p[2];
  if (pipe(p) != 0)
    fail("pipe");
  long pid = syscall(SYS_clone, SIGCHLD, 0, NULL, NULL, 0);
  raw_sleeper(pid, p);
  announce((pid_t)pid);
}

/* A recorded child's pid taken over by another child of ours.  The first
 * child is recorded by the fork wrapper, then reaped behind rcleak's back
 * (the raw wait4 system call), so its record stays; 100 ms later (more than
 * the birth window's one-tick margin) a raw clone3 with set_tid gives a new,
 * untracked child that very pid.  Its start time lies outside the recorded
 * window, so rcleak must report it as untracked and leave it alone.  An
 * ordinary leaked child beside it must still be reported and cleaned.
 * Prints "SKIP ..." when the kernel refuses set_tid (it needs CAP_SYS_ADMIN). */
static void case_pid_reuse(void)
{
  pid_t old = fork();
  if (old < 0)
    fail("fork");
  if (old == 0)
    _exit(0);
  if (syscall(SYS_wait4, old, NULL, 0, NULL) != old)
    fail("raw wait4");
  usleep(100 * 1000);
  int p[2];
  if (pipe(p) != 0)
    fail("pipe");
  pid_t want = old;
  struct clone_args ca;
  memset(&ca, 0, sizeof ca);
  ca.exit_signal = SIGCHLD;
  ca.set_tid = (uint64_t)(uintptr_t)&want;
  ca.set_tid_size = 1;
  long pid = syscall(SYS_clone3, &ca, sizeof ca);
  if (pid < 0) {
    printf("SKIP clone3 with set_tid: %s\n", strerror(errno));
    return;
  }
  raw_sleeper(pid, p);
  printf("reused %d of %d\n", (int)pid, (int)old);
  fflush(stdout);
  leak_fork("sleep");
}

static void leak_before_exec(void) { leak_fork("sleep"); }

static void case_exec(void)
{
  leak_before_exec();
  fflush(stdout);
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  self[n > 0 ? n : 0] = '\0';
  execl(self, self, "after-exec", (char *)NULL);
  fail("exec");
}

static void case_after_exec(void) { printf("exec'd\n"); }

/* What a shell does for the last command of `bash -c 'cmd <(quick) <(slow)'`:
 * a pipe and a fork for each producer, then exec of `cmd /dev/fd/N ...`.
 * Around them, two children that are no producer: one forked before the
 * first pipe, one after the last producer.  The quick producer has exited
 * (a zombie) by the exec, the slow one (a sleeper writing "ready") outlives
 * the new image. */
static void case_exec_producers(void)
{
  fork_sleeper("sleep", false);
  int quick[2], slow[2];
  if (pipe(quick) != 0)
    fail("pipe");
  pid_t q = fork();
  if (q == 0) {
    (void)!write(quick[1], "quick\n", 6);
    _exit(0);
  }
  close(quick[1]);
  if (pipe(slow) != 0)
    fail("pipe");
  pid_t s = fork();
  if (s == 0) {
    close(slow[0]);
    exec_sleeper(slow[1], "sleep");
  }
  close(slow[1]);
  fork_sleeper("sleep", false);
  wait_state(q, 'Z');
  printf("producers %d %d\n", (int)q, (int)s);
  fflush(stdout);
  char self[PATH_MAX], a1[32], a2[48];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  self[n > 0 ? n : 0] = '\0';
  snprintf(a1, sizeof a1, "/dev/fd/%d", quick[0]);
  snprintf(a2, sizeof a2, "--input=/proc/self/fd/%d", slow[0]);
  execl(self, self, "read-args", a1, a2, (char *)NULL);
  fail("exec");
}

/* A sleeper not announced (in a process group of its own if `group`). */
static pid_t quiet_sleeper(const char *mode, bool group)
{
  return start_sleeper(mode, group ? GROUP : STAY);
}

/* A SIGCHLD handler that reaps every child that ends, as bash's and
 * libuv's do. */
static void reap_all(int sig)
{
  (void)sig;
  int saved = errno;
  while (waitpid(-1, NULL, WNOHANG) > 0)
    ;
  errno = saved;
}

/* Children asked to end and left unreaped, as `kill $server` at the end of a
 * script: by kill, by killpg on the child's own group, by sigqueue with a
 * signal whose default is to end.  With a SIGCHLD handler that reaps
 * (`handler`), kept blocked here so that the exit always wins the race with
 * it: those three are released.  Without one they are zombies never reaped
 * (announced once they are).  Reported either way: one that ignores SIGTERM
 * (so still running after the grace), and one sent a signal that does not
 * end it (SIGCONT). */
static void asked_to_end(bool handler)
{
  if (handler) {
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);
    signal(SIGCHLD, reap_all);
  }
  pid_t byKill = quiet_sleeper("sleep", false), byGroup = quiet_sleeper("sleep", true);
  pid_t byQueue = quiet_sleeper("sleep", false), ignoring = quiet_sleeper("ignore-term", false);
  pid_t continued = quiet_sleeper("sleep", false);
  union sigval v = {.sival_int = 0};
  if (kill(byKill, SIGTERM) != 0 || killpg(byGroup, SIGTERM) != 0 ||
      sigqueue(byQueue, SIGHUP, v) != 0 || kill(ignoring, SIGTERM) != 0 ||
      kill(continued, SIGCONT) != 0)
    fail("signal");
  printf("asked %d %d %d\n", (int)byKill, (int)byGroup, (int)byQueue);
  if (!handler) {
    wait_state(byKill, 'Z');
    wait_state(byGroup, 'Z');
    wait_state(byQueue, 'Z');
  }
  announce(ignoring);
  announce(continued);
}

static void case_asked_to_end(void) { asked_to_end(true); }
static void case_asked_no_handler(void) { asked_to_end(false); }

/* The new image: a line from each descriptor its arguments name. */
static char **case_argv;
static void case_read_args(void)
{
  for (char **a = case_argv + 2; *a; a++) {
    const char *p = strstr(*a, "fd/");
    char line[64];
    ssize_t n = p ? read(atoi(p + 3), line, sizeof line - 1) : -1;
    if (n <= 0)
      fail("read-args");
    line[n] = '\0';
    printf("read %s", line);
  }
}

/* ---- clean cases ---- */

static pid_t quick_child(int code)
{
  pid_t pid = fork();
  if (pid == 0)
    _exit(code);
  if (pid < 0)
    fail("fork");
  return pid;
}

static void case_clean_wait(void)
{
  int st;
  pid_t a = quick_child(1);
  if (waitpid(a, &st, 0) != a || WEXITSTATUS(st) != 1)
    fail("waitpid");
  a = quick_child(2);
  if (wait(&st) != a || WEXITSTATUS(st) != 2)
    fail("wait");
  a = quick_child(3);
  struct rusage ru;
  if (wait3(&st, 0, &ru) != a)
    fail("wait3");
  a = quick_child(4);
  if (wait4(a, NULL, 0, NULL) != a)
    fail("wait4");
  a = quick_child(5);
  siginfo_t si;
  memset(&si, 0, sizeof si);
  if (waitid(P_PID, a, &si, WEXITED) != 0 || si.si_pid != a || si.si_status != 5)
    fail("waitid");
  /* WNOWAIT first, then the real reap */
  a = quick_child(6);
  if (waitid(P_PID, a, &si, WEXITED | WNOWAIT) != 0 || waitpid(a, NULL, 0) != a)
    fail("waitid WNOWAIT then waitpid");
}

static void case_clean_spawn(void)
{
  char *argv[] = {"true", NULL};
  pid_t pid;
  int st;
  if (posix_spawnp(&pid, "true", NULL, NULL, argv, environ) != 0 || waitpid(pid, &st, 0) != pid)
    fail("posix_spawnp");
  argv[0] = "/bin/true";
  if (posix_spawn(&pid, "/bin/true", NULL, NULL, argv, environ) != 0)
    fail("posix_spawn");
  siginfo_t si;
  if (waitid(P_PID, pid, &si, WEXITED) != 0)
    fail("waitid");
}

static void case_clean_popen(void)
{
  FILE *fp = popen("echo hi", "r");
  char line[16];
  if (fp == NULL || fgets(line, sizeof line, fp) == NULL)
    fail("popen");
  if (pclose(fp) != 0)
    fail("pclose");
}

static void case_clean_vfork(void)
{
  int st;
  pid_t pid = vfork();
  if (pid == 0) {
    execl("/bin/true", "true", (char *)NULL);
    _exit(127);
  }
  if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
    fail("vfork + exec");
  pid = vfork();
  if (pid == 0)
    _exit(3);
  if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 3)
    fail("vfork + _exit");
  /* the parent's state is intact: a vfork with an error-free child again */
  for (int i = 0; i < 50; i++) {
    pid = vfork();
    if (pid == 0)
      _exit(i & 0x7f);
    if (waitpid(pid, &st, 0) != pid || WEXITSTATUS(st) != (i & 0x7f))
      fail("vfork loop");
  }
  printf("vfork ok\n");
}

static volatile sig_atomic_t reaped;

static void on_sigchld(int sig)
{
  (void)sig;
  int saved = errno;
  while (waitpid(-1, NULL, WNOHANG) > 0)
    reaped++;
  errno = saved;
}

static void case_sigchld_handler(void)
{
  set_handler(SIGCHLD, on_sigchld, SA_RESTART);
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGCHLD);
  sigprocmask(SIG_BLOCK, &block, &old);
  for (int i = 0; i < 20; i++)
    quick_child(0);
  while (reaped < 20)
    sigsuspend(&old);
  sigprocmask(SIG_SETMASK, &old, NULL);
  printf("reaped %d\n", (int)reaped);
}

static void case_sigchld_ignored(void)
{
  signal(SIGCHLD, SIG_IGN);
  pid_t pids[10];
  for (int i = 0; i < 10; i++)
    pids[i] = quick_child(0);
  /* the kernel reaps them: each disappears without a wait */
  for (int i = 0; i < 10; i++)
    for (int k = 0; kill(pids[i], 0) == 0; k++) {
      if (k > 20000)
        fail("auto-reap");
      usleep(1000);
    }
  printf("auto-reaped\n");
}

static void case_sa_nocldwait(void)
{
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_DFL;
  sa.sa_flags = SA_NOCLDWAIT;
  sigaction(SIGCHLD, &sa, NULL);
  pid_t pid = quick_child(0);
  for (int k = 0; kill(pid, 0) == 0; k++) {
    if (k > 20000)
      fail("auto-reap");
    usleep(1000);
  }
  printf("auto-reaped\n");
}

static const struct {
  const char *name;
  void (*fn)(void);
} cases[] = {
  {"running", case_running}, {"ignoreterm", case_ignoreterm}, {"stopped", case_stopped},
  {"zombie", case_zombie}, {"wnowait", case_wnowait}, {"popen", case_popen},
  {"spawn", case_spawn}, {"spawnp", case_spawnp}, {"vfork", case_vfork},
  {"forkpty", case_forkpty}, {"clone", case_clone},
  {"killed", case_killed},
  {"doublefork", case_doublefork}, {"untracked", case_untracked}, {"exec", case_exec},
  {"after-exec", case_after_exec}, {"clean-wait", case_clean_wait},
  {"clean-spawn", case_clean_spawn}, {"clean-popen", case_clean_popen},
  {"clean-vfork", case_clean_vfork}, {"sigchld-handler", case_sigchld_handler},
  {"sigchld-ignored", case_sigchld_ignored}, {"sa-nocldwait", case_sa_nocldwait},
  {"pid-reuse", case_pid_reuse}, {"doublefork-leak", case_doublefork_leak},
  {"daemon", case_daemon}, {"detached-exec", case_detached_exec},
  {"exec-producers", case_exec_producers}, {"read-args", case_read_args},
  {"asked-to-end", case_asked_to_end}, {"asked-no-handler", case_asked_no_handler},
};

int main(int argc, char **argv)
{
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  self[n > 0 ? n : 0] = '\0';
  char *slash = strrchr(self, '/');
  if (slash)
    *slash = '\0';
  snprintf(sleeper, sizeof sleeper, "%s/sleeper", self);
  case_argv = argv;
  for (size_t i = 0; argc > 1 && i < sizeof cases / sizeof cases[0]; i++)
    if (strcmp(argv[1], cases[i].name) == 0) {
      cases[i].fn();
      return 0;
    }
  fprintf(stderr, "usage: children CASE\n");
  return 64;
}
