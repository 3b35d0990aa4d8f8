// `tensorkern bench quant-accuracy`: what each quantized matmul costs a real model in accuracy. The
// llama2.c stories260K model (../shared/data/models) samples a text from its float32 weights (fixed
// seed, temperature 1); then, for every weight format in QUANT_FORMATS, the model reads that text
// teacher-forced with every projection (wq, wk, wv, wo, w1, w2, w3 of each layer, and the classifier)
// computed by that format's matmul, giving the perplexity over the sampled tokens and how often its
// top-1 next token agrees with float32's. The rest of the model (RMSNorm, RoPE, attention, SwiGLU)
// runs in float64 JavaScript, the same for every format, so only the projections differ.
// To add a format: append a QuantFormat (prepare the weights once, return the product).
import {
  Tensor,
  bitMatmulSync,
  gemmSync,
  int4MatmulSync,
  int8MatmulSync,
  lutMatmulSync,
  quantizeBits,
  quantizeWeightsInt4Sync,
  quantizeWeightsInt8Sync,
  quantizeWeightsSync,
  w4a4MatmulSync,
  w4a8MatmulSync,
} from '../lib';
import { Checkpoint, readCheckpoint } from './llama/checkpoint';
import { LlamaModel } from './llama/model';
import { STORIES_PATH } from './stories';

/**
 * A linear layer y [T, N] = x [T, K] W^T in some format: prepare quantizes W [N, K] once. A format
 * with `calibrated` also gets `calibration`: the float32 model's inputs to this layer [rows, K] while
 * it read a separate text (CALIBRATION_SEED), never one the table scores.
 */
export interface QuantFormat {
  name: string;
  describe: string;
  calibrated?: boolean;
  prepare(w: Float32Array, N: number, K: number, calibration?: Float32Array): (x: Float32Array, T: number) => Float32Array;
}

/** The seed of the calibration text of `calibrated` formats (the scored texts use 1..5). */
export const CALIBRATION_SEED = 1000;

const run = (f: (X: Tensor) => Tensor, K: number) => (x: Float32Array, T: number) =>
  f(Tensor.from(x, [T, K])).toArraySync() as Float32Array;

export const QUANT_FORMATS: QuantFormat[] = [
  {
    name: 'float32',
    describe: 'float32 gemm (the reference)',
    prepare: (w, N, K) => {
      const W = Tensor.from(w, [N, K]);
      return run((X) => gemmSync(X, W, { transB: true }), K);
    },
  },
  {
    name: 'w8a8',
    describe: 'int8Matmul: int8 weights per channel, int8 activations per token, outlier columns |x| >= 6 in float32',
    prepare: (w, N, K) => {
      const W = quantizeWeightsInt8Sync(Tensor.from(w, [N, K]));
      return run((X) => int8MatmulSync(X, W), K);
    },
  },
  {
    name: 'w8a8-no-outliers',
    describe: 'int8Matmul with threshold: Infinity (no decomposition)',
    prepare: (w, N, K) => {
      const W = quantizeWeightsInt8Sync(Tensor.from(w, [N, K]));
      return run((X) => int8MatmulSync(X, W, { threshold: Infinity }), K);
    },
  },
  {
    name: 'w8a8-threshold3',
    describe: 'int8Matmul with threshold: 3 (more columns through float32)',
    prepare: (w, N, K) => {
      const W = quantizeWeightsInt8Sync(Tensor.from(w, [N, K]));
      return run((X) => int8MatmulSync(X, W, { threshold: 3 }), K);
    },
  },
  {
    name: 'w4a4-channel',
    describe: 'w4a4Matmul: int4 weights per channel, int4 activations per token',
    prepare: (w, N, K) => {
      const W = quantizeWeightsInt4Sync(Tensor.from(w, [N, K]), { groupSize: 'channel' });
      return run((X) => w4a4MatmulSync(X, W), K);
    },
  },
  {
    name: 'int4-g8',
    describe: 'int4Matmul: int4 weights in groups of 8 (of 4 where 8 does not divide K: w2, K = 172), float32 activations',
    prepare: (w, N, K) => {
      const W = quantizeWeightsInt4Sync(Tensor.from(w, [N, K]), { groupSize: K % 8 === 0 ? 8 : 4 });
      return run((X) => int4MatmulSync(X, W), K);
    },
  },
  {
    name: 'w4a4-hadamard',
    describe: 'w4a4Matmul with rotate: hadamard (weights per channel, x rotated alike inside the call)',
    prepare: (w, N, K) => {
      const W = quantizeWeightsInt4Sync(Tensor.from(w, [N, K]), { groupSize: 'channel', rotate: 'hadamard' });
      return run((X) => w4a4MatmulSync(X, W), K);
    },
  },
  {
    name: 'w4a4-outliers4',
    describe: 'w4a4Matmul with the 4 input channels of largest max |x| on a calibration text kept at int8 (outlierCount: 4)',
    calibrated: true,
    prepare: (w, N, K, calibration) => {
      const rows = calibration!.length / K;
      const W = quantizeWeightsInt4Sync(Tensor.from(w, [N, K]), {
        groupSize: 'channel',
        outlierCount: Math.min(4, K),
        calibration: Tensor.from(calibration!, [rows, K]),
      });
      return run((X) => w4a4MatmulSync(X, W), K);
    },
  },
  {
    name: 'w4a8-channel',
    describe: 'w4a8Matmul: int4 weights per channel, int8 activations per token',
    prepare: (w, N, K) => {
      const W = quantizeWeightsInt4Sync(Tensor.from(w, [N, K]), { groupSize: 'channel' });
      return run((X) => w4a8MatmulSync(X, W), K);
    },
  },
  ...([4, 3, 2] as const).map((bits): QuantFormat => ({
    name: `lut-${bits}bit-g32`,
    describe: `lutMatmul: ${bits}-bit weights in groups of 32 (the last group of a row shorter), float32 activations`,
    prepare: (w, N, K) => {
      const W = quantizeWeightsSync(Tensor.from(w, [N, K]), { bits, groupSize: 32 });
      return run((X) => lutMatmulSync(X, W), K);
    },
  })),
  {
    name: 'bitmm-w8a8',
    describe: 'bitMatmul: W8A8 by bit planes, weights and activations per row (quantizeBits, int)',
    prepare: (w, N, K) => {
      const W = quantizeBits(Tensor.from(w, [N, K]), { bits: 8 });
      return run((X) => bitMatmulSync(quantizeBits(X, { bits: 8 }), W), K);
    },
  },
];

/** A small seeded generator (mulberry32): the same text on every machine. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** BOS then `n` tokens sampled from the float32 model at temperature 1. */
export function sampleText(ckpt: Checkpoint, n: number, seed = 42): number[] {
  const m = new LlamaModel(ckpt);
  const next = rng(seed);
  const toks = [1];
  try {
    for (let pos = 0; pos < n; pos++) {
      m.forward(toks[pos], pos);
      const lg = m.logits.toArraySync() as Float32Array;
      let mx = -Infinity;
      for (const v of lg) mx = Math.max(mx, v);
      let z = 0;
      for (const v of lg) z += Math.exp(v - mx);
      let u = next() * z,
        t = 0;
      for (; t < lg.length - 1; t++) {
        u -= Math.exp(lg[t] - mx);
        if (u <= 0) break;
      }
      toks.push(t);
    }
  } finally {
    m.dispose();
  }
  return toks;
}

/**
 * Logits [T, vocab] of the model reading tokens[0, T) (causal), every projection by `fmt`. `inputs`:
 * each projection's input, by layer name ("wq.0", ..., "classifier"): given to a calibrated format's
 * prepare, or filled when `record` is set.
 */
export function teacherForcedLogits(
  ckpt: Checkpoint,
  tokens: number[],
  fmt: QuantFormat,
  inputs?: Map<string, Float32Array>,
  record = false,
): Float32Array {
  const { config: c, weights: w } = ckpt;
  const T = tokens.length,
    D = c.dim,
    F = c.hidden,
    H = c.heads,
    hd = D / H,
    kvd = c.kvHeads * hd,
    grp = H / c.kvHeads;
  const layer = (name: string, w: Float32Array, N: number, K: number) => {
    const f = fmt.prepare(w, N, K, fmt.calibrated ? inputs?.get(name) : undefined);
    return (x: Float32Array, rows: number) => {
      if (record) inputs?.set(name, x.slice());
      return f(x, rows);
    };
  };
  const names = new Map<Float32Array, string>([
    [w.wq, 'wq'],
    [w.wk, 'wk'],
    [w.wv, 'wv'],
    [w.wo, 'wo'],
    [w.w1, 'w1'],
    [w.w2, 'w2'],
    [w.w3, 'w3'],
  ]);
  const lin = (arr: Float32Array, l: number, N: number, K: number) =>
    layer(`${names.get(arr)}.${l}`, arr.subarray(l * N * K, (l + 1) * N * K), N, K);
  const rms = (x: Float32Array, g: Float32Array, off: number) => {
    const y = new Float32Array(T * D);
    for (let t = 0; t < T; t++) {
      let ss = 0;
      for (let i = 0; i < D; i++) ss += x[t * D + i] ** 2;
      const r = 1 / Math.sqrt(ss / D + 1e-5);
      for (let i = 0; i < D; i++) y[t * D + i] = x[t * D + i] * r * g[off + i];
    }
    return y;
  };
  const rope = (v: Float32Array, width: number) => {
    for (let t = 0; t < T; t++)
      for (let i = 0; i < width; i += 2) {
        const j = (i % hd) / 2,
          f = t * Math.pow(10000, (-2 * j) / hd),
          cs = Math.cos(f),
          sn = Math.sin(f);
        const a = v[t * width + i],
          b = v[t * width + i + 1];
        v[t * width + i] = a * cs - b * sn;
        v[t * width + i + 1] = a * sn + b * cs;
      }
  };
  const x = new Float32Array(T * D);
  tokens.forEach((tok, t) => x.set(w.embedding.subarray(tok * D, (tok + 1) * D), t * D));
  const sc = new Float64Array(T);
  for (let l = 0; l < c.layers; l++) {
    const xa = rms(x, w.rmsAtt, l * D);
    const q = lin(w.wq, l, D, D)(xa, T),
      k = lin(w.wk, l, kvd, D)(xa, T),
      v = lin(w.wv, l, kvd, D)(xa, T);
    rope(q, D);
    rope(k, kvd);
    const att = new Float32Array(T * D);
    for (let t = 0; t < T; t++)
      for (let h = 0; h < H; h++) {
        const kh = Math.floor(h / grp);
        let mx = -Infinity;
        for (let j = 0; j <= t; j++) {
          let s = 0;
          for (let d = 0; d < hd; d++) s += q[t * D + h * hd + d] * k[j * kvd + kh * hd + d];
          sc[j] = s / Math.sqrt(hd);
          mx = Math.max(mx, sc[j]);
        }
        let z = 0;
        for (let j = 0; j <= t; j++) z += sc[j] = Math.exp(sc[j] - mx);
        for (let d = 0; d < hd; d++) {
          let o = 0;
          for (let j = 0; j <= t; j++) o += sc[j] * v[j * kvd + kh * hd + d];
          att[t * D + h * hd + d] = o / z;
        }
      }
    const yo = lin(w.wo, l, D, D)(att, T);
    for (let i = 0; i < x.length; i++) x[i] += yo[i];
    const xf = rms(x, w.rmsFfn, l * D);
    const a = lin(w.w1, l, F, D)(xf, T),
      b = lin(w.w3, l, F, D)(xf, T);
    for (let i = 0; i < a.length; i++) a[i] = (a[i] / (1 + Math.exp(-a[i]))) * b[i];
    const y2 = lin(w.w2, l, D, F)(a, T);
    for (let i = 0; i < x.length; i++) x[i] += y2[i];
  }
  return layer('classifier', w.classifier, c.vocab, D)(rms(x, w.rmsFinal, 0), T);
}

export interface QuantAccuracyRow {
  format: string;
  describe: string;
  /** exp(mean negative log-likelihood) over every sampled token of every seed. */
  perplexity: number;
  /** Fraction of positions (all seeds) whose top-1 next token equals float32's. */
  top1Agreement: number;
  /** perplexity / float32's. */
  ratioToFloat32: number;
  /** The perplexity of each seed's text alone. */
  perSeed: number[];
}

export interface QuantAccuracyReport {
  model: string;
  tokens: number;
  seeds: number[];
  rows: QuantAccuracyRow[];
}

function argmax(a: Float32Array, off: number, n: number): number {
  let b = 0;
  for (let i = 1; i < n; i++) if (a[off + i] > a[off + b]) b = i;
  return b;
}

/**
 * The table for `formats` (float32 first: the others' agreement is measured against it), over one
 * sampled text of `tokens` tokens per seed (default 256 tokens, seeds 1..5: one text alone swings
 * the ratios by several percent).
 */
export function quantAccuracy(o: { tokens?: number; seeds?: number[]; formats?: QuantFormat[]; model?: string } = {}): QuantAccuracyReport {
  const n = o.tokens ?? 256,
    seeds = o.seeds ?? [1, 2, 3, 4, 5],
    model = o.model ?? STORIES_PATH;
  const formats = o.formats ?? QUANT_FORMATS;
  if (formats[0]?.name !== 'float32') throw new Error('quantAccuracy: the first format must be float32 (the reference)');
  const ckpt = readCheckpoint(model);
  const V = ckpt.config.vocab;
  const acc = formats.map(() => ({ nll: 0, agree: 0, perSeed: [] as number[] }));
  // Calibrated formats see the float32 model's inputs to each layer on a text of its own.
  const calibration = new Map<string, Float32Array>();
  if (formats.some((f) => f.calibrated))
    teacherForcedLogits(ckpt, sampleText(ckpt, n, CALIBRATION_SEED).slice(0, n), formats[0], calibration, true);
  for (const seed of seeds) {
    const toks = sampleText(ckpt, n, seed);
    const input = toks.slice(0, n),
      target = toks.slice(1);
    let ref: Float32Array | undefined;
    formats.forEach((fmt, f) => {
      const lg = teacherForcedLogits(ckpt, input, fmt, calibration);
      ref ??= lg;
      let nll = 0;
      for (let t = 0; t < n; t++) {
        let mx = -Infinity;
        for (let i = 0; i < V; i++) mx = Math.max(mx, lg[t * V + i]);
        let z = 0;
        for (let i = 0; i < V; i++) z += Math.exp(lg[t * V + i] - mx);
        nll += Math.log(z) + mx - lg[t * V + target[t]];
        acc[f].agree += argmax(lg, t * V, V) === argmax(ref, t * V, V) ? 1 : 0;
      }
      acc[f].nll += nll;
      acc[f].perSeed.push(Math.exp(nll / n));
    });
  }
  const total = n * seeds.length;
  const rows = formats.map((fmt, f) => ({
    format: fmt.name,
    describe: fmt.describe,
    perplexity: Math.exp(acc[f].nll / total),
    top1Agreement: acc[f].agree / total,
    ratioToFloat32: Math.exp((acc[f].nll - acc[0].nll) / total),
    perSeed: acc[f].perSeed,
  }));
  return { model: model.split(/[\\/]/).pop()!, tokens: n, seeds, rows };
}

export async function benchQuantAccuracy(o: { tokens?: number; log: (s: string) => void }): Promise<QuantAccuracyReport> {
  const r = quantAccuracy({ tokens: o.tokens });
  o.log(
    `${r.model}: ${r.seeds.length} texts of ${r.tokens} tokens sampled from float32 (seeds ${r.seeds.join(', ')}, temperature 1), read back teacher-forced, every projection and the classifier quantized:`,
  );
  const w = Math.max(...r.rows.map((x) => x.format.length));
  o.log(`${'format'.padEnd(w)}  perplexity  vs float32  top-1 agreement  per text`);
  for (const x of r.rows)
    o.log(
      `${x.format.padEnd(w)}  ${x.perplexity.toFixed(2).padStart(10)}  ${x.ratioToFloat32.toFixed(3).padStart(9)}x  ${(x.top1Agreement * 100).toFixed(1).padStart(14)}%  ${x.perSeed.map((p) => p.toFixed(1)).join(' / ')}`,
    );
  return r;
}
