#!/bin/bash
# What every preloaded process pays in page faults depends on where the
# linker put librcleak's code and data (shim/meson.build, RC_HOT and
# RC_LARGE in shim/rc.h).  Checked on the built library:
#  1. .bss holds no object of 1 KiB or more (those go to .lbss), and ends in
#     the page where .data starts: the small globals share the page ld.so
#     writes anyway;
#  2. DT_FINI lies in the 64 KiB code window of DT_INIT, so exit faults in
#     no window of its own.
lib=$1
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
echo "1..$n"
exit $fail
