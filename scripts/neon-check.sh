#!/usr/bin/env bash
# Cross-compiles the kernels and the native self-test for AArch64 and runs it under qemu, so the NEON
# paths are exercised on an x86-64 machine. Needs g++-aarch64-linux-gnu and qemu-user-static
# (Debian packages); prints why and exits 0 when they are absent.
set -euo pipefail
cd "$(dirname "$0")/.."
CXX=${AARCH64_CXX:-aarch64-linux-gnu-g++}
QEMU=${QEMU_AARCH64:-$(command -v qemu-aarch64-static || command -v qemu-aarch64 || true)}
if ! command -v "$CXX" >/dev/null 2>&1; then echo "SKIP neon-check: $CXX not found (apt-get install g++-aarch64-linux-gnu)"; exit 0; fi
if [ -z "$QEMU" ]; then echo "SKIP neon-check: qemu-aarch64 not found (apt-get install qemu-user-static)"; exit 0; fi
out=build-neon
mkdir -p "$out"
srcs=$(node scripts/sources.js core; echo; node scripts/sources.js neon; echo; node scripts/sources.js no_cuda)
# shellcheck disable=SC2086
"$CXX" -std=c++17 -O2 -Wall -Wno-unused-function -static -pthread -o "$out/tk_selftest" native/tests/selftest.cc $srcs
echo "neon-check: built $out/tk_selftest for aarch64; running under $QEMU"
"$QEMU" "$out/tk_selftest" "$@"
