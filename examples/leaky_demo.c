/* A small program that leaks a little of everything, to see rcleak's report:
 *     LD_PRELOAD=build/shim/librcleak.so build/examples/leaky_demo */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int open_log(const char *path)
{
  return open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
}

static void start_worker(void)
{
  if (fork() == 0) {
    execlp("sleep", "sleep", "30", (char *)NULL);
    _exit(127);
  }
}

static void *worker_thread(void *arg)
{
  (void)arg;
  return NULL;
}

static void start_timers(void)
{
  timer_t t;
  struct sigevent sev = {.sigev_notify = SIGEV_NONE};
  timer_create(CLOCK_MONOTONIC, &sev, &t);           /* never deleted */
  struct itimerval it = {.it_value = {3600, 0}};
  setitimer(ITIMER_REAL, &it, NULL);                 /* still armed at exit */
}

int main(void)
{
  char dir[] = "/tmp/rcleak-demo-XXXXXX";
  if (mkdtemp(dir) == NULL)
    return 1;
  char log[64];
  snprintf(log, sizeof log, "%s/app.log", dir);
  open_log(log);                                   /* never closed */
  for (int i = 0; i < 3; i++)
    socket(AF_INET, SOCK_STREAM, 0);               /* three from one site */
  int p[2];
  if (pipe(p) == 0)
    close(p[0]);                                   /* write end leaks */
  start_worker();                                  /* child never waited for */
  pthread_t th;
  pthread_create(&th, NULL, worker_thread, NULL);   /* never joined */
  start_timers();
  puts("leaky_demo: done, exiting without cleaning up");
  return 0;
}
