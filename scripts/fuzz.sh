#!/bin/sh
# Coverage-guided fuzzing (libFuzzer, with AddressSanitizer and UBSan) of
# what rcleak parses from outside: JSON reports and baselines given to
# `rcleak report`, RCLEAK_OPTIONS, and suppressions files.
#
#   scripts/fuzz.sh [SECONDS-PER-TARGET] [TARGET...]     (default: 60, all)
#
# Targets: report, options, suppress, strings (how the shim writes names
# into its JSON and text reports).  Needs clang and its libFuzzer runtime
# (Debian: clang and libclang-rt-14-dev).  Each
# target starts from its checked-in corpus (tests/fuzz/corpus/TARGET) and
# adds what it finds to a working corpus under $FUZZ_DIR (default
# /tmp/rcleak-fuzz); a crash leaves its input there as crash-*.  To keep a
# finding as a regression test, copy the input into tests/fuzz/corpus/TARGET:
# `meson test fuzz-replay` runs every file there through the same targets
# built with gcc's sanitizers.
set -eu
cd "$(dirname "$0")/.."
secs=${1:-60}
[ $# -gt 0 ] && shift
targets=${*:-report options suppress strings}
out=${FUZZ_DIR:-/tmp/rcleak-fuzz}
mkdir -p "$out"
cc=${CC_FUZZ:-clang}
if ! command -v "$cc" >/dev/null 2>&1; then
	echo "fuzz.sh: $cc not found (Debian: apt-get install clang libclang-rt-14-dev)" >&2
	exit 2
fi
flags="-std=gnu17 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined
       -fno-sanitize-recover=undefined -Icommon -Ireport -Ishim"

build() {
	case $1 in
	report)
		# shellcheck disable=SC2046,SC2086
		$cc $flags $(pkg-config --cflags json-c) -Dmain=rcleak_main \
			-DRCLEAK_VERSION='"fuzz"' -DRCLEAK_INSTALLED_LIBRARY='"/nonexistent"' \
			tests/fuzz/fuzz_report.c report/*.c common/suppress.c \
			$(pkg-config --libs json-c libdw) -o "$out/fuzz_report" ;;
	options)
		# shellcheck disable=SC2086
		$cc $flags -Itests/fuzz tests/fuzz/fuzz_options.c shim/options.c shim/strbuf.c \
			common/suppress.c -o "$out/fuzz_options" ;;
	strings)
		# shellcheck disable=SC2046,SC2086
		$cc $flags -Itests/fuzz $(pkg-config --cflags json-c) tests/fuzz/fuzz_strings.c \
			shim/strbuf.c $(pkg-config --libs json-c) -o "$out/fuzz_strings" ;;
	suppress)
		# shellcheck disable=SC2086
		$cc $flags -Itests/fuzz tests/fuzz/fuzz_suppress.c common/suppress.c -o "$out/fuzz_suppress" ;;
	*) echo "fuzz.sh: unknown target '$1' (report, options, suppress, strings)" >&2; exit 2 ;;
	esac
}

status=0
for t in $targets; do
	build "$t"
	mkdir -p "$out/corpus-$t"
	echo "fuzz.sh: $t for ${secs}s (corpus $out/corpus-$t)"
	dict=
	[ -f "tests/fuzz/$t.dict" ] && dict="-dict=$PWD/tests/fuzz/$t.dict"
	# The tool's own complaints about bad input go to stderr by design.
	# shellcheck disable=SC2086
	if ! (cd "$out" && ASAN_OPTIONS=detect_leaks=0 "./fuzz_$t" -max_total_time="$secs" \
		-timeout=10 -rss_limit_mb=4096 -print_final_stats=1 $dict \
		"corpus-$t" "$OLDPWD/tests/fuzz/corpus/$t" 2>"$out/$t.log"); then
		echo "fuzz.sh: $t FAILED; see $out/$t.log and $out/crash-*" >&2
		status=1
	fi
	grep -E "^stat::(number_of_executed_units|peak_rss_mb|new_units_added)" "$out/$t.log" || true
done
exit $status
