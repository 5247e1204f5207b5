/* SPDX-License-Identifier: MIT */
/*
 * The merged JSON report ("rcleak_merged": 1), documented in docs/cli.md.
 * Per-process objects are copied field by field (unknown fields pass through),
 * with suppressed leaks removed (counted in summary.suppressed, as the shim
 * does), symbolized frames, and per-leak "site" and, with a baseline,
 * "status": "new" | "known".
 */
#include "render.h"
#include "suppress.h"
#include "util.h"

#include <string.h>

static const char *status_name(enum leak_status st)
{
	return st == LEAK_NEW ? "new" : st == LEAK_KNOWN ? "known" : NULL;
}

static void add_kind_counts(json_object *sum, const size_t by_kind[8])
{
	for (int k = 0; k < 8; k++)
		if (by_kind[k])
			json_object_object_add(sum, k < RC_KIND_COUNT ? rc_kind_name(k) : "other",
					       json_object_new_int64((int64_t)by_kind[k]));
}

static json_object *process_json(const struct proc *p)
{
	json_object *o = json_object_new_object();
	json_object_object_foreach(p->obj, key, val)
	{
		if (strcmp(key, "leaks") != 0 && strcmp(key, "summary") != 0)
			json_object_object_add(o, key, json_object_get(val));
	}
	json_object *leaks = json_object_new_array();
	size_t by_kind[8] = { 0 }, total = 0;
	for (size_t i = 0; i < p->nleaks; i++) {
		const struct leak *l = &p->leaks[i];
		if (l->suppressed)
			continue;
		json_object *lo = json_object_new_object();
		json_object_object_foreach(l->obj, lk, lv)
		{
			if (strcmp(lk, "site") != 0 && strcmp(lk, "status") != 0)
				json_object_object_add(lo, lk, json_object_get(lv));
		}
		json_object_object_add(lo, "site", json_object_new_int64((int64_t)l->site + 1));
		if (status_name(l->status))
			json_object_object_add(lo, "status",
					       json_object_new_string(status_name(l->status)));
		json_object_array_add(leaks, lo);
		by_kind[l->kind_id >= 0 && l->kind_id < RC_KIND_COUNT ? l->kind_id : 7]++;
		total++;
	}
	json_object_object_add(o, "leaks", leaks);
	json_object *sum = json_object_new_object();
	json_object_object_add(sum, "total", json_object_new_int64((int64_t)total));
	add_kind_counts(sum, by_kind);
	json_object_object_add(sum, "suppressed",
			       json_object_new_int64((int64_t)p->suppressed_here +
						     (p->suppressed_in_process > 0 ? p->suppressed_in_process : 0)));
	json_object_object_add(o, "summary", sum);
	return o;
}

static json_object *site_json(const struct site *s, size_t idx)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "site", json_object_new_int64((int64_t)idx + 1));
	json_object_object_add(o, "kind", json_object_new_string(s->kind));
	json_object_object_add(o, "count", json_object_new_int64((int64_t)s->nleaks));
	json_object_object_add(o, "signature", json_object_new_string(s->signature));
	if (status_name(s->status))
		json_object_object_add(o, "status", json_object_new_string(status_name(s->status)));
	const struct frame *loc = leak_location(s->leaks[0]);
	if (loc) {
		json_object *lo = json_object_new_object();
		if (loc->function)
			json_object_object_add(lo, "function", json_object_new_string(loc->function));
		json_object_object_add(lo, "file", json_object_new_string(loc->file));
		json_object_object_add(lo, "line", json_object_new_int(loc->line));
		json_object_object_add(o, "location", lo);
	}
	json_object *pids = json_object_new_array();
	long last = -1;
	for (size_t i = 0; i < s->nleaks; i++)
		if (s->leaks[i]->proc->pid != last) {
			last = s->leaks[i]->proc->pid;
			json_object_array_add(pids, json_object_new_int64(last));
		}
	json_object_object_add(o, "pids", pids);
	return o;
}

int render_json(FILE *out, const struct report *r, const struct render_opts *o)
{
	(void)o;
	json_object *root = json_object_new_object();
	json_object_object_add(root, "rcleak_merged", json_object_new_int(1));
	json_object_object_add(root, "tool", json_object_new_string("rcleak " RCLEAK_VERSION));
	json_object *procs = json_object_new_array();
	json_object *nc = json_object_new_array();
	size_t covered = 0;
	for (size_t i = 0; i < r->nprocs; i++) {
		const struct proc *p = r->procs[i];
		if (p->covered) {
			json_object_array_add(procs, process_json(p));
			covered++;
			continue;
		}
		json_object *e = json_object_new_object();
		json_object_object_add(e, "pid", json_object_new_int64(p->pid));
		json_object_object_add(e, "ppid", json_object_new_int64(p->ppid));
		json_object_object_add(e, "command", json_object_new_string(p->command));
		json_object_object_add(e, "reason", json_object_new_string(p->not_covered_reason));
		json_object_array_add(nc, e);
	}
	json_object_object_add(root, "processes", procs);
	json_object_object_add(root, "not_covered", nc);
	json_object *bad = json_object_new_array();
	for (size_t i = 0; i < r->nbad; i++) {
		json_object *e = json_object_new_object();
		json_object_object_add(e, "file", json_object_new_string(r->bad[i].file));
		json_object_object_add(e, "error", json_object_new_string(r->bad[i].error));
		json_object_array_add(bad, e);
	}
	json_object_object_add(root, "bad_inputs", bad);
	json_object *sites = json_object_new_array();
	for (size_t i = 0; i < r->nsites; i++)
		json_object_array_add(sites, site_json(&r->sites[i], i));
	json_object_object_add(root, "sites", sites);

	json_object *sum = json_object_new_object();
	json_object_object_add(sum, "processes", json_object_new_int64((int64_t)covered));
	json_object_object_add(sum, "processes_with_leaks",
			       json_object_new_int64((int64_t)r->procs_with_leaks));
	json_object_object_add(sum, "total", json_object_new_int64((int64_t)r->leaks));
	add_kind_counts(sum, r->by_kind);
	json_object_object_add(sum, "suppressed", json_object_new_int64((int64_t)r->suppressed));
	if (r->baseline_used) {
		json_object_object_add(sum, "new", json_object_new_int64((int64_t)r->leaks_new));
		json_object_object_add(sum, "known", json_object_new_int64((int64_t)r->leaks_known));
	}
	json_object_object_add(sum, "not_covered", json_object_new_int64((int64_t)r->not_covered));
	json_object_object_add(sum, "bad_inputs", json_object_new_int64((int64_t)r->nbad));
	json_object_object_add(root, "summary", sum);

	fputs(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
							   JSON_C_TO_STRING_SPACED |
							   JSON_C_TO_STRING_NOSLASHESCAPE),
	      out);
	fputc('\n', out);
	json_object_put(root);
	return 0;
}
