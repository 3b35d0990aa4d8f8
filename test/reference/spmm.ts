// The float64 SpMM oracle: out = alpha * A @ B + beta * C, straight from the CSR definition.
const abs = Math.abs;

export interface RefCsr {
  rows: number;
  cols: number;
  rowPtr: ArrayLike<number | bigint>;
  colIdx: ArrayLike<number | bigint>;
  values: ArrayLike<number>;
}

export function refSpmm(
  a: RefCsr,
  b: ArrayLike<number>,
  n: number,
  o: { alpha?: number; beta?: number; c?: ArrayLike<number> } = {},
): { y: Float64Array; mag: Float64Array } {
  const alpha = o.alpha ?? 1,
    beta = o.beta ?? 0;
  const y = new Float64Array(a.rows * n);
  const mag = new Float64Array(a.rows * n); // sum of |terms|: what rounding error scales with
  for (let r = 0; r < a.rows; r++) {
    const p0 = Number(a.rowPtr[r]),
      p1 = Number(a.rowPtr[r + 1]);
    for (let p = p0; p < p1; p++) {
      const v = a.values[p];
      const bo = Number(a.colIdx[p]) * n;
      for (let j = 0; j < n; j++) {
        const t = v * b[bo + j];
        y[r * n + j] += t;
        mag[r * n + j] += t < 0 ? -t : t;
      }
    }
    for (let j = 0; j < n; j++) {
      const i = r * n + j;
      y[i] = alpha * y[i] + (beta !== 0 && o.c ? beta * o.c[i] : 0);
      mag[i] = (alpha < 0 ? -alpha : alpha) * mag[i] + (beta !== 0 && o.c ? abs(beta * o.c[i]) : 0);
    }
  }
  return { y, mag };
}
