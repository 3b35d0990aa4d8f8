// Tensor: construction from every dtype, zero-copy wrapping, int4 packing order, reshape, dispose.
import { Tensor, bfloat16BitsToFloat32, float16BitsToFloat32 } from '../lib';
import { DTYPES } from '../lib/dtype';

describe('Tensor', () => {
  test('wraps the caller typed array without copying', async () => {
    const data = new Float32Array([1, 2, 3, 4, 5, 6]);
    const t = Tensor.from(data, [2, 3]);
    expect(t.dtype).toBe('float32');
    expect(t.shape).toEqual([2, 3]);
    expect(t.device).toBe('cpu');
    expect(t.size).toBe(6);
    expect(t.ndim).toBe(2);
    expect(t.byteLength).toBe(24);
    expect(await t.toArray()).toBe(data);
    data[0] = 42;
    expect((t.toArraySync() as Float32Array)[0]).toBe(42);
    expect(Object.isFrozen(t.shape)).toBe(true);
  });

  test('infers dtype from the array kind and checks it against an explicit one', () => {
    expect(Tensor.from(new Int8Array(4), [4]).dtype).toBe('int8');
    expect(Tensor.from(new Int32Array(4), [2, 2]).dtype).toBe('int32');
    expect(Tensor.from(new BigInt64Array(3), [3]).dtype).toBe('int64');
    expect(Tensor.from(new Uint16Array(3), [3], { dtype: 'bfloat16' }).dtype).toBe('bfloat16');
    expect(Tensor.from(new Uint16Array(3), [3], { dtype: 'float16' }).dtype).toBe('float16');
  });

  test('converts plain number arrays for every dtype', async () => {
    const v = [1.5, -2, 0.1, 65504];
    expect(Array.from((await Tensor.from(v, [4]).toArray()) as Float32Array)).toEqual(v.map(Math.fround));
    const h = (await Tensor.from(v, [4], { dtype: 'float16' }).toArray()) as Uint16Array;
    expect(Array.from(h, float16BitsToFloat32)).toEqual([1.5, -2, 0.0999755859375, 65504]);
    const b = (await Tensor.from(v, [4], { dtype: 'bfloat16' }).toArray()) as Uint16Array;
    expect(Array.from(b, bfloat16BitsToFloat32)).toEqual([1.5, -2, 0.10009765625, 65536]);
    expect(Array.from((await Tensor.from([-128, 127, 0], [3], { dtype: 'int8' }).toArray()) as Int8Array)).toEqual([-128, 127, 0]);
    expect(Array.from((await Tensor.from([2 ** 31 - 1, -(2 ** 31)], [2], { dtype: 'int32' }).toArray()) as Int32Array)).toEqual([
      2 ** 31 - 1,
      -(2 ** 31),
    ]);
    expect(Array.from((await Tensor.from([1, 2n ** 62n], [2], { dtype: 'int64' }).toArray()) as BigInt64Array)).toEqual([1n, 2n ** 62n]);
  });

  test('int4 numbers pack two per byte, element 2i in the low nibble (docs/design.md, Data conventions)', async () => {
    const t = Tensor.from([1, -1, 7, -8, 0, 3], [3, 2], { dtype: 'int4' });
    const bytes = (await t.toArray()) as Uint8Array;
    expect(Array.from(bytes)).toEqual([0xf1, 0x87, 0x30]);
    expect(t.byteLength).toBe(3);
  });

  test('zeros for every dtype', async () => {
    for (const dtype of Object.keys(DTYPES) as (keyof typeof DTYPES)[]) {
      const t = Tensor.zeros([3, 4], { dtype });
      const a = await t.toArray();
      expect(a).toBeInstanceOf(DTYPES[dtype].array);
      expect(a.length).toBe(dtype === 'int4' ? 6 : 12);
      expect(Array.from(a as ArrayLike<number | bigint>).every((x) => x == 0)).toBe(true);
    }
    expect(Tensor.zeros([]).size).toBe(1);
    expect(Tensor.zeros([0, 5]).size).toBe(0);
  });

  test('reshape shares storage', async () => {
    const t = Tensor.from(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
    const r = t.reshape([3, 2]);
    expect(r.shape).toEqual([3, 2]);
    expect(await r.toArray()).toBe(await t.toArray());
  });

  test('to(cpu) is the same tensor; dispose and Symbol.dispose release it', async () => {
    const t = Tensor.zeros([2]);
    expect(await t.to('cpu')).toBe(t);
    const sym = (Symbol as { dispose?: symbol }).dispose ?? Symbol.for('nodejs.dispose');
    (t as unknown as Record<symbol, () => void>)[sym]();
    expect(t.disposed).toBe(true);
    expect(String(t)).toBe('Tensor(float32, [2], cpu, disposed)');
  });

  test('toString names dtype, shape and device', () => {
    expect(String(Tensor.zeros([2, 3], { dtype: 'bfloat16' }))).toBe('Tensor(bfloat16, [2, 3], cpu)');
  });
});
