/* SPDX-License-Identifier: MIT */
/* Unit tests for common/suppress.c (shared with the shim). TAP output. */
#include "suppress.h"

#include <stdio.h>
#include <string.h>

#include "tap.h"


static void match(const char *pat, const char *s, int expect)
{
	char what[256];
	snprintf(what, sizeof(what), "match('%s', '%s') == %d", pat, s, expect);
	ok(rc_supp_match(pat, s) == (expect != 0), what);
}

int main(void)
{
	/* kinds */
	ok(rc_kind_from_name("fd", 2) == RC_KIND_FD, "kind fd");
	ok(rc_kind_from_name("child", 5) == 1, "kind child = 1");
	ok(rc_kind_from_name("thread", 6) == 6, "kind thread = 6");
	ok(rc_kind_from_name("leak", 4) == RC_KIND_ANY && RC_KIND_ANY == 7, "leak = any = 7");
	ok(rc_kind_from_name("fdx", 2) == RC_KIND_FD, "length bounds the name");
	ok(rc_kind_from_name("file", 4) == -1, "unknown kind");
	ok(rc_kind_from_name("", 0) == -1, "empty kind");

	/* LeakSanitizer semantics: substring unless anchored */
	match("open_log", "open_log", 1);
	match("log", "open_log", 1);
	match("^open", "open_log", 1);
	match("^log", "open_log", 0);
	match("log$", "open_log", 1);
	match("open$", "open_log", 0);
	match("^open_log$", "open_log", 1);
	match("^open_lo$", "open_log", 0);
	match("o*g", "xx_open_log_yy", 1);
	match("^o*g$", "open_log", 1);
	match("^o*g$", "open_logx", 0);
	match("op?n", "open", 1);
	match("op?n", "opn", 0);
	match("^*$", "", 1);
	match("^$", "", 1);
	match("^$", "x", 0);
	match("*", "anything", 1);
	match("a*b*c", "axxbyyc", 1);
	match("a*b*c", "axxcyyb", 0);
	match("^/tmp/*.log$", "/tmp/app.log", 1);
	match("^/tmp/*.log$", "/var/tmp/app.log", 0);
	match("x", "", 0);

	/* parsing */
	char text[] = "# comment\n\n  fd : /tmp/app.log  \r\nleak:^main$\nchild:sleep*\n";
	struct rc_supp_rule rules[8];
	size_t cnt = 99;
	char err[128];
	ok(rc_supp_parse(text, "s.supp", rules, 8, &cnt, err, sizeof(err)) == 0, "parse ok");
	ok(cnt == 3, "3 rules");
	ok(rules[0].kind == RC_KIND_FD && strcmp(rules[0].pattern, "/tmp/app.log") == 0 &&
		   rules[0].line == 3, "rule 1 trimmed, line 3");
	ok(rules[1].kind == RC_KIND_ANY && strcmp(rules[1].pattern, "^main$") == 0, "rule 2");
	ok(rules[2].kind == RC_KIND_CHILD && rules[2].line == 5, "rule 3 line 5");

	char bad1[] = "fd:x\n\nfile:foo\n";
	ok(rc_supp_parse(bad1, "s.supp", rules, 8, &cnt, err, sizeof(err)) == -1, "unknown kind fails");
	ok(strncmp(err, "s.supp:3: unknown kind", 22) == 0, err);
	char bad2[] = "fd:x\nno colon here\n";
	ok(rc_supp_parse(bad2, "s.supp", rules, 8, &cnt, err, sizeof(err)) == -1, "missing colon fails");
	ok(strcmp(err, "s.supp:2: expected KIND:PATTERN, got 'no colon here'") == 0, err);
	char bad3[] = "fd:   \n";
	ok(rc_supp_parse(bad3, "f", rules, 8, &cnt, err, sizeof(err)) == -1 &&
		   strcmp(err, "f:1: empty pattern") == 0, err);
	char many[] = "fd:a\nfd:b\nfd:c\n";
	ok(rc_supp_parse(many, "f", rules, 2, &cnt, err, sizeof(err)) == -1 &&
		   strcmp(err, "f:3: too many rules") == 0, err);
	char small_err[8];
	char bad4[] = "zz:a\n";
	ok(rc_supp_parse(bad4, "longfilename", rules, 8, &cnt, small_err, sizeof(small_err)) == -1 &&
		   strlen(small_err) == 7, "error truncated to the buffer");

	/* rc_supp_find */
	char text2[] = "fd:^/tmp/\nchild:worker.c\n";
	ok(rc_supp_parse(text2, "f", rules, 8, &cnt, err, sizeof(err)) == 0 && cnt == 2, "parse 2");
	const char *cands[] = { "spawn", NULL, "src/worker.c", "worker.c" };
	ok(rc_supp_find(rules, cnt, RC_KIND_CHILD, cands, 4) == 1, "child rule matches file");
	ok(rc_supp_find(rules, cnt, RC_KIND_FD, cands, 4) == -1, "fd rule does not");
	const char *fdc[] = { "/tmp/app.log" };
	ok(rc_supp_find(rules, cnt, RC_KIND_FD, fdc, 1) == 0, "fd rule matches target");
	ok(rc_supp_find(rules, cnt, RC_KIND_THREAD, fdc, 1) == -1, "kind must match");
	ok(strcmp(rc_supp_basename("/a/b/c.so"), "c.so") == 0, "basename");

	return tap_done();
}
