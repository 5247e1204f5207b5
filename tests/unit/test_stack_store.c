/* The stack store (shim/stack_store.c), linked in directly: deduplication
 * across threads, records intact, and the layout that keeps a fork's page
 * tables few: the reservation is 2 MB aligned and no record is placed in
 * the id index and hash slots at [512 KB, 2 MB) of it, including when the
 * arena's first part fills up and records go on past the window.  TAP. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "stack_store.h"
#include "tap.h"

uint32_t rc_stack_count(void);

#define WINDOW (2u << 20)
#define INDEX_AT (512u << 10)
#define NSTACKS 6000 /* 6000 records of depth 32 (272 bytes) need 1.6 MB */
#define DEPTH 32

static void stack_of(int i, uintptr_t *pcs)
{
  for (int k = 0; k < DEPTH; k++)
    pcs[k] = 0x400000u + (uintptr_t)i * 4096u + (uintptr_t)k * 8u;
}

static uint32_t ids[NSTACKS];
static uint32_t seen[4][NSTACKS];
static int set_base; /* 0: the first set of stacks, NSTACKS: a second one */

static void *intern_all(void *arg)
{
  uint32_t *out = arg;
  uintptr_t pcs[DEPTH];
  for (int i = 0; i < NSTACKS; i++) {
    stack_of(set_base + i, pcs);
    out[i] = rc_stack_intern((void *const *)pcs, DEPTH);
  }
  return NULL;
}

static void four_threads(void)
{
  pthread_t th[4];
  for (int t = 0; t < 4; t++)
    pthread_create(&th[t], NULL, intern_all, seen[t]);
  for (int t = 0; t < 4; t++)
    pthread_join(th[t], NULL);
}

int main(void)
{
  intern_all(ids);
  int nonzero = 1;
  for (int i = 0; i < NSTACKS; i++)
    nonzero &= ids[i] != 0;
  ok(nonzero, "every stack got an id");
  ok(rc_stack_count() == NSTACKS, "one record per distinct stack");

  /* Four threads look the same stacks up at once: the same ids, no record. */
  four_threads();
  int same = 1;
  for (int t = 0; t < 4; t++)
    same &= memcmp(seen[t], ids, sizeof ids) == 0;
  ok(same, "four threads interning known stacks at once find their ids");
  ok(rc_stack_count() == NSTACKS, "and store nothing new");

  /* Four threads intern new stacks at once: they agree on one id per stack
   * (a racing thread's spare record may stay unused, by design). */
  set_base = NSTACKS;
  four_threads();
  int agree = 1;
  for (int i = 0; i < NSTACKS; i++)
    for (int t = 1; t < 4; t++)
      agree &= seen[t][i] == seen[0][i] && seen[0][i] != 0;
  ok(agree, "four threads interning new stacks at once get one id per stack");
  set_base = 0;

  const struct rc_stack *first = rc_stack_store_get(ids[0]);
  uintptr_t base = (uintptr_t)first & ~(uintptr_t)(WINDOW - 1);
  int intact = 1, outside = 1, past = 0;
  for (int i = 0; i < NSTACKS; i++) {
    const struct rc_stack *r = rc_stack_store_get(ids[i]);
    uintptr_t pcs[DEPTH];
    stack_of(i, pcs);
    if (r == NULL || r->depth != DEPTH || memcmp(r->pc, pcs, sizeof pcs) != 0) {
      intact = 0;
      continue;
    }
    uintptr_t a = (uintptr_t)r - base, end = a + sizeof *r + sizeof pcs;
    if (a < WINDOW && end > INDEX_AT)
      outside = 0;
    past += a >= WINDOW;
  }
  ok(intact, "every record holds its stack");
  ok(outside, "no record overlaps the index at [512 KB, 2 MB) of the reservation");
  ok(past > 0 && past < NSTACKS, "records fill the first part, then go on past the window");
  ok((uintptr_t)first - base < INDEX_AT, "the first record is in the first window");

  return tap_done();
}
