// lutMatmul on a real GPU: the SIMT kernel (native/ops/lut/lut_cuda.cu), opt-in until verified here,
// on device x against the float64 reference within the contract's bound (test/reference/lut.ts):
// bits 1..4, odd K, group tails, more than one CTA of rows and of tokens, bfloat16 x, the epilogue
// with c = out, rank-3 x; without the opt-in, the clean ERR_TK_UNSUPPORTED. Runs under jest or
// `node --test` (scripts/gpu-check.sh); skips, printing why, without a GPU.
import * as assert from 'node:assert/strict';
import { Tensor, lutMatmul, lutMatmulSync, quantizeWeightsSync } from '../../lib';
import { native } from '../../lib/binding';
import { describeGpu } from '../helpers/backends';
import { makeData } from '../helpers/data';
import { test } from '../helpers/runner';
import { refLut, refQuantizeLowBit } from '../reference/lut';

function within(got: Float32Array, r: { y: Float64Array; bound: Float64Array }, what: string): void {
  for (let i = 0; i < got.length; i++)
    if (!(Math.abs(got[i] - r.y[i]) <= r.bound[i])) assert.fail(`${what}: element ${i}: ${got[i]} vs ${r.y[i]} (bound ${r.bound[i]})`);
}

describeGpu('lutMatmul on CUDA (simt)', () => {
  test('bits 1..4 on odd shapes, bfloat16 x, the epilogue with c = out', async () => {
    native.debug.setPath('lut', 'cuda', 'simt');
    try {
      for (const bits of [1, 2, 3, 4] as const)
        for (const [M, N, K, gs, dt] of [
          [1, 33, 37, 8, 'float32'],
          [5, 130, 600, 128, 'bfloat16'],
          [9, 70, 300, 32, 'float32'],
          [2, 16, 21, 6, 'bfloat16'],
        ] as const) {
          const w = makeData('float32', N * K, 3 + K).data as Float32Array;
          const q = quantizeWeightsSync(Tensor.from(w, [N, K]), { bits, groupSize: gs });
          const ref = refQuantizeLowBit(w, N, K, bits, gs);
          const x = makeData(dt, M * K, 5 + M);
          const X = Tensor.from(x.data as never, [M, K], { dtype: dt, device: 'cuda' } as never);
          const y = lutMatmulSync(X, q);
          within((await y.toArray()) as Float32Array, refLut(x.values, M, ref), `${bits}-bit ${M}x${N}x${K} g${gs} ${dt}`);
          assert.match(native.debug.lastKernel('lut', 'cuda'), /simt/);
          // The epilogue in place (c = out), rank-3 x.
          const c = makeData('float32', M * N, 9);
          const bias = makeData('float32', N, 10);
          const out = Tensor.from(Float32Array.from(c.data as Float32Array), [1, M, N], { device: 'cuda' });
          await lutMatmul(X.reshape([1, M, K]), q, {
            c: out,
            out,
            beta: -1.5,
            alpha: 0.5,
            bias: Tensor.from(bias.data as Float32Array, [N], { device: 'cuda' }),
          });
          const e = refLut(x.values, M, ref, { c: c.values, beta: -1.5, alpha: 0.5, bias: bias.values });
          within((await out.toArray()) as Float32Array, e, `${bits}-bit epilogue`);
        }
    } finally {
      native.debug.setPath('lut', 'cuda', 'auto');
    }
  });

  test('without the opt-in, device tensors get ERR_TK_UNSUPPORTED naming it', () => {
    if (process.env.TENSORKERN_LUT_KERNEL === 'simt') return;
    native.debug.setPath('lut', 'cuda', 'auto');
    const q = quantizeWeightsSync(Tensor.from(new Float32Array(64), [4, 16]), { bits: 2, groupSize: 8 });
    try {
      lutMatmulSync(Tensor.zeros([1, 16], { device: 'cuda' }), q);
      assert.fail('expected ERR_TK_UNSUPPORTED');
    } catch (e) {
      assert.equal((e as { code?: string }).code, 'ERR_TK_UNSUPPORTED');
      assert.match((e as Error).message, /TENSORKERN_LUT_KERNEL=simt/);
    }
  });
});
