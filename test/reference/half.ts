// float64 oracles for float16 / bfloat16 rounding: nearest representable value, ties to even,
// computed from the definition (value / ulp, rounded), not from bit tricks.

interface Format {
  mantBits: number; // explicit mantissa bits
  minExp: number; // exponent of the smallest normal
  maxFinite: number;
  expBias: number;
}
const F16: Format = { mantBits: 10, minExp: -14, maxFinite: 65504, expBias: 15 };
const BF16: Format = { mantBits: 7, minExp: -126, maxFinite: 3.3895313892515355e38, expBias: 127 };

// Module bindings: global lookups are slow inside jest's vm sandbox.
const { abs, floor, log2, round } = Math;

function roundHalfEven(q: number): number {
  const f = floor(q);
  const d = q - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** The exactly rounded value of x in the format (Infinity on overflow, NaN for NaN). */
export function roundTo(x: number, fmt: Format): number {
  if (Number.isNaN(x) || !Number.isFinite(x) || x === 0) return x;
  const a = abs(x);
  const e = Math.max(floor(log2(a)), fmt.minExp);
  // log2 can be off by one near powers of two: fix e so that 2^e <= a < 2^(e+1) (or a is subnormal).
  let ee = e;
  if (ee > fmt.minExp && 2 ** ee > a) ee--;
  if (2 ** (ee + 1) <= a) ee++;
  const ulp = 2 ** (ee - fmt.mantBits);
  const r = roundHalfEven(a / ulp) * ulp;
  // Overflow: anything that rounds above maxFinite (>= maxFinite + ulp/2 with ties to even) is Inf.
  const v = r > fmt.maxFinite ? Infinity : r;
  return x < 0 ? -v : v;
}

function encode(v: number, fmt: Format, negZero: boolean): number {
  const signBit = fmt.mantBits === 10 ? 0x8000 : 0x8000;
  const sign = v < 0 || (v === 0 && negZero) ? signBit : 0;
  const a = abs(v);
  const expField = fmt.mantBits === 10 ? 5 : 8;
  const expMax = (1 << expField) - 1;
  if (a === Infinity) return sign | (expMax << fmt.mantBits);
  if (a === 0) return sign;
  let e = floor(log2(a));
  if (2 ** e > a) e--;
  if (2 ** (e + 1) <= a) e++;
  if (e < fmt.minExp) return sign | round(a / 2 ** (fmt.minExp - fmt.mantBits));
  const mant = round((a / 2 ** e - 1) * 2 ** fmt.mantBits);
  return sign | ((e + fmt.expBias) << fmt.mantBits) | mant;
}

/** Reference float16 bits of a float32 value (NaN -> any NaN: compare with isNaN16). */
export function refFloat16Bits(x: number): number {
  return encode(roundTo(x, F16), F16, Object.is(x, -0) || (x < 0 && roundTo(x, F16) === 0));
}
export function refBFloat16Bits(x: number): number {
  return encode(roundTo(x, BF16), BF16, Object.is(x, -0) || (x < 0 && roundTo(x, BF16) === 0));
}

export function isNaN16(bits: number): boolean {
  return (bits & 0x7c00) === 0x7c00 && (bits & 0x3ff) !== 0;
}
export function isNaNBf16(bits: number): boolean {
  return (bits & 0x7f80) === 0x7f80 && (bits & 0x7f) !== 0;
}

/** float64 value of float16 bits, from the definition. */
export function refFloat16Value(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 31) return m ? NaN : s * Infinity;
  return e === 0 ? s * m * 2 ** -24 : s * (1 + m / 1024) * 2 ** (e - 15);
}
export function refBFloat16Value(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 7) & 0xff;
  const m = h & 0x7f;
  if (e === 255) return m ? NaN : s * Infinity;
  return e === 0 ? s * m * 2 ** -133 : s * (1 + m / 128) * 2 ** (e - 127);
}
