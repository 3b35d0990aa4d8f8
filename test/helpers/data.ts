// Deterministic test data in every dtype, with the exact float64 values the stored bits represent
// (what the reference must use: float16/bfloat16 inputs are compared on their decoded values).
import { DType, TypedArray } from '../../lib/dtype';
import { bfloat16BitsToFloat32, float16BitsToFloat32, float32ToBFloat16Bits, float32ToFloat16Bits } from '../../lib/half';

// Module bindings for Math functions: global lookups are slow inside jest's vm sandbox.
const imul = Math.imul,
  floor = Math.floor;

export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = imul(t ^ (t >>> 15), t | 1);
    t ^= t + imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Data {
  data: TypedArray;
  values: Float64Array;
}

/** n values of `dtype`: floats uniform in [-1, 1) (then rounded to the dtype), ints over the full range. */
export function makeData(dtype: DType, n: number, seed: number): Data {
  const r = rng(seed);
  const values = new Float64Array(n);
  switch (dtype) {
    case 'float32': {
      const d = new Float32Array(n);
      // values[i] = d[i] = x would keep the unrounded x: the reference must see the stored float32
      for (let i = 0; i < n; i++) values[i] = d[i] = Math.fround(r() * 2 - 1);
      return { data: d, values };
    }
    case 'float16':
    case 'bfloat16': {
      const d = new Uint16Array(n);
      const enc = dtype === 'float16' ? float32ToFloat16Bits : float32ToBFloat16Bits;
      const dec = dtype === 'float16' ? float16BitsToFloat32 : bfloat16BitsToFloat32;
      for (let i = 0; i < n; i++) {
        d[i] = enc(r() * 2 - 1);
        values[i] = dec(d[i]);
      }
      return { data: d, values };
    }
    case 'int8': {
      const d = new Int8Array(n);
      // The extremes often: -128 * -128 sums are where inexact int paths break.
      for (let i = 0; i < n; i++) values[i] = d[i] = r() < 0.1 ? -128 : floor(r() * 256) - 128;
      return { data: d, values };
    }
    case 'int32': {
      const d = new Int32Array(n);
      for (let i = 0; i < n; i++) values[i] = d[i] = floor(r() * 2000001) - 1000000;
      return { data: d, values };
    }
    default:
      throw new Error(`makeData: ${dtype} not supported`);
  }
}

/** Decodes a typed array of `dtype` into float64 values. */
export function decode(dtype: DType, a: ArrayLike<number>): Float64Array {
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) {
    out[i] = dtype === 'float16' ? float16BitsToFloat32(a[i]) : dtype === 'bfloat16' ? bfloat16BitsToFloat32(a[i]) : a[i];
  }
  return out;
}
