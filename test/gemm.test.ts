// gemm on every CPU kernel family this machine has, every case of test/cases/gemm.ts, against the
// float64 reference: float paths within the float32 accumulation bound (K + 4) * 2^-24 * sum|a*b|
// (plus the output rounding for float16/bfloat16 out), int8 exact.
import * as fs from 'fs';
import * as path from 'path';
import { Tensor, gemm, gemmSync, getNumThreads, packWeightsSync, setNumThreads } from '../lib';
import { native } from '../lib/binding';
import { nativeOf } from '../lib/tensor';
import { GemmCase, gemmTestCases } from './cases/gemm';
import { CpuIsa, cpuIsas, printSkip, reportMissingIsas, testIf, withIsa } from './helpers/backends';
import { Data, decode, makeData } from './helpers/data';
import { refGemm } from './reference/gemm';

interface Built {
  a: Tensor;
  b: Tensor;
  c?: Tensor;
  bias?: Tensor;
  out?: Tensor;
  ref: ReturnType<typeof refGemm>;
}

function build(cs: GemmCase, seed: number): Built {
  const batch = cs.batch ?? 1;
  const aShape = cs.transA ? [cs.K, cs.M] : [cs.M, cs.K];
  const bShape = cs.transB ? [cs.N, cs.K] : [cs.K, cs.N];
  const aFull = cs.batch ? [batch, ...aShape] : aShape;
  const bFull = cs.batch && !cs.bShared ? [batch, ...bShape] : bShape;
  const ad = makeData(
    cs.dtype,
    aFull.reduce((x, y) => x * y, 1),
    seed,
  );
  const bd = makeData(
    cs.dtype,
    bFull.reduce((x, y) => x * y, 1),
    seed + 1,
  );
  const acc = cs.dtype === 'int8' ? 'int32' : 'float32';
  const outShape = cs.batch ? [batch, cs.M, cs.N] : [cs.M, cs.N];
  const cd = cs.withC
    ? makeData(
        acc,
        outShape.reduce((x, y) => x * y, 1),
        seed + 2,
      )
    : undefined;
  const biasd = cs.withBias ? makeData(acc, cs.N, seed + 3) : undefined;
  const t = (d: Data, shape: number[], dtype: typeof cs.dtype) => Tensor.from(d.data, shape, { dtype });
  return {
    a: t(ad, aFull, cs.dtype),
    b: t(bd, bFull, cs.dtype),
    c: cd && t(cd, outShape, acc),
    bias: biasd && t(biasd, [cs.N], acc),
    out: cs.outDtype ? Tensor.zeros(outShape, { dtype: cs.outDtype }) : undefined,
    ref: refGemm({
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
    }),
  };
}

const abs = Math.abs; // module binding: global lookups are slow in jest's sandbox

function check(cs: GemmCase, got: Tensor, ref: ReturnType<typeof refGemm>): void {
  const vals = decode(got.dtype, got.toArraySync() as ArrayLike<number>);
  expect(vals.length).toBe(ref.out.length);
  const exact = cs.dtype === 'int8';
  const outRound = got.dtype === 'float16' ? 2 ** -11 : got.dtype === 'bfloat16' ? 2 ** -8 : 0;
  let worst = 0,
    worstAt = -1;
  for (let i = 0; i < vals.length; i++) {
    const err = abs(vals[i] - ref.out[i]);
    const tol = exact
      ? 0
      : (ref.K + 4) * 2 ** -24 * ref.absSum[i] * 1.01 + outRound * abs(ref.out[i]) * 1.01 + 2 ** -24 * (outRound ? 1 : 0) + 1e-37;
    const ratio = tol === 0 ? (err === 0 ? 0 : Infinity) : err / tol;
    if (!(ratio <= worst) || Number.isNaN(vals[i])) {
      worst = Number.isNaN(vals[i]) ? Infinity : ratio;
      worstAt = i;
    }
  }
  if (worst > 1) {
    throw new Error(
      `${cs.name}: element ${worstAt} = ${vals[worstAt]}, reference ${ref.out[worstAt]} (error / tolerance = ${worst.toExponential(2)})`,
    );
  }
}

const CASES = gemmTestCases();

describe('gemm cpu', () => {
  reportMissingIsas('gemm');
  // AVX-512 runs twice: with the block configs of full-width cores ("wide", Zen 5) and of the rest
  // ("split"), whichever this CPU would pick; the int8 cases a third time with Intel Xeon's int8
  // blocks ("xeon"). With AVX512_BF16 the bfloat16 cases run twice more, on vdpbf16ps and widened
  // to float32, whichever this core would pick (core/cpu_features.h).
  const avx512bf16 = native.runtime.probe().cpu.features.avx512bf16;
  type Run = { isa: CpuIsa; blocks?: 'wide' | 'split' | 'xeon'; bf16Dot?: 'on' | 'off' };
  const runs = cpuIsas().flatMap((isa): Run[] =>
    isa === 'avx512'
      ? [
          { isa, blocks: 'wide' },
          { isa, blocks: 'split' },
          { isa, blocks: 'xeon' },
          ...(avx512bf16 ? (['on', 'off'] as const).map((bf16Dot) => ({ isa, bf16Dot })) : []),
        ]
      : [{ isa }],
  );
  for (const { isa, blocks, bf16Dot } of runs) {
    const name = blocks ? `${isa} ${blocks} blocks` : bf16Dot ? `${isa} bfloat16 dot products ${bf16Dot}` : isa;
    const cases = CASES.map((c, i) => [c.name, c, i] as const).filter(
      ([, c]) => (!bf16Dot || c.dtype === 'bfloat16') && (blocks !== 'xeon' || c.dtype === 'int8'),
    );
    describe(name, () => {
      test.each(cases)('%s', (_n, cs, i) =>
        withIsa(isa, async () => {
          if (blocks) expect(native.debug.setPath('gemm', 'cpu', blocks)).toBe(blocks);
          if (bf16Dot) expect(native.runtime.setBf16Dot(bf16Dot)).toBe(bf16Dot === 'on');
          try {
            const x = build(cs, 1000 + i);
            const y = await gemm(x.a, x.b, {
              transA: cs.transA,
              transB: cs.transB,
              alpha: cs.alpha,
              beta: cs.beta,
              c: x.c,
              bias: x.bias,
              out: x.out,
              device: 'cpu',
            });
            expect(y.dtype).toBe(cs.outDtype ?? (cs.dtype === 'int8' ? 'int32' : 'float32'));
            check(cs, y, x.ref);
            if (x.out) expect(y).toBe(x.out);
            // The same product with b packed once (packWeights): every case whose b is one matrix.
            if (!cs.batch || cs.bShared) {
              const pw = packWeightsSync(x.b, { transB: cs.transB });
              try {
                const z = await gemm(x.a, pw, {
                  transA: cs.transA,
                  alpha: cs.alpha,
                  beta: cs.beta,
                  c: x.c,
                  bias: x.bias,
                  out: cs.outDtype ? Tensor.zeros(y.shape, { dtype: cs.outDtype }) : undefined,
                  device: 'cpu',
                });
                check(cs, z, x.ref);
              } finally {
                pw.dispose();
              }
            }
            // The blocked kernel is the one asked for (the skinny kernels widen bfloat16 either way).
            const ran = native.debug.lastKernel('gemm', 'cpu');
            if (bf16Dot === 'off') expect(ran).not.toContain('vdpbf16ps');
            if (bf16Dot === 'on' && ran.includes('12x32')) expect(ran).toContain('vdpbf16ps');
          } finally {
            if (blocks) native.debug.setPath('gemm', 'cpu', 'auto');
            if (bf16Dot) native.runtime.setBf16Dot('auto');
          }
        }),
      );
    });
  }
  if (!avx512bf16)
    printSkip('gemm bfloat16 on AVX512_BF16 dot products: this CPU lacks avx512bf16 (bf16 runs through the float32 kernels)');
});

describe('gemm paths and threads', () => {
  test('sync and async agree bit for bit; 1, 2 and 3 threads agree bit for bit', async () => {
    const before = getNumThreads();
    try {
      for (const cs of CASES.filter((c) =>
        [
          'gemm float32 1000x129x1000 NN',
          'gemm float32 257x257x257 TT',
          'gemm int8 100x200x3001 NT',
          'gemm float32 16x4096x64 NN',
        ].includes(c.name),
      )) {
        const x = build(cs, 7);
        const runs: ArrayBufferView[] = [];
        for (const n of [1, 2, 3]) {
          setNumThreads(n);
          runs.push((await gemm(x.a, x.b, { transA: cs.transA, transB: cs.transB, device: 'cpu' })).toArraySync());
          runs.push(gemmSync(x.a, x.b, { transA: cs.transA, transB: cs.transB, device: 'cpu' }).toArraySync());
        }
        const first = Buffer.from(runs[0].buffer);
        runs.forEach((r, i) => expect([cs.name, i, Buffer.from(r.buffer).equals(first)]).toEqual([cs.name, i, true]));
      }
    } finally {
      setNumThreads(before);
    }
  });

  test('the block-config hook names what it sets and rejects other names', () => {
    expect(() => native.debug.setPath('gemm', 'cpu', 'huge')).toThrow(
      `Expected 'auto', 'wide', 'split' or 'xeon' (splits 0) for the gemm path on cpu but received "huge" with splits = 0`,
    );
    expect(['wide', 'split', 'xeon']).toContain(native.debug.setPath('gemm', 'cpu', 'auto'));
  });

  test('out may be c: an in-place update', async () => {
    const cs = CASES.find((c) => c.withC && c.dtype === 'float32' && !c.batch)!;
    const x = build(cs, 3);
    const y = await gemm(x.a, x.b, {
      transA: cs.transA,
      transB: cs.transB,
      alpha: cs.alpha,
      beta: cs.beta,
      c: x.c,
      bias: x.bias,
      out: x.c,
      device: 'cpu',
    });
    expect(y).toBe(x.c);
    check(cs, y, x.ref);
  });

  test('the plain loop agrees with the reference', () => {
    for (const cs of CASES.filter((c) => c.M * c.N * c.K < 3e6 && !c.outDtype)) {
      const x = build(cs, 11);
      const out = Tensor.zeros(cs.batch ? [cs.batch, cs.M, cs.N] : [cs.M, cs.N], { dtype: cs.dtype === 'int8' ? 'int32' : 'float32' });
      const nt = (t: Tensor | undefined) => (t ? nativeOf(t, 'test') : undefined);
      native.bench.gemmPlain({
        a: nativeOf(x.a, 'a'),
        b: nativeOf(x.b, 'b'),
        c: nt(x.c),
        bias: nt(x.bias),
        out: nativeOf(out, 'out'),
        transA: !!cs.transA,
        transB: !!cs.transB,
        alpha: cs.alpha ?? 1,
        beta: cs.beta ?? (x.c ? 1 : 0),
      });
      check(cs, out, x.ref);
    }
  });
});

// The float64 reference on real weights: layer 0 of the llama2.c stories260K model (docs/design.md data).
const MODEL = path.join(__dirname, '..', '..', 'shared', 'data', 'models', 'stories260K.bin');
describe('gemm on real model weights', () => {
  testIf(fs.existsSync(MODEL), `stories260K matmuls: ${MODEL} is absent`)(
    'token embeddings x wq / w1 of layer 0, every dtype',
    async () => {
      const buf = fs.readFileSync(MODEL);
      const hdr = new Int32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + 28));
      const [dim, hidden, layers, , kvHeads, vocab] = hdr;
      const heads = hdr[3];
      const f = new Float32Array(buf.buffer.slice(buf.byteOffset + 28));
      let off = 0;
      const take = (n: number) => f.subarray(off, (off += n));
      const tokEmb = take(vocab * dim);
      take(layers * dim); // rms_att
      const wq = take(layers * dim * dim).subarray(0, dim * dim);
      const kvDim = (dim * kvHeads) / heads;
      take(layers * kvDim * dim); // wk
      take(layers * kvDim * dim); // wv
      take(layers * dim * dim); // wo
      take(layers * dim); // rms_ffn
      const w1 = take(layers * hidden * dim).subarray(0, hidden * dim);
      const tokens = [1, 7, 42, 100, 255, 300, 411, 511, 3, 9, 27, 81, 243];
      const x = new Float32Array(tokens.length * dim);
      tokens.forEach((t, i) => x.set(tokEmb.subarray(t * dim, (t + 1) * dim), i * dim));
      for (const [w, n] of [
        [wq, dim],
        [w1, hidden],
      ] as [Float32Array, number][]) {
        const ref = refGemm({ a: x, b: w, aShape: [tokens.length, dim], bShape: [n, dim], transB: true });
        for (const dtype of ['float32', 'float16', 'bfloat16'] as const) {
          const enc = (v: Float32Array) =>
            dtype === 'float32' ? Tensor.from(v, [v.length]) : Tensor.from(Array.from(v), [v.length], { dtype });
          const a = enc(x).reshape([tokens.length, dim]);
          const b = enc(w).reshape([n, dim]);
          const y = await gemm(a, b, { transB: true, device: 'cpu' });
          if (dtype === 'float32') {
            check({ name: `stories260K ${n}`, M: tokens.length, N: n, K: dim, dtype }, y, ref);
          } else {
            // Inputs rounded to 16 bits: compare with the reference on the rounded inputs, and the
            // rounding error of the result against the fp32 weights stays at the dtype's precision.
            const ra = decode(dtype, a.toArraySync() as Uint16Array),
              rb = decode(dtype, b.toArraySync() as Uint16Array);
            check(
              { name: `stories260K ${n} ${dtype}`, M: tokens.length, N: n, K: dim, dtype },
              y,
              refGemm({ a: ra, b: rb, aShape: [tokens.length, dim], bShape: [n, dim], transB: true }),
            );
            const got = y.toArraySync() as Float32Array;
            let num = 0,
              den = 0;
            for (let i = 0; i < got.length; i++) {
              num += (got[i] - ref.out[i]) ** 2;
              den += ref.out[i] ** 2;
            }
            expect(Math.sqrt(num / den)).toBeLessThan(dtype === 'float16' ? 2e-3 : 1.5e-2);
          }
        }
      }
    },
  );
});
