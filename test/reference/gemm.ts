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

export function refGemm(x: RefGemmInput): RefGemmResult {
  const ta = !!x.transA, tb = !!x.transB;
  const ar = x.aShape[x.aShape.length - 2], ac = x.aShape[x.aShape.length - 1];
  const br = x.bShape[x.bShape.length - 2], bc = x.bShape[x.bShape.length - 1];
  const M = ta ? ac : ar, K = ta ? ar : ac, N = tb ? br : bc;
  const batch = x.aShape.length === 3 ? x.aShape[0] : x.bShape.length === 3 ? x.bShape[0] : 1;
  const sa = x.aShape.length === 3 ? ar * ac : 0, sb = x.bShape.length === 3 ? br * bc : 0;
  const alpha = x.alpha ?? 1, beta = x.beta ?? (x.c ? 1 : 0);
  const out = new Float64Array(batch * M * N);
  const absSum = new Float64Array(batch * M * N);
  for (let p = 0; p < batch; p++)
    for (let i = 0; i < M; i++)
      for (let j = 0; j < N; j++) {
        let s = 0, sAbs = 0;
        for (let k = 0; k < K; k++) {
          const av = x.a[p * sa + (ta ? k * ac + i : i * ac + k)];
          const bv = x.b[p * sb + (tb ? j * bc + k : k * bc + j)];
          s += av * bv;
          sAbs += Math.abs(av * bv);
        }
        const o = p * M * N + i * N + j;
        let v = alpha * s;
        if (x.c && beta !== 0) v += beta * x.c[(x.cBatched ? p * M * N : 0) + i * N + j];
        if (x.bias) v += x.bias[j];
        out[o] = v;
        absSum[o] = Math.abs(alpha) * sAbs + (x.c && beta !== 0 ? Math.abs(beta * x.c[(x.cBatched ? p * M * N : 0) + i * N + j]) : 0) + (x.bias ? Math.abs(x.bias[j]) : 0);
      }
  return { out, absSum, batch, M, N, K };
}
