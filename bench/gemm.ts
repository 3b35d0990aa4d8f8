// `tensorkern bench gemm`: the cases of test/cases/gemm.ts against every baseline found on the
// machine, in the same run: oneDNN and OpenBLAS (dlopen), and the project's own plain loop. The
// decode shapes (M = 1, 8, 32 with N = K = 4096) rotate through copies of the weights larger than
// the caches, so the weights come from DRAM, and are compared with the measured read bandwidth.
import { PackedWeights, Tensor, float32ToBFloat16Bits, float32ToFloat16Bits, gemmSync, packWeightsSync } from '../lib';
import { native } from '../lib/binding';
import { DTYPES } from '../lib/dtype';
import { nativeOf } from '../lib/tensor';
import { GemmCase, gemmBenchCases, gemmBytes, gemmFlops } from './cases/gemm';
import { DEFAULT_FORM, DEFAULT_FORM_WARMUP, Impl, Progress, Timing, defaultFormCell, formatTable, measure } from './harness';

export interface GemmBenchOptions {
  device: string;
  sizes?: number[];
  runs?: number;
  log: (line: string) => void;
}

export interface GemmResult {
  case: string;
  M: number;
  N: number;
  K: number;
  dtype: string;
  flops: number;
  bytes: number;
  weightsFromDram: boolean;
  kernel: string;
  results: Record<string, { medianS: number; minS: number; runs: number; gflops: number; gbps: number } | { skipped: string }>;
  /** tensorkern speed / baseline speed (> 1: tensorkern is faster). */
  ratios: Record<string, number>;
  /** For the decode shapes: the weight bytes per second as a fraction of the measured read bandwidth. */
  bandwidthFraction?: number;
  /** Milliseconds packWeights took for b (the packed column reuses it across calls). */
  packMs: number;
}

export interface GemmBenchReport {
  memReadGBps: number;
  baselines: Record<string, { available: boolean; version: string; why: string }>;
  cases: GemmResult[];
}

const DRAM_BYTES = 256 * 2 ** 20; // comfortably above any L3 this runs on

function fill(dtype: string, n: number, seed: number): Tensor {
  let s = seed;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296) * 2 - 1;
  if (dtype === 'int8') {
    const d = new Int8Array(n);
    for (let i = 0; i < n; i++) d[i] = Math.round(next() * 127);
    return Tensor.from(d, [n]);
  }
  if (dtype === 'float32') {
    const d = new Float32Array(n);
    for (let i = 0; i < n; i++) d[i] = next();
    return Tensor.from(d, [n]);
  }
  const enc = dtype === 'float16' ? float32ToFloat16Bits : float32ToBFloat16Bits;
  const d = new Uint16Array(n);
  for (let i = 0; i < n; i++) d[i] = enc(next());
  return Tensor.from(d, [n], { dtype: dtype as 'float16' | 'bfloat16' });
}

/** Another tensor with the same contents in its own memory (weight copies for the DRAM cases). */
function copyOf(t: Tensor): Tensor {
  const src = t.toArraySync();
  const dst = new (src.constructor as new (n: number) => typeof src)(src.length);
  (dst as Float32Array).set(src as Float32Array);
  return Tensor.from(dst, t.shape, { dtype: t.dtype });
}

/** Read bandwidth: the median of several passes over 256 MiB with the compute threads. */
export function memReadBandwidth(): number {
  const t = Tensor.from(new Float32Array(DRAM_BYTES / 4).fill(1), [DRAM_BYTES / 4]); // touched: zero pages would read from cache
  const n = nativeOf(t, 'mem');
  native.bench.memRead(n);
  const times = Array.from({ length: 7 }, () => native.bench.memRead(n)).sort((a, b) => a - b);
  return DRAM_BYTES / times[3] / 1e9;
}

function isDecode(c: GemmCase): boolean {
  return c.M <= 32 && c.N * c.K >= 4096 * 4096;
}

export function benchGemm(o: GemmBenchOptions): GemmBenchReport {
  const threads = native.runtime.getNumThreads();
  const libs = native.bench.baselines(threads);
  const baselines: GemmBenchReport['baselines'] = {
    onednn: { available: libs.onednn.available, version: libs.onednn.version, why: libs.onednn.why },
    onednnMatmul: { available: libs.onednnMatmul.available, version: libs.onednnMatmul.version, why: libs.onednnMatmul.why },
    openblas: { available: libs.openblas.available, version: libs.openblas.version, why: libs.openblas.why },
  };
  for (const [name, b] of Object.entries(baselines)) {
    o.log(b.available ? `baseline ${name}: ${b.version} (${libs[name as 'onednn'].path})` : `baseline ${name}: missing: ${b.why}`);
  }
  if (baselines.onednnMatmul.available) {
    o.log(
      'baseline onednnMatmul: the matmul primitive made once per shape, weights reordered once outside the timing; int8 as u8s8s32 (a read as unsigned: the same work)',
    );
  }
  const memReadGBps = memReadBandwidth();
  o.log(`memory read bandwidth: ${memReadGBps.toFixed(1)} GB/s (256 MiB, ${threads} threads)`);

  // Without --sizes: a short run (up to 2048 cubed); the full table adds 4096.
  const cases = gemmBenchCases(o.sizes ?? [256, 1024, 2048]);
  const progress = new Progress(cases.length);
  const out: GemmResult[] = [];
  cases.forEach((c, idx) => {
    progress.step(idx, c.name);
    const aShape = c.transA ? [c.K, c.M] : [c.M, c.K];
    const bShape = c.transB ? [c.N, c.K] : [c.K, c.N];
    const decode = isDecode(c);
    const bBytes = c.K * c.N * (DTYPES[c.dtype].bits / 8);
    const copies = decode ? Math.max(2, Math.ceil(DRAM_BYTES / bBytes)) : 1;
    const a = fill(c.dtype, c.M * c.K, 1).reshape(aShape);
    const b0 = fill(c.dtype, c.K * c.N, 2).reshape(bShape);
    const bs = [b0, ...Array.from({ length: copies - 1 }, () => copyOf(b0))];
    const accDtype = c.dtype === 'int8' ? 'int32' : 'float32';
    const outT = Tensor.zeros([c.M, c.N], { dtype: accDtype });
    let turn = 0,
      pturn = 0;
    const nextB = () => bs[(turn = (turn + 1) % copies)];
    const t0 = process.hrtime.bigint();
    const pws: PackedWeights[] = [packWeightsSync(b0, { transB: c.transB })];
    const packMs = Number(process.hrtime.bigint() - t0) / 1e6;
    for (const b of bs.slice(1)) pws.push(packWeightsSync(b, { transB: c.transB }));
    const nextPacked = () => pws[(pturn = (pturn + 1) % copies)];
    const impls: Impl[] = [
      { name: 'tensorkern', run: () => gemmSync(a, nextB(), { transA: c.transA, transB: c.transB, out: outT }) },
      // What a caller writes: a new output each call, dropped (the cache of warm host memory serves it).
      { name: DEFAULT_FORM, warmup: DEFAULT_FORM_WARMUP, run: () => void gemmSync(a, nextB(), { transA: c.transA, transB: c.transB }) },
      // The same default call with the weights packed once ahead (packWeights).
      { name: 'packed', warmup: DEFAULT_FORM_WARMUP, run: () => void gemmSync(a, nextPacked(), { transA: c.transA }) },
    ];
    const skipped: Record<string, string> = {};
    const baseOut = Tensor.zeros([c.M, c.N], { dtype: accDtype });
    for (const name of ['onednn', 'onednnMatmul', 'openblas'] as const) {
      const ok = baselines[name].available && (c.dtype === 'float32' || (c.dtype === 'int8' && name !== 'openblas'));
      if (!ok) {
        skipped[name] = baselines[name].available ? `no ${c.dtype} gemm in ${name}` : 'library missing';
        continue;
      }
      impls.push({
        name,
        run: () =>
          native.bench.baselineGemm(name, nativeOf(a, 'a'), nativeOf(nextB(), 'b'), nativeOf(baseOut, 'out'), !!c.transA, !!c.transB),
      });
    }
    // The kernel the 'tensorkern' row runs: what the dispatch records as it runs (one call, before timing).
    gemmSync(a, b0, { transA: c.transA, transB: c.transB, out: outT });
    const kernel = native.debug.lastKernel('gemm', 'cpu');
    const flops = gemmFlops(c);
    if (flops <= 2.2e9) {
      impls.push({
        name: 'plain',
        maxRuns: 3,
        run: () =>
          native.bench.gemmPlain({
            a: nativeOf(a, 'a'),
            b: nativeOf(nextB(), 'b'),
            out: nativeOf(baseOut, 'out'),
            transA: !!c.transA,
            transB: !!c.transB,
            alpha: 1,
            beta: 0,
          }),
      });
    } else {
      skipped.plain = 'skipped: the plain loop would take minutes at this size';
    }
    const timings: Timing[] = measure(impls, { minRuns: o.runs ?? 5, minTime: 0.5 });
    const results: GemmResult['results'] = {};
    for (const t of timings) {
      results[t.name] = {
        medianS: t.medianS,
        minS: t.minS,
        runs: t.runs,
        gflops: flops / t.medianS / 1e9,
        gbps: gemmBytes(c) / t.medianS / 1e9,
      };
    }
    for (const [k, why] of Object.entries(skipped)) results[k] = { skipped: why };
    const tk = timings[0].medianS;
    const ratios: Record<string, number> = {};
    for (const t of timings.slice(1)) ratios[t.name] = t.medianS / tk;
    const r: GemmResult = {
      case: c.name,
      M: c.M,
      N: c.N,
      K: c.K,
      dtype: c.dtype,
      flops,
      bytes: gemmBytes(c),
      weightsFromDram: decode,
      kernel,
      results,
      ratios,
      packMs,
    };
    if (decode) r.bandwidthFraction = bBytes / tk / 1e9 / memReadGBps;
    out.push(r);
    for (const t of [a, ...bs, outT, baseOut, ...pws]) t.dispose();
  });
  progress.done();

  const names = ['tensorkern', DEFAULT_FORM, 'packed', 'onednn', 'onednnMatmul', 'openblas', 'plain'];
  const rows = out.map((r) => {
    const cell = (n: string) => {
      const x = r.results[n];
      if (!x) return '';
      if ('skipped' in x) return '-';
      if (n === DEFAULT_FORM) return defaultFormCell(x.gflops, x.medianS, (r.results.tensorkern as { medianS: number }).medianS);
      if (n === 'packed') {
        // against the better of oneDNN's two forms
        const best = (['onednn', 'onednnMatmul'] as const).flatMap((k) => {
          const d = r.results[k];
          return d && 'medianS' in d ? [d.medianS] : [];
        });
        return best.length
          ? `${x.gflops.toFixed(1)} (${(Math.min(...best) / x.medianS).toFixed(2)}x best oneDNN)`
          : `${x.gflops.toFixed(1)}`;
      }
      return n === 'tensorkern' ? `${x.gflops.toFixed(1)}` : `${x.gflops.toFixed(1)} (${r.ratios[n].toFixed(2)}x)`;
    };
    const bw = r.bandwidthFraction !== undefined ? `${(r.bandwidthFraction * 100).toFixed(0)}% of read bw` : '';
    return [r.case, ...names.map(cell), r.kernel, bw];
  });
  o.log(
    formatTable(
      [
        'case',
        'tensorkern GFLOP/s (out reused)',
        'default call (no out)',
        'packed weights, default call',
        'oneDNN gemm (tk speedup)',
        'oneDNN matmul, prepacked (tk speedup)',
        'OpenBLAS (tk speedup)',
        'plain loop',
        'kernel',
        'weights',
      ],
      rows,
    ),
  );
  return { memReadGBps, baselines, cases: out };
}
