// `tensorkern bench w4a4`: the cases of test/cases/w4a4.ts against every baseline found on the
// machine, in the same run: oneDNN's int8 GEMM (s8s8s32, dlopen), onnxruntime-node's MatMulNBits
// (4-bit weights, accuracy_level 4, the same weights: block 128, per channel as blocks sharing one scale) when installed, and the project's plain W4A4 loop.
// tensorkern's time includes quantizing the activations. The decode rows (M = 1, 8) rotate through
// copies of the weights larger than the caches and are compared with the measured read bandwidth.
// Then the accuracy table: relative error against the float32 matmul on the real stories260K
// weights and activations, with and without rotation, outlier channels and 8-bit activations.
import { Tensor, getNumThreads, int4MatmulSync, quantizeWeightsInt4Sync, w4a4MatmulSync, w4a8MatmulSync } from '../lib';
import { native } from '../lib/binding';
import { Int4Weights } from '../lib/quant/int4-weights';
import { nativeOf } from '../lib/tensor';
import { w4a4BenchCases, w4a4Ops } from './cases/w4a4';
import { storiesLinears } from './stories';
import { memReadBandwidth } from './gemm';
import { AsyncImpl, DEFAULT_FORM, DEFAULT_FORM_WARMUP, Progress, Timing, defaultFormCell, formatTable, measureAsync } from './harness';
import { OrtSession, OrtStatus, loadOrt, matMulNBitsModel, ortSession } from './onnx';

export interface W4A4BenchOptions {
  sizes?: number[];
  runs?: number;
  log: (line: string) => void;
}

export interface W4A4Result {
  case: string;
  M: number;
  N: number;
  K: number;
  groupSize: number | 'channel';
  ops: number;
  weightBytes: number;
  weightsFromDram: boolean;
  kernel: string;
  results: Record<string, { medianS: number; minS: number; runs: number; gops: number } | { skipped: string }>;
  /** tensorkern speed / baseline speed (> 1: tensorkern is faster). */
  ratios: Record<string, number>;
  bandwidthFraction?: number;
}

export interface AccuracyRow {
  matrix: string;
  N: number;
  K: number;
  /** Relative Frobenius error vs the float32 matmul (float64 reference), all 5 layers together. */
  errors: Record<string, number>;
}

const DRAM_BYTES = 256 * 2 ** 20;

function rand(n: number, seed: number): Float32Array {
  let s = seed;
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = (s / 4294967296) * 2 - 1;
  }
  return a;
}

function nt(d: ArrayBufferView, shape: number[], dtype: number) {
  return { dtype, shape, data: d };
}

export interface W4A4SpeedReport {
  memReadGBps: number;
  onednn: { available: boolean; version: string; why: string };
  onnxruntime: OrtStatus & { note?: string };
  cases: W4A4Result[];
}

/**
 * MatMulNBits' block for a grouping, 0 when it has none (it takes blocks of 16, 32, 64, 128 and 256).
 * Per channel it gets blocks of 128 with the row's one scale repeated: the same weights exactly.
 */
function ortBlock(groupSize: number | 'channel', K: number): number {
  const b = groupSize === 'channel' ? 128 : groupSize;
  return [16, 32, 64, 128, 256].includes(b) && K % b === 0 ? b : 0;
}

/** Scales [N, G] as MatMulNBits' [N, K / block] (each repeated when the group spans several blocks). */
function ortScales(scales: Float32Array, N: number, G: number, K: number, block: number): Float32Array {
  const per = K / G / block;
  if (per === 1) return scales;
  const out = new Float32Array(N * (K / block));
  for (let i = 0; i < out.length; i++) out[i] = scales[Math.floor(i / (K / block)) * G + Math.floor((i % (K / block)) / per)];
  return out;
}

export async function benchW4A4Speed(o: W4A4BenchOptions): Promise<W4A4SpeedReport> {
  const threads = getNumThreads();
  const libs = native.bench.baselines(threads);
  const onednn = { available: libs.onednn.available, version: libs.onednn.version, why: libs.onednn.why };
  o.log(onednn.available ? `baseline onednn: ${onednn.version} (int8 s8s8s32)` : `baseline onednn: missing: ${onednn.why}`);
  const ort: W4A4SpeedReport['onnxruntime'] = loadOrt();
  o.log(
    ort.available
      ? `baseline onnxruntime: ${ort.version} (MatMulNBits, 4-bit weights, accuracy_level 4)`
      : `baseline onnxruntime: missing: ${ort.why}`,
  );
  if (ort.available)
    ort.note =
      'MatMulNBits on the same weights (block 128; per channel as blocks of 128 sharing one scale), accuracy_level 4, same weights and threads; on decode shapes its one session keeps the weights warm in cache (no DRAM rotation)';
  const memReadGBps = memReadBandwidth();
  o.log(`memory read bandwidth: ${memReadGBps.toFixed(1)} GB/s (256 MiB, ${threads} threads)`);
  const cases = w4a4BenchCases(o.sizes ?? [1024, 2048]);
  const progress = new Progress(cases.length);
  const out: W4A4Result[] = [];
  for (const [idx, c] of cases.entries()) {
    progress.step(idx, c.name);
    const { M, N, K } = c;
    const decode = M <= 8;
    const xd = rand(M * K, 1),
      wd = rand(N * K, 2);
    const x = Tensor.from(xd, [M, K]);
    const w0 = quantizeWeightsInt4Sync(Tensor.from(wd, [N, K]), { groupSize: c.groupSize });
    const wBytes = w0.packed.byteLength + w0.scales.byteLength;
    const copies = decode ? Math.max(2, Math.ceil(DRAM_BYTES / wBytes)) : 1;
    const ws = [w0, ...Array.from({ length: copies - 1 }, () => Int4Weights.fromBuffer(w0.toBuffer()))];
    let turn = 0;
    const nextW = () => ws[(turn = (turn + 1) % copies)];
    const y = Tensor.zeros([M, N]);
    const impls: AsyncImpl[] = [
      { name: 'tensorkern', run: () => w4a4MatmulSync(x, nextW(), { out: y }) },
      { name: DEFAULT_FORM, warmup: DEFAULT_FORM_WARMUP, run: () => void w4a4MatmulSync(x, nextW()) },
    ];
    // Decode: also one weight copy kept warm in cache, like onnxruntime's single session.
    if (decode) impls.push({ name: 'tensorkern-warm', run: () => w4a4MatmulSync(x, w0, { out: y }) });
    const skipped: Record<string, string> = {};
    if (onednn.available) {
      const a8 = Tensor.from(
        new Int8Array(M * K).map((_, i) => ((i * 7) % 255) - 127),
        [M, K],
      );
      const b8s = Array.from({ length: decode ? Math.max(2, Math.ceil(DRAM_BYTES / (N * K))) : 1 }, (_, j) =>
        Tensor.from(new Int8Array(N * K).fill(j + 1), [N, K]),
      );
      const o32 = Tensor.zeros([M, N], { dtype: 'int32' });
      let t8 = 0;
      impls.push({
        name: 'onednn-int8',
        run: () =>
          native.bench.baselineGemm(
            'onednn',
            nativeOf(a8, 'a'),
            nativeOf(b8s[(t8 = (t8 + 1) % b8s.length)], 'b'),
            nativeOf(o32, 'out'),
            false,
            true,
          ),
      });
    } else skipped['onednn-int8'] = 'library missing';
    if (w4a4Ops(c) <= 2.2e9) {
      const yp = Tensor.zeros([M, N]);
      impls.push({
        name: 'plain',
        maxRuns: 3,
        run: () =>
          native.bench.w4a4Plain({
            x: nativeOf(x, 'x'),
            w: nt(w0.packed, [N, K], 4),
            scales: nt(w0.scales, [N, w0.groups], 0),
            out: nativeOf(yp, 'out'),
            groupSize: w0.groupSize,
            rotateBlock: 0,
            actBits: 4,
          }),
      });
    } else skipped.plain = 'skipped: the plain loop would take minutes at this size';
    let session: OrtSession | undefined;
    if (!ort.available) skipped.onnxruntime = 'onnxruntime-node missing';
    else if (ortBlock(c.groupSize, K) === 0) skipped.onnxruntime = 'MatMulNBits takes blocks of 16 to 256 dividing K only';
    else {
      // The same 4-bit weights (per channel: blocks of 128 sharing the row's scale): MatMulNBits stores unsigned
      // nibbles with the default zero point 8.
      const packedB = w0.packed.map((b) => b ^ 0x88);
      const blockSize = ortBlock(c.groupSize, K);
      const scales = ortScales(w0.scales, N, w0.groups, K, blockSize);
      session = await ortSession(matMulNBitsModel({ K, N, blockSize, accuracyLevel: 4, bits: 4, packedB, scales }), threads);
      impls.push({ name: 'onnxruntime', run: session.prepare({ A: { data: xd, dims: [M, K] } }) });
    }
    // The kernel the 'tensorkern' row runs: what the dispatch records as it runs (one call, before timing).
    w4a4MatmulSync(x, w0, { out: y });
    const kernel = native.debug.lastKernel('w4a4', 'cpu');
    const timings: Timing[] = await measureAsync(impls, { minRuns: o.runs ?? 5, minTime: 0.5 });
    await session?.release();
    const results: W4A4Result['results'] = {};
    for (const t of timings) results[t.name] = { medianS: t.medianS, minS: t.minS, runs: t.runs, gops: w4a4Ops(c) / t.medianS / 1e9 };
    for (const [k, why] of Object.entries(skipped)) results[k] = { skipped: why };
    const tk = timings[0].medianS;
    const ratios: Record<string, number> = {};
    for (const t of timings.slice(1)) ratios[t.name] = t.medianS / tk;
    const warm = timings.find((t) => t.name === 'tensorkern-warm'),
      ortT = timings.find((t) => t.name === 'onnxruntime');
    if (warm && ortT) ratios['onnxruntime (both warm)'] = ortT.medianS / warm.medianS;
    const r: W4A4Result = {
      case: c.name,
      M,
      N,
      K,
      groupSize: c.groupSize,
      ops: w4a4Ops(c),
      weightBytes: wBytes,
      weightsFromDram: decode,
      kernel,
      results,
      ratios,
    };
    if (decode) r.bandwidthFraction = wBytes / tk / 1e9 / memReadGBps;
    out.push(r);
  }
  progress.done();
  const names = ['tensorkern', DEFAULT_FORM, 'tensorkern-warm', 'onednn-int8', 'onnxruntime', 'plain'];
  const rows = out.map((r) => {
    const cell = (n: string) => {
      const v = r.results[n];
      if (!v) return '';
      if ('skipped' in v) return '-';
      if (n === DEFAULT_FORM) return defaultFormCell(v.gops, v.medianS, (r.results.tensorkern as { medianS: number }).medianS);
      if (n === 'tensorkern') return v.gops.toFixed(1);
      if (n === 'tensorkern-warm') return v.gops.toFixed(1);
      const both =
        n === 'onnxruntime' && r.ratios['onnxruntime (both warm)'] !== undefined
          ? `, ${r.ratios['onnxruntime (both warm)'].toFixed(2)}x warm`
          : '';
      return `${v.gops.toFixed(1)} (${r.ratios[n].toFixed(2)}x${both})`;
    };
    const bw = r.bandwidthFraction !== undefined ? `${(r.bandwidthFraction * 100).toFixed(0)}% of read bw` : '';
    return [r.case, ...names.map(cell), bw];
  });
  o.log(
    formatTable(
      [
        'case',
        'tensorkern GOP/s (out reused)',
        'default call (no out)',
        'tk, weights warm',
        'oneDNN int8 (tk speedup)',
        'ORT MatMulNBits (tk speedup)',
        'plain loop',
        'weights',
      ],
      rows,
    ),
  );
  o.log(`kernel: ${out[0]?.kernel ?? '-'}`);
  return { memReadGBps, onednn, onnxruntime: ort, cases: out };
}

/** The accuracy table on stories260K (null when the model file is absent). */
export function benchW4A4Accuracy(log: (s: string) => void): AccuracyRow[] | null {
  const lin = storiesLinears(32);
  if (!lin) {
    log('accuracy: stories260K.bin is absent (../shared/data/models), no table');
    return null;
  }
  const byName = new Map<string, typeof lin>();
  for (const l of lin) byName.set(l.name, [...(byName.get(l.name) ?? []), l]);
  const rows: AccuracyRow[] = [];
  const variants: [string, boolean][] = [
    ['real', false],
    ['planted', true],
  ];
  for (const [name, layers] of byName) {
    const acc: Record<string, { num: number; den: number }> = {};
    const add = (key: string, got: ArrayLike<number>, ref: ArrayLike<number>) => {
      const e = (acc[key] ??= { num: 0, den: 0 });
      for (let i = 0; i < ref.length; i++) {
        e.num += (got[i] - ref[i]) ** 2;
        e.den += ref[i] ** 2;
      }
    };
    for (const L of layers) {
      const T = L.x.length / L.K;
      const W = Tensor.from(L.w, [L.N, L.K]);
      const wc = quantizeWeightsInt4Sync(W);
      const wr = quantizeWeightsInt4Sync(W, { rotate: 'hadamard' });
      const g = L.K % 32 === 0 ? quantizeWeightsInt4Sync(W, { groupSize: 32 }) : undefined;
      for (const [kind, planted] of variants) {
        const x = Float32Array.from(L.x);
        if (planted) for (let t = 0; t < T; t++) for (const c of [1, 17, 33, 49]) x[t * L.K + (c % L.K)] *= 30;
        const X = Tensor.from(x, [T, L.K]);
        const ref = new Float64Array(T * L.N);
        for (let t = 0; t < T; t++)
          for (let n = 0; n < L.N; n++) {
            let s = 0;
            for (let k = 0; k < L.K; k++) s += x[t * L.K + k] * L.w[n * L.K + k];
            ref[t * L.N + n] = s;
          }
        const arr = (y: Tensor) => y.toArraySync() as Float32Array;
        add(`${kind}: w4a4 channel`, arr(w4a4MatmulSync(X, wc)), ref);
        if (g) add(`${kind}: w4a4 g32`, arr(w4a4MatmulSync(X, g)), ref);
        add(`${kind}: w4a4 hadamard`, arr(w4a4MatmulSync(X, wr)), ref);
        const wo = quantizeWeightsInt4Sync(W, { calibration: X, outlierCount: 4 });
        add(`${kind}: w4a4 outliers=4`, arr(w4a4MatmulSync(X, wo)), ref);
        const wro = quantizeWeightsInt4Sync(W, { calibration: X, outlierCount: 4, rotate: 'hadamard' });
        add(`${kind}: w4a4 hadamard+outliers=4`, arr(w4a4MatmulSync(X, wro)), ref);
        add(`${kind}: w4a8 channel`, arr(w4a8MatmulSync(X, wc)), ref);
        add(`${kind}: weight-only int4`, arr(int4MatmulSync(X, wc)), ref);
      }
    }
    const errors: Record<string, number> = {};
    for (const [k, v] of Object.entries(acc)) errors[k] = Math.sqrt(v.num / v.den);
    rows.push({ matrix: name, N: layers[0].N, K: layers[0].K, errors });
  }
  const keys = Object.keys(rows[0].errors);
  log('accuracy on stories260K (relative error vs float32, 5 layers x 32 tokens; planted: 4 channels x30):');
  log(
    formatTable(
      ['option', ...rows.map((r) => `${r.matrix} ${r.N}x${r.K}`)],
      keys.map((k) => [k, ...rows.map((r) => (r.errors[k] === undefined ? '-' : r.errors[k].toFixed(4)))]),
    ),
  );
  return rows;
}

export async function benchW4A4(o: W4A4BenchOptions): Promise<{ speed: W4A4SpeedReport; accuracy: AccuracyRow[] | null }> {
  const speed = await benchW4A4Speed(o);
  const accuracy = benchW4A4Accuracy(o.log);
  return { speed, accuracy };
}
