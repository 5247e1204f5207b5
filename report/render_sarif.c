/* SPDX-License-Identifier: MIT */
/*
 * SARIF 2.1.0: one result per leak site, with a physical location (the
 * innermost frame that has file:line) so code scanning can show it, the whole
 * stack as a SARIF stack, and a fingerprint from the site signature.
 * Paths under the current directory are made relative to %SRCROOT%.
 */
#include "render.h"
#include "suppress.h"
#include "util.h"

#include <inttypes.h>
#include <string.h>

#define J_STR(s) json_object_new_string(s)
#define J_INT(v) json_object_new_int64((int64_t)(v))

static json_object *obj_kv(const char *k, json_object *v)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, k, v);
	return o;
}

static json_object *message(const char *text)
{
	return obj_kv("text", J_STR(text));
}

static char *uri_escape(const char *path)
{
	struct strbuf b = { 0 };
	for (const unsigned char *c = (const unsigned char *)path; *c; c++) {
		if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		    (*c >= '0' && *c <= '9') || strchr("/-._~+", *c))
			sb_addn(&b, (const char *)c, 1);
		else
			sb_addf(&b, "%%%02X", *c);
	}
	return sb_steal(&b);
}

static json_object *artifact_location(const char *file, const char *cwd)
{
	json_object *a = json_object_new_object();
	const char *rel = relative_path(file, cwd);
	_cleanup_free_ char *esc = uri_escape(rel);
	if (rel[0] == '/') {
		_cleanup_free_ char *uri = xasprintf("file://%s", esc);
		json_object_object_add(a, "uri", J_STR(uri));
	} else {
		json_object_object_add(a, "uri", J_STR(esc));
		json_object_object_add(a, "uriBaseId", J_STR("SRCROOT"));
	}
	return a;
}

static json_object *frame_location(const struct frame *f, const char *cwd)
{
	json_object *loc = json_object_new_object();
	if (f->file) {
		json_object *phys = json_object_new_object();
		json_object_object_add(phys, "artifactLocation", artifact_location(f->file, cwd));
		if (f->line > 0)
			json_object_object_add(phys, "region", obj_kv("startLine", J_INT(f->line)));
		json_object_object_add(loc, "physicalLocation", phys);
	}
	if (f->function) {
		json_object *ll = json_object_new_object();
		json_object_object_add(ll, "fullyQualifiedName", J_STR(f->function));
		json_object_object_add(ll, "kind", J_STR("function"));
		json_object *arr = json_object_new_array();
		json_object_array_add(arr, ll);
		json_object_object_add(loc, "logicalLocations", arr);
	}
	_cleanup_free_ char *desc = frame_desc(f);
	json_object_object_add(loc, "message", message(desc));
	return loc;
}

/* FNV-1a, 64 bit: a stable fingerprint of a site signature. */
static uint64_t fnv1a(const char *s)
{
	uint64_t h = 14695981039346656037ULL;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

static json_object *rules_json(void)
{
	static const char *const help[RC_KIND_COUNT] = {
		"A file descriptor the process opened itself was still open when it exited.",
		"A child process was still running, or never reaped, when its parent exited.",
		"A POSIX timer was created and never deleted.",
		"An interval timer (setitimer/alarm) was still armed at exit.",
		"A temporary directory (mkdtemp) was left on disk at exit.",
		"A temporary file (mkstemp family) was left on disk at exit.",
		"A thread was never joined, or still running, at exit.",
	};
	json_object *rules = json_object_new_array();
	for (int k = 0; k < RC_KIND_COUNT; k++) {
		json_object *rule = json_object_new_object();
		_cleanup_free_ char *id = xasprintf("rcleak/%s", rc_kind_name(k));
		_cleanup_free_ char *text = xasprintf("Leaked %s", kind_title(rc_kind_name(k), 1));
		json_object_object_add(rule, "id", J_STR(id));
		json_object_object_add(rule, "name", J_STR(rc_kind_name(k)));
		json_object_object_add(rule, "shortDescription", message(text));
		json_object_object_add(rule, "fullDescription", message(help[k]));
		json_object_object_add(rule, "defaultConfiguration", obj_kv("level", J_STR("error")));
		json_object_array_add(rules, rule);
	}
	json_object *other = json_object_new_object();
	json_object_object_add(other, "id", J_STR("rcleak/other"));
	json_object_object_add(other, "name", J_STR("other"));
	json_object_object_add(other, "shortDescription", message("Leaked resource"));
	json_object_object_add(other, "defaultConfiguration", obj_kv("level", J_STR("error")));
	json_object_array_add(rules, other);
	return rules;
}

static json_object *result_json(const struct site *s, const struct render_opts *o)
{
	const struct leak *first = s->leaks[0];
	int kind = first->kind_id >= 0 ? first->kind_id : RC_KIND_COUNT;
	json_object *res = json_object_new_object();
	_cleanup_free_ char *rule = xasprintf("rcleak/%s", kind < RC_KIND_COUNT ? rc_kind_name(kind) : "other");
	json_object_object_add(res, "ruleId", J_STR(rule));
	json_object_object_add(res, "ruleIndex", J_INT(kind));
	json_object_object_add(res, "level", J_STR(s->status == LEAK_KNOWN ? "warning" : "error"));

	struct strbuf text = { 0 };
	_cleanup_free_ char *head = site_headline(s);
	sb_add(&text, head);
	sb_add(&text, ": ");
	for (size_t i = 0; i < s->nleaks && i < 3; i++) {
		_cleanup_free_ char *id = leak_identity(s->leaks[i]);
		sb_addf(&text, "%s%s in pid %ld", i ? "; " : "", id, s->leaks[i]->proc->pid);
	}
	if (s->nleaks > 3)
		sb_addf(&text, "; and %zu more", s->nleaks - 3);
	_cleanup_free_ char *msg = sb_steal(&text);
	json_object_object_add(res, "message", message(msg));

	const struct frame *loc = leak_location(first);
	json_object *locs = json_object_new_array();
	if (loc)
		json_object_array_add(locs, frame_location(loc, o->cwd));
	json_object_object_add(res, "locations", locs);

	if (first->nframes) {
		json_object *frames = json_object_new_array();
		for (size_t i = 0; i < first->nframes; i++) {
			const struct frame *f = &first->frames[i];
			json_object *sf = json_object_new_object();
			json_object_object_add(sf, "location", frame_location(f, o->cwd));
			if (f->module)
				json_object_object_add(sf, "module", J_STR(path_basename(f->module)));
			json_object_array_add(frames, sf);
		}
		json_object *stack = json_object_new_object();
		json_object_object_add(stack, "message", message("acquisition stack"));
		json_object_object_add(stack, "frames", frames);
		json_object *stacks = json_object_new_array();
		json_object_array_add(stacks, stack);
		json_object_object_add(res, "stacks", stacks);
	}
	_cleanup_free_ char *fp = xasprintf("%016" PRIx64, fnv1a(s->signature));
	json_object_object_add(res, "partialFingerprints", obj_kv("rcleakSite/v1", J_STR(fp)));
	if (s->status != LEAK_UNRATED)
		json_object_object_add(res, "baselineState",
				       J_STR(s->status == LEAK_KNOWN ? "unchanged" : "new"));
	json_object *props = json_object_new_object();
	json_object_object_add(props, "count", J_INT(s->nleaks));
	json_object_object_add(props, "signature", J_STR(s->signature));
	json_object *pids = json_object_new_array();
	long last = -1;
	for (size_t i = 0; i < s->nleaks; i++)
		if (s->leaks[i]->proc->pid != last) {
			last = s->leaks[i]->proc->pid;
			json_object_array_add(pids, json_object_new_int64(last));
		}
	json_object_object_add(props, "pids", pids);
	json_object_object_add(res, "properties", props);
	return res;
}

int render_sarif(FILE *out, const struct report *r, const struct render_opts *o)
{
	json_object *root = json_object_new_object();
	json_object_object_add(root, "$schema",
			       J_STR("https://json.schemastore.org/sarif-2.1.0.json"));
	json_object_object_add(root, "version", J_STR("2.1.0"));

	json_object *driver = json_object_new_object();
	json_object_object_add(driver, "name", J_STR("rcleak"));
	json_object_object_add(driver, "version", J_STR(RCLEAK_VERSION));
	json_object_object_add(driver, "semanticVersion", J_STR(RCLEAK_VERSION));
	json_object_object_add(driver, "rules", rules_json());
	json_object *run = json_object_new_object();
	json_object_object_add(run, "tool", obj_kv("driver", driver));

	if (o->cwd) {
		_cleanup_free_ char *esc = uri_escape(o->cwd);
		_cleanup_free_ char *uri = xasprintf("file://%s/", esc);
		json_object_object_add(run, "originalUriBaseIds",
				       obj_kv("SRCROOT", obj_kv("uri", J_STR(uri))));
	}

	json_object *inv = json_object_new_object();
	json_object_object_add(inv, "executionSuccessful", json_object_new_boolean(1));
	json_object *notes = json_object_new_array();
	for (size_t i = 0; i < r->nbad; i++) {
		json_object *n = json_object_new_object();
		_cleanup_free_ char *file = xstrdup_shown(r->bad[i].file);
		_cleanup_free_ char *t = xasprintf("%s: %s", file, r->bad[i].error);
		json_object_object_add(n, "level", J_STR("warning"));
		json_object_object_add(n, "message", message(t));
		json_object_array_add(notes, n);
	}
	for (size_t i = 0; i < r->nprocs; i++) {
		const struct proc *p = r->procs[i];
		if (p->covered)
			continue;
		json_object *n = json_object_new_object();
		_cleanup_free_ char *t = xasprintf("pid %ld (%s) not covered: %s", p->pid, p->command,
						   p->not_covered_reason);
		json_object_object_add(n, "level", J_STR("warning"));
		json_object_object_add(n, "message", message(t));
		json_object_array_add(notes, n);
	}
	json_object_object_add(inv, "toolExecutionNotifications", notes);
	json_object *invs = json_object_new_array();
	json_object_array_add(invs, inv);
	json_object_object_add(run, "invocations", invs);

	json_object *results = json_object_new_array();
	for (size_t i = 0; i < r->nsites; i++)
		json_object_array_add(results, result_json(&r->sites[i], o));
	json_object_object_add(run, "results", results);

	json_object *runs = json_object_new_array();
	json_object_array_add(runs, run);
	json_object_object_add(root, "runs", runs);

	fputs(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
							   JSON_C_TO_STRING_SPACED |
							   JSON_C_TO_STRING_NOSLASHESCAPE),
	      out);
	fputc('\n', out);
	json_object_put(root);
	return 0;
}
