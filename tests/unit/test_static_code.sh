#!/bin/bash
# Internal code never calls an interposed libc function by its exported name
# (it would recurse into our own wrapper): it goes through REAL(name) or a raw
# syscall.  Wrapper bodies are allowed to call sibling wrappers only where a
# comment in the wrapper says so (execl -> execv).  umockdev's test-static-code
# does the same.
dir=$1
n=0; fail=0
# calls like "close(" not preceded by REAL( / rc_ / an identifier character / a dot or ->
bad=$(grep -nE '(^|[^A-Za-z0-9_>.])(close|open|open64|openat|dup|dup2|dup3|pipe|pipe2|socket|fopen|fclose|opendir|closedir|fcntl|exit|_exit|execve|timer_create|timer_delete|setitimer|alarm|fork|vfork|waitpid|wait|waitid|pthread_create|pthread_join|mkdtemp|mkstemp|sigaction|signal|popen|pclose|rmdir|unlink|unlinkat|remove|rename|renameat|renameat2|chdir|fchdir)\(' "$dir"/*.c \
  | grep -vE 'wrapper, on purpose|REAL\(|RC_EXPORT|^\S+:[0-9]+:\s*(/\*|\*)|#define|rc_sys_' \
  | grep -vE '^\S+:[0-9]+:\s*X\(' \
  | grep -vE '^\S+:[0-9]+:\s*"' || true) # lines of a string literal (suppression rules) call nothing
n=$((n+1))
if [ -z "$bad" ]; then echo "ok $n - no direct call to an interposed function"; else
  echo "not ok $n - direct calls to interposed functions:"; printf '%s\n' "$bad" | sed 's/^/# /'; fail=1; fi
echo "1..$n"
exit $fail
