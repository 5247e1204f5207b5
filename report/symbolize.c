/* SPDX-License-Identifier: MIT */
/*
 * Symbolization after the process is gone, with elfutils' libdwfl.
 *
 * Each frame carries module path + offset, where offset is relative to the
 * module's ELF virtual addresses (so ASLR does not matter), and the module's
 * build-id. Each module is reported on its own Dwfl at bias 0, so an offset is
 * directly an address in it. If the build-id on disk differs from the one in
 * the report, the binary was rebuilt since: the frame is left as
 * module+offset rather than mis-symbolized.
 *
 * What the shim already resolved (function, file, line) is kept; only the
 * missing parts are filled in. Function names come from the ELF symbol table
 * (.symtab when present, so static functions too, else .dynsym, or the
 * separate debuginfo's), file:line from DWARF line tables.
 */
#include "model.h"
#include "util.h"

#include <dwarf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <elfutils/libdwfl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

struct module_cache {
	char *path;
	Dwfl *dwfl;
	Dwfl_Module *mod;
	char *build_id; /* hex, NULL if the file has none */
};

struct symbolizer {
	struct module_cache *mods;
	size_t n, cap;
};

static const Dwfl_Callbacks callbacks = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.section_address = dwfl_offline_section_address,
};

static struct module_cache *module_get(struct symbolizer *s, const char *path)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->mods[i].path, path) == 0)
			return &s->mods[i];
	grow(&s->mods, &s->cap, s->n, sizeof(*s->mods));
	struct module_cache *m = &s->mods[s->n++];
	m->path = xstrdup(path);
	if (path[0] != '/')
		return m; /* [vdso], [anon:...]: nothing to read */
	/* A report is data, and its module paths may name anything: a FIFO
	 * (whose open would wait for a writer forever), a terminal, /dev/zero,
	 * /proc/self/fd/0. Only a regular file is read as an ELF file. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	struct stat st;
	if (fd < 0)
		return m; /* deleted or unreadable */
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || !(m->dwfl = dwfl_begin(&callbacks))) {
		close(fd);
		return m;
	}
	dwfl_report_begin(m->dwfl);
	m->mod = dwfl_report_elf(m->dwfl, path_basename(path), path, fd, 0, false);
	dwfl_report_end(m->dwfl, NULL, NULL);
	if (!m->mod) {
		close(fd); /* consumed only on success */
		return m;
	}
	const unsigned char *bits;
	GElf_Addr vaddr;
	int len = dwfl_module_build_id(m->mod, &bits, &vaddr);
	if (len > 0) {
		m->build_id = xmalloc((size_t)len * 2 + 1);
		for (int i = 0; i < len; i++)
			snprintf(m->build_id + (size_t)i * 2, 3, "%02x", bits[i]);
	}
	return m;
}

static void symbolizer_free(struct symbolizer *s)
{
	for (size_t i = 0; i < s->n; i++) {
		if (s->mods[i].dwfl)
			dwfl_end(s->mods[i].dwfl);
		free(s->mods[i].path);
		free(s->mods[i].build_id);
	}
	free(s->mods);
}

/* The compilation directory of the CU holding addr: relative DWARF file names
 * are relative to it. */
static const char *comp_dir(Dwfl_Module *mod, GElf_Addr addr)
{
	Dwarf_Addr bias;
	Dwarf_Die *cu = dwfl_module_addrdie(mod, addr, &bias);
	Dwarf_Attribute attr;
	const char *dir = cu ? dwarf_formstring(dwarf_attr(cu, DW_AT_comp_dir, &attr)) : NULL;
	return dir && *dir ? dir : NULL;
}

/* Sets "file" to an absolute path: joined with the comp dir, and tidied
 * ("build/../src/x.c") when the file is there to resolve it. */
static void set_file(struct frame *f, Dwfl_Module *mod, GElf_Addr addr, const char *src)
{
	_cleanup_free_ char *full = NULL;
	if (src[0] != '/') {
		const char *dir = comp_dir(mod, addr);
		if (dir)
			src = full = xasprintf("%s/%s", dir, src);
	}
	_cleanup_free_ char *real = strstr(src, "/../") || strstr(src, "/./") ? realpath(src, NULL) : NULL;
	_cleanup_free_ char *text = xstrdup_utf8(real ? real : src);
	json_object_object_add(f->obj, "file", json_object_new_string(text));
}

static void symbolize_frame(struct symbolizer *s, struct frame *f)
{
	bool need_name = !f->function, need_line = !f->file || !f->line;
	bool need_abs = f->file && f->file[0] != '/';
	if (!(need_name || need_line || need_abs) || !f->module || !f->has_offset)
		return;
	struct module_cache *m = module_get(s, f->module);
	if (!m->mod)
		return;
	if (f->build_id && (!m->build_id || strcasecmp(f->build_id, m->build_id) != 0)) {
		/* Rebuilt (or replaced) since the report was written. */
		json_object_object_add(f->obj, "build_id_mismatch", json_object_new_boolean(1));
		frame_load(f, f->obj);
		return;
	}
	/* Stack entries are return addresses: look up the call instruction. */
	GElf_Addr addr = f->offset > 0 ? f->offset - 1 : 0;
	if (need_name) {
		GElf_Off off;
		GElf_Sym sym;
		const char *name = dwfl_module_addrinfo(m->mod, addr, &off, &sym, NULL, NULL, NULL);
		if (name && *name) {
			_cleanup_free_ char *text = xstrdup_utf8(name);
			json_object_object_add(f->obj, "function", json_object_new_string(text));
		}
	}
	if (need_line) {
		Dwfl_Line *line = dwfl_module_getsrc(m->mod, addr);
		int lineno = 0;
		const char *src = line ? dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL) : NULL;
		if (src && *src) {
			set_file(f, m->mod, addr, src);
			if (lineno > 0)
				json_object_object_add(f->obj, "line", json_object_new_int(lineno));
		}
	} else if (need_abs) {
		/* The shim wrote the DWARF name as it is: make it absolute. */
		_cleanup_free_ char *src = xstrdup(f->file);
		set_file(f, m->mod, addr, src);
	}
	frame_load(f, f->obj);
}

void symbolize_report(struct report *r)
{
	struct symbolizer s = { 0 };
	for (size_t i = 0; i < r->nprocs; i++)
		for (size_t j = 0; j < r->procs[i]->nleaks; j++) {
			struct leak *l = &r->procs[i]->leaks[j];
			for (size_t k = 0; k < l->nframes; k++)
				symbolize_frame(&s, &l->frames[k]);
		}
	symbolizer_free(&s);
}
