// W4A4 correctness cases and their data (test/w4a4.test.ts, test/gpu/w4a4.test.ts). The case type, ops and
// bytes and the bench's shapes are bench/cases/w4a4.ts.
import { W4A4Case, w4a4Case as mk } from '../../bench/cases/w4a4';
import { Tensor, quantizeWeightsInt4Sync } from '../../lib';
import { rng } from '../helpers/data';
import { refQuantizeActs, refQuantizeWeights, refW4A4 } from '../reference/w4a4';

export * from '../../bench/cases/w4a4';

/** Odd shapes: K not a multiple of 64, M = 1, groups of 32 / 64 / 128, rotation, W4A8, outliers, decode tiles. */
export function w4a4TestCases(): W4A4Case[] {
  return [
    mk({ M: 1, N: 7, K: 100, groupSize: 'channel', bits: 4 }),
    mk({ M: 5, N: 9, K: 96, groupSize: 32, bits: 4 }),
    mk({ M: 7, N: 6, K: 192, groupSize: 64, bits: 4, withBias: true }),
    mk({ M: 33, N: 17, K: 256, groupSize: 128, bits: 4, rotate: true }),
    mk({ M: 3, N: 5, K: 1000, groupSize: 'channel', bits: 4, rotate: true }),
    mk({ M: 1, N: 33, K: 4096, groupSize: 128, bits: 4 }),
    mk({ M: 4, N: 3, K: 4096, groupSize: 'channel', bits: 8 }),
    mk({ M: 2, N: 4, K: 128, groupSize: 32, bits: 8, rotate: true }),
    mk({ M: 6, N: 5, K: 320, groupSize: 64, bits: 4, outliers: [0, 77, 319] }),
    mk({ M: 9, N: 8, K: 512, groupSize: 128, bits: 4, rotate: true, outliers: [5, 6, 300, 511], withBias: true }),
    mk({ M: 8, N: 10, K: 48, groupSize: 16, bits: 4 }), // a group size only the portable kernel takes
    mk({ M: 17, N: 1, K: 66, groupSize: 'channel', bits: 8, outliers: [65] }),
    // the 512-bit decode tiles (K a multiple of 128, few rows, weight rows past whole tiles)
    mk({ M: 2, N: 21, K: 384, groupSize: 'channel', bits: 8, withBias: true }),
    mk({ M: 16, N: 9, K: 256, groupSize: 128, bits: 8 }),
  ];
}

/** Gaussian-ish float32 values (sum of three uniforms), deterministic. */
export function randn(n: number, seed: number, scale = 1): Float32Array {
  const r = rng(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (r() + r() + r() - 1.5) * 2 * scale;
  return a;
}

/** A case's inputs, its quantized weights and the contract's float64 reference (CPU and GPU suites). */
export function w4a4CaseData(cs: W4A4Case, seed: number) {
  const { M, N, K } = cs;
  const gs = cs.groupSize === 'channel' ? K : cs.groupSize;
  const x = randn(M * K, seed),
    w = randn(N * K, seed + 1);
  for (const c of cs.outliers ?? []) for (let m = 0; m < M; m++) x[m * K + c] *= 25; // outlier channels
  const bias = cs.withBias ? randn(N, seed + 2) : undefined;
  const W = quantizeWeightsInt4Sync(Tensor.from(w, [N, K]), {
    groupSize: cs.groupSize,
    rotate: cs.rotate ? 'hadamard' : undefined,
    outlierChannels: cs.outliers,
  });
  const rw = refQuantizeWeights(w, N, K, gs, !!cs.rotate, cs.outliers ?? []);
  const ra = refQuantizeActs(x, M, K, cs.bits, rw.block, cs.outliers ?? []);
  return { x, w, W, rw, ra, bias, gs, ref: refW4A4(ra, rw, M, bias) };
}
