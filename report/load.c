/* SPDX-License-Identifier: MIT */
/*
 * Reading JSON reports with json-c: per-process files, directories of them,
 * and merged reports. A file that cannot be used (empty, truncated by a
 * process killed while writing, garbage, not a report) is recorded by name in
 * report.bad and everything else is still merged: nothing is dropped silently.
 */
#include "model.h"
#include "suppress.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

static void closedirp(DIR **d)
{
	if (*d)
		(void)closedir(*d);
}

static void tokener_freep(json_tokener **t)
{
	if (*t)
		json_tokener_free(*t);
}

void report_add_bad(struct report *r, const char *file, const char *error)
{
	grow(&r->bad, &r->cap_bad, r->nbad, sizeof(*r->bad));
	r->bad[r->nbad].file = xstrdup_utf8(file);
	r->bad[r->nbad].error = xstrdup_utf8(error);
	r->nbad++;
}

static struct proc *add_proc(struct report *r)
{
	grow(&r->procs, &r->cap_procs, r->nprocs, sizeof(*r->procs));
	struct proc *p = xcalloc(1, sizeof(*p));
	r->procs[r->nprocs++] = p;
	return p;
}

struct proc *report_find_pid(const struct report *r, long pid)
{
	for (size_t i = 0; i < r->nprocs; i++)
		if (r->procs[i]->pid == pid)
			return r->procs[i];
	return NULL;
}

struct proc *report_add_not_covered(struct report *r, long pid, long ppid, const char *command,
				    const char *reason)
{
	struct proc *p = add_proc(r);
	p->pid = pid;
	p->ppid = ppid;
	_cleanup_free_ char *cmd = xstrdup_utf8(command && *command ? command : "?");
	_cleanup_free_ char *why = xstrdup_utf8(reason);
	p->command = xstrdup_shown(cmd);
	p->exit_desc = xstrdup("");
	p->not_covered_reason = xstrdup_shown(why);
	p->source = xstrdup("");
	p->covered = false;
	return p;
}

const char *json_get_str(json_object *o, const char *key)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

bool json_get_int(json_object *o, const char *key, long *out)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return false;
	*out = (long)json_object_get_int64(v);
	return true;
}

/* Shell-style quoting so a command line reads as it was typed. */
static void add_quoted(struct strbuf *b, const char *arg)
{
	bool plain = *arg != '\0';
	for (const char *c = arg; *c; c++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-", *c))
			plain = false;
	if (plain) {
		sb_add(b, arg);
		return;
	}
	sb_add(b, "'");
	for (const char *c = arg; *c;) {
		const char *q = strchr(c, '\'');
		size_t n = q ? (size_t)(q - c) : strlen(c);
		sb_addn_shown(b, c, n); /* control characters escaped, as \n */
		c += n;
		if (q) {
			sb_add(b, "'\\''");
			c++;
		}
	}
	sb_add(b, "'");
}

static char *command_of(json_object *o)
{
	json_object *argv;
	struct strbuf b = { 0 };
	if (json_object_object_get_ex(o, "cmdline", &argv) &&
	    json_object_is_type(argv, json_type_array) && json_object_array_length(argv) > 0) {
		for (size_t i = 0; i < json_object_array_length(argv); i++) {
			json_object *a = json_object_array_get_idx(argv, i);
			if (i)
				sb_add(&b, " ");
			add_quoted(&b, json_object_is_type(a, json_type_string) ?
					       json_object_get_string(a) : "?");
		}
		return sb_steal(&b);
	}
	const char *exe = json_get_str(o, "exe");
	return xstrdup_shown(exe ? exe : "?");
}

static char *exit_of(json_object *o)
{
	json_object *e;
	if (!json_object_object_get_ex(o, "exit", &e) || !json_object_is_type(e, json_type_object))
		return xstrdup("exit unknown");
	const char *reason = json_get_str(e, "reason");
	long status;
	if (reason && strcmp(reason, "signal") == 0) {
		_cleanup_free_ char *sig = xstrdup_shown(json_get_str(e, "signal"));
		return xasprintf("killed by %s", *sig ? sig : "a signal");
	}
	if (json_get_int(e, "status", &status))
		return xasprintf("exit %ld", status);
	_cleanup_free_ char *shown = xstrdup_shown(reason ? reason : "unknown");
	return xasprintf("exit %s", shown);
}

/* Refresh a frame's view from its JSON object (also after symbolization). */
void frame_load(struct frame *f, json_object *obj)
{
	long line = 0;
	json_object *off;
	f->obj = obj;
	f->module = json_get_str(obj, "module");
	f->build_id = json_get_str(obj, "build_id");
	f->function = json_get_str(obj, "function");
	f->file = json_get_str(obj, "file");
	f->line = json_get_int(obj, "line", &line) && line > 0 && line < 1000000000 ? (int)line : 0;
	f->has_offset = false;
	if (json_object_object_get_ex(obj, "offset", &off)) {
		if (json_object_is_type(off, json_type_string))
			f->has_offset = parse_hex(json_object_get_string(off), &f->offset);
		else if (json_object_is_type(off, json_type_int)) {
			f->offset = (uint64_t)json_object_get_int64(off);
			f->has_offset = true;
		}
	}
	json_object *mm;
	f->build_id_mismatch = json_object_object_get_ex(obj, "build_id_mismatch", &mm) &&
			       json_object_get_boolean(mm);
	f->lang = json_get_str(obj, "lang");
	if (f->lang && !*f->lang)
		f->lang = NULL;
	if (f->module && !*f->module)
		f->module = NULL;
	if (f->function && !*f->function)
		f->function = NULL;
	if (f->file && !*f->file)
		f->file = NULL;
}

static bool load_leak(struct leak *l, struct proc *p, json_object *obj)
{
	const char *kind = json_get_str(obj, "kind");
	if (!json_object_is_type(obj, json_type_object) || !kind)
		return false;
	l->obj = obj;
	l->proc = p;
	l->kind = kind;
	int k = rc_kind_from_name(kind, strlen(kind));
	l->kind_id = k == RC_KIND_ANY ? -1 : k;
	json_object *stack;
	if (json_object_object_get_ex(obj, "stack", &stack) &&
	    json_object_is_type(stack, json_type_array)) {
		size_t n = json_object_array_length(stack);
		l->frames = xcalloc(n, sizeof(*l->frames));
		for (size_t i = 0; i < n; i++) {
			json_object *fo = json_object_array_get_idx(stack, i);
			if (json_object_is_type(fo, json_type_object))
				frame_load(&l->frames[l->nframes++], fo);
		}
	}
	return true;
}

/* Takes ownership of obj (one reference). */
static void add_process(struct report *r, const char *file, json_object *obj)
{
	long pid = 0, ppid = 0;
	if (!json_get_int(obj, "pid", &pid)) {
		report_add_bad(r, file, "report without a pid");
		json_object_put(obj);
		return;
	}
	(void)json_get_int(obj, "ppid", &ppid);
	struct proc *p = add_proc(r);
	p->obj = obj;
	p->source = xstrdup(file);
	p->pid = pid;
	p->ppid = ppid;
	p->covered = true;
	p->command = command_of(obj);
	p->exit_desc = exit_of(obj);
	json_object *summary;
	if (json_object_object_get_ex(obj, "summary", &summary))
		(void)json_get_int(summary, "suppressed", &p->suppressed_in_process);

	json_object *leaks;
	if (!json_object_object_get_ex(obj, "leaks", &leaks) ||
	    !json_object_is_type(leaks, json_type_array)) {
		/* A report without a leaks array covers nothing: say so. */
		report_add_bad(r, file, "report without a \"leaks\" array");
		return;
	}
	size_t n = json_object_array_length(leaks);
	p->leaks = xcalloc(n, sizeof(*p->leaks));
	for (size_t i = 0; i < n; i++) {
		if (!load_leak(&p->leaks[p->nleaks], p, json_object_array_get_idx(leaks, i))) {
			_cleanup_free_ char *msg =
				xasprintf("pid %ld: leak #%zu is not an object with a \"kind\"", pid, i);
			report_add_bad(r, file, msg);
			continue;
		}
		p->nleaks++;
	}
}

static void add_merged(struct report *r, const char *file, json_object *obj)
{
	json_object *procs, *nc, *bad;
	if (!json_object_object_get_ex(obj, "processes", &procs) ||
	    !json_object_is_type(procs, json_type_array)) {
		report_add_bad(r, file, "merged report without a \"processes\" array");
		return;
	}
	for (size_t i = 0; i < json_object_array_length(procs); i++) {
		json_object *p = json_object_array_get_idx(procs, i);
		long v;
		if (!json_object_is_type(p, json_type_object) || !json_get_int(p, "rcleak", &v) || v != 1) {
			_cleanup_free_ char *msg =
				xasprintf("processes[%zu] is not an rcleak version 1 report", i);
			report_add_bad(r, file, msg);
			continue;
		}
		add_process(r, file, json_object_get(p));
	}
	if (json_object_object_get_ex(obj, "not_covered", &nc) &&
	    json_object_is_type(nc, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(nc); i++) {
			json_object *e = json_object_array_get_idx(nc, i);
			long pid = 0, ppid = 0;
			(void)json_get_int(e, "pid", &pid);
			(void)json_get_int(e, "ppid", &ppid);
			const char *reason = json_get_str(e, "reason");
			report_add_not_covered(r, pid, ppid, json_get_str(e, "command"),
					       reason ? reason : "no report");
		}
	}
	if (json_object_object_get_ex(obj, "bad_inputs", &bad) &&
	    json_object_is_type(bad, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(bad); i++) {
			json_object *e = json_object_array_get_idx(bad, i);
			const char *f = json_get_str(e, "file"), *err = json_get_str(e, "error");
			report_add_bad(r, f ? f : file, err ? err : "bad input");
		}
	}
}

/* Every string value in the tree made UTF-8 (common/utf8.h: one U+FFFD per
 * run of bytes that is not): json-c reads any bytes, and what it reads is
 * written out again (the merged report, SARIF), where a reader would reject
 * the whole file.  Keys are left as they are: rcleak's are ASCII. */
static void make_utf8(json_object *o)
{
	switch (json_object_get_type(o)) {
	case json_type_string:
		if (!utf8_valid(json_object_get_string(o))) {
			_cleanup_free_ char *fixed = xstrdup_utf8(json_object_get_string(o));
			(void)json_object_set_string(o, fixed);
		}
		break;
	case json_type_array:
		for (size_t i = 0; i < json_object_array_length(o); i++)
			make_utf8(json_object_array_get_idx(o, i));
		break;
	case json_type_object: {
		json_object_object_foreach(o, key, val)
		{
			(void)key;
			make_utf8(val);
		}
		break;
	}
	default:
		break;
	}
}

static bool all_blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strchr(" \t\r\n", s[i]))
			return false;
	return true;
}

/* in_dir: a file found in a directory, which others may be able to write to
 * (`rcleak run`'s): read only as a regular file, never through a link. */
static void load_file(struct report *r, const char *file, bool in_dir)
{
	size_t len = 0;
	_cleanup_free_ char *text = in_dir ? read_regular_file(file, &len) : read_file(file, &len);
	if (!text) {
		report_add_bad(r, file, in_dir && (errno == EINVAL || errno == ELOOP) ?
						"not a regular file" : strerror(errno));
		return;
	}
	if (all_blank(text, len)) {
		report_add_bad(r, file, "empty file (process killed before writing its report?)");
		return;
	}
	_cleanup_(tokener_freep) json_tokener *tok = json_tokener_new();
	if (!tok) {
		report_add_bad(r, file, "out of memory");
		return;
	}
	json_object *obj = json_tokener_parse_ex(tok, text, (int)len);
	enum json_tokener_error err = json_tokener_get_error(tok);
	if (err == json_tokener_continue) {
		report_add_bad(r, file,
			       "truncated JSON (process killed while writing its report?)");
		return;
	}
	if (!obj || err != json_tokener_success) {
		_cleanup_free_ char *msg =
			xasprintf("not valid JSON: %s at byte %zu", json_tokener_error_desc(err),
				  json_tokener_get_parse_end(tok));
		report_add_bad(r, file, msg);
		json_object_put(obj);
		return;
	}
	size_t end = json_tokener_get_parse_end(tok);
	if (end < len && !all_blank(text + end, len - end)) {
		_cleanup_free_ char *msg = xasprintf("not valid JSON: trailing data at byte %zu", end);
		report_add_bad(r, file, msg);
		json_object_put(obj);
		return;
	}
	make_utf8(obj);
	long version;
	if (!json_object_is_type(obj, json_type_object)) {
		report_add_bad(r, file, "not an rcleak report (not a JSON object)");
	} else if (json_get_int(obj, "rcleak_merged", &version)) {
		if (version == 1)
			add_merged(r, file, obj);
		else {
			_cleanup_free_ char *msg =
				xasprintf("unsupported merged report version %ld", version);
			report_add_bad(r, file, msg);
		}
	} else if (json_get_int(obj, "rcleak", &version)) {
		if (version == 1) {
			add_process(r, file, obj);
			return; /* ownership passed */
		}
		_cleanup_free_ char *msg = xasprintf("unsupported report version %ld", version);
		report_add_bad(r, file, msg);
	} else {
		report_add_bad(r, file, "not an rcleak report (no \"rcleak\" version field)");
	}
	json_object_put(obj);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Report files in a directory: *.json, and the temporary files of a writer
 * that was killed before its rename (names containing ".json"), so that a
 * process killed mid-write is listed instead of silently missing. */
static void load_dir(struct report *r, const char *dir)
{
	_cleanup_(closedirp) DIR *d = opendir(dir);
	if (!d) {
		report_add_bad(r, dir, strerror(errno));
		return;
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strstr(de->d_name, ".json"))
			continue;
		grow(&names, &cap, n, sizeof(*names));
		names[n++] = xasprintf("%s%s%s", dir, str_has_suffix(dir, "/") ? "" : "/",
				       de->d_name);
	}
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) {
		struct stat st; /* links and other files are not reports: skipped */
		if (lstat(names[i], &st) == 0 && S_ISREG(st.st_mode))
			load_file(r, names[i], true);
		free(names[i]);
	}
	free(names);
}

void report_add_path(struct report *r, const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		report_add_bad(r, path, strerror(errno));
		return;
	}
	if (S_ISDIR(st.st_mode))
		load_dir(r, path);
	else
		load_file(r, path, false);
}
