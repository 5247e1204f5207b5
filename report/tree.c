/* SPDX-License-Identifier: MIT */
/*
 * The process tree (from pid/ppid), coverage (children that left no report),
 * grouping leaks by acquisition site, and totals.
 */
#include "model.h"
#include "suppress.h"
#include "util.h"

#include <string.h>

static int cmp_proc_pid(const void *a, const void *b)
{
	const struct proc *x = *(struct proc *const *)a, *y = *(struct proc *const *)b;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

static bool is_ancestor(const struct proc *maybe, const struct proc *p)
{
	for (size_t hops = 0; p && hops < 100000; p = p->parent, hops++)
		if (p == maybe)
			return true;
	return false;
}

void report_link_tree(struct report *r)
{
	for (size_t i = 0; i < r->nprocs; i++) {
		r->procs[i]->parent = NULL;
		r->procs[i]->nchildren = 0;
	}
	qsort(r->procs, r->nprocs, sizeof(*r->procs), cmp_proc_pid);
	for (size_t i = 0; i < r->nprocs; i++) {
		struct proc *p = r->procs[i];
		struct proc *parent = NULL;
		for (size_t j = 0; j < r->nprocs; j++)
			if (j != i && r->procs[j]->pid == p->ppid)
				parent = r->procs[j];
		/* pid reuse can make a cycle: such a link is dropped. */
		if (!parent || is_ancestor(p, parent))
			continue;
		p->parent = parent;
		grow(&parent->children, &parent->cap_children, parent->nchildren,
		     sizeof(*parent->children));
		parent->children[parent->nchildren++] = p;
	}
}

/* A child younger than this when the cleanup killed it may have been killed
 * while its dynamic loader was still loading (a `cmd &` right before the
 * parent exits): rcleak had not started in it, so it could not report. */
#define YOUNG_CHILD_MS 1000

/*
 * The children a process reaped after a signal ended them ("killed_children"
 * in its report): SIGKILL, or a signal rcleak does not manage in the child,
 * leaves no report. One without a report of its own was not covered, and
 * no leak of the parent's names it: it was reaped.
 */
static void add_killed_children(struct report *r, const struct proc *p)
{
	json_object *arr;
	if (!p->obj || !json_object_object_get_ex(p->obj, "killed_children", &arr) ||
	    !json_object_is_type(arr, json_type_array))
		return;
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *e = json_object_array_get_idx(arr, i);
		long cpid;
		if (!json_object_is_type(e, json_type_object) || !json_get_int(e, "pid", &cpid) ||
		    cpid <= 0 || report_find_pid(r, cpid))
			continue;
		const char *sig = json_get_str(e, "signal");
		_cleanup_free_ char *reason =
			xasprintf("no report: killed by %s, then reaped by its parent", sig ? sig : "a signal");
		report_add_not_covered(r, cpid, p->pid, NULL, reason);
	}
}

/*
 * A child leak names a pid. If that pid left no report, it was not covered:
 * statically linked, set-user/group-ID, LD_PRELOAD cleared, killed with SIGKILL, or still
 * running. That is all the tree walk can tell from the reports alone; the
 * run command adds the orphans it reaped as a subreaper.
 */
void report_check_coverage(struct report *r)
{
	size_t n = r->nprocs;
	for (size_t i = 0; i < n; i++) {
		struct proc *p = r->procs[i];
		for (size_t j = 0; j < p->nleaks; j++) {
			struct leak *l = &p->leaks[j];
			json_object *pidv;
			if (l->kind_id != RC_KIND_CHILD ||
			    !json_object_object_get_ex(l->obj, "pid", &pidv) ||
			    !json_object_is_type(pidv, json_type_int))
				continue;
			long cpid = (long)json_object_get_int64(pidv);
			if (report_find_pid(r, cpid))
				continue;
			const char *cleanup = json_get_str(l->obj, "cleanup");
			const char *sig = json_get_str(l->obj, "cleanup_signal");
			const char *state = json_get_str(l->obj, "state");
			const char *reason;
			long age = -1;
			(void)json_get_int(l->obj, "age_ms", &age);
			char young[200];
			bool killed = cleanup && strcmp(cleanup, "killed") == 0;
			if (killed && sig && strcmp(sig, "SIGKILL") == 0)
				reason = "no report: killed with SIGKILL by the cleanup";
			else if (killed && age >= 0 && age < YOUNG_CHILD_MS) {
				snprintf(young, sizeof(young),
					 "no report: killed by the cleanup %ld ms after it was started, maybe "
					 "before rcleak had started in it (or " NO_SHIM_CAUSES ")", age);
				reason = young;
			}
			else if (state && strcmp(state, "zombie") == 0)
				reason = "no report: exited (" NO_SHIM_CAUSES "?)";
			else if (!cleanup || strcmp(cleanup, "none") == 0)
				reason = "no report yet: still running when the report was made";
			else
				reason = "no report: " NO_SHIM_CAUSES "?";
			report_add_not_covered(r, cpid, p->pid, json_get_str(l->obj, "command"), reason);
		}
		add_killed_children(r, p);
	}
	report_link_tree(r);
}

char *leak_signature(const struct leak *l)
{
	struct strbuf b = { 0 };
	sb_add(&b, l->kind);
	sb_add(&b, "|");
	if (l->nframes == 0) {
		/* No stack (untracked): the best identity is what it is and where. */
		json_object *t;
		sb_add(&b, "<no stack>");
		if (json_object_object_get_ex(l->obj, "type", &t) &&
		    json_object_is_type(t, json_type_string)) {
			sb_add(&b, " ");
			sb_add(&b, json_object_get_string(t));
		}
		const char *exe = NULL;
		json_object *e;
		if (l->proc->obj && json_object_object_get_ex(l->proc->obj, "exe", &e) &&
		    json_object_is_type(e, json_type_string))
			exe = json_object_get_string(e);
		sb_addf(&b, " in %s", exe ? path_basename(exe) : "?");
	}
	for (size_t i = 0; i < l->nframes; i++) {
		const struct frame *f = &l->frames[i];
		if (i)
			sb_add(&b, ";");
		if (f->function)
			sb_add(&b, f->function);
		else if (f->module && f->has_offset)
			sb_addf(&b, "%s+0x%llx", path_basename(f->module),
				(unsigned long long)f->offset);
		else
			sb_add(&b, "?");
	}
	return sb_steal(&b);
}

static int cmp_leakp_sig(const void *a, const void *b)
{
	const struct leak *x = *(struct leak *const *)a, *y = *(struct leak *const *)b;
	int c = strcmp(x->signature, y->signature);
	if (c)
		return c;
	if (x->proc->pid != y->proc->pid)
		return (x->proc->pid > y->proc->pid) - (x->proc->pid < y->proc->pid);
	return (x > y) - (x < y);
}

static int cmp_site(const void *a, const void *b)
{
	const struct site *x = a, *y = b;
	/* With a baseline, new sites come first: they are what failed. */
	if ((x->status == LEAK_NEW) != (y->status == LEAK_NEW))
		return x->status == LEAK_NEW ? -1 : 1;
	if (x->nleaks != y->nleaks)
		return x->nleaks < y->nleaks ? 1 : -1;
	int c = strcmp(x->kind, y->kind);
	return c ? c : strcmp(x->signature, y->signature);
}

void report_build_sites(struct report *r)
{
	struct leak **all = NULL;
	size_t n = 0, cap = 0;
	for (size_t i = 0; i < r->nprocs; i++)
		for (size_t j = 0; j < r->procs[i]->nleaks; j++) {
			struct leak *l = &r->procs[i]->leaks[j];
			if (!l->signature)
				l->signature = leak_signature(l);
			if (l->suppressed)
				continue;
			grow(&all, &cap, n, sizeof(*all));
			all[n++] = l;
		}
	if (n)
		qsort(all, n, sizeof(*all), cmp_leakp_sig);
	r->sites = xcalloc(n, sizeof(*r->sites));
	r->nsites = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && strcmp(all[j]->signature, all[i]->signature) == 0)
			j++;
		struct site *s = &r->sites[r->nsites++];
		s->signature = xstrdup(all[i]->signature);
		s->kind = all[i]->kind;
		s->nleaks = j - i;
		s->leaks = xcalloc(s->nleaks, sizeof(*s->leaks));
		memcpy(s->leaks, all + i, s->nleaks * sizeof(*s->leaks));
		s->status = LEAK_UNRATED;
		/* A site is new if any of its leaks is (a baseline matches by site, so
		 * all of them agree in practice). */
		for (size_t k = i; k < j; k++) {
			if (all[k]->status == LEAK_NEW)
				s->status = LEAK_NEW;
			else if (all[k]->status == LEAK_KNOWN && s->status == LEAK_UNRATED)
				s->status = LEAK_KNOWN;
		}
		i = j;
	}
	free(all);
	if (r->nsites)
		qsort(r->sites, r->nsites, sizeof(*r->sites), cmp_site);
	for (size_t i = 0; i < r->nsites; i++)
		for (size_t k = 0; k < r->sites[i].nleaks; k++)
			r->sites[i].leaks[k]->site = i;
}

void report_finish(struct report *r)
{
	memset(r->by_kind, 0, sizeof(r->by_kind));
	r->leaks = r->leaks_new = r->leaks_known = r->suppressed = 0;
	r->procs_with_leaks = r->not_covered = 0;
	for (size_t i = 0; i < r->nprocs; i++) {
		struct proc *p = r->procs[i];
		size_t mine = 0;
		if (!p->covered)
			r->not_covered++;
		r->suppressed += p->suppressed_here +
				 (p->suppressed_in_process > 0 ? (size_t)p->suppressed_in_process : 0);
		for (size_t j = 0; j < p->nleaks; j++) {
			const struct leak *l = &p->leaks[j];
			if (l->suppressed)
				continue;
			mine++;
			r->leaks++;
			r->by_kind[l->kind_id >= 0 && l->kind_id < RC_KIND_COUNT ? l->kind_id : 7]++;
			if (l->status == LEAK_KNOWN)
				r->leaks_known++;
			else
				r->leaks_new++;
		}
		if (mine)
			r->procs_with_leaks++;
	}
}

static void walk(const struct proc *p, int depth,
		 void (*fn)(const struct proc *, int, void *), void *ud)
{
	fn(p, depth, ud);
	for (size_t i = 0; i < p->nchildren; i++)
		walk(p->children[i], depth + 1, fn, ud);
}

void report_walk(const struct report *r, void (*fn)(const struct proc *, int, void *), void *ud)
{
	/* procs and children are sorted by pid (report_link_tree). */
	for (size_t i = 0; i < r->nprocs; i++)
		if (!r->procs[i]->parent)
			walk(r->procs[i], 0, fn, ud);
}

void report_free(struct report *r)
{
	for (size_t i = 0; i < r->nprocs; i++) {
		struct proc *p = r->procs[i];
		for (size_t j = 0; j < p->nleaks; j++) {
			free(p->leaks[j].frames);
			free(p->leaks[j].signature);
		}
		free(p->leaks);
		free(p->children);
		free(p->command);
		free(p->exit_desc);
		free(p->source);
		free(p->not_covered_reason);
		if (p->obj)
			json_object_put(p->obj);
		free(p);
	}
	free(r->procs);
	for (size_t i = 0; i < r->nbad; i++) {
		free(r->bad[i].file);
		free(r->bad[i].error);
	}
	free(r->bad);
	for (size_t i = 0; i < r->nsites; i++) {
		free(r->sites[i].signature);
		free(r->sites[i].leaks);
	}
	free(r->sites);
	memset(r, 0, sizeof(*r));
}

/* Whether a report names `pid` as a daemon it left running. */
bool report_is_daemon(const struct report *r, long pid)
{
	for (size_t i = 0; i < r->nprocs; i++)
		for (size_t k = 0; k < r->procs[i]->nleaks; k++) {
			const struct leak *l = &r->procs[i]->leaks[k];
			long v;
			json_object *d;
			if (l->kind_id == RC_KIND_CHILD && json_get_int(l->obj, "pid", &v) && v == pid &&
			    json_object_object_get_ex(l->obj, "daemon", &d) &&
			    json_object_get_boolean(d))
				return true;
		}
	return false;
}
