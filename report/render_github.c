/* SPDX-License-Identifier: MIT */
/*
 * GitHub Actions workflow commands: one ::error (new or unrated site) or
 * ::warning (site known from the baseline) per leak site, at the innermost
 * frame with file:line, then the SUMMARY line as plain text.
 * https://docs.github.com/actions/using-workflows/workflow-commands-for-github-actions
 */
#include "render.h"
#include "util.h"
#include "utf8.h"

#include <string.h>

/* Escaping rules of workflow commands: data escapes % CR LF; property values
 * also escape ':' and ','.  Other control characters are shown escaped, as
 * in every text for people. */
static void put_escaped(FILE *out, const char *s, bool property)
{
	for (; *s; s++) {
		switch (*s) {
		case '%': fputs("%25", out); break;
		case '\r': fputs("%0D", out); break;
		case '\n': fputs("%0A", out); break;
		case ':': fputs(property ? "%3A" : ":", out); break;
		case ',': fputs(property ? "%2C" : ",", out); break;
		default: {
			/* Other control characters, shown escaped (common/utf8.h) */
			char esc[8];
			size_t elen, in = rc_ctl_escape((const unsigned char *)s, esc, &elen);
			if (in) {
				fwrite(esc, 1, elen, out);
				s += in - 1;
			} else {
				fputc(*s, out);
			}
			break;
		}
		}
	}
}

int render_github(FILE *out, const struct report *r, const struct render_opts *o)
{
	for (size_t i = 0; i < r->nbad; i++) {
		fputs("::warning title=rcleak: unreadable report::", out);
		_cleanup_free_ char *file = xstrdup_shown(r->bad[i].file);
		put_escaped(out, file, false);
		fputs(": ", out);
		put_escaped(out, r->bad[i].error, false);
		fputc('\n', out);
	}
	for (size_t i = 0; i < r->nsites; i++) {
		const struct site *s = &r->sites[i];
		const struct leak *first = s->leaks[0];
		const struct frame *loc = leak_location(first);
		fprintf(out, "::%s ", s->status == LEAK_KNOWN ? "warning" : "error");
		if (loc) {
			fputs("file=", out);
			put_escaped(out, relative_path(loc->file, o->cwd), true);
			fprintf(out, ",line=%d,", loc->line);
		}
		_cleanup_free_ char *head = site_headline(s);
		_cleanup_free_ char *title = xasprintf("rcleak: %s%s", head,
						       s->status == LEAK_KNOWN ? " (known)" : "");
		fputs("title=", out);
		put_escaped(out, title, true);
		fputs("::", out);

		struct strbuf msg = { 0 };
		for (size_t k = 0; k < s->nleaks && k < 5; k++) {
			_cleanup_free_ char *id = leak_identity(s->leaks[k]);
			sb_addf(&msg, "%s in pid %ld\n", id, s->leaks[k]->proc->pid);
		}
		if (s->nleaks > 5)
			sb_addf(&msg, "... and %zu more\n", s->nleaks - 5);
		for (size_t f = 0; f < first->nframes; f++) {
			_cleanup_free_ char *fd = frame_desc(&first->frames[f]);
			sb_addf(&msg, "#%zu %s\n", f, fd);
		}
		if (msg.len && msg.s[msg.len - 1] == '\n')
			msg.s[--msg.len] = '\0';
		_cleanup_free_ char *m = sb_steal(&msg);
		put_escaped(out, m, false);
		fputc('\n', out);
	}
	_cleanup_free_ char *sum = summary_line(r);
	fprintf(out, "%s\n", sum);
	return 0;
}
