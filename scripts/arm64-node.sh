#!/usr/bin/env bash
# An arm64 Node.js runnable under qemu on an x86-64 Debian machine, for testing the linux-arm64 addon:
# Debian's arm64 `nodejs` package and every package it needs at run time (libc6 included, so the
# folder is self-contained), unpacked into build-arm64/sysroot. Run it with
#   qemu-aarch64-static -L build-arm64/sysroot build-arm64/sysroot/usr/bin/node ...
# Cached: nothing is done when that node already runs. Needs root and apt (it adds the arm64
# architecture to dpkg and updates apt's lists); prints SKIP with the reason and exits 0 otherwise.
#   TK_ARM64_SYSROOT  the folder (default build-arm64/sysroot)
set -euo pipefail
cd "$(dirname "$0")/.."
root=${TK_ARM64_SYSROOT:-build-arm64/sysroot}
QEMU=${QEMU_AARCH64:-$(command -v qemu-aarch64-static || command -v qemu-aarch64 || true)}
if [ -z "$QEMU" ] || ! command -v "$QEMU" >/dev/null 2>&1; then echo "SKIP arm64-node: qemu-aarch64 not found${QEMU:+ ($QEMU)} (apt-get install qemu-user-static)"; exit 0; fi

probe() { "$QEMU" -L "$root" "$root/usr/bin/node" -p "process.arch + ' ' + process.version + ' napi ' + process.versions.napi" 2>&1; }
if [ -x "$root/usr/bin/node" ] && v=$(probe) && [ "${v%% *}" = arm64 ]; then
  echo "arm64-node: cached $root/usr/bin/node: $v"
  exit 0
fi

if [ "$(id -u)" != 0 ]; then echo "SKIP arm64-node: not root (dpkg --add-architecture arm64 and apt-get update need it)"; exit 0; fi
for tool in apt-get apt-cache dpkg dpkg-deb; do
  if ! command -v "$tool" >/dev/null 2>&1; then echo "SKIP arm64-node: $tool not found (not a Debian-like system)"; exit 0; fi
done

start=$SECONDS
log=build-arm64/arm64-node.log
mkdir -p build-arm64
: > "$log"
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  echo "arm64-node: dpkg --add-architecture arm64"
  dpkg --add-architecture arm64
fi
echo "arm64-node: apt-get update"
if ! apt-get update -qq >> "$log" 2>&1; then
  echo "SKIP arm64-node: apt-get update failed (see $log)"
  exit 0
fi
if ! apt-cache show nodejs:arm64 >/dev/null 2>&1; then echo "SKIP arm64-node: apt knows no nodejs:arm64 package"; exit 0; fi

# nodejs:arm64 and its run-time dependencies (Depends, Pre-Depends; providers of virtual ones),
# walked breadth first: arm64 packages as name:arm64, architecture-independent ones (Debian's node
# loads acorn, cjs-module-lexer and undici from /usr/share/nodejs) by their plain name.
# apt-cache is slow to start (seconds with two architectures' lists): one call per level for all.
deps_of() { # the dependency names of packages "$@", without :arm64
  apt-cache depends --no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces --no-enhances "$@" 2>/dev/null \
    | sed -n -e 's/^ *|\{0,1\}\(Pre\)\{0,1\}Depends: \([^<][^ ]*\)$/\2/p' -e 's/^    \([^ <][^ ]*\)$/\1/p' \
    | sed 's/:arm64$//' | sort -u
}
pkgs=" nodejs:arm64 libc6:arm64 "
queue="nodejs:arm64 libc6:arm64"
while [ -n "$queue" ]; do
  # shellcheck disable=SC2086
  names=$(deps_of $queue)
  # "name arch" of each candidate: name:arm64 where an arm64 build exists, else the plain name's
  # record (Architecture: all for the JavaScript packages).
  # shellcheck disable=SC2046
  avail=$(apt-cache show --no-all-versions $(for n in $names; do printf '%s:arm64 %s ' "$n" "$n"; done) 2>/dev/null \
    | awk '/^Package: /{p=$2} /^Architecture: /{print p " " $2}' | sort -u || true)
  next=""
  for n in $names; do
    if printf '%s\n' "$avail" | grep -qx "$n arm64"; then r="$n:arm64"
    elif printf '%s\n' "$avail" | grep -qx "$n all"; then r=$n
    else continue; fi
    case "$pkgs" in *" $r "*) continue ;; esac
    pkgs="$pkgs$r "
    next="$next $r"
  done
  queue=$next
done
pkgs=$(printf '%s\n' $pkgs | sort)
echo "arm64-node: $(printf '%s\n' $pkgs | wc -l) packages: $(printf '%s ' $pkgs)"

debs=build-arm64/debs
rm -rf "$debs" "$root"
mkdir -p "$debs" "$root"
# shellcheck disable=SC2086
if ! (cd "$debs" && apt-get download -qq $pkgs) >> "$log" 2>&1; then
  echo "SKIP arm64-node: apt-get download failed (see $log)"
  exit 0
fi
for deb in "$debs"/*.deb; do dpkg-deb -x "$deb" "$root"; done
rm -rf "$debs"

if ! v=$(probe) || [ "${v%% *}" != arm64 ]; then
  echo "arm64-node: FAIL: $root/usr/bin/node does not run under $QEMU: $v" >&2
  exit 1
fi
echo "arm64-node: $root/usr/bin/node: $v ($(du -sm "$root" | cut -f1) MB, $((SECONDS - start)) s)"
