// cast: every CPU kernel family this machine has, against the float64 rounding oracle, on all 65536
// half-precision patterns, exact ties, the overflow and subnormal edges, and odd lengths.
import { Tensor, cast, castSync, float16BitsToFloat32, float32ToFloat16Bits, float32ToBFloat16Bits, bfloat16BitsToFloat32 } from '../lib';
import { cpuIsas, reportMissingIsas, withIsa } from './helpers/backends';
import { isNaN16, isNaNBf16, refBFloat16Bits, refBFloat16Value, refFloat16Bits, refFloat16Value } from './reference/half';
import { rng } from './helpers/data';

const u32 = new Uint32Array(1);
const f32 = new Float32Array(u32.buffer);
function bitsToF32(u: number): number {
  u32[0] = u >>> 0;
  return f32[0];
}

/** float32 inputs that stress float16 rounding: every f16 value, every tie, its neighbours, edges. */
function f16Probes(): Float32Array {
  const out: number[] = [];
  for (let h = 0; h < 0x7c00; h++) {
    const v = refFloat16Value(h);
    const next = refFloat16Value(h + 1);
    const mid = (v + next) / 2; // exact in float32 (12 significant bits)
    for (const s of [1, -1]) {
      out.push(s * v, s * mid);
      u32[0] = 0;
      f32[0] = s * mid;
      const m = u32[0];
      out.push(bitsToF32(m + 1), bitsToF32(m - 1));
    }
  }
  out.push(0, -0, Infinity, -Infinity, NaN, 65519.998, 65520, 65536, 1e30, -1e30, 2 ** -25, 2 ** -26, 1e-45, -1e-45, 1.17549435e-38);
  const r = rng(7);
  for (let i = 0; i < 20000; i++) out.push(bitsToF32(Math.floor(r() * 4294967296)));
  return Float32Array.from(out);
}

/** float32 inputs for bfloat16: random patterns over every exponent, exact ties and neighbours. */
function bf16Probes(): Float32Array {
  const out: number[] = [0, -0, Infinity, -Infinity, NaN, 3.4028235e38, 1e-45, -1e-40];
  const r = rng(11);
  for (let i = 0; i < 30000; i++) {
    const hi = Math.floor(r() * 65536);
    const tie = ((hi << 16) | 0x8000) >>> 0;
    out.push(bitsToF32(tie), bitsToF32(tie + 1), bitsToF32(tie - 1), bitsToF32(Math.floor(r() * 4294967296)));
  }
  return Float32Array.from(out);
}

function expectHalfBits(
  got: Uint16Array,
  input: ArrayLike<number>,
  ref: (x: number) => number,
  isNan: (b: number) => boolean,
  what: string,
): void {
  let bad = 0;
  let first = '';
  for (let i = 0; i < input.length; i++) {
    const x = input[i];
    const ok = Number.isNaN(x) ? isNan(got[i]) : got[i] === ref(x);
    if (!ok && bad++ === 0) first = `${what}[${i}]: input ${x} -> 0x${got[i].toString(16)}, expected 0x${ref(x).toString(16)}`;
  }
  expect(first).toBe('');
  expect(bad).toBe(0);
}

const allHalf = Uint16Array.from({ length: 65536 }, (_, i) => i);

describe('cast', () => {
  reportMissingIsas('cast');

  for (const isa of cpuIsas()) {
    describe(`cpu ${isa}`, () => {
      test(`float32 -> float16, ${f16Probes().length} values incl. every tie`, () =>
        withIsa(isa, async () => {
          const x = f16Probes();
          const y = await cast(Tensor.from(x, [x.length]), 'float16');
          expectHalfBits((await y.toArray()) as Uint16Array, x, refFloat16Bits, isNaN16, 'f16');
        }));

      test('float32 -> bfloat16, random patterns and ties', () =>
        withIsa(isa, async () => {
          const x = bf16Probes();
          const y = await cast(Tensor.from(x, [x.length]), 'bfloat16');
          expectHalfBits((await y.toArray()) as Uint16Array, x, refBFloat16Bits, isNaNBf16, 'bf16');
        }));

      test('float16 -> float32, all 65536 patterns', () =>
        withIsa(isa, async () => {
          const y = (await (await cast(Tensor.from(allHalf, [256, 256], { dtype: 'float16' }), 'float32')).toArray()) as Float32Array;
          for (let h = 0; h < 65536; h++) {
            const want = refFloat16Value(h);
            if (Number.isNaN(want)) expect(Number.isNaN(y[h])).toBe(true);
            else if (!Object.is(y[h], want)) expect([h, y[h]]).toEqual([h, want]);
          }
        }));

      test('bfloat16 -> float32 and bfloat16 <-> float16, all 65536 patterns', () =>
        withIsa(isa, async () => {
          const b = Tensor.from(allHalf, [65536], { dtype: 'bfloat16' });
          const y = (await (await cast(b, 'float32')).toArray()) as Float32Array;
          const toF16 = (await (await cast(b, 'float16')).toArray()) as Uint16Array;
          const fromF16 = (await (await cast(Tensor.from(allHalf, [65536], { dtype: 'float16' }), 'bfloat16')).toArray()) as Uint16Array;
          const bfVals = Array.from(allHalf, refBFloat16Value);
          for (let h = 0; h < 65536; h++) {
            if (Number.isNaN(bfVals[h])) expect(Number.isNaN(y[h])).toBe(true);
            else if (!Object.is(y[h], bfVals[h])) expect([h, y[h]]).toEqual([h, bfVals[h]]);
          }
          expectHalfBits(toF16, bfVals, refFloat16Bits, isNaN16, 'bf16->f16');
          expectHalfBits(fromF16, Array.from(allHalf, refFloat16Value), refBFloat16Bits, isNaNBf16, 'f16->bf16');
        }));

      test.each([0, 1, 7, 15, 16, 17, 33, 1000, 300001])('odd length %i, sync and async agree, tails exact', (n) =>
        withIsa(isa, async () => {
          const r = rng(n + 1);
          const x = Float32Array.from({ length: n }, () => (r() - 0.5) * 1000);
          const t = Tensor.from(x, [n]);
          const a = (await (await cast(t, 'float16')).toArray()) as Uint16Array;
          const s = castSync(t, 'float16').toArraySync() as Uint16Array;
          expect(a.length).toBe(n);
          expect(Buffer.from(s.buffer).equals(Buffer.from(a.buffer))).toBe(true);
          expectHalfBits(a, x, refFloat16Bits, isNaN16, `n=${n}`);
        }),
      );
    });
  }

  test('same dtype is a copy into new storage; out is written in place', async () => {
    const x = Tensor.from(Int32Array.from([1, -2, 3, 4, 5, 6]), [2, 3]);
    const y = await cast(x, 'int32');
    expect(Array.from((await y.toArray()) as Int32Array)).toEqual([1, -2, 3, 4, 5, 6]);
    expect(await y.toArray()).not.toBe(await x.toArray());
    const out = Tensor.zeros([6], { dtype: 'bfloat16' });
    const r = await cast(Tensor.from([1, 2.5, -3, 1e-3, 7, 8], [2, 3]), 'bfloat16', { out });
    expect(r).toBe(out);
    expect(Array.from((await out.toArray()) as Uint16Array, bfloat16BitsToFloat32)).toEqual(
      [1, 2.5, -3, 1e-3, 7, 8].map((v) => refBFloat16Value(refBFloat16Bits(v))),
    );
  });

  test('the JS helpers agree with the oracle', () => {
    const x = f16Probes();
    for (let i = 0; i < x.length; i += 3) {
      if (Number.isNaN(x[i])) continue;
      expect(float32ToFloat16Bits(x[i])).toBe(refFloat16Bits(x[i]));
      expect(float32ToBFloat16Bits(x[i])).toBe(refBFloat16Bits(x[i]));
    }
    for (let h = 0; h < 65536; h += 7) {
      const v = refFloat16Value(h);
      if (Number.isNaN(v)) expect(Number.isNaN(float16BitsToFloat32(h))).toBe(true);
      else expect(float16BitsToFloat32(h)).toBe(v);
    }
  });
});
