// W4A4 / W4A8 / weight-only on every CPU kernel family this machine has, against the exact
// quantization contract of test/reference/w4a4.ts: the weights' and activations' integers must be
// the contract's exactly (integer-valued data makes whole outputs exact), the float epilogue within
// a float32 bound; plus rotation, save/load, MatMulNBits and the real stories260K weights.
import * as fs from 'fs';
import * as path from 'path';
import {
  Int4Weights,
  Tensor,
  int4Matmul,
  int4MatmulSync,
  quantizeActivationsInt4,
  quantizeWeightsInt4,
  quantizeWeightsInt4Sync,
  w4a4Matmul,
  w4a4MatmulSync,
  w4a8Matmul,
  w4a8MatmulSync,
} from '../lib';
import { native } from '../lib/binding';
import { hadamardRotate, rotationBlock } from '../lib/quant/hadamard';
import { W4A4Case, randn, w4a4Case, w4a4CaseData, w4a4TestCases } from './cases/w4a4';
import { cpuIsas, printSkip, reportMissingIsas, testIf, withIsa } from './helpers/backends';
import { makeData, rng } from './helpers/data';
import { storiesLinears } from './helpers/stories';
import {
  hadamardEntry,
  refHadamard,
  refMatmul,
  refQuantizeActs,
  refQuantizeWeights,
  refRotationBlock,
  refW4A4,
  relError,
} from './reference/w4a4';

const abs = Math.abs,
  floor = Math.floor;

const build = w4a4CaseData;

/** Output vs the contract: the float32 epilogue bound (G + 16) * 2^-24 * sum |terms|. */
function checkOut(label: string, got: ArrayLike<number>, ref: { out: Float64Array; mag: Float64Array; G: number }): void {
  let worst = 0,
    at = -1;
  for (let i = 0; i < ref.out.length; i++) {
    const tol = (ref.G + 16) * 2 ** -24 * ref.mag[i] + 1e-30;
    const r = abs(got[i] - ref.out[i]) / tol;
    if (!(r <= worst)) {
      worst = Number.isNaN(r) ? Infinity : r;
      at = i;
    }
  }
  if (worst > 1)
    throw new Error(`${label}: element ${at} = ${got[at]}, contract ${ref.out[at]} (error / tolerance ${worst.toExponential(2)})`);
}

const CASES = w4a4TestCases();

describe('w4a4 quantizer contract', () => {
  test.each(CASES.map((c, i) => [c.name, c, i] as const))('weights of %s match the contract exactly', (_n, cs, i) => {
    const { W, rw } = build(cs, 100 + i);
    const { N, K } = cs;
    let diff = 0;
    for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) if (W.q(n, k) !== rw.q[n * K + k]) diff++;
    expect(diff).toBe(0);
    expect(Array.from(W.scales)).toEqual(Array.from(rw.s));
    if (cs.outliers) {
      expect(Array.from(W.outlierWeights!)).toEqual(Array.from(rw.qo));
      expect(Array.from(W.outlierScales!)).toEqual(Array.from(rw.so));
    }
  });

  test('quantizeActivationsInt4 matches the contract (4 and 8 bits, rotated, zero and NaN rows)', () => {
    const M = 6,
      K = 200;
    const x = randn(M * K, 7);
    x.fill(0, K, 2 * K); // row 1 all zero
    x[3 * K + 5] = NaN; // row 3 holds a NaN
    const w = quantizeWeightsInt4Sync(Tensor.from(randn(4 * K, 8), [4, K]), { groupSize: 8, rotate: 'hadamard' });
    for (const bits of [4, 8] as const) {
      for (const rot of [undefined, w]) {
        const got = quantizeActivationsInt4(Tensor.from(x, [M, K]), { bits, rotateLike: rot });
        const ref = refQuantizeActs(x, M, K, bits, rot ? rot.rotationBlock : 0);
        expect(Array.from(got.values)).toEqual(Array.from(ref.q));
        expect(Array.from(got.scales)).toEqual(Array.from(ref.s));
        expect(got.scales[1]).toBe(0);
        expect(Number.isNaN(got.scales[3])).toBe(true);
      }
    }
    const q4 = quantizeActivationsInt4(Tensor.from(x, [M, K]));
    expect(((q4.packed![0] & 15) ^ 8) - 8).toBe(q4.values[0]);
    expect(((q4.packed![0] >> 4) ^ 8) - 8).toBe(q4.values[1]);
  });
});

describe('w4a4 cpu', () => {
  reportMissingIsas('w4a4');
  for (const isa of cpuIsas()) {
    describe(isa, () => {
      test.each(CASES.map((c, i) => [c.name, c, i] as const))('%s', (_n, cs, i) =>
        withIsa(isa, async () => {
          const b = build(cs, 100 + i);
          const x = Tensor.from(b.x, [cs.M, cs.K]);
          const bias = b.bias && Tensor.from(b.bias, [cs.N]);
          const y = cs.bits === 8 ? await w4a8Matmul(x, b.W, { bias }) : await w4a4Matmul(x, b.W, { bias, outlierChannels: cs.outliers });
          checkOut(`${isa} ${cs.name}`, y.toArraySync() as Float32Array, b.ref);
          const ys = (cs.bits === 8 ? w4a8MatmulSync : w4a4MatmulSync)(x, b.W, { bias });
          checkOut(`${isa} ${cs.name} sync`, ys.toArraySync() as Float32Array, b.ref);
        }),
      );

      // Integer data with max |v| = 7 per row (127 for 8 bits) and per weight group: every scale is 1,
      // the integer parts are the whole output, and it must be exact.
      test.each([
        [1, 5, 130, 'channel', 4],
        [6, 7, 4096, 'channel', 4],
        [5, 9, 96, 32, 4],
        [3, 4, 512, 128, 4],
        [4, 6, 256, 64, 8],
        [2, 3, 8192, 'channel', 8],
      ] as const)('exact integer parts %ix%ix%i group %s a%i', (M, N, K, g, bits) =>
        withIsa(isa, async () => {
          const r = rng(M * N + K);
          const qmax = bits === 8 ? 127 : 7,
            gs = g === 'channel' ? K : g;
          const x = new Float32Array(M * K).map(() => floor(r() * (2 * qmax + 2)) - qmax - 1);
          const w = new Float32Array(N * K).map(() => floor(r() * 16) - 8);
          for (let m = 0; m < M; m++) x[m * K + ((m * 13) % K)] = qmax; // max |x| = qmax exactly, as is -qmax - 1 -> clamp check below
          for (let m = 0; m < M; m++) for (let k = 0; k < K; k++) if (x[m * K + k] < -qmax) x[m * K + k] = -qmax;
          for (let n = 0; n < N; n++)
            for (let g0 = 0; g0 < K; g0 += gs) {
              for (let k = g0; k < g0 + gs; k++) if (w[n * K + k] < -7) w[n * K + k] = -7;
              w[n * K + g0] = 7;
            }
          const W = await quantizeWeightsInt4(Tensor.from(w, [N, K]), { groupSize: g });
          expect(Array.from(W.scales).every((s) => s === 1)).toBe(true);
          const y = (bits === 8 ? w4a8MatmulSync : w4a4MatmulSync)(Tensor.from(x, [M, K]), W).toArraySync() as Float32Array;
          const ref = refMatmul(x, w, M, N, K);
          expect(Array.from(y)).toEqual(Array.from(ref));
        }),
      );

      // The fused decode rows (few rows) and gemm's float kernels (the weights dequantized as gemm packs
      // them), on both sides of the switch, K over several K blocks, N past one 32-column panel, group
      // sizes of the fused path's fast (64, 16) and generic (8) loops, with and without zero points.
      test('weight-only int4Matmul, decode and gemm paths, with zero points', () =>
        withIsa(isa, async () => {
          const shapes = [
            [3, 11, 96, 32],
            [40, 11, 96, 32],
            [1, 45, 448, 64],
            [8, 45, 448, 64],
            [9, 45, 448, 64],
            [5, 70, 400, 16],
            [33, 70, 400, 16],
            [2, 9, 48, 8],
            [20, 9, 48, 8],
          ];
          for (const [M, N, K, gs] of shapes)
            for (const zeros of [false, true]) {
              const x = randn(M * K, 50 + M),
                w = randn(N * K, 60 + N);
              const Q = quantizeWeightsInt4Sync(Tensor.from(w, [N, K]), { groupSize: gs });
              const G = K / gs;
              const zp = zeros ? Int8Array.from({ length: N * G }, (_, i) => ((i * 5) % 16) - 8) : undefined;
              const W = zeros
                ? Int4Weights.create({ N, K, groupSize: gs, perChannel: false, packed: Q.packed, scales: Q.scales, zeroPoints: zp })
                : Q;
              const bias = randn(N, 3);
              const y = (await int4Matmul(Tensor.from(x, [M, K]), W, { bias: Tensor.from(bias, [N]) })).toArraySync() as Float32Array;
              const ran = native.debug.lastKernel('w4a4', 'cpu');
              expect([M, ran.includes('gemm')]).toEqual([M, M > 8]); // w4a4_configs.h, kWeightOnlyFusedMaxRows
              const wd = new Float64Array(N * K);
              for (let n = 0; n < N; n++)
                for (let k = 0; k < K; k++) {
                  const g = n * G + floor(k / gs);
                  wd[n * K + k] = Math.fround((Q.q(n, k) - (zp ? zp[g] : 0)) * Q.scales[g]);
                }
              const ref = refMatmul(x, wd, M, N, K);
              let worst = 0;
              for (let i = 0; i < M * N; i++) {
                let mag = abs(bias[i % N]);
                for (let k = 0; k < K; k++) mag += abs(x[floor(i / N) * K + k] * wd[(i % N) * K + k]);
                worst = Math.max(worst, abs(y[i] - ref[i] - bias[i % N]) / ((K + 8) * 2 ** -24 * mag));
              }
              expect([M, N, K, gs, zeros, worst <= 1]).toEqual([M, N, K, gs, zeros, true]);
            }
        }));

      // The CPU has two routes: the W4A4 tile kernels, and gemm's int8 kernels from 64 rows up
      // (w4a4_cpu_gemm.cc: weights widened to int8, the scales fused into gemm's regions) -- per channel
      // on every ISA, in groups on AVX-512 VNNI for group sizes that are multiples of 32 dividing 512
      // (gemm's grouped kernels; groups of 48 or 16 stay on the tiles). The grouped cases straddle K blocks
      // of 512, 2048 and 4096 and run under each AVX-512 block config (small-M and blocked loops).
      const vnni = native.runtime.probe().cpu.features.avx512vnni;
      const blockSets = isa === 'avx512' && vnni ? (['split', 'xeon', 'wide'] as const) : (['auto'] as const);
      test('the tile kernels and the gemm route both meet the contract, per channel and in groups (W4A8, rotation, outliers, bias, c in place, pre-quantized)', () =>
        withIsa(isa, async () => {
          const cases = [
            ...CASES.filter((c) => c.groupSize === 'channel' || c.M >= 9),
            w4a4Case({ M: 70, N: 37, K: 200, groupSize: 'channel', bits: 4, rotate: true, outliers: [3, 199], withBias: true }),
            w4a4Case({ M: 65, N: 130, K: 520, groupSize: 'channel', bits: 8 }),
            w4a4Case({ M: 70, N: 37, K: 640, groupSize: 128, bits: 4, rotate: true, outliers: [3, 639], withBias: true }),
            w4a4Case({ M: 65, N: 130, K: 1088, groupSize: 64, bits: 8 }),
            w4a4Case({ M: 530, N: 40, K: 4352, groupSize: 256, bits: 4 }),
            w4a4Case({ M: 64, N: 33, K: 96, groupSize: 32, bits: 4, withBias: true }),
            w4a4Case({ M: 64, N: 9, K: 96, groupSize: 48, bits: 8 }),
            w4a4Case({ M: 66, N: 20, K: 64, groupSize: 16, bits: 4 }),
          ];
          const gemmFits = (cs: W4A4Case) =>
            cs.groupSize === 'channel' || (isa === 'avx512' && vnni && cs.groupSize % 32 === 0 && 512 % cs.groupSize === 0);
          try {
            for (const [route, blocks] of (['tiles', 'gemm', 'auto'] as const).flatMap((r) => blockSets.map((b) => [r, b] as const))) {
              native.debug.setPath('w4a4', 'cpu', route, 0);
              native.debug.setPath('gemm', 'cpu', blocks, 0);
              for (const [i, cs] of cases.entries()) {
                const b = build(cs, 300 + i);
                const x = Tensor.from(b.x, [cs.M, cs.K]);
                const bias = b.bias && Tensor.from(b.bias, [cs.N]);
                const mm = cs.bits === 8 ? w4a8Matmul : w4a4Matmul;
                const y = (await mm(x, b.W, { bias, outlierChannels: cs.outliers })).toArraySync() as Float32Array;
                checkOut(`${isa} ${route} ${blocks} ${cs.name}`, y, b.ref);
                const ran = native.debug.lastKernel('w4a4', 'cpu');
                const gemmRoute = (route === 'gemm' || (route === 'auto' && cs.M >= 64)) && gemmFits(cs);
                expect([cs.name, ran.includes('gemm route')]).toEqual([cs.name, gemmRoute]);
                // c that is out itself (read before the product lands there), beta 0.5, alpha 2.
                const c = randn(cs.M * cs.N, 400 + i);
                const sep = (
                  await mm(x, b.W, { bias, alpha: 2, beta: 0.5, c: Tensor.from(c, [cs.M, cs.N]) })
                ).toArraySync() as Float32Array;
                const out = Tensor.from(Float32Array.from(c), [cs.M, cs.N]);
                await mm(x, b.W, { bias, alpha: 2, beta: 0.5, c: out, out });
                expect(Array.from(out.toArraySync() as Float32Array)).toEqual(Array.from(sep));
                for (let j = 0; j < y.length; j++) {
                  const want = Math.fround(
                    Math.fround(2 * (y[j] - (b.bias ? b.bias[j % cs.N] : 0)) + (b.bias ? b.bias[j % cs.N] : 0)) + 0.5 * c[j],
                  );
                  if (!(Math.abs(sep[j] - want) <= 2 ** -20 * (Math.abs(want) + Math.abs(y[j]) + 1)))
                    throw new Error(`${route} ${cs.name} epilogue: out[${j}] = ${sep[j]}, expected ${want}`);
                }
                // quantizeActivationsInt4's output gives the fused quantization's result bit for bit.
                if (!cs.outliers) {
                  const qa = quantizeActivationsInt4(x, { bits: cs.bits, rotateLike: cs.rotate ? b.W : undefined });
                  const pre = (await mm(qa, b.W, { bias })).toArraySync() as Float32Array;
                  expect(Array.from(pre)).toEqual(Array.from(y));
                }
              }
            }
          } finally {
            native.debug.setPath('w4a4', 'cpu', 'auto', 0);
            native.debug.setPath('gemm', 'cpu', 'auto', 0);
          }
        }));

      test('the plain loop agrees with the kernels', () =>
        withIsa(isa, () => {
          const cs = CASES[9];
          const b = build(cs, 109);
          const out = Tensor.zeros([cs.M, cs.N]);
          const nt = (d: ArrayBufferView, shape: number[], dtype: number) => ({ dtype, shape, data: d });
          const W = b.W;
          const nO = W.outlierChannels!.length;
          native.bench.w4a4Plain({
            x: nt(b.x, [cs.M, cs.K], 0),
            w: nt(W.packed, [cs.N, cs.K], 4),
            scales: nt(W.scales, [cs.N, W.groups], 0),
            outlierChannels: nt(W.outlierChannels!, [nO], 5),
            outlierWeights: nt(W.outlierWeights!, [cs.N, nO], 3),
            outlierScales: nt(W.outlierScales!, [cs.N], 0),
            bias: nt(b.bias!, [cs.N], 0),
            out: nt(out.toArraySync(), [cs.M, cs.N], 0),
            groupSize: W.groupSize,
            rotateBlock: W.rotationBlock,
            actBits: 4,
          });
          checkOut('plain', out.toArraySync() as Float32Array, b.ref);
        }));
    });
  }
});

describe('w4a4 hadamard rotation', () => {
  test('block sizes: largest power of two dividing the group, at most 256', () => {
    for (const [gs, b] of [
      [4096, 256],
      [128, 128],
      [96, 32],
      [1000, 8],
      [172, 4],
      [2, 2],
      [66, 2],
    ]) {
      expect(rotationBlock(gs)).toBe(b);
      expect(refRotationBlock(gs)).toBe(b);
    }
  });

  test('orthonormal (H H^T = I), the butterflies equal the matrix, and rotating twice gives the input back', () => {
    for (const B of [2, 8, 32, 256]) {
      let worst = 0;
      for (let i = 0; i < B; i++)
        for (let j = 0; j < B; j++) {
          let s = 0;
          for (let k = 0; k < B; k++) s += hadamardEntry(i, k, B) * hadamardEntry(j, k, B);
          worst = Math.max(worst, abs(s - (i === j ? 1 : 0)));
        }
      expect(worst).toBeLessThan(1e-12);
      const K = 3 * B;
      const v = randn(K, B);
      const lib = Float32Array.from(v);
      hadamardRotate(lib, 0, K, B);
      expect(Array.from(lib)).toEqual(Array.from(refHadamard(v, B)));
      let mag = 0,
        err = 0;
      for (let b0 = 0; b0 < K; b0 += B)
        for (let i = 0; i < B; i++) {
          let s = 0;
          for (let k = 0; k < B; k++) s += hadamardEntry(i, k, B) * v[b0 + k];
          err = Math.max(err, abs(s - lib[b0 + i]));
          mag = Math.max(mag, abs(s));
        }
      expect(err).toBeLessThanOrEqual(Math.log2(B) * 2 ** -23 * mag * 4);
      const back = Float32Array.from(lib);
      hadamardRotate(back, 0, K, B);
      for (let k = 0; k < K; k++) expect(abs(back[k] - v[k])).toBeLessThanOrEqual(Math.log2(B) * 2 ** -22 * 4);
    }
  });

  test('rotation leaves the float product unchanged and rotated weights quantize the rotated rows', async () => {
    const M = 4,
      N = 6,
      K = 512;
    const x = randn(M * K, 1),
      w = randn(N * K, 2);
    const B = 256;
    const xr = refHadamard(x, B),
      wr = refHadamard(w, B);
    const a = refMatmul(x, w, M, N, K),
      b = refMatmul(xr, wr, M, N, K);
    expect(relError(b, a)).toBeLessThan(1e-5);
    const W = await quantizeWeightsInt4(Tensor.from(w, [N, K]), { rotate: 'hadamard' });
    expect(W.rotationBlock).toBe(B);
  });
});

describe('Int4Weights', () => {
  test('toBuffer / fromBuffer round trip (groups, rotation, outliers, zero points) gives identical results', async () => {
    const N = 5,
      K = 128;
    const w = randn(N * K, 9),
      x = randn(3 * K, 10);
    const variants = [
      quantizeWeightsInt4Sync(Tensor.from(w, [N, K]), { groupSize: 32, rotate: 'hadamard', outlierChannels: [3, 70] }),
      quantizeWeightsInt4Sync(Tensor.from(w, [N, K])),
      Int4Weights.fromMatMulNBits({
        B: new Uint8Array((N * K) / 2).map((_, i) => (i * 37) & 255),
        scales: randn(N * 2, 4).map(abs),
        zeroPoints: new Uint8Array(N).map((_, i) => 0x53 + i),
        K,
        N,
        blockSize: 64,
      }),
    ];
    for (const W of variants) {
      const buf = W.toBuffer();
      const back = Int4Weights.fromBuffer(buf);
      for (const key of ['N', 'K', 'groupSize', 'perChannel', 'rotate', 'rotationBlock'] as const) expect(back[key]).toEqual(W[key]);
      expect(back.packed).toEqual(W.packed);
      expect(back.scales).toEqual(W.scales);
      expect(back.zeroPoints).toEqual(W.zeroPoints);
      expect(back.outlierChannels).toEqual(W.outlierChannels);
      const X = Tensor.from(x, [3, K]);
      const f = W.zeroPoints ? int4MatmulSync : w4a4MatmulSync;
      expect(f(X, back).toArraySync()).toEqual(f(X, W).toArraySync());
      // a copy at an odd offset inside a bigger buffer reads the same
      const big = new Uint8Array(buf.length + 3);
      big.set(buf, 1);
      expect(Int4Weights.fromBuffer(big.subarray(1, 1 + buf.length)).scales).toEqual(W.scales);
    }
  });
});

const CASES_JSON = path.join(__dirname, '..', '..', 'shared', 'data', 'int4', 'matmulnbits_cases_1-3.json');

describe('onnxruntime MatMulNBits import', () => {
  interface Io {
    name: string;
    dims: number[];
    data: number[] | string;
  }
  const expand = (d: number[] | string): number[] => {
    if (Array.isArray(d)) return d;
    const m = /^arange\((\d+),(\d+)\)$/.exec(d.replace(/\s/g, ''));
    if (!m) throw new Error(`unknown data ${d}`);
    return Array.from({ length: Number(m[2]) - Number(m[1]) }, (_, i) => Number(m[1]) + i);
  };
  const present = fs.existsSync(CASES_JSON);
  if (!present) printSkip(`MatMulNBits cases: ${CASES_JSON} is absent`);
  const cases = present
    ? (JSON.parse(fs.readFileSync(CASES_JSON, 'utf8')) as {
        name: string;
        attributes: Record<string, number>;
        inputs: Io[];
        outputs: Io[];
      }[])
    : [];
  if (!present) test.skip('MatMulNBits cases (absent)', () => undefined);
  else
    test.each(cases.map((c) => [c.name, c] as const))('%s reproduces its expected output through int4Matmul', async (_n, c) => {
      const inp = (n: string) => c.inputs.find((i) => i.name === n);
      const A = expand(inp('A')!.data),
        dimsA = inp('A')!.dims;
      const { K, N, block_size: bs } = c.attributes;
      const zp = inp('zero_points');
      const W = Int4Weights.fromMatMulNBits({
        B: Uint8Array.from(expand(inp('B')!.data)),
        scales: Float32Array.from(expand(inp('scales')!.data)),
        zeroPoints: zp ? Uint8Array.from(expand(zp.data)) : undefined,
        K,
        N,
        blockSize: bs,
      });
      const M = dimsA[0];
      const want = expand(c.outputs[0].data);
      for (const isa of cpuIsas()) {
        await withIsa(isa, async () => {
          const y = (await int4Matmul(Tensor.from(Float32Array.from(A), [M, K]), W)).toArraySync() as Float32Array;
          expect(y.length).toBe(want.length);
          for (let i = 0; i < want.length; i++) expect(abs(y[i] - want[i])).toBeLessThanOrEqual(1e-5 * Math.max(1, abs(want[i])));
        });
      }
    });
});

describe('w4a4 on stories260K', () => {
  const lin = storiesLinears(16);
  testIf(lin !== null, 'stories260K: ../shared/data/models/stories260K.bin is absent')(
    'real weights x real activations: exact contract, and what rotation and outliers buy',
    async () => {
      const rows: string[] = [];
      for (const L of lin!.filter((l) => l.layer < 2)) {
        const x = Float32Array.from(L.x),
          T = x.length / L.K;
        const yf = refMatmul(x, L.w, T, L.N, L.K);
        const W = quantizeWeightsInt4Sync(Tensor.from(L.w, [L.N, L.K]));
        const y = w4a4MatmulSync(Tensor.from(x, [T, L.K]), W).toArraySync() as Float32Array;
        const rw = refQuantizeWeights(L.w, L.N, L.K, L.K, false);
        checkOut(`${L.name}${L.layer}`, y, refW4A4(refQuantizeActs(x, T, L.K, 4, 0), rw, T));
        const e4 = relError(y, yf);
        const e8 = relError(w4a8MatmulSync(Tensor.from(x, [T, L.K]), W).toArraySync() as Float32Array, yf);
        // Planted outliers: 4 channels x 30.
        const xo = Float32Array.from(x);
        const chans = [1, 17, 33, 49].map((c) => c % L.K);
        for (let t = 0; t < T; t++) for (const c of chans) xo[t * L.K + c] *= 30;
        const yo = refMatmul(xo, L.w, T, L.N, L.K);
        const ePlain = relError(w4a4MatmulSync(Tensor.from(xo, [T, L.K]), W).toArraySync() as Float32Array, yo);
        const Wr = quantizeWeightsInt4Sync(Tensor.from(L.w, [L.N, L.K]), { rotate: 'hadamard' });
        const eRot = relError(w4a4MatmulSync(Tensor.from(xo, [T, L.K]), Wr).toArraySync() as Float32Array, yo);
        const Wo = quantizeWeightsInt4Sync(Tensor.from(L.w, [L.N, L.K]), { calibration: Tensor.from(xo, [T, L.K]), outlierCount: 4 });
        expect(Array.from(Wo.outlierChannels!)).toEqual([...chans].sort((a, b) => a - b));
        const eOut = relError(w4a4MatmulSync(Tensor.from(xo, [T, L.K]), Wo).toArraySync() as Float32Array, yo);
        rows.push(
          `${L.name}${L.layer} w4a4 ${e4.toFixed(3)} w4a8 ${e8.toFixed(3)} | outliers planted: plain ${ePlain.toFixed(3)} hadamard ${eRot.toFixed(3)} int8-outliers ${eOut.toFixed(3)}`,
        );
        expect(e8).toBeLessThan(e4);
        expect(e4).toBeLessThan(0.3);
        expect(eOut).toBeLessThan(ePlain);
      }
      process.stderr.write(rows.join('\n') + '\n');
    },
  );
});

describe('w4a4 pre-quantized activations', () => {
  test('quantizeActivationsInt4 output into w4a4Matmul / w4a8Matmul equals the fused quantize bit for bit (groups, rotation, K not a multiple of 64, every ISA)', async () => {
    for (const [K, opts] of [
      [192, {}],
      [192, { groupSize: 64 }],
      [192, { rotate: 'hadamard' as const }],
      [192, { groupSize: 32, rotate: 'hadamard' as const }],
      [100, {}],
      [100, { rotate: 'hadamard' as const }],
    ] as const) {
      const M = 7,
        N = 19;
      const xd = makeData('float32', M * K, K + 1).data as Float32Array;
      xd[3] *= 40; // an outlier-ish channel
      const x = Tensor.from(xd, [M, K]);
      const wq = quantizeWeightsInt4Sync(Tensor.from(makeData('float32', N * K, K + 2).data, [N, K]), opts);
      for (const isa of cpuIsas()) {
        await withIsa(isa, async () => {
          for (const bits of [4, 8] as const) {
            const mm = bits === 4 ? w4a4Matmul : w4a8Matmul;
            const fused = (await mm(x, wq)).toArraySync() as Float32Array;
            const qa = quantizeActivationsInt4(x, { bits, rotateLike: opts.rotate ? wq : undefined });
            const pre = (await mm(qa, wq)).toArraySync() as Float32Array;
            for (let i = 0; i < fused.length; i++) {
              if (!Object.is(fused[i], pre[i]))
                throw new Error(`K=${K} ${JSON.stringify(opts)} ${isa} ${bits} bits: out[${i}] ${pre[i]} != fused ${fused[i]}`);
            }
          }
        });
      }
    }
  });
});

describe('w4a4 edge cases', () => {
  test('M = 0, N = 0 and K = 0; out is written in place; a NaN activation row gives NaN outputs, the others are unaffected', async () => {
    const w = quantizeWeightsInt4Sync(Tensor.from(randn(3 * 64, 1), [3, 64]), { groupSize: 32 });
    expect((await w4a4Matmul(Tensor.from(new Float32Array(0), [0, 64]), w)).shape).toEqual([0, 3]);
    const w0 = quantizeWeightsInt4Sync(Tensor.from(new Float32Array(0), [0, 64]));
    expect((await w4a4Matmul(Tensor.from(randn(2 * 64, 2), [2, 64]), w0)).shape).toEqual([2, 0]);
    const wk = quantizeWeightsInt4Sync(Tensor.from(new Float32Array(0), [3, 0]));
    const bias = Float32Array.from([1, 2, 3]);
    expect(
      Array.from(
        w4a4MatmulSync(Tensor.from(new Float32Array(0), [2, 0]), wk, { bias: Tensor.from(bias, [3]) }).toArraySync() as Float32Array,
      ),
    ).toEqual([1, 2, 3, 1, 2, 3]);
    const x = randn(4 * 64, 3);
    x[64 + 7] = NaN;
    const out = Tensor.zeros([4, 3]);
    const y = await w4a4Matmul(Tensor.from(x, [4, 64]), w, { out });
    expect(y).toBe(out);
    const v = out.toArraySync() as Float32Array;
    expect([v[3], v[4], v[5]].every(Number.isNaN)).toBe(true);
    expect([0, 1, 2, 6, 7, 8, 9, 10, 11].every((i) => Number.isFinite(v[i]))).toBe(true);
  });

  test('concurrent async calls give the same results as sequential ones', async () => {
    const w = quantizeWeightsInt4Sync(Tensor.from(randn(40 * 256, 4), [40, 256]), { groupSize: 128, rotate: 'hadamard' });
    const xs = [0, 1, 2, 3, 4, 5].map((i) => Tensor.from(randn(9 * 256, 10 + i), [9, 256]));
    const seq = xs.map((x) => w4a4MatmulSync(x, w).toArraySync());
    const par = await Promise.all(xs.map((x, i) => (i % 2 ? w4a8Matmul(x, w) : w4a4Matmul(x, w))));
    par.forEach((y, i) => {
      if (i % 2 === 0) expect(y.toArraySync()).toEqual(seq[i]);
      else expect(y.toArraySync()).toEqual(w4a8MatmulSync(xs[i], w).toArraySync());
    });
  });
});
