/* SPDX-License-Identifier: MIT */
#ifndef RCLEAK_REPORT_RENDER_H
#define RCLEAK_REPORT_RENDER_H

#include "model.h"

#include <stdio.h>

struct render_opts {
	const char *cwd;     /* for repository-relative paths (SARIF, GitHub) */
	bool verbose;        /* text: print the tree and summary even when clean */
	const char *command; /* "report" or "run", for SARIF's invocation */
};

int render_text(FILE *out, const struct report *r, const struct render_opts *o);
int render_json(FILE *out, const struct report *r, const struct render_opts *o);
int render_sarif(FILE *out, const struct report *r, const struct render_opts *o);
int render_github(FILE *out, const struct report *r, const struct render_opts *o);

/* The SUMMARY line, without a newline; shared by text and github. */
char *summary_line(const struct report *r);
/* A path relative to cwd when it lies under it, else the path itself. */
const char *relative_path(const char *path, const char *cwd);
/* A short headline for a site: "3 file descriptors leaked from one site". */
char *site_headline(const struct site *s);

#endif
