/* Frames with a frame pointer, as -O0 code has them (CFA = rbp + 16). */
#include "stackwalk_test.h"

void sw_fp_chain(int n, sw_leaf_fn leaf)
{
  if (n > 0)
    sw_fp_chain(n - 1, leaf);
  else
    leaf();
}
