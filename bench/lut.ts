// `tensorkern bench lut`: lutMatmul (default call form: no `out`, default threads, result dropped)
// against int4Matmul (weight-only int4, groups of 128) on the same x and shape, interleaved in one
// run, medians. Decode rows (M <= 8) rotate through copies of the weights larger than the caches
// (weights from DRAM) and are compared with the machine's read bandwidth measured in the same run
// (bench/gemm.ts's probe). The goals at N = K = 4096: 2 bits, M = 1 >= 1.8x int4Matmul and
// >= 85% of the read bandwidth; M = 8 >= 1.5x int4Matmul. M = 256 shows where the tables stop paying.
import {
  Int4Weights,
  LowBitWeights,
  Tensor,
  getNumThreads,
  int4MatmulSync,
  lutMatmulSync,
  quantizeWeightsInt4Sync,
  quantizeWeightsSync,
} from '../lib';
import { native } from '../lib/binding';
import { memReadBandwidth } from './gemm';
import { storiesLinears } from './stories';
import { DEFAULT_FORM_WARMUP, Progress, formatTable, measure } from './harness';

export interface LutBenchOptions {
  /** N = K values (default 4096). */
  sizes?: number[];
  /** Token counts (default 1, 8, 256). */
  ms?: number[];
  /** Weight bits (default 1, 2, 3, 4). */
  bits?: number[];
  runs?: number;
  log: (line: string) => void;
}

export interface LutResult {
  M: number;
  N: number;
  K: number;
  bits: number;
  groupSize: number;
  weightsFromDram: boolean;
  kernel: string;
  lut: { medianS: number; weightBytes: number; gbps: number };
  int4: { medianS: number; weightBytes: number; gbps: number };
  /** int4Matmul time / lutMatmul time (> 1: lutMatmul is faster). */
  speedup: number;
  /** lutMatmul's weight bytes per second / the measured read bandwidth (decode rows). */
  bandwidthFraction?: number;
}

export interface LutAccuracyRow {
  bits: number;
  groupSize: number;
  /** ||lutMatmul(x, quantized W) - x W^T||_F / ||x W^T||_F over every stories260K linear layer (float64 reference). */
  relError: number;
}

export interface LutBenchReport {
  threads: number;
  memReadGBps: number;
  cases: LutResult[];
  /** On the real stories260K layers and their real inputs; absent without the model file. */
  accuracy?: LutAccuracyRow[];
}

/** The relative error of each bits / groupSize on the real stories260K layers (null without the model). */
export function lutAccuracy(): LutAccuracyRow[] | null {
  const layers = storiesLinears(16);
  if (!layers) return null;
  const rows: LutAccuracyRow[] = [];
  for (const bits of [1, 2, 3, 4] as const)
    for (const groupSize of [16, 32, 64]) {
      let num = 0,
        den = 0;
      for (const L of layers) {
        const T = L.x.length / L.K;
        const q = quantizeWeightsSync(Tensor.from(L.w, [L.N, L.K]), { bits, groupSize });
        const y = lutMatmulSync(Tensor.from(Float32Array.from(L.x), [T, L.K]), q).toArraySync() as Float32Array;
        for (let t = 0; t < T; t++)
          for (let n = 0; n < L.N; n++) {
            let r = 0;
            for (let k = 0; k < L.K; k++) r += L.x[t * L.K + k] * L.w[n * L.K + k];
            num += (y[t * L.N + n] - r) ** 2;
            den += r * r;
          }
      }
      rows.push({ bits, groupSize, relError: Math.sqrt(num / den) });
    }
  return rows;
}

const DRAM_BYTES = 256 * 2 ** 20;
const GS = 128;

function fill(n: number, seed: number): Float32Array {
  let s = seed;
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) d[i] = ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296) * 2 - 1;
  return d;
}

export function benchLut(o: LutBenchOptions): LutBenchReport {
  const sizes = o.sizes ?? [4096];
  const ms = o.ms ?? [1, 8, 256];
  const bitsList = (o.bits ?? [1, 2, 3, 4]) as (1 | 2 | 3 | 4)[];
  const threads = getNumThreads();
  const memReadGBps = memReadBandwidth();
  o.log(`memory read bandwidth: ${memReadGBps.toFixed(1)} GB/s (256 MiB, ${threads} threads)`);
  const cases: LutResult[] = [];
  const progress = new Progress(sizes.length * ms.length * bitsList.length);
  let step = 0;
  for (const n of sizes) {
    const N = n,
      K = n;
    const W = Tensor.from(fill(N * K, 2), [N, K]);
    const i4 = quantizeWeightsInt4Sync(W, { groupSize: GS });
    const i4Bytes = i4.packed.byteLength + i4.scales.byteLength;
    const lows = new Map(bitsList.map((b) => [b, quantizeWeightsSync(W, { bits: b, groupSize: GS })]));
    for (const M of ms) {
      const decode = M <= 8;
      const x = Tensor.from(fill(M * K, 1), [M, K]);
      const copies = (bytes: number) => (decode ? Math.max(2, Math.ceil(DRAM_BYTES / bytes)) : 1);
      const i4s = [i4, ...Array.from({ length: copies(i4Bytes) - 1 }, () => Int4Weights.fromBuffer(i4.toBuffer()))];
      let t4 = 0;
      for (const bits of bitsList) {
        progress.step(step++, `M=${M} N=K=${n} ${bits}-bit`);
        const w0 = lows.get(bits)!;
        const wBytes = w0.planes.byteLength + w0.scales.byteLength;
        const ws = [w0, ...Array.from({ length: copies(wBytes) - 1 }, () => LowBitWeights.fromBuffer(w0.toBuffer()))];
        let tl = 0;
        lutMatmulSync(x, w0);
        const kernel = native.debug.lastKernel('lut', 'cpu');
        const [tL, tI] = measure(
          [
            { name: 'lut', warmup: DEFAULT_FORM_WARMUP, run: () => void lutMatmulSync(x, ws[(tl = (tl + 1) % ws.length)]) },
            { name: 'int4', warmup: DEFAULT_FORM_WARMUP, run: () => void int4MatmulSync(x, i4s[(t4 = (t4 + 1) % i4s.length)]) },
          ],
          { minRuns: o.runs ?? (decode ? 21 : 5), minTime: decode ? 0.5 : 1 },
        );
        const r: LutResult = {
          M,
          N,
          K,
          bits,
          groupSize: GS,
          weightsFromDram: decode,
          kernel,
          lut: { medianS: tL.medianS, weightBytes: wBytes, gbps: wBytes / tL.medianS / 1e9 },
          int4: { medianS: tI.medianS, weightBytes: i4Bytes, gbps: i4Bytes / tI.medianS / 1e9 },
          speedup: tI.medianS / tL.medianS,
        };
        if (decode) r.bandwidthFraction = r.lut.gbps / memReadGBps;
        cases.push(r);
      }
      // Let the copies go before the next M.
      i4s.length = 0;
    }
  }
  progress.done();
  o.log(
    `lutMatmul (CPU kernel ${cases[0]?.kernel ?? '-'}) vs int4Matmul (groups of ${GS}), default call form, ${threads} threads, medians:`,
  );
  o.log(
    formatTable(
      ['M', 'N = K', 'bits', 'lut ms', 'lut GB/s', '% of read bw', 'int4 ms', 'int4 GB/s', 'speedup', 'goal'],
      cases.map((r) => {
        const goal =
          r.bits === 2 && r.M === 1
            ? `>= 1.8x, >= 85%: ${r.speedup >= 1.8 && (r.bandwidthFraction ?? 0) >= 0.85 ? 'met' : 'not met'}`
            : r.bits === 2 && r.M === 8
              ? `>= 1.5x: ${r.speedup >= 1.5 ? 'met' : 'not met'}`
              : '';
        return [
          String(r.M),
          String(r.N),
          String(r.bits),
          (r.lut.medianS * 1e3).toFixed(3),
          r.lut.gbps.toFixed(1),
          r.bandwidthFraction === undefined ? '-' : `${(r.bandwidthFraction * 100).toFixed(0)}%`,
          (r.int4.medianS * 1e3).toFixed(3),
          r.int4.gbps.toFixed(1),
          `${r.speedup.toFixed(2)}x`,
          goal,
        ];
      }),
    ),
  );
  const accuracy = lutAccuracy();
  if (accuracy) {
    o.log(
      'accuracy on the real stories260K layers (every linear layer, 16 tokens of real inputs): relative Frobenius error vs the float32 weights',
    );
    o.log(
      formatTable(
        ['bits', 'groupSize', 'rel. error'],
        accuracy.map((r) => [String(r.bits), String(r.groupSize), r.relError.toFixed(4)]),
      ),
    );
  } else o.log('accuracy: skipped (../shared/data/models/stories260K.bin missing)');
  return { threads, memReadGBps, cases, accuracy: accuracy ?? undefined };
}
