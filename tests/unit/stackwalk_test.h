/* Shared between the stack-walker test's translation units, which are
 * compiled with different optimisation and frame-pointer settings so the
 * walker meets both kinds of CFA rules. */
#ifndef STACKWALK_TEST_H
#define STACKWALK_TEST_H

typedef void (*sw_leaf_fn)(void);
/* -O2 -fomit-frame-pointer (stackwalk_opt.c) */
void sw_opt_chain(int n, sw_leaf_fn leaf);
void sw_opt_alloca(int n, sw_leaf_fn leaf);
void sw_opt_aligned(int n, sw_leaf_fn leaf);
/* -O0 -fno-omit-frame-pointer (stackwalk_fp.c) */
void sw_fp_chain(int n, sw_leaf_fn leaf);

#endif
