/* file:line from a module's DWARF 5 line tables, read directly.
 *
 * Why not libdw alone: opening a module's DWARF with libdw decompresses every
 * debug section up front.  For glibc's separate debug file (libc6-dbg) that
 * is ~10 MB inflated, ~17 MB of peak memory and ~70 ms, in every process
 * that reports a leak (every stack ends in __libc_start_main).  A line
 * lookup needs only .debug_line and its strings (1.3 MB for glibc).
 *
 * The answers are libdw's (dwfl_module_getsrc + dwfl_lineinfo +
 * dwfl_line_comp_dir, as lines.c used them): the DWARF file is the module
 * itself when it has DWARF, else the build-id debug file; the row is the one
 * with the highest address <= addr in the sequence covering addr, ties to
 * the last; the file name is directory + "/" + name as libdw composes it,
 * and directory 0 is the compilation directory.  Whatever this reader cannot
 * answer the same way for certain (DWARF < 5, other debug file locations,
 * overlapping sequences, a gap next to a row at a sequence's end address,
 * strx forms, VLIW, zstd) it leaves to libdw, and lines.c asks libdw.
 * Checked against libdw 0.188 at every address of glibc, librcleak and the
 * test programs (scripts in the commit that added this file). */
#ifndef RCLEAK_DWARF_LINES_H
#define RCLEAK_DWARF_LINES_H

#include <stddef.h>
#include <stdint.h>

struct rc_dwl; /* one module's line tables */

/* Open the line tables of the module at `path` whose GNU build id is
 * `build_id` (hex, may be NULL); NULL when libdw must be asked instead. */
struct rc_dwl *rc_dwl_open(const char *path, const char *build_id);

/* Look up `addr` (an ELF virtual address of the module):
 *  1: *file ("dir/name" as libdw composes it, in `buf`), *line, *comp_dir
 *     (the compilation directory, or NULL) are set;
 *  0: no line for this address;
 * -1: cannot tell the same way libdw would: ask libdw. */
int rc_dwl_lookup(struct rc_dwl *m, uint64_t addr, char *buf, size_t cap, const char **file,
                  int *line, const char **comp_dir);

#endif
