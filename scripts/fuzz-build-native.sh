#!/usr/bin/env bash
# Builds the libFuzzer harnesses of fuzz/native/ (clang, -fsanitize=fuzzer,address,undefined) into
# fuzz/build/native/: the core sources of native/sources.json ('core', 'no_cuda' and, on x86-64, the 'avx2' and
# 'avx512' lists with their own flags; 'neon' on arm64; no Node-API) compiled once, each harness linked
# against them. Incremental: an object is rebuilt when its source or any native/ header is newer.
#   scripts/fuzz-build-native.sh        exit 0 built; 3 skipped (clang or libFuzzer missing: printed why)
# clang and libFuzzer come from apt (clang, libclang-rt-<ver>-dev): installed here when missing and
# running as root with apt-get (as .ci/run does for the cross toolchain), else the build is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=fuzz/build/native
JOBS=${FUZZ_JOBS:-2}

probe() {  # can clang++ link a libFuzzer binary with ASan + UBSan?
  command -v clang++ >/dev/null 2>&1 || return 1
  local d; d=$(mktemp -d)
  printf '#include <cstdint>\n#include <cstddef>\nextern "C" int LLVMFuzzerTestOneInput(const uint8_t*, size_t) { return 0; }\n' > "$d/p.cc"
  clang++ -fsanitize=fuzzer,address,undefined "$d/p.cc" -o "$d/p" >/dev/null 2>&1; local rc=$?
  rm -rf "$d"; return $rc
}

if ! probe; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "fuzz: installing clang and the libFuzzer runtime (apt-get install clang libclang-rt-dev; log fuzz/build/apt.log)"
    mkdir -p fuzz/build
    { apt-get update -qq && ver=$(apt-cache depends clang 2>/dev/null | sed -n 's/.*Depends: clang-\([0-9]*\)$/\1/p' | head -1) \
      && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang "libclang-rt-${ver:-14}-dev"; } > fuzz/build/apt.log 2>&1 || true
  fi
  if ! probe; then
    if ! command -v clang++ >/dev/null 2>&1; then echo "fuzz: SKIP native harnesses: no clang++ (apt-get install clang libclang-rt-14-dev, as root)"
    else echo "fuzz: SKIP native harnesses: clang++ cannot link -fsanitize=fuzzer,address,undefined (libFuzzer runtime missing: apt-get install libclang-rt-14-dev)"; fi
    exit 3
  fi
fi

CXXFLAGS=(-std=c++17 -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -DTK_FUZZ=1)
mkdir -p "$OUT/obj"
arch=$(uname -m)
lists=(core no_cuda)
case "$arch" in x86_64) lists+=(avx2 avx512) ;; aarch64) lists+=(neon) ;; esac
newest_header=$(find native -name '*.h' -printf '%T@\n' | sort -n | tail -1)

jobs_file=$(mktemp)
objs=()
for list in "${lists[@]}"; do
  flags=""
  [ "$list" != core ] && [ "$list" != no_cuda ] && flags=$(node scripts/sources.js "flags:$list")
  for src in $(node scripts/sources.js "$list"); do
    obj="$OUT/obj/$(echo "$src" | tr '/' '_' | sed 's/\.cc$/.o/')"
    objs+=("$obj")
    if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ] || awk -v h="$newest_header" -v o="$(stat -c %Y "$obj")" 'BEGIN{exit !(h > o)}'; then
      echo "clang++ ${CXXFLAGS[*]} $flags -c $src -o $obj" >> "$jobs_file"
    fi
  done
done
if [ -s "$jobs_file" ]; then
  echo "fuzz: compiling $(wc -l < "$jobs_file") native sources with clang (-j $JOBS)"
  xargs -P "$JOBS" -I{} sh -c '{} || exit 255' < "$jobs_file"
fi
rm -f "$jobs_file"

for h in fuzz/native/fuzz_*.cc; do
  name=$(basename "$h" .cc)
  bin="$OUT/$name"
  if [ ! -f "$bin" ] || [ "$h" -nt "$bin" ] || [ -n "$(find "${objs[@]}" -newer "$bin" 2>/dev/null | head -1)" ]; then
    echo "fuzz: linking $bin"
    clang++ "${CXXFLAGS[@]}" -fsanitize=fuzzer "$h" "${objs[@]}" -lpthread -ldl -o "$bin"
  fi
done
echo "fuzz: native harnesses built in $OUT"
