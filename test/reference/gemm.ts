// float64 oracle for gemm: the definition, one product at a time. Also returns, per element, the sum
// of |a_ik * b_kj| that bounds the float32 accumulation error.

export interface RefGemmInput {
  a: ArrayLike<number>; // values of a as stored (already decoded from float16/bfloat16/int8)
  b: ArrayLike<number>;
  aShape: readonly number[]; // rank 2 or 3 as stored
  bShape: readonly number[];
  transA?: boolean;
  transB?: boolean;
  alpha?: number;
  beta?: number;
  c?: ArrayLike<number>; // [M,N] or [batch,M,N]
  cBatched?: boolean;
  bias?: ArrayLike<number>;
}

export interface RefGemmResult {
  out: Float64Array; // [batch, M, N]
  absSum: Float64Array; // sum_k |a_ik b_kj| per element
  batch: number;
  M: number;
  N: number;
  K: number;
}

// Global lookups inside hot loops are slow in jest's vm sandbox (its globals sit behind interceptors
// V8 cannot optimize through): keep Math.abs in a module binding.
const abs = Math.abs;

// One dot product and its sum of magnitudes.
function dot(A: Float64Array, B: Float64Array, ia: number, ib: number, aK: number, bK: number, K: number, out: Float64Array): void {
  let s = 0,
    sAbs = 0;
  for (let k = 0; k < K; k++, ia += aK, ib += bK) {
    const prod = A[ia] * B[ib];
    s += prod;
    sAbs += abs(prod);
  }
  out[0] = s;
  out[1] = sAbs;
}

export function refGemm(x: RefGemmInput): RefGemmResult {
  const ta = !!x.transA,
    tb = !!x.transB;
  const ar = x.aShape[x.aShape.length - 2],
    ac = x.aShape[x.aShape.length - 1];
  const br = x.bShape[x.bShape.length - 2],
    bc = x.bShape[x.bShape.length - 1];
  const M = ta ? ac : ar,
    K = ta ? ar : ac,
    N = tb ? br : bc;
  const batch = x.aShape.length === 3 ? x.aShape[0] : x.bShape.length === 3 ? x.bShape[0] : 1;
  const sa = x.aShape.length === 3 ? ar * ac : 0,
    sb = x.bShape.length === 3 ? br * bc : 0;
  const alpha = x.alpha ?? 1,
    beta = x.beta ?? (x.c ? 1 : 0);
  const out = new Float64Array(batch * M * N);
  const absSum = new Float64Array(batch * M * N);
  // Float64 copies: one monomorphic element type keeps this loop fast whatever arrays come in.
  const A = Float64Array.from(x.a),
    B = Float64Array.from(x.b);
  const C = x.c ? Float64Array.from(x.c) : undefined;
  const bias = x.bias ? Float64Array.from(x.bias) : undefined;
  // Element strides of op(A) (i, k) and op(B) (k, j) as stored.
  const aI = ta ? 1 : ac,
    aK = ta ? ac : 1,
    bK = tb ? 1 : bc,
    bJ = tb ? bc : 1;
  const acc = new Float64Array(2);
  for (let p = 0; p < batch; p++)
    for (let i = 0; i < M; i++)
      for (let j = 0; j < N; j++) {
        dot(A, B, p * sa + i * aI, p * sb + j * bJ, aK, bK, K, acc);
        const s = acc[0],
          sAbs = acc[1];
        const o = p * M * N + i * N + j;
        const cv = C && beta !== 0 ? beta * C[(x.cBatched ? p * M * N : 0) + i * N + j] : 0;
        const bv = bias ? bias[j] : 0;
        out[o] = alpha * s + cv + bv;
        absSum[o] = Math.abs(alpha) * sAbs + Math.abs(cv) + Math.abs(bv);
      }
  return { out, absSum, batch, M, N, K };
}
