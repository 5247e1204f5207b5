/* A child for the child-family tests: announces itself, then waits to be
 * killed.  `sleeper sleep` dies by SIGTERM; `sleeper ignore-term` ignores it
 * (so only SIGKILL ends it).  "ready" goes to stdout (a pipe the parent reads);
 * stdout and stderr are then pointed at /dev/null, so a surviving sleeper
 * never holds the test harness's pipes open. */
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
  if (argc > 1 && strcmp(argv[1], "ignore-term") == 0)
    signal(SIGTERM, SIG_IGN);
  (void)!write(1, "ready\n", 6);
  int fd = open("/dev/null", O_RDWR);
  dup2(fd, 1);
  dup2(fd, 2);
  close(fd);
  for (;;)
    pause();
}
