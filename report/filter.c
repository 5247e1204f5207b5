/* SPDX-License-Identifier: MIT */
/*
 * Applying a suppression file (common/suppress.c, shared with the shim) to
 * the merged report. A rule matches a leak if its kind matches and its
 * pattern matches any frame's function, module basename, or source file
 * (full path and basename), or, for an fd, its target.
 */
#include "model.h"
#include "suppress.h"
#include "util.h"

#include <errno.h>
#include <string.h>

static bool leak_suppressed(const struct leak *l, const struct rc_supp_rule *rules, size_t n)
{
	if (l->kind_id < 0) {
		/* A kind this tool does not know: only "leak:" rules can name it. */
		bool any = false;
		for (size_t i = 0; i < n; i++)
			any |= rules[i].kind == RC_KIND_ANY;
		if (!any)
			return false;
	}
	size_t cap = l->nframes * 4 + 1, k = 0;
	_cleanup_free_ const char **strs = xcalloc(cap, sizeof(*strs));
	for (size_t i = 0; i < l->nframes; i++) {
		const struct frame *f = &l->frames[i];
		strs[k++] = f->function;
		strs[k++] = f->module ? rc_supp_basename(f->module) : NULL;
		strs[k++] = f->file;
		strs[k++] = f->file ? rc_supp_basename(f->file) : NULL;
	}
	if (l->kind_id == RC_KIND_FD) {
		json_object *t;
		if (json_object_object_get_ex(l->obj, "target", &t) &&
		    json_object_is_type(t, json_type_string))
			strs[k++] = json_object_get_string(t);
	}
	/* Unknown kinds are matched as RC_KIND_ANY, which only "leak:" rules accept. */
	int kind = l->kind_id >= 0 ? l->kind_id : RC_KIND_ANY;
	return rc_supp_find(rules, n, kind, strs, k) >= 0;
}

int suppressions_apply(struct report *r, const char *file)
{
	size_t len = 0;
	_cleanup_free_ char *text = read_file(file, &len);
	if (!text) {
		warnx("%s: %s", file, strerror(errno));
		return -1;
	}
	return suppressions_apply_text(r, text, len, file);
}

int suppressions_apply_text(struct report *r, const char *file_text, size_t len, const char *file)
{
	_cleanup_free_ char *text = xmalloc(len + 1); /* parsed in place */
	memcpy(text, file_text, len);
	text[len] = '\0';
	size_t cap = 1;
	for (size_t i = 0; i < len; i++)
		cap += text[i] == '\n';
	_cleanup_free_ struct rc_supp_rule *rules = xcalloc(cap, sizeof(*rules));
	size_t n = 0;
	char err[512];
	if (rc_supp_parse(text, file, rules, cap, &n, err, sizeof(err)) < 0) {
		warnx("%s", err);
		return -1;
	}
	for (size_t i = 0; i < r->nprocs; i++) {
		struct proc *p = r->procs[i];
		for (size_t j = 0; j < p->nleaks; j++) {
			struct leak *l = &p->leaks[j];
			if (!l->suppressed && leak_suppressed(l, rules, n)) {
				l->suppressed = true;
				p->suppressed_here++;
			}
		}
	}
	return 0;
}
