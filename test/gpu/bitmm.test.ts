// bitMatmul on a real GPU: the tensor-core tier (mma.m16n8k256 .b1 AND + POPC, sm_80+) and the SIMT
// popc tier (native/ops/bitmm/bitmm_cuda.cu), both opt-in until verified here, on device planes against
// the exact integer reference (test/reference/bitmm.ts): every format pair, odd M / N, K not a multiple
// of 64 or 256, several CTAs; the float form with the epilogue; the recorded kernel name; without the
// opt-in, the clean ERR_TK_UNSUPPORTED. Runs under jest or `node --test` (scripts/gpu-check.sh); skips,
// printing why, without a GPU.
import * as assert from 'node:assert/strict';
import { Tensor, bitMatmul, packBits, quantizeBits } from '../../lib';
import { native } from '../../lib/binding';
import { describeGpu } from '../helpers/backends';
import { rng } from '../helpers/data';
import { test } from '../helpers/runner';
import { Format, refFloatForm, refIntMatmul, refQuantize, refRandomValues } from '../reference/bitmm';

const CASES: [Format, number, Format, number, number, number, number][] = [
  ['int', 1, 'int', 1, 37, 41, 300],
  ['bipolar', 1, 'bipolar', 1, 65, 33, 1000],
  ['int', 2, 'int', 2, 130, 70, 4096 + 77],
  ['uint', 3, 'int', 5, 19, 9, 129],
  ['int', 8, 'int', 8, 17, 23, 520],
  ['bipolar', 2, 'uint', 4, 9, 40, 257],
  ['int', 4, 'bipolar', 1, 1, 100, 2048],
];

async function withPath(path: string, fn: () => Promise<void>): Promise<void> {
  native.debug.setPath('bitmm', 'cuda', path);
  try {
    await fn();
  } finally {
    native.debug.setPath('bitmm', 'cuda', 'auto');
  }
}

describeGpu('bitMatmul on CUDA (opt-in tiers)', () => {
  test('without the opt-in, device planes get ERR_TK_UNSUPPORTED naming it', async () => {
    if (process.env.TENSORKERN_BITMM_KERNEL) return;
    const a = await packBits(Tensor.from(Int32Array.from([1, -1]), [1, 2]), { bits: 2 }).to('cuda');
    await assert.rejects(bitMatmul(a, a), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'ERR_TK_UNSUPPORTED');
      assert.match(e.message, /TENSORKERN_BITMM_KERNEL=tc/);
      return true;
    });
  });

  for (const tier of ['tc', 'simt']) {
    test(`${tier}: exact integers, every case`, () =>
      withPath(tier, async () => {
        let seed = 1;
        for (const [fa, ba, fb, bb, M, N, K] of CASES) {
          const r = rng(seed++);
          const av = refRandomValues(fa, ba, M * K, r),
            bv = refRandomValues(fb, bb, N * K, r);
          const A = await packBits(Tensor.from(av, [M, K]), { bits: ba, format: fa }).to('cuda');
          const B = await packBits(Tensor.from(bv, [N, K]), { bits: bb, format: fb }).to('cuda');
          const y = (await (await bitMatmul(A, B)).toArray()) as Int32Array;
          const want = refIntMatmul(av, bv, M, N, K);
          for (let i = 0; i < want.length; i++) assert.equal(y[i], want[i], `${tier} ${fa}${ba} x ${fb}${bb} element ${i}`);
        }
        const k = native.debug.lastKernel('bitmm', 'cuda');
        assert.ok(tier === 'simt' ? k === 'simt_popc' : k === 'tc_b1_m16n8k256_and_popc' || k === 'simt_popc', k);
      }));

    test(`${tier}: float form (scales, alpha, bias, beta * c)`, () =>
      withPath(tier, async () => {
        const r = rng(99);
        const M = 33,
          N = 20,
          K = 300;
        const x = new Float32Array(M * K).map(() => r() - 0.5),
          w = new Float32Array(N * K).map(() => r() - 0.5);
        const A = await quantizeBits(Tensor.from(x, [M, K]), { bits: 4 }).to('cuda');
        const B = await quantizeBits(Tensor.from(w, [N, K]), { bits: 2, format: 'bipolar' }).to('cuda');
        const qa = refQuantize(x, M, K, 4, 'int'),
          qb = refQuantize(w, N, K, 2, 'bipolar');
        const bias = Float32Array.from({ length: N }, () => r()),
          cv = Float32Array.from({ length: M * N }, () => r());
        const out = (await (
          await bitMatmul(A, B, {
            alpha: 0.5,
            bias: await Tensor.from(bias, [N]).to('cuda'),
            c: await Tensor.from(cv, [M, N]).to('cuda'),
            beta: 2,
          })
        ).toArray()) as Float32Array;
        const ref = refFloatForm(refIntMatmul(qa.q, qb.q, M, N, K), M, N, qa.s, qb.s, { alpha: 0.5, bias, c: cv, beta: 2 });
        for (let i = 0; i < ref.out.length; i++)
          assert.ok(Math.abs(out[i] - ref.out[i]) <= 8 * 2 ** -24 * ref.mag[i] + 1e-30, `element ${i}: ${out[i]} vs ${ref.out[i]}`);
      }));
  }
});
