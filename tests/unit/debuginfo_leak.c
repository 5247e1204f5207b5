/* A program that leaks one descriptor from a known line, for
 * debuginfo_search.py (which strips it and moves its DWARF around). */
#include <fcntl.h>
#include <stdio.h>

__attribute__((noinline)) static int leak_here(void)
{
  return open("/dev/null", O_RDONLY); /* the leak */
}

int main(void)
{
  printf("fd %d\n", leak_here());
  return 0;
}
