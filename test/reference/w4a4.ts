// Oracles for the W4A4 family, written independently of lib/: the exact quantization contract
// (float32 arithmetic through Math.fround), the block Hadamard rotation, the integer parts of every
// output (exact in float64: they are integers far below 2^53), and the float64 matmul the
// accuracy tables compare against.
//
// Contract (native/ops/w4a4/w4a4.h): s = fround(max|v| / qmax), q = clamp(roundHalfEven(fround(v / s))),
// zero row: s = 0, q = 0; a row with NaN/Inf: s = NaN.
// Y[m,n] = s_x[m] * sum_g s_w[n,g] * I[m,n,g] + s_o[m] s_wo[n] * IO[m,n] + bias[n],
// I[m,n,g] = sum_{k in g} q_x[m,k] q_w[n,k], IO[m,n] = sum_j q_o[m,j] q_wo[n,j].

const fround = Math.fround,
  abs = Math.abs,
  floor = Math.floor,
  sqrt = Math.sqrt;

export function roundHalfEven(t: number): number {
  const f = floor(t),
    d = t - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

export interface RefQuantRow {
  s: number;
  q: Int32Array;
}

/** Quantizes v (float32 values) with qmax 7 or 127 per the contract. */
export function refQuantize(v: ArrayLike<number>, qmax: number): RefQuantRow {
  let mx = 0,
    bad = false;
  for (let i = 0; i < v.length; i++) {
    const a = abs(v[i]);
    if (!Number.isFinite(a)) bad = true;
    else if (a > mx) mx = a;
  }
  const q = new Int32Array(v.length);
  if (bad) return { s: NaN, q };
  const s = fround(mx / qmax);
  if (s === 0) return { s, q };
  for (let i = 0; i < v.length; i++) q[i] = Math.max(-qmax - 1, Math.min(qmax, roundHalfEven(fround(v[i] / s))));
  return { s, q };
}

/** The rotation block: largest power of two dividing gs, at most 256. */
export function refRotationBlock(gs: number): number {
  let b = 1;
  while (b < 256 && gs % (b * 2) === 0) b *= 2;
  return b;
}

/** Block Hadamard in the contract's float32 butterfly order; returns a new array. */
export function refHadamard(v: ArrayLike<number>, block: number): Float64Array {
  const x = Float64Array.from(v);
  const c = fround(1 / sqrt(block));
  for (let b0 = 0; b0 < x.length; b0 += block) {
    for (let h = 1; h < block; h <<= 1)
      for (let i = 0; i < block; i += h << 1)
        for (let j = b0 + i; j < b0 + i + h; j++) {
          const a = x[j],
            b = x[j + h];
          x[j] = fround(a + b);
          x[j + h] = fround(a - b);
        }
    for (let j = b0; j < b0 + block; j++) x[j] = fround(x[j] * c);
  }
  return x;
}

/** The normalized Sylvester Hadamard matrix entry (i, j) of size B, in float64 (for orthonormality tests). */
export function hadamardEntry(i: number, j: number, B: number): number {
  let p = i & j,
    bits = 0;
  while (p) {
    bits += p & 1;
    p >>= 1;
  }
  return (bits & 1 ? -1 : 1) / sqrt(B);
}

export interface RefWeights {
  N: number;
  K: number;
  gs: number;
  block: number; // 0 = no rotation
  q: Int32Array; // [N, K]
  s: Float64Array; // [N, G]
  outliers: number[];
  qo: Int32Array; // [N, nO]
  so: Float64Array; // [N]
}

export function refQuantizeWeights(
  w: ArrayLike<number>,
  N: number,
  K: number,
  gs: number,
  rotate: boolean,
  outliers: number[] = [],
): RefWeights {
  const G = K / gs,
    nO = outliers.length;
  const block = rotate ? refRotationBlock(gs) : 0;
  const q = new Int32Array(N * K),
    s = new Float64Array(N * G),
    qo = new Int32Array(N * nO),
    so = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    let row: ArrayLike<number> = Array.from({ length: K }, (_, k) => w[n * K + k]);
    if (nO) {
      const o = refQuantize(
        outliers.map((c) => (row as number[])[c]),
        127,
      );
      so[n] = o.s;
      qo.set(o.q, n * nO);
      for (const c of outliers) (row as number[])[c] = 0;
    }
    if (block) row = refHadamard(row, block);
    for (let g = 0; g < G; g++) {
      const r = refQuantize(Array.prototype.slice.call(row, g * gs, (g + 1) * gs), 7);
      s[n * G + g] = r.s;
      q.set(r.q, n * K + g * gs);
    }
  }
  return { N, K, gs, block, q, s, outliers, qo, so };
}

export interface RefActs {
  q: Int32Array; // [M, K]
  s: Float64Array; // [M]
  qo: Int32Array; // [M, nO]
  so: Float64Array;
}

export function refQuantizeActs(x: ArrayLike<number>, M: number, K: number, bits: 4 | 8, block: number, outliers: number[] = []): RefActs {
  const nO = outliers.length,
    qmax = bits === 8 ? 127 : 7;
  const q = new Int32Array(M * K),
    s = new Float64Array(M),
    qo = new Int32Array(M * nO),
    so = new Float64Array(M);
  for (let m = 0; m < M; m++) {
    const row = Array.from({ length: K }, (_, k) => x[m * K + k]);
    if (nO) {
      const o = refQuantize(
        outliers.map((c) => row[c]),
        127,
      );
      so[m] = o.s;
      qo.set(o.q, m * nO);
      for (const c of outliers) row[c] = 0;
    }
    const r = refQuantize(block ? refHadamard(row, block) : row, qmax);
    s[m] = r.s;
    q.set(r.q, m * K);
  }
  return { q, s, qo, so };
}

export interface RefW4A4 {
  out: Float64Array; // [M, N] the contract's value in float64
  mag: Float64Array; // s_x sum_g s_w sum_k |q_x q_w| + |outlier and bias terms| (bounds the float32 epilogue error)
  ints: Float64Array; // [M, N, G] exact integer parts
  G: number;
}

export function refW4A4(a: RefActs, w: RefWeights, M: number, bias?: ArrayLike<number>): RefW4A4 {
  const { N, K, gs } = w,
    G = K / gs,
    nO = w.outliers.length;
  const out = new Float64Array(M * N),
    mag = new Float64Array(M * N),
    ints = new Float64Array(M * N * G);
  for (let m = 0; m < M; m++)
    for (let n = 0; n < N; n++) {
      let y = 0,
        t = 0;
      for (let g = 0; g < G; g++) {
        let I = 0,
          IA = 0;
        for (let k = g * gs; k < (g + 1) * gs; k++) {
          const p = a.q[m * K + k] * w.q[n * K + k];
          I += p;
          IA += abs(p);
        }
        ints[(m * N + n) * G + g] = I;
        y += w.s[n * G + g] * I;
        t += w.s[n * G + g] * IA;
      }
      y *= a.s[m];
      t *= abs(a.s[m]);
      if (nO) {
        let IO = 0;
        for (let j = 0; j < nO; j++) IO += a.qo[m * nO + j] * w.qo[n * nO + j];
        y += a.so[m] * w.so[n] * IO;
        t += abs(a.so[m] * w.so[n] * IO);
      }
      if (bias) {
        y += bias[n];
        t += abs(bias[n]);
      }
      out[m * N + n] = y;
      mag[m * N + n] = t;
    }
  return { out, mag, ints, G };
}

/** float64 Y = X W^T (the unquantized product). */
export function refMatmul(x: ArrayLike<number>, w: ArrayLike<number>, M: number, N: number, K: number): Float64Array {
  const out = new Float64Array(M * N);
  for (let m = 0; m < M; m++)
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += x[m * K + k] * w[n * K + k];
      out[m * N + n] = s;
    }
  return out;
}

/** Relative Frobenius error ||a - b|| / ||b||. */
export function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0,
    den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return sqrt(num / den);
}
