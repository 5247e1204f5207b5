/* Code with no unwind information, as a JIT makes it, named by a perf map
 * (/tmp/perf-PID.map): `jitlike MODE` calls open through a few bytes of
 * machine code in an anonymous executable mapping that keep the frame
 * pointer, as V8's frames do.  MODE "map" writes the perf map first (a
 * V8-style JavaScript name, file and line); "nomap" does not.  Prints the
 * leaked descriptor.  x86_64 only (exits 77 elsewhere). */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int __attribute__((noinline)) open_hostname(void)
{
  return open("/etc/hostname", O_RDONLY);
}

int main(int argc, char **argv)
{
#if defined(__x86_64__)
  int with_map = argc > 1 && strcmp(argv[1], "map") == 0;
  unsigned char *code = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                             MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (code == MAP_FAILED)
    return 1;
  /* push %rbp; mov %rsp,%rbp; movabs $open_hostname,%rax; call *%rax;
   * pop %rbp; ret */
  static const unsigned char pre[] = {0x55, 0x48, 0x89, 0xe5, 0x48, 0xb8};
  static const unsigned char post[] = {0xff, 0xd0, 0x5d, 0xc3};
  int (*target)(void) = open_hostname;
  memcpy(code, pre, sizeof pre);
  memcpy(code + sizeof pre, &target, 8);
  memcpy(code + sizeof pre + 8, post, sizeof post);
  size_t len = sizeof pre + 8 + sizeof post;
  if (with_map) {
    char path[64];
    snprintf(path, sizeof path, "/tmp/perf-%d.map", (int)getpid());
    FILE *f = fopen(path, "w");
    if (f == NULL)
      return 1;
    fprintf(f, "%lx 10 Builtin:SomethingElse\n", (unsigned long)(code + 2048));
    fprintf(f, "%lx %zx JS:~leakyJs /src/app.js:42:7\n", (unsigned long)code, len);
    fclose(f);
  }
  int (*fn)(void) = (int (*)(void))(void *)code;
  printf("%d\n", fn());
  return 0;
#else
  (void)argc;
  (void)argv;
  return 77;
#endif
}
