// Tensor<D>: the dtype types the array toArray() / toArraySync() return. This file only compiles
// (ts-jest type-checks it, and so does `tsc -p tsconfig.json`) when the static types are right; the
// run-time checks confirm the static types tell the truth.
import { Tensor, attentionSync, cast, castSync, type ArrayOf, type DType, type TypedArray } from '../lib';

/** Compiles only when A and B are the same type. */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const same = <A, B>(ok: Equal<A, B>): Equal<A, B> => ok;

describe('Tensor<D> types', () => {
  test('typed arrays infer the dtype; toArraySync / toArray return its array', async () => {
    const f = Tensor.from(new Float32Array([1, 2, 3, 4]), [2, 2]);
    const a: Float32Array = f.toArraySync();
    const b: Float32Array = await f.toArray();
    expect(a).toBeInstanceOf(Float32Array);
    expect(b).toBe(a);
    same<typeof f, Tensor<'float32'>>(true);
    same<ReturnType<typeof f.toArraySync>, Float32Array>(true);

    const i8: Int8Array = Tensor.from(new Int8Array(2), [2]).toArraySync();
    const i32: Int32Array = Tensor.from(new Int32Array(2), [2]).toArraySync();
    const i64: BigInt64Array = Tensor.from(new BigInt64Array(2), [2]).toArraySync();
    const h = Tensor.from(new Uint16Array(2), [2], { dtype: 'bfloat16' });
    same<typeof h, Tensor<'bfloat16'>>(true);
    const hb: Uint16Array = h.toArraySync();
    const m = Tensor.from(new Uint8Array([0, 1]), [2], { dtype: 'bool' });
    same<typeof m, Tensor<'bool'>>(true);
    const mb: Uint8Array = m.toArraySync();
    for (const [x, C] of [
      [i8, Int8Array],
      [i32, Int32Array],
      [i64, BigInt64Array],
      [hb, Uint16Array],
      [mb, Uint8Array],
    ] as const)
      expect(x).toBeInstanceOf(C);

    // a float tensor's array is not a BigInt64Array (nor the union that includes it)
    // @ts-expect-error Float32Array, not BigInt64Array
    const wrong: BigInt64Array = f.toArraySync();
    expect(wrong).not.toBeInstanceOf(BigInt64Array);
  });

  test('plain arrays, zeros and cast follow options.dtype; float32 by default', async () => {
    const p = Tensor.from([1, 2], [2]);
    same<typeof p, Tensor<'float32'>>(true);
    const q = Tensor.from([1, 2], [2], { dtype: 'int32' });
    same<typeof q, Tensor<'int32'>>(true);
    const z = Tensor.zeros([2]);
    same<typeof z, Tensor<'float32'>>(true);
    const z8 = Tensor.zeros([2], { dtype: 'int8' });
    same<typeof z8, Tensor<'int8'>>(true);
    const c = castSync(p, 'float16');
    same<typeof c, Tensor<'float16'>>(true);
    const ca = await cast(p, 'bfloat16');
    same<typeof ca, Tensor<'bfloat16'>>(true);
    const views = [z.reshape([1, 2]), z.narrow(0, 1), z.slice(1), await z.to('cpu')] as const;
    same<(typeof views)[number], Tensor<'float32'>>(true);
    expect([p.toArraySync(), z.toArraySync(), views[1].toArraySync()].every((x) => x instanceof Float32Array)).toBe(true);
    expect([q.toArraySync()].every((x) => x instanceof Int32Array)).toBe(true);
    expect([z8.toArraySync()].every((x) => x instanceof Int8Array)).toBe(true);
    expect([c.toArraySync(), ca.toArraySync()].every((x) => x instanceof Uint16Array)).toBe(true);
    expect([c.dtype, ca.dtype, z8.dtype]).toEqual(['float16', 'bfloat16', 'int8']);
    // attention's lse is always float32
    const t = Tensor.zeros([1, 1, 2, 4]);
    const { lse } = attentionSync(t, t, t, { returnLse: true });
    const l: Float32Array = lse.toArraySync();
    expect(l).toBeInstanceOf(Float32Array);
  });

  test('plain Tensor (dtype unknown statically) keeps working: any tensor fits it, arrays are the union', () => {
    const dt: DType = 'int32' as DType;
    const any: Tensor = Tensor.zeros([2], { dtype: dt });
    same<typeof any, Tensor<DType>>(true);
    same<ReturnType<Tensor['toArraySync']>, TypedArray>(true);
    same<ArrayOf<DType>, TypedArray>(true);
    const list: Tensor[] = [Tensor.zeros([1]), Tensor.from(new Int8Array(1), [1]), any];
    expect(list.map((x) => x.dtype)).toEqual(['float32', 'int8', 'int32']);
    expect(any.toArraySync()).toBeInstanceOf(Int32Array);
  });
});
