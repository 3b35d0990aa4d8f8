// Bad input to monarchMatmul and projectMonarch: each rejects it with the right class, code and a
// message that names the argument, what was expected and what was received (docs/design.md, Errors);
// the binding called directly with garbage throws, never crashes.
import { Tensor, monarchMatmul, monarchMatmulSync, projectMonarch, projectMonarchSync } from '../lib';
import { native } from '../lib/binding';
import { expectError, expectReject } from './helpers/errors';

const f = (shape: number[], dtype: 'float32' | 'float16' | 'int8' | 'int32' = 'float32') => Tensor.zeros(shape, { dtype });
// n = k * p = 3 * 4 = 12; k * q = 15 = l * r = 5 * 3; out [.., l * s = 30]
const X = () => f([2, 12]),
  W1 = () => f([3, 5, 4]),
  W2 = () => f([5, 6, 3]);

describe('monarchMatmul', () => {
  test('inputs', async () => {
    await expectReject(
      () => monarchMatmul(new Float32Array(4) as never, W1(), W2()),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      'Expected a Tensor (wrap it with Tensor.from(data, shape)) for x but received an instance of Float32Array (length 4)',
    );
    expectError(
      () => monarchMatmulSync(f([2, 12], 'int8'), W1(), W2()),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      'Expected a float32, float16 or bfloat16 tensor for x but received an int8 tensor',
    );
    expectError(
      () => monarchMatmulSync(X(), f([3, 5, 4], 'int32'), W2()),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      'Expected a float32, float16 or bfloat16 tensor for w1 but received an int32 tensor',
    );
    expectError(
      () => monarchMatmulSync(X(), f([15, 4]), W2()),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected a rank-3 tensor [k, q, p] for w1 but received shape [15, 4]',
    );
    expectError(
      () => monarchMatmulSync(X(), W1(), f([5, 6])),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected a rank-3 tensor [l, s, r] for w2 but received shape [5, 6]',
    );
  });

  test('shapes that do not chain', async () => {
    await expectReject(
      () => monarchMatmul(f([2, 13]), W1(), W2()),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected [k, q, p] with k * p = 13 (the last dim of x) for w1 but received shape [3, 5, 4] (k * p = 12)',
    );
    expectError(
      () => monarchMatmulSync(X(), W1(), f([4, 6, 3])),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected [l, s, r] with l * r = 15 (k * q of w1) for w2 but received shape [4, 6, 3] (l * r = 12)',
    );
  });

  test('out', () => {
    expectError(
      () => monarchMatmulSync(X(), W1(), W2(), { out: f([2, 31]) }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected shape [2, 30] for options.out but received shape [2, 31]',
    );
    expectError(
      () => monarchMatmulSync(X(), W1(), W2(), { out: f([2, 30], 'int32') }),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      'Expected a float32, float16 or bfloat16 tensor for options.out but received an int32 tensor',
    );
    const x = f([2, 30]);
    const x12 = Tensor.from(new Float32Array((x.toArraySync() as Float32Array).buffer, 0, 24), [2, 12]);
    expectError(
      () => monarchMatmulSync(x12, W1(), W2(), { out: x as Tensor }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected memory that does not overlap x for options.out but received an overlapping tensor',
    );
    expectError(
      () => monarchMatmulSync(X(), W1(), W2(), { out: f([2, 30]), bias: f([30]) } as never),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected only the keys out for options but received key "bias"',
    );
  });

  test('the binding re-checks shapes and dtypes', () => {
    const t = (shape: number[], dtype = 0) => ({
      dtype,
      shape,
      data: dtype === 0 ? new Float32Array(shape.reduce((x, y) => x * y, 1)) : new Int32Array(shape.reduce((x, y) => x * y, 1)),
    });
    const call = (p: object) => native.ops.monarch({ x: t([2, 12]), w1: t([3, 5, 4]), w2: t([5, 6, 3]), out: t([2, 30]), ...p }, false);
    expect(() => call({})).not.toThrow();
    expect(() => call({ w1: t([3, 5, 5]) })).toThrow('Expected w1 [k, q, p] with k * p = 12 (the last dim of x) but received [3, 5, 5]');
    expect(() => call({ w2: t([5, 6, 2]) })).toThrow('Expected w2 [l, s, r] with l * r = 15 (k * q of w1) but received [5, 6, 2]');
    expect(() => call({ out: t([2, 29]) })).toThrow('Expected out of shape [2, 30] but received [2, 29]');
    expect(() => call({ out: t([3, 30]) })).toThrow('Expected out of shape [2, 30] but received [3, 30]');
    expect(() => call({ w2: t([5, 18]) })).toThrow('Expected w2 of rank 3 [l, s, r] but received [5, 18]');
    expect(() => call({ x: t([2, 12], 5) })).toThrow(/Expected x of dtype float32, float16 or bfloat16 but received int32/);
    expect(() => call({ x: { dtype: 0, shape: [2, 12], data: new Float32Array(23) } })).toThrow(
      'Expected 96 bytes for x.data (shape x float32) but received 92',
    );
    expect(() => native.ops.monarch(5 as never, false)).toThrow('Expected an object of monarch params but received number 5');
    expect(() => call({ w1: undefined })).toThrow('Expected a tensor descriptor for w1 but received undefined');
  });
});

describe('projectMonarch', () => {
  test('bad w and blocks', async () => {
    await expectReject(
      () => projectMonarch(f([4, 6, 2]), { blocks: 2 }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected a rank-2 tensor [nOut, nIn] for w but received shape [4, 6, 2]',
    );
    expectError(
      () => projectMonarchSync(f([4, 6]), { blocks: 4 }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected a whole number >= 1 dividing both dims of w [4, 6] for options.blocks but received 4',
    );
    expectError(
      () => projectMonarchSync(f([4, 6]), { blocks: '2' as never }),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      'Expected a number for options.blocks but received type string ("2")',
    );
    expectError(() => projectMonarchSync(f([4, 6]), undefined as never), TypeError, 'ERR_INVALID_ARG_TYPE', /options/);
    expectError(
      () => projectMonarchSync(f([4, 6], 'int8'), { blocks: 2 }),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      'Expected a float32, float16 or bfloat16 tensor for w but received an int8 tensor',
    );
  });

  test('the binding re-checks the factors it writes', () => {
    const t = (shape: number[]) => ({ dtype: 0, shape, data: new Float32Array(shape.reduce((x, y) => x * y, 1)) });
    const call = (p: object) =>
      native.ops.monarchProject({ w: t([4, 6]), blocks: 2, w1: t([2, 2, 3]), w2: t([2, 2, 2]), err: t([1]), ...p }, false);
    expect(() => call({})).not.toThrow();
    expect(() => call({ w1: t([2, 2, 2]) })).toThrow('Expected w1 of shape [2, 2, 3] but received [2, 2, 2]');
    expect(() => call({ w2: t([2, 3, 2]) })).toThrow('Expected w2 of shape [2, 2, 2] but received [2, 3, 2]');
    expect(() => call({ blocks: 4 })).toThrow('Expected blocks >= 1 dividing both dims of w [4, 6] but received 4');
    expect(() => call({ blocks: 0 })).toThrow(/dividing both dims/);
    expect(() => call({ err: t([2]) })).toThrow(/Expected err a float32 tensor of one element/);
  });
});
