// Bad input for the W4A4 family: each case a clear error (class, code, message naming the argument,
// what was expected and what was received), and the binding called directly with garbage throws
// instead of crashing.
import {
  Int4Weights,
  Tensor,
  int4MatmulSync,
  quantizeActivationsInt4,
  quantizeWeightsInt4,
  quantizeWeightsInt4Sync,
  w4a4Matmul,
  w4a4MatmulSync,
  w4a8MatmulSync,
} from '../lib';
import { native, type NativeW4A4Params } from '../lib/binding';
import { expectError, expectReject } from './helpers/errors';

const f32 = (n: number, v = 0.5) => new Float32Array(n).fill(v);
const W = (N: number, K: number, opts?: Parameters<typeof quantizeWeightsInt4Sync>[1]) =>
  quantizeWeightsInt4Sync(
    Tensor.from(
      f32(N * K).map((_, i) => Math.sin(i)),
      [N, K],
    ),
    opts,
  );

describe('quantizeWeightsInt4', () => {
  test('K odd', () => {
    expectError(
      () => W(4, 3),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected an even K (int4 packs two values of K per byte) for w but received shape [4, 3]',
    );
  });
  test('groupSize that does not divide K, or odd, or of the wrong type', async () => {
    expectError(
      () => W(2, 96, { groupSize: 64 }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      "Expected a group size that fits K = 96 (2, 4, 6, 8, 12, 16, 24, 32, 48, 96 or 'channel') for options.groupSize but received 64",
    );
    expectError(
      () => W(2, 96, { groupSize: 3 }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      "Expected a group size that fits K = 96 (2, 4, 6, 8, 12, 16, 24, 32, 48, 96 or 'channel') for options.groupSize but received 3",
    );
    expectError(
      () => W(2, 96, { groupSize: 'row' as never }),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      `Expected a number or 'channel' for options.groupSize but received type string ("row")`,
    );
    await expectReject(() => quantizeWeightsInt4(Tensor.from(f32(6), [2, 3])), RangeError, 'ERR_INVALID_ARG_VALUE', /Expected an even K/);
  });
  test('NaN or Inf in the weights: the error names the row and column', () => {
    const w = f32(4 * 8);
    w[2 * 8 + 5] = NaN;
    expectError(
      () => quantizeWeightsInt4Sync(Tensor.from(w, [4, 8])),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected finite weights (quantization needs finite values) for w but received NaN at row 2, column 5',
    );
    w[2 * 8 + 5] = 0;
    w[3 * 8] = -Infinity;
    expectError(
      () => quantizeWeightsInt4Sync(Tensor.from(w, [4, 8])),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      /received -Infinity at row 3, column 0$/,
    );
  });
  test('wrong tensors and options', () => {
    expectError(
      () => quantizeWeightsInt4Sync(Tensor.from(f32(8), [8])),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected a rank-2 tensor [N, K] (N = out features) for w but received shape [8]',
    );
    expectError(
      () => quantizeWeightsInt4Sync(Tensor.from(new Int8Array(8), [2, 4])),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      'Expected a float32 tensor for w but received an int8 tensor',
    );
    expectError(
      () => W(2, 8, { rotate: 'fourier' as never }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      `Expected 'hadamard' or undefined for options.rotate but received type string ("fourier")`,
    );
    expectError(
      () => W(2, 8, { outlierChannels: [8] }),
      RangeError,
      'ERR_OUT_OF_RANGE',
      'Expected an integer in [0, 8) for options.outlierChannels[0] but received 8',
    );
    expectError(
      () => W(2, 8, { outlierCount: 2 }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected calibration and outlierCount together for options but received only one of them',
    );
    expectError(
      () => W(2, 8, { group: 2 } as never),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      /^Expected only the keys groupSize, rotate, outlierChannels, calibration, outlierCount for options but received key "group"$/,
    );
  });
});

describe('w4a4Matmul / int4Matmul', () => {
  const w = W(3, 64, { groupSize: 32 });
  test('x of the wrong K, rank or dtype', async () => {
    expectError(
      () => w4a4MatmulSync(Tensor.from(f32(2 * 60), [2, 60]), w),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected [M, 64] (K of the weights) for x but received shape [2, 60]',
    );
    expectError(
      () => w4a4MatmulSync(Tensor.from(f32(64), [64]), w),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected a rank-2 [M, K] or rank-3 [B, M, K] tensor for x but received shape [64]',
    );
    await expectReject(
      () => w4a4Matmul(Tensor.from(new Int8Array(64), [1, 64]), w),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      'Expected a float32 tensor for x but received an int8 tensor',
    );
    expectError(
      () => w4a4MatmulSync(Tensor.from(f32(64), [1, 64]), {} as never),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      /^Expected an Int4Weights .* for w but received an object$/,
    );
  });
  test('bias and out of the wrong shape', () => {
    const x = Tensor.from(f32(2 * 64), [2, 64]);
    expectError(
      () => w4a4MatmulSync(x, w, { bias: Tensor.from(f32(4), [4]) }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected a float32 CPU tensor of shape [3] for options.bias but received a float32 tensor of shape [4]',
    );
    expectError(
      () => w4a4MatmulSync(x, w, { out: Tensor.from(f32(6), [3, 2]) }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected a float32 CPU tensor of shape [2, 3] for options.out but received a float32 tensor of shape [3, 2]',
    );
  });
  test('c, beta and out of the shared epilogue', () => {
    const x = Tensor.from(f32(2 * 64), [2, 64]);
    expectError(
      () => int4MatmulSync(x, w, { c: Tensor.from(f32(6), [3, 2]) }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected a float32 CPU tensor of shape [2, 3] for options.c but received a float32 tensor of shape [3, 2]',
    );
    expectError(() => w4a8MatmulSync(x, w, { beta: 2 }), RangeError, 'ERR_INVALID_ARG_VALUE', /^Expected 0 when no c is given/);
    const x3 = Tensor.from(f32(2 * 64), [1, 2, 64]);
    expectError(
      () => w4a4MatmulSync(x3, w, { out: Tensor.from(f32(6), [2, 3]) }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected a float32 CPU tensor of shape [1, 2, 3] for options.out but received a float32 tensor of shape [2, 3]',
    );
  });
  test('outlierChannels that differ from the weights', () => {
    const wo = W(3, 64, { outlierChannels: [1, 9] });
    expectError(
      () => w4a4MatmulSync(Tensor.from(f32(64), [1, 64]), wo, { outlierChannels: [1, 8] }),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      "Expected the weights' outlier channels [1, 9] (fixed by quantizeWeightsInt4) for options.outlierChannels but received [1, 8]",
    );
  });
  test('asymmetric (zero-point) weights on the quantized path', () => {
    const z = Int4Weights.fromMatMulNBits({
      B: new Uint8Array(16),
      scales: f32(2),
      zeroPoints: new Uint8Array([0x33, 0x44]),
      K: 16,
      N: 2,
      blockSize: 16,
    });
    expectError(
      () => w4a4MatmulSync(Tensor.from(f32(16), [1, 16]), z),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected symmetric weights for w4a4MatmulSync (these have zero points from MatMulNBits: use int4Matmul) for w but received weights with zero points',
    );
  });
  test('quantizeActivationsInt4 options', () => {
    expectError(
      () => quantizeActivationsInt4(Tensor.from(f32(8), [2, 4]), { bits: 2 as never }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected 4 or 8 for options.bits but received 2',
    );
  });
});

describe('Int4Weights buffers and imports', () => {
  const w = W(3, 64, { groupSize: 32, outlierChannels: [4] });
  const buf = w.toBuffer();
  test('truncated, with trailing bytes, foreign, wrong version', () => {
    expectError(
      () => Int4Weights.fromBuffer(buf.subarray(0, buf.length - 1)),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      `Expected ${buf.length} bytes for N=3, K=64, groupSize=32 for buffer but received ${buf.length - 1} bytes (truncated)`,
    );
    const longer = new Uint8Array(buf.length + 4);
    longer.set(buf);
    expectError(() => Int4Weights.fromBuffer(longer), RangeError, 'ERR_INVALID_ARG_VALUE', /received \d+ bytes \(with trailing bytes\)$/);
    expectError(
      () => Int4Weights.fromBuffer(buf.subarray(0, 10)),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected an Int4Weights buffer of at least 32 bytes (the header) for buffer but received 10 bytes',
    );
    const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, ...new Array(60).fill(0)]);
    expectError(
      () => Int4Weights.fromBuffer(png),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      "Expected an Int4Weights buffer (it starts with the bytes 'TKW4') for buffer but received bytes 89 50 4e 47",
    );
    const v2 = buf.slice();
    v2[4] = 2;
    expectError(
      () => Int4Weights.fromBuffer(v2),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected Int4Weights format version 1 for buffer but received version 2',
    );
    expectError(
      () => Int4Weights.fromBuffer('TKW4' as never),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      'Expected a Uint8Array or ArrayBuffer for buffer but received type string ("TKW4")',
    );
  });
  test('corrupt contents: a negative scale, an outlier channel out of range', () => {
    const bad = buf.slice();
    new DataView(bad.buffer).setFloat32(32 + 96, -1, true); // the first scale
    expectError(
      () => Int4Weights.fromBuffer(bad),
      RangeError,
      'ERR_OUT_OF_RANGE',
      'Expected a finite non-negative scale for scales[0] but received -1',
    );
    const bad2 = buf.slice();
    new DataView(bad2.buffer).setInt32(32 + 96 + 24, 64, true); // the outlier channel
    expectError(
      () => Int4Weights.fromBuffer(bad2),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      'Expected increasing channel indices in [0, 64) for outlierChannels but received [64]',
    );
  });
  test('MatMulNBits: wrong scale length, block size, zero points', () => {
    const B = new Uint8Array(32);
    expectError(
      () => Int4Weights.fromMatMulNBits({ B, scales: f32(3), K: 32, N: 2, blockSize: 16 }),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      'Expected a Float32Array of 4 scales for scales but received an instance of Float32Array (length 3)',
    );
    expectError(
      () => Int4Weights.fromMatMulNBits({ B, scales: f32(4), K: 32, N: 2, blockSize: 12 }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected a power of two >= 16 (MatMulNBits) for blockSize but received 12',
    );
    expectError(
      () => Int4Weights.fromMatMulNBits({ B, scales: f32(4), zeroPoints: new Uint8Array(1), K: 32, N: 2, blockSize: 16 }),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      'Expected a Uint8Array of 2 bytes (packed 4-bit) for zeroPoints but received an instance of Uint8Array (length 1)',
    );
    expectError(
      () => new (Int4Weights as unknown as new (a: symbol, b: object) => unknown)(Symbol('x'), {}),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      'Expected quantizeWeightsInt4(), Int4Weights.fromBuffer() or Int4Weights.fromMatMulNBits() for Int4Weights but received new Int4Weights()',
    );
  });
});

describe('the binding re-checks', () => {
  const t = (d: ArrayBufferView, shape: number[], dtype: number) => ({ dtype, shape, data: d });
  test('scales of the wrong length, group size, outlier index out of range: errors, no crash', () => {
    const x = t(f32(2 * 64), [2, 64], 0),
      w = t(new Uint8Array(3 * 32), [3, 64], 4),
      out = t(f32(6), [2, 3], 0);
    const call = (p: Partial<NativeW4A4Params>) =>
      native.ops.w4a4({ x, w, scales: t(f32(3), [3, 1], 0), out, groupSize: 64, rotateBlock: 0, actBits: 4, ...p }, false);
    expect(() => call({ scales: t(f32(5), [5, 1], 0) })).toThrow(/Expected scales of shape \[3, 1\] but received \[5, 1\]/);
    expect(() => call({ scales: t(f32(6), [3, 2], 0), groupSize: 48 })).toThrow(/even group size dividing K = 64/);
    expect(() =>
      call({
        outlierChannels: t(new Int32Array([70]), [1], 5),
        outlierWeights: t(new Int8Array(3), [3, 1], 3),
        outlierScales: t(f32(3), [3], 0),
      }),
    ).toThrow(/outlier channels in \[0, 64\)/);
    expect(() => call({ rotateBlock: 3 })).toThrow(/rotation block/);
    expect(() => call({ c: t(f32(6), [3, 2], 0), beta: 1 })).toThrow(/Expected c .*\[2, 3\]/);
    expect(() => call({ w: t(new Uint8Array(10), [3, 64], 4) })).toThrow();
  });
});

describe('pre-quantized activations', () => {
  const K = 64;
  const x = Tensor.from(
    new Float32Array(2 * K).map((_, i) => Math.sin(i)),
    [2, K],
  );
  const w = quantizeWeightsInt4Sync(
    Tensor.from(
      new Float32Array(3 * K).map((_, i) => Math.cos(i)),
      [3, K],
    ),
  );
  test('bits, rotation and outlier channels must match; int4Matmul takes floats', () => {
    expectError(
      () => w4a4MatmulSync(quantizeActivationsInt4(x, { bits: 8 }), w),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected 4-bit activations for w4a4MatmulSync (quantizeActivationsInt4(x, { bits: 4 })) for x but received 8-bit activations',
    );
    const wr = quantizeWeightsInt4Sync(
      Tensor.from(
        new Float32Array(3 * K).map((_, i) => Math.cos(i)),
        [3, K],
      ),
      { rotate: 'hadamard' },
    );
    expectError(
      () => w4a4MatmulSync(quantizeActivationsInt4(x), wr),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected activations rotated like the weights (quantizeActivationsInt4(x, { rotateLike: w })) for x but received unrotated activations',
    );
    const wo = quantizeWeightsInt4Sync(
      Tensor.from(
        new Float32Array(3 * K).map((_, i) => Math.cos(i)),
        [3, K],
      ),
      { outlierChannels: [5] },
    );
    expectError(
      () => w4a4MatmulSync(quantizeActivationsInt4(x), wo),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected weights without outlier channels for quantized activations (outliers need the float activations) for w but received weights with outlier channels',
    );
    expectError(
      () => int4MatmulSync(quantizeActivationsInt4(x) as never, w),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      'Expected a float32 tensor for int4Matmul (weight-only) for x but received quantized activations',
    );
  });
  test('a value outside the 4-bit range is reported by the native layer, not computed', async () => {
    const q = quantizeActivationsInt4(x);
    q.values[70] = 9;
    let err: unknown;
    try {
      await w4a4Matmul(q, w);
    } catch (e) {
      err = e;
    }
    expect((err as Error).name).toBe('RangeError');
    expect((err as Error).message).toBe('Expected quantized activations in [-8, 7] but row 1 holds a value outside');
  });
});
