/* Built with -O2 -D_FORTIFY_SOURCE=2: non-constant open flags make glibc's
 * headers call __open_2 / __openat_2 instead of open / openat. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
  (void)argv;
  int flags = argc > 5 ? O_WRONLY : O_RDONLY;
  int a = open("/dev/null", flags);
  int b = openat(AT_FDCWD, "/dev/null", flags);
  printf("leaked %d\nleaked %d\n", a, b);
  return 0;
}
