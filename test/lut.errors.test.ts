// Bad input to quantizeWeights, lutMatmul and LowBitWeights.fromBuffer: each is rejected with a
// message naming the argument, what was expected and what was received; the binding called directly
// with inconsistent params throws, never crashes or reads out of bounds.
import { LowBitWeights, Tensor, lutMatmul, lutMatmulSync, quantizeWeights, quantizeWeightsSync } from '../lib';
import { native } from '../lib/binding';
import { nativeOf } from '../lib/tensor';

function thrown(fn: () => unknown): Error & { code?: string } {
  try {
    fn();
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error('expected a throw');
}

function expectErr(fn: () => unknown, cls: ErrorConstructor, re: RegExp): void {
  const e = thrown(fn);
  expect(e).toBeInstanceOf(cls);
  expect(e.message).toMatch(re);
}

const W = () =>
  Tensor.from(
    Float32Array.from({ length: 6 * 10 }, (_, i) => Math.sin(i)),
    [6, 10],
  );
const Q = () => quantizeWeightsSync(W(), { bits: 2, groupSize: 4 });
const X = (M = 2, K = 10) => Tensor.zeros([M, K]);

describe('quantizeWeights', () => {
  test('options and weights', async () => {
    expectErr(
      () => quantizeWeightsSync(W(), undefined as never),
      TypeError,
      /Expected an object \{ bits, groupSize\? \} for options but received undefined/,
    );
    expectErr(() => quantizeWeightsSync(W(), { bits: 5 as never }), RangeError, /Expected 1, 2, 3 or 4 for options.bits but received 5/);
    expectErr(
      () => quantizeWeightsSync(W(), { bits: 2, groupSize: 0 }),
      RangeError,
      /positive integer or 'channel' for options.groupSize but received 0/,
    );
    expectErr(() => quantizeWeightsSync(W(), { bits: 2, groupSize: 2.5 }), RangeError, /options.groupSize/);
    expectErr(() => quantizeWeightsSync(W(), { bits: 2, grup: 4 } as never), RangeError, /only the keys bits, groupSize.*"grup"/);
    expectErr(
      () => quantizeWeightsSync(Tensor.zeros([6, 10], { dtype: 'int8' }), { bits: 2 }),
      TypeError,
      /Expected a float32 tensor for w but received an int8 tensor/,
    );
    expectErr(
      () => quantizeWeightsSync(Tensor.zeros([60]), { bits: 2 }),
      RangeError,
      /\[N, K\] \(N = out features\) for w but received shape \[60\]/,
    );
    const bad = new Float32Array(60);
    bad[13] = NaN;
    expectErr(
      () => quantizeWeightsSync(Tensor.from(bad, [6, 10]), { bits: 2 }),
      RangeError,
      /finite weights .* for w but received NaN at row 1, column 3/,
    );
    await expect(quantizeWeights(Tensor.from(bad, [6, 10]), { bits: 3 })).rejects.toThrow(/finite weights/);
  });
});

describe('lutMatmul', () => {
  test('x, w and the shared options', async () => {
    const q = Q();
    expectErr(() => lutMatmulSync(X(2, 9), q), RangeError, /\[M, 10\] \(K of the weights\) for x but received shape \[2, 9\]/);
    expectErr(
      () => lutMatmulSync(Tensor.zeros([2, 10], { dtype: 'int8' }), q),
      TypeError,
      /float32 or a bfloat16 tensor for x but received an int8 tensor/,
    );
    expectErr(
      () => lutMatmulSync(Tensor.zeros([10]), q),
      RangeError,
      /rank-2 \[M, K\] or rank-3 \[B, M, K\] tensor for x but received shape \[10\]/,
    );
    expectErr(() => lutMatmulSync(X(), {} as never), TypeError, /LowBitWeights .* for w/);
    expectErr(
      () => lutMatmulSync(X(), q, { bias: Tensor.zeros([5]) }),
      RangeError,
      /float32 CPU tensor of shape \[6\] for options.bias but received a float32 tensor of shape \[5\]/,
    );
    expectErr(() => lutMatmulSync(X(), q, { c: Tensor.zeros([2, 5]) }), RangeError, /shape \[2, 6\] for options.c/);
    expectErr(() => lutMatmulSync(X(), q, { beta: 2 }), RangeError, /0 when no c is given .* for options.beta but received 2/);
    expectErr(() => lutMatmulSync(X(), q, { out: Tensor.zeros([2, 6], { dtype: 'int32' }) }), RangeError, /options.out/);
    expectErr(() => lutMatmulSync(X(), q, { gamma: 1 } as never), RangeError, /only the keys bias, c, beta, alpha, out/);
    await expect(lutMatmul(X(2, 9), q)).rejects.toThrow(/K of the weights/);
    expectErr(() => lutMatmulSync(X(), q, { alpha: Infinity }), RangeError, /options.alpha/);
  });

  test('the binding with inconsistent params throws a clear error', () => {
    const q = Q();
    const out = Tensor.zeros([2, 6]);
    const base = () => ({
      x: nativeOf(X(), 'x'),
      planes: { dtype: 3, shape: [q.planes.length], data: new Int8Array(q.planes.buffer) },
      scales: { dtype: 0, shape: [q.scales.length], data: q.scales },
      N: 6,
      bits: 2,
      groupSize: 4,
      out: nativeOf(out, 'out'),
    });
    expect(() => native.ops.lutMatmul({ ...base(), N: 17 }, false)).toThrow(/scales as float32 \[\d+\]/);
    expect(() => native.ops.lutMatmul({ ...base(), bits: 3 }, false)).toThrow(/planes as int8 \[\d+\] .*bits = 3/);
    expect(() => native.ops.lutMatmul({ ...base(), bits: 9 }, false)).toThrow(/bits/);
    expect(() => native.ops.lutMatmul({ ...base(), groupSize: 0 }, false)).toThrow(/groupSize/);
    expect(() => native.ops.lutMatmul({ ...base(), planes: { dtype: 3, shape: [8], data: new Int8Array(8) } }, false)).toThrow(
      /planes as int8/,
    );
    expect(() => native.ops.lutMatmul({ ...base(), out: nativeOf(Tensor.zeros([2, 5]), 'out') }, false)).toThrow(/out as float32 \[2, 6\]/);
    expect(() =>
      native.ops.lutQuantize({ w: nativeOf(W(), 'w'), planes: base().planes, scales: base().scales, bits: 4, groupSize: 4 }, false),
    ).toThrow(/planes as int8/);
  });
});

describe('LowBitWeights', () => {
  test('fromBuffer: foreign, wrong version, truncated, trailing bytes, bad header', () => {
    const buf = Q().toBuffer();
    expectErr(() => LowBitWeights.fromBuffer(new Uint8Array(10)), RangeError, /at least 24 bytes .* but received 10 bytes/);
    const foreign = Uint8Array.from(buf);
    foreign[0] = 0x41;
    expectErr(() => LowBitWeights.fromBuffer(foreign), RangeError, /starts with the bytes 'TKLB'.* but received bytes 41 4b 4c 42/);
    const v2 = Uint8Array.from(buf);
    v2[4] = 2;
    expectErr(() => LowBitWeights.fromBuffer(v2), RangeError, /format version 1 .* but received version 2/);
    expectErr(() => LowBitWeights.fromBuffer(buf.subarray(0, buf.length - 4)), RangeError, /truncated/);
    expectErr(() => LowBitWeights.fromBuffer(Uint8Array.from([...buf, 0])), RangeError, /trailing bytes/);
    const b5 = Uint8Array.from(buf);
    b5[16] = 5;
    expectErr(() => LowBitWeights.fromBuffer(b5), RangeError, /consistent LowBitWeights header .* bits=5/);
    const neg = Uint8Array.from(buf);
    new DataView(neg.buffer).setFloat32(neg.length - 4, -1, true);
    expectErr(() => LowBitWeights.fromBuffer(neg), RangeError, /finite non-negative scale/);
    expectErr(() => LowBitWeights.fromBuffer('x' as never), TypeError, /Uint8Array or ArrayBuffer for buffer/);
    expectErr(() => new LowBitWeights(Symbol('x'), {} as never), TypeError, /quantizeWeights\(\) or LowBitWeights.fromBuffer\(\)/);
  });
});
