#!/usr/bin/env bash
# Sanitizer runs. `npm run test:asan` = this script with no arguments:
#   1. the native self-test (kernels without Node) built with AddressSanitizer + UndefinedBehaviorSanitizer and
#      run with LeakSanitizer on: every kernel family this CPU runs, every allocation freed;
#   2. the addon built with ASan + UBSan into build-asan/ (the development build in build/ is untouched) and the
#      whole jest suite run against it (TENSORKERN_BINARY), node started with the sanitizer runtime preloaded.
#      Leak checking is off there: node and V8 do not free their own memory at exit, so LSan would report
#      them; the addon's leaks are caught by step 1 and by the RSS soak test (test/soak.test.ts).
# `bash scripts/sanitize.sh valgrind` runs valgrind memcheck over test/valgrind/subset.js (every op, sync and
# async, error paths included) against the normal release build.
# Any sanitizer report fails the run (halt_on_error, UBSan without recovery); exit status 0 means clean.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-asan}
shift || true
CXX=${SAN_CXX:-g++}
flags="-fsanitize=address,undefined -fno-sanitize=vptr -fno-sanitize-recover=all -fno-omit-frame-pointer -g -O1"
runtime=$("$CXX" -print-file-name=libasan.so)
export ASAN_OPTIONS="halt_on_error=1:abort_on_error=0:detect_leaks=0:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1${ASAN_EXTRA:+:$ASAN_EXTRA}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

selftest() {
  mkdir -p build-asan/obj
  local t0=$SECONDS
  # Every source to an object, two at a time (each ISA list with its own flags, as in binding.gyp).
  {
    for f in $(node scripts/sources.js core) $(node scripts/sources.js no_cuda) native/tests/selftest.cc; do echo "$f|"; done
    for isa in avx2 avx512; do
      for f in $(node scripts/sources.js "$isa"); do echo "$f|$(node scripts/sources.js "flags:$isa") -Wno-maybe-uninitialized"; done
    done
  } | xargs -P "${JOBS:-2}" -I{} bash -c 'f="${1%%|*}"; x="${1#*|}"; o="build-asan/obj/$(echo "$f" | tr / _).o"; '"$CXX"' -std=c++17 '"$flags"' $x -Wall -Wno-unused-function -c "$f" -o "$o"' _ {}
  # shellcheck disable=SC2086
  "$CXX" $flags -pthread -o build-asan/tk_selftest build-asan/obj/*.o
  echo "sanitize: native self-test built in $((SECONDS - t0)) s (ASan + UBSan + LSan)"
  # A time limit of its own: a hang (or a report stuck while symbolizing) fails here with a message.
  local rc=0
  ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=1" timeout -k 10 600 build-asan/tk_selftest "$@" || rc=$?
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    echo "sanitize: the self-test did not finish within 600 s (rerun with ASAN_EXTRA=symbolize=0 if a report was being printed)"
  fi
  return "$rc"
}

addon() {
  # A shadow package in build-asan/pkg (links to the sources) so node-gyp builds there, not in build/.
  local pkg=build-asan/pkg
  mkdir -p "$pkg/scripts"
  ln -sfn ../../native "$pkg/native"
  ln -sfn ../../binding.gyp "$pkg/binding.gyp"
  ln -sfn ../../../scripts/sources.js "$pkg/scripts/sources.js"
  ln -sfn ../../node_modules "$pkg/node_modules"
  echo "sanitize: building the addon with ASan + UBSan in $pkg"
  local t0=$SECONDS
  CXXFLAGS="$flags" CFLAGS="$flags" LDFLAGS="-fsanitize=address,undefined" \
    node-gyp rebuild --directory "$pkg" -j "${JOBS:-2}" > build-asan/node-gyp.log 2>&1 || { tail -40 build-asan/node-gyp.log; exit 1; }
  local bin="$PWD/$pkg/build/Release/tensorkern.node"
  echo "sanitize: addon built in $((SECONDS - t0)) s"
  ldd "$bin" | grep -q libasan || { echo "sanitize: $bin is not linked against libasan"; exit 1; }
  echo "sanitize: jest over $bin with $runtime preloaded"
  # Build the TS once here; jest runs in-band-ish (2 workers) so the slower instrumented code still fits.
  npm run --silent build:ts
  TENSORKERN_BINARY="$bin" LD_PRELOAD="$runtime" TK_SANITIZER=asan npx jest "$@"
}

valgrind_run() {
  command -v valgrind >/dev/null 2>&1 || { echo "SKIP valgrind: not installed (apt-get install valgrind)"; exit 0; }
  npm run --silent build:ts
  echo "sanitize: valgrind memcheck over test/valgrind/subset.js"
  # node --jitless: no JIT code for valgrind to re-translate; no suppressions are needed (none are used).
  # valgrind's CPU has no AVX-512, so the addon takes its AVX2 kernels here (ASan covers the AVX-512 ones).
  TK_SANITIZER=valgrind valgrind --tool=memcheck --error-exitcode=97 --smc-check=all-non-file --undef-value-errors=yes \
    --track-origins=no --leak-check=no --num-callers=30 \
    node --jitless test/valgrind/subset.js "$@"
}

case "$mode" in
  asan) selftest --quick && addon "$@" ;;
  selftest) selftest "$@" ;;
  addon) addon "$@" ;;
  valgrind) valgrind_run "$@" ;;
  *) echo "usage: scripts/sanitize.sh [asan|selftest|addon|valgrind] [args]"; exit 2 ;;
esac
