/* dlclose: a module that leaked a descriptor is unloaded, another module is
 * loaded (usually at the same address) and leaks one too, and the program
 * leaks one of its own.  The stacks of the later two must be exact: the
 * walker may not reuse what it learned about the unloaded code.
 *
 *   dlclose_prog MODULE_A MODULE_B
 * prints "base-a X", "base-b Y", "fd-a N", "fd-b N", "fd-main N" and
 * "dlclose ok" when dlclose returned 0 and left errno alone. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>

static int sink;

__attribute__((noinline)) static int load_and_call(const char *path, const char *fn, void **handle)
{
  *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (*handle == NULL) {
    fprintf(stderr, "dlopen %s: %s\n", path, dlerror());
    return -1;
  }
  int (*f)(int *) = (int (*)(int *))dlsym(*handle, fn);
  Dl_info info;
  if (f == NULL || dladdr((void *)f, &info) == 0)
    return -1;
  printf("base-%c %p\n", fn[6], info.dli_fbase);
  return f(&sink);
}

__attribute__((noinline)) static int after_dlclose(void)
{
  return open("/dev/null", O_RDONLY);
}

int main(int argc, char **argv)
{
  if (argc < 3)
    return 2;
  void *ha, *hb;
  /* the same call site for both modules: identical frames above them */
  int fds[2];
  const char *paths[2] = {argv[1], argv[2]};
  const char *names[2] = {"dlmod_a_open", "dlmod_b_open"};
  for (int i = 0; i < 2; i++) {
    fds[i] = load_and_call(paths[i], names[i], i == 0 ? &ha : &hb);
    if (i == 0) {
      errno = EXDEV;
      int r = dlclose(ha);
      if (r == 0 && errno == EXDEV)
        printf("dlclose ok\n");
    }
  }
  printf("fd-a %d\nfd-b %d\nfd-main %d\n", fds[0], fds[1], after_dlclose());
  return 0;
}
