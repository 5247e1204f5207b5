/* SPDX-License-Identifier: MIT */
/* One-line human descriptions of leaks and frames, shared by the renderers. */
#include "model.h"
#include "suppress.h"
#include "util.h"

#include <inttypes.h>
#include <string.h>

static bool jbool(json_object *o, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) && json_object_get_boolean(v);
}

/* A duration as people read it: "250 ms", "99.728 s", "50 us", in the
 * largest unit it reaches, to a thousandth, trailing zeros dropped (the
 * reports carry nanoseconds: "99728153000 ns" is not readable). */
static void add_ns(struct strbuf *b, const char *what, int64_t ns)
{
	static const struct {
		uint64_t ns;
		const char *name;
	} units[] = { { 1000000000, "s" }, { 1000000, "ms" }, { 1000, "us" }, { 1, "ns" } };
	uint64_t mag = ns < 0 ? -(uint64_t)ns : (uint64_t)ns;
	size_t i = 0;
	while (i < 3 && mag < units[i].ns)
		i++;
	uint64_t unit = units[i].ns;
	uint64_t milli = unit >= 1000 ? mag % unit / (unit / 1000) : 0; /* thousandths */
	char frac[24] = "";
	if (milli) {
		snprintf(frac, sizeof frac, ".%03" PRIu64, milli);
		for (size_t n = strlen(frac); frac[n - 1] == '0'; n--)
			frac[n - 1] = '\0';
	}
	sb_addf(b, ", %s %s%" PRIu64 "%s %s", what, ns < 0 ? "-" : "", mag / unit, frac, units[i].name);
}

char *leak_identity(const struct leak *l)
{
	json_object *o = l->obj;
	struct strbuf b = { 0 };
	long v;
	const char *s;

	switch (l->kind_id) {
	case RC_KIND_FD:
		if (json_get_int(o, "fd", &v))
			sb_addf(&b, "fd %" PRId64, v);
		else
			sb_add(&b, "fd ?");
		sb_addf(&b, ": %s", (s = json_get_str(o, "type")) ? s : "?");
		if ((s = json_get_str(o, "target")))
			sb_addf(&b, " %s", s);
		if (jbool(o, "armed"))
			sb_add(&b, ", armed");
		break;
	case RC_KIND_CHILD:
		sb_add(&b, "child");
		if (json_get_int(o, "pid", &v))
			sb_addf(&b, " pid %" PRId64, v);
		if ((s = json_get_str(o, "command")))
			sb_addf(&b, ": %s", s);
		if ((s = json_get_str(o, "state")))
			sb_addf(&b, ", %s", s);
		if (jbool(o, "daemon"))
			sb_add(&b, ", a daemon (left running)");
		break;
	case RC_KIND_TIMER:
		sb_add(&b, "timer");
		if (json_get_int(o, "timer_id", &v))
			sb_addf(&b, " %" PRId64, v);
		else if ((s = json_get_str(o, "timer_id")))
			sb_addf(&b, " %s", s);
		if ((s = json_get_str(o, "clock")))
			sb_addf(&b, ": %s", s);
		sb_add(&b, jbool(o, "armed") ? ", armed" : ", not armed");
		if (json_get_int(o, "interval_ns", &v) && v)
			add_ns(&b, "interval", v);
		break;
	case RC_KIND_ITIMER:
		sb_addf(&b, "itimer %s", (s = json_get_str(o, "which")) ? s : "?");
		if (json_get_int(o, "value_ns", &v))
			add_ns(&b, "due in", v);
		if (json_get_int(o, "interval_ns", &v) && v)
			add_ns(&b, "interval", v);
		break;
	case RC_KIND_TMPDIR:
		sb_addf(&b, "tmpdir %s", (s = json_get_str(o, "path")) ? s : "?");
		if (json_get_int(o, "entries", &v))
			sb_addf(&b, ", %" PRId64 " %s", v, v == 1 ? "entry" : "entries");
		break;
	case RC_KIND_TMPFILE:
		sb_addf(&b, "tmpfile %s", (s = json_get_str(o, "path")) ? s : "?");
		if (json_get_int(o, "bytes", &v))
			sb_addf(&b, ", %" PRId64 " %s", v, v == 1 ? "byte" : "bytes");
		break;
	case RC_KIND_THREAD:
		sb_add(&b, "thread");
		if (json_get_int(o, "thread_tid", &v))
			sb_addf(&b, " tid %" PRId64, v);
		if ((s = json_get_str(o, "start_routine")))
			sb_addf(&b, " (%s)", s);
		if ((s = json_get_str(o, "state")))
			sb_addf(&b, ": %s", s);
		sb_add(&b, jbool(o, "detached") ? ", detached" : ", joinable");
		break;
	default:
		sb_add(&b, l->kind);
		break;
	}
	if (jbool(o, "untracked"))
		sb_add(&b, " (untracked)");
	else if ((s = json_get_str(o, "acquired_by")))
		sb_addf(&b, " (%s)", s);
	if (jbool(o, "across_exec"))
		sb_add(&b, ", across exec");
	return sb_steal_shown(&b);
}

char *leak_cleanup_desc(const struct leak *l)
{
	const char *c = json_get_str(l->obj, "cleanup");
	if (!c || strcmp(c, "none") == 0)
		return NULL;
	const char *sig = json_get_str(l->obj, "cleanup_signal");
	if (strcmp(c, "killed") == 0 && sig) {
		_cleanup_free_ char *shown = xstrdup_shown(sig);
		return xasprintf("killed by %s", shown);
	}
	return xstrdup_shown(c);
}

char *frame_desc(const struct frame *f)
{
	struct strbuf b = { 0 };
	if (f->function)
		sb_add(&b, f->function);
	if (f->file) {
		sb_addf(&b, "%s%s", b.len ? " " : "", f->file);
		if (f->line)
			sb_addf(&b, ":%d", f->line);
	}
	/* "(app+0x1234)" after a name; bare "app+0x1234" when that is all there is. */
	const char *open = b.len ? " (" : "", *close = b.len ? ")" : "";
	if (f->module && f->has_offset)
		sb_addf(&b, "%s%s+0x%" PRIx64 "%s", open, path_basename(f->module), f->offset,
			close);
	else if (f->module)
		sb_addf(&b, "%s%s%s", open, path_basename(f->module), close);
	else if (f->lang)
		sb_addf(&b, "%s%s%s", open, f->lang, close);
	if (!b.len)
		sb_add(&b, "??");
	if (f->build_id_mismatch)
		sb_add(&b, " [build-id mismatch: module rebuilt since the report]");
	return sb_steal_shown(&b);
}

const struct frame *leak_location(const struct leak *l)
{
	/* In a script the program's own line is the script's innermost frame,
	 * not the interpreter's C source below it. */
	for (size_t i = 0; i < l->nframes; i++)
		if (l->frames[i].lang && l->frames[i].file && l->frames[i].line > 0)
			return &l->frames[i];
	for (size_t i = 0; i < l->nframes; i++)
		if (l->frames[i].file && l->frames[i].line > 0)
			return &l->frames[i];
	return NULL;
}

const char *kind_title(const char *kind, size_t n)
{
	static const struct {
		const char *kind, *one, *many;
	} titles[] = {
		{ "fd", "file descriptor", "file descriptors" },
		{ "child", "child process", "child processes" },
		{ "timer", "POSIX timer", "POSIX timers" },
		{ "itimer", "interval timer", "interval timers" },
		{ "tmpdir", "temporary directory", "temporary directories" },
		{ "tmpfile", "temporary file", "temporary files" },
		{ "thread", "thread", "threads" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(titles); i++)
		if (strcmp(titles[i].kind, kind) == 0)
			return n == 1 ? titles[i].one : titles[i].many;
	return kind;
}

char *kind_counts(const size_t by_kind[8])
{
	struct strbuf b = { 0 };
	for (int k = 0; k < 8; k++) {
		if (!by_kind[k])
			continue;
		sb_addf(&b, "%s%zu %s", b.len ? ", " : "", by_kind[k],
			k < RC_KIND_COUNT ? rc_kind_name(k) : "other");
	}
	return sb_steal(&b);
}
