// Int8Weights: 8-bit weights W[N, K] (N = out features) for int8Matmul (lib/ops/int8mm.ts), made once
// by quantizeWeightsInt8 and saved / loaded with toBuffer() / Int8Weights.fromBuffer().
//
// Per output channel: s[n] = max_k |w[n, k]| / 127 (float32), q = clamp(round_half_even(w / s)) in
// [-127, 127] (the W4A4 contract quantizer at 8 bits, native/ops/w4a4/w4a4.h). `values` is row-major
// [N, K] int8, the source of truth. The CPU kernels read a copy packed for gemm's int8 kernels (the
// packWeights layout, made when the weights are made or loaded, for the ISA in use then); when that
// layout is not the one the kernels would use now (setCpuIsa, another block config) they read
// `values`: a stale packing costs speed, never correctness. No per-row sums are kept: gemm's int8
// kernels carry their own signed-operand handling.
//
// Buffer format, version 1 (little-endian; sections start at multiples of 4 bytes):
//   0 'TKW8'   4 u32 version   8 u32 N   12 u32 K   16 values i8 (N*K) | scales f32 (N)  -- nothing after.
// The packed copy is not saved (it depends on the CPU); fromBuffer packs again.
import { native } from '../binding';
import { DTYPES } from '../dtype';
import { invalidArg } from '../errors';
import { Tensor } from '../tensor';
import { hostNative } from '../ops/common';

const MAGIC = 0x3857_4b54; // 'TKW8' read as a little-endian u32
export const INT8_WEIGHTS_VERSION = 1;
const CREATE = Symbol('Int8Weights.create');
const pad4 = (n: number) => Math.ceil(n / 4) * 4;

/** The gemm packing of the weights (op(B) = W^T), for the CPU int8 kernels. */
export interface Int8Packing {
  layout: string;
  data: Int8Array;
}

export class Int8Weights {
  readonly N: number;
  readonly K: number;
  /** q [N, K] in [-127, 127]. */
  readonly values: Int8Array;
  /** s [N]: w[n, k] ≈ s[n] * q[n, k]. */
  readonly scales: Float32Array;
  #packing: Int8Packing | undefined;

  /** Use quantizeWeightsInt8() or Int8Weights.fromBuffer(). */
  constructor(token: symbol, N: number, K: number, values: Int8Array, scales: Float32Array) {
    if (token !== CREATE)
      throw invalidArg('Int8Weights', 'quantizeWeightsInt8() or Int8Weights.fromBuffer()', 'new Int8Weights()', 'type', {
        described: true,
      });
    this.N = N;
    this.K = K;
    this.values = values;
    this.scales = scales;
  }

  /** @internal Checked construction (fromBuffer, the quantizer). */
  static create(N: number, K: number, values: Int8Array, scales: Float32Array): Int8Weights {
    if (!Number.isSafeInteger(N) || N < 0) throw invalidArg('N', 'a non-negative integer', N, 'range');
    if (!Number.isSafeInteger(K) || K < 0) throw invalidArg('K', 'a non-negative integer', K, 'range');
    if (!(values instanceof Int8Array) || values.length !== N * K)
      throw invalidArg('values', `an Int8Array of ${N * K} elements`, values instanceof Int8Array ? `${values.length} elements` : values);
    if (!(scales instanceof Float32Array) || scales.length !== N)
      throw invalidArg('scales', `a Float32Array of ${N} elements`, scales instanceof Float32Array ? `${scales.length} elements` : scales);
    for (let i = 0; i < N; i++)
      if (!(scales[i] >= 0 && scales[i] < Infinity)) throw invalidArg(`scales[${i}]`, 'a finite non-negative scale', scales[i], 'range');
    for (let i = 0; i < values.length; i++)
      if (values[i] === -128) throw invalidArg(`values[${i}]`, 'a value in [-127, 127] (symmetric int8)', -128, 'range');
    const w = new Int8Weights(CREATE, N, K, values, scales);
    w.#packing = packFor(values, N, K);
    return w;
  }

  /** The packed copy's layout ('' when none: empty weights, or no packed int8 path on this CPU). */
  get packedLayout(): string {
    return this.#packing?.layout ?? '';
  }

  /** @internal The packing gemm's int8 kernels may read (undefined: they read `values`). */
  get packing(): Int8Packing | undefined {
    return this.#packing;
  }

  /** q[n, k] * s[n] in float32: float32 [N, K]. */
  dequantize(): Tensor {
    const { N, K } = this;
    const d = new Float32Array(N * K);
    for (let n = 0; n < N; n++) {
      const s = this.scales[n];
      for (let k = 0; k < K; k++) d[n * K + k] = this.values[n * K + k] * s;
    }
    return Tensor.from(d, [N, K]);
  }

  /** The versioned binary form (see the file comment); Int8Weights.fromBuffer() reads it back. */
  toBuffer(): Uint8Array {
    const { N, K } = this;
    const buf = new Uint8Array(16 + pad4(N * K) + 4 * N);
    const dv = new DataView(buf.buffer);
    [MAGIC, INT8_WEIGHTS_VERSION, N, K].forEach((v, i) => dv.setUint32(4 * i, v, true));
    buf.set(new Uint8Array(this.values.buffer, this.values.byteOffset, N * K), 16);
    buf.set(new Uint8Array(Float32Array.from(this.scales).buffer), 16 + pad4(N * K));
    return buf;
  }

  /** Reads toBuffer()'s format; a foreign, truncated or inconsistent buffer is a RangeError saying which. */
  static fromBuffer(buffer: Uint8Array | ArrayBuffer): Int8Weights {
    if (!(buffer instanceof Uint8Array) && !(buffer instanceof ArrayBuffer))
      throw invalidArg('buffer', 'a Uint8Array or ArrayBuffer', buffer);
    const buf = buffer instanceof Uint8Array ? buffer : new Uint8Array(buffer);
    if (buf.length < 16)
      throw invalidArg('buffer', 'an Int8Weights buffer of at least 16 bytes (the header)', `${buf.length} bytes`, 'value', {
        described: true,
      });
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const u = (i: number) => dv.getUint32(4 * i, true);
    if (u(0) !== MAGIC) {
      const head = Array.from(buf.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
      throw invalidArg('buffer', "an Int8Weights buffer (it starts with the bytes 'TKW8')", `bytes ${head}`, 'value', { described: true });
    }
    if (u(1) !== INT8_WEIGHTS_VERSION)
      throw invalidArg('buffer', `Int8Weights format version ${INT8_WEIGHTS_VERSION}`, `version ${u(1)}`, 'value', { described: true });
    const N = u(2),
      K = u(3);
    const total = 16 + pad4(N * K) + 4 * N;
    if (buf.length !== total) {
      const what = buf.length < total ? 'truncated' : 'with trailing bytes';
      throw invalidArg('buffer', `${total} bytes for N=${N}, K=${K}`, `${buf.length} bytes (${what})`, 'value', { described: true });
    }
    const values = new Int8Array(buf.slice(16, 16 + N * K).buffer);
    const scales = new Float32Array(buf.slice(16 + pad4(N * K), total).buffer);
    return Int8Weights.create(N, K, values, scales);
  }

  toString(): string {
    return `Int8Weights(N=${this.N}, K=${this.K}${this.packedLayout ? `, packed ${this.packedLayout}` : ''})`;
  }
}

/** gemm's packing of W^T for the kernels in use now (undefined when they have none or W is empty). */
function packFor(values: Int8Array, N: number, K: number): Int8Packing | undefined {
  if (N === 0 || K === 0) return undefined;
  const l = native.ops.gemmPackLayout(DTYPES.int8.code, K, N);
  if (!l.layout) return undefined;
  const data = new Int8Array(l.bytes);
  native.ops.gemmPackB(
    { b: hostNative('int8', [N, K], values), transB: true, dst: hostNative('int8', [l.bytes], data), layout: l.layout },
    false,
  );
  return { layout: l.layout, data };
}
