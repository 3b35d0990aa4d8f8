#!/usr/bin/env bash
# `npm run lint`: the formatting every source keeps (clang-format for C++ / CUDA, prettier for
# TypeScript / JavaScript) and the TypeScript type check of lib, tests and benches. Exit 1 on any
# difference, naming the files. clang-format comes from the OS (apt `clang-format`); without it the C++
# check is skipped with that reason printed, and CI installs it first.
set -euo pipefail
cd "$(dirname "$0")/.."
rc=0
if command -v clang-format >/dev/null 2>&1; then
  # shellcheck disable=SC2046
  if ! git ls-files 'native/*.cc' 'native/*.h' 'native/*.cu' 'native/*.cuh' 'fuzz/*.cc' 'fuzz/*.h' | xargs clang-format --dry-run --Werror 2>/tmp/tk-clang-format.log; then
    grep -o '^[^:]*:' /tmp/tk-clang-format.log | sort -u | sed 's/:$//; s/^/lint: clang-format would change /'
    echo "lint: run: git ls-files 'native/*.cc' 'native/*.h' 'native/*.cu' 'native/*.cuh' 'fuzz/*.cc' 'fuzz/*.h' | xargs clang-format -i"
    rc=1
  else
    echo "lint: C++ / CUDA formatted ($(clang-format --version | head -1))"
  fi
else
  echo "lint: C++ / CUDA check skipped: clang-format is not installed (apt-get install clang-format)"
fi
if ! npx prettier --check "lib/**/*.{ts,mjs}" "test/**/*.{ts,js}" "bench/**/*.ts" "scripts/**/*.js" "examples/**/*.js" --log-level warn; then
  echo 'lint: run: npx prettier --write "lib/**/*.{ts,mjs}" "test/**/*.{ts,js}" "bench/**/*.ts" "scripts/**/*.js" "examples/**/*.js"'
  rc=1
else
  echo "lint: TypeScript / JavaScript formatted (prettier)"
fi
npx tsc --noEmit -p tsconfig.json && npx tsc --noEmit -p tsconfig.gpu-test.json && echo "lint: types check (tsconfig.json, tsconfig.gpu-test.json)" || rc=1
exit $rc
