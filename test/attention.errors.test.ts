// Bad input to attention: each a clear error naming the argument, what was expected and what was
// received (docs/design.md, Errors); the binding called directly with garbage throws, never crashes.
import { Tensor, TensorkernError, attention, attentionSync } from '../lib';
import { native } from '../lib/binding';
import { DType } from '../lib/dtype';
import { gpuSkipReason } from './helpers/backends';
import { expectError, expectReject } from './helpers/errors';

const t = (shape: number[], dtype: DType = 'float32') => Tensor.zeros(shape, { dtype });
const q = () => t([2, 4, 5, 8]);
const kv = () => t([2, 2, 7, 8]);

describe('attention bad input', () => {
  test('not tensors, wrong rank', async () => {
    await expectReject(
      () => attention(new Float32Array(4) as never, kv(), kv()),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      'Expected a Tensor (wrap it with Tensor.from(data, shape)) for q but received an instance of Float32Array (length 4)',
    );
    expectError(
      () => attentionSync(t([4, 5, 8]), kv(), kv()),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected a rank-4 tensor [B, H, S, D] for q but received shape [4, 5, 8]',
    );
    expectError(
      () => attentionSync(q(), kv(), kv(), { causal: 1 as never }),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      'Expected a boolean for options.causal but received 1',
    );
    expectError(
      () => attentionSync(q(), kv(), kv(), { layout: 'sbhd' as never }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      `Expected 'bhsd' or 'bshd' for options.layout but received type string ("sbhd")`,
    );
    expectError(
      () => attentionSync(q(), kv(), kv(), { window: 3 } as never),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      /^Expected only the keys causal, causalOffset, scale, .* for options but received key "window"$/,
    );
  });

  test('Hq not a multiple of Hkv', () => {
    expectError(
      () => attentionSync(t([1, 4, 5, 8]), t([1, 3, 7, 8]), t([1, 3, 7, 8])),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected a number of heads that divides the 4 query heads (GQA / MQA) for k but received 3 heads (shape [1, 3, 7, 8])',
    );
    expectError(
      () => attentionSync(t([1, 5, 4, 8]), t([1, 7, 3, 8]), t([1, 7, 3, 8]), { layout: 'bshd' }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      /received 3 heads \(shape \[1, 7, 3, 8\]\)$/,
    );
  });

  test('D mismatch between q, k and v; k / v shapes; batch', () => {
    expectError(
      () => attentionSync(q(), t([2, 2, 7, 16]), t([2, 2, 7, 16])),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected head dim 8 (that of q) for k but received shape [2, 2, 7, 16]',
    );
    expectError(
      () => attentionSync(q(), kv(), t([2, 2, 6, 16])),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected shape [2, 2, 7, Dv] with Dv >= 1 (the batch, heads and length of k) for v but received shape [2, 2, 6, 16]',
    );
    expectError(
      () => attentionSync(q(), kv(), t([2, 2, 7, 0])),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected shape [2, 2, 7, Dv] with Dv >= 1 (the batch, heads and length of k) for v but received shape [2, 2, 7, 0]',
    );
    expectError(
      () => attentionSync(t([2, 5, 4, 8]), t([2, 7, 2, 8]), t([2, 7, 1, 8]), { layout: 'bshd' }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected shape [2, 7, 2, Dv] with Dv >= 1 (the batch, heads and length of k) for v but received shape [2, 7, 1, 8]',
    );
    // Dv != D is allowed (ONNX v_head_size): out is [.., Dv]
    expect(attentionSync(q(), kv(), t([2, 2, 7, 16])).shape).toEqual([2, 4, 5, 16]);
    expectError(
      () => attentionSync(q(), kv(), t([2, 2, 7, 16]), { out: t([2, 4, 5, 8]) }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected shape [2, 4, 5, 16] (that of q with head dim Dv) for options.out but received shape [2, 4, 5, 8]',
    );
    expectError(
      () => attentionSync(q(), t([3, 2, 7, 8]), t([3, 2, 7, 8])),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected a batch of 2 (that of q) for k but received shape [3, 2, 7, 8]',
    );
    expectError(
      () => attentionSync(t([1, 2, 3, 0]), t([1, 2, 3, 0]), t([1, 2, 3, 0])),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected a head dim D >= 1 for q but received shape [1, 2, 3, 0]',
    );
  });

  test('dtype mixes and unsupported dtypes', () => {
    expectError(
      () => attentionSync(q(), t([2, 2, 7, 8], 'float16'), kv()),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      'Expected a float32 tensor (the dtype of q) for k but received a float16 tensor',
    );
    expectError(
      () => attentionSync(t([2, 4, 5, 8], 'bfloat16'), t([2, 2, 7, 8], 'bfloat16'), kv()),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      'Expected a bfloat16 tensor (the dtype of q) for v but received a float32 tensor',
    );
    expectError(
      () => attentionSync(t([2, 4, 5, 8], 'int8'), t([2, 2, 7, 8], 'int8'), t([2, 2, 7, 8], 'int8')),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      'Expected a float32, float16 or bfloat16 tensor for q but received an int8 tensor',
    );
    expectError(
      () => attentionSync(q(), kv(), kv(), { mask: t([5, 7], 'int32') }),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      'Expected a bool / int8 (boolean: nonzero = attend) or float32 / float16 / bfloat16 (additive) tensor for options.mask but received an int32 tensor',
    );
    expectError(
      () => attentionSync(q(), kv(), kv(), { out: t([2, 4, 5, 8], 'int32') }),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      'Expected a float32, float16 or bfloat16 tensor for options.out but received an int32 tensor',
    );
  });

  test('a mask that does not broadcast', () => {
    const msg = (s: string) =>
      `Expected a shape broadcastable to [B, Hq, Sq, Sk] = [2, 4, 5, 7] (rank 1 to 4, each dim 1 or full; the last may be shorter than Sk) for options.mask but received shape ${s}`;
    expectError(() => attentionSync(q(), kv(), kv(), { mask: t([5, 8], 'int8') }), RangeError, 'ERR_INVALID_ARG_VALUE', msg('[5, 8]'));
    expectError(() => attentionSync(q(), kv(), kv(), { mask: t([2, 2, 5, 7]) }), RangeError, 'ERR_INVALID_ARG_VALUE', msg('[2, 2, 5, 7]'));
    expectError(() => attentionSync(q(), kv(), kv(), { mask: t([4, 7]) }), RangeError, 'ERR_INVALID_ARG_VALUE', msg('[4, 7]'));
    expectError(() => attentionSync(q(), kv(), kv(), { mask: t([8]) }), RangeError, 'ERR_INVALID_ARG_VALUE', msg('[8]'));
    expectError(() => attentionSync(q(), kv(), kv(), { mask: t([5, 0]) }), RangeError, 'ERR_INVALID_ARG_VALUE', msg('[5, 0]'));
    expectError(
      () => attentionSync(q(), kv(), kv(), { mask: t([1, 2, 4, 5, 7]) }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      msg('[1, 2, 4, 5, 7]'),
    );
    // rank 1 ([Sk]) and a key dim shorter than Sk are accepted
    expect(attentionSync(q(), kv(), kv(), { mask: t([7], 'bool') }).shape).toEqual([2, 4, 5, 8]);
    expect(attentionSync(q(), kv(), kv(), { mask: t([5, 3], 'bool') }).shape).toEqual([2, 4, 5, 8]);
  });

  test('bool tensors hold only 0 and 1', () => {
    expectError(
      () => Tensor.from(Uint8Array.of(1, 0, 2, 1), [4], { dtype: 'bool' }),
      RangeError,
      'ERR_OUT_OF_RANGE',
      'Expected a byte of 0 or 1 (bool: 0 = false, 1 = true) for data[2] but received 2',
    );
    expectError(
      () => Tensor.from([true, false, 3], [3], { dtype: 'bool' }),
      RangeError,
      'ERR_OUT_OF_RANGE',
      'Expected true, false, 1 or 0 (bool) for data[2] but received 3',
    );
    expectError(
      () => Tensor.from([true, 'x'] as never, [2], { dtype: 'bool' }),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      `Expected true, false, 1 or 0 (bool) for data[1] but received type string ("x")`,
    );
    expectError(
      () => Tensor.from(new Uint8Array(4), [4]),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      `Expected 'bool' (a byte per element, 0 or 1) or 'int4' (two per byte) for a Uint8Array for options.dtype but received undefined`,
    );
    expectError(
      () => Tensor.from(new Uint8Array(4), [4], { dtype: 'int8' }),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      /^Expected an Int8Array for dtype int8 for data but received an instance of Uint8Array/,
    );
    expect(Array.from(Tensor.from([true, false, 1, 0], [4], { dtype: 'bool' }).toArraySync() as Uint8Array)).toEqual([1, 0, 1, 0]);
  });

  test('qkOutput', () => {
    const ok = () => t([2, 4, 5, 7]);
    expect(attentionSync(q(), kv(), kv(), { qkOutput: { out: ok(), stage: 'softmax' } }).shape).toEqual([2, 4, 5, 8]);
    expectError(
      () => attentionSync(q(), kv(), kv(), { qkOutput: { out: t([2, 4, 5, 8]) } }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected a float32 tensor of shape [2, 4, 5, 7] ([B, Hq, Sq, Sk]) for options.qkOutput.out but received a float32 tensor of shape [2, 4, 5, 8]',
    );
    expectError(
      () => attentionSync(q(), kv(), kv(), { qkOutput: { out: t([2, 4, 5, 7], 'float16') } }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected a float32 tensor of shape [2, 4, 5, 7] ([B, Hq, Sq, Sk]) for options.qkOutput.out but received a float16 tensor of shape [2, 4, 5, 7]',
    );
    expectError(
      () => attentionSync(q(), kv(), kv(), { qkOutput: { out: ok(), stage: 'scores' as never } }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      `Expected one of 'qk', 'softcap', 'mask', 'softmax' for options.qkOutput.stage but received type string ("scores")`,
    );
    expectError(
      () => attentionSync(q(), kv(), kv(), { qkOutput: { out: ok(), stage: 2 as never } }),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      `Expected one of 'qk', 'softcap', 'mask', 'softmax' for options.qkOutput.stage but received 2`,
    );
    expectError(
      () => attentionSync(q(), kv(), kv(), { qkOutput: { out: ok(), mode: 1 } as never }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      /^Expected only the keys out, stage for options.qkOutput/,
    );
    expectError(
      () => attentionSync(q(), kv(), kv(), { qkOutput: {} as never }),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      /for options.qkOutput.out but received undefined$/,
    );
    const buf = new Float32Array(320);
    expectError(
      () =>
        attentionSync(Tensor.from(buf, [2, 4, 5, 8]), kv(), kv(), { qkOutput: { out: Tensor.from(buf.subarray(40, 320), [2, 4, 5, 7]) } }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected memory that does not overlap q for options.qkOutput.out but received an overlapping tensor',
    );
  });

  test('causalOffset', () => {
    expectError(
      () => attentionSync(q(), kv(), kv(), { causalOffset: 0 }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected to be given with causal: true for options.causalOffset but received 0',
    );
    expectError(
      () => attentionSync(q(), kv(), kv(), { causal: true, causalOffset: 8 }),
      RangeError,
      'ERR_OUT_OF_RANGE',
      'Expected an integer in [-5, 7] (-Sq to Sk) for options.causalOffset but received 8',
    );
    expectError(
      () => attentionSync(q(), kv(), kv(), { causal: true, causalOffset: -6 }),
      RangeError,
      'ERR_OUT_OF_RANGE',
      'Expected an integer in [-5, 7] (-Sq to Sk) for options.causalOffset but received -6',
    );
    expectError(
      () => attentionSync(q(), kv(), kv(), { causal: true, causalOffset: 1.5 }),
      RangeError,
      'ERR_OUT_OF_RANGE',
      'Expected an integer in [-5, 7] (-Sq to Sk) for options.causalOffset but received 1.5',
    );
    expectError(
      () => attentionSync(q(), kv(), kv(), { causal: true, causalOffset: '1' as never }),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      /^Expected a number for options.causalOffset/,
    );
    for (const off of [-5, 0, 7]) expect(attentionSync(q(), kv(), kv(), { causal: true, causalOffset: off }).shape).toEqual([2, 4, 5, 8]);
  });

  test('kvLengths out of range or of the wrong length', () => {
    expectError(
      () => attentionSync(q(), kv(), kv(), { kvLengths: [7] }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected 2 lengths (one per batch entry) for options.kvLengths but received 1 lengths',
    );
    expectError(
      () => attentionSync(q(), kv(), kv(), { kvLengths: Int32Array.of(3, 8) }),
      RangeError,
      'ERR_OUT_OF_RANGE',
      'Expected an integer in [0, 7] (Sk) for options.kvLengths[1] but received 8',
    );
    expectError(
      () => attentionSync(q(), kv(), kv(), { kvLengths: [-1, 2] }),
      RangeError,
      'ERR_OUT_OF_RANGE',
      'Expected an integer in [0, 7] (Sk) for options.kvLengths[0] but received -1',
    );
    expectError(
      () => attentionSync(q(), kv(), kv(), { kvLengths: [1.5, 2] }),
      RangeError,
      'ERR_OUT_OF_RANGE',
      'Expected an integer in [0, 7] (Sk) for options.kvLengths[0] but received 1.5',
    );
    expectError(
      () => attentionSync(q(), kv(), kv(), { kvLengths: new Float32Array(2) as never }),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      'Expected an Int32Array, a BigInt64Array, an array of integers or an int32 / int64 host tensor for options.kvLengths but received an instance of Float32Array (length 2)',
    );
    expectError(
      () => attentionSync(q(), kv(), kv(), { kvLengths: BigInt64Array.of(3n, 8n) }),
      RangeError,
      'ERR_OUT_OF_RANGE',
      'Expected an integer in [0, 7] (Sk) for options.kvLengths[1] but received type bigint (8)',
    );
    expectError(
      () => attentionSync(q(), kv(), kv(), { kvLengths: BigInt64Array.of(-(2n ** 63n), 1n) }),
      RangeError,
      'ERR_OUT_OF_RANGE',
      'Expected an integer in [0, 7] (Sk) for options.kvLengths[0] but received type bigint (-9223372036854775808)',
    );
    expectError(
      () => attentionSync(q(), kv(), kv(), { kvLengths: [1n, 9n] }),
      RangeError,
      'ERR_OUT_OF_RANGE',
      'Expected an integer in [0, 7] (Sk) for options.kvLengths[1] but received type bigint (9)',
    );
    expectError(
      () => attentionSync(q(), kv(), kv(), { kvLengths: Tensor.from(Int32Array.of(1, 9), [2]) }),
      RangeError,
      'ERR_OUT_OF_RANGE',
      'Expected an integer in [0, 7] (Sk) for options.kvLengths[1] but received 9',
    );
    expectError(
      () => attentionSync(q(), kv(), kv(), { kvLengths: t([2]) }),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      'Expected an int32 or int64 tensor for options.kvLengths but received a float32 tensor',
    );
    expectError(
      () => attentionSync(q(), kv(), kv(), { kvLengths: Tensor.from(Int32Array.of(1, 2, 3, 4), [2, 2]) }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected a tensor of shape [2] for options.kvLengths but received shape [2, 2]',
    );
  });

  test('scale, softcap and out', () => {
    expectError(
      () => attentionSync(q(), kv(), kv(), { scale: Infinity }),
      RangeError,
      'ERR_OUT_OF_RANGE',
      'Expected a finite number for options.scale but received Infinity',
    );
    const normal = "0 (off) or a number > 0 in float32's normal range (1.1754943508222875e-38 to 3.4028234663852886e+38)";
    expectError(
      () => attentionSync(q(), kv(), kv(), { softcap: -1 }),
      RangeError,
      'ERR_OUT_OF_RANGE',
      `Expected ${normal} for options.softcap but received -1`,
    );
    // Values float32 cannot hold (the kernels' type): 5e-324 once turned the cap off (property test).
    expectError(
      () => attentionSync(q(), kv(), kv(), { softcap: 5e-324 }),
      RangeError,
      'ERR_OUT_OF_RANGE',
      `Expected ${normal} for options.softcap but received 5e-324`,
    );
    expectError(
      () => attentionSync(q(), kv(), kv(), { softcap: 1e39 }),
      RangeError,
      'ERR_OUT_OF_RANGE',
      `Expected ${normal} for options.softcap but received 1e+39`,
    );
    expectError(
      () => attentionSync(q(), kv(), kv(), { scale: -1e39 }),
      RangeError,
      'ERR_OUT_OF_RANGE',
      'Expected a number a float32 can hold (|scale| <= 3.4028234663852886e+38) for options.scale but received -1e+39',
    );
    expect(attentionSync(q(), kv(), kv(), { softcap: 1.1754943508222875e-38 }).shape).toEqual([2, 4, 5, 8]);
    expectError(
      () => attentionSync(q(), kv(), kv(), { out: t([2, 4, 5, 7]) }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected shape [2, 4, 5, 8] (that of q) for options.out but received shape [2, 4, 5, 7]',
    );
    const Q = q();
    expectError(
      () => attentionSync(Q, kv(), kv(), { out: Q }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected memory that does not overlap q for options.out but received an overlapping tensor',
    );
  });

  test('devices', async () => {
    if (gpuSkipReason() !== null) {
      await expectReject(
        () => attention(q(), kv(), kv(), { device: 'cuda:0' }),
        TensorkernError,
        'ERR_TK_NO_GPU',
        /options\.device asks for 'cuda:0'/,
      );
    } else {
      const d = await kv().to('cuda');
      await expectReject(
        () => attention(q(), d, kv()),
        RangeError,
        'ERR_INVALID_ARG_VALUE',
        `Expected a tensor on cpu (the device of q) for k but received a tensor on ${d.device}`,
      );
      const dq = await q().to('cuda');
      expectError(
        () => attentionSync(dq, d, d, { qkOutput: { out: t([2, 4, 5, 7]) } }),
        RangeError,
        'ERR_INVALID_ARG_VALUE',
        `Expected CPU tensors (a debugging slow path; copy small problems with tensor.to('cpu')) for options.qkOutput but received q on ${d.device} and qkOutput.out on cpu`,
      );
      dq.dispose();
      d.dispose();
    }
  });

  test('the binding re-checks everything that touches memory', () => {
    const n = (shape: number[], dtype = 0) => {
      const len = shape.reduce((x, y) => x * y, 1);
      return {
        dtype,
        shape,
        data:
          dtype === 0 ? new Float32Array(len) : dtype === 5 ? new Int32Array(len) : dtype === 7 ? new Uint8Array(len) : new Int8Array(len),
      };
    };
    const call = (o: {
      q?: object;
      k?: object;
      v?: object;
      mask?: object;
      kvl?: object;
      out?: object;
      lse?: object;
      softcap?: number;
      scale?: number;
      off?: unknown;
      qk?: object;
      stage?: number;
    }) =>
      native.ops.attention(
        {
          q: (o.q ?? n([2, 4, 5, 8])) as never,
          k: (o.k ?? n([2, 2, 7, 8])) as never,
          v: (o.v ?? n([2, 2, 7, 8])) as never,
          mask: o.mask as never,
          kvLengths: o.kvl as never,
          out: (o.out ?? n([2, 4, 5, 8])) as never,
          lse: o.lse as never,
          causal: true,
          bshd: false,
          scale: o.scale ?? 0.3,
          softcap: o.softcap ?? 0,
          causalOffset: (o.off ?? null) as never,
          qkOut: o.qk as never,
          qkStage: o.stage ?? 0,
        },
        false,
      );
    expect(() => call({})).not.toThrow();
    expect(() => call({ k: n([2, 3, 7, 8]), v: n([2, 3, 7, 8]) })).toThrow(
      /Expected the query heads \(4\) to be a multiple of the kv heads \(3\)/,
    );
    expect(() => call({ v: n([2, 2, 6, 8]) })).toThrow(/Expected k and v of one batch, head count and length/);
    expect(() => call({ v: n([2, 2, 7, 3]) })).toThrow(/Expected out of shape \[2, 4, 5, 3\] but received \[2, 4, 5, 8\]/);
    expect(() => call({ v: n([2, 2, 7, 3]), out: n([2, 4, 5, 3]) })).not.toThrow();
    expect(() => call({ off: 8 })).toThrow(/Expected causalOffset in \[-5, 7\] \(-Sq to Sk\) but received 8/);
    expect(() => call({ off: -1e300 })).toThrow(/Expected an integer causalOffset/);
    expect(() => call({ off: 0.5 })).toThrow(/Expected an integer causalOffset/);
    expect(() => call({ off: '1' })).toThrow(/Expected a number for causalOffset/);
    expect(() => call({ off: -5 })).not.toThrow();
    expect(() => call({ mask: n([5, 3], 7) })).not.toThrow(); // bool, shorter than Sk
    expect(() => call({ mask: n([7], 3) })).not.toThrow(); // rank 1
    expect(() => call({ qk: n([2, 4, 5, 7]), stage: 3 })).not.toThrow();
    expect(() => call({ qk: n([2, 4, 5, 6]) })).toThrow(/Expected qkOutput as float32 \[2, 4, 5, 7\] but received float32 \[2, 4, 5, 6\]/);
    expect(() => call({ qk: n([2, 4, 5, 7], 3) })).toThrow(/Expected qkOutput as float32 \[2, 4, 5, 7\] but received int8/);
    expect(() => call({ qk: n([2, 4, 5, 7]), stage: 4 })).toThrow(/qkStage/);
    expect(() => call({ k: n([2, 2, 7, 4]), v: n([2, 2, 7, 4]) })).toThrow(/Expected k with head dim 8 \(that of q\)/);
    expect(() => call({ out: n([2, 4, 5, 4]) })).toThrow(/Expected out of shape \[2, 4, 5, 8\]/);
    expect(() => call({ mask: n([5, 8], 3) })).toThrow(/Expected a mask broadcastable to \[2, 4, 5, 7\]/);
    expect(() => call({ mask: n([5, 7], 5) })).toThrow(/Expected mask of dtype bool \/ int8/);
    expect(() => call({ kvl: n([2], 3) })).toThrow(/Expected kvLengths as int32 \[2\]/);
    expect(() => call({ kvl: { dtype: 5, shape: [2], data: Int32Array.of(7, 8) } })).toThrow(
      /Expected kvLengths\[1\] in \[0, 7\] but received 8/,
    );
    expect(() => call({ kvl: { dtype: 5, shape: [2], data: Int32Array.of(-2, 1) } })).toThrow(
      /Expected kvLengths\[0\] in \[0, 7\] but received -2/,
    );
    expect(() => call({ lse: n([2, 4, 4]) })).toThrow(/Expected lse of shape \[2, 4, 5\]/);
    expect(() => call({ q: n([2, 4, 5, 8], 5) })).toThrow(/Expected q of dtype float32, float16 or bfloat16/);
    expect(() => call({ scale: NaN })).toThrow(/Expected a finite scale/);
    expect(() => call({ softcap: -1 })).toThrow(/Expected a finite softcap >= 0/);
    expect(() =>
      native.bench.attentionPlain({
        q: n([1, 2, 3, 8]) as never,
        k: n([1, 2, 3, 8]) as never,
        v: n([1, 2, 3, 8]) as never,
        out: n([1, 2, 3, 8], 3) as never,
        causal: false,
        scale: 1,
      }),
    ).toThrow(/Expected out of dtype float32/);
  });
});
