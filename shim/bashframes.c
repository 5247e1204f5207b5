/* bash frames in acquisition stacks (see scriptframes.h).
 *
 * bash exports its internals for loadable builtins, among them
 * executing_line_number(), find_variable() and array_reference(): the same
 * calls its `caller` builtin makes.  The script's call stack is what
 * FUNCNAME, BASH_SOURCE and BASH_LINENO hold (bash pushes onto them on
 * every function call and `source`): frame i runs FUNCNAME[i] in
 * BASH_SOURCE[i], at the current line for the innermost and at
 * BASH_LINENO[i-1] for the others; outside any function the one frame is
 * "main".  Reading them allocates nothing and changes no shell state; bash
 * is single-threaded and an acquisition happens where it runs a command
 * (a fork, a redirection, a pipe), never inside a variable lookup. */
#include <stdlib.h>
#include <string.h>

#include "rc.h"
#include "scriptframes.h"

/* SHELL_VAR (variables.h, bash 3-5): name, value, exportstr, dynamic_value,
 * assign_func, then int attributes; an array's value is its ARRAY. */
struct rc_bash_var {
  void *name_value[2]; /* name, value */
  // cppcheck-suppress unusedStructMember
  void *skipped[3];    /* exportstr, dynamic_value, assign_func */
  int attributes;
};
#define RC_BASH_ATT_ARRAY 0x4

static struct {
  int (*line)(void);
  struct rc_bash_var *(*find)(const char *);
  char *(*at)(void *array, intmax_t i);
} rc_bash;

bool rc_bash_detect(const void *executing_line_number)
{
  rc_bash.line = (int (*)(void))(uintptr_t)executing_line_number;
  rc_bash.find = (struct rc_bash_var * (*)(const char *))(uintptr_t)rc_sf_symbol("find_variable");
  rc_bash.at = (char *(*)(void *, intmax_t))(uintptr_t)rc_sf_symbol("array_reference");
  return rc_bash.line != NULL && rc_bash.find != NULL && rc_bash.at != NULL &&
         rc_sf_symbol("this_shell_function") != NULL;
}

static void *array_of(const char *name)
{
  struct rc_bash_var *v = rc_bash.find(name);
  return v != NULL && (v->attributes & RC_BASH_ATT_ARRAY) ? v->name_value[1] : NULL;
}

static const char *element(void *array, intmax_t i)
{
  return array != NULL ? rc_bash.at(array, i) : NULL;
}

int rc_bash_capture(uintptr_t *out, int max)
{
  int saved = errno;
  if (!rc_sf_lock()) {
    errno = saved;
    return 0;
  }
  int line = rc_bash.line();
  void *funcs = array_of("FUNCNAME"), *files = array_of("BASH_SOURCE");
  void *lines = array_of("BASH_LINENO");
  int n = 0;
  for (intmax_t i = 0; n < max; i++) {
    const char *func = element(funcs, i);
    if (func == NULL && i > 0)
      break;
    const char *file = element(files, i);
    const char *at = i > 0 ? element(lines, i - 1) : NULL;
    int l = i == 0 ? line : at != NULL ? (int)strtol(at, NULL, 10) : 0;
    if (func == NULL)
      func = "main";
    if (file == NULL || *file == '\0')
      file = "<bash -c>"; /* a command string, not a file */
    uint32_t id = rc_sf_intern(RC_LANG_BASH, file, strlen(file), func, strlen(func), l);
    if (id != 0)
      out[n++] = RC_SF_TAG | id;
  }
  rc_sf_unlock();
  errno = saved;
  return n;
}

/* bash 5.1 and later keep the children of their process substitutions in
 * `procsubs` (jobs.c): `cmd <(producer)`, `tee >(gzip >log.gz)`,
 * `exec > >(tee log)`.  bash never waits for them before it exits; they
 * finish on their own once it has (a consumer reads to the end of what the
 * script wrote).  The layouts, unchanged since 5.1 (jobs.h):
 * struct procchain {PROCESS *head, *end; int nproc;} and PROCESS
 * {struct process *next; pid_t pid; WAIT status; int running; ...}, a list
 * ended by NULL; one bash reaped (running PS_DONE, 0) stays until pruned,
 * and its pid may be a new child's by now.  bash changes it with SIGCHLD
 * blocked and frees a node only after unlinking it, so a walk from a signal
 * handler meets linked nodes only; nproc bounds it. */
struct rc_bash_process {
  struct rc_bash_process *next;
  int pid;
  // cppcheck-suppress unusedStructMember
  int status;
  int running;
};
struct rc_bash_procchain {
  struct rc_bash_process *head;
  // cppcheck-suppress unusedStructMember
  struct rc_bash_process *end;
  int nproc;
};
#define RC_BASH_PROCSUBS_MAX 4096

/* bash's job-control state, looked up at the first question (a report,
 * a handover), not at start-up: `procsubs` only in a bash whose layout is
 * the one above, 5.1 (which added it) to 5.x (dist_version, "5.2"), since
 * another major version may have changed it and a pointer read wrong would
 * crash the program at its exit; get_job_by_pid(pid, block, procp), the
 * lookup bash's `wait` and `disown` builtins make (bash 4 takes two
 * arguments; a third is ignored there). */
static struct {
  bool looked;
  const struct rc_bash_procchain *procsubs;
  int (*job_of)(int pid, int block, void *procp);
} rc_bash_jobs;

static void jobs_lookup(void)
{
  if (rc_bash_jobs.looked)
    return;
  if (rc_sf_detect() == RC_LANG_BASH) {
    const char *const *dv = rc_sf_symbol("dist_version");
    const char *v = dv != NULL ? *dv : NULL;
    if (v != NULL && v[0] == '5' && v[1] == '.' && v[2] >= '1' && v[2] <= '9')
      rc_bash_jobs.procsubs = rc_sf_symbol("procsubs");
    rc_bash_jobs.job_of = (int (*)(int, int, void *))(uintptr_t)rc_sf_symbol("get_job_by_pid");
  }
  rc_bash_jobs.looked = true;
}

bool rc_bash_procsub(int pid)
{
  jobs_lookup();
  const struct rc_bash_procchain *chain = rc_bash_jobs.procsubs;
  if (chain == NULL)
    return false;
  int n = chain->nproc;
  const struct rc_bash_process *p = chain->head;
  for (int i = 0; p != NULL && i < n && i < RC_BASH_PROCSUBS_MAX; i++, p = p->next) {
    if (((uintptr_t)p & (sizeof(void *) - 1)) != 0)
      return false;
    if (p->pid == pid && p->running != 0)
      return true;
  }
  return false;
}

/* `cmd & disown`: a child of ours that no job holds any more. */
bool rc_bash_disowned(int pid, bool own)
{
  jobs_lookup();
  return own && rc_bash_jobs.job_of != NULL && rc_bash_jobs.job_of(pid, 0, NULL) < 0;
}
