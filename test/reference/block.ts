// float64 oracles for the block ops (native/ops/block): naive loops, obviously correct.

/** x [rows, D] -> x * w / sqrt(mean(x^2) + eps), row by row. */
export function refRmsNorm(x: ArrayLike<number>, w: ArrayLike<number>, D: number, eps: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let r = 0; r * D < x.length; r++) {
    let ss = 0;
    for (let j = 0; j < D; j++) ss += x[r * D + j] ** 2;
    const inv = 1 / Math.sqrt(ss / D + eps);
    for (let j = 0; j < D; j++) y[r * D + j] = x[r * D + j] * inv * w[j];
  }
  return y;
}

/**
 * RoPE of x [B, S, H, D] with position pos(b, s): pair (2i, 2i+1) ('interleaved') or (i, i + D/2)
 * ('half') rotated by pos * theta^(-2i/D), in float64.
 */
export function refRope(
  x: ArrayLike<number>,
  dims: [number, number, number, number],
  pos: (b: number, s: number) => number,
  theta: number,
  half: boolean,
): Float64Array {
  const [B, S, H, D] = dims;
  const y = Float64Array.from(x);
  for (let b = 0; b < B; b++) {
    for (let s = 0; s < S; s++) {
      for (let h = 0; h < H; h++) {
        const o = ((b * S + s) * H + h) * D;
        for (let i = 0; i < D / 2; i++) {
          const a = pos(b, s) * theta ** ((-2 * i) / D);
          const [lo, hi] = half ? [i, i + D / 2] : [2 * i, 2 * i + 1];
          y[o + lo] = x[o + lo] * Math.cos(a) - x[o + hi] * Math.sin(a);
          y[o + hi] = x[o + lo] * Math.sin(a) + x[o + hi] * Math.cos(a);
        }
      }
    }
  }
  return y;
}

/** llama2.c's RoPE loop (run.c forward()) for one position over a [H * D] row, in float32 steps. */
export function llama2cRope(vec: Float32Array, headSize: number, pos: number): Float32Array {
  const f = Math.fround;
  const out = Float32Array.from(vec);
  for (let i = 0; i < vec.length; i += 2) {
    const headDim = i % headSize;
    const freq = f(1 / f(Math.pow(10000, f(headDim / headSize))));
    const val = f(pos * freq);
    const fcr = f(Math.cos(val));
    const fci = f(Math.sin(val));
    const v0 = out[i];
    const v1 = out[i + 1];
    out[i] = f(f(v0 * fcr) - f(v1 * fci));
    out[i + 1] = f(f(v0 * fci) + f(v1 * fcr));
  }
  return out;
}

export function refSilu(x: number): number {
  return x / (1 + Math.exp(-x));
}

export function refSoftmax(x: ArrayLike<number>, N: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let r = 0; r * N < x.length; r++) {
    let m = -Infinity;
    for (let j = 0; j < N; j++) m = Math.max(m, x[r * N + j]);
    let sum = 0;
    for (let j = 0; j < N; j++) sum += Math.exp(x[r * N + j] - m);
    for (let j = 0; j < N; j++) y[r * N + j] = Math.exp(x[r * N + j] - m) / sum;
  }
  return y;
}

/** Indices of one row sorted as argmax / topk rank them: NaN first, then larger values, then lower index. */
export function refRanking(row: ArrayLike<number>): number[] {
  const idx = Array.from({ length: row.length }, (_, i) => i);
  return idx.sort((i, j) => {
    const ni = Number.isNaN(row[i]);
    const nj = Number.isNaN(row[j]);
    if (ni !== nj) return ni ? -1 : 1;
    if (!ni && row[i] !== row[j]) return row[j] - row[i];
    return i - j;
  });
}
