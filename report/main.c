/* SPDX-License-Identifier: MIT */
/* rcleak: command line parsing and the `report` command. */
#include "cli.h"
#include "util.h"

#include <getopt.h>
#include <string.h>

static const char usage_main[] =
	"Usage: rcleak run [OPTIONS] [--] CMD [ARGS...]\n"
	"       rcleak report [OPTIONS] FILE|DIR...\n"
	"       rcleak --help | --version\n"
	"\n"
	"rcleak finds resources a process tree did not release: file descriptors, child\n"
	"processes, timers, interval timers, temporary directories and files, threads.\n"
	"\n"
	"Commands:\n"
	"  run     run CMD with librcleak.so preloaded in every dynamically linked\n"
	"          descendant, then print one merged report (on stderr) and exit with\n"
	"          CMD's own status, or --error-exitcode if CMD succeeded but leaked\n"
	"  report  merge, symbolize, filter and render per-process or merged JSON\n"
	"          reports (files or directories of *.json) on stdout\n"
	"\n"
	"Options for both:\n"
	"  -f, --format=FMT          text (default), json (merged, see docs/cli.md),\n"
	"                            sarif (SARIF 2.1.0), github (workflow annotations)\n"
	"  -o, --output=FILE         write the report to FILE\n"
	"      --suppressions=FILE   KIND:PATTERN rules, KIND one of fd child timer\n"
	"                            itimer tmpdir tmpfile thread, or leak for any\n"
	"      --baseline=FILE       only leaks at sites not in FILE fail the gate\n"
	"      --write-baseline=FILE record the leak sites found into FILE\n"
	"      --error-exitcode=N    exit status when leaks were found and the command\n"
	"                            succeeded (default 23; 0 disables)\n"
	"      --no-symbolize        do not read DWARF/ELF symbols for missing names\n"
	"      --source-root=DIR     sarif, github: paths under DIR are written relative\n"
	"                            to it (default: the current directory)\n"
	"  -v, --verbose             text: print the process tree even when clean, and\n"
	"                            every process of a large one\n"
	"  -h, --help                this help (rcleak run --help: the run options)\n"
	"      --version             print the version\n"
	"\n"
	"Exit status: run: CMD's status (128+N if killed by signal N); if it is 0 and\n"
	"new unsuppressed leaks were found, --error-exitcode. report: --error-exitcode\n"
	"on new leaks, else 0. 2: usage error, bad suppression file, no report read.\n"
	"125: run could not start CMD (126/127: CMD not executable / not found).\n";

static const char usage_run[] =
	"Usage: rcleak run [OPTIONS] [--] CMD [ARGS...]\n"
	"\n"
	"Runs CMD with librcleak.so appended to LD_PRELOAD (an existing LD_PRELOAD is\n"
	"kept) and RCLEAK_OPTIONS extended with json_path=DIR/rcleak.%p.json, so that\n"
	"each process of the tree writes its report into DIR. Forwards SIGINT, SIGTERM\n"
	"and SIGHUP to CMD. Then prints the merged report on stderr (or --output) and\n"
	"exits with CMD's status, or with --error-exitcode when CMD exited 0 but new,\n"
	"unsuppressed leaks were found.\n"
	"\n"
	"Run options:\n"
	"      --report-dir=DIR      collect the per-process reports in DIR (kept);\n"
	"                            default: a private temporary directory, removed\n"
	"                            afterwards unless --keep-reports\n"
	"      --keep-reports        keep the temporary report directory (its path is\n"
	"                            printed)\n"
	"      --stack-depth=N       frames per acquisition stack (RCLEAK_OPTIONS\n"
	"                            stack_depth)\n"
	"      --cleanup=WHAT        1, 0, or families to clean at exit, e.g.\n"
	"                            child,tmpdir (RCLEAK_OPTIONS cleanup)\n"
	"      --signals=LIST        signals whose default action gets a report\n"
	"                            (RCLEAK_OPTIONS signals)\n"
	"      --suppressions=FILE   also passed in process, so that suppressed\n"
	"                            survivors are not cleaned either\n"
	"\n"
	"Report options: --format, --output, --baseline, --write-baseline,\n"
	"--error-exitcode, --no-symbolize, --source-root, --verbose (rcleak --help).\n"
	"\n"
	"Environment: RCLEAK_LIBRARY overrides the path of librcleak.so.\n";

enum {
	OPT_SUPPRESSIONS = 256,
	OPT_BASELINE,
	OPT_WRITE_BASELINE,
	OPT_ERROR_EXITCODE,
	OPT_NO_SYMBOLIZE,
	OPT_REPORT_DIR,
	OPT_KEEP_REPORTS,
	OPT_STACK_DEPTH,
	OPT_CLEANUP,
	OPT_SIGNALS,
	OPT_VERSION,
	OPT_SOURCE_ROOT,
};

static const struct option long_opts[] = {
	{ "format", required_argument, NULL, 'f' },
	{ "output", required_argument, NULL, 'o' },
	{ "suppressions", required_argument, NULL, OPT_SUPPRESSIONS },
	{ "baseline", required_argument, NULL, OPT_BASELINE },
	{ "write-baseline", required_argument, NULL, OPT_WRITE_BASELINE },
	{ "error-exitcode", required_argument, NULL, OPT_ERROR_EXITCODE },
	{ "no-symbolize", no_argument, NULL, OPT_NO_SYMBOLIZE },
	{ "source-root", required_argument, NULL, OPT_SOURCE_ROOT },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "report-dir", required_argument, NULL, OPT_REPORT_DIR },
	{ "keep-reports", no_argument, NULL, OPT_KEEP_REPORTS },
	{ "stack-depth", required_argument, NULL, OPT_STACK_DEPTH },
	{ "cleanup", required_argument, NULL, OPT_CLEANUP },
	{ "signals", required_argument, NULL, OPT_SIGNALS },
	{ NULL, 0, NULL, 0 },
};

static int usage_error(const char *msg, const char *arg)
{
	if (arg)
		warnx("%s '%s'", msg, arg);
	else
		warnx("%s", msg);
	fputs("Try 'rcleak --help'.\n", stderr);
	return EXIT_USAGE;
}

static bool parse_format(const char *s, enum format *f)
{
	static const struct {
		const char *name;
		enum format f;
	} formats[] = { { "text", FORMAT_TEXT }, { "json", FORMAT_JSON },
			{ "sarif", FORMAT_SARIF }, { "github", FORMAT_GITHUB } };
	for (size_t i = 0; i < ARRAY_SIZE(formats); i++)
		if (strcmp(s, formats[i].name) == 0) {
			*f = formats[i].f;
			return true;
		}
	return false;
}

static bool parse_uint(const char *s, long max, long *out)
{
	char *end;
	if (!*s || *s == '-' || *s == '+')
		return false;
	long v = strtol(s, &end, 10);
	if (*end || v < 0 || v > max)
		return false;
	*out = v;
	return true;
}

/* Returns -1 when parsing succeeded and the caller should go on, else an exit status. */
static int parse_options(int argc, char **argv, bool run_mode, struct options *o)
{
	long v;
	int c;
	optind = 1;
	/* run: stop at the first non-option, it is CMD ("+"). */
	while ((c = getopt_long(argc, argv, run_mode ? "+f:o:vh" : "f:o:vh", long_opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (!parse_format(optarg, &o->format))
				return usage_error("unknown format (text, json, sarif, github):", optarg);
			break;
		case 'o': o->output = optarg; break;
		case 'v': o->verbose = true; break;
		case 'h':
			fputs(run_mode ? usage_run : usage_main, stdout);
			return 0;
		case OPT_VERSION:
			puts("rcleak " RCLEAK_VERSION);
			return 0;
		case OPT_SUPPRESSIONS: o->suppressions = optarg; break;
		case OPT_BASELINE: o->baseline = optarg; break;
		case OPT_WRITE_BASELINE: o->write_baseline = optarg; break;
		case OPT_ERROR_EXITCODE:
			if (!parse_uint(optarg, 255, &v))
				return usage_error("--error-exitcode wants 0..255, got", optarg);
			o->error_exitcode = (int)v;
			break;
		case OPT_NO_SYMBOLIZE: o->no_symbolize = true; break;
		case OPT_SOURCE_ROOT: o->source_root = optarg; break;
		case OPT_REPORT_DIR:
		case OPT_KEEP_REPORTS:
		case OPT_STACK_DEPTH:
		case OPT_CLEANUP:
		case OPT_SIGNALS:
			if (!run_mode)
				return usage_error("option only valid with 'rcleak run':",
						   argv[optind - 1]);
			if (c == OPT_REPORT_DIR)
				o->report_dir = optarg;
			else if (c == OPT_KEEP_REPORTS)
				o->keep_reports = true;
			else if (c == OPT_STACK_DEPTH) {
				if (!parse_uint(optarg, 256, &v) || v == 0)
					return usage_error("--stack-depth wants 1..256, got", optarg);
				o->stack_depth = optarg;
			} else if (c == OPT_CLEANUP)
				o->cleanup = optarg;
			else
				o->signals = optarg;
			break;
		default:
			fputs("Try 'rcleak --help'.\n", stderr);
			return EXIT_USAGE;
		}
	}
	o->argv = argv + optind;
	o->argc = argc - optind;
	return -1;
}

static int cmd_report(const struct options *o)
{
	if (o->argc == 0)
		return usage_error("report: no input FILE or DIR given", NULL);
	struct report r = { 0 };
	for (int i = 0; i < o->argc; i++)
		report_add_path(&r, o->argv[i]);
	if (r.nprocs == 0) {
		for (size_t i = 0; i < r.nbad; i++)
			warnx("%s: %s", r.bad[i].file, r.bad[i].error);
		warnx("report: no usable report found");
		report_free(&r);
		return EXIT_USAGE;
	}
	long new_leaks = process_and_render(&r, o, false);
	report_free(&r);
	if (new_leaks < 0)
		return EXIT_USAGE;
	return gate_exit_status(0, new_leaks, o->error_exitcode);
}

int main(int argc, char **argv)
{
	struct options o = { .format = FORMAT_TEXT, .error_exitcode = DEFAULT_ERROR_EXITCODE };
	if (argc < 2)
		return usage_error("missing command (run or report)", NULL);
	const char *cmd = argv[1];
	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
		fputs(usage_main, stdout);
		return 0;
	}
	if (strcmp(cmd, "--version") == 0) {
		puts("rcleak " RCLEAK_VERSION);
		return 0;
	}
	bool run_mode = strcmp(cmd, "run") == 0;
	if (!run_mode && strcmp(cmd, "report") != 0)
		return usage_error("unknown command (run or report):", cmd);

	int r = parse_options(argc - 1, argv + 1, run_mode, &o);
	if (r >= 0)
		return r;
	if (run_mode) {
		if (o.argc == 0)
			return usage_error("run: no command given", NULL);
		return cmd_run(&o);
	}
	return cmd_report(&o);
}
