// Bad input to packBits, quantizeBits, BitPlanes.fromBuffer and bitMatmul: each rejects it with the
// right class, code and a message that names the argument, what was expected and what was received
// (docs/design.md, Errors); the binding called directly with garbage throws, never crashes.
import { BitPlanes, Tensor, bitMatmul, bitMatmulSync, packBits, quantizeBits } from '../lib';
import { native } from '../lib/binding';
import { expectError, expectReject } from './helpers/errors';

const ints = (v: number[], shape: number[]) => Tensor.from(Int32Array.from(v), shape);
const A = () => packBits(ints([1, -2, 0, 1, 1, 1], [2, 3]), { bits: 2 });
const B = () => packBits(ints([1, 0, 1, 1, 1, 0, 0, 0, 1], [3, 3]), { bits: 1, format: 'uint' });
const Aq = () => quantizeBits(Tensor.from(Float32Array.from([1, -2, 0.5, 1, 1, 1]), [2, 3]), { bits: 4 });

describe('packBits / quantizeBits', () => {
  test('values outside the format name the first one', () => {
    expectError(
      () => packBits(ints([1, 2, -3, 9], [2, 2]), { bits: 3 }),
      RangeError,
      'ERR_OUT_OF_RANGE',
      'Expected an integer in [-4, 3] (3-bit int) for t[1, 1] but received 9',
    );
    expectError(
      () => packBits(ints([1, 3, -4], [1, 3]), { bits: 2 }),
      RangeError,
      'ERR_OUT_OF_RANGE',
      'Expected an integer in [-2, 1] (2-bit int) for t[0, 1] but received 3',
    );
    expectError(
      () => packBits(ints([1, -1, 2], [1, 3]), { bits: 2, format: 'bipolar' }),
      RangeError,
      'ERR_OUT_OF_RANGE',
      'Expected an odd integer in [-3, 3] (2-bit bipolar) for t[0, 2] but received 2',
    );
    expectError(
      () => packBits(ints([0, -1], [1, 2]), { bits: 4, format: 'uint' }),
      RangeError,
      'ERR_OUT_OF_RANGE',
      'Expected an integer in [0, 15] (4-bit uint) for t[0, 1] but received -1',
    );
  });

  test('bits, format, dtype, rank', () => {
    expectError(
      () => packBits(ints([0], [1, 1]), { bits: 9 }),
      RangeError,
      'ERR_OUT_OF_RANGE',
      'Expected a whole number of bits, 1..8 for options.bits but received 9',
    );
    expectError(() => packBits(ints([0], [1, 1]), { bits: 0 }), RangeError, 'ERR_OUT_OF_RANGE', /1\.\.8 for options\.bits but received 0/);
    expectError(
      () => packBits(ints([0], [1, 1]), undefined as never),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      /an object \{ bits, format\? \} \(packBits\) for options/,
    );
    expectError(
      () => packBits(ints([0], [1, 1]), { bits: 2, format: 'signed' as never }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      /'int', 'uint' or 'bipolar' for options\.format but received/,
    );
    expectError(() => packBits(ints([0], [1, 1]), { bits: 2, scale: 1 } as never), RangeError, 'ERR_INVALID_ARG_VALUE', /scale/);
    expectError(
      () => packBits(Tensor.from(Float32Array.from([0]), [1, 1]), { bits: 2 }),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      'Expected an int8 or int32 tensor for t but received float32 tensor',
    );
    expectError(
      () => packBits(ints([0, 0], [2]), { bits: 2 }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected a rank-2 tensor [rows, K] for t but received shape [2]',
    );
    expectError(
      () => quantizeBits(ints([0], [1, 1]), { bits: 2 }),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      'Expected a float32 tensor for t but received int32 tensor',
    );
    expectError(
      () => quantizeBits(Tensor.from(Float32Array.from([1]), [1, 1]), { bits: 1 }),
      RangeError,
      'ERR_OUT_OF_RANGE',
      /2\.\.8 for format 'int' .*use 'bipolar'.* for options\.bits but received 1/,
    );
    expectError(
      () => quantizeBits(Tensor.from(Float32Array.from([1, NaN]), [1, 2]), { bits: 4 }),
      RangeError,
      'ERR_OUT_OF_RANGE',
      'Expected a finite value for t[0, 1] but received NaN',
    );
  });

  test('fromBuffer: foreign, truncated, versioned, pad bits set', () => {
    const buf = packBits(ints([1, 0, 1], [1, 3]), { bits: 1, format: 'uint' }).toBuffer();
    expectError(() => BitPlanes.fromBuffer(new Uint8Array(8)), RangeError, 'ERR_INVALID_ARG_VALUE', /at least 32 bytes/);
    const bad = buf.slice();
    bad[0] = 0;
    expectError(
      () => BitPlanes.fromBuffer(bad),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      "Expected a BitPlanes buffer (magic 'TKBP') for buffer but received another format",
    );
    const v2 = buf.slice();
    v2[4] = 2;
    expectError(
      () => BitPlanes.fromBuffer(v2),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected BitPlanes format version 1 for buffer but received version 2',
    );
    expectError(
      () => BitPlanes.fromBuffer(buf.subarray(0, buf.length - 1)),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      /Expected 40 bytes for rows 1, K 3, bits 1 .* but received 39 bytes/,
    );
    const pad = buf.slice();
    pad[32] |= 0x10; // element 4 of a K = 3 row
    expectError(
      () => BitPlanes.fromBuffer(pad),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected zero pad bits past K = 3 for buffer but received set pad bits in plane row 0',
    );
    expectError(() => BitPlanes.fromBuffer('x' as never), TypeError, 'ERR_INVALID_ARG_TYPE', /a Uint8Array or ArrayBuffer for buffer/);
    expect(() => new (BitPlanes as never as new (...a: unknown[]) => unknown)(Symbol('x'), {})).toThrow(/no public constructor/);
  });
});

describe('bitMatmul', () => {
  test('operands', async () => {
    await expectReject(
      () => bitMatmul(ints([1], [1, 1]) as never, B()),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      /a BitPlanes \(packBits\(\) or quantizeBits\(\)\) for a/,
    );
    expectError(
      () => bitMatmulSync(A(), packBits(ints([1, 0], [1, 2]), { bits: 1, format: 'uint' })),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected BitPlanes with K = 3 (the K of a) for b but received K = 2',
    );
    // 8-bit bipolar x 8-bit bipolar: K <= floor((2^31 - 1) / 255^2) = 33025.
    const big = packBits(Tensor.from(new Int8Array(33026).fill(1), [1, 33026]), { bits: 8, format: 'bipolar' });
    expectError(
      () => bitMatmulSync(big, big),
      RangeError,
      'ERR_OUT_OF_RANGE',
      'Expected operands whose exact sums fit int32 (K * max|a| * max|b| <= 2^31 - 1; K <= 33025 at these formats) for b but received K = 33026, max|a| = 255, max|b| = 255',
    );
  });

  test('integer form options', () => {
    expectError(
      () => bitMatmulSync(A(), B(), { alpha: 2 }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected 1 for unscaled operands (exact int32 arithmetic) for options.alpha but received 2',
    );
    const c = Tensor.zeros([2, 3], { dtype: 'int32' });
    expectError(
      () => bitMatmulSync(A(), B(), { c, beta: 0.5 }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected 0 or 1 for unscaled operands (exact int32 arithmetic) for options.beta but received 0.5',
    );
    expectError(
      () => bitMatmulSync(A(), B(), { beta: 1 }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected 0 when no c is given (beta scales c) for options.beta but received 1',
    );
    expectError(
      () => bitMatmulSync(A(), B(), { bias: Tensor.zeros([3]) }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      /no bias for unscaled operands/,
    );
    expectError(
      () => bitMatmulSync(A(), B(), { out: Tensor.zeros([2, 3]) }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected an int32 CPU tensor of shape [2, 3] for options.out but received a float32 tensor of shape [2, 3]',
    );
    expectError(
      () => bitMatmulSync(A(), B(), { c: Tensor.zeros([3, 2], { dtype: 'int32' }) }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected an int32 CPU tensor of shape [2, 3] for options.c but received an int32 tensor of shape [3, 2]',
    );
    expectError(() => bitMatmulSync(A(), B(), { foo: 1 } as never), RangeError, 'ERR_INVALID_ARG_VALUE', /foo/);
  });

  test('float form options', () => {
    expectError(
      () => bitMatmulSync(Aq(), B(), { out: Tensor.zeros([2, 3], { dtype: 'int32' }) }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected a float32 CPU tensor of shape [2, 3] for options.out but received an int32 tensor of shape [2, 3]',
    );
    expectError(
      () => bitMatmulSync(Aq(), B(), { bias: Tensor.zeros([2]) }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected a float32 CPU tensor of shape [3] for options.bias but received a float32 tensor of shape [2]',
    );
    const A0 = Aq();
    expectError(
      () => bitMatmulSync(A0, B(), { out: A0.scales!.reshape([2, 1]) as never }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      /for options\.out but received/,
    );
    expectError(
      () => A().withScales(Tensor.zeros([3])),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected a float32 tensor of shape [2] on cpu for scales but received float32 [3] on cpu',
    );
  });

  test('the binding checks what guards memory, never crashes', () => {
    const t = (shape: number[], dtype = 6, n = shape.reduce((x, y) => x * y, 1)) => ({
      dtype,
      shape,
      data: dtype === 6 ? new BigInt64Array(n) : dtype === 5 ? new Int32Array(n) : new Float32Array(n),
    });
    const call = (p: object) =>
      native.ops.bitmm({ a: t([2, 1, 1]), b: t([3, 2, 1]), aFormat: 0, bFormat: 1, K: 3, out: t([2, 3], 5), ...p } as never, false);
    expect(() => call({})).not.toThrow();
    expect(() => call({ K: 65 })).toThrow('Expected a planes of shape [rows, bits 1..8, 2] (K = 65) but received [2, 1, 1]');
    expect(() => call({ a: t([2, 9, 1]) })).toThrow(/Expected a planes of shape \[rows, bits 1\.\.8, 1\]/);
    expect(() => call({ a: t([2, 1, 1], 5) })).toThrow('Expected a planes of dtype int64 but received int32');
    expect(() => call({ out: t([3, 2], 5) })).toThrow('Expected out as int32 [2, 3] but received int32 [3, 2]');
    expect(() => call({ aFormat: 3 })).toThrow(/aFormat/);
    expect(() => call({ aScales: t([3], 0) })).toThrow('Expected a scales as float32 [2] but received [3]');
    expect(() => call({ c: t([2, 3], 0), beta: 1 })).toThrow(/Expected c as int32 of out's shape/);
    expect(() => call({ alpha: 2 })).toThrow(/alpha 1 for the integer form/);
    expect(() => call({ a: t([1, 8, 600]), b: t([1, 8, 600]), aFormat: 2, bFormat: 2, K: 38400, out: t([1, 1], 5) })).toThrow(
      /Expected K \* max\|a\| \* max\|b\| <= 2\^31 - 1/,
    );
    expect(() => call({ a: { dtype: 6, shape: [2, 1, 1], data: new BigInt64Array(1) } })).toThrow(/Expected 16 bytes for a/);
    expect(() => native.ops.bitmm(5 as never, false)).toThrow('Expected an object of bitmm params but received number 5');
  });
});
