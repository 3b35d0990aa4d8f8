// Bad input to cast: the right class, code and a message naming the argument (docs/design.md, Errors).
import { Tensor, cast, castSync } from '../lib';
import { expectError, expectReject } from './helpers/errors';

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
