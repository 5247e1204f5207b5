/* SPDX-License-Identifier: MIT */
/*
 * Runs a fuzz target over files, without libFuzzer: each argument is a file
 * or a directory of files, each file one input.  This is how the checked-in
 * corpus (the seeds, and every input a fuzzing run found a bug with) stays
 * a regression test in CI, built with gcc's sanitizers (meson.build).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rbe");
	if (!f) {
		perror(path);
		return -1;
	}
	size_t cap = 1 << 16, n = 0;
	uint8_t *buf = malloc(cap);
	for (size_t r; buf && (r = fread(buf + n, 1, cap - n, f)) > 0;) {
		n += r;
		if (n == cap) {
			uint8_t *bigger = realloc(buf, cap *= 2);
			if (!bigger)
				free(buf);
			buf = bigger;
		}
	}
	fclose(f);
	if (!buf)
		return -1;
	/* An exact-size copy, so that a read past the input is caught. */
	uint8_t *data = malloc(n ? n : 1);
	memcpy(data, buf, n);
	free(buf);
	(void)LLVMFuzzerTestOneInput(data, n);
	free(data);
	return 1;
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
	int total = 0;
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) != 0) {
			perror(argv[i]);
			return 1;
		}
		if (!S_ISDIR(st.st_mode)) {
			if (run_file(argv[i]) < 0)
				return 1;
			total++;
			continue;
		}
		struct dirent **list;
		int n = scandir(argv[i], &list, NULL, NULL);
		if (n < 0) {
			perror(argv[i]);
			return 1;
		}
		char **names = malloc(sizeof *names * (size_t)(n ? n : 1));
		int m = 0;
		for (int j = 0; j < n; j++) {
			if (list[j]->d_name[0] != '.')
				names[m++] = strdup(list[j]->d_name);
			free(list[j]);
		}
		free(list);
		qsort(names, (size_t)m, sizeof *names, cmp);
		for (int j = 0; j < m; j++) {
			char path[4096];
			snprintf(path, sizeof path, "%s/%s", argv[i], names[j]);
			fprintf(stderr, "replay: %s\n", path);
			if (run_file(path) < 0)
				return 1;
			total++;
			free(names[j]);
		}
		free(names);
	}
	/* A corpus that went missing must not pass as "nothing crashed". */
	if (total == 0) {
		fprintf(stderr, "replay: no input\n");
		return 1;
	}
	printf("replay: %d inputs, no sanitizer finding\n", total);
	return 0;
}
