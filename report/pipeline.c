/* SPDX-License-Identifier: MIT */
/* From loaded reports to a rendered, gated result. */
#include "cli.h"
#include "render.h"
#include "util.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

long process_and_render(struct report *r, const struct options *o, bool run_mode)
{
	/* Unusable inputs: one line each, by file name, whatever the format. */
	for (size_t i = 0; i < r->nbad; i++) {
		_cleanup_free_ char *file = xstrdup_shown(r->bad[i].file);
		warnx("%s: %s", file, r->bad[i].error);
	}

	report_check_coverage(r); /* links the tree too */
	if (!o->no_symbolize)
		symbolize_report(r);
	if (o->suppressions && suppressions_apply(r, o->suppressions) < 0)
		return -1;
	if (o->baseline && baseline_apply(r, o->baseline) < 0)
		return -1;
	report_build_sites(r);
	report_finish(r);
	if (o->write_baseline && baseline_write(r, o->write_baseline) < 0)
		return -1;

	_cleanup_free_ char *cwd = o->source_root ? xstrdup(o->source_root) : getcwd(NULL, 0);
	while (cwd && strlen(cwd) > 1 && cwd[strlen(cwd) - 1] == '/')
		cwd[strlen(cwd) - 1] = '\0';
	struct render_opts ro = { .cwd = cwd, .verbose = o->verbose,
				  .command = run_mode ? "run" : "report" };
	FILE *out = run_mode ? stderr : stdout;
	_cleanup_fclose_ FILE *file = NULL;
	if (o->output) {
		file = fopen(o->output, "we");
		if (!file) {
			warnx("%s: %s", o->output, strerror(errno));
			return -1;
		}
		out = file;
	}
	switch (o->format) {
	case FORMAT_TEXT: render_text(out, r, &ro); break;
	case FORMAT_JSON: render_json(out, r, &ro); break;
	case FORMAT_SARIF: render_sarif(out, r, &ro); break;
	case FORMAT_GITHUB: render_github(out, r, &ro); break;
	}
	if (fflush(out) != 0 || ferror(out)) {
		warnx("%s: write error", o->output ? o->output : run_mode ? "stderr" : "stdout");
		return -1;
	}
	return (long)r->leaks_new;
}
