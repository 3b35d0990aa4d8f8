// Every public CPU op once or twice at small odd sizes against the float64 references of test/reference,
// with the CPU suites' tolerances: a quick check that a binary built for another platform (the
// linux-arm64 addon, cross-compiled and run under qemu by scripts/neon-check.sh) computes right. Written
// with test/helpers/runner.ts and node:assert, so it runs under jest and under `node --test` over the
// compiled JS (dist-test/test/platform/ops.test.js) with no node_modules. It prints the platform, the
// addon file and the active kernel family first; on arm64 the active family must be NEON.
import * as assert from 'node:assert/strict';
import {
  CpuDeviceInfo,
  DType,
  SparseMatrix,
  Tensor,
  add,
  argmaxSync,
  attention,
  bitMatmulSync,
  cast,
  castSync,
  devices,
  embeddingSync,
  gemm,
  gemmSync,
  int4Matmul,
  int8Matmul,
  kvAppendSync,
  linearAttentionSync,
  lutMatmulSync,
  monarchMatmul,
  monarchMatmulSync,
  nativeInfo,
  packWeightsSync,
  projectMonarchSync,
  packBits,
  quantizeBits,
  quantizeWeightsInt4Sync,
  quantizeWeightsInt8Sync,
  quantizeWeightsSync,
  rmsNorm,
  ropeSync,
  silu,
  softmaxSync,
  spmm,
  swigluSync,
  topkSync,
  w4a4Matmul,
  w4a8MatmulSync,
} from '../../lib';
import { NativeHookedOp, native } from '../../lib/binding';
import { toHalfBits } from '../../lib/half';
import { attentionCase, attentionData, attentionShape, AttentionCase } from '../cases/attention';
import { randomSparse } from '../cases/spmm';
import { randn, w4a4Case, w4a4CaseData } from '../cases/w4a4';
import { decode, makeData, rng } from '../helpers/data';
import { describe, test } from '../helpers/runner';
import { refAttention } from '../reference/attention';
import { refFloatForm, refIntMatmul, refQuantize as refQuantizeBits, refRandomValues } from '../reference/bitmm';
import { refRanking, refRmsNorm, refRope, refSilu, refSoftmax } from '../reference/block';
import { refGemm } from '../reference/gemm';
import { refBFloat16Bits, refFloat16Bits, refFloat16Value } from '../reference/half';
import { refInt8Matmul, refQuantizeWeightsInt8 } from '../reference/int8mm';
import { refLinearAttention } from '../reference/linear-attention';
import { refLut, refQuantizeLowBit } from '../reference/lut';
import { refMonarch, refMonarchDense } from '../reference/monarch';
import { refSpmm } from '../reference/spmm';
import { refMatmul } from '../reference/w4a4';

const { abs, ceil, floor } = Math;
const EPS = 2 ** -24;
const M = 7,
  K = 37,
  N = 13;

const cpu = devices()[0] as CpuDeviceInfo;
const info = nativeInfo();
// stderr: node --test reads a test file's stdout as its own protocol; jest hides console output.
process.stderr.write(
  `platform ${process.platform}-${process.arch}, Node ${process.version} (N-API ${process.versions.napi}), ` +
    `addon ${info.file} (${info.compiler}), active ISA ${cpu.isa} (best ${cpu.bestIsa}; features ${cpu.features.join(' ')}), ${cpu.threads} threads\n`,
);

/** Every element of got within tol(i) of want (NaN fails); names the worst element otherwise. */
function within(what: string, got: ArrayLike<number>, want: ArrayLike<number>, tol: (i: number) => number): void {
  assert.equal(got.length, want.length, `${what}: length`);
  let worst = 0,
    at = -1;
  for (let i = 0; i < want.length; i++) {
    const t = tol(i);
    const r = abs(got[i] - want[i]) / t;
    if (!(r <= worst)) {
      worst = Number.isNaN(r) ? Infinity : r;
      at = i;
    }
  }
  if (worst > 1) assert.fail(`${what}: element ${at} = ${got[at]}, reference ${want[at]} (error / tolerance ${worst.toExponential(2)})`);
}

/** Exactly equal element by element. */
function exact(what: string, got: ArrayLike<number>, want: ArrayLike<number>): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++)
    if (!Object.is(got[i] + 0, want[i] + 0)) assert.fail(`${what}: element ${i} = ${got[i]}, want ${want[i]}`);
}

function values(t: Tensor): Float64Array {
  return decode(t.dtype, t.toArraySync() as ArrayLike<number>);
}

/** The kernels the ops ran, printed at the end. On arm64 each op with a NEON kernel must have run one. */
const kernels = new Set<string>();
function kernelOf(op: NativeHookedOp, arm64: RegExp | null): void {
  const k = native.debug.lastKernel(op, 'cpu');
  kernels.add(`${op}: ${k}`);
  if (arm64 && process.arch === 'arm64') assert.match(k, arm64, `${op} ran ${k}, not a NEON kernel`);
}
const NEON = /neon/;

describe('platform', () => {
  test('the addon loads and the active CPU kernel family is the best this CPU has', () => {
    assert.ok(info.file.endsWith('.node'), info.file);
    assert.ok(info.napiVersion >= 8, `N-API ${info.napiVersion}`);
    if (process.env.TENSORKERN_ISA === undefined) assert.equal(cpu.isa, cpu.bestIsa);
    if (process.arch === 'arm64') {
      assert.equal(cpu.bestIsa, 'neon');
      assert.equal(cpu.isa, 'neon');
      assert.ok(cpu.features.includes('neon'), `features: ${cpu.features.join(' ')}`);
    } else if (process.arch === 'x64') {
      assert.ok(['avx512', 'avx2', 'scalar'].includes(cpu.isa), cpu.isa);
    }
  });
});

describe('gemm', () => {
  // float paths within the float32 accumulation bound (K + 4) 2^-24 sum|a b| (plus the output's rounding
  // for 16-bit out); int8 exact.
  const cases: { dtype: DType; transA?: boolean; transB?: boolean; epilogue?: boolean; out?: DType }[] = [
    { dtype: 'float32' },
    { dtype: 'float32', transA: true, transB: true, epilogue: true },
    { dtype: 'float16', transB: true },
    { dtype: 'float16', out: 'float16' },
    { dtype: 'bfloat16', epilogue: true },
    { dtype: 'bfloat16', transA: true, out: 'bfloat16' },
    { dtype: 'int8' },
    { dtype: 'int8', transB: true, epilogue: true },
  ];
  cases.forEach((cs, i) => {
    const name = `${cs.dtype}${cs.transA ? ' transA' : ''}${cs.transB ? ' transB' : ''}${cs.epilogue ? ' alpha/beta/c/bias' : ''}${cs.out ? ` -> ${cs.out}` : ''}`;
    test(`gemm ${name} [${M}, ${K}] x [${K}, ${N}]`, async () => {
      const aShape = cs.transA ? [K, M] : [M, K],
        bShape = cs.transB ? [N, K] : [K, N];
      const acc: DType = cs.dtype === 'int8' ? 'int32' : 'float32';
      const a = makeData(cs.dtype, M * K, 10 + 4 * i),
        b = makeData(cs.dtype, K * N, 11 + 4 * i);
      const c = cs.epilogue ? makeData(acc, M * N, 12 + 4 * i) : undefined;
      const bias = cs.epilogue ? makeData(acc, N, 13 + 4 * i) : undefined;
      const alpha = cs.epilogue ? (cs.dtype === 'int8' ? 1 : -0.5) : undefined,
        beta = cs.epilogue ? (cs.dtype === 'int8' ? 1 : 0.25) : undefined;
      const ref = refGemm({
        a: a.values,
        b: b.values,
        aShape,
        bShape,
        transA: cs.transA,
        transB: cs.transB,
        alpha,
        beta,
        c: c?.values,
        bias: bias?.values,
      });
      const t = (d: { data: ArrayBufferView }, shape: number[], dtype: DType) =>
        Tensor.from(d.data as Float32Array, shape, { dtype } as never);
      const opts = (packed: boolean) => ({
        transA: cs.transA,
        transB: packed ? undefined : cs.transB,
        alpha,
        beta,
        c: c && t(c, [M, N], acc),
        bias: bias && t(bias, [N], acc),
        out: cs.out ? Tensor.zeros([M, N], { dtype: cs.out }) : undefined,
      });
      const A = t(a, aShape, cs.dtype),
        B = t(b, bShape, cs.dtype);
      const y = i % 2 ? gemmSync(A, B, opts(false)) : await gemm(A, B, opts(false));
      assert.equal(y.dtype, cs.out ?? acc);
      assert.deepEqual(y.shape, [M, N]);
      kernelOf('gemm', NEON);
      // The same product with b packed once (packWeights).
      const z = gemmSync(A, packWeightsSync(B, { transB: cs.transB }), opts(true));
      assert.equal(z.dtype, cs.out ?? acc);
      kernelOf('gemm', NEON);
      for (const [what, got] of [
        [name, y],
        [`${name} packed`, z],
      ] as const) {
        if (cs.dtype === 'int8') {
          exact(what, values(got), ref.out);
          continue;
        }
        const outRound = cs.out === 'float16' ? 2 ** -11 : cs.out === 'bfloat16' ? 2 ** -8 : 0;
        within(
          what,
          values(got),
          ref.out,
          (j) => (K + 4) * EPS * ref.absSum[j] * 1.01 + outRound * abs(ref.out[j]) * 1.01 + (outRound ? EPS : 0) + 1e-37,
        );
      }
    });
  });
});

describe('spmm', () => {
  test(`spmm CSR [${M * 3}, ${K}] 30% x [${K}, ${N}], and alpha / beta / c`, async () => {
    const a: SparseMatrix = randomSparse(3 * M, K, 0.3, 21);
    const b = makeData('float32', K * N, 22),
      c = makeData('float32', 3 * M * N, 23);
    const bound = (ref: ReturnType<typeof refSpmm>) => (i: number) => {
      const r = floor(i / N);
      return (Number(a.rowPtr[r + 1]) - Number(a.rowPtr[r]) + 4) * EPS * ref.mag[i] + 1e-37;
    };
    const ref = refSpmm(a, b.values, N);
    within('spmm', values(await spmm(a, Tensor.from(b.data as Float32Array, [K, N]))), ref.y, bound(ref));
    kernelOf('spmm', NEON);
    const ref2 = refSpmm(a, b.values, N, { alpha: -1.5, beta: 0.25, c: c.values });
    const y2 = await spmm(a, Tensor.from(b.data as Float32Array, [K, N]), {
      alpha: -1.5,
      beta: 0.25,
      c: Tensor.from(c.data as Float32Array, [3 * M, N]),
    });
    within('spmm alpha/beta/c', values(y2), ref2.y, bound(ref2));
  });
});

describe('quantized matmuls', () => {
  // W4A4 / W4A8 against the quantization contract: the float32 epilogue bound (G + 16) 2^-24 sum|terms|.
  const cases = [
    w4a4Case({ M, N, K: 96, groupSize: 32, bits: 4, withBias: true }),
    w4a4Case({ M: 5, N, K: 100, groupSize: 'channel', bits: 4, outliers: [3, 50] }),
    w4a4Case({ M, N, K: 128, groupSize: 64, bits: 8, rotate: true }),
  ];
  cases.forEach((cs, i) => {
    test(`${cs.bits === 8 ? 'w4a8Matmul' : 'w4a4Matmul'} ${cs.name}`, async () => {
      const b = w4a4CaseData(cs, 30 + i);
      const x = Tensor.from(b.x, [cs.M, cs.K]);
      const bias = b.bias && Tensor.from(b.bias, [cs.N]);
      const y = cs.bits === 8 ? w4a8MatmulSync(x, b.W, { bias }) : await w4a4Matmul(x, b.W, { bias, outlierChannels: cs.outliers });
      within(cs.name, values(y), b.ref.out, (j) => (b.ref.G + 16) * EPS * b.ref.mag[j] + 1e-30);
      kernelOf('w4a4', NEON);
    });
  });

  test(`int4Matmul (weight-only, group 32) [${M}, 96] x [${N}, 96]^T with bias`, async () => {
    const Kw = 96,
      gs = 32;
    const x = randn(M * Kw, 40),
      w = randn(N * Kw, 41),
      bias = randn(N, 42);
    const W = quantizeWeightsInt4Sync(Tensor.from(w, [N, Kw]), { groupSize: gs });
    const y = values(await int4Matmul(Tensor.from(x, [M, Kw]), W, { bias: Tensor.from(bias, [N]) }));
    const wd = new Float64Array(N * Kw);
    for (let n = 0; n < N; n++)
      for (let k = 0; k < Kw; k++) wd[n * Kw + k] = Math.fround(W.q(n, k) * W.scales[n * (Kw / gs) + floor(k / gs)]);
    const ref = refMatmul(x, wd, M, N, Kw).map((v, i) => v + bias[i % N]);
    within('int4Matmul', y, ref, (i) => {
      let mag = abs(bias[i % N]);
      for (let k = 0; k < Kw; k++) mag += abs(x[floor(i / N) * Kw + k] * wd[(i % N) * Kw + k]);
      return (Kw + 8) * EPS * mag;
    });
  });

  test(`int8Matmul [${M}, ${K}] x [${N}, ${K}]^T, an outlier column (threshold 6) and none (Infinity)`, async () => {
    const x = randn(M * K, 50),
      w = randn(N * K, 51, 0.05);
    for (let m = 0; m < M; m += 3) x[m * K + 5] *= 40;
    const W = quantizeWeightsInt8Sync(Tensor.from(w, [N, K]));
    const rw = refQuantizeWeightsInt8(w, N, K);
    exact('int8 weights', W.values, rw.q);
    for (const threshold of [6, Infinity]) {
      const ref = refInt8Matmul(x, M, K, rw, N, { threshold });
      if (threshold === 6) assert.deepEqual(ref.outliers, [5]);
      const y = values(await int8Matmul(Tensor.from(x, [M, K]), W, { threshold }));
      within(`int8Matmul threshold ${threshold}`, y, ref.out, (i) => (ref.outliers.length + 8) * EPS * ref.mag[i] + 1e-30);
      kernelOf('int8mm', NEON);
    }
  });

  test(`lutMatmul bits 1..4, group 8 (a tail group), [${M}, ${K}] x [${N}, ${K}]^T`, () => {
    const r = rng(60);
    const w = Float32Array.from({ length: N * K }, (_, i) => Math.fround((r() * 2 - 1) * (1 + (i % 7))));
    const x = makeData('float32', M * K, 61);
    for (const bits of [1, 2, 3, 4] as const) {
      const q = quantizeWeightsSync(Tensor.from(w, [N, K]), { bits, groupSize: 8 });
      const ref = refQuantizeLowBit(w, N, K, bits, 8);
      for (let n = 0; n < N; n++)
        for (let k = 0; k < K; k++) if (q.q(n, k) !== ref.q[n * K + k]) assert.fail(`lut ${bits}-bit q(${n}, ${k})`);
      const want = refLut(x.values, M, ref);
      within(`lutMatmul ${bits}-bit`, values(lutMatmulSync(Tensor.from(x.data as Float32Array, [M, K]), q)), want.y, (i) => want.bound[i]);
      kernelOf('lut', NEON);
    }
  });

  test(`bitMatmul: int3 x int5 and bipolar1 x uint2 exact, int4 x int4 float form, [${M}, ${K}] x [${N}, ${K}]^T`, () => {
    const r = rng(70);
    for (const [fa, ba, fb, bb] of [
      ['int', 3, 'int', 5],
      ['bipolar', 1, 'uint', 2],
    ] as const) {
      const av = refRandomValues(fa, ba, M * K, r),
        bv = refRandomValues(fb, bb, N * K, r);
      const y = bitMatmulSync(
        packBits(Tensor.from(av, [M, K]), { bits: ba, format: fa }),
        packBits(Tensor.from(bv, [N, K]), { bits: bb, format: fb }),
      );
      assert.equal(y.dtype, 'int32');
      exact(`bitMatmul ${fa}${ba} x ${fb}${bb}`, values(y), refIntMatmul(av, bv, M, N, K));
      kernelOf('bitmm', /neon|int8-gemm/); // int8-gemm: the int8 gemm kernels (NEON ones on arm64)
    }
    const x = Float32Array.from({ length: M * K }, () => (r() - 0.5) * 4),
      w = Float32Array.from({ length: N * K }, () => (r() - 0.5) * 0.2);
    const y = bitMatmulSync(
      quantizeBits(Tensor.from(x, [M, K]), { bits: 4, format: 'int' }),
      quantizeBits(Tensor.from(w, [N, K]), { bits: 4, format: 'int' }),
    );
    const qa = refQuantizeBits(x, M, K, 4, 'int'),
      qb = refQuantizeBits(w, N, K, 4, 'int');
    const ref = refFloatForm(refIntMatmul(qa.q, qb.q, M, N, K), M, N, qa.s, qb.s);
    within('bitMatmul float form', values(y), ref.out, (i) => 8 * EPS * ref.mag[i] + 1e-30);
  });
});

describe('attention', () => {
  // float32: the CPU suite's per-row bound from the score error (D + 8) 2^-24 sum|q k|, the exp error and
  // the accumulation over the visible keys; 16-bit outputs add their rounding.
  const cases: AttentionCase[] = [
    attentionCase({ B: 1, Hq: 2, Hkv: 1, Sq: M, Sk: N, D: 16, dtype: 'float32', causal: true }),
    attentionCase({ B: 2, Hq: 2, Hkv: 2, Sq: M, Sk: N, D: 8, dtype: 'float32', mask: { kind: 'bool', shape: [M, N] } }),
    attentionCase({
      B: 1,
      Hq: 2,
      Hkv: 2,
      Sq: M,
      Sk: N,
      D: 24,
      dtype: 'float32',
      mask: { kind: 'float', shape: [1, 2, M, N] },
      causal: true,
    }),
    attentionCase({ B: 1, Hq: 2, Hkv: 1, Sq: M, Sk: N, D: 16, dtype: 'float16', causal: true, layout: 'bshd' }),
  ];
  cases.forEach((c, i) => {
    test(`attention ${c.name}`, async () => {
      const x = attentionData(c, 80 + 7 * i);
      const t = (d: ArrayBufferView, shape: number[]) => Tensor.from(d as Float32Array, shape, { dtype: c.dtype } as never);
      const mask = x.mask && Tensor.from(x.mask.data, x.mask.shape, { dtype: x.mask.dtype } as never);
      const y = await attention(
        t(x.data.q, attentionShape(c, c.Hq, c.Sq)),
        t(x.data.k, attentionShape(c, c.Hkv, c.Sk)),
        t(x.data.v, attentionShape(c, c.Hkv, c.Sk)),
        {
          causal: c.causal,
          mask,
          layout: c.layout,
        },
      );
      assert.equal(y.dtype, c.dtype);
      kernelOf('attention', NEON);
      const outRound = c.dtype === 'float16' ? 2 ** -11 : c.dtype === 'bfloat16' ? 2 ** -8 : 0;
      const ref = refAttention(x.input);
      const rowOf = (j: number) => {
        // out index -> reference row (b, h, i) in [B, Hq, Sq] order
        const d = j % c.D,
          rest = (j - d) / c.D;
        if (c.layout === 'bshd') {
          const h = rest % c.Hq,
            s = floor(rest / c.Hq) % c.Sq,
            b = floor(rest / (c.Hq * c.Sq));
          return (b * c.Hq + h) * c.Sq + s;
        }
        return rest;
      };
      within(`attention ${c.name}`, values(y), ref.out, (j) => {
        const r = rowOf(j);
        const errS = (c.D + 8) * EPS * ref.absScore[r] + 4 * EPS * (x.maskMax + ref.absScore[r]);
        const relP = 2 * errS + 3e-7;
        const tol = ref.maxAbsV[r] * (2 * relP + 2 * (ref.visible[r] + c.D + 16) * EPS) * 1.01 + 1e-30;
        return tol + outRound * abs(ref.out[j]) * 1.01 + (outRound ? EPS : 0);
      });
    });
  });

  test(`linearAttention [1, 2, ${N}, 8] -> Dv 5, decay per head, state in and out`, () => {
    const B = 1,
      H = 2,
      S = N,
      D = 8,
      Dv = 5;
    const q = makeData('float32', B * H * S * D, 90),
      k = makeData('float32', B * H * S * D, 91),
      v = makeData('float32', B * H * S * Dv, 92),
      st = makeData('float32', B * H * D * Dv, 93);
    const decay = Float32Array.of(0.9, 1);
    const ref = refLinearAttention({
      B,
      H,
      S,
      D,
      Dv,
      layout: 'bhsd',
      causal: true,
      scale: 0.7,
      decay,
      q: q.values,
      k: k.values,
      v: v.values,
      state: st.values,
    });
    const f = (d: { data: ArrayBufferView }, shape: number[]) => Tensor.from(d.data as Float32Array, shape);
    const r = linearAttentionSync(f(q, [B, H, S, D]), f(k, [B, H, S, D]), f(v, [B, H, S, Dv]), {
      scale: 0.7,
      decay,
      state: f(st, [B, H, D, Dv]),
      returnState: true,
    });
    kernelOf('linearAttention', null); // blocked over the gemm kernels
    // The CPU suite's bound: 4 * terms * 2^-24 * magnitude, terms = 2D + block (64) + 2 per block + 8.
    const terms = 2 * D + 64 + 2 * ceil(S / 64) + 8;
    within('linearAttention out', values(r.out), ref.out, (i) => 4 * terms * EPS * ref.mag[i] + 1e-30);
    within('linearAttention state', values(r.state), ref.state, (i) => 4 * terms * EPS * ref.stateMag[i] + 1e-30);
  });

  test('monarchMatmul k 3, q 5, p 4, l 5, s 6, r 3, batch 1 and 7', async () => {
    const d = { k: 3, q: 5, p: 4, l: 5, s: 6, r: 3 };
    for (const batch of [1, M]) {
      const x = makeData('float32', batch * d.k * d.p, 100 + batch),
        w1 = makeData('float32', d.k * d.q * d.p, 101),
        w2 = makeData('float32', d.l * d.s * d.r, 102);
      const f = (v: { data: ArrayBufferView }, shape: number[]) => Tensor.from(v.data as Float32Array, shape);
      const args = [f(x, [batch, d.k * d.p]), f(w1, [d.k, d.q, d.p]), f(w2, [d.l, d.s, d.r])] as const;
      const y = batch === 1 ? monarchMatmulSync(...args) : await monarchMatmul(...args);
      assert.deepEqual(y.shape, [batch, d.l * d.s]);
      kernelOf('monarch', NEON);
      const ref = refMonarch(x.values, w1.values, w2.values, batch, d);
      within(`monarch batch ${batch}`, values(y), ref.out, (i) => (d.p + d.r + 8) * EPS * ref.absSum[i] + 1e-30);
    }
  });
});

describe('projectMonarch', () => {
  test('projectMonarch of a Monarch matrix [15, 12], 3 blocks: error ~0, the factors reproduce it', () => {
    const d = { k: 3, q: 3, p: 4, l: 3, s: 5, r: 3 };
    const r = rng(150);
    const w1 = Float64Array.from({ length: d.k * d.q * d.p }, () => Math.fround(r() * 2 - 1));
    const w2 = Float64Array.from({ length: d.l * d.s * d.r }, () => Math.fround(r() * 2 - 1));
    const W = refMonarchDense(w1, w2, d);
    const f = projectMonarchSync(Tensor.from(Float32Array.from(W), [15, 12]), { blocks: 3 });
    assert.deepEqual(f.w1.shape, [3, 3, 4]);
    assert.deepEqual(f.w2.shape, [3, 5, 3]);
    assert.ok(f.error < 1e-5, `reported error ${f.error}`);
    const W2 = refMonarchDense(f.w1.toArraySync() as Float32Array, f.w2.toArraySync() as Float32Array, d);
    let num = 0,
      den = 0;
    for (let i = 0; i < W.length; i++) ((num += (W2[i] - Math.fround(W[i])) ** 2), (den += W[i] ** 2));
    assert.ok(Math.sqrt(num / den) < 1e-5, `factors' relative error ${Math.sqrt(num / den)}`);
  });
});

describe('block ops and cast', () => {
  const f32 = (n: number, seed: number, scale = 1) => Float64Array.from(makeData('float32', n, seed).values, (v) => Math.fround(v * scale));
  const rel = (want: ArrayLike<number>, rtol: number, atol: number) => (i: number) => atol + rtol * abs(want[i]);

  test(`rmsNorm float32 and bfloat16 [${M}, ${K}]; rope interleaved and half [${M}, 3, 38]`, async () => {
    const x = f32(M * K, 110, 3),
      w = f32(K, 111);
    const want = refRmsNorm(x, w, K, 1e-5);
    within(
      'rmsNorm',
      values(await rmsNorm(Tensor.from(Float32Array.from(x), [M, K]), Tensor.from(Float32Array.from(w), [K]))),
      want,
      rel(want, 4e-6, 1e-6),
    );
    const xb = toHalfBits(x, 'bfloat16');
    const wantB = refRmsNorm(decode('bfloat16', xb), w, K, 1e-5);
    within(
      'rmsNorm bfloat16',
      values(await rmsNorm(Tensor.from(xb, [M, K], { dtype: 'bfloat16' }), Tensor.from(Float32Array.from(w), [K]))),
      wantB,
      rel(wantB, 16e-3, 1e-6),
    );
    const xr = f32(M * 3 * 38, 112);
    for (const style of ['interleaved', 'half'] as const) {
      const y = ropeSync(Tensor.from(Float32Array.from(xr), [M, 3, 38]), { positions: 5, style });
      const wantR = refRope(xr, [1, M, 3, 38], (_b, s) => 5 + s, 10000, style === 'half');
      within(`rope ${style}`, values(y), wantR, rel(wantR, 2e-6, 1e-5));
    }
  });

  test(`silu, swiglu, add (broadcast bias), softmax [${M}, ${K}]`, async () => {
    const g = f32(M * K, 120, 6),
      u = f32(M * K, 121, 2),
      bias = f32(K, 122);
    const G = Tensor.from(Float32Array.from(g), [M, K]),
      U = Tensor.from(Float32Array.from(u), [M, K]);
    const wantS = Array.from(g, refSilu);
    within('silu', values(await silu(G)), wantS, rel(wantS, 4e-6, 1e-6));
    const wantW = Array.from(g, (v, i) => refSilu(v) * u[i]);
    within('swiglu', values(swigluSync(G, U)), wantW, rel(wantW, 4e-6, 1e-6));
    const wantA = Array.from(g, (v, i) => v + bias[i % K]);
    within('add', values(await add(G, Tensor.from(Float32Array.from(bias), [K]))), wantA, rel(wantA, 2e-6, 1e-7));
    const wantM = refSoftmax(g, K);
    within('softmax', values(softmaxSync(G)), wantM, rel(wantM, 4e-6 + 1e-5, 1e-7));
  });

  test(`embedding, argmax, topk 3, kvAppend [${M}, ${K}]`, () => {
    const table = f32(50 * K, 130);
    const r = rng(131);
    const ids = Int32Array.from({ length: M }, () => floor(r() * 50));
    const want = new Float64Array(M * K);
    ids.forEach((id, t) => want.set(table.subarray(id * K, id * K + K), t * K));
    exact('embedding', values(embeddingSync(Tensor.from(Float32Array.from(table), [50, K]), Tensor.from(ids, [M]))), want);

    const x = f32(M * K, 132);
    x[2 * K + 7] = x[2 * K + 30] = 5; // a tie: the lower index wins
    const X = Tensor.from(Float32Array.from(x), [M, K]);
    const rank = Array.from({ length: M }, (_, m) => refRanking(x.subarray(m * K, m * K + K)));
    exact(
      'argmax',
      argmaxSync(X).toArraySync() as Int32Array,
      rank.map((rk) => rk[0]),
    );
    const tk = topkSync(X, 3);
    exact(
      'topk indices',
      tk.indices.toArraySync() as Int32Array,
      rank.flatMap((rk) => rk.slice(0, 3)),
    );
    exact(
      'topk values',
      values(tk.values),
      rank.flatMap((rk, m) => rk.slice(0, 3).map((j) => x[m * K + j])),
    );

    const cache = Tensor.zeros([9, 2, K]);
    const a = f32(3 * 2 * K, 133),
      b = f32(2 * K, 134);
    kvAppendSync(cache, Tensor.from(Float32Array.from(a), [3, 2, K]));
    kvAppendSync(cache, Tensor.from(Float32Array.from(b), [1, 2, K]), { position: 5 });
    const wantC = new Float64Array(9 * 2 * K);
    wantC.set(a, 0);
    wantC.set(b, 5 * 2 * K);
    exact('kvAppend', values(cache), wantC);
  });

  test('cast float32 -> float16 / bfloat16 (ties, edges, odd length), float16 -> float32 (every 7th pattern)', async () => {
    const r = rng(140);
    const probes: number[] = [
      0,
      -0,
      Infinity,
      -Infinity,
      65504,
      65520,
      1e-8,
      -3.0517578125e-5,
      2 ** -25,
      1 + 2 ** -11,
      1 + 3 * 2 ** -11,
      1 + 2 ** -8,
    ];
    for (let i = 0; i < 1001; i++) probes.push(Math.fround((r() - 0.5) * 2 ** (floor(r() * 40) - 20)));
    const x = Float32Array.from(probes);
    const X = Tensor.from(x, [x.length]);
    exact('cast float16', (await cast(X, 'float16')).toArraySync() as Uint16Array, Array.from(x, refFloat16Bits));
    exact('cast bfloat16', castSync(X, 'bfloat16').toArraySync() as Uint16Array, Array.from(x, refBFloat16Bits));
    const h = Uint16Array.from({ length: 9363 }, (_, i) => (i * 7) & 0xffff).filter((b) => (b & 0x7c00) !== 0x7c00 || (b & 0x3ff) === 0);
    exact(
      'cast float16 -> float32',
      castSync(Tensor.from(h, [h.length], { dtype: 'float16' }), 'float32').toArraySync() as Float32Array,
      Array.from(h, refFloat16Value),
    );
  });
});

describe('kernels', () => {
  test('every op with a kernel record recorded the one it ran (printed)', () => {
    process.stderr.write(`kernels: ${[...kernels].join(', ')}\n`);
    const ops = new Set([...kernels].filter((k) => !k.endsWith(': ')).map((k) => k.split(':')[0]));
    assert.deepEqual([...ops].sort(), ['attention', 'bitmm', 'gemm', 'int8mm', 'linearAttention', 'lut', 'monarch', 'spmm', 'w4a4']);
  });
});
