/* Signal-hook test program: `sigprog CASE`.
 *   sleep-leaks   leaks an fd and a child, says "ready", sleeps until killed
 *   own-handler   leaks an fd, installs its own SIGTERM handler that exit(0)s
 *   query         walks signal/sigaction/bsd_signal/sysv_signal through every
 *                 disposition and prints what the program sees at each step
 *                 (the test compares this with a run without rcleak), then
 *                 dies by SIGTERM
 *   stress        4 threads acquire and release descriptors until killed */
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern __sighandler_t bsd_signal(int sig, __sighandler_t h);
extern __sighandler_t sysv_signal(int sig, __sighandler_t h);

static char sleeper[PATH_MAX + 32];

static void ready(void)
{
  printf("ready\n");
  fflush(stdout);
}

static int leak_devnull(void)
{
  int fd = open("/dev/null", O_RDONLY);
  printf("fd %d\n", fd);
  return fd;
}

static void leak_child(void)
{
  int p[2];
  if (pipe(p) != 0)
    exit(2);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(p[1], 1);
    execl(sleeper, sleeper, "sleep", (char *)NULL);
    _exit(127);
  }
  close(p[1]);
  char buf[8];
  if (read(p[0], buf, sizeof buf) != 6)
    exit(2);
  close(p[0]);
  printf("child %d\n", (int)pid);
}

static void case_sleep_leaks(void)
{
  leak_devnull();
  leak_child();
  ready();
  for (;;)
    pause();
}

static void on_term_exit(int sig)
{
  (void)sig;
  static const char msg[] = "handled\n";
  (void)!write(1, msg, sizeof msg - 1);
  exit(0);
}

static void case_own_handler(void)
{
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_term_exit;
  sigaction(SIGTERM, &sa, NULL);
  leak_devnull();
  ready();
  for (;;)
    pause();
}

/* ---- query ---- */

static volatile sig_atomic_t h_ran, info_signo;
static void h(int sig) { (void)sig; h_ran++; }
static void hinfo(int sig, siginfo_t *si, void *uc)
{
  (void)sig;
  (void)uc;
  info_signo = si->si_signo;
}

static const char *name(__sighandler_t f)
{
  if (f == SIG_DFL) return "SIG_DFL";
  if (f == SIG_IGN) return "SIG_IGN";
  if (f == SIG_ERR) return "SIG_ERR";
  if (f == h) return "h";
  if (f == (__sighandler_t)(void *)hinfo) return "hinfo";
  return "OTHER";
}

static void show(const char *step, int sig)
{
  struct sigaction q;
  memset(&q, 0x5a, sizeof q);
  int r = sigaction(sig, NULL, &q);
  unsigned long long mask = 0;
  for (int s = 1; s < 64; s++)
    if (sigismember(&q.sa_mask, s))
      mask |= 1ull << s;
  printf("%s: sig %d r=%d handler=%s flags=%#x mask=%#llx restorer=%s\n", step, sig, r,
         name(q.sa_handler), (unsigned)q.sa_flags, mask, q.sa_restorer ? "set" : "null");
}

static void case_query(void)
{
  leak_devnull();
  show("initial", SIGTERM);
  show("initial", SIGINT);
  show("initial", SIGHUP);
  show("initial", SIGUSR1); /* not managed: passes straight through */
  printf("signal(h) returned %s\n", name(signal(SIGTERM, h)));
  show("after signal(h)", SIGTERM);
  raise(SIGTERM);
  printf("h ran %d\n", (int)h_ran);

  struct sigaction d, old;
  memset(&d, 0, sizeof d);
  d.sa_handler = SIG_DFL;
  d.sa_flags = SA_RESTART;
  sigemptyset(&d.sa_mask);
  sigaddset(&d.sa_mask, SIGUSR1);
  memset(&old, 0, sizeof old);
  sigaction(SIGTERM, &d, &old);
  printf("sigaction(SIG_DFL) old=%s flags=%#x\n", name(old.sa_handler), (unsigned)old.sa_flags);
  show("after sigaction(SIG_DFL)", SIGTERM);

  printf("signal(SIG_IGN) returned %s\n", name(signal(SIGTERM, SIG_IGN)));
  raise(SIGTERM);
  printf("survived an ignored SIGTERM\n");
  show("after signal(SIG_IGN)", SIGTERM);

  printf("sysv_signal(SIG_DFL) returned %s\n", name(sysv_signal(SIGTERM, SIG_DFL)));
  show("after sysv_signal(SIG_DFL)", SIGTERM);

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = hinfo;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGTERM, &sa, &old);
  printf("sigaction(hinfo) old=%s flags=%#x\n", name(old.sa_handler), (unsigned)old.sa_flags);
  raise(SIGTERM);
  printf("hinfo got signo %d\n", (int)info_signo);
  show("after sigaction(hinfo)", SIGTERM);

  printf("bsd_signal(SIG_DFL) returned %s\n", name(bsd_signal(SIGINT, SIG_DFL)));
  show("after bsd_signal(SIG_DFL)", SIGINT);

  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_DFL;
  sa.sa_flags = SA_ONSTACK | SA_SIGINFO;
  sigaction(SIGHUP, &sa, NULL);
  show("after sigaction(SIG_DFL, SA_ONSTACK|SA_SIGINFO)", SIGHUP);
  /* each signal's view is its own: the flags just set are SIGHUP's only */
  show("after SIGHUP's flags", SIGINT);
  show("after SIGHUP's flags", SIGQUIT);
  show("after SIGHUP's flags", SIGUSR1);

  printf("signal(SIGTERM, SIG_DFL) returned %s\n", name(signal(SIGTERM, SIG_DFL)));
  show("final", SIGTERM);
  printf("raising\n");
  fflush(stdout);
  raise(SIGTERM);
  printf("still alive after SIGTERM\n");
}

/* ---- stress ---- */

static void *churn(void *arg)
{
  (void)arg;
  for (;;) {
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int p[2];
    if (pipe(p) == 0) {
      close(p[0]);
      close(p[1]);
    }
    FILE *f = fopen("/dev/null", "r");
    if (f)
      fclose(f);
    if (fd >= 0)
      close(fd);
  }
  return NULL;
}

static void case_stress(void)
{
  leak_devnull();
  pthread_t t;
  for (int i = 0; i < 4; i++)
    pthread_create(&t, NULL, churn, NULL);
  ready();
  for (;;)
    pause();
}

int main(int argc, char **argv)
{
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  self[n > 0 ? n : 0] = '\0';
  char *slash = strrchr(self, '/');
  if (slash)
    *slash = '\0';
  snprintf(sleeper, sizeof sleeper, "%s/../child/sleeper", self);
  if (argc < 2)
    return 64;
  if (strcmp(argv[1], "sleep-leaks") == 0)
    case_sleep_leaks();
  else if (strcmp(argv[1], "own-handler") == 0)
    case_own_handler();
  else if (strcmp(argv[1], "query") == 0)
    case_query();
  else if (strcmp(argv[1], "stress") == 0)
    case_stress();
  else
    return 64;
  return 0;
}
