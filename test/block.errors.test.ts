// Bad input to the block ops: each a clear error naming the argument, what was expected and what was
// received (docs/design.md, Errors); the binding called directly with garbage throws, never crashes.
import {
  Tensor,
  addSync,
  argmaxSync,
  embeddingSync,
  kvAppend,
  kvAppendSync,
  rmsNorm,
  rmsNormSync,
  ropeSync,
  siluSync,
  softmaxSync,
  swigluSync,
  topkSync,
} from '../lib';
import { native } from '../lib/binding';
import { DType } from '../lib/dtype';
import { expectError, expectReject } from './helpers/errors';

const t = (shape: number[], dtype: DType = 'float32') => Tensor.zeros(shape, { dtype });
const ids = (v: number[], shape = [v.length]) => Tensor.from(Int32Array.from(v), shape);
const TE = TypeError;
const RE = RangeError;
const TYPE = 'ERR_INVALID_ARG_TYPE';
const VALUE = 'ERR_INVALID_ARG_VALUE';
const RANGE = 'ERR_OUT_OF_RANGE';

describe('block ops bad input', () => {
  test('rmsNorm', async () => {
    await expectReject(
      () => rmsNorm(new Float32Array(4) as never, t([4])),
      TE,
      TYPE,
      'Expected a Tensor (wrap it with Tensor.from(data, shape)) for x but received an instance of Float32Array (length 4)',
    );
    expectError(
      () => rmsNormSync(t([2, 4], 'int32'), t([4])),
      TE,
      TYPE,
      'Expected a float32, float16 or bfloat16 tensor for x but received an int32 tensor',
    );
    expectError(() => rmsNormSync(t([2, 0]), t([0])), RE, VALUE, 'Expected a tensor [..., D] with D >= 1 for x but received shape [2, 0]');
    expectError(
      () => rmsNormSync(t([2, 4]), t([5])),
      RE,
      VALUE,
      'Expected shape [4] (the last dim of x) for weight but received shape [5]',
    );
    expectError(
      () => rmsNormSync(t([2, 4]), t([4], 'int8')),
      TE,
      TYPE,
      'Expected a float32, float16 or bfloat16 tensor for weight but received an int8 tensor',
    );
    expectError(() => rmsNormSync(t([2, 4]), t([4]), { eps: -1 }), RE, RANGE, 'Expected a number >= 0 for options.eps but received -1');
    expectError(
      () => rmsNormSync(t([2, 4]), t([4]), { eps: '1' as never }),
      TE,
      TYPE,
      'Expected a number for options.eps but received type string ("1")',
    );
    expectError(
      () => rmsNormSync(t([2, 4]), t([4]), { out: t([4, 2]) }),
      RE,
      VALUE,
      'Expected shape [2, 4] for options.out but received shape [4, 2]',
    );
    expectError(
      () => rmsNormSync(t([2, 4]), t([4]), { out: t([2, 4], 'int32') }),
      TE,
      TYPE,
      'Expected a float32, float16 or bfloat16 tensor for options.out but received an int32 tensor',
    );
    expectError(
      () => rmsNormSync(t([2, 4]), t([4]), { epsilon: 1 } as never),
      RE,
      VALUE,
      'Expected only the keys eps, out for options but received key "epsilon"',
    );
    // out over part of x's memory (shifted by one element): rejected, not computed in a racy order.
    const buf = new Float32Array(9);
    const x = Tensor.from(buf.subarray(0, 8), [2, 4]);
    const shifted = Tensor.from(buf.subarray(1, 9), [2, 4]);
    expectError(
      () => rmsNormSync(x, t([4]), { out: shifted }),
      RE,
      VALUE,
      'Expected memory that does not overlap x (or is x itself) for options.out but received an overlapping view',
    );
  });

  test('rope', () => {
    expectError(
      () => ropeSync(t([3, 8])),
      RE,
      VALUE,
      'Expected a rank-3 [S, H, D] or rank-4 [B, S, H, D] tensor for x but received shape [3, 8]',
    );
    expectError(() => ropeSync(t([3, 2, 7])), RE, VALUE, 'Expected an even head dim D >= 2 for x but received shape [3, 2, 7]');
    expectError(
      () => ropeSync(t([3, 2, 8]), { positions: -1 }),
      RE,
      RANGE,
      'Expected an integer in [0, 2147483647] for options.positions but received -1',
    );
    expectError(
      () => ropeSync(t([3, 2, 8]), { positions: 1.5 }),
      RE,
      RANGE,
      'Expected an integer in [0, 2147483647] for options.positions but received 1.5',
    );
    expectError(
      () => ropeSync(t([3, 2, 8]), { positions: [0, 1, 2] as never }),
      TE,
      TYPE,
      'Expected a number or an int32 host tensor for options.positions but received [0, 1, 2]',
    );
    expectError(
      () => ropeSync(t([3, 2, 8]), { positions: t([3]) }),
      TE,
      TYPE,
      'Expected an int32 tensor for options.positions but received a float32 tensor',
    );
    expectError(
      () => ropeSync(t([3, 2, 8]), { positions: ids([0, 1]) }),
      RE,
      VALUE,
      'Expected shape [3] (the sequence of x) for options.positions but received shape [2]',
    );
    expectError(
      () => ropeSync(t([2, 3, 2, 8]), { positions: ids([0, 1, 2, 3, 4, 5], [3, 2]) }),
      RE,
      VALUE,
      'Expected shape [3] or [2, 3] (the sequence of x) for options.positions but received shape [3, 2]',
    );
    expectError(
      () => ropeSync(t([3, 2, 8]), { style: 'neox' as never }),
      RE,
      VALUE,
      `Expected 'interleaved' or 'half' for options.style but received type string ("neox")`,
    );
    expectError(() => ropeSync(t([3, 2, 8]), { theta: 0 }), RE, RANGE, 'Expected a number > 0 for options.theta but received 0');
    expectError(
      () => ropeSync(t([3, 2, 8]), { out: t([3, 2, 8], 'int32') }),
      TE,
      TYPE,
      'Expected a float32, float16 or bfloat16 tensor for options.out but received an int32 tensor',
    );
  });

  test('silu, swiglu, add, softmax', () => {
    expectError(
      () => siluSync(t([3], 'int8')),
      TE,
      TYPE,
      'Expected a float32, float16 or bfloat16 tensor for x but received an int8 tensor',
    );
    expectError(() => siluSync(t([3]), { out: t([4]) }), RE, VALUE, 'Expected shape [3] for options.out but received shape [4]');
    expectError(() => swigluSync(t([2, 3]), t([3])), RE, VALUE, 'Expected shape [2, 3] (that of gate) for up but received shape [3]');
    expectError(() => swigluSync(t([2, 3]), 3 as never), TE, TYPE, 'Expected a Tensor for up but received 3');
    expectError(
      () => addSync(t([2, 3]), t([2])),
      RE,
      VALUE,
      'Expected shape [2, 3] or a suffix of it (broadcast over the leading dims of a) for b but received shape [2]',
    );
    expectError(
      () => addSync(t([3]), t([2, 3])),
      RE,
      VALUE,
      'Expected shape [3] or a suffix of it (broadcast over the leading dims of a) for b but received shape [2, 3]',
    );
    expectError(
      () => addSync(t([2, 3]), t([3], 'int32')),
      TE,
      TYPE,
      'Expected a float32, float16 or bfloat16 tensor for b but received an int32 tensor',
    );
    expectError(() => softmaxSync(Tensor.from([1], [])), RE, VALUE, 'Expected a tensor of rank >= 1 for x but received shape []');
  });

  test('embedding', () => {
    expectError(() => embeddingSync(t([10]), ids([1])), RE, VALUE, 'Expected a rank-2 tensor [V, D] for table but received shape [10]');
    expectError(() => embeddingSync(t([10, 4]), t([2])), TE, TYPE, 'Expected an int32 tensor for ids but received a float32 tensor');
    expectError(
      () => embeddingSync(t([10, 4]), ids([1, 2], [1, 1, 2])),
      RE,
      VALUE,
      'Expected shape [T] or [B, T] for ids but received shape [1, 1, 2]',
    );
    expectError(
      () => embeddingSync(t([10, 4]), ids([1, 2]), { dtype: 'int8' }),
      RE,
      VALUE,
      `Expected 'float32', 'float16' or 'bfloat16' for options.dtype but received type string ("int8")`,
    );
    expectError(
      () => embeddingSync(t([10, 4]), ids([1, 2]), { out: t([2, 5]) }),
      RE,
      VALUE,
      'Expected shape [2, 4] for options.out but received shape [2, 5]',
    );
    expectError(
      () => embeddingSync(t([10, 4]), ids([1, 2]), { out: t([2, 4], 'float16'), dtype: 'bfloat16' }),
      TE,
      TYPE,
      'Expected a bfloat16 tensor (options.dtype) for options.out but received a float16 tensor',
    );
  });

  test('argmax, topk', () => {
    expectError(() => argmaxSync(t([3, 0])), RE, VALUE, 'Expected a tensor [..., N] with N >= 1 for x but received shape [3, 0]');
    expectError(
      () => argmaxSync(t([3, 4]), { out: t([3]) }),
      TE,
      TYPE,
      'Expected an int32 tensor for options.out but received a float32 tensor',
    );
    expectError(
      () => argmaxSync(t([3, 4]), { out: t([4], 'int32') }),
      RE,
      VALUE,
      'Expected shape [3] for options.out but received shape [4]',
    );
    expectError(() => topkSync(t([3, 4]), 0), RE, RANGE, 'Expected an integer in [1, 4] (the last dim of x) for k but received 0');
    expectError(() => topkSync(t([3, 4]), 5), RE, RANGE, 'Expected an integer in [1, 4] (the last dim of x) for k but received 5');
    expectError(() => topkSync(t([3, 4]), 1.5), RE, RANGE, 'Expected an integer in [1, 4] (the last dim of x) for k but received 1.5');
    expectError(() => topkSync(t([3, 4]), '2' as never), TE, TYPE, 'Expected a number for k but received type string ("2")');
    expectError(
      () => topkSync(t([3, 4]), 2, { values: t([3, 2], 'float16') }),
      TE,
      TYPE,
      'Expected a float32 tensor for options.values but received a float16 tensor',
    );
    expectError(
      () => topkSync(t([3, 4]), 2, { indices: t([3, 3], 'int32') }),
      RE,
      VALUE,
      'Expected shape [3, 2] for options.indices but received shape [3, 3]',
    );
  });

  test('kvAppend', async () => {
    expectError(
      () => kvAppendSync(t([8, 2, 4]), t([1, 3, 4])),
      RE,
      VALUE,
      'Expected shape [S, 2, 4] (that of cache, any length S in dim 0) for x but received shape [1, 3, 4]',
    );
    expectError(
      () => kvAppendSync(t([2, 8, 4]), t([1, 1, 4]), { seqDim: 1 }),
      RE,
      VALUE,
      'Expected shape [2, S, 4] (that of cache, any length S in dim 1) for x but received shape [1, 1, 4]',
    );
    expectError(
      () => kvAppendSync(t([8, 4]), t([1, 4]), { seqDim: 2 as never }),
      RE,
      VALUE,
      'Expected 0 or 1 for options.seqDim but received 2',
    );
    expectError(
      () => kvAppendSync(t([8, 4]), t([1, 4], 'int32')),
      TE,
      TYPE,
      'Expected a float32, float16 or bfloat16 tensor for x but received an int32 tensor',
    );
    expectError(
      () => kvAppendSync(t([2, 8, 4]), t([2, 1, 4]), { seqDim: 1, position: ids([0, 1, 2]) }),
      RE,
      VALUE,
      'Expected shape [1] or [2] (the batch of cache) for options.position but received shape [3]',
    );
    expectError(
      () => kvAppendSync(t([8, 4]), t([1, 4]), { position: ids([0, 1]) }),
      RE,
      VALUE,
      'Expected shape [1] for options.position but received shape [2]',
    );
    expectError(
      () => kvAppendSync(t([8, 4]), t([1, 4]), { position: t([1]) }),
      TE,
      TYPE,
      'Expected an int32 tensor for options.position but received a float32 tensor',
    );
    expectError(
      () => kvAppendSync(t([8, 4]), t([1, 4]), { position: -2 }),
      RE,
      RANGE,
      'Expected an integer in [0, 2147483647] for options.position but received -2',
    );
    const c = t([8, 4]);
    expectError(() => kvAppendSync(c, c), RE, VALUE, 'Expected memory that does not overlap cache for x but received an overlapping view');
    await expectReject(() => kvAppend(t([8, 4]), t([9, 4])), RE, RANGE, 'Expected at most 8 rows (the cache length) in x but received 9');
  });

  test('the binding re-checks everything that touches memory', () => {
    const n = (shape: number[], dtype = 0) => {
      const len = shape.reduce((x, y) => x * y, 1);
      return {
        dtype,
        shape,
        data: dtype === 5 ? new Int32Array(len) : dtype === 0 ? new Float32Array(len) : new Uint16Array(len),
      } as never;
    };
    const i32 = (v: number[]) => ({ dtype: 5, shape: [v.length], data: Int32Array.from(v) }) as never;
    const ops = native.ops;
    expect(() => ops.rmsNorm({ x: n([2, 4]), weight: n([4]), out: n([2, 4]), eps: 1e-5 }, false)).not.toThrow();
    expect(() => ops.rmsNorm({ x: n([2, 4]), weight: n([3]), out: n([2, 4]), eps: 1e-5 }, false)).toThrow(
      'Expected shape [4] (the last dim of x) for weight but received [3]',
    );
    expect(() => ops.rmsNorm({ x: n([2, 4]), weight: n([4]), out: n([2, 4]), eps: NaN }, false)).toThrow(
      'Expected a finite eps >= 0 but received number nan',
    );
    const rope = (p: { x: never; positions?: never; start?: number; theta?: number; out: never }) =>
      ops.rope({ start: 0, theta: 10000, half: false, ...p }, false);
    expect(() => rope({ x: n([2, 1, 3]), out: n([2, 1, 3]) })).toThrow(
      'Expected an even head dim D >= 2 for x but received shape [2, 1, 3]',
    );
    expect(() => rope({ x: n([2, 1, 4]), positions: n([2]), out: n([2, 1, 4]) })).toThrow(
      'Expected an int32 tensor for positions but received float32 [2]',
    );
    expect(() => rope({ x: n([2, 1, 4]), positions: i32([0, 1, 2]), out: n([2, 1, 4]) })).toThrow(
      'Expected shape [2] for positions but received [3]',
    );
    expect(() => rope({ x: n([2, 1, 4]), positions: i32([0, -5]), out: n([2, 1, 4]) })).toThrow(
      'Expected positions[1] >= 0 but received -5',
    );
    // The first position without a positions tensor: the params name it `start` (the positional form said "positions").
    expect(() => rope({ x: n([2, 1, 4]), start: -1, out: n([2, 1, 4]) })).toThrow(
      'Expected an integer in [0, 2147483647] for start but received number -1',
    );
    expect(() => rope({ x: n([2, 1, 4]), theta: 0, out: n([2, 1, 4]) })).toThrow(
      'Expected a finite theta > 0 but received number 0.000000',
    );
    expect(() => ops.silu({ x: n([3]), out: n([4]) }, false)).toThrow('Expected shape [3] for out but received [4]');
    expect(() => ops.add({ a: n([2, 3]), b: n([2]), out: n([2, 3]) }, false)).toThrow(/for b but received \[2\]/);
    expect(() => ops.swiglu({ gate: n([2, 3]), up: n([2, 3], 5), out: n([2, 3]) }, false)).toThrow(
      'Expected a float32, float16 or bfloat16 tensor for up but received int32 [2, 3]',
    );
    expect(() => ops.softmax({ x: n([2, 3], 5), out: n([2, 3]) }, false)).toThrow(
      'Expected a float32, float16 or bfloat16 tensor for x but received int32 [2, 3]',
    );
    expect(() => ops.embedding({ table: n([4, 2]), ids: n([3]), out: n([3, 2]) }, false)).toThrow(
      'Expected an int32 tensor for ids but received float32 [3]',
    );
    expect(() => ops.embedding({ table: n([4, 2]), ids: i32([0, 4]), out: n([2, 2]) }, false)).toThrow(
      'Expected ids[1] in [0, 4) (the rows of table) but received 4',
    );
    expect(() => ops.embedding({ table: n([4, 2]), ids: i32([0, 3]), out: n([2, 3]) }, false)).toThrow(
      'Expected shape [2, 2] for out but received [2, 3]',
    );
    expect(() => ops.argmax({ x: n([2, 3]), out: n([2]) }, false)).toThrow('Expected int32 for out but received float32 [2]');
    expect(() => ops.topk({ x: n([2, 3]), k: 4, values: n([2, 4]), indices: n([2, 4], 5) }, false)).toThrow(
      'Expected k in [1, 3] (the last dim of x) but received 4',
    );
    expect(() => ops.topk({ x: n([2, 3]), k: 2, values: n([2, 2]), indices: n([2, 2]) }, false)).toThrow(
      'Expected int32 for indices but received float32 [2, 2]',
    );
    expect(() => ops.kvAppend({ cache: n([4, 3]), x: n([1, 2]), start: 0, seqDim: 0 }, false)).toThrow(/for x but received \[1, 2\]/);
    expect(() => ops.kvAppend({ cache: n([4, 3]), x: n([2, 3]), position: i32([3]), start: 0, seqDim: 0 }, false)).toThrow(
      'Expected position[0] in [0, 2] (cache length 4 minus the 2 rows of x) but received 3',
    );
    expect(() => ops.kvAppend({ cache: n([2, 4, 3]), x: n([2, 1, 3]), position: i32([0, 1, 2]), start: 0, seqDim: 1 }, false)).toThrow(
      'Expected shape [1] or [2] for position but received [3]',
    );
    expect(() => ops.kvAppend({ cache: n([4, 3]), x: n([2, 3]), start: 0, seqDim: 3 }, false)).toThrow(/seqDim/);
    // Params are read by name: a missing or mistyped one is named.
    expect(() => ops.silu(undefined as never, false)).toThrow('Expected an object of block op params but received undefined');
    expect(() => ops.silu({ x: n([3]) } as never, false)).toThrow('Expected a tensor descriptor for out but received undefined');
    expect(() => ops.rope({ x: n([2, 1, 4]), start: 0, theta: 10000, half: 1 as never, out: n([2, 1, 4]) }, false)).toThrow(
      'Expected a boolean for half but received number 1',
    );
  });
});
