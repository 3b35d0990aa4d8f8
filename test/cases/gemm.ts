// gemm correctness cases (test/gemm.test.ts): odd sizes, every transpose, alpha/beta/bias, batches, every
// dtype. The case type, flops and bytes and the bench's shapes are bench/cases/gemm.ts.
import { GemmCase, gemmCase as mk } from '../../bench/cases/gemm';

export * from '../../bench/cases/gemm';

/** Correctness cases: odd sizes, every transpose, alpha/beta/bias, batches, every dtype. */
export function gemmTestCases(): GemmCase[] {
  const cases: GemmCase[] = [];
  const sizes: [number, number, number][] = [
    [1, 1, 1],
    [7, 7, 7],
    [33, 33, 33],
    [1, 257, 1000],
    [7, 33, 257],
    [257, 7, 33],
    [33, 1000, 7],
    [100, 61, 300],
    [257, 257, 257],
    [16, 4096, 64],
  ];
  for (const [M, N, K] of sizes)
    for (const transA of [false, true]) for (const transB of [false, true]) cases.push(mk({ M, N, K, transA, transB, dtype: 'float32' }));
  cases.push(mk({ M: 1000, N: 129, K: 1000, dtype: 'float32' }));
  cases.push(mk({ M: 50, N: 70, K: 900, dtype: 'float32', alpha: -0.5, beta: 0.25, withC: true, withBias: true }));
  cases.push(mk({ M: 5, N: 70, K: 90, dtype: 'float32', transB: true, alpha: 2, withC: true, withBias: true }));
  cases.push(mk({ M: 300, N: 37, K: 600, dtype: 'float32', transA: true, withBias: true }));
  cases.push(mk({ M: 20, N: 30, K: 0, dtype: 'float32', withC: true, withBias: true, beta: 0.5 }));
  cases.push(mk({ M: 0, N: 30, K: 10, dtype: 'float32' }));
  cases.push(mk({ M: 33, N: 65, K: 129, batch: 3, dtype: 'float32', withC: true }));
  cases.push(mk({ M: 9, N: 65, K: 129, batch: 4, bShared: true, transB: true, dtype: 'float32', withBias: true }));
  // N == 1 with many rows: the skinny kernels on the row vector C^T.
  for (const transA of [false, true])
    for (const transB of [false, true]) cases.push(mk({ M: 300, N: 1, K: 257, transA, transB, dtype: 'float32' }));
  cases.push(mk({ M: 129, N: 1, K: 100, dtype: 'float32', transA: true, alpha: -0.5, beta: 0.25, withC: true, withBias: true }));
  cases.push(mk({ M: 37, N: 1, K: 64, batch: 3, bShared: true, dtype: 'float32', withC: true, withBias: true }));
  for (const dtype of ['float16', 'bfloat16'] as const) {
    for (const [M, N, K] of [
      [1, 257, 1000],
      [7, 33, 257],
      [100, 61, 300],
      [257, 130, 257],
    ] as [number, number, number][])
      for (const transB of [false, true]) cases.push(mk({ M, N, K, transB, dtype }));
    cases.push(mk({ M: 64, N: 48, K: 80, dtype, transA: true, withC: true, withBias: true, alpha: 0.5 }));
    cases.push(mk({ M: 40, N: 48, K: 80, dtype, outDtype: dtype }));
    cases.push(mk({ M: 3, N: 48, K: 80, dtype, outDtype: dtype, transB: true }));
    cases.push(mk({ M: 100, N: 1, K: 80, dtype, transA: true, withC: true, withBias: true, alpha: 0.5 }));
  }
  for (const [M, N, K] of [
    [1, 1, 1],
    [7, 33, 257],
    [33, 7, 1000],
    [257, 100, 129],
    [100, 200, 3001],
  ] as [number, number, number][])
    for (const transA of [false, true]) for (const transB of [false, true]) cases.push(mk({ M, N, K, transA, transB, dtype: 'int8' }));
  cases.push(mk({ M: 40, N: 50, K: 333, dtype: 'int8', withC: true, withBias: true }));
  cases.push(mk({ M: 17, N: 50, K: 64, batch: 2, dtype: 'int8', withC: true, beta: 0 }));
  // The int8 skinny kernels (M <= 16: B streamed unpacked; N == 1: computed as the row vector C^T):
  // K not a multiple of 4, more than one 512-column block, every transpose, epilogues, batches.
  for (const [M, N, K] of [
    [1, 1000, 515],
    [16, 130, 77],
    [300, 1, 257],
    [5, 1, 33],
  ] as [number, number, number][])
    for (const transA of [false, true]) for (const transB of [false, true]) cases.push(mk({ M, N, K, transA, transB, dtype: 'int8' }));
  cases.push(mk({ M: 3, N: 70, K: 90, dtype: 'int8', transB: true, withC: true, withBias: true }));
  cases.push(mk({ M: 129, N: 1, K: 100, dtype: 'int8', transA: true, withC: true, withBias: true }));
  cases.push(mk({ M: 37, N: 1, K: 64, batch: 3, bShared: true, dtype: 'int8', withC: true, withBias: true }));
  cases.push(mk({ M: 6, N: 65, K: 129, batch: 2, dtype: 'int8', withBias: true }));
  // Block edges of the "wide" AVX-512 configs (gemm_configs.h *Wide: f32 KC 1024, int8 KC 4096, bf16
  // KC 2048, MC 24-48, NC 2048, small-M path up to 240 rows): K one past a block (with an odd tail),
  // M past the small-M limit, N past NC, a batch whose blocks pipeline into the next entry's B.
  for (const transB of [false, true]) {
    cases.push(mk({ M: 250, N: 40, K: 1100, dtype: 'float32', transB, withC: true, withBias: true, beta: 0.5 }));
    cases.push(mk({ M: 250, N: 20, K: 4101, dtype: 'int8', transB, withBias: true }));
    cases.push(mk({ M: 250, N: 20, K: 2051, dtype: 'bfloat16', transB }));
  }
  cases.push(mk({ M: 250, N: 2050, K: 8, dtype: 'float32', transA: true }));
  // Intel Xeon's int8 blocks ("xeon": KC 2048, MC 48, small-M path up to 512 rows): M past that
  // limit, K one block and an odd tail, through both the small-M and the blocked path.
  for (const transB of [false, true]) {
    cases.push(mk({ M: 520, N: 40, K: 2053, dtype: 'int8', transB, withC: true }));
    cases.push(mk({ M: 500, N: 33, K: 2049, dtype: 'int8', transB, withBias: true }));
  }
  // The small-M path packs B [K, N] eight panels at a time: a group of panels that is not a multiple.
  cases.push(mk({ M: 100, N: 300, K: 200, dtype: 'float32', withBias: true }));
  cases.push(mk({ M: 250, N: 20, K: 1030, batch: 2, dtype: 'float32', withC: true }));
  return cases;
}
