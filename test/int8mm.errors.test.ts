// Bad input to int8Matmul, quantizeWeightsInt8 and Int8Weights.fromBuffer: each rejects it with the
// right class, code and a message naming the argument, what was expected and what was received
// (docs/design.md, Errors); the binding called directly with inconsistent descriptors throws, never crashes.
import { Int8Weights, Tensor, int8Matmul, int8MatmulSync, quantizeWeightsInt8, quantizeWeightsInt8Sync } from '../lib';
import { native } from '../lib/binding';
import { hostNative } from '../lib/ops/common';
import { expectError, expectReject } from './helpers/errors';

type Dt = 'float32' | 'float16' | 'int8' | 'int32';
const f = (shape: number[], dtype: Dt = 'float32') => Tensor.zeros(shape, { dtype });
const W = () =>
  quantizeWeightsInt8Sync(
    Tensor.from(
      Float32Array.from({ length: 12 }, (_, i) => i - 5),
      [3, 4],
    ),
  );
const THR = 'Expected a number > 0 (Infinity: no outlier columns) for options.threshold but received';

describe('int8Matmul', () => {
  test('x and w', async () => {
    await expectReject(
      () => int8Matmul(new Float32Array(4) as never, W()),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      'Expected a Tensor (wrap it with Tensor.from(data, shape)) for x but received an instance of Float32Array (length 4)',
    );
    expectError(
      () => int8MatmulSync(f([2, 4], 'int8'), W()),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      'Expected a float32 tensor for x but received an int8 tensor',
    );
    expectError(
      () => int8MatmulSync(f([4]), W()),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected a rank-2 [M, K] or rank-3 [B, M, K] tensor for x but received shape [4]',
    );
    expectError(
      () => int8MatmulSync(f([2, 5]), W()),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected [M, 4] (K of the weights) for x but received shape [2, 5]',
    );
    await expectReject(
      () => int8Matmul(f([2, 4]), f([3, 4]) as never),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      'Expected an Int8Weights (from quantizeWeightsInt8 or Int8Weights.fromBuffer) for w but received an instance of Tensor',
    );
  });

  test('threshold and options', () => {
    expectError(
      () => int8MatmulSync(f([2, 4]), W(), { threshold: '6' as never }),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      `${THR} type string ("6")`,
    );
    expectError(() => int8MatmulSync(f([2, 4]), W(), { threshold: 0 }), RangeError, 'ERR_OUT_OF_RANGE', `${THR} 0`);
    expectError(() => int8MatmulSync(f([2, 4]), W(), { threshold: NaN }), RangeError, 'ERR_OUT_OF_RANGE', `${THR} NaN`);
    expectError(() => int8MatmulSync(f([2, 4]), W(), { threshold: -Infinity }), RangeError, 'ERR_OUT_OF_RANGE', `${THR} -Infinity`);
    expectError(
      () => int8MatmulSync(f([2, 4]), W(), { treshold: 3 } as never),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected only the keys bias, c, beta, alpha, out, threshold for options but received key "treshold"',
    );
  });

  test('bias, c, out', () => {
    expectError(
      () => int8MatmulSync(f([2, 4]), W(), { bias: f([4]) }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected a float32 CPU tensor of shape [3] for options.bias but received a float32 tensor of shape [4]',
    );
    expectError(
      () => int8MatmulSync(f([2, 4]), W(), { c: f([2, 4]) }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected a float32 CPU tensor of shape [2, 3] for options.c but received a float32 tensor of shape [2, 4]',
    );
    expectError(
      () => int8MatmulSync(f([2, 4]), W(), { out: f([2, 3], 'float16') }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected a float32 CPU tensor of shape [2, 3] for options.out but received a float16 tensor of shape [2, 3]',
    );
  });

  test('the binding called directly with inconsistent descriptors throws (the native validation)', () => {
    const x = hostNative('float32', [2, 4], new Float32Array(8));
    const ok = {
      x,
      w: hostNative('int8', [3, 4], new Int8Array(12)),
      scales: hostNative('float32', [3], new Float32Array(3)),
      out: hostNative('float32', [2, 3], new Float32Array(6)),
      threshold: 6,
    };
    expect(() => native.ops.int8mm(ok, false)).not.toThrow();
    expect(() => native.ops.int8mm({} as never, false)).toThrow('Expected a tensor descriptor for x but received undefined');
    expect(() => native.ops.int8mm({ ...ok, w: hostNative('float32', [3, 4], new Float32Array(12)) }, false)).toThrow(
      'Expected int8Matmul w of dtype int8 but received float32',
    );
    expect(() => native.ops.int8mm({ ...ok, w: hostNative('int8', [3, 5], new Int8Array(15)) }, false)).toThrow(
      'Expected int8Matmul w with K = 4 columns (the columns of x) but received [3, 5]',
    );
    expect(() => native.ops.int8mm({ ...ok, scales: hostNative('float32', [2], new Float32Array(2)) }, false)).toThrow(
      'Expected int8Matmul scales of shape [3] but received [2]',
    );
    expect(() => native.ops.int8mm({ ...ok, threshold: -1 }, false)).toThrow(
      'Expected an int8Matmul threshold > 0 (Infinity: no outlier columns)',
    );
    // a packing shorter than its layout needs is ignored (w is read), never read past its end
    const Wq = W();
    const xs = hostNative('float32', [2, 4], Float32Array.of(1, -2, 3, 0.5, 2, 1, -1, 4));
    const run = (packed: object) => {
      const y = new Float32Array(6);
      native.ops.int8mm(
        {
          ...ok,
          x: xs,
          w: hostNative('int8', [3, 4], Wq.values),
          scales: hostNative('float32', [3], Wq.scales),
          out: hostNative('float32', [2, 3], y),
          ...packed,
        },
        false,
      );
      return Array.from(y);
    };
    const want = run({});
    expect(want.some((v) => v !== 0)).toBe(true);
    expect(run({ packed: hostNative('int8', [3], new Int8Array(3)), packedLayout: Wq.packedLayout })).toEqual(want);
  });
});

describe('quantizeWeightsInt8', () => {
  test('w and options', async () => {
    await expectReject(
      () => quantizeWeightsInt8(f([4])),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected a rank-2 tensor [N, K] (N = out features) for w but received shape [4]',
    );
    expectError(
      () => quantizeWeightsInt8Sync(f([2, 4], 'int8')),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      'Expected a float32 tensor for w but received an int8 tensor',
    );
    expectError(
      () => quantizeWeightsInt8Sync(Tensor.from(Float32Array.of(1, NaN), [1, 2])),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected finite weights (quantization needs finite values) for w but received NaN at row 0, column 1',
    );
    expectError(
      () => quantizeWeightsInt8Sync(f([2, 4]), { bits: 4 } as never),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected no keys (quantizeWeightsInt8 takes no options yet) for options but received key "bits"',
    );
    expectError(
      () => new (Int8Weights as unknown as new (...a: unknown[]) => Int8Weights)(Symbol('x'), 1, 1, new Int8Array(1), new Float32Array(1)),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      'Expected quantizeWeightsInt8() or Int8Weights.fromBuffer() for Int8Weights but received new Int8Weights()',
    );
  });
});

describe('Int8Weights.fromBuffer', () => {
  const edit = (fn: (b: Uint8Array, dv: DataView) => void) => {
    const b = W().toBuffer();
    fn(b, new DataView(b.buffer));
    return b;
  };
  test.each([
    [
      'not bytes',
      () => [1, 2] as never,
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      'Expected a Uint8Array or ArrayBuffer for buffer but received [1, 2]',
    ],
    [
      'shorter than the header',
      () => new Uint8Array(8),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected an Int8Weights buffer of at least 16 bytes (the header) for buffer but received 8 bytes',
    ],
    [
      'foreign',
      () => new Uint8Array(16),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      "Expected an Int8Weights buffer (it starts with the bytes 'TKW8') for buffer but received bytes 00 00 00 00",
    ],
    [
      'a future version',
      () => edit((b) => (b[4] = 9)),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected Int8Weights format version 1 for buffer but received version 9',
    ],
    [
      'truncated',
      () => W().toBuffer().subarray(0, 30),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected 40 bytes for N=3, K=4 for buffer but received 30 bytes (truncated)',
    ],
    [
      'trailing bytes',
      () => {
        const b = new Uint8Array(44);
        b.set(W().toBuffer());
        return b;
      },
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected 40 bytes for N=3, K=4 for buffer but received 44 bytes (with trailing bytes)',
    ],
    [
      'a -128 value',
      () => edit((b) => (b[16] = 0x80)),
      RangeError,
      'ERR_OUT_OF_RANGE',
      'Expected a value in [-127, 127] (symmetric int8) for values[0] but received -128',
    ],
    [
      'a NaN scale',
      () => edit((_b, dv) => dv.setFloat32(28, NaN, true)),
      RangeError,
      'ERR_OUT_OF_RANGE',
      'Expected a finite non-negative scale for scales[0] but received NaN',
    ],
  ] as const)('%s', (_n, make, cls, code, msg) => {
    expectError(() => Int8Weights.fromBuffer(make()), cls, code, msg);
  });
});
