/* exec family: hand this process's surviving records to the next image (see
 * handover.h).  In a vfork child these pass straight through: the child
 * shares the parent's memory and must not touch rcleak state. */
#include <stdarg.h>
#include <unistd.h>

#include "handover.h"
#include "rc.h"
#include "real.h"

extern char **environ;

RC_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
  char *const *env = rc_handover_prepare(argv, envp);
  int r = REAL(execve)(path, argv, env);
  rc_handover_abort(env, envp);
  return r;
}

RC_EXPORT int execv(const char *path, char *const argv[])
{
  char *const *env = rc_handover_prepare(argv, environ);
  int r = REAL(execve)(path, argv, env);
  rc_handover_abort(env, environ);
  return r;
}

RC_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
  char *const *env = rc_handover_prepare(argv, envp);
  int r = REAL(execvpe)(file, argv, env);
  rc_handover_abort(env, envp);
  return r;
}

RC_EXPORT int execvp(const char *file, char *const argv[])
{
  char *const *env = rc_handover_prepare(argv, environ);
  int r = REAL(execvpe)(file, argv, env);
  rc_handover_abort(env, environ);
  return r;
}

RC_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
  char *const *env = rc_handover_prepare(argv, envp);
  int r = REAL(fexecve)(fd, argv, env);
  rc_handover_abort(env, envp);
  return r;
}

/* The execl variants collect their arguments into an array on the stack
 * (exec may run in a vfork child, where malloc is off limits). */
#define RC_COLLECT_ARGS(arg, argv, last_ap)                                     \
  size_t argc = 1;                                                               \
  va_list ap;                                                                    \
  va_start(ap, arg);                                                             \
  while (va_arg(ap, const char *) != NULL)                                       \
    argc++;                                                                      \
  va_end(ap);                                                                    \
  const char *argv[argc + 1];                                                    \
  argv[0] = arg;                                                                 \
  va_start(ap, arg);                                                             \
  for (size_t i = 1; i <= argc; i++)                                             \
    argv[i] = va_arg(ap, const char *);                                          \
  last_ap;                                                                       \
  va_end(ap)

RC_EXPORT int execl(const char *path, const char *arg, ...)
{
  RC_COLLECT_ARGS(arg, argv, (void)0);
  return execv(path, (char *const *)argv); /* our own wrapper, on purpose */
}

RC_EXPORT int execlp(const char *file, const char *arg, ...)
{
  RC_COLLECT_ARGS(arg, argv, (void)0);
  return execvp(file, (char *const *)argv); /* our own wrapper, on purpose */
}

RC_EXPORT int execle(const char *path, const char *arg, ...)
{
  char *const *envp;
  RC_COLLECT_ARGS(arg, argv, envp = va_arg(ap, char *const *));
  return execve(path, (char *const *)argv, envp); /* our own wrapper, on purpose */
}
