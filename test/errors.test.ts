// Bad input: each public function rejects it with the right class, code and a message that names the
// argument, what was expected and what was received (docs/design.md, Errors). The native side re-checks: the
// binding called directly with garbage throws, never crashes.
import { Tensor, TensorkernError, cast, setNumThreads, setCpuIsa, memoryInfo } from '../lib';
import { native } from '../lib/binding';
import { wrapNative } from '../lib/errors';
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
