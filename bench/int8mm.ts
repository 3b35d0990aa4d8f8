// `tensorkern bench int8mm`: int8Matmul (W8A8, the default call: no `out`, default threads, default
// threshold) beside our int8 `gemm` (int8 x int8 -> int32, the weights packed once ahead with
// packWeights, as Int8Weights packs them at quantize time), interleaved in one run, medians. int8Matmul's
// time includes the per-token activation quantization, the outlier scan and the scale epilogue; gemm's
// operands are already int8. Square sizes 1024..4096 (goal at 4096: >= 0.9x gemm's rate) and decode
// (M = 1, 8; N = K = 4096) with the weights rotated through copies larger than the L3, so they stream
// from memory (reported as GB/s of int8 weight bytes).
import { Int8Weights, PackedWeights, Tensor, gemmSync, int8MatmulSync, packWeightsSync, quantizeWeightsInt8Sync } from '../lib';
import { native } from '../lib/binding';
import { DEFAULT_FORM_WARMUP, Progress, formatTable, measure } from './harness';

export interface Int8MmBenchOptions {
  /** Square sizes (default 1024, 2048, 4096). */
  sizes?: number[];
  /** Decode row counts at N = K = 4096 (default 1, 8). */
  decode?: number[];
  runs?: number;
  log: (line: string) => void;
}

export interface Int8MmResult {
  M: number;
  N: number;
  K: number;
  kernel: string;
  /** Weight copies rotated through (1: the weights stay in cache). */
  copies: number;
  int8Matmul: { medianS: number; gops: number; weightGBs: number };
  gemmInt8: { medianS: number; gops: number; weightGBs: number };
  /** int8Matmul's rate / gemm's (goal >= 0.9 at 4096^3). */
  ratio: number;
}

const DRAM_BYTES = 256 * 2 ** 20;

function fill(n: number, seed: number, scale = 1): Float32Array {
  let s = seed;
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) d[i] = (((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296) * 2 - 1) * scale;
  return d;
}

function runCase(M: number, N: number, K: number, decode: boolean, runs: number | undefined): Int8MmResult {
  const wf = fill(N * K, 2, 0.05);
  const copies = decode ? Math.max(2, Math.ceil(DRAM_BYTES / (N * K))) : 1;
  const W0 = quantizeWeightsInt8Sync(Tensor.from(wf, [N, K]));
  const ws: Int8Weights[] = [W0, ...Array.from({ length: copies - 1 }, () => Int8Weights.fromBuffer(W0.toBuffer()))];
  const pws: PackedWeights[] = ws.map((w) => packWeightsSync(Tensor.from(w.values, [N, K]), { transB: true }));
  const x = Tensor.from(fill(M * K, 1, 2), [M, K]); // |x| <= 2: no outlier columns at threshold 6
  const qx = Tensor.from(
    Int8Array.from(fill(M * K, 3), (v) => Math.round(v * 127)),
    [M, K],
  );
  let ti = 0,
    tg = 0;
  int8MatmulSync(x, W0);
  const kernel = native.debug.lastKernel('int8mm', 'cpu');
  const [tm, tgm] = measure(
    [
      { name: 'int8Matmul', warmup: DEFAULT_FORM_WARMUP, run: () => void int8MatmulSync(x, ws[(ti = (ti + 1) % copies)]) },
      { name: 'gemm int8', warmup: DEFAULT_FORM_WARMUP, run: () => void gemmSync(qx, pws[(tg = (tg + 1) % copies)]) },
    ],
    { minRuns: runs ?? 7, minTime: 1 },
  );
  const ops = 2 * M * N * K;
  const rate = (s: number) => ({ medianS: s, gops: ops / s / 1e9, weightGBs: (N * K) / s / 1e9 });
  return { M, N, K, kernel, copies, int8Matmul: rate(tm.medianS), gemmInt8: rate(tgm.medianS), ratio: tgm.medianS / tm.medianS };
}

export function benchInt8Mm(o: Int8MmBenchOptions): Int8MmResult[] {
  const sizes = o.sizes ?? [1024, 2048, 4096];
  const decode = o.decode ?? [1, 8];
  const cases = [...sizes.map((n) => [n, n, n, 0]), ...decode.map((m) => [m, 4096, 4096, 1])];
  const progress = new Progress(cases.length);
  const results: Int8MmResult[] = [];
  cases.forEach(([M, N, K, dec], i) => {
    progress.step(i, `M=${M} N=${N} K=${K}`);
    results.push(runCase(M, N, K, dec === 1, o.runs));
  });
  progress.done();
  o.log(
    'int8Matmul (W8A8, default call: quantization, outlier scan and scales included) vs int8 gemm (int8 x int8 -> int32, packed weights), medians:',
  );
  o.log(
    formatTable(
      [
        'M x N x K',
        'kernel',
        'weights',
        'int8Matmul ms',
        'GOP/s',
        'weight GB/s',
        'gemm int8 ms',
        'GOP/s',
        'weight GB/s',
        'ratio (goal >= 0.9x at 4096^3)',
      ],
      results.map((r) => [
        `${r.M} x ${r.N} x ${r.K}`,
        r.kernel,
        r.copies > 1 ? `${r.copies} copies (DRAM)` : 'cached',
        (r.int8Matmul.medianS * 1e3).toFixed(3),
        r.int8Matmul.gops.toFixed(1),
        r.int8Matmul.weightGBs.toFixed(1),
        (r.gemmInt8.medianS * 1e3).toFixed(3),
        r.gemmInt8.gops.toFixed(1),
        r.gemmInt8.weightGBs.toFixed(1),
        `${r.ratio.toFixed(2)}x`,
      ]),
    ),
  );
  return results;
}
