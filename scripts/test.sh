#!/usr/bin/env bash
# Build and run the whole test suite (unit, shim families, CLI); the last line
# is "N passed, N failed".  Benchmarks are not run here (scripts/bench.py).
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh || { echo "0 passed, 1 failed"; exit 1; }
BUILD=${BUILD_DIR:-build}
[ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" >/dev/null || { echo "0 passed, 1 failed"; exit 1; }
if ! ninja -C "$BUILD"; then
  echo "0 passed, 1 failed"
  exit 1
fi
meson test -C "$BUILD" --no-suite bench --print-errorlogs --num-processes 2 "$@"
rc=$?
python3 - "$BUILD/meson-logs/testlog.json" <<'PY'
import json, sys
passed = failed = skipped = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["result"] in ("OK", "EXPECTEDFAIL"):
        passed += 1
    elif r["result"] == "SKIP":
        skipped += 1
    else:
        failed += 1
print("%d passed, %d failed%s" % (passed, failed, ", %d skipped" % skipped if skipped else ""))
PY
exit $rc
