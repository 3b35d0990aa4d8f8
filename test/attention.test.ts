// attention on every CPU kernel family this machine has, every case of test/cases/attention.ts,
// against the float64 reference. float32: within a worst-case bound built from the float32 score
// error (D + 8) 2^-24 sum|q k|, the exp error and the accumulation over the visible keys; float16 /
// bfloat16: that plus the output rounding, and never worse than a naive implementation computing in
// the same 16-bit dtype (the "scaled by a same-dtype implementation" criterion).
import * as fs from 'fs';
import * as path from 'path';
import {
  AttentionOptions,
  Tensor,
  attention,
  attentionSync,
  bfloat16BitsToFloat32,
  float16BitsToFloat32,
  float32ToBFloat16Bits,
  float32ToFloat16Bits,
  getNumThreads,
  setNumThreads,
} from '../lib';
import { native } from '../lib/binding';
import { DType, TypedArray } from '../lib/dtype';
import { nativeOf } from '../lib/tensor';
import { AttentionCase, attentionCase, attentionData, attentionShape, attentionTestCases } from './cases/attention';
import { CpuIsa, cpuIsas, printSkip, reportMissingIsas, testIf, withIsa } from './helpers/backends';
import { decode, makeData } from './helpers/data';
import { AttnRefInput, AttnRefOutput, keyRule, maskStrides, offset, refAttention, refScores } from './reference/attention';

// Module bindings: global lookups are slow in jest's sandbox.
const { abs, max, exp, sqrt, tanh } = Math;
const EPS = 2 ** -24;

interface Built {
  q: Tensor;
  k: Tensor;
  v: Tensor;
  mask?: Tensor;
  input: AttnRefInput;
  ref: AttnRefOutput;
  maskMax: number;
}

function build(c: AttentionCase, seed: number): Built {
  const x = attentionData(c, seed);
  const t = (d: TypedArray, shape: number[]) => Tensor.from(d, shape, { dtype: c.dtype });
  return {
    q: t(x.data.q, attentionShape(c, c.Hq, c.Sq)),
    k: t(x.data.k, attentionShape(c, c.Hkv, c.Sk)),
    v: t(x.data.v, attentionShape(c, c.Hkv, c.Sk, c.Dv)),
    mask: x.mask && Tensor.from(x.mask.data, x.mask.shape, { dtype: x.mask.dtype }),
    input: x.input,
    ref: x.ref,
    maskMax: x.maskMax,
  };
}

/** Per-row float32 error bound (see the file header), in units of the output. */
function rowTol(c: AttentionCase, x: Built, r: number): number {
  const errS = (c.D + 8) * EPS * x.ref.absScore[r] + 4 * EPS * (x.maskMax + (c.softcap ?? 0) + x.ref.absScore[r]);
  const relP = 2 * errS + 3e-7; // + the polynomial exp (about 2 ulp)
  return x.ref.maxAbsV[r] * (2 * relP + 2 * (x.ref.visible[r] + max(c.D, c.Dv ?? c.D) + 16) * EPS) * 1.01 + 1e-30;
}

/** A naive attention that rounds every intermediate to the 16-bit dtype: its max error vs float64. */
function naiveSameDtypeError(c: AttentionCase, x: Built): number {
  const enc = c.dtype === 'float16' ? float32ToFloat16Bits : float32ToBFloat16Bits;
  const dec = c.dtype === 'float16' ? float16BitsToFloat32 : bfloat16BitsToFloat32;
  const rd = (v: number) => dec(enc(v));
  const { q, k, v, B, Hq, Hkv, Sq, Sk, D } = x.input;
  const Dv = c.Dv ?? D;
  const layout = c.layout ?? 'bhsd';
  const scale = c.scale ?? 1 / sqrt(D);
  const ms = c.mask ? maskStrides(c.mask.shape) : [0, 0, 0, 0];
  let worst = 0;
  const s = new Float64Array(Sk);
  for (let b = 0; b < B; b++) {
    const sees = keyRule(x.input, b);
    for (let h = 0; h < Hq; h++) {
      const hk = Math.floor(h / (Hq / Hkv));
      for (let i = 0; i < Sq; i++) {
        const qo = offset(layout, Hq, Sq, D, b, h, i),
          oo = offset(layout, Hq, Sq, Dv, b, h, i);
        let m = -Infinity;
        for (let j = 0; j < Sk; j++) {
          s[j] = -Infinity;
          if (!sees(i, j)) continue;
          const ko = offset(layout, Hkv, Sk, D, b, hk, j);
          let acc = 0;
          for (let d = 0; d < D; d++) acc = rd(acc + rd(q[qo + d] * k[ko + d]));
          let sc = rd(acc * scale);
          if (c.softcap) sc = rd(c.softcap * tanh(sc / c.softcap));
          if (x.input.mask) {
            const mv = x.input.mask.values[b * ms[0] + h * ms[1] + i * ms[2] + j * ms[3]];
            if (x.input.mask.bool) {
              if (mv === 0) continue;
            } else sc = rd(sc + mv);
          }
          s[j] = sc;
          if (sc > m) m = sc;
        }
        if (m === -Infinity) continue;
        let l = 0;
        for (let j = 0; j < Sk; j++) l = rd(l + (s[j] = s[j] === -Infinity ? 0 : rd(exp(s[j] - m))));
        for (let d = 0; d < Dv; d++) {
          let acc = 0;
          for (let j = 0; j < Sk; j++) if (s[j] !== 0) acc = rd(acc + rd(s[j] * v[offset(layout, Hkv, Sk, Dv, b, hk, j) + d]));
          worst = max(worst, abs(rd(acc / l) - x.ref.out[oo + d]));
        }
      }
    }
  }
  return worst;
}

function check(c: AttentionCase, x: Built, got: Tensor, lse?: Tensor): void {
  const vals = decode(got.dtype, got.toArraySync() as ArrayLike<number>);
  expect(vals.length).toBe(x.ref.out.length);
  const layout = c.layout ?? 'bhsd';
  const outRound = got.dtype === 'float16' ? 2 ** -11 : got.dtype === 'bfloat16' ? 2 ** -8 : 0;
  // bfloat16 inputs on AVX512_BF16's tile kernel also round P to bfloat16 for P V (docs/attention.md):
  // up to 2^-9 of sum_j p_j |v_j| / l, at most 2^-9 max |v|, per output.
  const pvRound = c.dtype === 'bfloat16' && native.debug.lastKernel('attention', 'cpu').includes('p.v on vdpbf16ps') ? 2 ** -9 : 0;
  let worst = 0,
    worstAt = '',
    maxErr = 0;
  for (let b = 0; b < c.B; b++)
    for (let h = 0; h < c.Hq; h++)
      for (let i = 0; i < c.Sq; i++) {
        const r = (b * c.Hq + h) * c.Sq + i;
        const tol = rowTol(c, x, r) + pvRound * x.ref.maxAbsV[r] * 1.01;
        const o = offset(layout, c.Hq, c.Sq, c.Dv ?? c.D, b, h, i);
        for (let d = 0; d < (c.Dv ?? c.D); d++) {
          const ref = x.ref.out[o + d];
          const err = abs(vals[o + d] - ref);
          maxErr = max(maxErr, err);
          const ratio = err / (tol + outRound * abs(ref) * 1.01 + (outRound ? 2 ** -24 : 0));
          if (!(ratio <= worst)) {
            worst = Number.isNaN(ratio) ? Infinity : ratio;
            worstAt = `b${b} h${h} i${i} d${d}: ${vals[o + d]} vs ${ref}`;
          }
        }
      }
  if (worst > 1) throw new Error(`${c.name}: ${worstAt} (error / tolerance = ${worst.toExponential(2)})`);
  if (outRound && c.dtype === got.dtype) {
    const naive = naiveSameDtypeError(c, x);
    if (naive > 0) expect([c.name, maxErr <= naive]).toEqual([c.name, true]);
  }
  if (lse) {
    const l = lse.toArraySync() as Float32Array;
    for (let r = 0; r < l.length; r++) {
      const ref = x.ref.lse[r];
      if (ref === -Infinity) {
        expect([c.name, r, l[r]]).toEqual([c.name, r, -Infinity]);
        continue;
      }
      const errS = (c.D + 8) * EPS * x.ref.absScore[r] + 4 * EPS * (x.maskMax + (c.softcap ?? 0) + x.ref.absScore[r]);
      const tol = 2 * errS + 3e-7 + (x.ref.visible[r] + 8) * EPS + 2 * EPS * abs(ref);
      if (!(abs(l[r] - ref) <= tol)) throw new Error(`${c.name}: lse[${r}] = ${l[r]}, reference ${ref} (tolerance ${tol})`);
    }
  }
}

const CASES = attentionTestCases();
const BUILT = new Map<string, Built>();
const built = (c: AttentionCase, i: number) => {
  if (!BUILT.has(c.name)) BUILT.set(c.name, build(c, 500 + 17 * i));
  return BUILT.get(c.name)!;
};

/** A case's attention call with every option it sets, returning the output and lse. */
const runCase = (c: AttentionCase, x: Built) =>
  attention(x.q, x.k, x.v, {
    causal: c.causal,
    causalOffset: c.causalOffset,
    scale: c.scale,
    softcap: c.softcap,
    mask: x.mask,
    kvLengths: c.kvLengths,
    layout: c.layout,
    returnLse: true,
  });

describe('attention cpu', () => {
  reportMissingIsas('attention');
  // With AVX512_BF16 the bfloat16 cases run twice more on AVX-512: q k^T and P V on vdpbf16ps, and
  // widened to float32, whichever this core would pick (core/cpu_features.h).
  const avx512bf16 = native.runtime.probe().cpu.features.avx512bf16;
  if (!avx512bf16)
    printSkip('attention bfloat16 on AVX512_BF16 dot products: this CPU lacks avx512bf16 (bf16 runs through the float32 tiles)');
  const runs = cpuIsas().flatMap((isa): { isa: CpuIsa; bf16Dot?: 'on' | 'off' }[] => [
    { isa },
    ...(isa === 'avx512' && avx512bf16 ? (['on', 'off'] as const).map((bf16Dot) => ({ isa, bf16Dot })) : []),
  ]);
  for (const { isa, bf16Dot } of runs) {
    const cases = CASES.map((c, i) => [c.name, c, i] as const).filter(([, c]) => !bf16Dot || c.dtype === 'bfloat16');
    describe(bf16Dot ? `${isa} bfloat16 dot products ${bf16Dot}` : isa, () => {
      test.each(cases)('%s', (_n, c, i) =>
        withIsa(isa, async () => {
          if (bf16Dot) expect(native.runtime.setBf16Dot(bf16Dot)).toBe(bf16Dot === 'on');
          try {
            const x = built(c, i);
            const r = await runCase(c, x);
            expect(r.out.dtype).toBe(c.dtype);
            expect(r.out.shape).toEqual(attentionShape(c, c.Hq, c.Sq, c.Dv));
            expect(r.lse.shape).toEqual([c.B, c.Hq, c.Sq]);
            check(c, x, r.out, r.lse);
            const ran = native.debug.lastKernel('attention', 'cpu');
            if (bf16Dot && ran.includes('flash')) expect(ran.includes('vdpbf16ps')).toBe(bf16Dot === 'on');
          } finally {
            if (bf16Dot) native.runtime.setBf16Dot('auto');
          }
        }),
      );
    });
  }
});

// Few rows per kv head without a mask or softcap run the decode kernel (K / V read in place); the
// 'tiles' route keeps them on the tile kernel, so both are checked against the reference.
describe('attention decode kernel and tile kernel on decode shapes', () => {
  const decodeCases = CASES.map((c, i) => [c, i] as const).filter(([c]) => (c.Hq / c.Hkv) * c.Sq <= 8 && !c.mask && !c.softcap);
  test('the decode shapes exist', () => expect(decodeCases.length).toBeGreaterThanOrEqual(8));
  for (const isa of cpuIsas())
    test(`${isa}: each route meets the reference (GQA, kvLengths, causal rows, Dv != D, float16 / bfloat16, split keys)`, () =>
      withIsa(isa, async () => {
        try {
          for (const route of ['auto', 'tiles'] as const) {
            native.debug.setPath('attention', 'cpu', route, 0);
            for (const [c, i] of decodeCases) {
              const x = built(c, i);
              const r = await runCase(c, x);
              check(c, x, r.out, r.lse);
              if (c.B * c.Hq * c.Sq > 0)
                expect([c.name, native.debug.lastKernel('attention', 'cpu').startsWith('decode')]).toEqual([c.name, route === 'auto']);
            }
          }
        } finally {
          native.debug.setPath('attention', 'cpu', 'auto', 0);
        }
      }));
});

describe('attention semantics and paths', () => {
  const find = (name: string) => {
    const i = CASES.findIndex((c) => c.name === name);
    if (i < 0) throw new Error(`no case ${name}`);
    return [CASES[i], built(CASES[i], i)] as const;
  };

  test('rows with nothing to attend are 0, never NaN; lse -Infinity', () => {
    const B = 1,
      H = 2,
      S = 9,
      D = 8;
    const q = Tensor.from(makeData('float32', B * H * S * D, 1).data, [B, H, S, D]);
    const kv = Tensor.from(makeData('float32', B * H * S * D, 2).data, [B, H, S, D]);
    const none = Tensor.from(new Int8Array(S * S), [S, S], { dtype: 'int8' });
    const r = attentionSync(q, kv, kv, { mask: none, returnLse: true });
    expect(Array.from(r.out.toArraySync() as Float32Array).every((x) => x === 0)).toBe(true);
    expect(Array.from(r.lse.toArraySync() as Float32Array).every((x) => x === -Infinity)).toBe(true);
    const ninf = Tensor.from(new Float32Array(S).fill(-Infinity), [1, S]);
    const y = attentionSync(q, kv, kv, { mask: ninf, causal: true });
    expect(Array.from(y.toArraySync() as Float32Array).every((x) => x === 0)).toBe(true);
    const z = attentionSync(q, kv, kv, { kvLengths: [0] });
    expect(Array.from(z.toArraySync() as Float32Array).every((x) => x === 0)).toBe(true);
  });

  test('sync and async agree bit for bit; 1, 2 and 3 threads agree bit for bit (tile path)', async () => {
    const before = getNumThreads();
    try {
      for (const name of ['attention float32 B1 H2/2 300x300 D64 causal', 'attention float32 B2 H6/2 19x45 D24 bshd causal']) {
        const [c, x] = find(name);
        const runs: Buffer[] = [];
        for (const n of [1, 2, 3]) {
          setNumThreads(n);
          const opts = { causal: c.causal, layout: c.layout };
          runs.push(Buffer.from((await attention(x.q, x.k, x.v, opts)).toArraySync().buffer));
          runs.push(Buffer.from(attentionSync(x.q, x.k, x.v, opts).toArraySync().buffer));
        }
        runs.forEach((r, i) => expect([name, i, r.equals(runs[0])]).toEqual([name, i, true]));
      }
    } finally {
      setNumThreads(before);
    }
  });

  test('decode splits the keys across threads (flash-decoding) within the bound on 1..4 threads', async () => {
    const before = getNumThreads();
    try {
      const [c, x] = find('attention float32 B1 H4/1 1x4099 D64');
      for (const n of [1, 2, 4]) {
        setNumThreads(n);
        check(c, x, await attention(x.q, x.k, x.v));
      }
    } finally {
      setNumThreads(before);
    }
  });

  test('out: another float dtype, written in place and returned', async () => {
    const [c, x] = find('attention float16 B2 H4/4 37x53 D64');
    const out32 = Tensor.zeros(x.q.shape, { dtype: 'float32' });
    const y = await attention(x.q, x.k, x.v, { out: out32 });
    expect(y).toBe(out32);
    check(c, x, y);
    const [c2, x2] = find('attention float32 B2 H4/4 37x53 D64 causal');
    const outBf = Tensor.zeros(x2.q.shape, { dtype: 'bfloat16' });
    check(c2, x2, await attention(x2.q, x2.k, x2.v, { causal: true, out: outBf }));
  });

  test('float16 and bfloat16 masks are added like float32 ones', () => {
    const [c, x] = find('attention float32 B2 H4/2 21x67 D16 float-mask[1,4,21,67]');
    const m32 = x.mask!.toArraySync() as Float32Array;
    for (const dtype of ['float16', 'bfloat16'] as const) {
      const enc = dtype === 'float16' ? float32ToFloat16Bits : float32ToBFloat16Bits;
      const dec = dtype === 'float16' ? float16BitsToFloat32 : bfloat16BitsToFloat32;
      const bits = Uint16Array.from(m32, (v) => enc(v));
      const values = Float64Array.from(bits, (b) => dec(b));
      const ref = refAttention({ ...x.input, mask: { values, shape: c.mask!.shape, bool: false } });
      const y = attentionSync(x.q, x.k, x.v, { mask: Tensor.from(bits, c.mask!.shape, { dtype }) });
      check(c, { ...x, ref }, y);
    }
  });

  test('the unfused plain baseline agrees with the reference', () => {
    for (const name of [
      'attention float32 B2 H4/4 37x53 D64',
      'attention float32 B1 H8/2 65x65 D32 causal',
      'attention float32 B1 H2/2 100x30 D32 causal',
    ]) {
      const [c, x] = find(name);
      const out = Tensor.zeros(x.q.shape);
      native.bench.attentionPlain({
        q: nativeOf(x.q, 'q'),
        k: nativeOf(x.k, 'k'),
        v: nativeOf(x.v, 'v'),
        out: nativeOf(out, 'out'),
        causal: !!c.causal,
        scale: 1 / sqrt(c.D),
      });
      check(c, x, out);
    }
  });
});

// What ONNX's Attention operator (opset 23/24) can say, as the options say it (docs/attention.md).
describe('attention: the ONNX Attention features', () => {
  const bits = (t: Tensor) => Buffer.from((t.toArraySync() as TypedArray).buffer.slice(0));
  const make = (c: AttentionCase, seed: number) => build(c, seed);

  test('every causalOffset from -Sq to Sk, on every ISA (GQA, bshd, kvLengths, a short mask, the split-keys path)', async () => {
    const bases: Omit<AttentionCase, 'name'>[] = [
      { B: 2, Hq: 4, Hkv: 2, Sq: 9, Sk: 14, D: 16, dtype: 'float32', kvLengths: [14, 6] },
      { B: 1, Hq: 3, Hkv: 1, Sq: 12, Sk: 7, D: 8, Dv: 12, dtype: 'float32', layout: 'bshd', mask: { kind: 'bool', shape: [5] } },
      { B: 1, Hq: 4, Hkv: 2, Sq: 60, Sk: 70, D: 24, dtype: 'bfloat16' },
      { B: 1, Hq: 2, Hkv: 1, Sq: 1, Sk: 1100, D: 16, dtype: 'float32' },
    ];
    for (const isa of cpuIsas())
      await withIsa(isa, async () => {
        for (const [bi, base] of bases.entries()) {
          const offs: number[] = [];
          const step = Math.max(1, Math.floor((base.Sq + base.Sk) / 12));
          for (let off = -base.Sq; off <= base.Sk; off += off >= -2 && off <= 2 ? 1 : step) offs.push(off);
          if (!offs.includes(base.Sk)) offs.push(base.Sk);
          for (const off of offs) {
            const c = attentionCase({ ...base, causal: true, causalOffset: off });
            const x = make(c, 3000 + 97 * bi + off);
            const y = await attention(x.q, x.k, x.v, {
              causal: true,
              causalOffset: off,
              mask: x.mask,
              kvLengths: c.kvLengths,
              layout: c.layout,
            });
            check(c, x, y);
          }
        }
      });
  });

  test('the default causal offset is Sk - Sq (kvLengths[b] - Sq with kvLengths); 0 is top-left', () => {
    const c = attentionCase({ B: 2, Hq: 2, Hkv: 1, Sq: 5, Sk: 11, D: 8, dtype: 'float32', causal: true, kvLengths: [11, 7] });
    const x = make(c, 41);
    const dflt = attentionSync(x.q, x.k, x.v, { causal: true, kvLengths: c.kvLengths });
    // batch 0: offset 11 - 5 = 6 explicitly gives the same bits; batch 1 (L = 7) differs from it
    const six = attentionSync(x.q, x.k, x.v, { causal: true, causalOffset: 6, kvLengths: c.kvLengths });
    const half = dflt.size / 2;
    expect(
      bits(dflt)
        .subarray(0, half * 4)
        .equals(bits(six).subarray(0, half * 4)),
    ).toBe(true);
    expect(
      bits(dflt)
        .subarray(half * 4)
        .equals(bits(six).subarray(half * 4)),
    ).toBe(false);
    const topLeft = attentionCase({ ...c, causalOffset: 0 });
    check(
      topLeft,
      { ...x, ref: refAttention({ ...x.input, causalOffset: 0 }) },
      attentionSync(x.q, x.k, x.v, { causal: true, causalOffset: 0, kvLengths: c.kvLengths }),
    );
  });

  test('kvLengths as Int32Array, numbers, BigInt64Array, bigints, int32 and int64 host tensors: the same bits', async () => {
    const c = attentionCase({ B: 3, Hq: 2, Hkv: 1, Sq: 6, Sk: 40, D: 16, dtype: 'float32', causal: true, kvLengths: [40, 0, 23] });
    const x = make(c, 43);
    const forms: AttentionOptions['kvLengths'][] = [
      Int32Array.of(40, 0, 23),
      [40, 0, 23],
      BigInt64Array.of(40n, 0n, 23n),
      [40n, 0n, 23n],
      Tensor.from(Int32Array.of(40, 0, 23), [3]),
      Tensor.from(BigInt64Array.of(40n, 0n, 23n), [3]),
    ];
    const outs = await Promise.all(forms.map((kvLengths) => attention(x.q, x.k, x.v, { causal: true, kvLengths })));
    check(c, x, outs[0]);
    outs.forEach((o, i) => expect([i, bits(o).equals(bits(outs[0]))]).toEqual([i, true]));
  });

  test('softcap 0 is off (ONNX default): the same bits as no softcap', () => {
    const [c, x] = [CASES[2], built(CASES[2], 2)];
    const a = attentionSync(x.q, x.k, x.v, { causal: c.causal });
    const b = attentionSync(x.q, x.k, x.v, { causal: c.causal, softcap: 0 });
    expect(bits(a).equals(bits(b))).toBe(true);
  });

  test('bool and int8 masks agree bit for bit; a rank-1 mask is its [1, 1, 1, Sk] form; a short mask is padded with false / -inf', () => {
    const c = attentionCase({ B: 2, Hq: 4, Hkv: 2, Sq: 9, Sk: 30, D: 16, dtype: 'float32' });
    const x = make(c, 47);
    const keep = Uint8Array.from({ length: 30 }, (_, j) => (j % 3 === 1 || j > 20 ? 0 : 1));
    const asBool = attentionSync(x.q, x.k, x.v, { mask: Tensor.from(keep, [30], { dtype: 'bool' }) });
    const asInt8 = attentionSync(x.q, x.k, x.v, {
      mask: Tensor.from(
        Int8Array.from(keep, (v) => -5 * v),
        [1, 1, 1, 30],
        { dtype: 'int8' },
      ),
    });
    expect(bits(asBool).equals(bits(asInt8))).toBe(true);
    check(c, { ...x, ref: refAttention({ ...x.input, mask: { values: Float64Array.from(keep), shape: [30], bool: true } }) }, asBool);
    // keys 21.. hidden: by a 21-key mask (padded with false / -inf as ONNX does) or by the full one
    const short = attentionSync(x.q, x.k, x.v, { mask: Tensor.from(keep.subarray(0, 21), [21], { dtype: 'bool' }) });
    expect(bits(short).equals(bits(asBool))).toBe(true);
    const addShort = Float32Array.from(keep.subarray(0, 21), (v) => (v ? 0.25 : -Infinity));
    const addFull = Float32Array.from(keep, (v, j) => (j < 21 && v ? 0.25 : -Infinity));
    const a = attentionSync(x.q, x.k, x.v, { mask: Tensor.from(addShort, [1, 21]) });
    const b = attentionSync(x.q, x.k, x.v, { mask: Tensor.from(addFull, [1, 30]) });
    expect(bits(a).equals(bits(b))).toBe(true);
  });

  test('qkOutput: the score matrix at each stage (ONNX qk_matmul_output), against float64; the fused output unchanged', async () => {
    const cases = [
      attentionCase({
        B: 2,
        Hq: 4,
        Hkv: 2,
        Sq: 7,
        Sk: 11,
        D: 8,
        Dv: 5,
        dtype: 'float32',
        causal: true,
        causalOffset: 2,
        kvLengths: [11, 6],
        softcap: 2,
        scale: 0.9,
      }),
      attentionCase({
        B: 1,
        Hq: 2,
        Hkv: 1,
        Sq: 5,
        Sk: 9,
        D: 16,
        dtype: 'bfloat16',
        layout: 'bshd',
        mask: { kind: 'float', shape: [2, 5, 9] },
      }),
      attentionCase({ B: 2, Hq: 2, Hkv: 2, Sq: 6, Sk: 8, D: 4, dtype: 'float16', mask: { kind: 'bool', shape: [5] }, causal: true }),
    ];
    for (const [ci, c] of cases.entries()) {
      const x = make(c, 61 + ci);
      const opts = {
        causal: c.causal,
        causalOffset: c.causalOffset,
        kvLengths: c.kvLengths,
        softcap: c.softcap,
        scale: c.scale,
        mask: x.mask,
        layout: c.layout,
      };
      const plain = bits(await attention(x.q, x.k, x.v, opts));
      for (const stage of ['qk', 'softcap', 'mask', 'softmax'] as const) {
        const qk = Tensor.zeros([c.B, c.Hq, c.Sq, c.Sk]);
        const y = await attention(x.q, x.k, x.v, { ...opts, qkOutput: { out: qk, stage } });
        expect([c.name, stage, bits(y).equals(plain)]).toEqual([c.name, stage, true]);
        const ref = refScores(x.input, stage),
          got = qk.toArraySync() as Float32Array;
        for (let e = 0; e < ref.length; e++) {
          const ok = ref[e] === -Infinity ? got[e] === -Infinity : abs(got[e] - ref[e]) <= 2 ** -23 * abs(ref[e]) + 1e-30;
          if (!ok) throw new Error(`${c.name} ${stage}: [${e}] = ${got[e]}, reference ${ref[e]}`);
        }
      }
    }
    // the default stage is 'qk'; attentionSync takes it too
    const c = cases[0],
      x = make(c, 61);
    const qk = Tensor.zeros([c.B, c.Hq, c.Sq, c.Sk]);
    attentionSync(x.q, x.k, x.v, { scale: c.scale, qkOutput: { out: qk } });
    const ref = refScores({ ...x.input, causal: false, kvLengths: undefined, softcap: undefined }, 'qk');
    expect(Array.from(qk.toArraySync() as Float32Array).every((v, e) => abs(v - ref[e]) <= 2 ** -23 * abs(ref[e]))).toBe(true);
  });

  test('an ONNX node with 3-D inputs, past key / value and is_causal, as docs/attention.md writes it', async () => {
    const B = 2,
      Hq = 4,
      Hkv = 2,
      Sq = 3,
      P = 5,
      D = 8,
      Dv = 6,
      Sk = P + Sq;
    const c = attentionCase({ B, Hq, Hkv, Sq, Sk, D, Dv, dtype: 'float32', causal: true, layout: 'bshd' });
    const x = make(c, 53); // 'bshd' q / k / v of the whole problem: positions [0, P) of k / v are the past
    const slice = (t: Tensor, s0: number, s1: number) => {
      const [b, S, H, E] = t.shape,
        a = t.toArraySync() as Float32Array,
        o = new Float32Array(b * (s1 - s0) * H * E);
      for (let i = 0; i < b; i++) o.set(a.subarray((i * S + s0) * H * E, (i * S + s1) * H * E), i * (s1 - s0) * H * E);
      return Tensor.from(o, [b, s1 - s0, H, E]);
    };
    const pastK = slice(x.k, 0, P),
      pastV = slice(x.v, 0, P);
    const K = slice(x.k, P, Sk).reshape([B, Sq, Hkv * D]),
      V = slice(x.v, P, Sk).reshape([B, Sq, Hkv * Dv]);
    const Q = x.q.reshape([B, Sq, Hq * D]);
    // --- docs/attention.md, verbatim but for the types ---
    function concatSeq(past: Tensor, cur: Tensor): Tensor {
      const [Bn, Pn, H, E] = past.shape,
        S = cur.shape[1],
        row = H * E;
      const a = past.toArraySync() as Float32Array,
        cc = cur.toArraySync() as Float32Array;
      const out = new Float32Array(Bn * (Pn + S) * row);
      for (let b = 0; b < Bn; b++) {
        out.set(a.subarray(b * Pn * row, (b + 1) * Pn * row), b * (Pn + S) * row);
        out.set(cc.subarray(b * S * row, (b + 1) * S * row), (b * (Pn + S) + Pn) * row);
      }
      return Tensor.from(out, [Bn, Pn + S, H, E], { dtype: past.dtype });
    }
    const presentK = concatSeq(pastK, K.reshape([B, Sq, Hkv, D]));
    const presentV = concatSeq(pastV, V.reshape([B, Sq, Hkv, Dv]));
    const y = await attention(Q.reshape([B, Sq, Hq, D]), presentK, presentV, { layout: 'bshd', causal: true, causalOffset: P });
    const Y = y.reshape([B, Sq, Hq * Dv]);
    // ---
    expect(Y.shape).toEqual([B, Sq, Hq * Dv]);
    expect(bits(presentK).equals(bits(x.k))).toBe(true);
    check(c, x, y); // the reference: causal over the whole cache (the default offset Sk - Sq = P)
  });
});

// Real GQA shapes: layer 0 of the llama2.c stories260K model (8 query heads, 4 KV heads, head dim 8):
// rmsnorm of a few token embeddings, wq / wk / wv, RoPE from the file's freq_cis tables, causal
// attention, against float64 on the same (float32-rounded) q, k, v.
const MODEL = path.join(__dirname, '..', '..', 'shared', 'data', 'models', 'stories260K.bin');
describe('attention on real model activations', () => {
  testIf(fs.existsSync(MODEL), `stories260K attention: ${MODEL} is absent`)(
    'stories260K layer 0: GQA 8/4, head dim 8, causal, every dtype and layout',
    async () => {
      const buf = fs.readFileSync(MODEL);
      const hdr = new Int32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + 28));
      const [dim, hidden, layers, heads, kvHeads, vocab, seqLen] = hdr;
      const f = new Float32Array(buf.buffer.slice(buf.byteOffset + 28));
      let off = 0;
      const take = (n: number) => f.subarray(off, (off += n));
      const hd = dim / heads,
        kvDim = kvHeads * hd;
      const tokEmb = take(vocab * dim);
      const rmsAtt = take(layers * dim).subarray(0, dim);
      const wq = take(layers * dim * dim).subarray(0, dim * dim);
      const wk = take(layers * kvDim * dim).subarray(0, kvDim * dim);
      const wv = take(layers * kvDim * dim).subarray(0, kvDim * dim);
      take(layers * dim * dim); // wo
      take(layers * dim); // rms_ffn
      take(layers * hidden * dim); // w1
      take(layers * dim * hidden); // w2
      take(layers * hidden * dim); // w3
      take(dim); // rms_final
      const fr = take(seqLen * (hd / 2)),
        fi = take(seqLen * (hd / 2));
      const tokens = [1, 403, 29, 261, 400, 312, 27, 90, 11, 500, 7];
      const T = tokens.length;
      // [1, S, H, D] ('bshd', the natural layout of a projection's output) in float64
      const q = new Float64Array(T * dim),
        k = new Float64Array(T * kvDim),
        v = new Float64Array(T * kvDim);
      tokens.forEach((tok, t) => {
        const x = tokEmb.subarray(tok * dim, (tok + 1) * dim);
        let ss = 0;
        for (let i = 0; i < dim; i++) ss += x[i] * x[i];
        const inv = 1 / sqrt(ss / dim + 1e-5);
        const xn = Array.from(x, (xi, i) => xi * inv * rmsAtt[i]);
        const proj = (w: Float32Array, rows: number, dst: Float64Array) => {
          for (let r = 0; r < rows; r++) {
            let acc = 0;
            for (let i = 0; i < dim; i++) acc += w[r * dim + i] * xn[i];
            dst[t * rows + r] = acc;
          }
        };
        proj(wq, dim, q);
        proj(wk, kvDim, k);
        proj(wv, kvDim, v);
        const rope = (dst: Float64Array, width: number) => {
          for (let i = 0; i < width; i += 2) {
            const p = (i % hd) / 2,
              c = fr[t * (hd / 2) + p],
              s = fi[t * (hd / 2) + p];
            const a = dst[t * width + i],
              b = dst[t * width + i + 1];
            dst[t * width + i] = a * c - b * s;
            dst[t * width + i + 1] = a * s + b * c;
          }
        };
        rope(q, dim);
        rope(k, kvDim);
      });
      for (const dtype of ['float32', 'float16', 'bfloat16'] as DType[]) {
        const enc = (a: Float64Array, shape: number[]) =>
          Tensor.from(dtype === 'float32' ? Float32Array.from(a) : Array.from(a), shape, { dtype });
        const Q = enc(q, [1, T, heads, hd]),
          K = enc(k, [1, T, kvHeads, hd]),
          V = enc(v, [1, T, kvHeads, hd]);
        const vals = (t: Tensor) => decode(dtype, t.toArraySync() as ArrayLike<number>);
        const c: AttentionCase = {
          name: `stories260K layer 0 ${dtype}`,
          B: 1,
          Hq: heads,
          Hkv: kvHeads,
          Sq: T,
          Sk: T,
          D: hd,
          dtype,
          layout: 'bshd',
          causal: true,
        };
        const input: AttnRefInput = {
          q: vals(Q),
          k: vals(K),
          v: vals(V),
          B: 1,
          Hq: heads,
          Hkv: kvHeads,
          Sq: T,
          Sk: T,
          D: hd,
          layout: 'bshd',
          causal: true,
        };
        const x: Built = { q: Q, k: K, v: V, input, ref: refAttention(input), maskMax: 0 };
        for (const isa of cpuIsas())
          await withIsa(isa, async () => check(c, x, await attention(Q, K, V, { causal: true, layout: 'bshd' })));
        // The same numbers in 'bhsd': transposed copies give the transposed result.
        const tr = (a: Float64Array, H: number) => {
          const o = new Float64Array(a.length);
          for (let s = 0; s < T; s++)
            for (let h = 0; h < H; h++) for (let d = 0; d < hd; d++) o[(h * T + s) * hd + d] = a[(s * H + h) * hd + d];
          return o;
        };
        const ib: AttnRefInput = { ...input, q: tr(input.q, heads), k: tr(input.k, kvHeads), v: tr(input.v, kvHeads), layout: 'bhsd' };
        const xb: Built = {
          q: enc(ib.q, [1, heads, T, hd]),
          k: enc(ib.k, [1, kvHeads, T, hd]),
          v: enc(ib.v, [1, kvHeads, T, hd]),
          input: ib,
          ref: refAttention(ib),
          maskMax: 0,
        };
        check({ ...c, layout: 'bhsd' }, xb, await attention(xb.q, xb.k, xb.v, { causal: true }));
      }
    },
  );
});
