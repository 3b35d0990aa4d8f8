// Float64 reference of lutMatmul and its quantizer (docs/lut.md): the quantizer exactly as the
// contract states it, and x . (q * s) in float64 with the rounding bound the contract gives.
import { roundHalfEven } from './w4a4';

const fround = Math.fround,
  abs = Math.abs;

export interface RefLowBit {
  N: number;
  K: number;
  bits: number;
  gs: number;
  G: number;
  q: Int8Array; // [N, K]
  s: Float32Array; // [N, G]
}

/** The contract's quantizer: per group of gs k (the last one shorter), float32 arithmetic. */
export function refQuantizeLowBit(w: ArrayLike<number>, N: number, K: number, bits: number, gs: number): RefLowBit {
  const G = K > 0 ? Math.ceil(K / gs) : 0;
  const q = new Int8Array(N * K),
    s = new Float32Array(N * G);
  const lo = -(2 ** (bits - 1)),
    hi = 2 ** (bits - 1) - 1;
  for (let n = 0; n < N; n++)
    for (let g = 0; g < G; g++) {
      const k0 = g * gs,
        k1 = Math.min(K, k0 + gs);
      let sc: number;
      if (bits === 1) {
        let sum = 0;
        for (let k = k0; k < k1; k++) sum += abs(w[n * K + k]);
        sc = fround(sum / (k1 - k0));
      } else {
        let mx = 0;
        for (let k = k0; k < k1; k++) mx = Math.max(mx, abs(w[n * K + k]));
        sc = fround(mx / hi);
      }
      s[n * G + g] = sc;
      for (let k = k0; k < k1; k++) {
        const v = w[n * K + k];
        q[n * K + k] = bits === 1 ? (v >= 0 ? 1 : -1) : sc === 0 ? 0 : Math.max(lo, Math.min(hi, roundHalfEven(fround(v / sc))));
      }
    }
  return { N, K, bits, gs, G, q, s };
}

export interface RefLutOut {
  /** The exact result (float64) of alpha * x . (q * s) + bias + beta * c. */
  y: Float64Array;
  /** The contract's bound on |out - y| per element. */
  bound: Float64Array;
}

export interface RefEpilogue {
  bias?: ArrayLike<number>;
  c?: ArrayLike<number>;
  alpha?: number;
  beta?: number;
}

/**
 * x [M, K] (the float32 / bfloat16 values) times the weights, exactly, and the bound of docs/lut.md:
 *   |out - exact| <= 2^-23 (Qg b + G + 8) |alpha| A + 2^-22 (|alpha y| + |bias| + |beta c|),
 *   A = sum_g s_g 2^b sum_{k in g} |x_k|,  Qg = ceil(min(gs, K) / 4).
 */
export function refLut(x: ArrayLike<number>, M: number, w: RefLowBit, e: RefEpilogue = {}): RefLutOut {
  const { N, K, bits, gs, G } = w;
  const alpha = e.alpha ?? 1,
    beta = e.beta ?? (e.c ? 1 : 0);
  const Qg = Math.ceil(Math.min(gs, K) / 4);
  const y = new Float64Array(M * N),
    bound = new Float64Array(M * N);
  for (let m = 0; m < M; m++)
    for (let n = 0; n < N; n++) {
      let acc = 0,
        A = 0;
      for (let g = 0; g < G; g++) {
        const k0 = g * gs,
          k1 = Math.min(K, k0 + gs);
        let d = 0,
          ax = 0;
        for (let k = k0; k < k1; k++) {
          d += x[m * K + k] * w.q[n * K + k];
          ax += abs(x[m * K + k]);
        }
        acc += d * w.s[n * G + g];
        A += w.s[n * G + g] * 2 ** bits * ax;
      }
      const b = e.bias ? e.bias[n] : 0,
        c = e.c && beta !== 0 ? beta * e.c[m * N + n] : 0;
      y[m * N + n] = alpha * acc + b + c;
      bound[m * N + n] = 2 ** -23 * (Qg * bits + G + 8) * abs(alpha) * A + 2 ** -22 * (abs(alpha * acc) + abs(b) + abs(c));
    }
  return { y, bound };
}
