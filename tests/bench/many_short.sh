#!/bin/sh
# many_short.sh COUNT PROGRAM: run PROGRAM (a short-lived process) COUNT times
# in sequence from one shell; stops at the first failure. Timed as a whole by
# scripts/bench.py (the "many short processes" row).
set -e
count=$1
prog=$2
i=0
while [ "$i" -lt "$count" ]; do
	"$prog"
	i=$((i + 1))
done
