// The oracle for int8Matmul (native/ops/int8mm/int8mm.h), written independently of lib/: the
// contract quantizer (test/reference/w4a4.ts refQuantize, qmax 127), the outlier columns, the exact
// integer product (float64 holds it exactly), and the float64 value of the rest, with the magnitude
// of the terms each output sums (for the float32 rounding bound).
import { refQuantize } from './w4a4';

const abs = Math.abs,
  fround = Math.fround;

export interface RefInt8Weights {
  q: Int32Array; // [N, K]
  s: Float64Array; // [N]
}

export function refQuantizeWeightsInt8(w: ArrayLike<number>, N: number, K: number): RefInt8Weights {
  const q = new Int32Array(N * K),
    s = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    const r = refQuantize(
      Array.from({ length: K }, (_, k) => w[n * K + k]),
      127,
    );
    q.set(r.q, n * K);
    s[n] = r.s;
  }
  return { q, s };
}

export interface RefInt8Options {
  threshold?: number;
  bias?: ArrayLike<number>;
  c?: ArrayLike<number>;
  alpha?: number;
  beta?: number;
}

export interface RefInt8Result {
  out: Float64Array;
  /** sum of |terms| per output (scaled product, outlier products, bias, beta c). */
  mag: Float64Array;
  outliers: number[];
}

/** x float32 values [M, K], weights from refQuantizeWeightsInt8. */
export function refInt8Matmul(
  x: ArrayLike<number>,
  M: number,
  K: number,
  w: RefInt8Weights,
  N: number,
  o: RefInt8Options = {},
): RefInt8Result {
  const thr = o.threshold ?? 6;
  const outliers: number[] = [];
  if (thr !== Infinity) {
    const t = fround(thr);
    for (let k = 0; k < K; k++) {
      let hit = false;
      for (let m = 0; m < M && !hit; m++) hit = abs(x[m * K + k]) >= t;
      if (hit) outliers.push(k);
    }
  }
  const isO = new Uint8Array(K);
  for (const k of outliers) isO[k] = 1;
  const alpha = o.alpha ?? 1,
    beta = o.beta ?? (o.c ? 1 : 0);
  const out = new Float64Array(M * N),
    mag = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    const row = Array.from({ length: K }, (_, k) => (isO[k] ? 0 : x[m * K + k]));
    const qx = refQuantize(row, 127);
    for (let n = 0; n < N; n++) {
      let acc = 0;
      for (let k = 0; k < K; k++) acc += qx.q[k] * w.q[n * K + k];
      let y = qx.s * w.s[n] * acc,
        my = abs(y);
      for (const k of outliers) {
        const t = x[m * K + k] * fround(w.q[n * K + k] * w.s[n]);
        y += t;
        my += abs(t);
      }
      let v = alpha * y,
        mv = abs(alpha) * my;
      if (o.bias) {
        v += o.bias[n];
        mv += abs(o.bias[n]);
      }
      if (o.c && beta !== 0) {
        v += beta * o.c[m * N + n];
        mv += abs(beta * o.c[m * N + n]);
      }
      out[m * N + n] = v;
      mag[m * N + n] = mv;
    }
  }
  return { out, mag, outliers };
}

/** The float64 product x @ w^T (what quantization approximates). */
export function refFloatMatmul(x: ArrayLike<number>, w: ArrayLike<number>, M: number, N: number, K: number): Float64Array {
  const y = new Float64Array(M * N);
  for (let m = 0; m < M; m++)
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += x[m * K + k] * w[n * K + k];
      y[m * N + n] = s;
    }
  return y;
}

/** ||a - b|| / ||b||. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0,
    den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / (den || 1));
}
