/* Frames without a frame pointer (CFA = rsp + n), with alloca (CFA = rbp +
 * 16 inside an -fomit-frame-pointer unit) and with over-aligned locals
 * (stack realignment). */
#include <alloca.h>
#include <string.h>

#include "stackwalk_test.h"

volatile int sw_sink;

__attribute__((noinline)) void sw_opt_chain(int n, sw_leaf_fn leaf)
{
  volatile char pad[40];
  pad[0] = (char)n;
  if (n > 0)
    sw_opt_chain(n - 1, leaf);
  else
    leaf();
  sw_sink += pad[0];
}

__attribute__((noinline)) void sw_opt_alloca(int n, sw_leaf_fn leaf)
{
  char *p = alloca((size_t)n * 24 + 8);
  memset(p, n, (size_t)n * 24 + 8);
  if (n > 0)
    sw_opt_alloca(n - 1, leaf);
  else
    leaf();
  sw_sink += p[n];
}

__attribute__((noinline)) void sw_opt_aligned(int n, sw_leaf_fn leaf)
{
  _Alignas(64) volatile char big[256];
  big[n & 255] = (char)n;
  if (n > 0)
    sw_opt_aligned(n - 1, leaf);
  else
    leaf();
  sw_sink += big[n & 255];
}
