/* Test programs of the temp family's releases: `tmpprog CASE`, run in the
 * test's work directory.  Each prints the temps it leaves ("leak_dir PATH",
 * "leak_file PATH") and the things that must survive cleanup ("keep PATH"),
 * so that cases.py can assert the exact report and what is left on disk. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char dir[2048]; /* the work directory, absolute */

static void die(const char *what)
{
  fprintf(stderr, "tmpprog: %s: %s\n", what, strerror(errno));
  exit(99);
}

static char *tdir(const char *name)
{
  static char paths[64][PATH_MAX];
  static int n;
  char *p = paths[n++ % 64];
  snprintf(p, PATH_MAX, "%s/%sXXXXXX", dir, name);
  if (mkdtemp(p) == NULL)
    die("mkdtemp");
  return p;
}

/* A temp file, its descriptor closed (only the path is the subject here). */
static char *tfile(const char *name)
{
  static char paths[64][PATH_MAX];
  static int n;
  char *p = paths[n++ % 64];
  snprintf(p, PATH_MAX, "%s/%sXXXXXX", dir, name);
  int fd = mkstemp(p);
  if (fd < 0)
    die("mkstemp");
  if (write(fd, "abc", 3) != 3)
    die("write");
  close(fd);
  return p;
}

static const char *base(const char *p)
{
  return strrchr(p, '/') + 1;
}

static void put_file(const char *path)
{
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0 || write(fd, "x", 1) != 1)
    die(path);
  close(fd);
}

/* Past the coarse clock tick in which the last temp was created (HZ >= 100):
 * what is created from now on has a later birth time. */
static void next_tick(void)
{
  struct timespec ts = {0, 30 * 1000000};
  nanosleep(&ts, NULL);
}

/* Every release call, each on its own temp; four temps stay. */
static void releases(void)
{
  int dfd = open(dir, O_RDONLY | O_DIRECTORY);
  if (dfd < 0)
    die("open dir");
  if (rmdir(tdir("rmdir.")) != 0)
    die("rmdir");
  if (unlink(tfile("unlink.")) != 0)
    die("unlink");
  if (unlinkat(dfd, base(tfile("unlinkat_fd.")), 0) != 0)
    die("unlinkat fd");
  if (unlinkat(AT_FDCWD, tdir("unlinkat_rmdir."), AT_REMOVEDIR) != 0)
    die("unlinkat AT_REMOVEDIR");
  if (unlinkat(dfd, base(tdir("unlinkat_fd_rmdir.")), AT_REMOVEDIR) != 0)
    die("unlinkat fd AT_REMOVEDIR");
  if (remove(tfile("remove_file.")) != 0 || remove(tdir("remove_dir.")) != 0)
    die("remove");
  /* atomic write: a temp file renamed to its final name is not a leak */
  char fin[PATH_MAX + 16];
  snprintf(fin, sizeof fin, "%s/final1", dir);
  if (rename(tfile("atomic."), fin) != 0)
    die("rename");
  printf("keep %s\n", fin);
  if (renameat(dfd, base(tfile("atomic_at.")), dfd, "final2") != 0)
    die("renameat");
  printf("keep %s/final2\n", dir);
  snprintf(fin, sizeof fin, "%s/final3", dir);
  if (renameat2(AT_FDCWD, tfile("atomic_at2."), AT_FDCWD, fin, RENAME_NOREPLACE) != 0)
    die("renameat2");
  printf("keep %s\n", fin);
  /* a temp dir renamed into place */
  snprintf(fin, sizeof fin, "%s/published", dir);
  if (rename(tdir("publish."), fin) != 0)
    die("rename dir");
  printf("keep %s\n", fin);
  /* one temp renamed over another: both released */
  char *over = tfile("over.");
  if (rename(tfile("mover."), over) != 0)
    die("rename over");
  printf("keep %s\n", over);
  /* RENAME_EXCHANGE: both temps now carry each other's name */
  char *x1 = tfile("xchg1."), *x2 = tfile("xchg2.");
  if (renameat2(AT_FDCWD, x1, AT_FDCWD, x2, RENAME_EXCHANGE) != 0)
    die("renameat2 exchange");
  printf("keep %s\nkeep %s\n", x1, x2);
  /* spelt differently: relative to the cwd (the work dir), with "./" */
  char rel[PATH_MAX + 4];
  snprintf(rel, sizeof rel, "./%s", base(tdir("dotslash.")));
  if (rmdir(rel) != 0)
    die("rmdir ./");
  /* a path with a trailing slash */
  snprintf(rel, sizeof rel, "%s/", tdir("slash."));
  if (rmdir(rel) != 0)
    die("rmdir trailing slash");
  /* a long path, stored out of line */
  char deep[PATH_MAX];
  snprintf(deep, sizeof deep, "%s/%0200d", dir, 7);
  if (mkdir(deep, 0700) != 0)
    die("mkdir deep");
  printf("keep %s\n", deep);
  char longt[PATH_MAX + 32];
  snprintf(longt, sizeof longt, "%s/longXXXXXX", deep);
  if (mkdtemp(longt) == NULL || rmdir(longt) != 0)
    die("long rmdir");
  snprintf(longt, sizeof longt, "%s/longkeptXXXXXX", deep);
  if (mkdtemp(longt) == NULL)
    die("long mkdtemp");
  printf("leak_dir %s\n", longt);
  /* failed removals release nothing: a non-empty dir, a missing name */
  char *full = tdir("nonempty.");
  char inside[PATH_MAX + 16];
  snprintf(inside, sizeof inside, "%s/inside", full);
  put_file(inside);
  errno = 0;
  if (rmdir(full) == 0 || errno != ENOTEMPTY)
    die("rmdir of a non-empty dir: errno");
  printf("leak_dir %s\n", full);
  char *kept = tfile("kept.");
  errno = 0;
  if (unlinkat(dfd, "no-such-file", 0) == 0 || errno != ENOENT)
    die("unlinkat missing: errno");
  printf("leak_file %s\n", kept);
  /* a successful release leaves errno alone, also when it looks at the
   * disk, and when what it looks at is gone: a temp file whose directory
   * was renamed, removed through the new name */
  errno = 4321;
  if (unlinkat(dfd, base(tfile("errno.")), 0) != 0 || errno != 4321)
    die("unlinkat changed errno");
  char moved[PATH_MAX + 16], movedt[PATH_MAX + 32], moved2[PATH_MAX + 16];
  snprintf(moved, sizeof moved, "%s/errsub", dir);
  snprintf(moved2, sizeof moved2, "%s/errsub2", dir);
  snprintf(movedt, sizeof movedt, "%s/errsub/eXXXXXX", dir);
  int mfd;
  if (mkdir(moved, 0700) != 0 || (mfd = mkstemp(movedt)) < 0)
    die("errsub");
  close(mfd);
  if (rename(moved, moved2) != 0 || (mfd = open(moved2, O_RDONLY | O_DIRECTORY)) < 0)
    die("rename errsub");
  printf("keep %s\n", moved2);
  errno = 4321;
  if (unlinkat(mfd, base(movedt), 0) != 0 || errno != 4321)
    die("unlinkat in a renamed dir changed errno");
  close(mfd);
  /* the same name in another directory is another entry */
  char *twin = tfile("twin.");
  char other[PATH_MAX + 64];
  snprintf(other, sizeof other, "%s/otherdir", dir);
  if (mkdir(other, 0700) != 0)
    die("mkdir otherdir");
  printf("keep %s\n", other);
  int odfd = open(other, O_RDONLY | O_DIRECTORY);
  snprintf(other, sizeof other, "%s/otherdir/%s", dir, base(twin));
  put_file(other);
  if (unlink(other) != 0)
    die("unlink twin");
  put_file(other);
  if (odfd < 0 || unlinkat(odfd, base(twin), 0) != 0)
    die("unlinkat twin");
  close(odfd);
  printf("leak_file %s\n", twin);
  close(dfd);
}

/* Relative templates and the working directory. */
static void relative(void)
{
  char sub[PATH_MAX + 8];
  snprintf(sub, sizeof sub, "%s/sub", dir);
  if (mkdir(sub, 0700) != 0)
    die("mkdir sub");
  printf("keep %s\n", sub);
  int dfd = open(dir, O_RDONLY | O_DIRECTORY);
  /* removed with the spelling it was created with */
  char a[] = "relaXXXXXX";
  if (mkdtemp(a) == NULL || rmdir(a) != 0)
    die("rel a");
  char d[] = "reldXXXXXX", f[] = "relfXXXXXX", b[] = "relbXXXXXX";
  if (mkdtemp(d) == NULL)
    die("rel d");
  printf("leak_dir %s/%s\n", dir, d);
  int fd = mkstemp(f), fd2 = mkstemp(b);
  if (fd < 0 || fd2 < 0)
    die("rel mkstemp");
  close(fd);
  close(fd2);
  printf("leak_file %s/%s\n", dir, f);
  if (chdir("sub") != 0)
    die("chdir sub");
  /* from the new cwd, through ".." */
  char up[64];
  snprintf(up, sizeof up, "../%s", b);
  if (unlink(up) != 0)
    die("unlink ../");
  /* the same relative spelling now names another file: f stays */
  put_file(f);
  if (unlink(f) != 0)
    die("unlink other f");
  char e[] = "releXXXXXX", c[] = "relcXXXXXX";
  fd = mkstemp(e);
  if (fd < 0 || mkdtemp(c) == NULL)
    die("rel in sub");
  close(fd);
  printf("leak_file %s/sub/%s\n", dir, e);
  if (dfd < 0 || fchdir(dfd) != 0)
    die("fchdir");
  char subc[64];
  snprintf(subc, sizeof subc, "sub/%s", c);
  if (rmdir(subc) != 0)
    die("rmdir sub/c");
  char g[] = "relgXXXXXX";
  if (mkdtemp(g) == NULL || rmdir(g) != 0)
    die("rel g");
  if (chdir("/") != 0)
    die("chdir /");
  close(dfd);
}

/* Removed by child processes: rm -rf of a full dir, rm -f of a file. */
static void child_rm(void)
{
  char *d = tdir("byrm.");
  char f[PATH_MAX + 16];
  snprintf(f, sizeof f, "%s/sub", d);
  mkdir(f, 0700);
  snprintf(f, sizeof f, "%s/sub/file", d);
  put_file(f);
  char *t = tfile("byrmf.");
  const char *argv1[] = {"rm", "-rf", d, NULL}, *argv2[] = {"rm", "-f", t, NULL};
  const char *const *argvs[] = {argv1, argv2};
  for (int i = 0; i < 2; i++) {
    pid_t pid = fork();
    if (pid == 0) {
      execvp("rm", (char *const *)argvs[i]);
      _exit(127);
    }
    int st;
    if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
      die("rm child");
  }
  printf("leak_dir %s\n", tdir("kept."));
}

/* Something else under a temp's name, put there without the wrappers
 * seeing it: none of it may be reported or cleaned. */
static void replaced(void)
{
  char older[PATH_MAX + 16], f[PATH_MAX + 32];
  snprintf(older, sizeof older, "%s/older", dir);
  if (mkdir(older, 0700) != 0)
    die("mkdir older");
  snprintf(f, sizeof f, "%s/precious", older);
  put_file(f);
  next_tick();
  char *d = tdir("replaced."), *t = tfile("replacedf.");
  char *r = tdir("renamedover."), *s = tdir("symlinked.");
  /* right away: a directory created earlier, renamed over the name */
  if (syscall(SYS_rmdir, r) != 0 || syscall(SYS_rename, older, r) != 0)
    die("raw rename over");
  printf("keep %s/precious\n", r);
  /* right away: a symlink to a directory of files */
  if (syscall(SYS_rmdir, s) != 0 || symlink(r, s) != 0)
    die("symlink over");
  printf("keep %s\nkeep %s/precious\n", s, s);
  /* later than the tick of their creation (see tmp_family.c, "Identity"):
   * a new directory and a new file with the same names */
  next_tick();
  if (syscall(SYS_rmdir, d) != 0 || syscall(SYS_mkdir, d, 0700) != 0)
    die("raw rmdir+mkdir");
  snprintf(f, sizeof f, "%s/precious", d);
  put_file(f);
  printf("keep %s\n", f);
  if (syscall(SYS_unlink, t) != 0)
    die("raw unlink");
  int fd = (int)syscall(SYS_openat, AT_FDCWD, t, O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0 || write(fd, "precious", 8) != 8)
    die("raw create");
  close(fd);
  printf("keep %s\n", t);
}

/* Removals nobody sees (raw syscalls) in a loop: the registry stays bounded
 * (the sweep), and what is really left is still reported exactly. */
static void unseen_loop(void)
{
  printf("leak_dir %s\nleak_file %s\n", tdir("stays."), tfile("staysf."));
  for (int i = 0; i < 300; i++) {
    if (syscall(SYS_rmdir, tdir("unseen.")) != 0 || syscall(SYS_unlink, tfile("unseenf.")) != 0)
      die("raw removal");
  }
  printf("leak_file %s\n", tfile("last."));
}

/* Threads creating and removing temps while another changes directory. */
static volatile int stop_chdir;

static void *churn(void *arg)
{
  long id = (long)arg;
  char p[PATH_MAX + 32];
  for (int i = 0; i < 1000; i++) {
    snprintf(p, sizeof p, "%s/t%ldXXXXXX", dir, id);
    if (mkdtemp(p) == NULL || rmdir(p) != 0)
      die("thread dir");
    snprintf(p, sizeof p, "t%ldfXXXXXX", id); /* relative: the cwd stays dir */
    int fd = mkstemp(p);
    if (fd < 0 || unlink(p) != 0)
      die("thread file");
    close(fd);
  }
  snprintf(p, sizeof p, "%s/kept%ldXXXXXX", dir, id);
  if (mkdtemp(p) == NULL)
    die("thread kept");
  printf("leak_dir %s\n", p);
  return NULL;
}

static void *chdirs(void *arg)
{
  (void)arg;
  while (!stop_chdir)
    if (chdir(dir) != 0)
      die("chdir");
  return NULL;
}

static void threads(void)
{
  pthread_t t[4], c;
  pthread_create(&c, NULL, chdirs, NULL);
  for (long i = 0; i < 4; i++)
    pthread_create(&t[i], NULL, churn, (void *)i);
  for (int i = 0; i < 4; i++)
    pthread_join(t[i], NULL);
  stop_chdir = 1;
  pthread_join(c, NULL);
}

/* A signal handler removes the temp file (the wrapper must not deadlock or
 * resolve symbols there). */
static char *sig_path;

static void on_usr1(int sig)
{
  (void)sig;
  unlink(sig_path);
}

static void signal_handler(void)
{
  sig_path = tfile("sig.");
  signal(SIGUSR1, on_usr1);
  raise(SIGUSR1);
}

/* Every pattern, nothing left. */
static void clean(void)
{
  char fin[PATH_MAX + 16];
  snprintf(fin, sizeof fin, "%s/final", dir);
  int dfd = open(dir, O_RDONLY | O_DIRECTORY);
  for (int i = 0; i < 100; i++) {
    if (rmdir(tdir("c.")) != 0 || unlink(tfile("cf.")) != 0 ||
        rename(tfile("ca."), fin) != 0 || unlink(fin) != 0 ||
        remove(tdir("cr.")) != 0 || unlinkat(dfd, base(tfile("cu.")), 0) != 0)
      die("clean");
    char rel[] = "crelXXXXXX";
    if (mkdtemp(rel) == NULL || rmdir(rel) != 0)
      die("clean rel");
  }
  close(dfd);
}

/* For the system call count: the common patterns between two markers. */
static void syscalls(void)
{
  char fin[PATH_MAX + 16];
  /* warm-up elsewhere: whatever the first acquisitions of a thread load */
  char warm[sizeof dir + 8];
  snprintf(warm, sizeof warm, "%s/warm", dir);
  if (mkdir(warm, 0700) != 0)
    die("mkdir warm");
  for (int i = 0; i < 100; i++) {
    snprintf(fin, sizeof fin, "%s/wXXXXXX", warm);
    if (mkdtemp(fin) == NULL || rmdir(fin) != 0)
      die("warm-up");
  }
  snprintf(fin, sizeof fin, "%s/final", dir);
  int dfd = open(dir, O_RDONLY | O_DIRECTORY);
  if (dfd < 0)
    die("open dir");
  (void)access("/rcleak-test-begin", F_OK);
  for (int i = 0; i < 200; i++) {
    if (rmdir(tdir("s.")) != 0 || unlink(tfile("sf.")) != 0 ||
        rename(tfile("sa."), fin) != 0 || unlink(fin) != 0 || remove(tdir("sr.")) != 0 ||
        remove(tfile("srf.")) != 0 || unlinkat(AT_FDCWD, tdir("su."), AT_REMOVEDIR) != 0 ||
        unlinkat(AT_FDCWD, tfile("suf."), 0) != 0 ||
        renameat(AT_FDCWD, tfile("sat."), AT_FDCWD, fin) != 0 ||
        renameat2(AT_FDCWD, tfile("sat2."), AT_FDCWD, fin, 0) != 0 || unlink(fin) != 0)
      die("syscalls");
    /* spelt differently: two statx each (the parent directories) */
    if (unlinkat(dfd, base(tfile("sdf.")), 0) != 0)
      die("syscalls dirfd");
    char rel[] = "srelXXXXXX";
    if (mkdtemp(rel) == NULL || rmdir(rel) != 0)
      die("syscalls rel");
  }
  (void)access("/rcleak-test-end", F_OK);
  close(dfd);
}

/* Relative temps left at exit, cwd unchanged: reported by absolute path. */
static void relative_left(void)
{
  char d[] = "leftXXXXXX", f[] = "leftfXXXXXX";
  int fd = mkstemp(f);
  if (mkdtemp(d) == NULL || fd < 0)
    die("relative_left");
  close(fd);
  printf("leak_dir %s/%s\nleak_file %s/%s\n", dir, d, dir, f);
}

int main(int argc, char **argv)
{
  if (getcwd(dir, sizeof dir) == NULL)
    die("getcwd");
  const char *c = argc > 1 ? argv[1] : "";
  if (!strcmp(c, "releases")) releases();
  else if (!strcmp(c, "relative")) relative();
  else if (!strcmp(c, "child_rm")) child_rm();
  else if (!strcmp(c, "replaced")) replaced();
  else if (!strcmp(c, "unseen_loop")) unseen_loop();
  else if (!strcmp(c, "threads")) threads();
  else if (!strcmp(c, "signal_handler")) signal_handler();
  else if (!strcmp(c, "clean")) clean();
  else if (!strcmp(c, "syscalls")) syscalls();
  else if (!strcmp(c, "relative_left")) relative_left();
  else {
    fprintf(stderr, "unknown case %s\n", c);
    return 2;
  }
  return 0;
}
