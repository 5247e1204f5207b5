#!/usr/bin/env bash
# One command from a fresh Debian machine: install dependencies, build, and run
# rcleak on the bundled leaky demo so you see a real report.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
BUILD=${BUILD_DIR:-build}
[ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" >/dev/null
ninja -C "$BUILD" >/dev/null
echo "== LD_PRELOAD=$BUILD/shim/librcleak.so $BUILD/examples/leaky_demo"
LD_PRELOAD="$PWD/$BUILD/shim/librcleak.so" "$BUILD/examples/leaky_demo" || true
if [ -x "$BUILD/report/rcleak" ]; then
  echo
  echo "== $BUILD/report/rcleak run -- $BUILD/examples/leaky_demo"
  "$BUILD/report/rcleak" run -- "$BUILD/examples/leaky_demo" || echo "(exit status $?: leaks found)"
fi
