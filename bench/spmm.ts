// `tensorkern bench spmm`: the matrices of test/cases/spmm.ts (random 8192^2 at 1% and 10%, and the
// real matrices of ../shared/data/sparse when present) times N columns, against the baselines found on
// the machine, in the same run: the project's hand-written SIMD loop (native spmmPlain: rows split
// evenly, one row at a time, the row's output tile in registers) and librsb (dlopen). Memory-bound
// figures are compared with the measured read bandwidth.
import { Tensor, spmmSync } from '../lib';
import { NativeSpmmParams, native } from '../lib/binding';
import { csrNative } from '../lib/ops/spmm';
import { SparseMatrix } from '../lib/sparse/sparse-matrix';
import { nativeOf } from '../lib/tensor';
import { spmmBenchCases, spmmBytes, spmmFlops } from './cases/spmm';
import { memReadBandwidth } from './gemm';
import { DEFAULT_FORM, DEFAULT_FORM_WARMUP, Impl, Progress, defaultFormCell, formatTable, measure } from './harness';

export interface SpmmBenchOptions {
  device: string;
  /** The N values (columns of B). */
  sizes?: number[];
  runs?: number;
  log: (line: string) => void;
}

export interface SpmmResult {
  case: string;
  rows: number;
  cols: number;
  nnz: number;
  N: number;
  real: boolean;
  rowStats: { min: number; max: number; mean: number; empty: number };
  flops: number;
  bytes: number;
  kernel: string;
  results: Record<string, { medianS: number; minS: number; runs: number; gflops: number; gbps: number } | { skipped: string }>;
  /** tensorkern speed / baseline speed (> 1: tensorkern is faster). */
  ratios: Record<string, number>;
  /** tensorkern's least-traffic bytes per second as a fraction of the measured read bandwidth. */
  bandwidthFraction: number;
}

export interface SpmmBenchReport {
  memReadGBps: number;
  baselines: Record<string, { available: boolean; version: string; why: string }>;
  cases: SpmmResult[];
}

function fill(rows: number, n: number, seed: number): Tensor {
  let s = seed;
  const d = new Float32Array(rows * n);
  for (let i = 0; i < d.length; i++) d[i] = ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296) * 2 - 1;
  return Tensor.from(d, [rows, n]);
}

export function benchSpmm(o: SpmmBenchOptions): SpmmBenchReport {
  const threads = native.runtime.getNumThreads();
  const rsb = native.bench.rsbLoad(threads);
  const baselines: SpmmBenchReport['baselines'] = {
    librsb: { available: rsb.available, version: rsb.version, why: rsb.why },
    plain: { available: true, version: 'native spmmPlain', why: '' },
  };
  o.log(rsb.available ? `baseline librsb: ${rsb.path}` : `baseline librsb: missing: ${rsb.why}`);
  const memReadGBps = memReadBandwidth();
  o.log(`memory read bandwidth: ${memReadGBps.toFixed(1)} GB/s (256 MiB, ${threads} threads)`);

  // Without --sizes: N = 64 only (the headline); --sizes 32,64,128,256 gives the full table.
  const ns = o.sizes ?? [64];
  const cases = spmmBenchCases(ns);
  const total = cases.reduce((s, c) => s + c.ns.length, 0);
  const progress = new Progress(total);
  const out: SpmmResult[] = [];
  let step = 0;
  for (const c of cases) {
    const a: SparseMatrix = c.matrix();
    const st = a.rowStats();
    const csr = csrNative(a);
    const handle = rsb.available && a.indexType === 'int32' ? native.bench.rsbPrepare(...csr, a.rows, a.cols) : -1;
    for (const n of c.ns) {
      progress.step(step++, `${c.name} N=${n}`);
      const b = fill(a.cols, n, 7);
      const res = Tensor.zeros([a.rows, n]);
      const base = Tensor.zeros([a.rows, n]);
      const [rowPtr, colIdx, values] = csr;
      const plain: NativeSpmmParams = {
        rowPtr,
        colIdx,
        values,
        rows: a.rows,
        cols: a.cols,
        b: nativeOf(b, 'b'),
        out: nativeOf(base, 'out'),
        alpha: 1,
        beta: 0,
      };
      // The kernel the 'tensorkern' row runs: what the dispatch records as it runs (one call, before timing).
      spmmSync(a, b, { out: res, device: 'cpu' });
      const kernel = native.debug.lastKernel('spmm', 'cpu');
      const impls: Impl[] = [
        { name: 'tensorkern', run: () => spmmSync(a, b, { out: res, device: 'cpu' }) },
        { name: DEFAULT_FORM, warmup: DEFAULT_FORM_WARMUP, run: () => void spmmSync(a, b, { device: 'cpu' }) },
        { name: 'plain', run: () => native.bench.spmmPlain(plain) },
      ];
      const skipped: Record<string, string> = {};
      if (handle >= 0) impls.push({ name: 'librsb', run: () => native.bench.rsbSpmm(handle, nativeOf(b, 'b'), nativeOf(base, 'out')) });
      else skipped.librsb = rsb.available ? 'int64 indices' : 'library missing';
      const timings = measure(impls, { minRuns: o.runs ?? 7, minTime: 0.5 });
      const flops = spmmFlops(a.nnz, n),
        bytes = spmmBytes(a, n);
      const results: SpmmResult['results'] = {};
      for (const t of timings)
        results[t.name] = {
          medianS: t.medianS,
          minS: t.minS,
          runs: t.runs,
          gflops: flops / t.medianS / 1e9,
          gbps: bytes / t.medianS / 1e9,
        };
      for (const [k, why] of Object.entries(skipped)) results[k] = { skipped: why };
      const tk = timings[0].medianS;
      const ratios: Record<string, number> = {};
      for (const t of timings.slice(1)) ratios[t.name] = t.medianS / tk;
      out.push({
        case: c.name,
        rows: a.rows,
        cols: a.cols,
        nnz: a.nnz,
        N: n,
        real: c.real,
        rowStats: { min: st.min, max: st.max, mean: st.mean, empty: st.empty },
        flops,
        bytes,
        kernel,
        results,
        ratios,
        bandwidthFraction: bytes / tk / 1e9 / memReadGBps,
      });
      for (const t of [b, res, base]) t.dispose();
    }
    if (handle >= 0) native.bench.rsbFree(handle);
  }
  progress.done();

  const names = ['tensorkern', DEFAULT_FORM, 'plain', 'librsb'];
  const rows = out.map((r) => {
    const cell = (name: string) => {
      const x = r.results[name];
      if (!x) return '';
      if ('skipped' in x) return '-';
      if (name === DEFAULT_FORM) return defaultFormCell(x.gflops, x.medianS, (r.results.tensorkern as { medianS: number }).medianS);
      return name === 'tensorkern' ? x.gflops.toFixed(1) : `${x.gflops.toFixed(1)} (${r.ratios[name].toFixed(2)}x)`;
    };
    return [`${r.case} N=${r.N}`, String(r.nnz), ...names.map(cell), `${(r.bandwidthFraction * 100).toFixed(0)}%`, r.kernel];
  });
  o.log(
    formatTable(
      [
        'case',
        'nnz',
        'tensorkern GFLOP/s (out reused)',
        'default call (no out)',
        'plain loop (tk speedup)',
        'librsb (tk speedup)',
        'of read bw',
        'kernel',
      ],
      rows,
    ),
  );
  return { memReadGBps, baselines, cases: out };
}
