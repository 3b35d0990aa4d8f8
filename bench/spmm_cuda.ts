// `tensorkern bench spmm --device cuda`: tensorkern's CUDA SpMM (the kernel `auto` picks, reported) against
// cusparseSpMM (dlopen, CSR_ALG2, float32) on the same device arrays, timed with CUDA events (median of
// runs after warm-up), over the random and real matrices of test/cases/spmm.ts at N = 32..256 (geomean of
// the ratios over the real ones: the headline); and pruned-weight shapes (4096 x 4096 at 80%
// sparsity, N = 8..64) against cuBLAS dense GEMM on the same matrix stored dense (float32 with TF32 tensor
// cores allowed: the faster dense baseline).
import { Tensor } from '../lib';
import { resolveDevice } from '../lib/device';
import { native } from '../lib/binding';
import { spmmDevForm, spmmKernelCode } from '../lib/ops/spmm';
import { SparseMatrix } from '../lib/sparse/sparse-matrix';
import { nativeOf } from '../lib/tensor';
import { randomSparse, spmmBenchCases, spmmFlops } from './cases/spmm';
import { formatTable, median, Progress } from './harness';

export interface SpmmCudaBenchOptions {
  device: string;
  sizes?: number[];
  runs?: number;
  log: (line: string) => void;
}

interface Timing {
  medianS: number;
  minS: number;
  runs: number;
  gflops: number;
}
export interface SpmmCudaResult {
  case: string;
  rows: number;
  cols: number;
  nnz: number;
  N: number;
  real: boolean;
  kernel: string;
  tensorkern: Timing;
  baseline: 'cusparse' | 'cublas-dense-tf32';
  base: Timing | { skipped: string };
  /** tensorkern speed / baseline speed (> 1: tensorkern is faster). */
  ratio?: number;
}

const timing = (secs: number[], flops: number): Timing => ({
  medianS: median(secs),
  minS: Math.min(...secs),
  runs: secs.length,
  gflops: flops / median(secs) / 1e9,
});

function filled(rows: number, n: number, device: string): Tensor {
  const d = new Float32Array(rows * n).map((_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
  return Tensor.from(d, [rows, n], { device: device as 'cuda' });
}

/** Times a baseline into r (its seconds per run), or records why it could not run. */
function timeBaseline(r: SpmmCudaResult, flops: number, run: () => number[]): void {
  try {
    r.base = timing(run(), flops);
    r.ratio = r.base.medianS / r.tensorkern.medianS;
  } catch (e) {
    r.base = { skipped: (e as Error).message };
  }
}

function geomean(xs: number[]): number {
  return xs.length ? Math.exp(xs.reduce((s, x) => s + Math.log(x), 0) / xs.length) : NaN;
}

export function benchSpmmCuda(o: SpmmCudaBenchOptions): {
  cusparse: ReturnType<typeof native.bench.cusparseLoad>;
  cases: SpmmCudaResult[];
  geomeanRealVsCusparse: number;
} {
  const cusparse = native.bench.cusparseLoad();
  const cublas = native.bench.cublasLoad();
  o.log(cusparse.available ? `baseline cuSPARSE ${cusparse.version} (${cusparse.path})` : `baseline cuSPARSE: missing: ${cusparse.why}`);
  o.log(
    cublas.available
      ? `baseline cuBLAS ${cublas.version} (${cublas.path}) for the pruned-weight shapes`
      : `baseline cuBLAS: missing: ${cublas.why}`,
  );
  const ns = o.sizes ?? [32, 64, 128, 256];
  const sparseCases = spmmBenchCases(ns);
  const pruned = [8, 16, 32, 64];
  const progress = new Progress(sparseCases.length * ns.length + pruned.length);
  const out: SpmmCudaResult[] = [];
  let step = 0;
  const time = (a: SparseMatrix, b: Tensor, y: Tensor, runs: number) => {
    const f = spmmDevForm(a, resolveDevice(o.device), 'auto');
    const secs = native.bench.spmmCudaTime(
      {
        rowPtr: f.rowPtr,
        colIdx: f.colIdx,
        values: f.values,
        rows: a.rows,
        cols: a.cols,
        b: nativeOf(b, 'b'),
        out: nativeOf(y, 'out'),
        alpha: 1,
        beta: 0,
        kernel: spmmKernelCode('auto'),
        devForm: f,
      },
      3,
      runs,
    );
    return { secs, form: f, kernel: native.debug.lastKernel('spmm', 'cuda') };
  };

  for (const c of sparseCases) {
    const a = c.matrix();
    for (const n of c.ns) {
      progress.step(step++, `${c.name} N=${n}`);
      const b = filled(a.cols, n, o.device),
        y = Tensor.zeros([a.rows, n], { device: o.device as 'cuda' });
      const flops = spmmFlops(a.nnz, n);
      const runs = o.runs ?? 20;
      const tk = time(a, b, y, runs);
      const r: SpmmCudaResult = {
        case: c.name,
        rows: a.rows,
        cols: a.cols,
        nnz: a.nnz,
        N: n,
        real: c.real,
        kernel: tk.kernel,
        tensorkern: timing(tk.secs, flops),
        baseline: 'cusparse',
        base: { skipped: 'library missing' },
      };
      if (cusparse.available)
        timeBaseline(r, flops, () =>
          native.bench.cusparseSpmmTime(
            {
              rowPtr: tk.form.rowPtr,
              colIdx: tk.form.colIdx,
              values: tk.form.values,
              rows: a.rows,
              cols: a.cols,
              b: nativeOf(b, 'b'),
              out: nativeOf(y, 'out'),
            },
            3,
            runs,
          ),
        );
      out.push(r);
      b.dispose();
      y.dispose();
    }
    a.releaseDevice();
  }

  // Pruned weights: W [4096, 4096] at 80% sparsity times activations [4096, N].
  const w = randomSparse(4096, 4096, 0.2, 11);
  const wd = Tensor.from(w.toDense().toArraySync(), [4096, 4096], { device: o.device as 'cuda' });
  for (const n of pruned) {
    progress.step(step++, `pruned 4096x4096 80% N=${n}`);
    const b = filled(4096, n, o.device),
      y = Tensor.zeros([4096, n], { device: o.device as 'cuda' });
    const flops = 2 * 4096 * 4096 * n; // dense-equivalent work, the same for both
    const runs = o.runs ?? 30;
    const tk = time(w, b, y, runs);
    const r: SpmmCudaResult = {
      case: 'pruned 4096x4096 80%',
      rows: 4096,
      cols: 4096,
      nnz: w.nnz,
      N: n,
      real: false,
      kernel: tk.kernel,
      tensorkern: timing(tk.secs, flops),
      baseline: 'cublas-dense-tf32',
      base: { skipped: 'library missing' },
    };
    if (cublas.available)
      timeBaseline(r, flops, () =>
        native.bench.gpuGemmTime(
          'cublas',
          {
            a: nativeOf(wd, 'a'),
            b: nativeOf(b, 'b'),
            out: nativeOf(y, 'out'),
            transA: false,
            transB: false,
            alpha: 1,
            beta: 0,
            allowTf32: true,
          },
          3,
          runs,
        ),
      );
    out.push(r);
    b.dispose();
    y.dispose();
  }
  wd.dispose();
  w.releaseDevice();
  progress.done();

  const rows = out.map((r) => [
    `${r.case} N=${r.N}`,
    String(r.nnz),
    r.kernel,
    r.tensorkern.gflops.toFixed(1),
    'gflops' in r.base ? `${r.base.gflops.toFixed(1)} ${r.baseline}` : `- ${r.baseline}`,
    r.ratio !== undefined ? `${r.ratio.toFixed(2)}x` : '-',
  ]);
  o.log(formatTable(['case', 'nnz', 'kernel', 'tensorkern GFLOP/s', 'baseline GFLOP/s', 'tk / baseline'], rows));
  const real = out.filter((r) => r.real && r.baseline === 'cusparse' && r.ratio !== undefined).map((r) => r.ratio!);
  const geomeanRealVsCusparse = geomean(real);
  o.log(
    real.length
      ? `geomean over the real matrices, N = ${ns.join(', ')}: ${geomeanRealVsCusparse.toFixed(2)}x cuSPARSE`
      : 'no real-matrix ratios (../shared/data/sparse absent or cuSPARSE missing)',
  );
  return { cusparse, cases: out, geomeanRealVsCusparse };
}
