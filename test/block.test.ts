// Block ops on the CPU against float64 references (test/reference/block.ts): odd sizes, float32 and
// half inputs, in-place outputs, run-time positions / ids (changed between calls), async and sync.
import {
  Tensor,
  add,
  addSync,
  argmax,
  argmaxSync,
  embedding,
  embeddingSync,
  kvAppend,
  kvAppendSync,
  rmsNorm,
  rmsNormSync,
  rope,
  ropeSync,
  silu,
  siluSync,
  softmax,
  softmaxSync,
  swiglu,
  swigluSync,
  topk,
  topkSync,
} from '../lib';
import { DType } from '../lib/dtype';
import { toHalfBits } from '../lib/half';
import { decode, makeData, rng } from './helpers/data';
import { expectError } from './helpers/errors';
import { llama2cRope, refRanking, refRmsNorm, refRope, refSilu, refSoftmax } from './reference/block';

type F = 'float32' | 'float16' | 'bfloat16';

/** A tensor of `dtype` holding `scale` * uniform[-1, 1) values, and the float64 values it holds. */
function make(shape: number[], dtype: F, seed: number, scale = 1): { t: Tensor; v: Float64Array } {
  const n = shape.reduce((a, b) => a * b, 1);
  const raw = makeData('float32', n, seed).values.map((x) => x * scale);
  const data = dtype === 'float32' ? Float32Array.from(raw) : toHalfBits(raw, dtype);
  return { t: Tensor.from(data, shape, { dtype }), v: decode(dtype, data) };
}

function read(t: Tensor): Float64Array {
  return decode(t.dtype as DType, t.toArraySync() as ArrayLike<number>);
}

/** Output rounding plus float32 arithmetic: relative tolerance per output dtype. */
const RTOL: Record<F, number> = { float32: 2e-6, float16: 1e-3, bfloat16: 8e-3 };

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, rtol: number, atol: number, what: string): void {
  expect(got.length).toBe(want.length);
  let first = '';
  for (let i = 0; i < want.length; i++) {
    const ok = Number.isNaN(want[i]) ? Number.isNaN(got[i]) : Math.abs(got[i] - want[i]) <= atol + rtol * Math.abs(want[i]);
    if (!ok) {
      first = `${what}[${i}]: got ${got[i]}, want ${want[i]}`;
      break;
    }
  }
  expect(first).toBe('');
}

const DTYPES: F[] = ['float32', 'bfloat16', 'float16'];

describe('rmsNorm', () => {
  for (const dtype of DTYPES) {
    for (const [T, D] of [
      [1, 37],
      [3, 64],
      [17, 1000],
      [1, 1],
    ] as const) {
      test(`rmsNorm ${dtype} [${T}, ${D}]`, async () => {
        const x = make([T, D], dtype, T * 7 + D, 3);
        const w = make([D], 'float32', D + 1);
        const want = refRmsNorm(x.v, w.v, D, 1e-5);
        const y = await rmsNorm(x.t, w.t);
        expect(y.dtype).toBe(dtype);
        expect(y.shape).toEqual([T, D]);
        expectClose(read(y), want, RTOL[dtype] * 2, 1e-6, 'y');
      });
    }
  }

  test('rmsNorm bfloat16 weight with float32 x [2, 3, 37], eps 0.5, in place', () => {
    const x = make([2, 3, 37], 'float32', 5);
    const w = make([37], 'bfloat16', 6);
    const want = refRmsNorm(x.v, w.v, 37, 0.5);
    const y = rmsNormSync(x.t, w.t, { eps: 0.5, out: x.t });
    expect(y).toBe(x.t);
    expectClose(read(x.t), want, 1e-5, 1e-6, 'y');
  });

  test('rmsNorm float32 [300, 1000] (the threaded path) into a bfloat16 out', () => {
    const x = make([300, 1000], 'float32', 8);
    const w = make([1000], 'float32', 9);
    const out = Tensor.zeros([300, 1000], { dtype: 'bfloat16' });
    rmsNormSync(x.t, w.t, { out });
    expectClose(read(out), refRmsNorm(x.v, w.v, 1000, 1e-5), RTOL.bfloat16, 1e-6, 'y');
  });
});

describe('rope', () => {
  const THETA = 10000;
  for (const style of ['interleaved', 'half'] as const) {
    for (const dtype of DTYPES) {
      test(`rope ${style} ${dtype} [17, 3, 64], positions 5 + s`, async () => {
        const x = make([17, 3, 64], dtype, 11);
        const want = refRope(x.v, [1, 17, 3, 64], (_b, s) => 5 + s, THETA, style === 'half');
        const y = await rope(x.t, { positions: 5, style });
        // Angles up to 21 rad in float32: |error| ~ 21 * 2^-24 per element, plus output rounding.
        expectClose(read(y), want, RTOL[dtype], 1e-5, 'y');
      });
    }

    test(`rope ${style} float32 [2, 3, 4, 38] with positions [B, S] tensor, theta 500000, in place; new contents are read`, async () => {
      const x = make([2, 3, 4, 38], 'float32', 12);
      const posData = new Int32Array([0, 7, 100, 3, 2, 1]);
      const pos = Tensor.from(posData, [2, 3]);
      const y = await rope(x.t, { positions: pos, theta: 500000, style, out: x.t });
      expect(y).toBe(x.t);
      expectClose(
        read(x.t),
        refRope(x.v, [2, 3, 4, 38], (b, s) => posData[b * 3 + s], 500000, style === 'half'),
        1e-5,
        2e-5,
        'y',
      );
      // The same call again after writing new positions into the same tensor: the native run reads them.
      const x2 = make([2, 3, 4, 38], 'float32', 13);
      const next = [1000, 1001, 1002, 9, 9, 9];
      (pos.toArraySync() as Int32Array).set(next);
      ropeSync(x2.t, { positions: pos, theta: 500000, style, out: x2.t });
      expectClose(
        read(x2.t),
        refRope(x2.v, [2, 3, 4, 38], (b, s) => next[b * 3 + s], 500000, style === 'half'),
        1e-5,
        2e-4,
        'y2',
      );
    });
  }

  test('rope interleaved matches llama2.c (run.c) on [3, 6, 48] at positions 0, 1, 777', () => {
    const x = make([3, 6, 48], 'float32', 14);
    const posData = new Int32Array([0, 1, 777]);
    const y = ropeSync(x.t, { positions: Tensor.from(posData, [3]) }).toArraySync() as Float32Array;
    for (let s = 0; s < 3; s++) {
      const row = Float32Array.from(x.v.subarray(s * 288, (s + 1) * 288));
      expectClose(y.subarray(s * 288, (s + 1) * 288), llama2cRope(row, 48, posData[s]), 0, 1e-6, `row ${s}`);
    }
  });

  test('rope positions [S] shared by every batch of [B, S, H, D]; negative position at run time is an error', () => {
    const x = make([2, 3, 1, 4], 'float32', 15);
    const posData = new Int32Array([4, 5, 6]);
    const pos = Tensor.from(posData, [3]);
    const y = ropeSync(x.t, { positions: pos, style: 'half' });
    expectClose(
      read(y),
      refRope(x.v, [2, 3, 1, 4], (_b, s) => posData[s], 10000, true),
      1e-6,
      1e-6,
      'y',
    );
    posData[1] = -1;
    const before = read(y);
    expectError(
      () => ropeSync(x.t, { positions: pos, out: y }),
      RangeError,
      'ERR_OUT_OF_RANGE',
      'Expected positions[1] >= 0 but received -1',
    );
    expect(read(y)).toEqual(before);
  });
});

describe('silu, swiglu, add', () => {
  for (const dtype of DTYPES) {
    for (const n of [1, 37, 5000]) {
      test(`silu / swiglu ${dtype} [${n}]`, async () => {
        const g = make([n], dtype, n, 6);
        const u = make([n], dtype, n + 1, 2);
        expectClose(read(await silu(g.t)), Array.from(g.v, refSilu), RTOL[dtype] * 2, 1e-6, 'silu');
        expectClose(
          read(await swiglu(g.t, u.t)),
          Array.from(g.v, (x, i) => refSilu(x) * u.v[i]),
          RTOL[dtype] * 2,
          1e-6,
          'swiglu',
        );
      });
    }
  }

  test('silu in place [70000] (threaded chunks); swiglu into gate; float16 up with float32 gate', () => {
    const x = make([70000], 'float32', 21, 8);
    siluSync(x.t, { out: x.t });
    expectClose(read(x.t), Array.from(x.v, refSilu), 2e-6, 1e-7, 'silu');
    const g = make([3, 37], 'float32', 22, 4);
    const u = make([3, 37], 'float16', 23);
    swigluSync(g.t, u.t, { out: g.t });
    expectClose(
      read(g.t),
      Array.from(g.v, (v, i) => refSilu(v) * u.v[i]),
      2e-6,
      1e-7,
      'swiglu',
    );
  });

  for (const dtype of DTYPES) {
    test(`add ${dtype}: same shape [17, 37], bias [37] broadcast, [3, 1000] over [2, 3, 1000]`, async () => {
      const a = make([17, 37], dtype, 31);
      const b = make([17, 37], dtype, 32);
      expectClose(
        read(await add(a.t, b.t)),
        Array.from(a.v, (x, i) => x + b.v[i]),
        RTOL[dtype],
        1e-7,
        'same',
      );
      const bias = make([37], 'float32', 33);
      expectClose(
        read(addSync(a.t, bias.t)),
        Array.from(a.v, (x, i) => x + bias.v[i % 37]),
        RTOL[dtype],
        1e-7,
        'bias',
      );
      const big = make([2, 3, 1000], dtype, 34);
      const b2 = make([3, 1000], dtype, 35);
      expectClose(
        read(addSync(big.t, b2.t)),
        Array.from(big.v, (x, i) => x + b2.v[i % 3000]),
        RTOL[dtype],
        1e-7,
        'suffix',
      );
    });
  }

  test('add residual in place (out = a) on [300, 1000] with a float32 bias', () => {
    const a = make([300, 1000], 'float32', 36);
    const b = make([1000], 'float32', 37);
    const y = addSync(a.t, b.t, { out: a.t });
    expect(y).toBe(a.t);
    expectClose(
      read(a.t),
      Array.from(a.v, (x, i) => x + b.v[i % 1000]),
      1e-7,
      1e-7,
      'y',
    );
  });
});

describe('softmax', () => {
  for (const dtype of DTYPES) {
    for (const [T, N] of [
      [1, 37],
      [3, 64],
      [17, 1000],
    ] as const) {
      test(`softmax ${dtype} [${T}, ${N}]`, async () => {
        const x = make([T, N], dtype, T + N, 10);
        const y = await softmax(x.t);
        expectClose(read(y), refSoftmax(x.v, N), RTOL[dtype] * 2 + 1e-5, 1e-7, 'y');
      });
    }
  }

  test('softmax is max-subtracted (values near 1e4 do not overflow), in place, rows sum to 1', () => {
    const x = make([3, 37], 'float32', 41, 20);
    const big = Tensor.from(
      Float32Array.from(x.v, (v) => v + 10000),
      [3, 37],
    );
    const want = refSoftmax(
      Array.from(x.v, (v) => Math.fround(v + 10000)),
      37,
    );
    softmaxSync(big, { out: big });
    const got = read(big);
    expectClose(got, want, 1e-5, 1e-7, 'y');
    for (let r = 0; r < 3; r++) expect(got.subarray(r * 37, r * 37 + 37).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
  });
});

describe('embedding', () => {
  for (const dtype of DTYPES) {
    test(`embedding ${dtype} table [50, 37], ids [17] -> float32 exact`, async () => {
      const table = make([50, 37], dtype, 51);
      const r = rng(52);
      const ids = Int32Array.from({ length: 17 }, () => Math.floor(r() * 50));
      const y = await embedding(table.t, Tensor.from(ids, [17]));
      expect(y.dtype).toBe('float32');
      expect(y.shape).toEqual([17, 37]);
      const want = new Float64Array(17 * 37);
      ids.forEach((id, t) => want.set(table.v.subarray(id * 37, id * 37 + 37), t * 37));
      expect(read(y)).toEqual(want);
    });
  }

  test('embedding ids [2, 3] into bfloat16; new ids contents are read; out-of-range id at run time writes nothing', () => {
    const table = make([10, 64], 'float32', 53);
    const ids = new Int32Array([9, 0, 3, 3, 1, 9]);
    const idsT = Tensor.from(ids, [2, 3]);
    const out = embeddingSync(table.t, idsT, { dtype: 'bfloat16' });
    expect(out.shape).toEqual([2, 3, 64]);
    const check = () => {
      const want = new Float64Array(6 * 64);
      ids.forEach((id, t) => want.set(table.v.subarray(id * 64, id * 64 + 64), t * 64));
      expectClose(read(out), want, RTOL.bfloat16, 0, 'y');
    };
    check();
    ids.set([1, 2, 3, 4, 5, 6]);
    embeddingSync(table.t, idsT, { out });
    check();
    const before = read(out);
    ids[4] = 10;
    expectError(
      () => embeddingSync(table.t, idsT, { out }),
      RangeError,
      'ERR_OUT_OF_RANGE',
      'Expected ids[4] in [0, 10) (the rows of table) but received 10',
    );
    ids[4] = -3;
    expectError(
      () => embeddingSync(table.t, idsT, { out }),
      RangeError,
      'ERR_OUT_OF_RANGE',
      'Expected ids[4] in [0, 10) (the rows of table) but received -3',
    );
    expect(read(out)).toEqual(before);
  });

  test('embedding async rejects an id out of range', async () => {
    const ids = Tensor.from(new Int32Array([0, 5]), [2]);
    await expect(embedding(Tensor.zeros([5, 4]), ids)).rejects.toMatchObject({
      code: 'ERR_OUT_OF_RANGE',
      message: 'Expected ids[1] in [0, 5) (the rows of table) but received 5',
    });
  });
});

describe('argmax, topk', () => {
  for (const dtype of DTYPES) {
    for (const [T, N] of [
      [1, 37],
      [3, 64],
      [17, 1000],
    ] as const) {
      test(`argmax / topk ${dtype} [${T}, ${N}]`, async () => {
        // Coarse values (multiples of 1/8) so that ties are common.
        const raw = makeData('float32', T * N, T * N).values.map((v) => Math.round(v * 16) / 8);
        const data = dtype === 'float32' ? Float32Array.from(raw) : toHalfBits(raw, dtype);
        const x = Tensor.from(data, [T, N], { dtype });
        const am = await argmax(x);
        expect(am.dtype).toBe('int32');
        expect(am.shape).toEqual([T]);
        const k = Math.min(5, N);
        const { values, indices } = await topk(x, k);
        for (let r = 0; r < T; r++) {
          const rank = refRanking(raw.subarray(r * N, r * N + N));
          expect((am.toArraySync() as Int32Array)[r]).toBe(rank[0]);
          expect(Array.from((indices.toArraySync() as Int32Array).subarray(r * k, r * k + k))).toEqual(rank.slice(0, k));
          expect(Array.from((values.toArraySync() as Float32Array).subarray(r * k, r * k + k))).toEqual(
            rank.slice(0, k).map((i) => raw[r * N + i]),
          );
        }
      });
    }
  }

  test('argmax over every row length 1..40 with NaN, ties, signed zeros and -Infinity planted at every place', () => {
    const rows: number[][] = [];
    for (let N = 1; N <= 40; N++)
      for (let at = 0; at < N; at++) {
        const base = Array.from({ length: N }, (_, j) => ((j * 7 + N) % 5) - 2); // ties everywhere
        rows.push(base.map((v, j) => (j === at ? NaN : v)));
        rows.push(base.map((v, j) => (j === at ? 9 : j === N - 1 - at ? 9 : v)));
        rows.push(base.map((v, j) => (j === at ? -0 : j > at ? 0 : -1)));
        rows.push(base.map((v, j) => (j === at ? -5 : -Infinity)));
      }
    rows.push(Array(33).fill(-Infinity));
    for (const row of rows) {
      const got = (argmaxSync(Tensor.from(row, [1, row.length])).toArraySync() as Int32Array)[0];
      expect([row.length, got]).toEqual([row.length, refRanking(row)[0]]);
    }
  });

  test('ties go to the lower index; NaN ranks above every number; -Infinity rows; k = N', () => {
    const x = Tensor.from([1, 3, 3, 2, NaN, 0, NaN, 5, -Infinity, -Infinity, -Infinity, -Infinity], [3, 4]);
    expect(Array.from(argmaxSync(x).toArraySync() as Int32Array)).toEqual([1, 0, 0]);
    const { values, indices } = topkSync(x, 4);
    expect(Array.from(indices.toArraySync() as Int32Array)).toEqual([1, 2, 3, 0, 0, 2, 3, 1, 0, 1, 2, 3]);
    expect(Array.from(values.toArraySync() as Float32Array)).toEqual([
      3,
      3,
      2,
      1,
      NaN,
      NaN,
      5,
      0,
      -Infinity,
      -Infinity,
      -Infinity,
      -Infinity,
    ]);
  });

  test('topk k = 1 of [2, 3, 1000] into given outputs equals argmax', () => {
    const x = make([2, 3, 1000], 'float32', 61);
    const values = Tensor.zeros([2, 3, 1]);
    const indices = Tensor.zeros([2, 3, 1], { dtype: 'int32' });
    const r = topkSync(x.t, 1, { values, indices });
    expect(r.values).toBe(values);
    expect(Array.from(indices.toArraySync() as Int32Array)).toEqual(Array.from(argmaxSync(x.t).toArraySync() as Int32Array));
    for (let i = 0; i < 6; i++)
      expect((values.toArraySync() as Float32Array)[i]).toBe(Math.max(...x.v.subarray(i * 1000, i * 1000 + 1000)));
  });
});

describe('kvAppend', () => {
  for (const [cd, xd] of [
    ['float32', 'float32'],
    ['bfloat16', 'float32'],
    ['float16', 'bfloat16'],
    ['float32', 'float16'],
  ] as const) {
    test(`kvAppend ${xd} -> ${cd} cache [9, 2, 37] at positions 0 then 3`, async () => {
      const cache = Tensor.zeros([9, 2, 37], { dtype: cd });
      const a = make([3, 2, 37], xd, 71);
      const b = make([1, 2, 37], xd, 72);
      expect(await kvAppend(cache, a.t)).toBe(cache);
      kvAppendSync(cache, b.t, { position: 3 });
      const want = new Float64Array(9 * 74);
      want.set(a.v, 0);
      want.set(b.v, 3 * 74);
      expectClose(read(cache), want, RTOL[cd], 0, 'cache');
    });
  }

  test('kvAppend seqDim 1, cache [2, 6, 3, 4], positions per batch from a tensor read at run time; out of range writes nothing', () => {
    const cache = Tensor.zeros([2, 6, 3, 4]);
    const x = make([2, 2, 3, 4], 'float32', 73);
    const posData = new Int32Array([0, 4]);
    const pos = Tensor.from(posData, [2]);
    kvAppendSync(cache, x.t, { position: pos, seqDim: 1 });
    const want = new Float64Array(2 * 6 * 12);
    const put = (b: number, p: number) => want.set(x.v.subarray(b * 24, b * 24 + 24), (b * 6 + p) * 12);
    put(0, 0);
    put(1, 4);
    expect(read(cache)).toEqual(want);
    posData.set([2, 1]);
    kvAppendSync(cache, x.t, { position: pos, seqDim: 1 });
    put(0, 2);
    put(1, 1);
    expect(read(cache)).toEqual(want);
    posData.set([0, 5]);
    expectError(
      () => kvAppendSync(cache, x.t, { position: pos, seqDim: 1 }),
      RangeError,
      'ERR_OUT_OF_RANGE',
      'Expected position[1] in [0, 4] (cache length 6 minus the 2 rows of x) but received 5',
    );
    posData.set([-1, 0]);
    expectError(
      () => kvAppendSync(cache, x.t, { position: pos, seqDim: 1 }),
      RangeError,
      'ERR_OUT_OF_RANGE',
      'Expected position[0] in [0, 4] (cache length 6 minus the 2 rows of x) but received -1',
    );
    expect(read(cache)).toEqual(want);
  });

  test('kvAppend position [1] tensor shared by every batch; a number past the end rejects', async () => {
    const cache = Tensor.zeros([2, 4, 5]);
    const x = make([2, 1, 5], 'float32', 74);
    kvAppendSync(cache, x.t, { position: Tensor.from(new Int32Array([3]), [1]), seqDim: 1 });
    const got = read(cache);
    expect(Array.from(got.subarray(15, 20))).toEqual(Array.from(x.v.subarray(0, 5)));
    expect(Array.from(got.subarray(35, 40))).toEqual(Array.from(x.v.subarray(5, 10)));
    await expect(kvAppend(cache, x.t, { position: 4, seqDim: 1 })).rejects.toMatchObject({
      name: 'RangeError',
      code: 'ERR_OUT_OF_RANGE',
      message: 'Expected position in [0, 3] (cache length 4 minus the 1 rows of x) but received 4',
    });
  });
});
