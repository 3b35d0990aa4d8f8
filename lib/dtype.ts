// The dtype table, mirrored by native/core/dtype.h (codes and bit widths must agree;
// test/dtype.test.ts checks them against the addon).

export type DType = 'float32' | 'float16' | 'bfloat16' | 'int8' | 'int4' | 'int32' | 'int64' | 'bool';

export type TypedArray = Float32Array | Uint16Array | Int8Array | Uint8Array | Int32Array | BigInt64Array;

/**
 * The typed array a host tensor of each dtype is stored in (and toArray() returns). float16 data
 * wrapped from a Float16Array comes back as that Float16Array.
 */
export interface DTypeArrays {
  float32: Float32Array;
  float16: Uint16Array;
  bfloat16: Uint16Array;
  int8: Int8Array;
  int4: Uint8Array;
  int32: Int32Array;
  int64: BigInt64Array;
  bool: Uint8Array;
}

/** The typed array of dtype D; for D = DType (dtype not known statically), the union TypedArray. */
export type ArrayOf<D extends DType> = DTypeArrays[D];

interface DTypeInfo {
  code: number;
  bits: number;
  /** The typed array a host tensor of this dtype is stored in. */
  array: { new (n: number): TypedArray; readonly name: string };
  arrayName: string;
}

export const DTYPES: Readonly<Record<DType, DTypeInfo>> = {
  float32: { code: 0, bits: 32, array: Float32Array, arrayName: 'Float32Array' },
  float16: { code: 1, bits: 16, array: Uint16Array, arrayName: 'Uint16Array (float16 bits) or Float16Array' },
  bfloat16: { code: 2, bits: 16, array: Uint16Array, arrayName: 'Uint16Array (bfloat16 bits)' },
  int8: { code: 3, bits: 8, array: Int8Array, arrayName: 'Int8Array' },
  int4: { code: 4, bits: 4, array: Uint8Array, arrayName: 'Uint8Array (two int4 per byte)' },
  int32: { code: 5, bits: 32, array: Int32Array, arrayName: 'Int32Array' },
  int64: { code: 6, bits: 64, array: BigInt64Array, arrayName: 'BigInt64Array' },
  bool: { code: 7, bits: 8, array: Uint8Array, arrayName: 'Uint8Array (one byte per element, 0 or 1)' },
};

export const DTYPE_NAMES = Object.keys(DTYPES) as DType[];

export function isDType(x: unknown): x is DType {
  return typeof x === 'string' && Object.prototype.hasOwnProperty.call(DTYPES, x);
}

/** Storage length (typed-array elements) for `numel` elements of `dtype`. */
export function storageLength(dtype: DType, numel: number): number {
  return dtype === 'int4' ? Math.ceil(numel / 2) : numel;
}

export function byteSize(dtype: DType, numel: number): number {
  return dtype === 'int4' ? Math.ceil(numel / 2) : (numel * DTYPES[dtype].bits) / 8;
}

/** The dtypes a typed array can hold, in order of preference (first = inferred when none is given). */
export function dtypesForArray(a: ArrayBufferView): DType[] {
  const F16 = (globalThis as { Float16Array?: new (n: number) => ArrayBufferView }).Float16Array;
  if (a instanceof Float32Array) return ['float32'];
  if (F16 && a instanceof F16) return ['float16'];
  if (a instanceof Uint16Array) return ['float16', 'bfloat16'];
  if (a instanceof Int8Array) return ['int8'];
  if (a instanceof Uint8Array) return ['bool', 'int4'];
  if (a instanceof Int32Array) return ['int32'];
  if (a instanceof BigInt64Array) return ['int64'];
  return [];
}
