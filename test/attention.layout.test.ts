// Which layout attention reads when options.layout is left out: shapes that fit both readings with
// Sq != Sk under 'bhsd' are an error naming both (that is what [B, S, H, D] GQA data looks like);
// unambiguous calls keep running; a head-count mismatch that the other layout would fix says so.
import { Tensor, attentionSync } from '../lib';
import { makeData } from './helpers/data';
import { expectError } from './helpers/errors';
import { refAttention } from './reference/attention';

const { abs, max } = Math;

function input(shape: number[], seed: number): { t: Tensor; v: Float64Array } {
  const d = makeData(
    'float32',
    shape.reduce((a, b) => a * b, 1),
    seed,
  );
  return { t: Tensor.from(d.data, shape), v: d.values };
}

function expectClose(got: Tensor, want: Float64Array): void {
  const g = got.toArraySync() as Float32Array;
  expect(g.length).toBe(want.length);
  let worst = 0;
  for (let i = 0; i < g.length; i++) worst = max(worst, abs(g[i] - want[i]) / (1 + abs(want[i])));
  expect(worst).toBeLessThan(1e-5);
}

describe('attention layout inference', () => {
  test('[B, S, H, D] GQA data without layout is an error naming both readings; with a layout it runs', () => {
    // 'bshd' data: Sq = Sk = 32, Hq = 8, Hkv = 4. Read as 'bhsd' it would be Hq = Hkv = 32, Sq = 8, Sk = 4.
    const q = input([1, 32, 8, 16], 1),
      k = input([1, 32, 4, 16], 2),
      v = input([1, 32, 4, 16], 3);
    expectError(
      () => attentionSync(q.t, k.t, v.t),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      `Expected 'bhsd' or 'bshd' given explicitly: q [1, 32, 8, 16] and k [1, 32, 4, 16] fit both (Hq=32, Sq=8, Hkv=32, Sk=4 under 'bhsd'; ` +
        `Sq=32, Hq=8, Sk=32, Hkv=4 under 'bshd') for options.layout but received undefined`,
    );
    expectError(() => attentionSync(q.t, k.t, v.t, { causal: true }), RangeError, 'ERR_INVALID_ARG_VALUE', /for options\.layout/);
    // MQA in 'bshd' (one KV head divides everything): the same
    const k1 = input([1, 32, 1, 16], 4),
      v1 = input([1, 32, 1, 16], 5);
    expectError(
      () => attentionSync(q.t, k1.t, v1.t),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      /Hq=8, Sk=32, Hkv=1 under 'bshd'\) for options\.layout/,
    );

    for (const layout of ['bshd', 'bhsd'] as const) {
      const [Hq, Sq, Hkv, Sk] = layout === 'bshd' ? [8, 32, 4, 32] : [32, 8, 32, 4];
      const ref = refAttention({ q: q.v, k: k.v, v: v.v, B: 1, Hq, Hkv, Sq, Sk, D: 16, layout, causal: true });
      expectClose(attentionSync(q.t, k.t, v.t, { layout, causal: true }), ref.out);
    }
  });

  test('unambiguous calls and the Sq == Sk readings still run as bhsd', () => {
    const cases: [number[], number[]][] = [
      [
        [2, 4, 6, 8],
        [2, 4, 6, 8],
      ], // equal shapes (self-attention)
      [
        [1, 8, 6, 8],
        [1, 2, 6, 8],
      ], // 'bhsd' GQA, Sq == Sk
      [
        [1, 4, 1, 8],
        [1, 4, 9, 8],
      ], // decoding: one query, nine keys
      [
        [1, 4, 3, 8],
        [1, 4, 9, 8],
      ], // Sq < Sk
      [
        [1, 4, 9, 8],
        [1, 4, 6, 8],
      ], // Sq > Sk, but 6 does not divide 9: 'bshd' would be 9 query heads over 6 KV heads
      [
        [1, 4, 8, 8],
        [1, 4, 0, 8],
      ], // no keys
    ];
    let seed = 10;
    for (const [qs, ks] of cases) {
      const q = input(qs, seed++),
        k = input(ks, seed++),
        v = input(ks, seed++);
      const ref = refAttention({ q: q.v, k: k.v, v: v.v, B: qs[0], Hq: qs[1], Hkv: ks[1], Sq: qs[2], Sk: ks[2], D: 8, layout: 'bhsd' });
      expectClose(attentionSync(q.t, k.t, v.t), ref.out);
    }
    // An empty q gives the same (empty) result either way: no question to ask.
    expect(attentionSync(Tensor.zeros([1, 4, 0, 8]), Tensor.zeros([1, 4, 2, 8]), Tensor.zeros([1, 4, 2, 8])).shape).toEqual([1, 4, 0, 8]);
  });

  test('a head count that only the other layout explains says which layout the data looks like', () => {
    // 'bshd' decoding data (one query over 100 keys, 8 heads) read as 'bhsd': 1 query head over 100 KV heads
    expectError(
      () => attentionSync(Tensor.zeros([1, 1, 8, 16]), Tensor.zeros([1, 100, 8, 16]), Tensor.zeros([1, 100, 8, 16])),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      `Expected a number of heads that divides the 1 query heads (GQA / MQA) for k but received 100 heads (shape [1, 100, 8, 16]); ` +
        `q and k look like [B, S, H, D] data: pass layout: 'bshd'`,
    );
    // and the other way round
    expectError(
      () => attentionSync(Tensor.zeros([1, 8, 1, 16]), Tensor.zeros([1, 8, 100, 16]), Tensor.zeros([1, 8, 100, 16]), { layout: 'bshd' }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      /received 100 heads \(shape \[1, 8, 100, 16\]\); q and k look like \[B, H, S, D\] data: pass layout: 'bhsd' \(or leave it out\)$/,
    );
    // neither layout fits: no hint
    expectError(
      () => attentionSync(Tensor.zeros([1, 4, 5, 8]), Tensor.zeros([1, 3, 7, 8]), Tensor.zeros([1, 3, 7, 8])),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      /received 3 heads \(shape \[1, 3, 7, 8\]\)$/,
    );
  });
});
