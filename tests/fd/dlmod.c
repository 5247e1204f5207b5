/* A module the dlclose test loads, unloads and replaces (dlclose_prog.c).
 * Built twice from this file with different frame sizes (DLMOD_FRAME) and
 * names of the same length (DLMOD_FN): when the second build lands where the
 * first was, a return address inside it can equal one the stack walker saw
 * in the first, with a different CFA rule. */
#include <fcntl.h>

__attribute__((noinline)) int DLMOD_FN(int *sink)
{
  volatile char frame[DLMOD_FRAME];
  frame[0] = 1;
  int fd = open("/dev/null", O_RDONLY);
  *sink += frame[0];
  return fd;
}
