// The llama2.c stories260K model (../shared/data/models/stories260K.bin, layout in its README) run
// forward in float64 on a short token sequence, collecting the real inputs of every linear layer:
// the W4A4 test and bench quantize its real weights and multiply them by these real activations.
import * as fs from 'fs';
import * as path from 'path';
import { PACKAGE_ROOT } from '../lib/root';
import { readCheckpoint } from './llama/checkpoint';

// ../shared next to the project root (also right from dist/test/helpers, where the bench runs it).
export const STORIES_PATH = path.join(PACKAGE_ROOT, '..', 'shared', 'data', 'models', 'stories260K.bin');

export interface Linear {
  name: string; // e.g. 'wq'
  layer: number;
  N: number; // out
  K: number; // in
  w: Float32Array; // [N, K]
  x: Float64Array; // [T, K] the layer's real inputs
}

const sqrt = Math.sqrt,
  exp = Math.exp,
  max = Math.max;

/** Every linear layer of the model with its inputs over `T` tokens; null when the file is absent. */
export function storiesLinears(T = 24, stories = STORIES_PATH): Linear[] | null {
  if (!fs.existsSync(stories)) return null;
  const { config: c, weights: wt, freqCis } = readCheckpoint(stories);
  const { dim, hidden, layers: L, heads: H, kvHeads: Hkv, vocab } = c;
  const hd = dim / H,
    kvd = Hkv * hd;
  const { embedding: emb, rmsAtt, wq, wk, wv, wo, rmsFfn, w1, w2, w3 } = wt;
  const fcr = freqCis.real,
    fci = freqCis.imag;
  const mv = (w: Float32Array, off: number, N: number, K: number, x: Float64Array) => {
    const y = new Float64Array(N);
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += w[off + n * K + k] * x[k];
      y[n] = s;
    }
    return y;
  };
  const rms = (x: Float64Array, g: Float32Array, off: number) => {
    let ss = 0;
    for (const v of x) ss += v * v;
    const r = 1 / sqrt(ss / x.length + 1e-5);
    return x.map((v, i) => v * r * g[off + i]);
  };
  const tokens = Array.from({ length: T }, (_, t) => (t === 0 ? 1 : 1 + ((t * 7919 + 13) % (vocab - 1))));
  let xs = tokens.map((tok) => Float64Array.from(emb.subarray(tok * dim, (tok + 1) * dim)));
  const out: Linear[] = [];
  const collect = (name: string, layer: number, w: Float32Array, N: number, K: number, rows: Float64Array[]) => {
    const x = new Float64Array(T * K);
    rows.forEach((r, t) => x.set(r, t * K));
    out.push({ name, layer, N, K, w: w.slice(layer * N * K, (layer + 1) * N * K), x });
  };
  for (let l = 0; l < L; l++) {
    const xa = xs.map((x) => rms(x, rmsAtt, l * dim));
    collect('wq', l, wq, dim, dim, xa);
    collect('wk', l, wk, kvd, dim, xa);
    collect('wv', l, wv, kvd, dim, xa);
    const rope = (v: Float64Array, pos: number) => {
      for (let i = 0; i < v.length; i += 2) {
        const j = (i % hd) / 2,
          c = fcr[pos * (hd / 2) + j],
          s = fci[pos * (hd / 2) + j];
        const a = v[i],
          b = v[i + 1];
        v[i] = a * c - b * s;
        v[i + 1] = a * s + b * c;
      }
      return v;
    };
    const q = xa.map((x, t) => rope(mv(wq, l * dim * dim, dim, dim, x), t));
    const k = xa.map((x, t) => rope(mv(wk, l * kvd * dim, kvd, dim, x), t));
    const v = xa.map((x) => mv(wv, l * kvd * dim, kvd, dim, x));
    const att = q.map((qt, t) => {
      const o = new Float64Array(dim);
      for (let h = 0; h < H; h++) {
        const kh = Math.floor(h / (H / Hkv));
        const sc = Array.from({ length: t + 1 }, (_, j) => {
          let s = 0;
          for (let d = 0; d < hd; d++) s += qt[h * hd + d] * k[j][kh * hd + d];
          return s / sqrt(hd);
        });
        const m = max(...sc);
        const e = sc.map((s) => exp(s - m));
        const z = e.reduce((a, b) => a + b, 0);
        for (let j = 0; j <= t; j++) for (let d = 0; d < hd; d++) o[h * hd + d] += (e[j] / z) * v[j][kh * hd + d];
      }
      return o;
    });
    collect('wo', l, wo, dim, dim, att);
    xs = xs.map((x, t) => {
      const y = mv(wo, l * dim * dim, dim, dim, att[t]);
      return x.map((a, i) => a + y[i]);
    });
    const xf = xs.map((x) => rms(x, rmsFfn, l * dim));
    collect('w1', l, w1, hidden, dim, xf);
    collect('w3', l, w3, hidden, dim, xf);
    const hb = xf.map((x) => {
      const a = mv(w1, l * hidden * dim, hidden, dim, x),
        b = mv(w3, l * hidden * dim, hidden, dim, x);
      return a.map((u, i) => (u / (1 + exp(-u))) * b[i]);
    });
    collect('w2', l, w2, dim, hidden, hb);
    xs = xs.map((x, t) => {
      const y = mv(w2, l * dim * hidden, dim, hidden, hb[t]);
      return x.map((a, i) => a + y[i]);
    });
  }
  return out;
}
