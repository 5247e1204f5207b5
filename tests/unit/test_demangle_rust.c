/* rcleak's Rust demangler (shim/demangle_rust.c): hand-picked cases, what
 * must be left alone (C++, malformed, looping backreferences), the output
 * bound, and rust_symbols.tsv: 173 symbols of rustc's own library and of a
 * small program (closures, trait impls, dyn, fn pointers, arrays, consts,
 * backreferences, legacy escapes, cut names), whose expected names are what
 * binutils' c++filt -s rust prints in Rust's alternate form: crate
 * disambiguators, hashes, lifetimes and const types left out. */
#include <stdio.h>
#include <string.h>

#include "symbolize.h"
#include "tap.h"

static void expect(const char *sym, const char *want)
{
  char out[1024], what[2400];
  size_t n = rc_demangle_rust(sym, out, sizeof out);
  bool good = want ? n > 0 && strcmp(out, want) == 0 && n == strlen(out) : n == 0;
  snprintf(what, sizeof what, "%.300s -> %.600s%s%.600s", sym, want ? want : "(left alone)",
           good ? "" : ", got ", good ? "" : (n ? out : "(nothing)"));
  ok(good, what);
}

static void table(const char *path)
{
  FILE *f = fopen(path, "r");
  ok(f != NULL, "rust_symbols.tsv opened");
  if (f == NULL)
    return;
  static char line[16384];
  unsigned lines = 0, good = 0;
  char first_bad[512] = "";
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = '\0';
    char *tab = strchr(line, '\t');
    if (tab == NULL)
      continue;
    *tab = '\0';
    char out[1024];
    size_t n = rc_demangle_rust(line, out, sizeof out);
    lines++;
    if (n > 0 && strcmp(out, tab + 1) == 0)
      good++;
    else if (!first_bad[0])
      snprintf(first_bad, sizeof first_bad, ", first: %.200s -> %.200s", line, n ? out : "");
  }
  fclose(f);
  char what[800];
  snprintf(what, sizeof what, "%u of %u symbols as c++filt reads them%s", good, lines,
           first_bad);
  ok(lines == 173 && good == lines, what);
}

int main(int argc, char **argv)
{
  /* legacy */
  expect("_ZN4leak5store8open_log17h987e56b3b8ef4c78E", "leak::store::open_log");
  expect("_ZN3std2rt10lang_start28_$u7b$$u7b$closure$u7d$$u7d$17h71acb6ed29efb28bE",
         "std::rt::lang_start::{{closure}}");
  expect("_ZN4leak4main17h68d97aefc12db3cbE.llvm.3643936799275306673", "leak::main");
  expect("_ZN3std4path77_$LT$impl$u20$core..convert..AsRef$LT$std..path..Path$GT$$u20$for$u20$"
         "str$GT$6as_ref17hbb523fef07de38f9E",
         "std::path::<impl core::convert::AsRef<std::path::Path> for str>::as_ref");
  /* v0 */
  expect("_RNvMsi_NtNtNtCsjrHSEGnQ3l9_3std3sys2fs4unixNtB5_4File6open_c",
         "<std::sys::fs::unix::File>::open_c");
  expect("_RNvMsi_NtNtNtCsjrHSEGnQ3l9_3std3sys2fs4unixNtB5_4File6open_c.llvm.3643936799275306673",
         "<std::sys::fs::unix::File>::open_c");
  expect("_RNvNvMs0_NtNtNtCsjrHSEGnQ3l9_3std3sys6thread4unixNtB7_6Thread3new12thread_start",
         "<std::sys::thread::unix::Thread>::new::thread_start");
  expect("_RINvMNtCsgEmfK2I1SDS_4core3stre18trim_start_matchesReECsgY6Mt91CT9J_14rustc_demangle",
         "<str>::trim_start_matches::<&str>");
  /* not Rust, or not readable: left to the caller */
  expect("_ZN4node5StartEiPPc", NULL);
  expect("_ZN3foo3barE", NULL);
  expect("main", NULL);
  expect("_R", NULL);
  expect("_RNvC", NULL);
  expect("_RNvB_3foo", NULL); /* a backreference to itself: must end */
  expect("_RNvB9_3foo", NULL); /* one forward */
  char deep[512] = "_R"; /* well formed, but nested past the bound */
  for (int i = 0; i < 100; i++)
    strcat(deep, "Nv");
  strcat(deep, "C3foo");
  for (int i = 0; i < 100; i++)
    strcat(deep, "1a");
  expect(deep, NULL);
  deep[2 + 2 * 50] = '\0'; /* 50 levels: within it */
  strcat(deep, "C3foo");
  for (int i = 0; i < 50; i++)
    strcat(deep, "1a");
  char want[512] = "foo";
  for (int i = 0; i < 50; i++)
    strcat(want, "::a");
  expect(deep, want);
  /* a small buffer: cut, ending in "...", never past it */
  char small[16];
  size_t n = rc_demangle_rust("_RNvMsi_NtNtNtCsjrHSEGnQ3l9_3std3sys2fs4unixNtB5_4File6open_c",
                              small, sizeof small);
  ok(n > 3 && n < sizeof small && strcmp(small + n - 3, "...") == 0 &&
         strncmp(small, "<std::sys::fs::unix::File>::open_c", n - 3) == 0,
     "a name longer than the buffer is cut with \"...\"");
  table(argc > 1 ? argv[1] : "rust_symbols.tsv");
  return tap_done();
}
