#!/usr/bin/env bash
# The linux-arm64 build, checked on an x86-64 machine:
#  1. scripts/cross-arm64.sh cross-compiles the kernels once into build-arm64/: the native self-test
#     (static) and the addon (build-arm64/tensorkern.node);
#  2. the self-test runs under qemu (arguments pass through to it), exercising the NEON kernels;
#  3. scripts/arm64-node.sh gets Debian's arm64 Node into build-arm64/sysroot (cached), and the op suite
#     test/platform/ops.test.ts, compiled to dist-test/, runs under that Node with the arm64 addon.
# Needs g++-aarch64-linux-gnu and qemu-user-static (Debian packages); each step that cannot run prints
# SKIP with the reason and the script exits 0; a failure in a step that runs fails it.
set -euo pipefail
cd "$(dirname "$0")/.."
CXX=${AARCH64_CXX:-aarch64-linux-gnu-g++}
QEMU=${QEMU_AARCH64:-$(command -v qemu-aarch64-static || command -v qemu-aarch64 || true)}
if ! command -v "$CXX" >/dev/null 2>&1; then echo "SKIP neon-check: $CXX not found (apt-get install g++-aarch64-linux-gnu)"; exit 0; fi
if [ -z "$QEMU" ] || ! command -v "$QEMU" >/dev/null 2>&1; then echo "SKIP neon-check: qemu-aarch64 not found${QEMU:+ ($QEMU)} (apt-get install qemu-user-static)"; exit 0; fi
export QEMU_AARCH64=$QEMU
out=build-arm64
start=$SECONDS

bash scripts/cross-arm64.sh
echo "neon-check: running $out/tk_selftest under $QEMU"
"$QEMU" "$out/tk_selftest" "$@"

bash scripts/arm64-node.sh
node_arm64="$out/sysroot/usr/bin/node"
if [ ! -x "$node_arm64" ] || ! "$QEMU" -L "$out/sysroot" "$node_arm64" -e 0 >/dev/null 2>&1; then
  echo "SKIP neon-check: the op suite on arm64 Node (no arm64 Node in $out/sysroot, see above)"
  echo "neon-check: done in $((SECONDS - start)) s"
  exit 0
fi
if [ ! -f node_modules/.bin/tsc ]; then
  echo "SKIP neon-check: the op suite on arm64 Node (no node_modules/.bin/tsc to compile it: npm install first)"
  exit 0
fi
echo "neon-check: compiling the suites (tsconfig.gpu-test.json -> dist-test/)"
node node_modules/.bin/tsc -p tsconfig.gpu-test.json
# Each file in its own process: `node --test` would start its children by process.execPath, an arm64
# binary the kernel cannot run without a qemu binfmt handler; node:test reports TAP when a file runs alone.
suites=(dist-test/test/platform/*.test.js)
if [ ! -e "${suites[0]}" ]; then echo "neon-check: FAIL: no compiled suites in dist-test/test/platform" >&2; exit 1; fi
# Under qemu's default CPU (every extension: dotprod, i8mm, fp16, bf16) and a plain ARMv8.0 core
# (Cortex-A72: NEON only), where the kernels take their baseline paths. TK_QEMU_CPUS overrides.
failed=0
for cpu in ${TK_QEMU_CPUS:-max cortex-a72}; do
  for f in "${suites[@]}"; do
    echo "neon-check: $f under arm64 Node, qemu CPU $cpu, TENSORKERN_BINARY=$out/tensorkern.node"
    log="$out/$(basename "$f" .js).$cpu.tap"
    rc=0
    QEMU_CPU=$cpu TENSORKERN_BINARY="$PWD/$out/tensorkern.node" "$QEMU" -L "$out/sysroot" "$node_arm64" "$f" > "$log" 2>&1 || rc=$?
    grep -E '^(platform |kernels: |# (tests|pass|fail|skipped|cancelled) )|^ *not ok |SKIP ' "$log" || true
    if [ "$rc" != 0 ]; then
      failed=1
      echo "neon-check: FAIL: $f (qemu CPU $cpu) exited with status $rc; its output ($log):" >&2
      grep -v -E '^ *(duration_ms|type):' "$log" | tail -80 >&2
    fi
  done
done
[ "$failed" = 0 ] || exit 1
echo "neon-check: done in $((SECONDS - start)) s"
