#!/bin/bash
# The library exports exactly the functions of the table in functions.h:
# nothing internal leaks out (-fvisibility=hidden), no wrapper is missing.
lib=$1 table=$2
want=$(grep -oE '^ *X\([^,]+, *[A-Za-z0-9_]+,' "$table" | sed -E 's/.*, *([A-Za-z0-9_]+),$/\1/' | sort -u)
have=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TWiV]$/ {print $3}' | sed 's/@.*//' | grep -vE '^(_init|_fini)$' | sort -u)
n=0; fail=0
extra=$(printf '%s\n' "$have" | grep -vxF -f <(printf '%s\n' "$want") || true)
missing=$(printf '%s\n' "$want" | grep -vxF -f <(printf '%s\n' "$have") || true)
n=$((n+1)); if [ -z "$extra" ]; then echo "ok $n - no symbol exported beyond the table"; else echo "not ok $n - exported but not in the table: $extra"; fail=1; fi
n=$((n+1)); if [ -z "$missing" ]; then echo "ok $n - every table row is exported"; else echo "not ok $n - in the table but not exported: $missing"; fail=1; fi
echo "1..$n"
exit $fail
