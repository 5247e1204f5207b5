/* SPDX-License-Identifier: MIT */
/*
 * The merged report in memory. The per-process JSON objects (json-c) stay the
 * source of truth: symbolization writes function/file/line into the frame
 * objects, so the merged JSON output carries them and every field we do not
 * know passes through unchanged. The structs below are views on them.
 */
#ifndef RCLEAK_REPORT_MODEL_H
#define RCLEAK_REPORT_MODEL_H

/* Why a dynamically linked program may have had no rcleak in it: the words
 * of every "no report" reason.  A set-user-ID or set-group-ID program
 * (ssh-agent, sudo) runs in secure mode, where ld.so ignores LD_PRELOAD. */
#define NO_SHIM_CAUSES "statically linked, set-user/group-ID, or LD_PRELOAD cleared"

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum leak_status { LEAK_UNRATED = 0, LEAK_NEW, LEAK_KNOWN };

struct frame {
	json_object *obj; /* borrowed from the leak's "stack" array */
	const char *module;
	const char *build_id;
	uint64_t offset;
	bool has_offset;
	const char *function; /* NULL when unknown */
	const char *file;
	int line;             /* 0 when unknown */
	bool build_id_mismatch;
	const char *lang;     /* "python", "bash": a script's frame, no module; else NULL */
};

struct proc;

struct leak {
	json_object *obj; /* borrowed from the process's "leaks" array */
	struct proc *proc;
	const char *kind; /* as written in the report */
	int kind_id;      /* enum rc_kind, -1 for a kind this tool does not know */
	struct frame *frames;
	size_t nframes;
	bool suppressed;
	enum leak_status status;
	char *signature; /* kind + symbolized frames: stable across rebuilds and ASLR */
	size_t site;     /* index into report.sites */
};

struct proc {
	json_object *obj; /* owned reference; NULL for a process that is not covered */
	char *source;     /* file it was read from */
	long pid, ppid;
	char *command;    /* cmdline joined, or exe, or comm */
	char *exit_desc;  /* "exit 0", "signal SIGTERM", ... */
	bool covered;
	char *not_covered_reason;
	struct leak *leaks;
	size_t nleaks;
	long suppressed_in_process; /* summary.suppressed written by the shim */
	size_t suppressed_here;     /* suppressed by this tool */
	struct proc *parent;
	struct proc **children;
	size_t nchildren, cap_children;
	bool shown; /* render_text: a line of its own in a pruned tree */
};

struct site {
	char *signature;
	const char *kind;
	struct leak **leaks;
	size_t nleaks;
	enum leak_status status;
};

struct bad_input {
	char *file;
	char *error;
};

struct report {
	struct proc **procs;
	size_t nprocs, cap_procs;
	struct bad_input *bad;
	size_t nbad, cap_bad;
	struct site *sites;
	size_t nsites;
	bool baseline_used;
	/* Totals, filled by report_finish(). */
	size_t leaks;            /* unsuppressed */
	size_t leaks_new;        /* unsuppressed and not in the baseline */
	size_t leaks_known;
	size_t suppressed;       /* here + in process */
	size_t by_kind[8];       /* unsuppressed, by rc_kind (index 7: unknown kinds) */
	size_t procs_with_leaks;
	size_t not_covered;
};

/* load.c */
void report_add_path(struct report *r, const char *path);
void report_add_bad(struct report *r, const char *file, const char *error);
struct proc *report_add_not_covered(struct report *r, long pid, long ppid, const char *command,
				    const char *reason);
struct proc *report_find_pid(const struct report *r, long pid);

/* A field of a JSON object: the string, or NULL; the integer, or false when
 * the field is absent or of another type. */
const char *json_get_str(json_object *o, const char *key);
bool json_get_int(json_object *o, const char *key, long *out);
/* (Re)read a frame's fields from its JSON object. */
void frame_load(struct frame *f, json_object *obj);
/* The signature of a leak's site (kind + symbolized frames). */
char *leak_signature(const struct leak *l);

/* tree.c: parent/child links, "not covered" children, sites, totals */
void report_link_tree(struct report *r);
/* Whether a report names child `pid` as a daemon it left running. */
bool report_is_daemon(const struct report *r, long pid);
void report_check_coverage(struct report *r);
void report_build_sites(struct report *r);
void report_finish(struct report *r);
void report_free(struct report *r);
/* Calls fn for every process in tree order (depth-first, children by pid). */
void report_walk(const struct report *r, void (*fn)(const struct proc *, int depth, void *),
		 void *ud);

/* describe.c: human descriptions */
char *leak_identity(const struct leak *l); /* "fd 5: file /tmp/x (openat)" */
char *leak_cleanup_desc(const struct leak *l); /* NULL when nothing was done */
char *frame_desc(const struct frame *f); /* "open_log src/log.c:42 (app+0x1234)" */
const struct frame *leak_location(const struct leak *l); /* first frame with file:line */
const char *kind_title(const char *kind, size_t n); /* "file descriptor(s)" */
char *kind_counts(const size_t by_kind[8]); /* "2 fd, 1 child" */

/* symbolize.c */
void symbolize_report(struct report *r);

/* filter.c: suppressions; returns -1 on a bad suppression file (message printed) */
int suppressions_apply(struct report *r, const char *file);
/* The same for a file's text already read (len bytes), named file in messages. */
int suppressions_apply_text(struct report *r, const char *text, size_t len, const char *file);

/* baseline.c */
int baseline_apply(struct report *r, const char *file);  /* -1: unreadable */
int baseline_write(const struct report *r, const char *file);

#endif
