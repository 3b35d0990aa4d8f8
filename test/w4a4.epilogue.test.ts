// The shared options of the quantized matmuls (lib/ops/quant-common.ts) on w4a4Matmul / w4a8Matmul /
// int4Matmul: rank-3 x, out = alpha * y + bias + beta * c (c may be out), on every ISA and both
// weight-only paths; int4Matmul with rotated weights; Int4Weights.dequantize().
import { Int4Weights, Tensor, int4Matmul, int4MatmulSync, quantizeWeightsInt4Sync, w4a4Matmul, w4a8MatmulSync } from '../lib';
import { randn } from './cases/w4a4';
import { cpuIsas, withIsa } from './helpers/backends';
import { refHadamard, refMatmul, refQuantizeWeights, relError } from './reference/w4a4';

const abs = Math.abs,
  fround = Math.fround,
  floor = Math.floor;

type Mm = (x: Tensor, w: Int4Weights, o?: object) => Promise<Tensor> | Tensor;
const OPS: [string, Mm][] = [
  ['w4a4Matmul', w4a4Matmul],
  ['w4a8MatmulSync', w4a8MatmulSync],
  ['int4Matmul', int4Matmul],
];
const arr = (t: Tensor) => t.toArraySync() as Float32Array;

/** got vs alpha * y + bias + beta * c, in float32 steps, within a few float32 roundings of the terms. */
function checkEpilogue(
  label: string,
  got: Float32Array,
  y: Float32Array,
  N: number,
  alpha: number,
  bias: Float32Array,
  beta: number,
  c: Float32Array,
) {
  for (let i = 0; i < y.length; i++) {
    const want = fround(fround(fround(alpha * y[i]) + bias[i % N]) + fround(beta * c[i]));
    const mag = abs(alpha * y[i]) + abs(bias[i % N]) + abs(beta * c[i]);
    if (!(abs(got[i] - want) <= 8 * 2 ** -24 * mag + 1e-30))
      throw new Error(
        `${label}: element ${i} = ${got[i]}, expected ${want} (alpha y ${alpha * y[i]}, bias ${bias[i % N]}, beta c ${beta * c[i]})`,
      );
  }
}

describe('quantized matmul epilogue (alpha, bias, beta * c, out, rank-3 x)', () => {
  const N = 13,
    K = 96;
  const W = quantizeWeightsInt4Sync(Tensor.from(randn(N * K, 7), [N, K]), { groupSize: 32 });
  for (const isa of cpuIsas()) {
    test.each(OPS.map(([n, f]) => [n, f] as const))(`${isa} %s`, (name, f) =>
      withIsa(isa, async () => {
        // M = 3: the decode kernels; M = 40: the tiled / dequantize-then-gemm paths.
        for (const [B, M] of [
          [1, 3],
          [2, 20],
        ]) {
          const rows = B * M;
          const x = Tensor.from(randn(rows * K, 11 + rows), [B, M, K]);
          const x2 = x.reshape([rows, K]);
          const y = arr(await f(x2, W));
          const y3 = await f(x, W);
          expect(y3.shape).toEqual([B, M, N]);
          expect(Array.from(arr(y3))).toEqual(Array.from(y));
          const bias = randn(N, 5),
            c = randn(rows * N, 6);
          const alpha = -1.5,
            beta = 0.75;
          const o = { bias: Tensor.from(bias, [N]), alpha, beta };
          checkEpilogue(`${isa} ${name} M ${rows}`, arr(await f(x, W, { ...o, c: Tensor.from(c, [B, M, N]) })), y, N, alpha, bias, beta, c);
          // c === out: read before written, in place.
          const out = Tensor.from(Float32Array.from(c), [B, M, N]);
          const r = await f(x, W, { ...o, c: out, out });
          expect(r).toBe(out);
          checkEpilogue(`${isa} ${name} M ${rows} in place`, arr(out), y, N, alpha, bias, beta, c);
          // beta = 0 never reads c (NaN there must not leak).
          const nanC = Tensor.from(new Float32Array(rows * N).fill(NaN), [B, M, N]);
          checkEpilogue(`${isa} ${name} beta 0`, arr(await f(x, W, { c: nanC, beta: 0, alpha })), y, N, alpha, new Float32Array(N), 0, c);
        }
      }),
    );
  }
  test('K = 0: out = bias + beta * c', () => {
    const W0 = quantizeWeightsInt4Sync(Tensor.from(new Float32Array(0), [3, 0]));
    const c = Float32Array.from([1, 2, 3, 4, 5, 6]);
    const y = int4MatmulSync(Tensor.from(new Float32Array(0), [2, 0]), W0, {
      bias: Tensor.from(Float32Array.from([10, 20, 30]), [3]),
      c: Tensor.from(c, [2, 3]),
      beta: 2,
    });
    expect(Array.from(arr(y))).toEqual([12, 24, 36, 18, 30, 42]);
  });
});

describe('Int4Weights.dequantize and int4Matmul with rotated or outlier weights', () => {
  const N = 9,
    K = 192;
  const w = randn(N * K, 21);
  for (let n = 0; n < N; n++) w[n * K + 17] *= 30; // an outlier channel
  test('dequantize: (q - z) * s per group, the rotation undone, outlier channels at int8', () => {
    for (const [gs, rotate] of [
      [64, false],
      [64, true],
      [K, true],
    ] as const) {
      const Wq = quantizeWeightsInt4Sync(Tensor.from(w, [N, K]), { groupSize: gs, rotate: rotate ? 'hadamard' : undefined });
      const d = arr(Wq.dequantize());
      const ref = refQuantizeWeights(w, N, K, gs, rotate);
      const G = K / gs;
      const want = new Float64Array(N * K);
      for (let n = 0; n < N; n++) {
        const row = Array.from({ length: K }, (_, k) => fround(ref.q[n * K + k] * ref.s[n * G + floor(k / gs)]));
        want.set(rotate ? refHadamard(row, ref.block) : row, n * K);
      }
      if (rotate) expect(relError(d, want)).toBeLessThan(1e-6);
      else expect(Array.from(d)).toEqual(Array.from(want));
      // 4 bits stand for the weights: a rotation left in would be off by ~100%.
      expect(relError(d, w)).toBeLessThan(rotate ? 0.2 : 0.35);
    }
    const Wo = quantizeWeightsInt4Sync(Tensor.from(w, [N, K]), { groupSize: 64, outlierChannels: [17] });
    const d = arr(Wo.dequantize());
    for (let n = 0; n < N; n++) {
      const so = fround(abs(w[n * K + 17]) / 127); // one outlier channel: its own max
      expect(d[n * K + 17]).toBe(fround(Math.round(fround(w[n * K + 17] / so)) * so));
    }
  });

  for (const isa of cpuIsas())
    test(`${isa} int4Matmul with rotated weights multiplies by dequantize() (decode and gemm paths)`, () =>
      withIsa(isa, async () => {
        for (const gs of [64, K]) {
          const Wr = quantizeWeightsInt4Sync(Tensor.from(w, [N, K]), { groupSize: gs, rotate: 'hadamard' });
          const wd = arr(Wr.dequantize());
          for (const M of [3, 40]) {
            const x = randn(M * K, 30 + M);
            const y = arr(await int4Matmul(Tensor.from(x, [M, K]), Wr));
            const want = refMatmul(x, wd, M, N, K);
            expect(relError(y, want)).toBeLessThan(2e-6);
            // and it is the float product up to 4-bit weight error, not a rotated-away one
            expect(relError(y, refMatmul(x, w, M, N, K))).toBeLessThan(0.2);
          }
        }
      }));
});
