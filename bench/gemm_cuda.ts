// `tensorkern bench gemm --device cuda`: tensorkern's CUDA kernels against cuBLAS (dlopen) on the same
// device tensors, timed with CUDA events (median of runs after warm-up): bf16 / fp16 4096^3 and
// 8192^3, the decode shapes M = 1..16 with N = K = 8192, float32 as tf32, and int8. Operands are
// stored as in nn.Linear (b is [N, K], transB): the layout the sm90 kernel takes.
import { Tensor } from '../lib';
import { native } from '../lib/binding';
import { DType } from '../lib/dtype';
import { nativeOf } from '../lib/tensor';
import { GemmCase, caseName, gemmFlops } from './cases/gemm';
import { formatTable, median, Progress } from './harness';

export interface GemmCudaBenchOptions {
  device: string;
  sizes?: number[];
  runs?: number;
  log: (line: string) => void;
}

export interface GemmCudaResult {
  case: string;
  M: number;
  N: number;
  K: number;
  dtype: string;
  precision: string;
  flops: number;
  kernel: string;
  tensorkern: { medianS: number; minS: number; runs: number; tflops: number };
  cublas: { medianS: number; minS: number; runs: number; tflops: number } | { skipped: string };
  /** tensorkern speed / cuBLAS speed (> 1: tensorkern is faster). */
  ratio?: number;
}

function mk(M: number, N: number, K: number, dtype: DType, tf32 = false): GemmCase & { tf32: boolean } {
  const c = { M, N, K, dtype, transB: true };
  return { name: caseName(c) + (tf32 ? ' tf32' : ''), ...c, tf32 };
}

export function gemmCudaBenchCases(sizes?: number[]): (GemmCase & { tf32: boolean })[] {
  const sq = sizes ?? [4096, 8192];
  const cases: (GemmCase & { tf32: boolean })[] = [];
  for (const n of sq) for (const dt of ['bfloat16', 'float16'] as const) cases.push(mk(n, n, n, dt));
  for (const M of [1, 2, 4, 8, 16]) cases.push(mk(M, 8192, 8192, 'bfloat16'));
  cases.push(mk(sq[0], sq[0], sq[0], 'float32', true));
  cases.push(mk(sq[0], sq[0], sq[0], 'int8'));
  return cases;
}

export function benchGemmCuda(o: GemmCudaBenchOptions): { cublas: ReturnType<typeof native.bench.cublasLoad>; cases: GemmCudaResult[] } {
  const cublas = native.bench.cublasLoad();
  o.log(cublas.available ? `baseline cuBLAS ${cublas.version} (${cublas.path})` : `baseline cuBLAS: missing: ${cublas.why}`);
  const cases = gemmCudaBenchCases(o.sizes);
  const progress = new Progress(cases.length);
  const out: GemmCudaResult[] = [];
  cases.forEach((c, idx) => {
    progress.step(idx, c.name);
    const acc: DType = c.dtype === 'int8' ? 'int32' : 'float32';
    // Zero-filled operands would let power-aware clocks run faster than with data: fill with a pattern.
    const fill = (n: number, shape: number[]) => {
      const bits =
        c.dtype === 'float32'
          ? new Float32Array(n).map((_, i) => ((i * 7919) % 1000) / 1000 - 0.5)
          : c.dtype === 'int8'
            ? new Int8Array(n).map((_, i) => ((i * 7919) % 255) - 127)
            : new Uint16Array(n).map((_, i) => 0x3c00 ^ ((i * 7919) & 0x03ff));
      return Tensor.from(bits, shape, { dtype: c.dtype, device: o.device as 'cuda' });
    };
    const a = fill(c.M * c.K, [c.M, c.K]);
    const b = fill(c.N * c.K, [c.N, c.K]);
    const y = Tensor.zeros([c.M, c.N], { dtype: acc, device: o.device as 'cuda' });
    const flops = gemmFlops(c);
    const runs = o.runs ?? (flops > 1e12 ? 10 : 30);
    const time = (which: string) =>
      native.bench.gpuGemmTime(
        which,
        {
          a: nativeOf(a, 'a'),
          b: nativeOf(b, 'b'),
          out: nativeOf(y, 'out'),
          transA: false,
          transB: true,
          alpha: 1,
          beta: 0,
          allowTf32: c.tf32,
        },
        3,
        runs,
      );
    const tk = time('tensorkern');
    const kernel = native.debug.lastKernel('gemm', 'cuda');
    const tkMed = median(tk);
    const r: GemmCudaResult = {
      case: c.name,
      M: c.M,
      N: c.N,
      K: c.K,
      dtype: c.dtype,
      precision: c.tf32 ? 'tf32' : c.dtype === 'float32' ? 'fp32' : c.dtype,
      flops,
      kernel,
      tensorkern: { medianS: tkMed, minS: Math.min(...tk), runs: tk.length, tflops: flops / tkMed / 1e12 },
      cublas: { skipped: cublas.available ? '' : 'library missing' },
    };
    if (cublas.available) {
      try {
        const cb = time('cublas');
        const cbMed = median(cb);
        r.cublas = { medianS: cbMed, minS: Math.min(...cb), runs: cb.length, tflops: flops / cbMed / 1e12 };
        r.ratio = cbMed / tkMed;
      } catch (e) {
        r.cublas = { skipped: (e as Error).message };
      }
    }
    out.push(r);
    for (const t of [a, b, y]) t.dispose();
  });
  progress.done();
  const rows = out.map((r) => [
    r.case,
    r.kernel,
    r.tensorkern.tflops.toFixed(1),
    'tflops' in r.cublas ? r.cublas.tflops.toFixed(1) : '-',
    r.ratio !== undefined ? `${r.ratio.toFixed(2)}x` : '-',
  ]);
  o.log(formatTable(['case', 'kernel', 'tensorkern TFLOP/s', 'cuBLAS TFLOP/s', 'tk / cuBLAS'], rows));
  return { cublas, cases: out };
}
