// Bad input to linearAttention: each a clear error naming the argument, what was expected and what was
// received (docs/design.md, Errors); the binding called directly with garbage throws, never crashes.
import { Tensor, linearAttention, linearAttentionSync } from '../lib';
import { native } from '../lib/binding';
import { DType } from '../lib/dtype';
import { expectError, expectReject } from './helpers/errors';

const t = (shape: number[], dtype: DType = 'float32') => Tensor.zeros(shape, { dtype });
const q = () => t([2, 3, 5, 8]);
const v = () => t([2, 3, 5, 4]);

describe('linearAttention bad input', () => {
  test('not tensors, wrong rank, dtypes', async () => {
    await expectReject(
      () => linearAttention(new Float32Array(4) as never, q(), v()),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      /^Expected a Tensor .* for q but received an instance of Float32Array/,
    );
    expectError(
      () => linearAttentionSync(t([3, 5, 8]), q(), v()),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected a rank-4 tensor [B, H, S, D] for q but received shape [3, 5, 8]',
    );
    expectError(
      () => linearAttentionSync(t([2, 3, 5, 8], 'int8'), t([2, 3, 5, 8], 'int8'), t([2, 3, 5, 4], 'int8')),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      'Expected a float32, float16 or bfloat16 tensor for q but received an int8 tensor',
    );
    expectError(
      () => linearAttentionSync(q(), t([2, 3, 5, 8], 'float16'), v()),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      'Expected a float32 tensor (the dtype of q) for k but received a float16 tensor',
    );
  });

  test('shapes', () => {
    expectError(
      () => linearAttentionSync(q(), t([2, 3, 6, 8]), v()),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected shape [2, 3, 5, 8] (that of q) for k but received shape [2, 3, 6, 8]',
    );
    expectError(
      () => linearAttentionSync(q(), q(), t([2, 3, 4, 4])),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected shape [2, 3, 5, Dv] with Dv >= 1 (the batch, heads and length of q) for v but received shape [2, 3, 4, 4]',
    );
    expectError(
      () => linearAttentionSync(q(), q(), v(), { out: t([2, 3, 5, 8]) }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected shape [2, 3, 5, 4] (that of q with head dim Dv) for options.out but received shape [2, 3, 5, 8]',
    );
    expectError(
      () => linearAttentionSync(q(), q(), v(), { out: t([2, 3, 5, 4], 'int32') }),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      'Expected a float32, float16 or bfloat16 tensor for options.out but received an int32 tensor',
    );
    const k = q();
    expectError(
      () => linearAttentionSync(q(), k, v(), { out: k.reshape([2, 3, 10, 4]) as never }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      /^Expected shape \[2, 3, 5, 4\]/,
    );
  });

  test('out overlapping an input', () => {
    const buf = new Float32Array(2 * 3 * 5 * 8);
    const k = Tensor.from(buf, [2, 3, 5, 8]);
    const out = Tensor.from(buf.subarray(0, 120), [2, 3, 5, 4]);
    expectError(
      () => linearAttentionSync(q(), k, v(), { out }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected memory that does not overlap k for options.out but received an overlapping tensor',
    );
  });

  test('decay', () => {
    expectError(
      () => linearAttentionSync(q(), q(), v(), { decay: 0 }),
      RangeError,
      'ERR_OUT_OF_RANGE',
      'Expected a decay in (0, 1] (a float32 above 0) for options.decay but received 0',
    );
    expectError(
      () => linearAttentionSync(q(), q(), v(), { decay: 1.5 }),
      RangeError,
      'ERR_OUT_OF_RANGE',
      /for options.decay but received 1.5$/,
    );
    expectError(
      () => linearAttentionSync(q(), q(), v(), { decay: 1e-50 }),
      RangeError,
      'ERR_OUT_OF_RANGE',
      /options.decay but received 1e-50$/,
    );
    expectError(
      () => linearAttentionSync(q(), q(), v(), { decay: Float32Array.of(0.5, NaN, 1) }),
      RangeError,
      'ERR_OUT_OF_RANGE',
      'Expected a decay in (0, 1] (a float32 above 0) for options.decay[1] but received NaN',
    );
    expectError(
      () => linearAttentionSync(q(), q(), v(), { decay: Float32Array.of(0.5, 1) }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected 3 values (one per head) for options.decay but received 2 values',
    );
    expectError(
      () => linearAttentionSync(q(), q(), v(), { decay: [0.5, 0.5, 0.5] as never }),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      /^Expected a number or a Float32Array of one value per head for options.decay but received/,
    );
    expectError(
      () => linearAttentionSync(q(), q(), v(), { decay: 0.9, causal: false }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      /^Expected 1 with causal: false .* for options.decay but received 0.9$/,
    );
    expect(() => linearAttentionSync(q(), q(), v(), { decay: 1, causal: false })).not.toThrow();
  });

  test('state', () => {
    expectError(
      () => linearAttentionSync(q(), q(), v(), { state: t([2, 3, 4, 8]) }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected a float32 tensor of shape [2, 3, 8, 4] ([B, H, D, Dv]) for options.state but received a float32 tensor of shape [2, 3, 4, 8]',
    );
    expectError(
      () => linearAttentionSync(q(), q(), v(), { state: t([2, 3, 8, 4], 'float16') }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      /^Expected a float32 tensor of shape \[2, 3, 8, 4\] .* but received a float16 tensor/,
    );
    expectError(
      () => linearAttentionSync(q(), q(), v(), { state: new Float32Array(192) as never }),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      /for options.state but received an instance of Float32Array/,
    );
  });

  test('options', () => {
    expectError(
      () => linearAttentionSync(q(), q(), v(), { window: 3 } as never),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      /^Expected only the keys decay, scale, causal, state, returnState, layout, out, device for options but received key "window"/,
    );
    expectError(
      () => linearAttentionSync(q(), q(), v(), { causal: 1 as never }),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      'Expected a boolean for options.causal but received 1',
    );
    expectError(
      () => linearAttentionSync(q(), q(), v(), { returnState: 'yes' as never }),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      /^Expected a boolean for options.returnState/,
    );
    expectError(
      () => linearAttentionSync(q(), q(), v(), { scale: Infinity }),
      RangeError,
      'ERR_OUT_OF_RANGE',
      /options.scale but received Infinity/,
    );
    expectError(
      () => linearAttentionSync(q(), q(), v(), { layout: 'sbhd' as never }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      /^Expected 'bhsd' or 'bshd' for options.layout/,
    );
    expectError(() => linearAttentionSync(q(), q(), v(), { device: 'tpu' as never }), RangeError, 'ERR_INVALID_ARG_VALUE', /device/);
  });

  test('the binding called directly re-checks memory safety and the decay', () => {
    const n = (shape: number[], dtype = 0) => {
      const len = shape.reduce((x, y) => x * y, 1);
      return { dtype, shape, data: dtype === 0 ? new Float32Array(len) : new Int8Array(len) };
    };
    const call = (o: {
      q?: object;
      k?: object;
      v?: object;
      out?: object;
      decay?: object;
      state?: object;
      stateOut?: object;
      causal?: boolean;
      scale?: number;
    }) =>
      native.ops.linearAttention(
        {
          q: (o.q ?? n([2, 3, 5, 8])) as never,
          k: (o.k ?? n([2, 3, 5, 8])) as never,
          v: (o.v ?? n([2, 3, 5, 4])) as never,
          out: (o.out ?? n([2, 3, 5, 4])) as never,
          decay: o.decay as never,
          state: o.state as never,
          stateOut: o.stateOut as never,
          causal: o.causal,
          scale: o.scale,
        },
        false,
      );
    expect(() => call({})).not.toThrow();
    expect(() => call({ k: n([2, 3, 6, 8]) })).toThrow(/Expected k of the shape of q \[2, 3, 5, 8\] but received \[2, 3, 6, 8\]/);
    expect(() => call({ v: n([2, 3, 4, 4]) })).toThrow(/Expected v with the batch, heads and length of q/);
    expect(() => call({ out: n([2, 3, 5, 8]) })).toThrow(/Expected out of shape \[2, 3, 5, 4\] but received \[2, 3, 5, 8\]/);
    expect(() => call({ q: n([2, 3, 5, 8], 3), k: n([2, 3, 5, 8], 3), v: n([2, 3, 5, 4], 3) })).toThrow(/Expected q of dtype float32/);
    expect(() => call({ decay: n([2]) })).toThrow(/Expected decay as float32 \[3\] but received float32 \[2\]/);
    expect(() => call({ decay: { dtype: 0, shape: [3], data: Float32Array.of(1, 0, 1) } })).toThrow(
      /Expected decay\[1\] in \(0, 1\] but received 0/,
    );
    expect(() => call({ decay: { dtype: 0, shape: [3], data: Float32Array.of(1, 0.5, 1) }, causal: false })).toThrow(
      /Expected decay 1 with causal: false/,
    );
    expect(() => call({ state: n([2, 3, 4, 8]) })).toThrow(
      /Expected state of shape \[2, 3, 8, 4\] \(\[B, H, D, Dv\]\) but received \[2, 3, 4, 8\]/,
    );
    expect(() => call({ stateOut: n([2, 3, 8, 4], 3) })).toThrow(/Expected the state output of dtype float32 but received int8/);
    expect(() => call({ q: n([2, 3, 5, 0]), k: n([2, 3, 5, 0]) })).toThrow(/Expected head dims D >= 1 and Dv >= 1/);
    expect(() => call({ scale: NaN })).toThrow(/Expected a finite scale/);
    expect(() => call({ q: { dtype: 0, shape: [2, 3, 5, 8], data: new Float32Array(3) } })).toThrow();
  });

  test('the path hooks', () => {
    expect(native.debug.setPath('linearAttention', 'cpu', 'auto')).toBe('auto');
    expect(() => native.debug.setPath('linearAttention', 'cpu', 'fast')).toThrow(
      /Expected 'auto' \(splits 0\) for the linearAttention path on cpu/,
    );
    expect(native.debug.setPath('linearAttention', 'cuda', 'simt')).toBe('simt');
    expect(native.debug.setPath('linearAttention', 'cuda', 'sm80')).toBe('sm80');
    expect(native.debug.setPath('linearAttention', 'cuda', 'auto')).toBe('auto');
    expect(() => native.debug.setPath('linearAttention', 'cuda', 'tc')).toThrow(
      /Expected 'auto', 'simt' or 'sm80' \(splits 0\) for the linearAttention path on cuda but received "tc"/,
    );
    expect(() => native.debug.setPath('linearAttention', 'cuda', 'simt', 2)).toThrow(/'auto', 'simt' or 'sm80' \(splits 0\)/);
  });
});
