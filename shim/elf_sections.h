/* Sections of an ELF file on disk, by name, decompressed when they are
 * SHF_COMPRESSED (zlib, through libz loaded with dlopen).  For the DWARF
 * line reader (dwarf_lines.c), which runs only off the signal path. */
#ifndef RCLEAK_ELF_SECTIONS_H
#define RCLEAK_ELF_SECTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rc_elf {
  const unsigned char *image; /* the whole file, mapped read-only */
  size_t size;
  const void *shdr;           /* Elf64_Shdr[shnum] */
  unsigned shnum;
  const char *shstr;
  size_t shstr_size;
};

struct rc_section {
  const unsigned char *data; /* NULL when absent */
  size_t size;
};

/* Map `path` and check it is a 64-bit ELF with section headers. */
bool rc_elf_open(struct rc_elf *e, const char *path);
void rc_elf_close(struct rc_elf *e);

/* Whether a section of this name exists (without reading it). */
bool rc_elf_has(const struct rc_elf *e, const char *name);

/* The contents of section `name`, decompressed into a private mapping when
 * compressed; false when absent or unreadable (unknown compression). */
bool rc_elf_section(const struct rc_elf *e, const char *name, struct rc_section *out);

/* The GNU build id note as lowercase hex into buf (2 * bytes + 1); false if
 * none or it does not fit. */
bool rc_elf_build_id(const struct rc_elf *e, char *buf, size_t cap);

#endif
