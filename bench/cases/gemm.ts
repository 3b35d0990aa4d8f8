// gemm cases: the shape and dtype of a call, its flops and bytes, and the bench's shapes (bench/gemm.ts,
// bench/gemm_cuda.ts). The correctness cases are test/cases/gemm.ts.
import type { DType } from '../../lib/dtype';

export interface GemmCase {
  name: string;
  M: number;
  N: number;
  K: number;
  batch?: number; // rank-3 a (and b unless bShared)
  bShared?: boolean; // batched a with one rank-2 b
  transA?: boolean;
  transB?: boolean;
  dtype: DType; // of a and b
  outDtype?: DType;
  alpha?: number;
  beta?: number;
  withC?: boolean;
  withBias?: boolean;
}

export function gemmFlops(c: GemmCase): number {
  return 2 * (c.batch ?? 1) * c.M * c.N * c.K;
}

export function gemmBytes(c: GemmCase): number {
  const el = c.dtype === 'float32' ? 4 : c.dtype === 'int8' ? 1 : 2;
  const batch = c.batch ?? 1;
  return el * (batch * c.M * c.K + (c.bShared ? 1 : batch) * c.K * c.N) + 4 * batch * c.M * c.N;
}

export function caseName(c: Omit<GemmCase, 'name'>): string {
  const t = `${c.transA ? 'T' : 'N'}${c.transB ? 'T' : 'N'}`;
  const batch = c.batch ? `${c.batch}x` : '';
  const extras = [
    c.withC ? 'c' : '',
    c.withBias ? 'bias' : '',
    c.alpha !== undefined && c.alpha !== 1 ? `alpha=${c.alpha}` : '',
    c.beta !== undefined ? `beta=${c.beta}` : '',
    c.outDtype ? `out=${c.outDtype}` : '',
    c.bShared ? 'shared-b' : '',
  ]
    .filter(Boolean)
    .join(' ');
  return `gemm ${c.dtype} ${batch}${c.M}x${c.N}x${c.K} ${t}${extras ? ' ' + extras : ''}`;
}

/** A case named from its fields. */
export function gemmCase(c: Omit<GemmCase, 'name'>): GemmCase {
  return { name: caseName(c), ...c };
}

/** Bench cases: square sizes, the decode shapes (M = 1, 8, 32 with N = K = 4096, weights from DRAM; int8 and bf16 at M = 1, 8), bf16 and int8. */
export function gemmBenchCases(sizes: number[] = [256, 1024, 2048, 4096]): GemmCase[] {
  const cases: GemmCase[] = [];
  for (const n of sizes) cases.push(gemmCase({ M: n, N: n, K: n, dtype: 'float32' }));
  for (const M of [1, 8, 32]) cases.push(gemmCase({ M, N: 4096, K: 4096, dtype: 'float32', transB: true }));
  for (const M of [1, 8, 32]) cases.push(gemmCase({ M, N: 4096, K: 4096, dtype: 'float32' }));
  for (const M of [1, 8]) cases.push(gemmCase({ M, N: 4096, K: 4096, dtype: 'int8', transB: true }));
  for (const M of [1, 8]) cases.push(gemmCase({ M, N: 4096, K: 4096, dtype: 'bfloat16', transB: true }));
  const mid = sizes.filter((s) => s >= 512);
  for (const n of mid.length ? mid : [Math.max(...sizes)]) {
    cases.push(gemmCase({ M: n, N: n, K: n, dtype: 'bfloat16' }));
    cases.push(gemmCase({ M: n, N: n, K: n, dtype: 'int8' }));
  }
  return cases;
}
