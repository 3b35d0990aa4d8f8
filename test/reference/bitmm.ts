// The float64 oracle of bitMatmul and of the bit-plane quantizer (docs/bitmm.md), written from the
// contract, independent of lib/: integer products are exact in float64 (|sum| < 2^53 for every size
// the op accepts), the quantizer follows the written rounding rules step by step.
export type Format = 'int' | 'uint' | 'bipolar';

/** The value range of a format at `bits` (bipolar: odd values only). */
export function refRange(format: Format, bits: number): [number, number] {
  if (format === 'int') return [-(2 ** (bits - 1)), 2 ** (bits - 1) - 1];
  if (format === 'uint') return [0, 2 ** bits - 1];
  return [1 - 2 ** bits, 2 ** bits - 1];
}

/** Random values of a format, uniform over its levels. */
export function refRandomValues(format: Format, bits: number, n: number, rand: () => number): Int32Array {
  const [lo, hi] = refRange(format, bits);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    if (format === 'bipolar') out[i] = lo + 2 * Math.floor(rand() * 2 ** bits);
    else out[i] = lo + Math.floor(rand() * (hi - lo + 1));
  }
  return out;
}

/** a [M, K] . b [N, K]^T, exact (float64 holds every partial sum). */
export function refIntMatmul(a: ArrayLike<number>, b: ArrayLike<number>, M: number, N: number, K: number): Float64Array {
  const y = new Float64Array(M * N);
  for (let m = 0; m < M; m++)
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += a[m * K + k] * b[n * K + k];
      y[m * N + n] = s;
    }
  return y;
}

/** Round half to even of a float64. */
function rhe(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * The quantizer's contract, per row: s = fround(max|v| / L) (L = 2^(b-1) - 1 for int, 2^b - 1 for
 * uint and bipolar), x = fround(v / s) (0 when s = 0), q by the format's rounding rule.
 */
export function refQuantize(v: Float32Array, rows: number, K: number, bits: number, format: Format): { q: Int32Array; s: Float32Array } {
  const L = format === 'int' ? 2 ** (bits - 1) - 1 : 2 ** bits - 1;
  const [lo, hi] = refRange(format, bits);
  const q = new Int32Array(rows * K);
  const s = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let amax = 0;
    for (let k = 0; k < K; k++) amax = Math.max(amax, Math.abs(v[r * K + k]));
    const sc = Math.fround(amax / L);
    s[r] = sc;
    for (let k = 0; k < K; k++) {
      const x = sc === 0 ? 0 : Math.fround(v[r * K + k] / sc);
      let t: number;
      if (format === 'bipolar') {
        // The odd level nearest |x| (ties: the one that is 1 mod 4), clamped, with x's sign (+ for 0).
        const ax = Math.abs(x);
        let best = 1;
        for (let l = 1; l <= hi; l += 2) {
          const d = Math.abs(ax - l),
            db = Math.abs(ax - best);
          if (d < db || (d === db && l % 4 === 1)) best = l;
        }
        t = x < 0 ? -best : best;
      } else {
        t = Math.min(hi, Math.max(lo, rhe(x)));
      }
      q[r * K + k] = t;
    }
  }
  return { q, s };
}

/** The float form: alpha * (fround(sa[m] * sb[n]) * fround(y)) + bias[n] + beta * c, float64 with its magnitude. */
export function refFloatForm(
  y: Float64Array,
  M: number,
  N: number,
  sa: ArrayLike<number> | undefined,
  sb: ArrayLike<number> | undefined,
  e: { alpha?: number; beta?: number; bias?: ArrayLike<number>; c?: ArrayLike<number> } = {},
): { out: Float64Array; mag: Float64Array } {
  const out = new Float64Array(M * N),
    mag = new Float64Array(M * N);
  const alpha = e.alpha ?? 1,
    beta = e.beta ?? 0;
  for (let m = 0; m < M; m++)
    for (let n = 0; n < N; n++) {
      const sc = Math.fround((sa ? sa[m] : 1) * (sb ? sb[n] : 1));
      const p = alpha * sc * y[m * N + n];
      const b = e.bias ? e.bias[n] : 0;
      const c = e.c && beta !== 0 ? beta * e.c[m * N + n] : 0;
      out[m * N + n] = p + b + c;
      mag[m * N + n] = Math.abs(p) + Math.abs(b) + Math.abs(c);
    }
  return { out, mag };
}
