// int8Matmul on a real GPU (native/ops/int8mm/int8mm_cuda.cu: the scan, the quantizer and the int8
// tensor-core product), opt-in until verified here: device x against the float64 contract
// (test/reference/int8mm.ts) on odd sizes, planted outlier columns, threshold off, the epilogue with
// c === out; without the opt-in, the clean ERR_TK_UNSUPPORTED. Runs under jest or `node --test`
// (scripts/gpu-check.sh); skips, printing why, without a GPU. Tolerance as the CPU suite's:
// (|O| + 8) 2^-24 times the sum of the terms' magnitudes per element.
import * as assert from 'node:assert/strict';
import { Tensor, int8Matmul, int8MatmulSync, quantizeWeightsInt8Sync } from '../../lib';
import { native } from '../../lib/binding';
import { describeGpu } from '../helpers/backends';
import { test } from '../helpers/runner';
import { refInt8Matmul, refQuantizeWeightsInt8 } from '../reference/int8mm';

function randn(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0;
  const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 0.5) / 4294967296;
  return Float32Array.from({ length: n }, () => scale * Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u()));
}

const CASES: [string, number, number, number, number[], number][] = [
  ['1x1x1', 1, 1, 1, [], 6],
  ['decode 1x37x301', 1, 37, 301, [], 6],
  ['70x66x96 (16-byte weight rows)', 70, 66, 96, [], 6],
  ['29x71x257 with outliers', 29, 71, 257, [0, 5, 200, 256], 6],
  ['130x130x513 with an outlier, threshold off', 130, 130, 513, [300], Infinity],
];

async function withTc<T>(fn: () => Promise<T>): Promise<T> {
  native.debug.setPath('int8mm', 'cuda', 'tc');
  try {
    return await fn();
  } finally {
    native.debug.setPath('int8mm', 'cuda', 'auto');
  }
}

describeGpu('int8Matmul on CUDA (tensor-core kernel, opt-in)', () => {
  test('without the opt-in, device tensors get ERR_TK_UNSUPPORTED naming it', () => {
    native.debug.setPath('int8mm', 'cuda', 'auto');
    const W = quantizeWeightsInt8Sync(Tensor.from(randn(12, 1), [3, 4]));
    assert.throws(
      () => int8MatmulSync(Tensor.from(randn(8, 2), [2, 4], { device: 'cuda' }), W),
      (e: { code?: string; message: string }) => e.code === 'ERR_TK_UNSUPPORTED' && /TENSORKERN_INT8MM_KERNEL=tc/.test(e.message),
    );
  });

  CASES.forEach(([name, M, N, K, planted, threshold], i) =>
    test(name, () =>
      withTc(async () => {
        const x = randn(M * K, 10 + i);
        for (const k of planted) for (let m = 0; m < M; m += 3) x[m * K + k] *= 40;
        const w = randn(N * K, 20 + i, 0.05);
        const bias = randn(N, 30 + i),
          c = randn(M * N, 40 + i);
        const W = quantizeWeightsInt8Sync(Tensor.from(w, [N, K]));
        const ref = refInt8Matmul(x, M, K, refQuantizeWeightsInt8(w, N, K), N, { threshold, bias, c, alpha: 0.5, beta: -2 });
        const io = Tensor.from(c, [M, N], { device: 'cuda' });
        await int8Matmul(Tensor.from(x, [M, K], { device: 'cuda' }), W, {
          threshold,
          bias: Tensor.from(bias, [N], { device: 'cuda' }),
          c: io,
          out: io,
          alpha: 0.5,
          beta: -2,
        });
        const got = io.toArraySync() as Float32Array;
        for (let j = 0; j < ref.out.length; j++) {
          const tol = (ref.outliers.length + 8) * 2 ** -24 * ref.mag[j] + 1e-30;
          assert.ok(Math.abs(got[j] - ref.out[j]) <= tol, `${name}: element ${j} = ${got[j]}, contract ${ref.out[j]}`);
        }
        assert.match(native.debug.lastKernel('int8mm', 'cuda'), /^tc_64x64x32/);
      }),
    ),
  );
});
