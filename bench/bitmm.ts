// `tensorkern bench bitmm`: bitMatmul (two's-complement operands, the default call form: no `out`,
// default threads, result dropped) beside int8 x int8 -> int32 `gemm` of the same M, N, K (b [N, K]
// with transB, the nn.Linear layout), interleaved in one run, medians; ops counted as 2 M N K for
// both. The goals at 4096^3: W1A1 >= 3x the int8 gemm rate, W2A2 >= 0.9x. Also W4A4, the
// M = 1 decode shape, the VPOPCNTB kernel (BITALG) against the default VPOPCNTQ one for W1A1, and W2A2
// through the int8 route ('int8') against the default (on AVX-512 with VNNI, a dedicated plane-pair kernel).
import { Tensor, bitMatmulSync, gemmSync, packBits } from '../lib';
import { native } from '../lib/binding';
import { DEFAULT_FORM_WARMUP, Progress, formatTable, measure } from './harness';

export interface BitmmBenchOptions {
  /** Square sizes (default 2048, 4096); the decode row uses the largest. */
  sizes?: number[];
  runs?: number;
  log: (line: string) => void;
}

export interface BitmmResult {
  M: number;
  N: number;
  K: number;
  bits: number;
  /** The CPU kernel that ran ('avx512-vpopcntq', 'int8-gemm', ...). */
  kernel: string;
  bitmm: { medianS: number; gops: number };
  int8Gemm: { medianS: number; gops: number };
  /** bitmm rate / int8 gemm rate. */
  ratio: number;
}

function ints(n: number, bits: number, seed: number): Int8Array {
  let s = seed;
  const lo = -(2 ** (bits - 1)),
    span = 2 ** bits;
  const d = new Int8Array(n);
  for (let i = 0; i < n; i++) d[i] = lo + (((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) >>> 8) % span);
  return d;
}

export function benchBitmm(o: BitmmBenchOptions): BitmmResult[] {
  const sizes = o.sizes ?? [2048, 4096];
  const big = Math.max(...sizes);
  const shapes: [number, number, number, number, string][] = [];
  for (const n of sizes) for (const bits of [1, 2, 4]) shapes.push([n, n, n, bits, 'auto']);
  shapes.push([1, big, big, 1, 'auto']);
  shapes.push([big, big, big, 1, 'vpopcntb']);
  shapes.push([big, big, big, 2, 'int8']);
  const progress = new Progress(shapes.length);
  const results: BitmmResult[] = [];
  shapes.forEach(([M, N, K, bits, path], idx) => {
    progress.step(idx, `M=${M} N=${N} K=${K} W${bits}A${bits} ${path}`);
    const a8 = ints(M * K, bits, 1 + idx),
      b8 = ints(N * K, bits, 1000 + idx);
    const A = packBits(Tensor.from(a8, [M, K]), { bits }),
      B = packBits(Tensor.from(b8, [N, K]), { bits });
    const x = Tensor.from(a8, [M, K]),
      w = Tensor.from(b8, [N, K]);
    native.debug.setPath('bitmm', 'cpu', path, 0);
    try {
      bitMatmulSync(A, B);
      const kernel = native.debug.lastKernel('bitmm', 'cpu');
      if (path === 'vpopcntb' && kernel !== 'avx512-vpopcntb') return; // no BITALG here
      const [tb, tg] = measure(
        [
          { name: 'bitmm', warmup: DEFAULT_FORM_WARMUP, run: () => void bitMatmulSync(A, B) },
          { name: 'int8 gemm', warmup: DEFAULT_FORM_WARMUP, run: () => void gemmSync(x, w, { transB: true }) },
        ],
        { minRuns: o.runs ?? 7, minTime: 1 },
      );
      const ops = 2 * M * N * K;
      results.push({
        M,
        N,
        K,
        bits,
        kernel,
        bitmm: { medianS: tb.medianS, gops: ops / tb.medianS / 1e9 },
        int8Gemm: { medianS: tg.medianS, gops: ops / tg.medianS / 1e9 },
        ratio: tg.medianS / tb.medianS,
      });
    } finally {
      native.debug.setPath('bitmm', 'cpu', 'auto', 0);
    }
  });
  progress.done();
  const goal = (r: BitmmResult) => (r.M === r.N && r.N === 4096 ? (r.bits === 1 ? '>= 3x' : r.bits === 2 ? '>= 0.9x' : '') : '');
  o.log("bitMatmul (two's complement WxAx) vs int8 gemm of the same shape, default call form, medians, ops = 2 M N K:");
  o.log(
    formatTable(
      ['M', 'N = K', 'bits', 'kernel', 'bitmm ms', 'GOP/s', 'int8 gemm ms', 'GOP/s', 'ratio', 'goal'],
      results.map((r) => [
        String(r.M),
        String(r.N),
        `W${r.bits}A${r.bits}`,
        r.kernel,
        (r.bitmm.medianS * 1e3).toFixed(2),
        r.bitmm.gops.toFixed(0),
        (r.int8Gemm.medianS * 1e3).toFixed(2),
        r.int8Gemm.gops.toFixed(0),
        `${r.ratio.toFixed(2)}x`,
        goal(r),
      ]),
    ),
  );
  return results;
}
