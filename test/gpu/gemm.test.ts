// gemm on a real GPU: every case of test/cases/gemm.ts (the CPU suite's table) on device tensors and
// on host tensors with device: 'cuda', against the float64 reference; every kernel tier the device
// can run (sm90 wgmma/TMA on 9.0, sm80 mma.sync on >= 8.0, the SIMT fallback everywhere), forced
// split-K, the misaligned fallback, tf32, and large shapes checked on sampled elements.
// Runs under jest or `node --test` (scripts/gpu-check.sh); skips, printing why, without a GPU.
//
// Tolerances: tensor-core paths accumulate in fp32 inside the MMA units, whose additions are not
// IEEE round-to-nearest (truncation has been measured, see PAPERS.md "Dissecting Tensor Cores"): the
// bound used is (K + 16) * 2^-23 * sum|a*b|, twice the CPU's float32 bound. float32 without tf32 runs
// the SIMT fp32-FMA kernel: the CPU bound. tf32 adds 2 * 2^-11 * sum|a*b| (both inputs rounded to 10
// mantissa bits). int8 is exact.
import * as assert from 'node:assert/strict';
import { CudaDeviceInfo, DType, Tensor, devices, gemm, gemmSync } from '../../lib';
import { native } from '../../lib/binding';
import { GemmCase, caseName, gemmTestCases } from '../cases/gemm';
import { describeGpu, printSkip } from '../helpers/backends';
import { Data, decode, makeData } from '../helpers/data';
import { test } from '../helpers/runner';
import { refGemm } from '../reference/gemm';

type Where = 'device' | 'host';
interface Mode {
  tf32?: boolean;
  coreBound?: boolean; // tensor-core accumulation bound for float inputs
}

const abs = Math.abs;

function build(cs: GemmCase, seed: number) {
  const batch = cs.batch ?? 1;
  const aShape = cs.transA ? [cs.K, cs.M] : [cs.M, cs.K];
  const bShape = cs.transB ? [cs.N, cs.K] : [cs.K, cs.N];
  const aFull = cs.batch ? [batch, ...aShape] : aShape;
  const bFull = cs.batch && !cs.bShared ? [batch, ...bShape] : bShape;
  const n = (s: number[]) => s.reduce((x, y) => x * y, 1);
  const ad = makeData(cs.dtype, n(aFull), seed);
  const bd = makeData(cs.dtype, n(bFull), seed + 1);
  const acc: DType = cs.dtype === 'int8' ? 'int32' : 'float32';
  const outShape = cs.batch ? [batch, cs.M, cs.N] : [cs.M, cs.N];
  const cd = cs.withC ? makeData(acc, n(outShape), seed + 2) : undefined;
  const biasd = cs.withBias ? makeData(acc, cs.N, seed + 3) : undefined;
  const ref = refGemm({
    a: ad.values,
    b: bd.values,
    aShape: aFull,
    bShape: bFull,
    transA: cs.transA,
    transB: cs.transB,
    alpha: cs.alpha,
    beta: cs.beta,
    c: cd?.values,
    cBatched: !!cs.batch,
    bias: biasd?.values,
  });
  return { ad, bd, cd, biasd, aFull, bFull, outShape, acc, ref };
}

function check(name: string, cs: GemmCase, got: ArrayLike<number>, gotDtype: DType, ref: ReturnType<typeof refGemm>, mode: Mode): void {
  const vals = decode(gotDtype, got);
  assert.equal(vals.length, ref.out.length, name);
  const exact = cs.dtype === 'int8';
  const outRound = gotDtype === 'float16' ? 2 ** -11 : gotDtype === 'bfloat16' ? 2 ** -8 : 0;
  const accBound = mode.coreBound ? (ref.K + 16) * 2 ** -23 : (ref.K + 4) * 2 ** -24;
  const inBound = mode.tf32 ? 2 * 2 ** -11 : 0;
  for (let i = 0; i < vals.length; i++) {
    const err = abs(vals[i] - ref.out[i]);
    const tol = exact
      ? 0
      : (accBound + inBound) * ref.absSum[i] * 1.01 + outRound * abs(ref.out[i]) * 1.01 + (outRound ? 2 ** -24 : 0) + 1e-37;
    if (!(err <= tol)) assert.fail(`${name}: element ${i} = ${vals[i]}, reference ${ref.out[i]} (error ${err}, tolerance ${tol})`);
  }
}

async function runCase(cs: GemmCase, seed: number, where: Where, mode: Mode): Promise<string> {
  const x = build(cs, seed);
  const dev = where === 'device' ? 'cuda' : 'cpu';
  const t = (d: Data, shape: number[], dtype: DType) => Tensor.from(d.data, shape, { dtype, device: dev });
  const a = t(x.ad, x.aFull, cs.dtype),
    b = t(x.bd, x.bFull, cs.dtype);
  const c = x.cd && t(x.cd, x.outShape, x.acc);
  const bias = x.biasd && t(x.biasd, [cs.N], x.acc);
  const out = cs.outDtype ? Tensor.zeros(x.outShape, { dtype: cs.outDtype, device: dev }) : undefined;
  const y = await gemm(a, b, {
    transA: cs.transA,
    transB: cs.transB,
    alpha: cs.alpha,
    beta: cs.beta,
    c,
    bias,
    out,
    device: where === 'host' ? 'cuda' : undefined,
    precision: mode.tf32 ? 'tf32' : undefined,
  });
  assert.equal(y.device, where === 'device' ? 'cuda:0' : 'cpu');
  const kernel = native.debug.lastKernel('gemm', 'cuda');
  check(`${cs.name} ${where} [${kernel}]`, cs, (await y.toArray()) as ArrayLike<number>, y.dtype, x.ref, mode);
  for (const z of [a, b, c, bias, out, y]) if (z && z.device !== 'cpu' && !z.disposed) z.dispose();
  return kernel;
}

function cc(): number {
  const g = devices().find((d): d is CudaDeviceInfo => d.kind === 'cuda');
  if (!g) return 0;
  const [maj, min] = g.computeCapability.split('.').map(Number);
  return maj * 10 + min;
}

// TK_GPU_QUICK=1 (compute-sanitizer runs, ~100x slower): every 4th case, no large shapes.
const QUICK = process.env.TK_GPU_QUICK === '1';
const CASES = gemmTestCases().filter((_, i) => !QUICK || i % 4 === 0);
const coreFor = (cs: GemmCase, tier: string) => cs.dtype !== 'float32' && cs.dtype !== 'int8' && tier !== 'simt';

describeGpu('gemm cuda', () => {
  const major = cc();
  const tiers = ['simt', ...(major >= 80 ? ['sm80'] : []), ...(major === 90 ? ['sm90'] : [])];
  if (major < 80) printSkip(`gemm cuda sm80 tier: compute capability ${major / 10} < 8.0`);
  if (major !== 90) printSkip(`gemm cuda sm90 tier: compute capability ${major / 10} is not 9.0`);

  for (const tier of tiers) {
    test(`every CPU case on device tensors, tier ${tier}`, async () => {
      native.debug.setPath('gemm', 'cuda', tier, 0);
      try {
        for (const [i, cs] of CASES.entries()) await runCase(cs, 100 + i, 'device', { coreBound: coreFor(cs, tier) });
      } finally {
        native.debug.setPath('gemm', 'cuda', 'auto', 0);
      }
    });
  }

  test('every CPU case on host tensors with device: cuda (copied in and out), best tier', async () => {
    for (const [i, cs] of CASES.entries()) await runCase(cs, 200 + i, 'host', { coreBound: coreFor(cs, 'auto') });
  });

  test('out may be c on the device: an in-place update', async () => {
    const cs = CASES.find((c) => c.withC && c.dtype === 'float32' && !c.batch)!;
    const x = build(cs, 5);
    const a = Tensor.from(x.ad.data, x.aFull, { device: 'cuda' }),
      b = Tensor.from(x.bd.data, x.bFull, { device: 'cuda' });
    const c = Tensor.from(x.cd!.data, x.outShape, { dtype: 'float32', device: 'cuda' });
    const bias = x.biasd && Tensor.from(x.biasd.data, [cs.N], { dtype: 'float32', device: 'cuda' });
    const y = await gemm(a, b, { transA: cs.transA, transB: cs.transB, alpha: cs.alpha, beta: cs.beta, c, bias, out: c });
    assert.equal(y, c);
    check(cs.name, cs, (await y.toArray()) as Float32Array, 'float32', x.ref, {});
  });

  test('float32 with precision tf32 on the tensor cores', async () => {
    if (major < 80) return printSkip('tf32: needs compute capability 8.0');
    for (const [i, cs] of CASES.filter((c) => c.dtype === 'float32').entries()) {
      const k = await runCase(cs, 300 + i, 'device', { tf32: true, coreBound: true });
      if (cs.M > 0 && cs.N > 0 && cs.K % 4 === 0 && (cs.transA ? cs.M : cs.K) % 4 === 0 && (cs.transB ? cs.K : cs.N) % 4 === 0) {
        assert.match(k, /tf32/, `${cs.name} ran ${k}`);
      }
    }
  });

  test('split-K forced (3 and 7 slices) agrees with the reference; automatic split-K for decode shapes', async () => {
    const pick = CASES.filter((c) => c.K >= 64 && c.M > 0 && c.N > 0);
    for (const splits of [3, 7]) {
      native.debug.setPath('gemm', 'cuda', 'auto', splits);
      try {
        for (const [i, cs] of pick.entries()) {
          const k = await runCase(cs, 400 + i, 'device', { coreBound: coreFor(cs, 'auto') });
          assert.match(k, /splitk=[2-7]/, `${cs.name}: ${k}`);
        }
      } finally {
        native.debug.setPath('gemm', 'cuda', 'auto', 0);
      }
    }
    for (const dtype of ['bfloat16', 'float16', 'int8'] as const) {
      for (const M of [1, 5, 16]) {
        const cs: GemmCase = { name: caseName({ M, N: 1024, K: 4096, dtype, transB: true }), M, N: 1024, K: 4096, dtype, transB: true };
        const k = await runCase(cs, 500 + M, 'device', { coreBound: dtype !== 'int8' });
        assert.match(k, /splitk=([2-9]|1[0-6])/, `${cs.name}: ${k}`);
      }
    }
  });

  test('misaligned leading dimensions take the SIMT fallback and stay correct', async () => {
    for (const dtype of ['float16', 'bfloat16', 'int8'] as const) {
      for (const [M, N, K] of [
        [33, 65, 77],
        [64, 64, 71],
        [130, 129, 100],
      ] as [number, number, number][]) {
        for (const transB of [false, true]) {
          const cs: GemmCase = { name: caseName({ M, N, K, dtype, transB }), M, N, K, dtype, transB };
          const k = await runCase(cs, 600 + K, 'device', { coreBound: false });
          const aligned = (K * (dtype === 'int8' ? 1 : 2)) % 16 === 0 && ((transB ? K : N) * (dtype === 'int8' ? 1 : 2)) % 16 === 0;
          if (!aligned) assert.match(k, /simt/, `${cs.name}: ${k}`);
        }
      }
    }
  });

  test('large shapes on every tier, sampled against the reference', async () => {
    if (QUICK) return printSkip('large shapes: TK_GPU_QUICK=1');
    for (const tier of tiers) {
      native.debug.setPath('gemm', 'cuda', tier, 0);
      try {
        for (const [dtype, M, N, K, transA, transB] of [
          ['bfloat16', 1024, 2048, 1536, false, false],
          ['float16', 2048, 1024, 1024, false, true],
          ['bfloat16', 777, 1000, 2048, true, false],
          ['int8', 1024, 1024, 2048, false, true],
          ['float16', 4096, 4096, 512, false, true],
        ] as [DType, number, number, number, boolean, boolean][]) {
          const cs: GemmCase = { name: caseName({ M, N, K, dtype, transA, transB }), M, N, K, dtype, transA, transB };
          const aShape = transA ? [K, M] : [M, K],
            bShape = transB ? [N, K] : [K, N];
          const ad = makeData(dtype, M * K, 7),
            bd = makeData(dtype, K * N, 8);
          const a = Tensor.from(ad.data, aShape, { dtype, device: 'cuda' }),
            b = Tensor.from(bd.data, bShape, { dtype, device: 'cuda' });
          const y = await gemm(a, b, { transA, transB });
          const got = decode(y.dtype, (await y.toArray()) as ArrayLike<number>);
          const kernel = native.debug.lastKernel('gemm', 'cuda');
          let s = 12345;
          for (let q = 0; q < 2000; q++) {
            s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
            const i = s % M,
              j = (s >>> 12) % N;
            let ref = 0,
              mag = 0;
            for (let k = 0; k < K; k++) {
              const p = ad.values[transA ? k * M + i : i * K + k] * bd.values[transB ? j * K + k : k * N + j];
              ref += p;
              mag += abs(p);
            }
            const tol = dtype === 'int8' ? 0 : (K + 16) * 2 ** -23 * mag * 1.01 + 1e-37;
            if (!(abs(got[i * N + j] - ref) <= tol))
              assert.fail(`${cs.name} tier ${tier} [${kernel}]: (${i}, ${j}) = ${got[i * N + j]}, reference ${ref}`);
          }
          for (const z of [a, b, y]) z.dispose();
        }
      } finally {
        native.debug.setPath('gemm', 'cuda', 'auto', 0);
      }
    }
  });

  test('sync and async agree bit for bit, and repeated runs are deterministic (split-K included)', async () => {
    const cs: GemmCase = { name: 'det', M: 8, N: 512, K: 8192, dtype: 'bfloat16', transB: true };
    const x = build(cs, 9);
    const a = Tensor.from(x.ad.data, x.aFull, { dtype: 'bfloat16', device: 'cuda' }),
      b = Tensor.from(x.bd.data, x.bFull, { dtype: 'bfloat16', device: 'cuda' });
    const first = Buffer.from(((await (await gemm(a, b, { transB: true })).toArray()) as Float32Array).buffer);
    for (let r = 0; r < 3; r++) {
      assert.ok(Buffer.from(((await gemm(a, b, { transB: true })).toArraySync() as Float32Array).buffer).equals(first));
      assert.ok(Buffer.from((gemmSync(a, b, { transB: true }).toArraySync() as Float32Array).buffer).equals(first));
    }
  });

  test('the event loop stays free during a long GPU gemm', async () => {
    if (QUICK) return printSkip('event loop: TK_GPU_QUICK=1');
    const n = 4096;
    const a = Tensor.zeros([n, n], { dtype: 'float32', device: 'cuda' }),
      b = Tensor.zeros([n, n], { dtype: 'float32', device: 'cuda' });
    let last = Date.now(),
      worst = 0;
    const timer = setInterval(() => {
      const now = Date.now();
      worst = Math.max(worst, now - last);
      last = now;
    }, 5);
    await gemm(a, b); // fp32 SIMT: long enough to notice a blocked loop
    clearInterval(timer);
    assert.ok(worst < 200, `longest timer gap ${worst} ms`);
  });
});
