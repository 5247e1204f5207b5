/* SPDX-License-Identifier: MIT */
/*
 * Baselines: the set of known leak sites. A site is identified by its
 * signature, kind + symbolized frames (function names, or module+offset for a
 * frame without a symbol), never addresses, so it survives ASLR and rebuilds.
 *
 * File format: text, one signature a line, sorted; '#' lines are comments.
 */
#include "model.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int baseline_apply(struct report *r, const char *file)
{
	size_t len = 0;
	_cleanup_free_ char *text = read_file(file, &len);
	if (!text) {
		warnx("%s: %s", file, strerror(errno));
		return -1;
	}
	char **sigs = NULL;
	size_t n = 0, cap = 0;
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		size_t l = strlen(line);
		while (l && (line[l - 1] == '\r' || line[l - 1] == ' '))
			line[--l] = '\0';
		if (!*line || *line == '#')
			continue;
		grow(&sigs, &cap, n, sizeof(*sigs));
		sigs[n++] = line;
	}
	if (n)
		qsort(sigs, n, sizeof(*sigs), cmp_strp);
	for (size_t i = 0; i < r->nprocs; i++)
		for (size_t j = 0; j < r->procs[i]->nleaks; j++) {
			struct leak *l = &r->procs[i]->leaks[j];
			if (!l->signature)
				l->signature = leak_signature(l);
			const char *key = l->signature;
			l->status = n && bsearch(&key, sigs, n, sizeof(*sigs), cmp_strp) ?
					    LEAK_KNOWN : LEAK_NEW;
		}
	free(sigs);
	r->baseline_used = true;
	return 0;
}

int baseline_write(const struct report *r, const char *file)
{
	_cleanup_free_ char *tmp = xasprintf("%s.tmp.%ld", file, (long)getpid());
	FILE *f = fopen(tmp, "we");
	if (!f) {
		warnx("%s: %s", file, strerror(errno));
		return -1;
	}
	size_t n = r->nsites;
	_cleanup_free_ char **sigs = xcalloc(n, sizeof(*sigs));
	for (size_t i = 0; i < n; i++)
		sigs[i] = r->sites[i].signature;
	if (n)
		qsort(sigs, n, sizeof(*sigs), cmp_strp);
	fputs("# rcleak baseline v1: one known leak site a line (kind|frames, innermost first)\n", f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s\n", sigs[i]);
	if (ferror(f) | (fclose(f) != 0) || rename(tmp, file) < 0) {
		warnx("%s: %s", file, strerror(errno));
		(void)unlink(tmp);
		return -1;
	}
	return 0;
}
