// int8Matmul / quantizeWeightsInt8 on every CPU kernel family this machine has, against the contract
// of test/reference/int8mm.ts: the weights' integers and scales exactly, outputs within the float32
// rounding bound of the contract (the integer part is exact: integer-valued data makes whole outputs
// exact), outlier columns, the shared epilogue, save / load, and the real stories260K layers.
import { Int8Weights, Tensor, int8Matmul, int8MatmulSync, quantizeWeightsInt8, quantizeWeightsInt8Sync } from '../lib';
import { native } from '../lib/binding';
import { randn } from './cases/w4a4';
import { cpuIsas, reportMissingIsas, testIf, withIsa } from './helpers/backends';
import { storiesLinears } from './helpers/stories';
import { RefInt8Options, refFloatMatmul, refInt8Matmul, refQuantizeWeightsInt8, relErr } from './reference/int8mm';

const abs = Math.abs;

/** got vs the contract: (|O| + 8) * 2^-24 * sum |terms| per element. */
function checkOut(label: string, got: ArrayLike<number>, ref: { out: Float64Array; mag: Float64Array; outliers: number[] }): void {
  let worst = 0,
    at = -1;
  for (let i = 0; i < ref.out.length; i++) {
    const tol = (ref.outliers.length + 8) * 2 ** -24 * ref.mag[i] + 1e-30;
    const r = abs(got[i] - ref.out[i]) / tol;
    if (!(r <= worst)) {
      worst = Number.isNaN(r) ? Infinity : r;
      at = i;
    }
  }
  if (worst > 1)
    throw new Error(`${label}: element ${at} = ${got[at]}, contract ${ref.out[at]} (error / tolerance ${worst.toExponential(2)})`);
}

interface Case {
  name: string;
  M: number;
  N: number;
  K: number;
  outliers?: number[]; // planted columns (x * 40)
}
const CASES: Case[] = [
  { name: '1x1x1', M: 1, N: 1, K: 1 },
  { name: 'decode 1x37x301', M: 1, N: 37, K: 301 },
  { name: '7x33x129', M: 7, N: 33, K: 129 },
  { name: '29x71x257 with outliers', M: 29, N: 71, K: 257, outliers: [0, 5, 200, 256] },
  { name: '97x65x67', M: 97, N: 65, K: 67 },
  { name: '130x130x513 with an outlier', M: 130, N: 130, K: 513, outliers: [300] },
  // N = 1 (gemm's skinny path with C as a row); K one past the wide int8 K block and M past its
  // small-M rule (each region's epilogue runs after its last K block)
  { name: '40x1x70 (N = 1)', M: 40, N: 1, K: 70 },
  { name: '250x50x4097', M: 250, N: 50, K: 4097 },
];

function caseData(cs: Case, seed: number) {
  const x = randn(cs.M * cs.K, seed);
  for (const k of cs.outliers ?? []) for (let m = 0; m < cs.M; m += 3) x[m * cs.K + k] *= 40;
  const w = randn(cs.N * cs.K, seed + 1, 0.05);
  return { x, w };
}

reportMissingIsas('int8mm');

describe('quantizeWeightsInt8', () => {
  test('values and scales are the contract quantizer exactly; dequantize is q * s in float32', async () => {
    const N = 13,
      K = 77;
    const w = randn(N * K, 3);
    w.fill(0, 2 * K, 3 * K); // a zero row: s = 0, q = 0
    const W = await quantizeWeightsInt8(Tensor.from(w, [N, K]));
    const r = refQuantizeWeightsInt8(w, N, K);
    expect(Array.from(W.values)).toEqual(Array.from(r.q));
    expect(Array.from(W.scales)).toEqual(Array.from(r.s));
    expect(W.scales[2]).toBe(0);
    const d = W.dequantize().toArraySync() as Float32Array;
    expect(d.length).toBe(N * K);
    for (let i = 0; i < N * K; i++) expect(d[i]).toBe(Math.fround(r.q[i] * r.s[Math.floor(i / K)]));
  });

  test('toBuffer / fromBuffer round trip, and the loaded weights compute the same', () => {
    const N = 9,
      K = 35;
    const W = quantizeWeightsInt8Sync(Tensor.from(randn(N * K, 4), [N, K]));
    const buf = W.toBuffer();
    expect(buf.length).toBe(16 + 316 + 36);
    const W2 = Int8Weights.fromBuffer(buf);
    expect([W2.N, W2.K]).toEqual([N, K]);
    expect(W2.values).toEqual(W.values);
    expect(W2.scales).toEqual(W.scales);
    expect(W2.packedLayout).toBe(W.packedLayout);
    const x = Tensor.from(randn(3 * K, 5), [3, K]);
    expect(int8MatmulSync(x, W2).toArraySync()).toEqual(int8MatmulSync(x, W).toArraySync());
    expect(Int8Weights.fromBuffer(buf.buffer.slice(0) as ArrayBuffer).values).toEqual(W.values);
  });

  test('empty weights', () => {
    for (const [N, K] of [
      [0, 5],
      [4, 0],
    ]) {
      const W = quantizeWeightsInt8Sync(Tensor.from(new Float32Array(N * K), [N, K]));
      expect([W.N, W.K, W.packedLayout]).toEqual([N, K, '']);
      expect(Int8Weights.fromBuffer(W.toBuffer()).N).toBe(N);
    }
  });
});

describe.each(cpuIsas())('int8Matmul on %s', (isa) => {
  test.each(CASES.map((c, i) => [c.name, c, i] as const))('%s matches the contract (threshold 6 and off)', async (_n, cs, i) => {
    await withIsa(isa, async () => {
      const { x, w } = caseData(cs, 10 + i);
      const { M, N, K } = cs;
      const W = quantizeWeightsInt8Sync(Tensor.from(w, [N, K]));
      const rw = refQuantizeWeightsInt8(w, N, K);
      for (const threshold of [6, Infinity]) {
        const ref = refInt8Matmul(x, M, K, rw, N, { threshold });
        if (threshold === 6) expect(ref.outliers).toEqual(cs.outliers ?? []);
        const y = (await int8Matmul(Tensor.from(x, [M, K]), W, { threshold })).toArraySync() as Float32Array;
        checkOut(`${isa} ${cs.name} threshold ${threshold}`, y, ref);
      }
      expect(native.debug.lastKernel('int8mm', 'cpu')).toContain(isa === 'avx512' ? 'avx512' : isa === 'avx2' ? 'avx2' : '');
    });
  });

  test('integer-valued data: exact outputs', async () => {
    await withIsa(isa, () => {
      // rows with max |x| = 127 and weights with max |w| = 127 quantize to themselves (s = 1)
      const M = 6,
        N = 40,
        K = 203;
      const x = Float32Array.from({ length: M * K }, (_, i) => (i % K === 0 ? 127 : ((i * 37) % 255) - 127));
      const w = Float32Array.from({ length: N * K }, (_, i) => (i % K === 1 ? -127 : ((i * 53) % 251) - 125));
      const W = quantizeWeightsInt8Sync(Tensor.from(w, [N, K]));
      expect(Array.from(W.scales).every((s) => s === 1)).toBe(true);
      const y = int8MatmulSync(Tensor.from(x, [M, K]), W, { threshold: Infinity }).toArraySync() as Float32Array;
      const f = refFloatMatmul(x, w, M, N, K);
      for (let i = 0; i < y.length; i++) expect(y[i]).toBe(f[i]); // |y| < 2^24: exact in float32
    });
  });

  test('epilogue: bias, alpha, beta * c, rank-3 x, out, c === out in place', async () => {
    await withIsa(isa, async () => {
      const B = 2,
        M = 5,
        N = 23,
        K = 97;
      const x = randn(B * M * K, 21);
      x[3 * K + 10] = -9; // an outlier column
      const w = randn(N * K, 22);
      const bias = randn(N, 23),
        c = randn(B * M * N, 24);
      const W = quantizeWeightsInt8Sync(Tensor.from(w, [N, K]));
      const rw = refQuantizeWeightsInt8(w, N, K);
      const o: RefInt8Options = { bias, c, alpha: 0.5, beta: -2 };
      const ref = refInt8Matmul(x, B * M, K, rw, N, o);
      expect(ref.outliers).toEqual([10]);
      const X = Tensor.from(x, [B, M, K]);
      const opts = { bias: Tensor.from(bias, [N]), c: Tensor.from(c, [B, M, N]), alpha: 0.5, beta: -2 };
      const y = await int8Matmul(X, W, opts);
      expect(y.shape).toEqual([B, M, N]);
      checkOut(`${isa} epilogue`, y.toArraySync() as Float32Array, ref);
      const out = Tensor.from(new Float32Array(B * M * N).fill(NaN), [B, M, N]);
      expect(int8MatmulSync(X, W, { ...opts, out })).toBe(out);
      checkOut(`${isa} epilogue into out`, out.toArraySync() as Float32Array, ref);
      const inplace = Tensor.from(Float32Array.from(c), [B, M, N]);
      int8MatmulSync(X, W, { ...opts, c: inplace, out: inplace });
      checkOut(`${isa} c === out`, inplace.toArraySync() as Float32Array, ref);
      // beta = 0 ignores c (NaN included)
      const cn = Tensor.from(new Float32Array(B * M * N).fill(NaN), [B, M, N]);
      const y0 = int8MatmulSync(X, W, { c: cn, beta: 0 }).toArraySync() as Float32Array;
      checkOut(`${isa} beta 0`, y0, refInt8Matmul(x, B * M, K, rw, N));
    });
  });
});

describe('int8Matmul edge cases', () => {
  test('empty shapes: M = 0, N = 0, and K = 0 (out = bias + beta c)', () => {
    const W = quantizeWeightsInt8Sync(Tensor.from(randn(4 * 6, 1), [4, 6]));
    expect(int8MatmulSync(Tensor.from(new Float32Array(0), [0, 6]), W).shape).toEqual([0, 4]);
    const W0 = quantizeWeightsInt8Sync(Tensor.from(new Float32Array(0), [0, 6]));
    expect(int8MatmulSync(Tensor.from(randn(12, 2), [2, 6]), W0).shape).toEqual([2, 0]);
    const Wk = quantizeWeightsInt8Sync(Tensor.from(new Float32Array(0), [3, 0]));
    const bias = Float32Array.of(1, 2, 3),
      c = Float32Array.of(1, 1, 1, 2, 2, 2);
    const y = int8MatmulSync(Tensor.from(new Float32Array(0), [2, 0]), Wk, {
      bias: Tensor.from(bias, [3]),
      c: Tensor.from(c, [2, 3]),
      beta: 2,
    });
    expect(Array.from(y.toArraySync() as Float32Array)).toEqual([3, 4, 5, 5, 6, 7]);
  });

  test('every column an outlier (x all above threshold): the float32 path alone', () => {
    const M = 3,
      N = 5,
      K = 16;
    const x = randn(M * K, 2).map((v) => (v < 0 ? v - 7 : v + 7));
    const w = randn(N * K, 3);
    const W = quantizeWeightsInt8Sync(Tensor.from(w, [N, K]));
    const ref = refInt8Matmul(x, M, K, refQuantizeWeightsInt8(w, N, K), N);
    expect(ref.outliers.length).toBe(K);
    checkOut('all outliers', int8MatmulSync(Tensor.from(x, [M, K]), W).toArraySync() as Float32Array, ref);
  });

  test('NaN in x: its row is NaN; Inf is an outlier (float path)', () => {
    const M = 3,
      N = 4,
      K = 8;
    const x = randn(M * K, 5);
    x[K + 2] = NaN;
    const W = quantizeWeightsInt8Sync(Tensor.from(randn(N * K, 6), [N, K]));
    const y = int8MatmulSync(Tensor.from(x, [M, K]), W).toArraySync() as Float32Array;
    for (let n = 0; n < N; n++) {
      expect(y[N + n]).toBeNaN();
      expect(Number.isFinite(y[n]) && Number.isFinite(y[2 * N + n])).toBe(true);
    }
    x[K + 2] = Infinity;
    const yi = int8MatmulSync(Tensor.from(x, [M, K]), W).toArraySync() as Float32Array;
    for (let n = 0; n < N; n++) expect(Number.isFinite(yi[n])).toBe(true); // row 0 only meets the finite x[0, 2]
  });

  test('weights packed for another ISA (stale layout) still give the same result', async () => {
    const isas = cpuIsas();
    const N = 40,
      K = 130,
      M = 50;
    const w = randn(N * K, 8),
      x = Tensor.from(randn(M * K, 9), [M, K]);
    const W = quantizeWeightsInt8Sync(Tensor.from(w, [N, K])); // packed for the best ISA
    const best = int8MatmulSync(x, W).toArraySync();
    for (const isa of isas) {
      const y = await withIsa(isa, () => int8MatmulSync(x, W).toArraySync());
      const Wi = await withIsa(isa, () => quantizeWeightsInt8Sync(Tensor.from(w, [N, K])));
      expect(y).toEqual(await withIsa(isa, () => int8MatmulSync(x, Wi).toArraySync()));
      checkOut(`stale ${isa}`, y as Float32Array, refInt8Matmul(x.toArraySync() as Float32Array, M, K, refQuantizeWeightsInt8(w, N, K), N));
    }
    expect(best).toEqual(int8MatmulSync(x, W).toArraySync());
  });
});

describe('int8Matmul on stories260K', () => {
  const lin = storiesLinears(16);
  testIf(lin !== null, 'stories260K: ../shared/data/models/stories260K.bin is absent')(
    'real weights x real activations: the contract, and W8A8 error well below W4A4-scale error',
    () => {
      const rows: string[] = [];
      for (const L of lin!.filter((l) => l.layer < 2)) {
        const x = Float32Array.from(L.x),
          T = x.length / L.K;
        const W = quantizeWeightsInt8Sync(Tensor.from(L.w, [L.N, L.K]));
        const rw = refQuantizeWeightsInt8(L.w, L.N, L.K);
        const y = int8MatmulSync(Tensor.from(x, [T, L.K]), W).toArraySync() as Float32Array;
        const ref = refInt8Matmul(x, T, L.K, rw, L.N);
        checkOut(`${L.name}${L.layer}`, y, ref);
        const e = relErr(y, refFloatMatmul(x, L.w, T, L.N, L.K));
        rows.push(`${L.name}${L.layer} rel err ${e.toFixed(4)} outlier columns ${ref.outliers.length}`);
        expect(e).toBeLessThan(0.03);
      }
      process.stderr.write(`int8mm stories260K:\n  ${rows.join('\n  ')}\n`);
    },
  );
});
