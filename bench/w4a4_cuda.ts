// `tensorkern bench w4a4 --device cuda`: w4a4Matmul on device activations (the fused per-token quantize
// kernel + the int4 tensor-core GEMM, i.e. the whole op) against cuBLAS fp16 and bf16 GEMM on the same
// shapes (the GEMM bench's dlopen loader, CUDA events). LLM layer shapes: the 4096 cube, and
// N x K = 11008 x 4096 / 28672 x 8192 at M = 1, 16, 64 and 4096; and the weight-only path (int4Matmul:
// float x times int4 weights on bf16 tensor cores, split-K) at the decode rows M = 1 and 16.
// Timing of tensorkern: wall clock of w4a4MatmulSync (each call launches and synchronizes), median after
// warm-up -- it includes launch and synchronization overhead that the cuBLAS CUDA-event figure does not,
// which understates tensorkern at small M.
import { Tensor, int4MatmulSync, quantizeWeightsInt4Sync, w4a4MatmulSync } from '../lib';
import { native } from '../lib/binding';
import { nativeOf } from '../lib/tensor';
import { formatTable, median, Progress } from './harness';

export interface W4A4CudaBenchOptions {
  device: string;
  sizes?: number[];
  runs?: number;
  log: (line: string) => void;
}

export interface W4A4CudaResult {
  case: string;
  M: number;
  N: number;
  K: number;
  groupSize: number;
  kernel: string;
  tensorkern: { medianS: number; tops: number };
  cublas: Record<string, { medianS: number; tflops: number; ratio: number } | { skipped: string }>;
}

export function w4a4CudaBenchCases(sizes?: number[]): { M: number; N: number; K: number; gs: number; op?: 'int4' }[] {
  const out: { M: number; N: number; K: number; gs: number; op?: 'int4' }[] = [];
  for (const s of sizes ?? [4096]) out.push({ M: s, N: s, K: s, gs: 128 });
  for (const [N, K] of [
    [11008, 4096],
    [28672, 8192],
  ])
    for (const M of [1, 16, 64, 4096]) out.push({ M, N, K, gs: 128 });
  for (const [N, K] of [
    [11008, 4096],
    [28672, 8192],
  ])
    for (const M of [1, 16]) out.push({ M, N, K, gs: 128, op: 'int4' });
  return out;
}

export function benchW4A4Cuda(o: W4A4CudaBenchOptions): { cublas: ReturnType<typeof native.bench.cublasLoad>; cases: W4A4CudaResult[] } {
  const cublas = native.bench.cublasLoad();
  o.log(cublas.available ? `baseline cuBLAS ${cublas.version} (${cublas.path})` : `baseline cuBLAS: missing: ${cublas.why}`);
  const cases = w4a4CudaBenchCases(o.sizes);
  const progress = new Progress(cases.length);
  const results: W4A4CudaResult[] = [];
  const dev = o.device as 'cuda';
  cases.forEach((c, idx) => {
    const name = `${c.op === 'int4' ? 'int4Matmul' : 'w4a4'} ${c.M}x${c.N}x${c.K} g${c.gs}`;
    const run = () => (c.op === 'int4' ? int4MatmulSync(x, W, { out: y }) : w4a4MatmulSync(x, W, { out: y }));
    progress.step(idx, name);
    const ops = 2 * c.M * c.N * c.K;
    const w = new Float32Array(c.N * c.K).map((_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
    const W = quantizeWeightsInt4Sync(Tensor.from(w, [c.N, c.K]), { groupSize: c.gs });
    const x = Tensor.from(
      new Float32Array(c.M * c.K).map((_, i) => ((i * 104729) % 997) / 997 - 0.5),
      [c.M, c.K],
      { device: dev },
    );
    const y = Tensor.zeros([c.M, c.N], { device: dev });
    const runs = o.runs ?? (ops > 1e12 ? 10 : 30);
    for (let i = 0; i < 3; i++) run();
    const ts: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = process.hrtime.bigint();
      run();
      ts.push(Number(process.hrtime.bigint() - t0) / 1e9);
    }
    const tk = median(ts);
    const r: W4A4CudaResult = {
      case: name,
      M: c.M,
      N: c.N,
      K: c.K,
      groupSize: c.gs,
      kernel: native.debug.lastKernel('w4a4', 'cuda'),
      tensorkern: { medianS: tk, tops: ops / tk / 1e12 },
      cublas: {},
    };
    for (const dtype of ['float16', 'bfloat16'] as const) {
      if (!cublas.available) {
        r.cublas[dtype] = { skipped: 'library missing' };
        continue;
      }
      const fill = (n: number, shape: number[]) =>
        Tensor.from(
          new Uint16Array(n).map((_, i) => 0x3c00 ^ ((i * 7919) & 0x03ff)),
          shape,
          { dtype, device: dev },
        );
      const a = fill(c.M * c.K, [c.M, c.K]),
        b = fill(c.N * c.K, [c.N, c.K]);
      try {
        const cb = median(
          native.bench.gpuGemmTime(
            'cublas',
            {
              a: nativeOf(a, 'a'),
              b: nativeOf(b, 'b'),
              out: nativeOf(y, 'out'),
              transA: false,
              transB: true,
              alpha: 1,
              beta: 0,
              allowTf32: false,
            },
            3,
            runs,
          ),
        );
        r.cublas[dtype] = { medianS: cb, tflops: ops / cb / 1e12, ratio: cb / tk };
      } catch (e) {
        r.cublas[dtype] = { skipped: (e as Error).message };
      } finally {
        a.dispose();
        b.dispose();
      }
    }
    results.push(r);
    x.dispose();
    y.dispose();
  });
  progress.done();
  const fmt = (v: W4A4CudaResult['cublas'][string] | undefined) =>
    v && 'ratio' in v ? `${v.tflops.toFixed(1)} (${v.ratio.toFixed(2)}x)` : '-';
  o.log(
    formatTable(
      ['case', 'kernel', 'tensorkern TOP/s', 'cuBLAS fp16 TFLOP/s (tk/cuBLAS)', 'cuBLAS bf16 TFLOP/s (tk/cuBLAS)'],
      results.map((r) => [r.case, r.kernel, r.tensorkern.tops.toFixed(1), fmt(r.cublas.float16), fmt(r.cublas.bfloat16)]),
    ),
  );
  return { cublas, cases: results };
}
