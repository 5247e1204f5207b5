/* A short process that acquires one resource and releases it: what every
 * clean preloaded process runs of librcleak (test_layout.sh). */
#include <fcntl.h>
#include <unistd.h>

int main(void)
{
  int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  return fd >= 0 && close(fd) == 0 ? 0 : 1;
}
