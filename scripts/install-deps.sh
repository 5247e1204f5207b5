#!/usr/bin/env bash
# Installs what rcleak needs to build and test on Debian/Ubuntu (as root, or via sudo).
set -euo pipefail
pkgs=(gcc g++ make meson ninja-build pkg-config binutils libunwind-dev libdw-dev libelf-dev
      libjson-c-dev python3 bash procps valgrind strace coreutils util-linux bsdutils gpg gpg-agent jq gdb
      postgresql)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
