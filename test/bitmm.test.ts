// bitMatmul on every CPU kernel family this machine has, against test/reference/bitmm.ts: the
// integer form must equal the exact product bit for bit (every bit width 1..8 on each side, every
// format pair, K not a multiple of 64, odd M / N), the float form the float64 epilogue within its
// float32 bound; plus the quantizer's rounding rule, save/load, c / out, and the real stories260K layers.
import { BitPlanes, Tensor, bitMatmul, bitMatmulSync, packBits, quantizeBits } from '../lib';
import { native } from '../lib/binding';
import { cpuIsas, printSkip, reportMissingIsas, testIf, withIsa } from './helpers/backends';
import { rng } from './helpers/data';
import { storiesLinears } from './helpers/stories';
import { Format, refFloatForm, refIntMatmul, refQuantize, refRandomValues } from './reference/bitmm';

const FORMATS: Format[] = ['int', 'uint', 'bipolar'];
const ISAS = cpuIsas();
reportMissingIsas('bitmm');

function planes(v: Int32Array, rows: number, K: number, bits: number, format: Format): BitPlanes {
  return packBits(Tensor.from(v, [rows, K]), { bits, format });
}

function expectExact(label: string, got: ArrayLike<number>, want: Float64Array): void {
  for (let i = 0; i < want.length; i++) {
    if (got[i] !== want[i]) throw new Error(`${label}: element ${i} = ${got[i]}, exact ${want[i]}`);
  }
}

function expectClose(label: string, got: ArrayLike<number>, ref: { out: Float64Array; mag: Float64Array }): void {
  for (let i = 0; i < ref.out.length; i++) {
    const tol = 8 * 2 ** -24 * ref.mag[i] + 1e-30;
    if (!(Math.abs(got[i] - ref.out[i]) <= tol))
      throw new Error(`${label}: element ${i} = ${got[i]}, reference ${ref.out[i]} (tolerance ${tol.toExponential(2)})`);
  }
}

/** One integer case: random values of the formats, the product against the exact reference. */
function intCase(isa: string, fa: Format, ba: number, fb: Format, bb: number, M: number, N: number, K: number, seed: number): void {
  const r = rng(seed);
  const av = refRandomValues(fa, ba, M * K, r),
    bv = refRandomValues(fb, bb, N * K, r);
  const y = bitMatmulSync(planes(av, M, K, ba, fa), planes(bv, N, K, bb, fb));
  expect(y.dtype).toBe('int32');
  expect(y.shape).toEqual([M, N]);
  expectExact(`${isa} ${fa}${ba} x ${fb}${bb} [${M}, ${N}, ${K}]`, y.toArraySync() as Int32Array, refIntMatmul(av, bv, M, N, K));
}

describe('bit planes', () => {
  test('packBits / unpack round trip, every format and width, pad bits zero', () => {
    const r = rng(1);
    for (const f of FORMATS)
      for (let bits = 1; bits <= 8; bits++) {
        const K = 70 + bits;
        const v = refRandomValues(f, bits, 3 * K, r);
        const p = planes(v, 3, K, bits, f);
        expect(p.planes.shape).toEqual([3, bits, 2]);
        expect(Array.from(p.unpack().toArraySync() as Int32Array)).toEqual(Array.from(v));
        const words = p.planes.toArraySync() as BigInt64Array;
        for (let row = 0; row < 3 * bits; row++) expect(words[row * 2 + 1] >> BigInt(K - 64)).toBe(0n);
      }
    // the extremes of each format, int8 input
    const ext = Int8Array.from([-128, 127, 0, -1]);
    expect(
      Array.from(
        packBits(Tensor.from(ext, [1, 4]), { bits: 8 })
          .unpack()
          .toArraySync() as Int32Array,
      ),
    ).toEqual([-128, 127, 0, -1]);
    const bip = Int32Array.from([-255, 255, 1, -1]);
    expect(
      Array.from(
        packBits(Tensor.from(bip, [2, 2]), { bits: 8, format: 'bipolar' })
          .unpack()
          .toArraySync() as Int32Array,
      ),
    ).toEqual(Array.from(bip));
  });

  test('quantizeBits follows the rounding rule (ties, zero rows, clamps) and dequantize is scale * value', () => {
    // Values on the ties of every format: scale 1 when max|v| = L.
    const cases: [Format, number, number[], number[]][] = [
      ['int', 4, [7, 0.5, 1.5, 2.5, -2.5, -0.5, -7, 3.49], [7, 0, 2, 2, -2, -0, -7, 3]],
      ['uint', 3, [7, 0.5, 1.5, 2.5, -3, 6.5, 0, 3.51], [7, 0, 2, 2, 0, 6, 0, 4]],
      ['bipolar', 3, [7, 0, 2, -2, 4, -4, 6, 0.3], [7, 1, 1, -1, 5, -5, 5, 1]],
      ['bipolar', 1, [1, -0.2, 0.2, 0, -1, 0.9, -0.9, 0.01], [1, -1, 1, 1, -1, 1, -1, 1]],
    ];
    for (const [f, bits, v, want] of cases) {
      const p = quantizeBits(Tensor.from(Float32Array.from(v), [1, v.length]), { bits, format: f });
      expect((p.scales!.toArraySync() as Float32Array)[0]).toBe(1);
      expect(Array.from(p.unpack().toArraySync() as Int32Array)).toEqual(want.map((x) => x + 0));
    }
    // Random rows against the reference quantizer; a zero row has scale 0 and dequantizes to 0.
    const r = rng(2);
    const rows = 5,
      K = 97;
    const x = new Float32Array(rows * K).map(() => (r() - 0.5) * 6);
    x.fill(0, 2 * K, 3 * K);
    for (const f of FORMATS)
      for (const bits of f === 'int' ? [2, 3, 4, 8] : [1, 2, 5, 8]) {
        const p = quantizeBits(Tensor.from(x, [rows, K]), { bits, format: f });
        const ref = refQuantize(x, rows, K, bits, f);
        expect(Array.from(p.unpack().toArraySync() as Int32Array)).toEqual(Array.from(ref.q));
        expect(Array.from(p.scales!.toArraySync() as Float32Array)).toEqual(Array.from(ref.s));
        const d = p.dequantize().toArraySync() as Float32Array;
        for (let i = 0; i < d.length; i++) expect(d[i]).toBe(Math.fround(ref.s[Math.floor(i / K)] * ref.q[i]));
      }
  });

  test('toBuffer / fromBuffer round trip (with and without scales), same products', () => {
    const r = rng(3);
    const x = new Float32Array(7 * 130).map(() => r() - 0.5);
    const p = quantizeBits(Tensor.from(x, [7, 130]), { bits: 3, format: 'bipolar' });
    const q = BitPlanes.fromBuffer(p.toBuffer());
    expect([q.rows, q.K, q.bits, q.format]).toEqual([7, 130, 3, 'bipolar']);
    expect(q.planes.toArraySync()).toEqual(p.planes.toArraySync());
    expect(q.scales!.toArraySync()).toEqual(p.scales!.toArraySync());
    expect(bitMatmulSync(q, q).toArraySync()).toEqual(bitMatmulSync(p, p).toArraySync());
    const i = packBits(Tensor.from(refRandomValues('int', 5, 3 * 64, r), [3, 64]), { bits: 5 });
    const j = BitPlanes.fromBuffer(i.toBuffer().buffer as ArrayBuffer);
    expect(j.scales).toBeUndefined();
    expect(j.unpack().toArraySync()).toEqual(i.unpack().toArraySync());
  });
});

/** fn under every CPU route ('auto': int8 gemm for several planes a side, W2A2 aside; 'planes': the plane-pair kernels; 'int8': the int8 route wherever it fits). */
function bothRoutes(fn: () => void): void {
  for (const route of ['auto', 'planes', 'int8']) {
    native.debug.setPath('bitmm', 'cpu', route, 0);
    try {
      fn();
    } finally {
      native.debug.setPath('bitmm', 'cpu', 'auto', 0);
    }
  }
}

describe.each(ISAS)('bitMatmul on %s', (isa) => {
  // 'auto' sends several planes a side whose values fit int8 to the int8 gemm kernels (W2A2 on AVX-512
  // with VNNI: a dedicated plane-pair kernel); 'planes' forces the plane-pair kernels for every width,
  // 'int8' the int8 route wherever the values fit (W2A2 included).
  test.each(['auto', 'planes', 'int8'])('every bit width 1..8 on each side (int x int), and every format pair, exact (route %s)', (route) =>
    withIsa(isa, () => {
      native.debug.setPath('bitmm', 'cpu', route, 0);
      try {
        let seed = 10;
        for (let ba = 1; ba <= 8; ba++) for (let bb = 1; bb <= 8; bb++) intCase(isa, 'int', ba, 'int', bb, 5, 7, 131, seed++);
        for (const fa of FORMATS)
          for (const fb of FORMATS)
            for (const [ba, bb] of [
              [1, 1],
              [2, 2],
              [3, 5],
              [8, 8],
              [1, 8],
              [7, 2],
            ])
              intCase(isa, fa, ba, fb, bb, 6, 9, 200, seed++);
        intCase(isa, 'int', 3, 'int', 3, 5, 6, 70, seed++);
        const k = native.debug.lastKernel('bitmm', 'cpu');
        if (route !== 'planes' && isa !== 'scalar') expect(k).toBe('int8-gemm');
        else expect(k).toMatch(isa === 'avx512' ? /^avx512-/ : isa === 'avx2' ? /^avx2-/ : /^scalar-/);
        // W2A2: the dedicated plane-pair kernel on AVX-512 with VNNI, else the int8 route.
        intCase(isa, 'int', 2, 'int', 2, 5, 6, 70, seed++);
        const k2 = native.debug.lastKernel('bitmm', 'cpu');
        if (route === 'planes' || isa === 'scalar')
          expect(k2).toMatch(isa === 'avx512' ? /^avx512-/ : isa === 'avx2' ? /^avx2-/ : /^scalar-/);
        else if (route === 'int8') expect(k2).toBe('int8-gemm');
        else expect(k2).toMatch(isa === 'avx512' ? /^(avx512-vpopcntq|int8-gemm)$/ : /^int8-gemm$/);
        intCase(isa, 'bipolar', 1, 'int', 1, 5, 6, 70, seed++);
        expect(native.debug.lastKernel('bitmm', 'cpu')).toMatch(isa === 'avx512' ? /^avx512-/ : isa === 'avx2' ? /^avx2-/ : /^scalar-/);
      } finally {
        native.debug.setPath('bitmm', 'cpu', 'auto', 0);
      }
    }),
  );

  test('sizes: K = 1, 63, 64, 65, 511, 1000 (pad bits), odd and single M / N, K = 0', () =>
    withIsa(isa, () =>
      bothRoutes(() => {
        let seed = 100;
        for (const K of [1, 63, 64, 65, 511, 1000])
          for (const [M, N] of [
            [1, 1],
            [1, 13],
            [13, 1],
            [9, 11],
          ]) {
            intCase(isa, 'bipolar', 1, 'bipolar', 1, M, N, K, seed++);
            intCase(isa, 'int', 2, 'bipolar', 2, M, N, K, seed++);
            intCase(isa, 'uint', 4, 'int', 3, M, N, K, seed++);
          }
        intCase(isa, 'int', 2, 'int', 2, 33, 37, 4096 + 64 * 3 + 5, seed++);
        intCase(isa, 'int', 3, 'int', 3, 3, 4, 0, seed++);
        // One or two planes a side (the dedicated AVX-512 kernels): whole 8-word chunks only (K = 512,
        // 4096: the one-plane kernel's first chunk is a full one), K = 0, and at K = 4096 b past one
        // 64-row panel (N = 67: a partial last tile) and a past one 512-row block (M = 517).
        for (const K of [0, 512, 4096]) {
          intCase(isa, 'int', 1, 'int', 1, 5, 67, K, seed++);
          intCase(isa, 'bipolar', 1, 'bipolar', 1, 6, 67, K, seed++);
          intCase(isa, 'bipolar', 1, 'uint', 1, 7, 13, K, seed++);
          intCase(isa, 'int', 2, 'int', 2, 5, 67, K, seed++);
          intCase(isa, 'bipolar', 2, 'bipolar', 2, 6, 35, K, seed++);
          intCase(isa, 'uint', 2, 'bipolar', 2, 7, 13, K, seed++);
        }
        intCase(isa, 'bipolar', 1, 'bipolar', 1, 517, 9, 4096, seed++);
        // A tile row of a single row (M = 1, the last of M = 5) against whole groups of 16 rows of b and
        // a partial one (AVX-512: one row of a against 16 of b). N = 150: the driver splits b into
        // panels of ~N / (4 threads) rows when a has few blocks, so each panel holds 16+ rows.
        for (const K of [131, 512, 4096]) {
          intCase(isa, 'int', 1, 'uint', 1, 1, 150, K, seed++); // negative pair weight
          intCase(isa, 'bipolar', 1, 'bipolar', 1, 1, 150, K, seed++); // XOR
          intCase(isa, 'int', 1, 'int', 1, 5, 150, K, seed++);
        }
      }),
    ));

  test('integer form: c (beta 1, in place, wrapping like int8 gemm), beta 0 ignores c, out reused', () =>
    withIsa(isa, () =>
      bothRoutes(() => {
        const r = rng(200);
        const M = 5,
          N = 6,
          K = 77;
        const av = refRandomValues('int', 4, M * K, r),
          bv = refRandomValues('uint', 2, N * K, r);
        const A = planes(av, M, K, 4, 'int'),
          B = planes(bv, N, K, 2, 'uint');
        const y = refIntMatmul(av, bv, M, N, K);
        const cv = Int32Array.from({ length: M * N }, (_, i) => (i === 0 ? 2147483647 : i * 1000 - 7));
        const out = Tensor.from(Int32Array.from(cv), [M, N]);
        bitMatmulSync(A, B, { c: out, out });
        const got = out.toArraySync() as Int32Array;
        for (let i = 0; i < M * N; i++) expect(got[i]).toBe((y[i] + cv[i]) | 0);
        const c = Tensor.from(Int32Array.from(cv), [M, N]);
        expectExact('beta 0', bitMatmulSync(A, B, { c, beta: 0 }).toArraySync() as Int32Array, y);
        const o2 = Tensor.zeros([M, N], { dtype: 'int32' });
        expect(bitMatmulSync(A, B, { out: o2 })).toBe(o2);
        expectExact('out', o2.toArraySync() as Int32Array, y);
      }),
    ));

  test('float form: scaled operands through the epilogue (alpha, bias, beta * c in place; one side scaled)', () =>
    withIsa(isa, () =>
      bothRoutes(() => {
        const r = rng(300);
        const M = 7,
          N = 9,
          K = 150;
        const x = new Float32Array(M * K).map(() => (r() - 0.5) * 4);
        const w = new Float32Array(N * K).map(() => (r() - 0.5) * 0.2);
        for (const [fa, ba, fb, bb] of [
          ['int', 8, 'int', 8],
          ['int', 4, 'bipolar', 1],
          ['bipolar', 2, 'bipolar', 2],
          ['uint', 3, 'int', 5],
        ] as [Format, number, Format, number][]) {
          const A = quantizeBits(Tensor.from(x, [M, K]), { bits: ba, format: fa });
          const B = quantizeBits(Tensor.from(w, [N, K]), { bits: bb, format: fb });
          const qa = refQuantize(x, M, K, ba, fa),
            qb = refQuantize(w, N, K, bb, fb);
          const y = refIntMatmul(qa.q, qb.q, M, N, K);
          const plain = bitMatmulSync(A, B);
          expect(plain.dtype).toBe('float32');
          expectClose(`${fa}${ba} x ${fb}${bb}`, plain.toArraySync() as Float32Array, refFloatForm(y, M, N, qa.s, qb.s));
          const bias = Float32Array.from({ length: N }, () => r() - 0.5);
          const cv = Float32Array.from({ length: M * N }, () => r() * 3);
          const out = Tensor.from(Float32Array.from(cv), [M, N]);
          bitMatmulSync(A, B, { alpha: 0.5, bias: Tensor.from(bias, [N]), c: out, beta: -2, out });
          expectClose(
            `${fa}${ba} x ${fb}${bb} epilogue`,
            out.toArraySync() as Float32Array,
            refFloatForm(y, M, N, qa.s, qb.s, { alpha: 0.5, bias, c: cv, beta: -2 }),
          );
        }
        // Only a scaled: b's integers count with scale 1.
        const A = quantizeBits(Tensor.from(x, [M, K]), { bits: 6, format: 'int' });
        const bv = refRandomValues('bipolar', 1, N * K, r);
        const qa = refQuantize(x, M, K, 6, 'int');
        expectClose(
          'a scaled only',
          bitMatmulSync(A, planes(bv, N, K, 1, 'bipolar')).toArraySync() as Float32Array,
          refFloatForm(refIntMatmul(qa.q, bv, M, N, K), M, N, qa.s, undefined),
        );
      }),
    ));

  test('async form, and a size that runs on the pool threads', async () => {
    await withIsa(isa, async () => {
      const r = rng(400);
      const M = 67,
        N = 129,
        K = 1100;
      const av = refRandomValues('int', 2, M * K, r),
        bv = refRandomValues('int', 2, N * K, r);
      const y = await bitMatmul(planes(av, M, K, 2, 'int'), planes(bv, N, K, 2, 'int'));
      expectExact('async', y.toArraySync() as Int32Array, refIntMatmul(av, bv, M, N, K));
    });
  });
});

const HAS_BYTEWISE = ISAS.includes('avx512');
testIf(HAS_BYTEWISE, 'bitmm vpopcntb: this CPU has no AVX-512 kernel family')('the VPOPCNTB path (kept to measure) is exact too', () => {
  native.debug.setPath('bitmm', 'cpu', 'vpopcntb', 0);
  try {
    intCase('vpopcntb', 'int', 1, 'int', 1, 9, 10, 300, 500);
    intCase('vpopcntb', 'bipolar', 3, 'int', 2, 9, 10, 300, 501);
    const k = native.debug.lastKernel('bitmm', 'cpu');
    if (k !== 'avx512-vpopcntb') printSkip(`bitmm vpopcntb: the CPU lacks BITALG / VPOPCNTDQ (ran ${k})`);
  } finally {
    native.debug.setPath('bitmm', 'cpu', 'auto', 0);
  }
});

const lin = storiesLinears(16);
testIf(lin !== null, 'bitmm stories260K: ../shared/data/models/stories260K.bin is absent')(
  'stories260K real weights x real activations: exact integers, and the error each width costs',
  () => {
    const rows: string[] = [];
    for (const L of lin!.filter((l) => l.layer < 1)) {
      const x = Float32Array.from(L.x),
        T = x.length / L.K;
      const yf = refIntMatmul(x, L.w, T, L.N, L.K);
      for (const [ba, bb, f] of [
        [8, 8, 'int'],
        [4, 4, 'int'],
        [2, 2, 'bipolar'],
      ] as [number, number, Format][]) {
        const A = quantizeBits(Tensor.from(x, [T, L.K]), { bits: ba, format: f });
        const B = quantizeBits(Tensor.from(L.w, [L.N, L.K]), { bits: bb, format: f });
        const qa = refQuantize(x, T, L.K, ba, f),
          qb = refQuantize(L.w, L.N, L.K, bb, f);
        const got = bitMatmulSync(A, B).toArraySync() as Float32Array;
        expectClose(`${L.name}${L.layer} W${bb}A${ba}`, got, refFloatForm(refIntMatmul(qa.q, qb.q, T, L.N, L.K), T, L.N, qa.s, qb.s));
        let num = 0,
          den = 0;
        for (let i = 0; i < yf.length; i++) {
          num += (got[i] - yf[i]) ** 2;
          den += yf[i] ** 2;
        }
        rows.push(`${L.name}${L.layer} W${bb}A${ba} ${f}: rel. error ${Math.sqrt(num / den).toFixed(4)}`);
        if (ba === 8) expect(Math.sqrt(num / den)).toBeLessThan(0.03);
      }
    }
    process.stderr.write(`bitmm stories260K (quantization error vs float):\n  ${rows.join('\n  ')}\n`);
  },
);
