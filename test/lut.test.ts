// lutMatmul and quantizeWeights against the float64 reference (test/reference/lut.ts): the quantizer
// exactly, the product within the contract's bound, on every CPU kernel family, bits 1..4, odd K,
// group tails, rank-3 and bfloat16 x, the shared epilogue, empty shapes and the real stories260K layers.
import { LowBitWeights, Tensor, lutMatmul, lutMatmulSync, quantizeWeights, quantizeWeightsSync, recordGraph } from '../lib';
import { native } from '../lib/binding';
import { RefEpilogue, RefLowBit, refLut, refQuantizeLowBit } from './reference/lut';
import { cpuIsas, printSkip, reportMissingIsas, withIsa } from './helpers/backends';
import { makeData, rng } from './helpers/data';
import { storiesLinears } from './helpers/stories';

const BITS = [1, 2, 3, 4] as const;

function weights(N: number, K: number, seed: number): Float32Array {
  const r = rng(seed);
  const w = new Float32Array(N * K);
  for (let i = 0; i < w.length; i++) w[i] = Math.fround((r() * 2 - 1) * (1 + (i % 7)));
  return w;
}

/** Every q and s of w equal the reference quantizer's. */
function expectSameQuant(w: LowBitWeights, ref: RefLowBit): void {
  const { N, K } = ref;
  let bad = 0;
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < ref.G; g++) if (w.scale(n, g) !== ref.s[n * ref.G + g]) bad++;
    for (let k = 0; k < K; k++) if (w.q(n, k) !== ref.q[n * K + k]) bad++;
  }
  expect(bad).toBe(0);
}

/** Max of |got - y| / bound over the elements (must be <= 1), and a check the bound is not vacuous. */
function expectWithin(got: Float32Array, r: { y: Float64Array; bound: Float64Array }): number {
  expect(got.length).toBe(r.y.length);
  let worst = 0,
    maxY = 0,
    maxBound = 0;
  for (let i = 0; i < got.length; i++) {
    maxY = Math.max(maxY, Math.abs(r.y[i]));
    maxBound = Math.max(maxBound, r.bound[i]);
    const e = Math.abs(got[i] - r.y[i]);
    if (!(e <= r.bound[i])) throw new Error(`element ${i}: got ${got[i]}, exact ${r.y[i]}, error ${e} > bound ${r.bound[i]}`);
    worst = Math.max(worst, r.bound[i] ? e / r.bound[i] : 0);
  }
  // The bound stays far below the values it bounds (a loose bound would pass anything).
  expect(maxBound).toBeLessThanOrEqual(4e-3 * maxY);
  return worst;
}

describe('quantizeWeights contract', () => {
  test.each(BITS)('%i-bit: scales and q exactly the contract, group tails, ties, zeros, -0', (bits) => {
    const N = 19,
      K = 37,
      gs = 8; // 5 groups, the last of 5
    const w = weights(N, K, 11 + bits);
    // Row 0 all zeros (s = 0), row 1 exact half steps (ties to even), row 2 -0 and 0 mixed.
    for (let k = 0; k < K; k++) {
      w[k] = 0;
      w[K + k] = (k % 8) * 0.5 - 1.75;
      w[2 * K + k] = k % 2 ? -0 : 0.25 * (k % 3);
    }
    const q = quantizeWeightsSync(Tensor.from(w, [N, K]), { bits, groupSize: gs });
    expect([q.N, q.K, q.bits, q.groupSize, q.groups]).toEqual([N, K, bits, gs, 5]);
    const ref = refQuantizeLowBit(w, N, K, bits, gs);
    expectSameQuant(q, ref);
    if (bits === 1) expect(q.q(2, 1)).toBe(1); // sign(-0) = +1
    // dequantize() is q * s rounded once to float32
    const d = q.dequantize().toArraySync() as Float32Array;
    let bad = 0;
    for (let n = 0; n < N; n++)
      for (let k = 0; k < K; k++) if (d[n * K + k] !== Math.fround(ref.q[n * K + k] * ref.s[n * ref.G + Math.floor(k / gs)])) bad++;
    expect(bad).toBe(0);
  });

  test("groupSize 'channel', groupSize > K, async form, toBuffer / fromBuffer round trip", async () => {
    const N = 21,
      K = 30;
    const w = Tensor.from(weights(N, K, 5), [N, K]);
    const a = await quantizeWeights(w, { bits: 3, groupSize: 'channel' });
    const b = quantizeWeightsSync(w, { bits: 3, groupSize: 1000 });
    expect(a.groups).toBe(1);
    expect(b.groups).toBe(1);
    expectSameQuant(a, refQuantizeLowBit(w.toArraySync() as Float32Array, N, K, 3, K));
    expect(Array.from(b.dequantize().toArraySync() as Float32Array)).toEqual(Array.from(a.dequantize().toArraySync() as Float32Array));
    const c = LowBitWeights.fromBuffer(a.toBuffer());
    expect([c.N, c.K, c.bits, c.groupSize]).toEqual([N, K, 3, K]);
    expect(Buffer.from(c.planes).equals(Buffer.from(a.planes))).toBe(true);
    expect(Array.from(c.scales)).toEqual(Array.from(a.scales));
    const x = Tensor.from(makeData('float32', 3 * K, 9).data as Float32Array, [3, K]);
    expect(Array.from(lutMatmulSync(x, c).toArraySync() as Float32Array)).toEqual(
      Array.from(lutMatmulSync(x, a).toArraySync() as Float32Array),
    );
    // An ArrayBuffer works too.
    const buf = a.toBuffer();
    expect(LowBitWeights.fromBuffer(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer).scales.length).toBe(
      a.scales.length,
    );
  });
});

// [M, N, K, groupSize]: odd K, K % 4 != 0, group tails, groups not a multiple of 4, whole-word
// groups (groupSize a multiple of 32) with and without a tail, more than 4 tokens (token chunks).
const CASES: [number, number, number, number][] = [
  [1, 33, 37, 8],
  [3, 17, 130, 64],
  [5, 40, 256, 128],
  [2, 16, 21, 6],
  [9, 50, 300, 32],
  [4, 7, 3, 4],
];

describe.each(cpuIsas())('lutMatmul on %s', (isa) => {
  reportMissingIsas('lutMatmul');
  test.each(BITS)('%i-bit: every case within the bound of the float64 reference', async (bits) => {
    await withIsa(isa, async () => {
      for (const [M, N, K, gs] of CASES) {
        const w = weights(N, K, 100 + N);
        const q = quantizeWeightsSync(Tensor.from(w, [N, K]), { bits, groupSize: gs });
        const ref = refQuantizeLowBit(w, N, K, bits, gs);
        const x = makeData('float32', M * K, 7 + K);
        const got = lutMatmulSync(Tensor.from(x.data as Float32Array, [M, K]), q).toArraySync() as Float32Array;
        expectWithin(got, refLut(x.values, M, ref));
        expect(native.debug.lastKernel('lut', 'cpu')).toMatch(
          isa === 'avx512' ? /avx512/ : isa === 'avx2' ? /avx2/ : isa === 'neon' ? /neon/ : /scalar/,
        );
      }
    });
  });

  test('rank-3 and bfloat16 x, the epilogue (bias, c, beta, alpha, out, c === out), async', async () => {
    await withIsa(isa, async () => {
      const B = 2,
        M = 3,
        N = 35,
        K = 70,
        gs = 16;
      const w = weights(N, K, 3);
      const q = quantizeWeightsSync(Tensor.from(w, [N, K]), { bits: 2, groupSize: gs });
      const ref = refQuantizeLowBit(w, N, K, 2, gs);
      const xb = makeData('bfloat16', B * M * K, 4);
      const x = Tensor.from(xb.data as Uint16Array, [B, M, K], { dtype: 'bfloat16' });
      const bias = makeData('float32', N, 5),
        c = makeData('float32', B * M * N, 6);
      const e: RefEpilogue = { bias: bias.values, c: c.values, alpha: 0.75, beta: -1.5 };
      const y = await lutMatmul(x, q, {
        bias: Tensor.from(bias.data as Float32Array, [N]),
        c: Tensor.from(c.data as Float32Array, [B, M, N]),
        alpha: 0.75,
        beta: -1.5,
      });
      expect(y.shape).toEqual([B, M, N]);
      expectWithin(y.toArraySync() as Float32Array, refLut(xb.values, B * M, ref, e));
      // c === out: the in-place residual add.
      const out = Tensor.from(Float32Array.from(c.data as Float32Array), [B, M, N]);
      const r = lutMatmulSync(x, q, { c: out, out, alpha: 0.75, beta: -1.5, bias: Tensor.from(bias.data as Float32Array, [N]) });
      expect(r).toBe(out);
      expectWithin(out.toArraySync() as Float32Array, refLut(xb.values, B * M, ref, e));
    });
  });
});

describe('lutMatmul shapes and real data', () => {
  test('empty shapes: M = 0, N = 0, K = 0 (the epilogue still writes out)', () => {
    const q0 = quantizeWeightsSync(Tensor.from(new Float32Array(0), [0, 8]), { bits: 2, groupSize: 4 });
    expect(lutMatmulSync(Tensor.from(new Float32Array(24), [3, 8]), q0).shape).toEqual([3, 0]);
    const q = quantizeWeightsSync(Tensor.from(weights(5, 8, 1), [5, 8]), { bits: 2, groupSize: 4 });
    expect(lutMatmulSync(Tensor.from(new Float32Array(0), [0, 8]), q).shape).toEqual([0, 5]);
    const qk = quantizeWeightsSync(Tensor.from(new Float32Array(0), [5, 0]), { bits: 4, groupSize: 4 });
    const bias = Tensor.from(Float32Array.from([1, 2, 3, 4, 5]), [5]);
    const y = lutMatmulSync(Tensor.from(new Float32Array(0), [2, 0]), qk, { bias });
    expect(Array.from(y.toArraySync() as Float32Array)).toEqual([1, 2, 3, 4, 5, 1, 2, 3, 4, 5]);
  });

  test('more tokens than one 16 MiB table chunk (M = 300, K = 4096), with c offset per chunk', () => {
    const [M, N, K, gs] = [300, 17, 4096, 128];
    const w = weights(N, K, 21);
    const q = quantizeWeightsSync(Tensor.from(w, [N, K]), { bits: 2, groupSize: gs });
    const ref = refQuantizeLowBit(w, N, K, 2, gs);
    const x = makeData('float32', M * K, 22),
      c = makeData('float32', M * N, 23);
    const y = lutMatmulSync(Tensor.from(x.data as Float32Array, [M, K]), q, { c: Tensor.from(c.data as Float32Array, [M, N]), beta: 0.5 });
    expectWithin(y.toArraySync() as Float32Array, refLut(x.values, M, ref, { c: c.values, beta: 0.5 }));
  });

  test('recordGraph: lutMatmulSync records, replays and reads new x contents', () => {
    const [M, N, K] = [2, 20, 40];
    const w = weights(N, K, 8);
    const q = quantizeWeightsSync(Tensor.from(w, [N, K]), { bits: 3, groupSize: 16 });
    const ref = refQuantizeLowBit(w, N, K, 3, 16);
    const X = Tensor.zeros([M, K]);
    const g = recordGraph(() => lutMatmulSync(X, q));
    expect(g.ops).toEqual(['tensorkern:lutMatmul']);
    const x = makeData('float32', M * K, 12);
    (X.toArraySync() as Float32Array).set(x.data as Float32Array);
    g.run();
    expectWithin(g.result.toArraySync() as Float32Array, refLut(x.values, M, ref));
    g.dispose();
  });

  test('real stories260K layers (weights and their real inputs), 2 and 4 bits', () => {
    const layers = storiesLinears(8);
    if (!layers) {
      printSkip('lutMatmul on stories260K: ../shared/data/models/stories260K.bin is missing');
      return;
    }
    let n = 0;
    for (const L of layers.filter((l) => l.layer === 0)) {
      for (const bits of [2, 4] as const) {
        const gs = 32;
        const q = quantizeWeightsSync(Tensor.from(L.w, [L.N, L.K]), { bits, groupSize: gs });
        const ref = refQuantizeLowBit(L.w, L.N, L.K, bits, gs);
        expectSameQuant(q, ref);
        const T = L.x.length / L.K;
        const x32 = Float32Array.from(L.x);
        const got = lutMatmulSync(Tensor.from(x32, [T, L.K]), q).toArraySync() as Float32Array;
        expectWithin(got, refLut(x32, T, ref));
        n++;
      }
    }
    expect(n).toBeGreaterThanOrEqual(10);
  });
});
