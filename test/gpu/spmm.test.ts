// spmm on a real GPU: every case of the CPU suite's table (test/cases/spmm.ts) and every real matrix
// of ../shared/data/sparse, on device tensors and on host tensors with device: 'cuda', against the
// float64 reference, for each CUDA kernel the device can run -- CSR (warp per row group, long rows
// split and merged), blocked (SMaT tensor cores over prepare()'s reordered 16x8 blocks) and dense
// tiles (Flash-LLM, N <= 64) -- forced, and 'auto' with its choice checked; alpha / beta / c in place;
// corrupted indices as clean errors. Runs under jest or `node --test` (scripts/gpu-check.sh); skips,
// printing why, without a GPU.
//
// Tolerances: CSR accumulates in fp32 FMA in row order, as the CPU does: (len + 4) * 2^-24 * sum|terms|.
// The tensor-core kernels split each float into two tf32 parts (3xTF32: hi*hi + hi*lo + lo*hi), which
// leaves about 3 * 2^-22 |a b| per product (2^-20 below), and accumulate inside the mma units
// (additions that truncate, see test/gpu/gemm.test.ts): at most 3 * len mma steps touch an output,
// each off by 2^-23 of the running magnitude.
import * as assert from 'node:assert/strict';
import { CudaDeviceInfo, SparseMatrix, Tensor, devices, spmm, spmmSync } from '../../lib';
import { SpmmCudaKernel, setSpmmCudaKernel, spmmCudaLastKernel } from '../../lib/ops/spmm';
import { loadRealMatrix, randomSparse, realMatrixFiles, spmmTestCases } from '../cases/spmm';
import { describeGpu, printSkip } from '../helpers/backends';
import { makeData } from '../helpers/data';
import { test } from '../helpers/runner';
import { refSpmm } from '../reference/spmm';

const abs = Math.abs;
const QUICK = process.env.TK_GPU_QUICK === '1';

function check(a: SparseMatrix, y: Float32Array, ref: ReturnType<typeof refSpmm>, n: number, core: boolean, what: string): void {
  assert.equal(y.length, ref.y.length, what);
  for (let r = 0; r < a.rows; r++) {
    const len = Number(a.rowPtr[r + 1]) - Number(a.rowPtr[r]);
    const bound = core ? (3 * len + 16) * 2 ** -23 + 2 ** -20 : (len + 4) * 2 ** -24;
    for (let j = 0; j < n; j++) {
      const i = r * n + j;
      const tol = bound * ref.mag[i] * 1.01 + 1e-37;
      const err = abs(y[i] - ref.y[i]);
      if (!(err <= tol)) assert.fail(`${what}: out[${r}, ${j}] = ${y[i]}, reference ${ref.y[i]} (error ${err}, tolerance ${tol})`);
    }
  }
}

function dense(rows: number, n: number, seed: number) {
  const d = makeData('float32', rows * n, seed);
  return { data: d.data as Float32Array, v: d.values };
}

function cc(): number {
  const g = devices().find((d): d is CudaDeviceInfo => d.kind === 'cuda');
  if (!g) return 0;
  const [maj, min] = g.computeCapability.split('.').map(Number);
  return maj * 10 + min;
}

async function runOne(
  a: SparseMatrix,
  n: number,
  seed: number,
  kernel: SpmmCudaKernel,
  where: 'device' | 'host',
  what: string,
): Promise<string> {
  const b = dense(a.cols, n, seed);
  const ref = refSpmm(a, b.v, n);
  const prev = setSpmmCudaKernel(kernel);
  try {
    const bt = Tensor.from(b.data, [a.cols, n], { device: where === 'device' ? 'cuda' : 'cpu' });
    const y = await spmm(a, bt, where === 'host' ? { device: 'cuda' } : {});
    assert.equal(y.device, where === 'device' ? 'cuda:0' : 'cpu');
    const used = spmmCudaLastKernel();
    const core = !used.startsWith('spmm_csr');
    check(a, (await y.toArray()) as Float32Array, ref, n, core, `${what} N=${n} ${where} [${used}]`);
    if (where === 'device') (y.dispose(), bt.dispose());
    return used;
  } finally {
    setSpmmCudaKernel(prev);
  }
}

describeGpu('spmm cuda', () => {
  const major = cc();
  const kernels: SpmmCudaKernel[] = ['csr', ...(major >= 80 ? (['blocked', 'tiles'] as const) : []), 'auto'];
  if (major > 0 && major < 80) printSkip(`spmm cuda blocked and tiles kernels: compute capability ${major / 10} < 8.0`);
  const cases = spmmTestCases().filter((_, i) => !QUICK || i % 2 === 0);

  for (const k of kernels) {
    test(`spmm cuda every CPU case on device tensors, kernel ${k}`, async () => {
      for (const cs of cases) {
        const a = cs.a();
        for (const n of cs.ns) {
          if (k === 'tiles' && n > 64) continue; // the tiles kernel takes N <= 64 (an error otherwise, below)
          const used = await runOne(a, n, n + 1, k, 'device', `${cs.name} ${k}`);
          if (k !== 'auto' && a.rows > 0 && n > 0)
            assert.ok(used.includes(k === 'csr' ? 'spmm_csr' : k === 'blocked' ? 'spmm_blocked' : 'spmm_tiles'), used);
        }
        a.releaseDevice();
      }
    });
  }

  test('spmm cuda every CPU case on host tensors with device: cuda (copied in and out), auto', async () => {
    for (const cs of cases) {
      const a = cs.a();
      for (const n of cs.ns) await runOne(a, n, n + 7, 'auto', 'host', cs.name);
    }
  });

  const files = realMatrixFiles();
  if (files.length === 0) printSkip('spmm cuda real matrices: ../shared/data/sparse is absent');
  for (const f of files.filter((_, i) => !QUICK || i < 2)) {
    test(`spmm cuda ${f}, N = 1, 19, 64, every kernel`, async () => {
      const a = loadRealMatrix(f);
      for (const k of kernels) for (const n of [1, 19, 64]) await runOne(a, n, 13 + n, k, 'device', `${f} ${k}`);
      a.releaseDevice();
    });
  }

  test('spmm cuda auto picks tiles for a pruned weight (80% sparse, N = 16), CSR for a scattered graph at N = 128', async () => {
    const w = randomSparse(256, 512, 0.2, 21);
    if (major >= 80) assert.match(await runOne(w, 16, 3, 'auto', 'device', 'pruned'), /spmm_tiles/);
    const g = randomSparse(2000, 2000, 0.002, 22);
    assert.match(await runOne(g, 128, 4, 'auto', 'device', 'graph'), /spmm_csr/);
  });

  test('spmm cuda alpha, beta, c and in-place out = c on the device, every kernel', async () => {
    const a = randomSparse(200, 150, 0.05, 8);
    const n = 40;
    const b = dense(150, n, 9),
      c = dense(200, n, 10);
    const ref = refSpmm(a, b.v, n, { alpha: -1.5, beta: 0.25, c: c.v });
    for (const k of kernels) {
      const prev = setSpmmCudaKernel(k);
      try {
        const bt = Tensor.from(b.data, [150, n], { device: 'cuda' });
        const ct = Tensor.from(c.data, [200, n], { device: 'cuda' });
        const got = spmmSync(a, bt, { alpha: -1.5, beta: 0.25, c: ct, out: ct });
        assert.equal(got, ct);
        check(
          a,
          (await ct.toArray()) as Float32Array,
          ref,
          n,
          k !== 'csr' && spmmCudaLastKernel().indexOf('spmm_csr') < 0,
          `in place ${k} [${spmmCudaLastKernel()}]`,
        );
        (bt.dispose(), ct.dispose());
      } finally {
        setSpmmCudaKernel(prev);
      }
    }
  });

  test('spmm cuda a corrupted colIdx is a clean error naming the entry (int32 and int64; csr and tiles)', async () => {
    for (const int64 of [false, true]) {
      for (const k of ['csr', ...(major >= 80 ? ['tiles'] : [])] as SpmmCudaKernel[]) {
        const a = randomSparse(100, 60, 0.1, 30, { int64 });
        const pos = Number(a.rowPtr[50]);
        if (int64) (a.colIdx as BigInt64Array)[pos] = 1000000n;
        else (a.colIdx as Int32Array)[pos] = -5;
        const bt = Tensor.from(new Float32Array(60 * 8), [60, 8], { device: 'cuda' });
        const prev = setSpmmCudaKernel(k);
        try {
          await assert.rejects(spmm(a, bt), (e: Error & { code?: string }) => {
            assert.match(
              e.message,
              new RegExp(`Expected colIdx in \\[0, 60\\) but colIdx\\[${pos}\\] = ${int64 ? 1000000 : -5} \\(row 50\\)`),
            );
            return true;
          });
        } finally {
          setSpmmCudaKernel(prev);
          bt.dispose();
          a.releaseDevice();
        }
      }
    }
    // The device is still usable afterwards (no sticky error: nothing was read out of bounds).
    await runOne(randomSparse(30, 30, 0.2, 31), 8, 1, 'csr', 'device', 'after errors');
  });

  test('spmm cuda forcing tiles with N > 64 or blocked below sm_80 is a clear error', async () => {
    if (major < 80) return;
    const a = randomSparse(40, 40, 0.2, 40);
    const prev = setSpmmCudaKernel('tiles');
    try {
      await assert.rejects(spmm(a, Tensor.from(new Float32Array(40 * 65), [40, 65], { device: 'cuda' })), /N <= 64/);
    } finally {
      setSpmmCudaKernel(prev);
    }
  });
});
