// packWeights: B packed once for the CPU GEMM kernels and used as gemm's b. Correctness of every
// case on every ISA is in gemm.test.ts (each rank-2-b case also runs packed); here: the handle's
// lifecycle, packing under one kernel family and using it under another (the source is read: never a
// wrong answer), sync = async, and bad input.
import { PackedWeights, Tensor, TensorkernError, castSync, gemm, gemmSync, packWeights, packWeightsSync } from '../lib';
import { native } from '../lib/binding';
import { nativeOf } from '../lib/tensor';
import { cpuIsas, withIsa } from './helpers/backends';
import { makeData } from './helpers/data';
import { expectError, expectReject } from './helpers/errors';
import { refGemm } from './reference/gemm';

function matrix(rows: number, cols: number, seed: number): { t: Tensor; v: Float64Array } {
  const d = makeData('float32', rows * cols, seed);
  return { t: Tensor.from(d.data, [rows, cols]), v: Float64Array.from(d.values) };
}

/** Max |got - ref| / (K * 2^-24 * sum|a*b| bound): <= 1 passes. */
function errRatio(got: Float32Array, ref: ReturnType<typeof refGemm>): number {
  let worst = 0;
  for (let i = 0; i < got.length; i++)
    worst = Math.max(worst, Math.abs(got[i] - ref.out[i]) / ((ref.K + 4) * 2 ** -24 * ref.absSum[i] * 1.01 + 1e-37));
  return worst;
}

describe('packWeights', () => {
  const M = 260,
    K = 1100,
    N = 70; // M past the small-M limit, K past a float32 K block of either config
  const a = matrix(M, K, 1),
    w = matrix(N, K, 2); // w stored [N, K]: the nn.Linear layout
  const ref = refGemm({ a: a.v, b: w.v, aShape: [M, K], bShape: [N, K], transB: true });

  test('the handle: sizes, layout, the source kept, dispose returns the packed copy and is final', async () => {
    const pw = await packWeights(w.t, { transB: true });
    expect(pw).toBeInstanceOf(PackedWeights);
    expect([pw.K, pw.N, pw.transB, pw.dtype, pw.source]).toEqual([K, N, true, 'float32', w.t]);
    expect(pw.layout).toMatch(/float32 kc\d+ nc\d+ nr\d+$/);
    expect(pw.packedBytes).toBeGreaterThanOrEqual(K * N * 4);
    expect(String(pw)).toContain(`PackedWeights(float32, K=${K}, N=${N}, transB, `);
    expect(errRatio(gemmSync(a.t, pw).toArraySync() as Float32Array, ref)).toBeLessThanOrEqual(1);
    pw.dispose();
    pw.dispose();
    expect([pw.disposed, pw.packedBytes]).toEqual([true, 0]);
    expect(w.t.disposed).toBe(false);
    expectError(
      () => gemmSync(a.t, pw),
      TensorkernError,
      'ERR_TK_DISPOSED',
      'Expected a live tensor for b (packed weights) but it was disposed',
    );
    await expectReject(
      () => gemm(a.t, pw),
      TensorkernError,
      'ERR_TK_DISPOSED',
      'Expected a live tensor for b (packed weights) but it was disposed',
    );
    expect(() => new (PackedWeights as unknown as new (...x: unknown[]) => unknown)(Symbol('x'))).toThrow(
      'PackedWeights are made by packWeights() / packWeightsSync()',
    );
  });

  test('packed under one kernel family, used under another: the source is read, the answer is right', async () => {
    const isas = cpuIsas();
    for (const packIsa of isas) {
      const pw = await withIsa(packIsa, () => packWeightsSync(w.t, { transB: true }));
      for (const useIsa of isas) {
        const got = await withIsa(useIsa, () => gemm(a.t, pw));
        expect([packIsa, useIsa, errRatio(got.toArraySync() as Float32Array, ref) <= 1]).toEqual([packIsa, useIsa, true]);
      }
      pw.dispose();
    }
    if (isas.includes('avx512')) {
      for (const [packBlocks, useBlocks] of [
        ['wide', 'split'],
        ['split', 'wide'],
      ]) {
        native.debug.setPath('gemm', 'cpu', packBlocks);
        const pw = packWeightsSync(w.t, { transB: true });
        native.debug.setPath('gemm', 'cpu', useBlocks);
        try {
          expect(pw.layout).not.toBe(native.ops.gemmPackLayout(0, K, N).layout);
          expect(errRatio(gemmSync(a.t, pw).toArraySync() as Float32Array, ref)).toBeLessThanOrEqual(1);
        } finally {
          native.debug.setPath('gemm', 'cpu', 'auto');
          pw.dispose();
        }
      }
    }
  });

  test('async and sync packing agree bit for bit, and so do the products; the source disposed is an error', async () => {
    for (const dtype of ['float32', 'bfloat16', 'int8'] as const) {
      const src =
        dtype === 'int8'
          ? Tensor.from(
              Int8Array.from({ length: K * N }, (_, i) => ((i * 37) % 255) - 127),
              [K, N],
            )
          : castSync(matrix(K, N, 3).t, dtype);
      const x =
        dtype === 'int8'
          ? Tensor.from(
              Int8Array.from({ length: M * K }, (_, i) => ((i * 11) % 255) - 127),
              [M, K],
            )
          : castSync(a.t, dtype);
      const p1 = packWeightsSync(src),
        p2 = await packWeights(src);
      const y1 = Buffer.from((await gemm(x, p1)).toArraySync().buffer),
        y2 = Buffer.from(gemmSync(x, p2).toArraySync().buffer);
      expect([dtype, y1.equals(y2)]).toEqual([dtype, true]);
      p1.dispose();
      p2.dispose();
    }
    const src = matrix(K, N, 4).t;
    const pw = packWeightsSync(src);
    src.dispose();
    expectError(() => gemmSync(a.t, pw), TensorkernError, 'ERR_TK_DISPOSED', 'Expected a live tensor for b but it was disposed');
    pw.dispose();
  });

  test('bad input: named argument, what was expected, what was received', async () => {
    const pw = packWeightsSync(w.t, { transB: true });
    try {
      expectError(
        () => gemmSync(matrix(M, K + 1, 5).t, pw),
        RangeError,
        'ERR_INVALID_ARG_VALUE',
        `Expected op(b) with ${K + 1} rows (op(a) is ${M}x${K + 1}) for b but received op(b) of ${K}x${N} (transB)`,
      );
      expectError(
        () => gemmSync(castSync(a.t, 'bfloat16'), pw),
        TypeError,
        'ERR_INVALID_ARG_TYPE',
        'Expected a bfloat16 tensor (the dtype of a) for b but received a float32 tensor',
      );
      expectError(
        () => gemmSync(a.t, pw, { transB: false }),
        RangeError,
        'ERR_INVALID_ARG_VALUE',
        'Expected true or absent (how b was packed) for options.transB but received false',
      );
      expect(errRatio(gemmSync(a.t, pw, { transB: true }).toArraySync() as Float32Array, ref)).toBeLessThanOrEqual(1);
    } finally {
      pw.dispose();
    }
    expectError(
      () => packWeightsSync(Tensor.zeros([2, 3, 4])),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected a rank-2 tensor for w but received shape [2, 3, 4]',
    );
    expectError(
      () => packWeightsSync(Tensor.zeros([4, 4], { dtype: 'int32' })),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      'Expected a float32, float16, bfloat16 or int8 tensor for w but received an int32 tensor',
    );
    expectError(() => packWeightsSync(new Float32Array(4) as unknown as Tensor), TypeError, 'ERR_INVALID_ARG_TYPE', /for w/);
    expectError(
      () => packWeightsSync(w.t, { transB: 1 } as unknown as { transB: boolean }),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      /for options.transB/,
    );
    expectError(
      () => packWeightsSync(w.t, { trans: true } as unknown as { transB: boolean }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      /options/,
    );
    await expectReject(
      () => packWeights(Tensor.zeros([3])),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected a rank-2 tensor for w but received shape [3]',
    );
    // The native re-check: a layout other than the kernels' is refused, never packed.
    const dst = Tensor.zeros([native.ops.gemmPackLayout(0, K, N).bytes], { dtype: 'int8' });
    expect(() =>
      native.ops.gemmPackB({ b: nativeOf(w.t, 'w'), transB: true, dst: nativeOf(dst, 'dst'), layout: 'some other layout' }, false),
    ).toThrow(/Expected the packing layout ".*" of the kernels in use but received "some other layout"/);
    expect(() =>
      native.ops.gemmPackB(
        {
          b: nativeOf(w.t, 'w'),
          transB: true,
          dst: nativeOf(Tensor.zeros([8], { dtype: 'int8' }), 'dst'),
          layout: native.ops.gemmPackLayout(0, K, N).layout,
        },
        false,
      ),
    ).toThrow(/Expected \d+ bytes to pack into but received 8/);
  });

  test('empty weights pack and multiply', () => {
    const pw = packWeightsSync(Tensor.zeros([0, 5]));
    expect(gemmSync(Tensor.zeros([3, 0]), pw).toArraySync()).toEqual(new Float32Array(15));
    pw.dispose();
  });
});
