// Bad input to gemm and packWeights: each rejects it with the right class, code and a message that names the
// argument, what was expected and what was received (docs/design.md, Errors); the binding called directly
// with garbage throws, never crashes.
import { Tensor, TensorkernError, gemm, gemmSync, packWeightsSync } from '../lib';
import { native, type NativeGemmParams } from '../lib/binding';
import { gpuSkipReason } from './helpers/backends';
import { expectError, expectReject } from './helpers/errors';

describe('gemm', () => {
  const f = (shape: number[], dtype: 'float32' | 'float16' | 'int8' | 'int32' = 'float32') => Tensor.zeros(shape, { dtype });
  test('inputs', async () => {
    await expectReject(
      () => gemm(new Float32Array(4) as never, f([2, 2])),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      'Expected a Tensor (wrap it with Tensor.from(data, shape)) for a but received an instance of Float32Array (length 4)',
    );
    expectError(
      () => gemmSync(f([2, 2]), [1, 2] as never),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      'Expected a Tensor (wrap it with Tensor.from(data, shape)) for b but received [1, 2]',
    );
    expectError(
      () => gemmSync(f([4]), f([4, 2])),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected a rank-2 or rank-3 tensor for a but received shape [4]',
    );
    expectError(
      () => gemmSync(f([2, 2], 'int32'), f([2, 2], 'int32')),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      'Expected a float32, float16, bfloat16 or int8 tensor for a but received an int32 tensor',
    );
  });

  test('inner dimensions that disagree', async () => {
    await expectReject(
      () => gemm(f([2, 3]), f([4, 5])),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected op(b) with 3 rows (op(a) is 2x3) for b but received op(b) of 4x5',
    );
    expectError(
      () => gemmSync(f([2, 3]), f([5, 4]), { transB: true }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected op(b) with 3 rows (op(a) is 2x3) for b but received op(b) of 4x5 (transB)',
    );
    expectError(
      () => gemmSync(f([3, 2, 3]), f([2, 3, 4])),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected a batch of 3 (the batch of a) for b but received a batch of 2',
    );
  });

  test('an nn.Linear weight [N, K] without transB (and the reverse) names the flag', async () => {
    // x [2, 3] @ w [5, 3] (nn.Linear: out_features 5, in_features 3)
    await expectReject(
      () => gemm(f([2, 3]), f([5, 3])),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected op(b) with 3 rows (op(a) is 2x3) for b but received op(b) of 5x3 (b looks like an [N, K] nn.Linear weight: pass transB: true)',
    );
    expectError(
      () => gemmSync(f([4, 2, 3]), f([4, 5, 3])),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      /op\(b\) of 5x3 \(b looks like an \[N, K\] nn\.Linear weight: pass transB: true\)$/,
    );
    expectError(
      () => gemmSync(f([2, 3]), f([3, 5]), { transB: true }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected op(b) with 3 rows (op(a) is 2x3) for b but received op(b) of 5x3 (transB) (b looks like a [K, N] weight: leave transB out)',
    );
    const packed = packWeightsSync(f([5, 3]));
    try {
      expectError(
        () => gemmSync(f([2, 3]), packed),
        RangeError,
        'ERR_INVALID_ARG_VALUE',
        'Expected op(b) with 3 rows (op(a) is 2x3) for b but received op(b) of 5x3 (b was packed from what looks like an [N, K] nn.Linear weight: pack it with transB: true)',
      );
    } finally {
      packed.dispose();
    }
    // with transB the same weight runs: y = x w^T, checked against float64
    const x = Tensor.from([1, 2, 3, -1, 0.5, 4], [2, 3]);
    const w = Tensor.from(
      Array.from({ length: 15 }, (_, i) => (i % 7) - 3),
      [5, 3],
    );
    const xv = x.toArraySync() as Float32Array,
      wv = w.toArraySync() as Float32Array;
    const want = Array.from({ length: 10 }, (_, i) => {
      const [m, n] = [Math.floor(i / 5), i % 5];
      return xv[m * 3] * wv[n * 3] + xv[m * 3 + 1] * wv[n * 3 + 1] + xv[m * 3 + 2] * wv[n * 3 + 2];
    });
    expect(Array.from(gemmSync(x, w, { transB: true, device: 'cpu' }).toArraySync() as Float32Array)).toEqual(want);
  });

  test('mismatched dtypes', () => {
    expectError(
      () => gemmSync(f([2, 3]), f([3, 4], 'float16')),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      'Expected a float32 tensor (the dtype of a) for b but received a float16 tensor',
    );
    expectError(
      () => gemmSync(f([2, 3], 'int8'), f([3, 4], 'int8'), { out: f([2, 4]) }),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      'Expected an int32 tensor for options.out but received a float32 tensor',
    );
    expectError(
      () => gemmSync(f([2, 3]), f([3, 4]), { out: f([2, 4], 'int32') }),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      'Expected a float32, float16 or bfloat16 tensor for options.out but received an int32 tensor',
    );
    expectError(
      () => gemmSync(f([2, 3], 'int8'), f([3, 4], 'int8'), { bias: f([4]) }),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      'Expected an int32 tensor for options.bias but received a float32 tensor',
    );
  });

  test('c, out and bias of the wrong shape', () => {
    expectError(
      () => gemmSync(f([2, 3]), f([3, 4]), { c: f([4, 2]) }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected shape [2, 4] for options.c but received shape [4, 2]',
    );
    expectError(
      () => gemmSync(f([2, 3]), f([3, 4]), { out: f([2, 5]) }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected shape [2, 4] for options.out but received shape [2, 5]',
    );
    expectError(
      () => gemmSync(f([2, 3]), f([3, 4]), { bias: f([2]) }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected shape [4] for options.bias but received shape [2]',
    );
    expectError(
      () => gemmSync(f([5, 2, 3]), f([3, 4]), { out: f([2, 4]) }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected shape [5, 2, 4] for options.out but received shape [2, 4]',
    );
  });

  test('scalars and options', () => {
    expectError(
      () => gemmSync(f([2, 3]), f([3, 4]), { beta: 2 }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected 0 when no c is given (beta scales c) for options.beta but received 2',
    );
    expectError(
      () => gemmSync(f([2, 3]), f([3, 4]), { alpha: NaN }),
      RangeError,
      'ERR_OUT_OF_RANGE',
      'Expected a finite number for options.alpha but received NaN',
    );
    // float32 is the kernels' type: a value it cannot hold would become infinity (property test)
    expectError(
      () => gemmSync(f([2, 3]), f([3, 4]), { alpha: -3.4028235677973366e38 }),
      RangeError,
      'ERR_OUT_OF_RANGE',
      'Expected a number a float32 can hold (|alpha| <= 3.4028234663852886e+38) for options.alpha but received -3.4028235677973366e+38',
    );
    expectError(
      () => gemmSync(f([2, 3]), f([3, 4]), { c: f([2, 4]), beta: 1e39 }),
      RangeError,
      'ERR_OUT_OF_RANGE',
      'Expected a number a float32 can hold (|beta| <= 3.4028234663852886e+38) for options.beta but received 1e+39',
    );
    expectError(
      () => gemmSync(f([2, 3]), f([3, 4]), { transA: 1 as never }),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      'Expected a boolean for options.transA but received 1',
    );
    expectError(
      () => gemmSync(f([2, 3], 'int8'), f([3, 4], 'int8'), { alpha: 2 }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected 1 for int8 inputs (exact int32 arithmetic) for options.alpha but received 2',
    );
    expectError(
      () => gemmSync(f([2, 3], 'float16'), f([3, 4], 'float16'), { precision: 'tf32' }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      "Expected 'fp32' for float16 inputs (tf32 applies to float32) for options.precision but received 'tf32'",
    );
    expectError(
      () => gemmSync(f([2, 3]), f([3, 4]), { transpose: true } as never),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      /^Expected only the keys transA, transB, .* for options but received key "transpose"$/,
    );
  });

  test('out overlapping an input, or only part of c', () => {
    const buf = new Float32Array(16);
    const a = Tensor.from(buf.subarray(0, 6), [2, 3]);
    const out = Tensor.from(buf.subarray(4, 12), [2, 4]);
    expectError(
      () => gemmSync(a, f([3, 4]), { out }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected memory that does not overlap a for options.out but received an overlapping tensor',
    );
    const c = Tensor.from(buf.subarray(8, 16), [2, 4]);
    const out2 = Tensor.from(buf.subarray(6, 14), [2, 4]);
    expectError(
      () => gemmSync(f([2, 3]), f([3, 4]), { c, out: out2 }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected either c itself (an in-place update) or memory that does not overlap c for options.out but received a partly overlapping tensor',
    );
  });

  test('a tensor on another device', async () => {
    if (gpuSkipReason() === null) {
      const d = Tensor.zeros([3, 4], { device: 'cuda' });
      await expectReject(
        () => gemm(f([2, 3]), d),
        RangeError,
        'ERR_INVALID_ARG_VALUE',
        `Expected a tensor on cpu (the device of a) for b but received a tensor on ${d.device}`,
      );
      d.dispose();
    } else {
      // No GPU: no device tensor can exist, and asking for one is the error.
      await expectReject(
        () => gemm(f([2, 3]), f([3, 4]), { device: 'cuda:0' }),
        TensorkernError,
        'ERR_TK_NO_GPU',
        /options\.device asks for 'cuda:0'/,
      );
    }
  });

  test('the binding re-checks shapes', () => {
    const t = (shape: number[], dtype = 0) => ({
      dtype,
      shape,
      data: dtype === 0 ? new Float32Array(shape.reduce((x, y) => x * y, 1)) : new Int32Array(shape.reduce((x, y) => x * y, 1)),
    });
    const call = (p: Partial<NativeGemmParams>) =>
      native.ops.gemm({ a: t([2, 3]), b: t([3, 5]), out: t([2, 5]), transA: false, transB: false, alpha: 1, beta: 0, ...p }, false);
    expect(() => call({ b: t([4, 5]) })).toThrow(/Expected the inner dimensions to agree/);
    expect(() => call({ out: t([2, 4]) })).toThrow(/Expected out of shape \[2, 5\]/);
    expect(() => call({ bias: t([4]) })).toThrow(/Expected bias of shape \[5\]/);
    expect(() => call({ b: t([3, 5], 5) })).toThrow(/Expected a and b of one dtype/);
    expect(() => call({ beta: 3 })).toThrow(/Expected c when beta is nonzero/);
    // The params are read by name and each one checked.
    expect(() => native.ops.gemm(5 as never, false)).toThrow('Expected an object of gemm params but received number 5');
    expect(() => call({ transA: 1 as never })).toThrow('Expected a boolean for transA but received number 1');
    expect(() => call({ a: undefined })).toThrow('Expected a tensor descriptor for a but received undefined');
  });
});
