/* SPDX-License-Identifier: MIT */
/*
 * The text report, for people: the process tree (each process with pid,
 * command, exit and its leaks; pruned to the processes with leaks when
 * large), then the leak sites, most frequent first,
 * each with its stack, then one SUMMARY line. A clean run prints nothing
 * (as LeakSanitizer), and one whose leaks were all suppressed only the
 * SUMMARY line, unless verbose.
 */
#include "render.h"
#include "suppress.h"
#include "util.h"

#include <string.h>

#define MAX_LISTED 10 /* leaks listed per process or per site before "... and N more" */

const char *relative_path(const char *path, const char *cwd)
{
	size_t n = cwd ? strlen(cwd) : 0;
	if (n > 1 && strncmp(path, cwd, n) == 0 && path[n] == '/')
		return path + n + 1;
	return path;
}

char *summary_line(const struct report *r)
{
	struct strbuf b = { 0 };
	size_t covered = 0;
	for (size_t i = 0; i < r->nprocs; i++)
		covered += r->procs[i]->covered;
	sb_addf(&b, "SUMMARY: rcleak: %zu %s", r->leaks, r->leaks == 1 ? "leak" : "leaks");
	if (r->leaks) {
		_cleanup_free_ char *kinds = kind_counts(r->by_kind);
		sb_addf(&b, " (%s) in %zu of %zu %s", kinds, r->procs_with_leaks, covered,
			covered == 1 ? "process" : "processes");
	} else {
		sb_addf(&b, " in %zu %s", covered, covered == 1 ? "process" : "processes");
	}
	if (r->baseline_used)
		sb_addf(&b, "; %zu new, %zu known", r->leaks_new, r->leaks_known);
	sb_addf(&b, "; %zu suppressed", r->suppressed);
	if (r->not_covered)
		sb_addf(&b, "; %zu not covered", r->not_covered);
	if (r->nbad)
		sb_addf(&b, "; %zu unreadable %s", r->nbad, r->nbad == 1 ? "report" : "reports");
	return sb_steal(&b);
}

char *site_headline(const struct site *s)
{
	size_t npids = 0;
	long last = -1;
	/* leaks in a site are sorted by pid */
	for (size_t i = 0; i < s->nleaks; i++)
		if (s->leaks[i]->proc->pid != last) {
			npids++;
			last = s->leaks[i]->proc->pid;
		}
	struct strbuf b = { 0 };
	sb_addf(&b, "%zu %s leaked", s->nleaks, kind_title(s->kind, s->nleaks));
	if (s->nleaks > 1)
		sb_add(&b, " from the same site");
	if (npids > 1)
		sb_addf(&b, ", in %zu processes", npids);
	return sb_steal(&b);
}

static const char *status_tag(enum leak_status st)
{
	return st == LEAK_NEW ? " [new]" : st == LEAK_KNOWN ? " [known]" : "";
}

struct tree_ctx {
	FILE *out;
	const struct report *r;
};

static void print_proc(const struct proc *p, int depth, void *ud)
{
	struct tree_ctx *c = ud;
	int indent = 2 + 2 * depth;
	if (!p->covered) {
		fprintf(c->out, "%*spid %ld: %s [not covered: %s]\n", indent, "", p->pid, p->command,
			p->not_covered_reason);
		return;
	}
	size_t mine = 0, listed = 0;
	for (size_t i = 0; i < p->nleaks; i++)
		mine += !p->leaks[i].suppressed;
	size_t supp = p->suppressed_here + (size_t)(p->suppressed_in_process > 0 ? p->suppressed_in_process : 0);
	fprintf(c->out, "%*spid %ld: %s [%s]", indent, "", p->pid, p->command, p->exit_desc);
	if (mine)
		fprintf(c->out, ", %zu %s", mine, mine == 1 ? "leak" : "leaks");
	else
		fputs(", no leaks", c->out);
	if (supp)
		fprintf(c->out, " (%zu suppressed)", supp);
	fputc('\n', c->out);
	for (size_t i = 0; i < p->nleaks; i++) {
		const struct leak *l = &p->leaks[i];
		if (l->suppressed)
			continue;
		if (listed++ == MAX_LISTED) {
			fprintf(c->out, "%*s    ... and %zu more\n", indent, "", mine - MAX_LISTED);
			break;
		}
		_cleanup_free_ char *id = leak_identity(l);
		_cleanup_free_ char *cl = leak_cleanup_desc(l);
		fprintf(c->out, "%*s    %s%s%s -> site %zu%s\n", indent, "", id, cl ? ", cleanup: " : "",
			cl ? cl : "", l->site + 1, status_tag(l->status));
	}
}

/*
 * A large tree (a test suite's run makes hundreds of processes) is shown
 * pruned unless verbose: the processes with leaks or not covered, with
 * their ancestors for the path to them, and for each shown parent one line
 * counting the children's subtrees left out, all without leaks. A tree of
 * up to FULL_TREE_MAX processes is shown whole.
 */
#define FULL_TREE_MAX 40

static bool needs_line(const struct proc *p)
{
	if (!p->covered)
		return true;
	for (size_t i = 0; i < p->nleaks; i++)
		if (!p->leaks[i].suppressed)
			return true;
	return false;
}

static size_t subtree_size(const struct proc *p)
{
	size_t n = 1;
	for (size_t i = 0; i < p->nchildren; i++)
		n += subtree_size(p->children[i]);
	return n;
}

static void print_left_out(FILE *out, int depth, size_t n)
{
	if (n)
		fprintf(out, "%*s(%zu more %s without leaks; -v lists them)\n", 2 + 2 * depth, "", n,
			n == 1 ? "process" : "processes");
}

static void print_pruned(const struct proc *p, int depth, struct tree_ctx *c)
{
	print_proc(p, depth, c);
	size_t left_out = 0;
	for (size_t i = 0; i < p->nchildren; i++) {
		if (p->children[i]->shown)
			print_pruned(p->children[i], depth + 1, c);
		else
			left_out += subtree_size(p->children[i]);
	}
	print_left_out(c->out, depth + 1, left_out);
}

static void print_tree(const struct report *r, bool whole, struct tree_ctx *c)
{
	if (whole || r->nprocs <= FULL_TREE_MAX) {
		report_walk(r, print_proc, c);
		return;
	}
	for (size_t i = 0; i < r->nprocs; i++)
		if (needs_line(r->procs[i]))
			for (struct proc *q = r->procs[i]; q && !q->shown; q = q->parent)
				q->shown = true;
	size_t left_out = 0;
	for (size_t i = 0; i < r->nprocs; i++) {
		const struct proc *p = r->procs[i];
		if (p->parent)
			continue;
		if (p->shown)
			print_pruned(p, 0, c);
		else
			left_out += subtree_size(p);
	}
	print_left_out(c->out, 0, left_out);
}

int render_text(FILE *out, const struct report *r, const struct render_opts *o)
{
	if (!o->verbose && r->leaks == 0 && r->not_covered == 0 && r->nbad == 0) {
		/* Nothing to act on.  What suppressions hid is counted in one
		 * line, not a tree: with the built-in rules (make, the linker)
		 * that is most builds. */
		if (r->suppressed) {
			_cleanup_free_ char *sum = summary_line(r);
			fprintf(out, "%s\n", sum);
		}
		return 0;
	}

	fputs("rcleak: process tree\n", out);
	struct tree_ctx c = { out, r };
	print_tree(r, o->verbose, &c);

	if (r->nsites)
		fputs("rcleak: leak sites, most frequent first\n", out);
	for (size_t i = 0; i < r->nsites; i++) {
		const struct site *s = &r->sites[i];
		_cleanup_free_ char *head = site_headline(s);
		fprintf(out, "  site %zu: %s%s\n", i + 1, head, status_tag(s->status));
		for (size_t k = 0; k < s->nleaks; k++) {
			if (k == MAX_LISTED) {
				fprintf(out, "      ... and %zu more\n", s->nleaks - MAX_LISTED);
				break;
			}
			const struct leak *l = s->leaks[k];
			_cleanup_free_ char *id = leak_identity(l);
			_cleanup_free_ char *cl = leak_cleanup_desc(l);
			fprintf(out, "      %s in pid %ld%s%s\n", id, l->proc->pid,
				cl ? ", cleanup: " : "", cl ? cl : "");
		}
		const struct leak *l = s->leaks[0];
		if (l->nframes == 0)
			fputs("      (no stack: not acquired through an interposed call)\n", out);
		/* Below a script's innermost frame, the interpreter's own C frames
		 * (its evaluation loop, its main) are left to the JSON report. */
		size_t hidden = 0;
		bool in_script = false;
		for (size_t f = 0; f < l->nframes; f++) {
			in_script = in_script || l->frames[f].lang;
			if (in_script && !l->frames[f].lang) {
				hidden++;
				continue;
			}
			_cleanup_free_ char *fd = frame_desc(&l->frames[f]);
			fprintf(out, "      #%zu %s\n", f, fd);
		}
		if (hidden)
			fprintf(out, "      (%zu more frames of the interpreter not shown; --format=json has them)\n",
				hidden);
	}
	_cleanup_free_ char *sum = summary_line(r);
	fprintf(out, "%s\n", sum);
	return 0;
}
