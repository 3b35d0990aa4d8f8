#!/usr/bin/env bash
# The checks that need a GPU, for a session on a machine with one (no registry needed there):
#   1. the GPU suites (test/gpu/*.test.ts) under `node --test`, compiled to dist-test/ (tsc here, or
#      carried over already compiled: run `npx tsc -p tsconfig.gpu-test.json` where node_modules is);
#   2. the op suites under compute-sanitizer memcheck and racecheck (quick mode);
#   3. the GPU benches (`tensorkern bench <op> --device cuda`) against cuBLAS / cuSPARSE (dlopen), JSON to $OUT
#      (or build-gpu/).
# Needs the CUDA build of the addon (build/Release or prebuilds/). Exit status: first failure.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-build-gpu}
mkdir -p "$OUT"
status=0
step() { echo "== $*"; }

if [ -x node_modules/.bin/tsc ]; then
  step "compile the GPU suites to dist-test/"
  node node_modules/.bin/tsc -p tsconfig.gpu-test.json || exit 1
fi
[ -d dist-test/test/gpu ] || { echo "gpu-check: dist-test/test/gpu missing (compile with npx tsc -p tsconfig.gpu-test.json)"; exit 1; }
node -e "const t=require('./dist-test/lib');console.log(JSON.stringify(t.devices(),null,1));console.log('whyNoGpu:',t.whyNoGpu())" | tee "$OUT/devices.json"

step "GPU suites (node --test)"
node --test --test-reporter=spec dist-test/test/gpu/ 2>&1 | tee "$OUT/gpu-tests.log" || status=1

CS=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
if [ -x "$CS" ]; then
  # Every GPU suite (the faults suite provokes a sticky error on purpose in a child: it runs without the
  # sanitizer), memcheck and racecheck, in quick mode.
  for suite in gemm spmm w4a4 attention linear-attention int8mm lut bitmm runtime; do
    [ -f "dist-test/test/gpu/$suite.test.js" ] || continue
    for tool in memcheck racecheck; do
      log="$OUT/sanitizer-$suite-$tool.log"
      step "compute-sanitizer --tool $tool over test/gpu/$suite (TK_GPU_QUICK=1)"
      TK_GPU_QUICK=1 "$CS" --tool "$tool" --error-exitcode 3 --target-processes all \
        node --test "dist-test/test/gpu/$suite.test.js" > "$log" 2>&1 || { status=1; tail -30 "$log"; }
      grep -E "ERROR SUMMARY|RACECHECK SUMMARY" "$log" | tail -2
    done
  done
else
  echo "SKIP compute-sanitizer: not found"
fi

step "bench gemm --device cuda vs cuBLAS"
node dist-test/lib/cli/main.js bench gemm --device cuda --json "$OUT/bench-gemm-cuda.json" 2>&1 | tee "$OUT/bench-gemm-cuda.log" || status=1
# The sm90 kernel is opt-in until verified: bench it too, so both tiers' figures come back.
TENSORKERN_GEMM_KERNEL=sm90 node dist-test/lib/cli/main.js bench gemm --device cuda --json "$OUT/bench-gemm-cuda-sm90.json" 2>&1 | tee "$OUT/bench-gemm-cuda-sm90.log" || status=1
step "bench spmm --device cuda vs cuSPARSE (real matrices, N = 32..256) and cuBLAS dense (pruned weights)"
node dist-test/lib/cli/main.js bench spmm --device cuda --sizes 32,64,128,256 --json "$OUT/bench-spmm-cuda.json" 2>&1 | tee "$OUT/bench-spmm-cuda.log" || status=1
step "bench w4a4 --device cuda vs cuBLAS fp16 / bf16"
node dist-test/lib/cli/main.js bench w4a4 --device cuda --json "$OUT/bench-w4a4-cuda.json" 2>&1 | tee "$OUT/bench-w4a4-cuda.log" || status=1
# The attention sm90 kernel (wgmma + TMA) is opt-in: the attention suite forces it through the test hook (its
# "sm90 kernel" tests, also under the sanitizers above), the bench times it on 9.0; this checks the env opt-in.
step "attention: TENSORKERN_ATTENTION_KERNEL=sm90 reaches the sm90 kernel (compute capability 9.0)"
TENSORKERN_ATTENTION_KERNEL=sm90 node -e "
const t = require('./dist-test/lib'); const { native } = require('./dist-test/lib/binding');
const g = t.devices().find((d) => d.kind === 'cuda');
if (!g || g.computeCapability !== '9.0') { console.log('SKIP: not compute capability 9.0'); process.exit(0); }
const n = 1 * 4 * 256 * 128, x = (s) => t.Tensor.from(Array.from({ length: n }, (_, i) => Math.sin(i * s)), [1, 4, 256, 128], { dtype: 'float16', device: 'cuda' });
t.attention(x(0.1), x(0.2), x(0.3), { causal: true }).then((r) => { const k = native.debug.lastKernel('attention', 'cuda'); console.log('kernel:', k); process.exit(/^sm90_hd128/.test(k) ? 0 : 1); });
" 2>&1 | tee "$OUT/attention-sm90-env.log" || status=1
step "bench attention --device cuda vs cuBLAS GEMM -> softmax -> GEMM"
node dist-test/lib/cli/main.js bench attention --device cuda --json "$OUT/bench-attention-cuda.json" 2>&1 | tee "$OUT/bench-attention-cuda.log" || status=1
exit $status
