// monarchMatmul against the float64 reference on odd shapes (p != q, r != l, batch 1, 7, 33 and a
// batch of whole row tiles), every dtype and CPU kernel family, within the float32 accumulation bound
// of both stages; projectMonarch on a matrix that is Monarch (error ~0, its factors reproduce it) and
// on a random one (the error it reports is the factors' error, and no worse than a simpler fit).
import {
  Tensor,
  castSync,
  getNumThreads,
  monarchMatmul,
  monarchMatmulSync,
  projectMonarch,
  projectMonarchSync,
  setNumThreads,
} from '../lib';
import { native } from '../lib/binding';
import { cpuIsas, withIsa } from './helpers/backends';
import { makeData, rng } from './helpers/data';
import { MonarchDims, refMonarch, refMonarchDense } from './reference/monarch';

type F = 'float32' | 'float16' | 'bfloat16';
const SHAPES: MonarchDims[] = [
  { k: 3, q: 5, p: 4, l: 5, s: 6, r: 3 },
  { k: 4, q: 6, p: 7, l: 8, s: 5, r: 3 },
  { k: 2, q: 9, p: 33, l: 3, s: 17, r: 6 },
  { k: 2, q: 40, p: 20, l: 16, s: 35, r: 5 }, // q, s past one microkernel row panel
  { k: 2, q: 3, p: 300, l: 2, s: 5, r: 3 }, // p past one K cache block
];
const ULP = { float32: 2 ** -24, float16: 2 ** -11, bfloat16: 2 ** -8 };

function check(got: ArrayLike<number>, ref: ReturnType<typeof refMonarch>, d: MonarchDims, out: F): void {
  expect(got.length).toBe(ref.out.length);
  const acc = (d.p + d.r + 8) * ULP.float32;
  let worst = 0;
  for (let i = 0; i < got.length; i++) {
    const tol = acc * ref.absSum[i] + ULP[out] * Math.abs(ref.out[i]) + 1e-30;
    worst = Math.max(worst, Math.abs(got[i] - ref.out[i]) / tol);
  }
  expect(worst).toBeLessThanOrEqual(1);
}

function decodeOut(t: Tensor): Float64Array {
  const f32 = t.dtype === 'float32' ? t : castSync(t, 'float32');
  return Float64Array.from(f32.toArraySync() as Float32Array);
}

function build(d: MonarchDims, batch: number, dt: { x: F; w1: F; w2: F }, seed: number) {
  const n = d.k * d.p;
  const xd = makeData(dt.x, batch * n, seed),
    w1d = makeData(dt.w1, d.k * d.q * d.p, seed + 1),
    w2d = makeData(dt.w2, d.l * d.s * d.r, seed + 2);
  return {
    x: Tensor.from(xd.data, [batch, n], { dtype: dt.x } as never),
    w1: Tensor.from(w1d.data, [d.k, d.q, d.p], { dtype: dt.w1 } as never),
    w2: Tensor.from(w2d.data, [d.l, d.s, d.r], { dtype: dt.w2 } as never),
    ref: refMonarch(xd.values, w1d.values, w2d.values, batch, d),
  };
}

describe('monarchMatmul', () => {
  for (const isa of cpuIsas()) {
    test(`odd shapes, batch 1, 7, 33 and 300, float32 (${isa})`, async () => {
      await withIsa(isa, async () => {
        let seed = 1;
        for (const d of SHAPES)
          for (const batch of [1, 7, 33, 300]) {
            if (batch === 300 && d.p === 300) continue; // the reference's cost, nothing new
            const c = build(d, batch, { x: 'float32', w1: 'float32', w2: 'float32' }, (seed += 3));
            const y = batch === 7 ? await monarchMatmul(c.x, c.w1, c.w2) : monarchMatmulSync(c.x, c.w1, c.w2);
            expect(y.shape).toEqual([batch, d.l * d.s]);
            expect(y.dtype).toBe('float32');
            check(y.toArraySync() as Float32Array, c.ref, d, 'float32');
          }
        expect(native.debug.lastKernel('monarch', 'cpu')).toMatch(isa === 'avx512' ? /avx512/ : isa === 'avx2' ? /avx2/ : /./);
      });
    });
  }

  test('float16 / bfloat16 / mixed inputs, and float16 / bfloat16 out', () => {
    const d = SHAPES[2];
    const combos: { x: F; w1: F; w2: F; out: F }[] = [
      { x: 'float16', w1: 'float16', w2: 'float16', out: 'float32' },
      { x: 'bfloat16', w1: 'bfloat16', w2: 'bfloat16', out: 'bfloat16' },
      { x: 'bfloat16', w1: 'float32', w2: 'float16', out: 'float16' },
      { x: 'float32', w1: 'bfloat16', w2: 'float32', out: 'float32' },
    ];
    let seed = 100;
    for (const cb of combos)
      for (const batch of [1, 33]) {
        const c = build(d, batch, cb, (seed += 3));
        const out = Tensor.zeros([batch, d.l * d.s], { dtype: cb.out });
        const y = monarchMatmulSync(c.x, c.w1, c.w2, { out });
        expect(y).toBe(out);
        check(decodeOut(y), c.ref, d, cb.out);
      }
  });

  test('leading dims of x are batch dims; rank 1 is one row', async () => {
    const d = SHAPES[1];
    const c = build(d, 6, { x: 'float32', w1: 'float32', w2: 'float32' }, 7);
    const x3 = c.x.reshape([2, 3, d.k * d.p]);
    const y3 = await monarchMatmul(x3, c.w1, c.w2);
    expect(y3.shape).toEqual([2, 3, d.l * d.s]);
    check(y3.toArraySync() as Float32Array, c.ref, d, 'float32');
    const x1 = Tensor.from((c.x.toArraySync() as Float32Array).slice(0, d.k * d.p), [d.k * d.p]);
    const y1 = monarchMatmulSync(x1, c.w1, c.w2);
    expect(y1.shape).toEqual([d.l * d.s]);
    const one = { out: c.ref.out.slice(0, d.l * d.s), absSum: c.ref.absSum.slice(0, d.l * d.s) };
    check(y1.toArraySync() as Float32Array, one, d, 'float32');
  });

  test('async and sync agree bit for bit; one thread and the pool agree', async () => {
    const d = SHAPES[3];
    const c = build(d, 300, { x: 'float32', w1: 'float32', w2: 'float32' }, 11);
    const a = (await monarchMatmul(c.x, c.w1, c.w2)).toArraySync() as Float32Array;
    const b = monarchMatmulSync(c.x, c.w1, c.w2).toArraySync() as Float32Array;
    expect(Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength))).toBe(true);
    const before = getNumThreads();
    setNumThreads(1);
    try {
      const s = monarchMatmulSync(c.x, c.w1, c.w2).toArraySync() as Float32Array;
      check(s, c.ref, d, 'float32');
    } finally {
      setNumThreads(before);
    }
  });

  test('empty dims: no rows, an empty inner sum', () => {
    const d = SHAPES[0];
    const c = build(d, 1, { x: 'float32', w1: 'float32', w2: 'float32' }, 3);
    expect(monarchMatmulSync(Tensor.zeros([0, d.k * d.p]), c.w1, c.w2).shape).toEqual([0, d.l * d.s]);
    // p = 0: x [3, 0], u = 0, y = 0 (out is pre-filled with garbage to see it written)
    const out = Tensor.from(new Float32Array(3 * 4 * 2).fill(7), [3, 8]);
    monarchMatmulSync(Tensor.zeros([3, 0]), Tensor.zeros([2, 2, 0]), Tensor.zeros([4, 2, 1]), { out });
    expect(Array.from(out.toArraySync() as Float32Array).every((v) => v === 0)).toBe(true);
  });
});

// ---- projectMonarch ----------------------------------------------------------------------------

function frob(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return Math.sqrt(s);
}
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const d = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) d[i] = a[i] - b[i];
  return frob(d) / frob(b);
}
const dimsOf = (blocks: number, nOut: number, nIn: number): MonarchDims => ({
  k: blocks,
  q: blocks,
  p: nIn / blocks,
  l: blocks,
  s: nOut / blocks,
  r: blocks,
});

// A simpler fit the projection must not lose to: each rank-one sub-block from its heaviest row
// (v = that row normalized, u = G v), which is a Monarch matrix too.
function heaviestRowError(W: Float64Array, nOut: number, nIn: number, blocks: number): number {
  const d = dimsOf(blocks, nOut, nIn);
  let res = 0;
  for (let a = 0; a < d.l; a++)
    for (let i = 0; i < d.k; i++) {
      const G = (dd: number, t: number) => W[(dd * d.l + a) * nIn + i * d.p + t];
      let best = -1,
        row = 0;
      for (let dd = 0; dd < d.s; dd++) {
        let n2 = 0;
        for (let t = 0; t < d.p; t++) n2 += G(dd, t) ** 2;
        if (n2 > best) ((best = n2), (row = dd));
      }
      const v = Array.from({ length: d.p }, (_, t) => G(row, t) / Math.sqrt(best || 1));
      for (let dd = 0; dd < d.s; dd++) {
        let u = 0;
        for (let t = 0; t < d.p; t++) u += G(dd, t) * v[t];
        for (let t = 0; t < d.p; t++) res += (G(dd, t) - u * v[t]) ** 2;
      }
    }
  return Math.sqrt(res) / frob(W);
}

describe('projectMonarch', () => {
  test('a Monarch matrix: error ~0 and the factors reproduce it', async () => {
    for (const [blocks, nOut, nIn] of [
      [3, 15, 12],
      [4, 8, 20],
      [2, 6, 6],
    ]) {
      const d = dimsOf(blocks, nOut, nIn);
      const r = rng(blocks * 31 + nIn);
      const w1 = Float64Array.from({ length: d.k * d.q * d.p }, () => Math.fround(r() * 2 - 1));
      const w2 = Float64Array.from({ length: d.l * d.s * d.r }, () => Math.fround(r() * 2 - 1));
      const M = refMonarchDense(w1, w2, d);
      const W = Tensor.from(Float32Array.from(M), [nOut, nIn]);
      const f = await projectMonarch(W, { blocks });
      expect(f.w1.shape).toEqual([d.k, d.q, d.p]);
      expect(f.w2.shape).toEqual([d.l, d.s, d.r]);
      expect(f.error).toBeLessThan(1e-5);
      const M2 = refMonarchDense(f.w1.toArraySync() as Float32Array, f.w2.toArraySync() as Float32Array, d);
      expect(relErr(M2, Float32Array.from(M))).toBeLessThan(1e-5);
      // and monarchMatmul with them is x @ W^T
      const x = makeData('float32', 5 * nIn, 9);
      const y = monarchMatmulSync(Tensor.from(x.data as Float32Array, [5, nIn]), f.w1, f.w2).toArraySync() as Float32Array;
      const want = new Float64Array(5 * nOut);
      for (let b = 0; b < 5; b++)
        for (let o = 0; o < nOut; o++) for (let t = 0; t < nIn; t++) want[b * nOut + o] += x.values[b * nIn + t] * M[o * nIn + t];
      expect(relErr(y, want)).toBeLessThan(1e-5);
    }
  });

  test('a random matrix: the reported error is the factors error, bounded, and beats a simpler fit', () => {
    for (const [blocks, nOut, nIn] of [
      [3, 12, 18],
      [4, 32, 16],
    ]) {
      const d = dimsOf(blocks, nOut, nIn);
      const wd = makeData('float32', nOut * nIn, blocks + nIn);
      const f = projectMonarchSync(Tensor.from(wd.data as Float32Array, [nOut, nIn]), { blocks });
      const M = refMonarchDense(f.w1.toArraySync() as Float32Array, f.w2.toArraySync() as Float32Array, d);
      const actual = relErr(M, wd.values);
      expect(Math.abs(f.error - actual)).toBeLessThan(1e-5);
      expect(f.error).toBeGreaterThan(0.3); // a random matrix is far from Monarch
      expect(f.error).toBeLessThan(1);
      expect(f.error).toBeLessThanOrEqual(heaviestRowError(wd.values, nOut, nIn, blocks) + 1e-6);
    }
  });

  test('bfloat16 input and a zero matrix', () => {
    const wd = makeData('bfloat16', 8 * 8, 5);
    const f = projectMonarchSync(Tensor.from(wd.data as Uint16Array, [8, 8], { dtype: 'bfloat16' }), { blocks: 2 });
    const M = refMonarchDense(f.w1.toArraySync() as Float32Array, f.w2.toArraySync() as Float32Array, dimsOf(2, 8, 8));
    expect(Math.abs(f.error - relErr(M, wd.values))).toBeLessThan(1e-5);
    const z = projectMonarchSync(Tensor.zeros([4, 6]), { blocks: 2 });
    expect(z.error).toBe(0);
    expect(Array.from(z.w1.toArraySync() as Float32Array).every((v) => v === 0)).toBe(true);
  });
});
