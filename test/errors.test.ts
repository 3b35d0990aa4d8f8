// Bad input: each public function rejects it with the right class, code and a message that names the
// argument, what was expected and what was received (docs/design.md, Errors). The native side re-checks: the
// binding called directly with garbage throws, never crashes.
import { Tensor, TensorkernError, cast, castSync, gemm, gemmSync, packWeightsSync, setNumThreads, setCpuIsa, memoryInfo } from '../lib';
import { native, type NativeGemmParams } from '../lib/binding';
import { wrapNative } from '../lib/errors';
import { gpuSkipReason } from './helpers/backends';
import { expectError, expectReject } from './helpers/errors';

describe('Tensor.from', () => {
  test('data of the wrong type', () => {
    expectError(
      () => Tensor.from('abc' as never, [3]),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      'Expected a typed array or an array of numbers for data but received type string ("abc")',
    );
    expectError(
      () => Tensor.from(new Float64Array(4) as never, [4]),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      /^Expected a Float32Array, Uint16Array, .* for data but received an instance of Float64Array \(length 4\)$/,
    );
    expectError(
      () => Tensor.from([1, 'x'] as never, [2]),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      'Expected a number for data[1] but received type string ("x")',
    );
  });

  test('length that does not match shape x dtype', () => {
    expectError(
      () => Tensor.from(new Float32Array(5), [2, 3]),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected 6 elements (shape [2, 3], float32) for data but received 5',
    );
    expectError(
      () => Tensor.from([1, 2, 3], [2, 2]),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected 4 elements (shape [2, 2]) for data but received 3',
    );
    expectError(
      () => Tensor.from(new Uint8Array(3), [2, 4], { dtype: 'int4' }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected 4 bytes (shape [2, 4], int4) for data but received 3',
    );
  });

  test('negative, fractional, overflowing and non-numeric dimensions', () => {
    expectError(
      () => Tensor.from(new Float32Array(0), [-1]),
      RangeError,
      'ERR_OUT_OF_RANGE',
      'Expected a non-negative integer for shape[0] but received -1',
    );
    expectError(
      () => Tensor.from(new Float32Array(3), [1.5, 2]),
      RangeError,
      'ERR_OUT_OF_RANGE',
      'Expected a non-negative integer for shape[0] but received 1.5',
    );
    expectError(
      () => Tensor.from(new Float32Array(1), [2 ** 30, 2 ** 30]),
      RangeError,
      'ERR_OUT_OF_RANGE',
      'Expected a shape with at most 2^53 - 1 elements for shape but received [1073741824, 1073741824]'.replace(
        '1073741824, 1073741824',
        '1073741824, 1073741824',
      ),
    );
    expectError(
      () => Tensor.from(new Float32Array(1), [NaN]),
      RangeError,
      'ERR_OUT_OF_RANGE',
      'Expected a non-negative integer for shape[0] but received NaN',
    );
    expectError(
      () => Tensor.from(new Float32Array(1), ['1'] as never),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      'Expected a non-negative integer for shape[0] but received type string ("1")',
    );
    expectError(
      () => Tensor.from(new Float32Array(1), 1 as never),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      'Expected an array of non-negative integers for shape but received 1',
    );
    expectError(
      () => Tensor.from(new Float32Array(1), [1, 1, 1, 1, 1, 1, 1, 1, 1]),
      RangeError,
      'ERR_OUT_OF_RANGE',
      'Expected at most 8 dimensions for shape but received 9 dimensions',
    );
    expectError(
      () => Tensor.from(new Float32Array(4), [Infinity]),
      RangeError,
      'ERR_OUT_OF_RANGE',
      'Expected a non-negative integer for shape[0] but received Infinity',
    );
  });

  test('dtype and options', () => {
    expectError(
      () => Tensor.from(new Float32Array(2), [2], { dtype: 'float64' as never }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected one of float32, float16, bfloat16, int8, int4, int32, int64, bool for options.dtype but received type string ("float64")',
    );
    expectError(
      () => Tensor.from(new Float32Array(2), [2], { dtype: 'int8' }),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      'Expected an Int8Array for dtype int8 for data but received an instance of Float32Array (length 2)',
    );
    expectError(
      () => Tensor.from(new Uint16Array(2), [2]),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      "Expected 'float16' or 'bfloat16' for a Uint16Array for options.dtype but received undefined",
    );
    expectError(
      () => Tensor.from(new Float32Array(2), [2], { dtyp: 'float32' } as never),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected only the keys dtype, device for options but received key "dtyp"',
    );
    expectError(
      () => Tensor.from(new Float32Array(2), [2], 'float32' as never),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      'Expected an options object for options but received type string ("float32")',
    );
    expectError(
      () => Tensor.from(new Uint8Array(1), [1, 1, 2], { dtype: 'int4' }).reshape([1, 2, 1]),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected an even last dimension for int4 (two nibbles per byte) for shape but received 1',
    );
    expectError(
      () => Tensor.from([1, 2, 300], [3], { dtype: 'int8' }),
      RangeError,
      'ERR_OUT_OF_RANGE',
      'Expected an integer in [-128, 127] (int8) for data[2] but received 300',
    );
    expectError(
      () => Tensor.from([1, 9], [2], { dtype: 'int4' }),
      RangeError,
      'ERR_OUT_OF_RANGE',
      'Expected an integer in [-8, 7] (int4) for data[1] but received 9',
    );
  });

  test('devices', () => {
    expectError(
      () => Tensor.from([1], [1], { device: 'gpu' as never }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      `Expected 'auto', 'cpu', 'cuda' or 'cuda:N' for options.device but received type string ("gpu")`,
    );
    expectError(
      () => Tensor.from([1], [1], { device: 0 as never }),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      `Expected 'auto', 'cpu', 'cuda' or 'cuda:N' for options.device but received 0`,
    );
  });

  test('no public constructor', () => {
    expect(() => new (Tensor as unknown as new () => Tensor)()).toThrow(TypeError);
  });
});

describe('Tensor methods', () => {
  test('reshape to another element count', () => {
    expectError(
      () => Tensor.zeros([2, 3]).reshape([4, 2]),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected 6 elements (from [2, 3]) for shape but received [4, 2] (8 elements)',
    );
  });

  test('use after dispose', async () => {
    const t = Tensor.from([1, 2], [2]);
    t.dispose();
    t.dispose(); // idempotent
    expect(t.disposed).toBe(true);
    expectError(() => t.toArraySync(), TensorkernError, 'ERR_TK_DISPOSED', 'Expected a live tensor for this but it was disposed');
    await expectReject(() => cast(t, 'float16'), TensorkernError, 'ERR_TK_DISPOSED', 'Expected a live tensor for x but it was disposed');
  });

  test('to() with a bad device', async () => {
    await expectReject(
      () => Tensor.zeros([1]).to('tpu' as never),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      `Expected 'auto', 'cpu', 'cuda' or 'cuda:N' for device but received type string ("tpu")`,
    );
  });
});

describe('cast', () => {
  test('arguments', async () => {
    await expectReject(
      () => cast(new Float32Array(2) as never, 'float16'),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      'Expected a Tensor (wrap it with Tensor.from(data, shape)) for x but received an instance of Float32Array (length 2)',
    );
    expectError(
      () => castSync(Tensor.zeros([2]), 'float99' as never),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      /^Expected one of float32, .* for dtype but received type string \("float99"\)$/,
    );
    expectError(
      () => castSync(Tensor.zeros([2]), 'int8'),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected float32, float16 or bfloat16 (cast converts among float types; x is float32) for dtype but received type string ("int8")',
    );
    expectError(
      () => castSync(Tensor.zeros([2]), 'float16', { out: Tensor.zeros([3], { dtype: 'float16' }) }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected 2 elements (x is [2]) for options.out but received [3]',
    );
    expectError(
      () => castSync(Tensor.zeros([2]), 'float16', { out: Tensor.zeros([2]) }),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      'Expected a float16 tensor for options.out but received a float32 tensor',
    );
    const buf = new ArrayBuffer(16);
    const x = Tensor.from(new Uint16Array(buf, 0, 4), [4], { dtype: 'float16' });
    const out = Tensor.from(new Float32Array(buf, 0, 4), [4]);
    expectError(
      () => castSync(x, 'float32', { out }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected memory that does not overlap x for options.out but received an overlapping view',
    );
  });
});

describe('runtime settings', () => {
  test('setNumThreads', () => {
    expectError(() => setNumThreads(0), RangeError, 'ERR_OUT_OF_RANGE', 'Expected an integer from 1 to 4096 for n but received 0');
    expectError(() => setNumThreads(2.5), RangeError, 'ERR_OUT_OF_RANGE', 'Expected an integer from 1 to 4096 for n but received 2.5');
    expectError(
      () => setNumThreads('2' as never),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      'Expected an integer from 1 to 4096 for n but received type string ("2")',
    );
  });
  test('setCpuIsa', () => {
    expectError(
      () => setCpuIsa('sse' as never),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected one of auto, scalar, avx2, avx512, neon for isa but received type string ("sse")',
    );
  });
  test('memoryInfo on the CPU', () => {
    expectError(
      () => memoryInfo('cpu'),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected a CUDA device for device but received type string ("cpu")',
    );
  });
});

// The binding, called directly with garbage: named errors, no crash, no out-of-bounds access.
describe('native argument checks', () => {
  const good = () => ({ dtype: 0, shape: [2], data: new Float32Array(2) });
  const cases: [string, unknown, RegExp][] = [
    ['not an object', 5, /Expected a tensor descriptor for src but received number 5/],
    ['a typed array', new Float32Array(2), /Expected a tensor descriptor for src but received a typed array/],
    ['bad dtype', { ...good(), dtype: 99 }, /Expected an integer in \[0, 7\] for src\.dtype/],
    ['fractional dtype', { ...good(), dtype: 0.5 }, /Expected an integer in \[0, 7\] for src\.dtype/],
    ['shape not an array', { ...good(), shape: 2 }, /Expected an array for src\.shape but received number 2/],
    ['negative dim', { ...good(), shape: [-2] }, /Expected a non-negative integer for src\.shape\[0\]/],
    ['huge dims', { ...good(), shape: [2 ** 40, 2 ** 40] }, /2\^53 elements/],
    ['too many dims', { ...good(), shape: [1, 1, 1, 1, 1, 1, 1, 1, 1] }, /at most 8 dimensions/],
    ['short data', { ...good(), data: new Float32Array(1) }, /Expected 8 bytes for src\.data \(shape x float32\) but received 4/],
    ['wrong array kind', { ...good(), data: new Int32Array(2) }, /Expected a Float32Array for src\.data/],
    ['no storage', { dtype: 0, shape: [2] }, /Expected exactly one of src\.data \(host\) or src\.buffer \(device\)/],
    // 'both storages' ({ ...good(), buffer: {} }) is no longer an error: a host descriptor's data wins over a buffer.
    ['fake buffer', { dtype: 0, shape: [2], buffer: { bytes: 8 } }, /Expected a DeviceBuffer for src\.buffer/],
    ['odd int4', { dtype: 4, shape: [3], data: new Uint8Array(2) }, /even last dimension for an int4 tensor/],
  ];
  test.each(cases)('%s', (_name, src, msg) => {
    let err: unknown;
    try {
      native.ops.cast({ src: src as never, dst: good() }, false);
    } catch (e) {
      err = e;
    }
    // Errors made by the addon belong to Node's own realm, not jest's sandbox: compare by name.
    expect((err as Error).constructor.name).toMatch(/^(Type|Range)?Error$/);
    expect((err as Error).message).toMatch(msg);
    expect((err as { code: string }).code).toMatch(/^ERR_/);
  });

  test('argument errors throw synchronously even in the async form; the public API turns them into rejections', async () => {
    expect(() => native.ops.cast({ src: good(), dst: { dtype: 5, shape: [2], data: new Int32Array(2) } }, true)).toThrow(
      expect.objectContaining({ code: 'ERR_TK_UNSUPPORTED' }) as unknown as Error,
    );
  });

  test('device buffers on a device that does not exist', () => {
    expect(() => new native.runtime.DeviceBuffer(1023, 16)).toThrow(expect.objectContaining({ code: 'ERR_TK_NO_GPU' }) as unknown as Error);
    expect(() => new native.runtime.DeviceBuffer(-1, 16)).toThrow(/Expected a CUDA device index for device/);
    expect(() => new native.runtime.DeviceBuffer(0, -5)).toThrow(/Expected a byte count/);
  });
});

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

describe('native errors reach the caller as public errors', () => {
  test('a native TypeError/RangeError keeps its class and code; runtime failures become TensorkernError', async () => {
    let nativeErr: unknown;
    try {
      native.ops.cast(
        { src: { dtype: 0, shape: [2], data: new Float32Array(1) }, dst: { dtype: 0, shape: [2], data: new Float32Array(2) } },
        false,
      );
    } catch (e) {
      nativeErr = e;
    }
    const w = wrapNative(nativeErr, 'Error: x\n    at caller (file.js:1:1)');
    expect(w).toBeInstanceOf(RangeError);
    expect((w as RangeError & { code: string }).code).toBe('ERR_INVALID_ARG_VALUE');
    expect(w.stack).toContain('at caller (file.js:1:1)');
    let runtimeErr: unknown;
    try {
      // No GPU: ERR_TK_NO_GPU. With one: a device index past the last device, the same code.
      new native.runtime.DeviceBuffer(1023, 8);
    } catch (e) {
      runtimeErr = e;
    }
    const g = wrapNative(runtimeErr);
    expect(g).toBeInstanceOf(TensorkernError);
    expect((g as TensorkernError).code).toBe('ERR_TK_NO_GPU');
  });
});
