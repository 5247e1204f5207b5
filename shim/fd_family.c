/* The descriptor family at exit: reconcile the registry with the kernel's
 * /proc/self/fd (kernel truth beats bookkeeping), and describe each leaked
 * descriptor.  Async-signal-safe: raw system calls and the report arena. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include "arena.h"
#include "fdtable.h"
#include "leaks.h"
#include "options.h"
#include "procfs.h"
#include "rc.h"
#include "real.h"
#include "signal_hook.h"

enum rc_fd_type {
  RC_FT_FILE, RC_FT_DIR, RC_FT_CHARDEV, RC_FT_BLOCKDEV, RC_FT_SOCKET, RC_FT_PIPE,
  RC_FT_FIFO, RC_FT_EVENTFD, RC_FT_TIMERFD, RC_FT_SIGNALFD, RC_FT_EPOLL, RC_FT_INOTIFY,
  RC_FT_MEMFD, RC_FT_PIDFD, RC_FT_OTHER
};

static const char *const rc_fd_type_names[] = {
  "file", "dir", "chardev", "blockdev", "socket", "pipe", "fifo", "eventfd",
  "timerfd", "signalfd", "epoll", "inotify", "memfd", "pidfd", "other",
};

static void put_port(struct rc_strbuf *b, unsigned port)
{
  rc_sb_putc(b, ':');
  rc_sb_putu(b, port);
}

static void put_ipv4(struct rc_strbuf *b, const struct in_addr *a)
{
  const unsigned char *p = (const unsigned char *)&a->s_addr;
  for (int i = 0; i < 4; i++) {
    if (i)
      rc_sb_putc(b, '.');
    rc_sb_putu(b, p[i]);
  }
}

/* RFC 5952 text form, written by hand: inet_ntop is not async-signal-safe. */
static void put_ipv6(struct rc_strbuf *b, const struct in6_addr *a)
{
  unsigned w[8];
  for (int i = 0; i < 8; i++)
    w[i] = (unsigned)a->s6_addr[2 * i] << 8 | a->s6_addr[2 * i + 1];
  if (w[0] == 0 && w[1] == 0 && w[2] == 0 && w[3] == 0 && w[4] == 0 && w[5] == 0xffff) {
    rc_sb_puts(b, "::ffff:");
    struct in_addr v4;
    memcpy(&v4, &a->s6_addr[12], 4);
    put_ipv4(b, &v4);
    return;
  }
  int best = -1, bestlen = 1;
  for (int i = 0; i < 8;) {
    int j = i;
    while (j < 8 && w[j] == 0)
      j++;
    if (j - i > bestlen) {
      best = i;
      bestlen = j - i;
    }
    i = j == i ? i + 1 : j;
  }
  for (int i = 0; i < 8; i++) {
    if (i == best) {
      rc_sb_puts(b, "::");
      i += bestlen - 1;
      continue;
    }
    if (i && i != best + bestlen)
      rc_sb_putc(b, ':');
    char h[4];
    int k = 0;
    bool lead = true;
    for (int s = 12; s >= 0; s -= 4) {
      unsigned d = (w[i] >> s) & 15;
      if (d == 0 && lead && s)
        continue;
      lead = false;
      h[k++] = "0123456789abcdef"[d];
    }
    rc_sb_putn(b, h, (size_t)k);
  }
}

static bool put_sockaddr(struct rc_strbuf *b, const struct sockaddr_storage *ss, socklen_t len)
{
  switch (ss->ss_family) {
  case AF_INET: {
    const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
    put_ipv4(b, &in->sin_addr);
    put_port(b, ntohs(in->sin_port));
    return true;
  }
  case AF_INET6: {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
    rc_sb_putc(b, '[');
    put_ipv6(b, &in6->sin6_addr);
    rc_sb_putc(b, ']');
    put_port(b, ntohs(in6->sin6_port));
    return true;
  }
  case AF_UNIX: {
    const struct sockaddr_un *un = (const struct sockaddr_un *)ss;
    size_t n = len > offsetof(struct sockaddr_un, sun_path)
                   ? len - offsetof(struct sockaddr_un, sun_path) : 0;
    if (n == 0)
      return false; /* unnamed */
    if (un->sun_path[0] == '\0') {
      rc_sb_putc(b, '@');
      rc_sb_putn(b, un->sun_path + 1, n - 1);
    } else {
      rc_sb_putn(b, un->sun_path, strnlen(un->sun_path, n));
    }
    return true;
  }
  default:
    return false;
  }
}

static const char *family_name(int af)
{
  switch (af) {
  case AF_INET: return "AF_INET";
  case AF_INET6: return "AF_INET6";
  case AF_UNIX: return "AF_UNIX";
  case AF_NETLINK: return "AF_NETLINK";
  case AF_PACKET: return "AF_PACKET";
  default: return NULL;
  }
}

/* "AF_INET 127.0.0.1:5000 <-> 127.0.0.1:41234", "AF_UNIX /run/x.sock". */
static void describe_socket(int fd, struct rc_strbuf *b, const char *link)
{
  struct sockaddr_storage self, peer;
  socklen_t sl = sizeof self, pl = sizeof peer;
  memset(&self, 0, sizeof self);
  memset(&peer, 0, sizeof peer);
  if (getsockname(fd, (struct sockaddr *)&self, &sl) != 0 || family_name(self.ss_family) == NULL) {
    rc_sb_puts(b, link);
    return;
  }
  rc_sb_puts(b, family_name(self.ss_family));
  struct rc_strbuf local;
  char lbuf[256];
  rc_sb_init(&local, lbuf, sizeof lbuf);
  bool have_local = put_sockaddr(&local, &self, sl);
  bool have_peer = getpeername(fd, (struct sockaddr *)&peer, &pl) == 0;
  if (have_local) {
    rc_sb_putc(b, ' ');
    rc_sb_puts(b, rc_sb_cstr(&local));
  }
  if (have_peer) {
    struct rc_strbuf rb;
    char pbuf[256];
    rc_sb_init(&rb, pbuf, sizeof pbuf);
    if (put_sockaddr(&rb, &peer, pl)) {
      rc_sb_puts(b, " <-> ");
      rc_sb_puts(b, rc_sb_cstr(&rb));
    }
  }
}

static bool starts(const char *s, const char *prefix)
{
  return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* /proc/self/fd, opened by the first leak to describe: a clean exit never
 * touches /proc (the open set comes from rc_proc_each_fd). */
static int rc_fd_dir = -1;

static void describe_fd(int fd, struct rc_leak *lk, struct stat *stp)
{
  char name[16], link[4096];
  struct rc_strbuf pb;
  rc_sb_init(&pb, name, sizeof name);
  rc_sb_putu(&pb, (unsigned)fd);
  rc_sb_cstr(&pb);
  /* relative to an open /proc/self/fd: no path walk per descriptor */
  if (rc_fd_dir < 0)
    rc_fd_dir = rc_sys_open("/proc/self/fd", O_PATH | O_DIRECTORY, 0);
  ssize_t n = readlinkat(rc_fd_dir, name, link, sizeof link - 1);
  link[n > 0 ? n : 0] = '\0';

  struct stat st = {0};
  enum rc_fd_type t = RC_FT_OTHER;
  if (fstat(fd, &st) == 0) {
    if (S_ISREG(st.st_mode))
      t = starts(link, "/memfd:") ? RC_FT_MEMFD : RC_FT_FILE;
    else if (S_ISDIR(st.st_mode))
      t = RC_FT_DIR;
    else if (S_ISCHR(st.st_mode))
      t = RC_FT_CHARDEV;
    else if (S_ISBLK(st.st_mode))
      t = RC_FT_BLOCKDEV;
    else if (S_ISSOCK(st.st_mode))
      t = RC_FT_SOCKET;
    else if (S_ISFIFO(st.st_mode))
      t = starts(link, "pipe:") ? RC_FT_PIPE : RC_FT_FIFO;
  }
  if (t == RC_FT_OTHER || t == RC_FT_FILE) {
    if (starts(link, "anon_inode:[eventfd]"))
      t = RC_FT_EVENTFD;
    else if (starts(link, "anon_inode:[timerfd]"))
      t = RC_FT_TIMERFD;
    else if (starts(link, "anon_inode:[signalfd]"))
      t = RC_FT_SIGNALFD;
    else if (starts(link, "anon_inode:[eventpoll]"))
      t = RC_FT_EPOLL;
    else if (starts(link, "anon_inode:inotify"))
      t = RC_FT_INOTIFY;
    else if (starts(link, "anon_inode:[pidfd]"))
      t = RC_FT_PIDFD;
    else if (starts(link, "anon_inode:"))
      t = RC_FT_OTHER;
  }
  lk->u.fd.fd = fd;
  lk->u.fd.type = (uint8_t)t;
  long fl = rc_syscall(SYS_fcntl, fd, F_GETFD);
  lk->u.fd.cloexec = fl >= 0 && (fl & FD_CLOEXEC);
  lk->u.fd.armed = -1;
  if (t == RC_FT_TIMERFD) {
    struct itimerspec its;
    if (timerfd_gettime(fd, &its) == 0)
      lk->u.fd.armed = its.it_value.tv_sec != 0 || its.it_value.tv_nsec != 0;
  }
  if (t == RC_FT_SOCKET) {
    struct rc_strbuf sb;
    char sbuf[600];
    rc_sb_init(&sb, sbuf, sizeof sbuf);
    describe_socket(fd, &sb, link);
    lk->target = rc_arena_strdup(rc_sb_cstr(&sb));
  } else {
    lk->target = rc_arena_strdup(link);
  }
  *stp = st;
}

/* Shells keep the script they are reading open until they exit (bash on fd
 * 255, dash on fd 10+), with CLOEXEC, and perl and ruby keep theirs for
 * DATA: that is the interpreter's program, not a leak.  Recognised in those
 * interpreters only, by identity: a CLOEXEC regular file that is the same
 * file (device and inode) as the process's first argument that names a
 * regular file (`bash -e script.sh data.txt`: the script, not the data,
 * which a program given it may well leak).  The arguments are looked at once
 * per report. */
#define RC_MAX_ARG_IDS 1
static struct { dev_t dev; ino_t ino; } rc_arg_ids[RC_MAX_ARG_IDS];
static int rc_narg_ids = -1;

static bool is_script_interpreter(void)
{
  static const char *const names[] = {"sh",   "bash", "dash",   "zsh",  "ksh",  "ksh93",
                                      "mksh", "ash",  "busybox", "yash", "posh", "perl",
                                      "ruby"};
  char exe[PATH_MAX];
  ssize_t n = rc_readlink("/proc/self/exe", exe, sizeof exe);
  if (n <= 0)
    return false;
  const char *base = strrchr(exe, '/');
  base = base ? base + 1 : exe;
  size_t len = strcspn(base, "0123456789."); /* perl5.36.0, ruby3.1 */
  for (size_t i = 0; i < RC_ARRAY_SIZE(names); i++)
    if (strlen(names[i]) == len && strncmp(base, names[i], len) == 0)
      return true;
  return false;
}

static void load_arg_ids(void)
{
  static char args[8192] RC_LARGE;
  rc_narg_ids = 0;
  if (!is_script_interpreter())
    return;
  ssize_t n = rc_read_file("/proc/self/cmdline", args, sizeof args);
  size_t first = strlen(args) + 1; /* skip argv[0], the interpreter itself */
  for (size_t i = first; n > 0 && i < (size_t)n && rc_narg_ids < RC_MAX_ARG_IDS;
       i += strlen(args + i) + 1) {
    struct stat a;
    if (args[i] && stat(args + i, &a) == 0 && S_ISREG(a.st_mode)) {
      rc_arg_ids[rc_narg_ids].dev = a.st_dev;
      rc_arg_ids[rc_narg_ids].ino = a.st_ino;
      rc_narg_ids++;
    }
  }
}

static bool is_interpreter_script(const struct rc_leak *lk, const struct stat *st)
{
  if (lk->u.fd.type != RC_FT_FILE || !lk->u.fd.cloexec)
    return false;
  if (rc_narg_ids < 0)
    load_arg_ids();
  for (int i = 0; i < rc_narg_ids; i++)
    if (rc_arg_ids[i].dev == st->st_dev && rc_arg_ids[i].ino == st->st_ino)
      return true;
  return false;
}

/* Whether path names a shared object: "x.so" or "x.so.N..." by its last
 * component. */
static bool is_shared_object(const char *path)
{
  const char *base = strrchr(path, '/');
  const char *so = strstr(base ? base : path, ".so");
  return so != NULL && (so[3] == '\0' || so[3] == '.');
}

/* A signal can end a process in the middle of libc's own work: reading a
 * locale, gconv's cache, nsswitch.conf, /proc or /sys, or the dynamic
 * loader mapping a library (an interpreter importing an extension module),
 * through internal opens no interposer sees, each closed before the call
 * returns.  In a report made because a signal is ending the process, an
 * untracked descriptor of such a system file or of a shared object is that
 * work in flight, not a leak (it made CI runs that kill a child just after
 * its exec fail now and then).  At exit, and for the program's own files,
 * untracked ones are reported. */
static bool in_flight_system_file(const struct rc_leakset *ls, const struct rc_leak *lk)
{
  /* "/dev/shm/sem.": the file of a POSIX named semaphore, which glibc's
   * sem_open opens, maps and closes (Python's multiprocessing locks) */
  static const char *const dirs[] = {"/usr/", "/etc/", "/proc/", "/sys/", "/lib", "/dev/shm/sem."};
  if (!ls->by_signal || !(lk->flags & RC_LEAK_UNTRACKED) || lk->target == NULL)
    return false;
  for (size_t i = 0; i < RC_ARRAY_SIZE(dirs); i++)
    if (starts(lk->target, dirs[i]))
      return true;
  return is_shared_object(lk->target);
}

/* Asked once, and only for a signal's report that finds an untracked
 * descriptor: the walk of the interrupted thread is not made otherwise. */
static bool in_wrapper_call(struct rc_leakset *ls)
{
  if (ls->in_wrapper_call < 0)
    ls->in_wrapper_call =
        ls->ucontext != NULL && rc_signal_in_wrapper_call(ls->ucontext, ls->in_flight_fd);
  return ls->in_wrapper_call > 0;
}

static bool count_task(const char *name, unsigned char type, void *arg)
{
  (void)name;
  (void)type;
  return ++*(int *)arg < 2;
}

/* Other threads run on while the report is made (at exit, and while a
 * signal's handler makes it): one of them may be between the system call
 * that made a descriptor and the record of it.  So in a process with other
 * threads an untracked descriptor is looked up again every millisecond
 * until it is recorded or closed, for at most 50 ms in the whole report (a
 * wrapper records in well under a microsecond; the rest is for a thread a
 * busy machine preempted there): recorded meanwhile, it is reported as a
 * tracked one (and a rule may hide it); closed meanwhile, it was no leak.
 * A Manager's server exiting while a daemon thread opened a source file for
 * a traceback showed that file as untracked in one run of 60.  A process
 * with one thread, or with none untracked, never pauses. */
#define RC_SETTLE_MS 50

static bool fd_open(int fd)
{
  return rc_syscall(SYS_fcntl, fd, F_GETFD) >= 0;
}

static bool settle_untracked(struct rc_leakset *ls, int fd, struct rc_fd_entry *e)
{
  if (ls->other_threads == 0) {
    int n = 0;
    (void)rc_dir_each(AT_FDCWD, "/proc/self/task", false, count_task, &n);
    ls->other_threads = n > 1 ? 1 : -1;
  }
  if (ls->other_threads < 0)
    return false;
  while (ls->settle_ms < RC_SETTLE_MS && fd_open(fd) && !rc_fd_lookup(fd, e)) {
    struct timespec ts = {0, 1000000};
    while (rc_syscall(SYS_nanosleep, &ts, &ts) != 0 && errno == EINTR) {
    }
    ls->settle_ms++;
  }
  return rc_fd_lookup(fd, e);
}

RC_HOT static void collect_one(int fd, void *arg)
{
  struct rc_leakset *ls = arg;
  struct rc_fd_entry e;
  if (fd == rc_fd_dir || rc_fd_is_own(fd))
    return;
  bool known = rc_fd_lookup(fd, &e);
  if (!known && !ls->interrupted_rcleak && fd != ls->in_flight_fd) {
    known = settle_untracked(ls, fd, &e);
    if (!known && ls->other_threads > 0 && !fd_open(fd))
      return; /* closed while the report paused */
  }
  if (known && e.state == RC_FD_INTERNAL)
    return;
  /* A descriptor the interrupted wrapper's real call has just made is not
   * recorded yet: from inside rcleak or a call its wrapper made, no
   * untracked one can be told from it; from a system call's return, it is
   * the one the call returned. */
  if (!known && (ls->interrupted_rcleak || fd == ls->in_flight_fd || in_wrapper_call(ls)))
    return;
  bool inherited = known && (e.state == RC_FD_INHERITED || e.owner != rc_pid);
  if ((inherited || fd <= 2) && !rc_options.report_inherited)
    return;
  struct rc_leak *lk = rc_leak_add(ls, RC_KIND_FD);
  if (lk == NULL)
    return;
  if (known && e.state == RC_FD_LIVE) {
    lk->fn = e.fn;
    lk->tid = e.tid;
    lk->t_ns = e.t_ns;
    if (e.flags & RC_FDF_ACROSS_EXEC)
      lk->flags |= RC_LEAK_ACROSS_EXEC;
    if (e.flags & RC_FDF_FOREIGN_STACK)
      lk->flags |= RC_LEAK_FOREIGN_STACK;
    lk->stack_id = rc_leak_stack_id(e.stack_id, lk->flags);
  } else if (!known) {
    lk->flags |= RC_LEAK_UNTRACKED;
  }
  struct stat st;
  describe_fd(fd, lk, &st);
  if (is_interpreter_script(lk, &st) || in_flight_system_file(ls, lk))
    ls->n--; /* the record just added: not a leak after all */
}

RC_HOT static void fd_collect(struct rc_leakset *ls)
{
  rc_proc_each_fd(collect_one, ls, rc_fd_registered);
  rc_sys_close(rc_fd_dir);
  rc_fd_dir = -1;
}

static void fd_json(struct rc_strbuf *o, const struct rc_leak *lk)
{
  rc_sb_puts(o, "\"fd\": ");
  rc_sb_puti(o, lk->u.fd.fd);
  rc_sb_puts(o, ", \"type\": \"");
  rc_sb_puts(o, rc_fd_type_names[lk->u.fd.type]);
  rc_sb_puts(o, "\", \"target\": ");
  rc_sb_put_json_str(o, lk->target ? lk->target : "");
  rc_sb_puts(o, ", \"cloexec\": ");
  rc_sb_puts(o, lk->u.fd.cloexec ? "true" : "false");
  if (lk->u.fd.armed >= 0) {
    rc_sb_puts(o, ", \"armed\": ");
    rc_sb_puts(o, lk->u.fd.armed ? "true" : "false");
  }
}

static void fd_describe(struct rc_strbuf *o, const struct rc_leak *lk)
{
  rc_sb_puts(o, "fd ");
  rc_sb_puti(o, lk->u.fd.fd);
  rc_sb_puts(o, ": ");
  rc_sb_puts(o, rc_fd_type_names[lk->u.fd.type]);
  if (lk->target && *lk->target) {
    rc_sb_putc(o, ' ');
    rc_sb_puts(o, lk->target);
  }
  if (lk->u.fd.armed == 1)
    rc_sb_puts(o, " (armed)");
}

const struct rc_family rc_family_fd = {
  .kind = RC_KIND_FD,
  .noun = "file descriptor",
  .plural = "file descriptors",
  .collect = fd_collect,
  .clean = NULL, /* descriptors die with the process; nothing to clean */
  .json_fields = fd_json,
  .describe = fd_describe,
};
