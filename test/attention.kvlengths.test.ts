// kvLengths as an int32 host tensor is handed to the native call as it is (no copy), so the lengths
// used are the tensor's contents at each run: a caller (or a replayed op graph) that rewrites the
// tensor between calls gets the new lengths. The other forms are copied as before.
import { Tensor, attention, attentionSync } from '../lib';
import { native } from '../lib/binding';
import { nativeOf } from '../lib/tensor';
import { makeData } from './helpers/data';
import { expectError } from './helpers/errors';
import { refAttention } from './reference/attention';

const { abs, max } = Math;
const [B, H, Sq, Sk, D] = [2, 2, 3, 9, 8];

function input(shape: number[], seed: number): { t: Tensor; v: Float64Array } {
  const d = makeData(
    'float32',
    shape.reduce((a, b) => a * b, 1),
    seed,
  );
  return { t: Tensor.from(d.data, shape), v: d.values };
}
const q = input([B, H, Sq, D], 1),
  k = input([B, H, Sk, D], 2),
  v = input([B, H, Sk, D], 3);

function expectRef(got: Tensor, kvLengths: number[], causal = false): void {
  const want = refAttention({ q: q.v, k: k.v, v: v.v, B, Hq: H, Hkv: H, Sq, Sk, D, kvLengths, causal }).out;
  const g = got.toArraySync() as Float32Array;
  let worst = 0;
  for (let i = 0; i < g.length; i++) worst = max(worst, abs(g[i] - want[i]) / (1 + abs(want[i])));
  expect(worst).toBeLessThan(1e-5);
}

describe('attention kvLengths as an int32 host tensor', () => {
  test('the same tensor, rewritten between calls: each call uses the lengths it holds then', async () => {
    const lengths = Tensor.from(Int32Array.of(9, 4), [B]);
    expectRef(attentionSync(q.t, k.t, v.t, { kvLengths: lengths }), [9, 4]);
    const a = lengths.toArraySync() as Int32Array;
    a[0] = 2;
    a[1] = 7;
    expectRef(attentionSync(q.t, k.t, v.t, { kvLengths: lengths }), [2, 7]);
    a.set([5, 0]);
    expectRef(await attention(q.t, k.t, v.t, { kvLengths: lengths, causal: true }), [5, 0], true);
  });

  test("the native call gets the tensor's own storage; arrays and int64 tensors are copied", () => {
    const spy = jest.spyOn(native.ops, 'attention');
    try {
      const lengths = Tensor.from(Int32Array.of(9, 4), [B]);
      attentionSync(q.t, k.t, v.t, { kvLengths: lengths });
      expect(spy.mock.calls[0][0].kvLengths!.data).toBe(lengths.toArraySync());
      const arr = Int32Array.of(9, 4);
      attentionSync(q.t, k.t, v.t, { kvLengths: arr });
      expect(spy.mock.calls[1][0].kvLengths!.data).not.toBe(arr);
      const wide = Tensor.from(BigInt64Array.of(9n, 4n), [B]);
      attentionSync(q.t, k.t, v.t, { kvLengths: wide });
      expect(Array.from(spy.mock.calls[2][0].kvLengths!.data as Int32Array)).toEqual([9, 4]);
    } finally {
      spy.mockRestore();
    }
  });

  test('values out of range are still refused, and an out that overlaps the lengths is too', () => {
    const lengths = Tensor.from(Int32Array.of(9, 10), [B]);
    expectError(
      () => attentionSync(q.t, k.t, v.t, { kvLengths: lengths }),
      RangeError,
      'ERR_OUT_OF_RANGE',
      'Expected an integer in [0, 9] (Sk) for options.kvLengths[1] but received 10',
    );
    // the binding's own check, at run time, for a tensor rewritten behind the facade's back
    const bad = { dtype: 5, shape: [B], data: Int32Array.of(9, 10) };
    const out = Tensor.zeros([B, H, Sq, D]);
    expect(() =>
      native.ops.attention(
        {
          q: nativeOf(q.t, 'q'),
          k: nativeOf(k.t, 'k'),
          v: nativeOf(v.t, 'v'),
          kvLengths: bad as never,
          out: nativeOf(out, 'out'),
          causal: false,
          bshd: false,
          scale: 0.3,
          softcap: 0,
          causalOffset: null,
          qkStage: 0,
        },
        false,
      ),
    ).toThrow(/Expected kvLengths\[1\] in \[0, 9\] but received 10/);
    // out sharing the lengths' memory would overwrite them while the kernel reads them
    const buf = new Float32Array(B * H * Sq * D);
    const shared = Tensor.from(new Int32Array(buf.buffer, 0, B), [B]);
    (shared.toArraySync() as Int32Array).set([9, 9]);
    expectError(
      () => attentionSync(q.t, k.t, v.t, { kvLengths: shared, out: Tensor.from(buf, [B, H, Sq, D]) }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected memory that does not overlap options.kvLengths for options.out but received an overlapping tensor',
    );
  });
});
