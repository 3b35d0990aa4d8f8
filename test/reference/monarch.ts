// float64 oracle for monarchMatmul: the contract's two sums, one at a time, and per output the sum of
// magnitudes sum_c |w2| * sum_t |w1 * x| that bounds the float32 accumulation error of both stages.
// Also the dense matrix a pair of factors makes (for projectMonarch's tests).

export interface MonarchDims {
  k: number;
  q: number;
  p: number;
  l: number;
  s: number;
  r: number;
}

export interface RefMonarchResult {
  out: Float64Array; // [batch, l * s]
  absSum: Float64Array;
}

const abs = Math.abs;

export function refMonarch(
  x: ArrayLike<number>,
  w1: ArrayLike<number>,
  w2: ArrayLike<number>,
  batch: number,
  d: MonarchDims,
): RefMonarchResult {
  const { k, q, p, l, s, r } = d;
  const n = k * p,
    kq = k * q,
    ls = l * s;
  const out = new Float64Array(batch * ls),
    absSum = new Float64Array(batch * ls);
  const u = new Float64Array(kq),
    uAbs = new Float64Array(kq);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < k; i++)
      for (let j = 0; j < q; j++) {
        let acc = 0,
          accAbs = 0;
        for (let t = 0; t < p; t++) {
          const v = w1[(i * q + j) * p + t] * x[b * n + i * p + t];
          acc += v;
          accAbs += abs(v);
        }
        u[i * q + j] = acc;
        uAbs[i * q + j] = accAbs;
      }
    for (let a = 0; a < l; a++)
      for (let dd = 0; dd < s; dd++) {
        let acc = 0,
          accAbs = 0;
        for (let c = 0; c < r; c++) {
          const w = w2[(a * s + dd) * r + c];
          acc += w * u[c * l + a];
          accAbs += abs(w) * uAbs[c * l + a];
        }
        out[b * ls + dd * l + a] = acc;
        absSum[b * ls + dd * l + a] = accAbs;
      }
  }
  return { out, absSum };
}

/** The dense [l * s, k * p] matrix M of the factors: monarch(x) = x @ M^T (columns of M are images of unit vectors). */
export function refMonarchDense(w1: ArrayLike<number>, w2: ArrayLike<number>, d: MonarchDims): Float64Array {
  const n = d.k * d.p,
    ls = d.l * d.s;
  const M = new Float64Array(ls * n);
  const e = new Float64Array(n);
  for (let col = 0; col < n; col++) {
    e.fill(0);
    e[col] = 1;
    const y = refMonarch(e, w1, w2, 1, d).out;
    for (let row = 0; row < ls; row++) M[row * n + col] = y[row];
  }
  return M;
}
