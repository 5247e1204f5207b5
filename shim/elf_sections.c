/* ELF sections by name, decompressed on demand (see elf_sections.h). */
#include "elf_sections.h"

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "procfs.h"

static bool in_file(const struct rc_elf *e, uint64_t off, uint64_t len)
{
  return off <= e->size && len <= e->size - off;
}

bool rc_elf_open(struct rc_elf *e, const char *path)
{
  memset(e, 0, sizeof *e);
  int fd = rc_sys_open(path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0)
    return false;
  struct stat st;
  void *img = MAP_FAILED;
  if (fstat(fd, &st) == 0 && st.st_size >= (off_t)sizeof(Elf64_Ehdr))
    img = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  rc_sys_close(fd);
  if (img == MAP_FAILED)
    return false;
  e->image = img;
  e->size = (size_t)st.st_size;
  const Elf64_Ehdr *eh = img;
  if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
      eh->e_ident[EI_DATA] != ELFDATA2LSB || eh->e_shentsize != sizeof(Elf64_Shdr) ||
      eh->e_shoff == 0 || eh->e_shstrndx >= eh->e_shnum ||
      !in_file(e, eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr))) {
    rc_elf_close(e);
    return false;
  }
  const Elf64_Shdr *sh = (const Elf64_Shdr *)(e->image + eh->e_shoff);
  const Elf64_Shdr *strs = &sh[eh->e_shstrndx];
  if (!in_file(e, strs->sh_offset, strs->sh_size)) {
    rc_elf_close(e);
    return false;
  }
  e->shdr = sh;
  e->shnum = eh->e_shnum;
  e->shstr = (const char *)(e->image + strs->sh_offset);
  e->shstr_size = strs->sh_size;
  return true;
}

void rc_elf_close(struct rc_elf *e)
{
  if (e->image)
    munmap((void *)e->image, e->size);
  memset(e, 0, sizeof *e);
}

static const Elf64_Shdr *find(const struct rc_elf *e, const char *name)
{
  const Elf64_Shdr *sh = e->shdr;
  size_t len = strlen(name);
  for (unsigned i = 0; i < e->shnum; i++) {
    if (sh[i].sh_name >= e->shstr_size || e->shstr_size - sh[i].sh_name <= len)
      continue;
    if (memcmp(e->shstr + sh[i].sh_name, name, len + 1) == 0)
      return &sh[i];
  }
  return NULL;
}

bool rc_elf_has(const struct rc_elf *e, const char *name)
{
  const Elf64_Shdr *s = find(e, name);
  return s != NULL && s->sh_type != SHT_NOBITS;
}

/* zlib, loaded on first need (libdw depends on it, so it is there whenever
 * file:line is wanted at all). */
struct rc_zlib {
  int (*init)(z_stream *, const char *, int);
  int (*inflate)(z_stream *, int);
  int (*end)(z_stream *);
};

static const struct rc_zlib *zlib(void)
{
  static struct rc_zlib z;
  static int state; /* 0 untried, 1 ok, -1 unavailable */
  if (state == 0) {
    state = -1;
    void *h = dlopen("libz.so.1", RTLD_NOW | RTLD_LOCAL);
    if (h != NULL) {
      z.init = (__typeof__(z.init))dlsym(h, "inflateInit_");
      z.inflate = (__typeof__(z.inflate))dlsym(h, "inflate");
      z.end = (__typeof__(z.end))dlsym(h, "inflateEnd");
      if (z.init && z.inflate && z.end)
        state = 1;
    }
  }
  return state > 0 ? &z : NULL;
}

static bool decompress(const unsigned char *src, size_t len, struct rc_section *out)
{
  const Elf64_Chdr *ch = (const Elf64_Chdr *)src;
  const struct rc_zlib *z = zlib();
  if (len < sizeof *ch || ch->ch_type != ELFCOMPRESS_ZLIB || z == NULL || ch->ch_size == 0 ||
      ch->ch_size > (1ull << 32))
    return false;
  size_t size = (size_t)ch->ch_size;
  unsigned char *dst = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (dst == MAP_FAILED)
    return false;
  z_stream s;
  memset(&s, 0, sizeof s);
  bool ok = false;
  if (z->init(&s, ZLIB_VERSION, (int)sizeof s) == Z_OK) {
    s.next_in = (unsigned char *)(src + sizeof *ch);
    s.avail_in = (uInt)(len - sizeof *ch);
    s.next_out = dst;
    s.avail_out = (uInt)size;
    ok = z->inflate(&s, Z_FINISH) == Z_STREAM_END && s.total_out == size;
    z->end(&s);
  }
  if (!ok) {
    munmap(dst, size);
    return false;
  }
  out->data = dst;
  out->size = size;
  return true;
}

bool rc_elf_section(const struct rc_elf *e, const char *name, struct rc_section *out)
{
  out->data = NULL;
  out->size = 0;
  const Elf64_Shdr *s = find(e, name);
  if (s == NULL || s->sh_type == SHT_NOBITS || !in_file(e, s->sh_offset, s->sh_size))
    return false;
  const unsigned char *p = e->image + s->sh_offset;
  if (s->sh_flags & SHF_COMPRESSED)
    return decompress(p, s->sh_size, out);
  out->data = p;
  out->size = s->sh_size;
  return true;
}

bool rc_elf_build_id(const struct rc_elf *e, char *buf, size_t cap)
{
  const Elf64_Shdr *sh = e->shdr;
  for (unsigned i = 0; i < e->shnum; i++) {
    if (sh[i].sh_type != SHT_NOTE || !in_file(e, sh[i].sh_offset, sh[i].sh_size))
      continue;
    const unsigned char *p = e->image + sh[i].sh_offset, *end = p + sh[i].sh_size;
    while ((size_t)(end - p) >= sizeof(Elf64_Nhdr)) {
      const Elf64_Nhdr *nh = (const Elf64_Nhdr *)p;
      const unsigned char *name = p + sizeof *nh;
      size_t namesz = (nh->n_namesz + 3u) & ~3u, descsz = (nh->n_descsz + 3u) & ~3u;
      if ((size_t)(end - name) < namesz || (size_t)(end - name) - namesz < descsz)
        break;
      const unsigned char *desc = name + namesz;
      if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 && memcmp(name, "GNU", 4) == 0) {
        if (cap < (size_t)2 * nh->n_descsz + 1)
          return false;
        for (size_t k = 0; k < nh->n_descsz; k++) {
          buf[2 * k] = "0123456789abcdef"[desc[k] >> 4];
          buf[2 * k + 1] = "0123456789abcdef"[desc[k] & 15];
        }
        buf[(size_t)2 * nh->n_descsz] = '\0';
        return true;
      }
      p = desc + descsz;
    }
  }
  return false;
}
