#!/bin/bash
# What every preloaded process pays in page faults depends on where the
# linker put librcleak's code and data (shim/meson.build, RC_HOT and
# RC_LARGE in shim/rc.h).  Checked on the built library:
#  1. .bss holds no object of 1 KiB or more (those go to .lbss), and ends in
#     the page where .data starts: the small globals share the page ld.so
#     writes anyway;
#  2. DT_FINI lies in the 64 KiB code window of DT_INIT, so exit faults in
#     no window of its own;
#  3. every function of librcleak that a clean short process runs (counted
#     by callgrind) lies in that window too: the kernel maps a file's pages
#     a 64 KiB window at a time, so one outside is a page fault in every
#     process.  RC_HOT puts a function there wherever its file is linked.
lib=$1
prog=$2
n=0; fail=0
ok() { n=$((n+1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi; }

read -r bss_idx bss_addr bss_size < <(readelf -SW "$lib" |
  sed -n 's/^ *\[ *\([0-9]*\)\] \.bss  *NOBITS  *\([0-9a-f]*\) [0-9a-f]* \([0-9a-f]*\).*/\1 \2 \3/p')
data_addr=$(readelf -SW "$lib" | sed -n 's/^ *\[ *[0-9]*\] \.data  *PROGBITS  *\([0-9a-f]*\) .*/\1/p')
if [ -z "$bss_idx" ] || [ -z "$data_addr" ]; then
  echo "not ok 1 - no .bss or .data in $lib"; echo "1..1"; exit 1
fi
big=$(readelf -sW "$lib" | awk -v idx="$bss_idx" '$7 == idx && $3 + 0 >= 1024 { print $8 " (" $3 " bytes)" }' | sort -u)
ok "$([ -z "$big" ] && echo 0 || echo 1)" "no object of 1 KiB or more in .bss${big:+: }$(echo $big)"
bss_last=$(( (0x$bss_addr + 0x$bss_size - 1) / 4096 )); data_page=$(( 0x$data_addr / 4096 ))
ok "$([ "$bss_last" = "$data_page" ] && echo 0 || echo 1)" \
  ".bss ends in the page of .data (page $bss_last, .data in page $data_page)"

init=$(readelf -dW "$lib" | sed -n 's/.*(INIT) *0x\([0-9a-f]*\).*/\1/p')
fini=$(readelf -dW "$lib" | sed -n 's/.*(FINI) *0x\([0-9a-f]*\).*/\1/p')
if [ -z "$fini" ]; then
  ok 0 "no DT_FINI"
else
  ok "$([ $(( 0x$init / 65536 )) = $(( 0x$fini / 65536 )) ] && echo 0 || echo 1)" \
    "DT_FINI (0x$fini) in the code window of DT_INIT (0x$init)"
fi

if ! command -v valgrind >/dev/null || ! command -v callgrind_annotate >/dev/null; then
  n=$((n+1)); echo "ok $n # SKIP valgrind not installed"
else
  out=$(mktemp); trap 'rm -f "$out"' EXIT
  LD_PRELOAD=$lib RCLEAK_OPTIONS=stack_depth=32 valgrind --tool=callgrind --callgrind-out-file="$out" "$prog" 2>/dev/null
  ran=$(callgrind_annotate --threshold=100 "$out" 2>/dev/null |
    sed -n "s|^ *[0-9,]* ([ 0-9.]*%) *[^ ]*:\([A-Za-z_][A-Za-z0-9_.]*\) \[$lib\]\$|\1|p" | sort -u)
  outside=$(for f in $ran; do
    a=$(nm --defined-only "$lib" | awk -v f="$f" '$3 == f && $2 ~ /[tT]/ { print $1; exit }')
    [ -n "$a" ] && [ $(( 0x$a / 65536 )) != $(( 0x$init / 65536 )) ] && echo "$f (0x$a)"
  done)
  nran=$(echo "$ran" | grep -c .)
  ok "$([ "$nran" -ge 10 ] && [ -z "$outside" ] && echo 0 || echo 1)" \
    "the $nran functions a clean short process runs are in that window${outside:+; outside: }$(echo $outside)"
fi
echo "1..$n"
exit $fail
