// W4A4 / W4A8 / weight-only on a real GPU: every contract case of test/cases/w4a4.ts on device tensors,
// on every kernel path the device can run (tensor-core s4: mma.m16n8k64 / m8n8k32 on sm_75; the int8
// route (Hopper's) forced on sm_80+; the exact SIMT fallback everywhere), against the float64 contract
// reference with the CPU suite's bound; integer-valued data (all scales 1) whose whole output is the
// integer part and must equal the reference and the CPU's result bit for bit; large shapes on both tile
// configs; the weight-only path. Runs under jest or `node --test` (scripts/gpu-check.sh); skips, printing
// why, without a GPU.
import * as assert from 'node:assert/strict';
import {
  CudaDeviceInfo,
  Int4Weights,
  Tensor,
  devices,
  int4Matmul,
  int4MatmulSync,
  quantizeWeightsInt4Sync,
  w4a4Matmul,
  w4a4MatmulSync,
  w4a8Matmul,
  w4a8MatmulSync,
} from '../../lib';
import { native } from '../../lib/binding';
import { W4A4Case, randn, w4a4CaseData, w4a4TestCases } from '../cases/w4a4';
import { describeGpu, printSkip } from '../helpers/backends';
import { rng } from '../helpers/data';
import { test } from '../helpers/runner';
import { refMatmul } from '../reference/w4a4';

const abs = Math.abs,
  floor = Math.floor;
const QUICK = process.env.TK_GPU_QUICK === '1';

function cc(): number {
  const g = devices().find((d): d is CudaDeviceInfo => d.kind === 'cuda');
  if (!g) return 0;
  const [maj, min] = g.computeCapability.split('.').map(Number);
  return maj * 10 + min;
}

const build = w4a4CaseData;

function checkOut(label: string, got: ArrayLike<number>, ref: { out: Float64Array; mag: Float64Array; G: number }): void {
  for (let i = 0; i < ref.out.length; i++) {
    const tol = (ref.G + 16) * 2 ** -24 * ref.mag[i] + 1e-30;
    const err = abs(got[i] - ref.out[i]);
    if (!(err <= tol)) assert.fail(`${label}: element ${i} = ${got[i]}, contract ${ref.out[i]} (error ${err}, tolerance ${tol})`);
  }
}

/** The tensor-core paths take groups that are multiples of 64 (and such K). */
const tcShape = (K: number, gs: number) => K % 64 === 0 && gs % 64 === 0;

async function withPath<T>(path: string, fn: () => Promise<T>): Promise<T> {
  native.debug.setPath('w4a4', 'cuda', path);
  try {
    return await fn();
  } finally {
    native.debug.setPath('w4a4', 'cuda', 'auto');
  }
}

describeGpu('w4a4 cuda', () => {
  const major = cc();
  const paths = ['simt', ...(major >= 75 ? ['s4'] : []), ...(major >= 80 ? ['int8'] : [])];
  if (major > 0 && major < 80) printSkip(`w4a4 cuda int8 route and W4A8 tensor cores: compute capability ${major / 10} < 8.0`);

  for (const path of paths) {
    test(`every contract case on device tensors, path ${path}`, () =>
      withPath(path, async () => {
        for (const [i, cs] of w4a4TestCases().entries()) {
          const b = build(cs, 100 + i);
          const x = Tensor.from(b.x, [cs.M, cs.K], { device: 'cuda' });
          const bias = b.bias && Tensor.from(b.bias, [cs.N], { device: 'cuda' });
          const y = await (cs.bits === 8 ? w4a8Matmul : w4a4Matmul)(x, b.W, { bias });
          assert.equal(y.device, 'cuda:0');
          const kernel = native.debug.lastKernel('w4a4', 'cuda');
          checkOut(`${cs.name} [${kernel}]`, (await y.toArray()) as Float32Array, b.ref);
          if (path !== 'simt' && tcShape(cs.K, b.gs) && (cs.bits === 4 || major >= 80))
            assert.match(kernel, /^tc /, `${cs.name} ran ${kernel}`);
          if (path === 'int8' && tcShape(cs.K, b.gs)) assert.match(kernel, /int8/, `${cs.name} ran ${kernel}`);
          if (path === 'simt' || !tcShape(cs.K, b.gs)) assert.match(kernel, /simt/, `${cs.name} ran ${kernel}`);
          for (const t of [x, bias, y]) if (t && !t.disposed) t.dispose();
        }
      }));

    // Integer data, max |v| = qmax per row and weight group: every scale is 1, the output is the integer
    // part alone and must be exact -- equal to the reference and to the CPU's bits.
    test(`exact integer parts equal the CPU's, path ${path}`, () =>
      withPath(path, async () => {
        const shapes: [number, number, number, number | 'channel', 4 | 8][] = [
          [1, 5, 128, 'channel', 4],
          [6, 7, 4096, 'channel', 4],
          [5, 9, 96, 32, 4],
          [3, 4, 512, 128, 4],
          [70, 130, 256, 64, 4],
          [4, 6, 256, 64, 8],
          [2, 3, 8192, 'channel', 8],
          [65, 33, 640, 128, 8],
        ];
        for (const [M, N, K, g, bits] of shapes) {
          const r = rng(M * N + K);
          const qmax = bits === 8 ? 127 : 7,
            gs = g === 'channel' ? K : g;
          const x = new Float32Array(M * K).map(() => floor(r() * (2 * qmax + 1)) - qmax);
          const w = new Float32Array(N * K).map(() => floor(r() * 15) - 7);
          for (let m = 0; m < M; m++) x[m * K + ((m * 13) % K)] = qmax;
          for (let n = 0; n < N; n++) for (let g0 = 0; g0 < K; g0 += gs) w[n * K + g0] = 7;
          const W = quantizeWeightsInt4Sync(Tensor.from(w, [N, K]), { groupSize: g });
          const X = Tensor.from(x, [M, K]);
          const cpu = (bits === 8 ? w4a8MatmulSync : w4a4MatmulSync)(X, W).toArraySync() as Float32Array;
          const xd = await X.to('cuda');
          const y = (await (await (bits === 8 ? w4a8Matmul : w4a4Matmul)(xd, W)).toArray()) as Float32Array;
          const kernel = native.debug.lastKernel('w4a4', 'cuda');
          const ref = refMatmul(x, w, M, N, K);
          for (let i = 0; i < M * N; i++) {
            if (y[i] !== ref[i] || y[i] !== cpu[i])
              assert.fail(`${M}x${N}x${K} g${g} a${bits} [${kernel}]: element ${i} = ${y[i]}, reference ${ref[i]}, CPU ${cpu[i]}`);
          }
          xd.dispose();
        }
      }));
  }

  // Decode shapes whose 64x64 tiles leave the GPU half empty: split-K (grouped: float partials of whole
  // groups; per channel: int32 partials), the splits added in order. Integer data: exact, the CPU's bits.
  test('split-K decode shapes on the tensor-core paths: exact against the CPU', async () => {
    for (const path of paths.filter((p) => p !== 'simt')) {
      await withPath(path, async () => {
        const shapes: [number, number, number, number | 'channel', 4 | 8][] = [
          [1, 64, 4096, 128, 4],
          [4, 100, 8192, 'channel', 4],
          [16, 256, 2048, 64, 8],
          [2, 48, 1152, 192, 4],
          [64, 4096, 4096, 128, 4],
          [33, 70, 8192, 'channel', 8],
        ];
        for (const [M, N, K, g, bits] of shapes) {
          if (bits === 8 && major < 80) continue;
          const r = rng(M * 31 + N + K);
          const qmax = bits === 8 ? 127 : 7,
            gs = g === 'channel' ? K : g;
          const x = new Float32Array(M * K).map(() => floor(r() * (2 * qmax + 1)) - qmax);
          const w = new Float32Array(N * K).map(() => floor(r() * 15) - 7);
          for (let m = 0; m < M; m++) x[m * K + ((m * 7) % K)] = qmax;
          for (let n = 0; n < N; n++) for (let g0 = 0; g0 < K; g0 += gs) w[n * K + g0] = 7;
          const W = quantizeWeightsInt4Sync(Tensor.from(w, [N, K]), { groupSize: g });
          const X = Tensor.from(x, [M, K]);
          const cpu = (bits === 8 ? w4a8MatmulSync : w4a4MatmulSync)(X, W).toArraySync() as Float32Array;
          const xd = await X.to('cuda');
          const y = (await (await (bits === 8 ? w4a8Matmul : w4a4Matmul)(xd, W)).toArray()) as Float32Array;
          const kernel = native.debug.lastKernel('w4a4', 'cuda');
          if (N <= 256) assert.match(kernel, /splitk\d+[if]/, `${M}x${N}x${K} g${g} a${bits} ran ${kernel}`);
          for (let i = 0; i < M * N; i++)
            if (y[i] !== cpu[i]) assert.fail(`${M}x${N}x${K} g${g} a${bits} [${kernel}]: element ${i} = ${y[i]}, CPU ${cpu[i]}`);
          xd.dispose();
        }
      });
    }
  });

  test('large shapes on both tile configs: integer data, exact against the CPU', async () => {
    if (QUICK) return printSkip('w4a4 large shapes: TK_GPU_QUICK=1');
    for (const [M, N, K, g] of [
      [2048, 2048, 1024, 128],
      [300, 520, 4096, 'channel'],
      [16, 4096, 4096, 128],
    ] as [number, number, number, number | 'channel'][]) {
      for (const path of paths.filter((p) => p !== 'simt')) {
        await withPath(path, async () => {
          const r = rng(M + N + K);
          const gs = g === 'channel' ? K : g;
          const x = new Float32Array(M * K).map(() => floor(r() * 15) - 7);
          const w = new Float32Array(N * K).map(() => floor(r() * 15) - 7);
          for (let m = 0; m < M; m++) x[m * K] = 7;
          for (let n = 0; n < N; n++) for (let g0 = 0; g0 < K; g0 += gs) w[n * K + g0] = 7;
          const W = quantizeWeightsInt4Sync(Tensor.from(w, [N, K]), { groupSize: g });
          const X = Tensor.from(x, [M, K]);
          const cpu = w4a4MatmulSync(X, W).toArraySync() as Float32Array;
          const xd = await X.to('cuda');
          const y = (await (await w4a4Matmul(xd, W)).toArray()) as Float32Array;
          const kernel = native.debug.lastKernel('w4a4', 'cuda');
          for (let i = 0; i < M * N; i++)
            if (y[i] !== cpu[i]) assert.fail(`${M}x${N}x${K} g${g} [${kernel}]: element ${i} = ${y[i]}, CPU ${cpu[i]}`);
          xd.dispose();
        });
      }
    }
  });

  test('weight-only int4Matmul on the GPU (decode and prefill rows, with bias)', async () => {
    for (const M of [1, 3, 40]) {
      const N = 37,
        K = 256,
        gs = 64;
      const x = randn(M * K, 50 + M),
        w = randn(N * K, 60);
      const W = quantizeWeightsInt4Sync(Tensor.from(w, [N, K]), { groupSize: gs });
      const bias = randn(N, 3);
      const y = (await (
        await int4Matmul(Tensor.from(x, [M, K], { device: 'cuda' }), W, { bias: Tensor.from(bias, [N], { device: 'cuda' }) })
      ).toArray()) as Float32Array;
      const wd = new Float64Array(N * K);
      for (let n = 0; n < N; n++)
        for (let k = 0; k < K; k++) wd[n * K + k] = Math.fround(W.q(n, k) * W.scales[n * (K / gs) + floor(k / gs)]);
      const ref = refMatmul(x, wd, M, N, K);
      for (let i = 0; i < M * N; i++) {
        let mag = abs(bias[i % N]);
        for (let k = 0; k < K; k++) mag += abs(x[floor(i / N) * K + k] * wd[(i % N) * K + k]);
        const err = abs(y[i] - ref[i] - bias[i % N]);
        // tensor-core fp32 accumulation (not round-to-nearest): the GEMM's bound, plus the group flushes
        if (!(err <= (K + K / gs + 16) * 2 ** -23 * mag))
          assert.fail(`int4Matmul M=${M}: element ${i} = ${y[i]}, reference ${ref[i] + bias[i % N]}`);
      }
    }
  });

  // int4Matmul with MatMulNBits weights (unsigned nibbles, zero points): the tensor-core kernel (sm_80+:
  // bf16 mma over q - z dequantized in registers, x split into three exact bf16 terms, split-K for
  // decode) and the SIMT kernel, every group width the tensor cores take (32, 64, 128+) and one they
  // don't (16), decode rows (1..16: 16-row tiles, k splits) and prefill rows (32-row tiles).
  for (const path of ['auto', 'simt']) {
    test(`weight-only int4Matmul, MatMulNBits zero points, decode and prefill rows, path ${path}`, () =>
      withPath(path, async () => {
        const shapes: [number, number, number, number][] = [
          [1, 37, 256, 64],
          [3, 64, 4096, 128],
          [16, 100, 512, 32],
          [17, 45, 1024, 256],
          [40, 33, 384, 128],
          [2, 20, 2048, 2048],
          [5, 30, 256, 16],
          ...(QUICK
            ? []
            : ([
                [1, 4096, 4096, 128],
                [8, 11008, 4096, 128],
                [64, 1024, 4096, 64],
              ] as [number, number, number, number][])),
        ];
        for (const [si, [M, N, K, bs]] of shapes.entries()) {
          const r = rng(700 + si);
          const G = K / bs,
            zpRow = Math.ceil(G / 2);
          const B = Uint8Array.from({ length: (N * K) / 2 }, () => (r() * 256) | 0);
          const scales = Float32Array.from({ length: N * G }, () => 0.002 + r() * 0.05);
          const zeroPoints = Uint8Array.from({ length: N * zpRow }, () => (r() * 256) | 0);
          const W = Int4Weights.fromMatMulNBits({ B, scales, zeroPoints, K, N, blockSize: bs });
          const x = randn(M * K, 800 + si),
            bias = randn(N, 900 + si);
          const xd = Tensor.from(x, [M, K], { device: 'cuda' }),
            bd = Tensor.from(bias, [N], { device: 'cuda' });
          const yd = await int4Matmul(xd, W, { bias: bd });
          const y = (await yd.toArray()) as Float32Array;
          const kernel = native.debug.lastKernel('w4a4', 'cuda');
          if (path === 'auto' && major >= 80 && bs % 32 === 0)
            assert.match(kernel, /^weight-only tc/, `${M}x${N}x${K} g${bs} ran ${kernel}`);
          else assert.match(kernel, /simt/, `${M}x${N}x${K} g${bs} ran ${kernel}`);
          const wd = new Float64Array(N * K);
          for (let n = 0; n < N; n++)
            for (let k = 0; k < K; k++) {
              const u = (B[(n * K + k) >> 1] >> ((k & 1) * 4)) & 15,
                g = floor(k / bs);
              const zb = zeroPoints[n * zpRow + (g >> 1)],
                zp = g & 1 ? zb >> 4 : zb & 15;
              wd[n * K + k] = Math.fround((u - zp) * scales[n * G + g]);
            }
          const cpu = int4MatmulSync(Tensor.from(x, [M, K]), W, { bias: Tensor.from(bias, [N]) }).toArraySync() as Float32Array;
          for (let m = 0; m < M; m++)
            for (let n = 0; n < N; n++) {
              let ref = bias[n],
                mag = abs(bias[n]);
              for (let k = 0; k < K; k++) {
                const p = x[m * K + k] * wd[n * K + k];
                ((ref += p), (mag += abs(p)));
              }
              // tensor-core fp32 accumulation (not round-to-nearest): the GEMM suite's bound, plus the group flushes
              const i = m * N + n,
                tol = (K + G + 16) * 2 ** -23 * mag + 1e-30;
              if (!(abs(y[i] - ref) <= tol))
                assert.fail(`int4Matmul ${M}x${N}x${K} g${bs} [${kernel}]: element ${i} = ${y[i]}, reference ${ref} (tolerance ${tol})`);
              if (!(abs(y[i] - cpu[i]) <= 2 * tol))
                assert.fail(`int4Matmul ${M}x${N}x${K} g${bs} [${kernel}]: element ${i} = ${y[i]}, CPU ${cpu[i]}`);
            }
          for (const t of [xd, bd, yd]) t.dispose();
        }
      }));
  }

  // The shared epilogue (alpha, bias, beta * c with c === out, rank-3 x) on every kernel path, and
  // int4Matmul with rotated weights (x rotated on the device): against the CPU's result of the same call.
  for (const path of paths) {
    test(`epilogue and rank-3 x on every op, rotated int4Matmul, path ${path}`, () =>
      withPath(path, async () => {
        const N = 40,
          K = 256,
          B = 2;
        const W = quantizeWeightsInt4Sync(Tensor.from(randn(N * K, 70), [N, K]), { groupSize: 64, rotate: 'hadamard' });
        const ops = [
          ['w4a4', w4a4Matmul, w4a4MatmulSync],
          ['w4a8', w4a8Matmul, w4a8MatmulSync],
          ['int4', int4Matmul, int4MatmulSync],
        ] as const;
        for (const [name, f, fs] of ops)
          for (const M of [1, 3, 24]) {
            const x = randn(B * M * K, 71 + M),
              bias = randn(N, 72),
              c = randn(B * M * N, 73 + M);
            const o = { alpha: -0.5, beta: 2 };
            const cpu = fs(Tensor.from(x, [B, M, K]), W, {
              ...o,
              bias: Tensor.from(bias, [N]),
              c: Tensor.from(c, [B, M, N]),
            }).toArraySync() as Float32Array;
            const xd = Tensor.from(x, [B, M, K], { device: 'cuda' }),
              bd = Tensor.from(bias, [N], { device: 'cuda' }),
              od = Tensor.from(c, [B, M, N], { device: 'cuda' });
            const r = await f(xd, W, { ...o, bias: bd, c: od, out: od });
            assert.equal(r, od);
            assert.deepEqual(od.shape, [B, M, N]);
            const y = (await od.toArray()) as Float32Array;
            let scale = 0;
            for (let i = 0; i < cpu.length; i++) scale = Math.max(scale, abs(cpu[i]));
            for (let i = 0; i < cpu.length; i++)
              if (!(abs(y[i] - cpu[i]) <= 1e-4 * scale))
                assert.fail(`${name} M=${M} [${path}]: element ${i} = ${y[i]}, CPU ${cpu[i]} (scale ${scale})`);
            for (const t of [xd, bd, od]) t.dispose();
          }
      }));
  }

  test('mismatched devices are a clear error', async () => {
    const W = quantizeWeightsInt4Sync(Tensor.from(randn(4 * 64, 1), [4, 64]), { groupSize: 64 });
    const x = Tensor.from(randn(2 * 64, 2), [2, 64], { device: 'cuda' });
    await assert.rejects(() => w4a4Matmul(x, W, { bias: Tensor.from(randn(4, 3), [4]) }), /float32 cuda:0 tensor of shape \[4\]/);
    assert.throws(() => native.debug.setPath('w4a4', 'cuda', 'fast'), /'auto', 's4', 'int8' or 'simt'/);
    x.dispose();
  });
});
