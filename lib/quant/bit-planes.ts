// BitPlanes: an integer matrix [rows, K] of 1..8-bit values stored as bit planes, the operand of
// bitMatmul (docs/bitmm.md). Plane i of row r holds bit i of every element's code, packed along K into
// 64-bit words (element k is bit k % 64 of word k / 64; the pad bits past K are zero). Formats:
//   'int'     two's complement: value = sum_{i<b-1} 2^i p_i - 2^(b-1) p_(b-1)   in [-2^(b-1), 2^(b-1) - 1]
//   'uint'    value = sum_i 2^i p_i                                             in [0, 2^b - 1]
//   'bipolar' every bit means -1 or +1: value = sum_i 2^i (2 p_i - 1), the odd integers in
//             [-(2^b - 1), 2^b - 1] (1 bit: -1 / +1); the paper's bipolar-INT
// Optional per-row float32 scales make it a quantized matrix: element = scale[r] * value.
//
// Buffer format, version 1 (little-endian):
//   0 'TKBP'  4 u32 version  8 u32 rows  12 u32 K  16 u32 bits  20 u32 format (0 int, 1 uint, 2 bipolar)
//   24 u32 flags (bit 0: scales)  28 u32 reserved (0)
//   32 planes: rows * bits * ceil(K / 64) u64   then scales: rows f32 (when flagged)
import { invalidArg } from '../errors';
import { Device, DeviceSpec } from '../device';
import { Tensor, checkTensor } from '../tensor';
import { checkOptions, shapeStr } from '../validate';

export type BitFormat = 'int' | 'uint' | 'bipolar';

export interface BitPlanesOptions {
  /** Bits per value, 1..8. */
  bits: number;
  /** 'int' (two's complement, the default), 'uint' or 'bipolar' (each bit -1 / +1: odd values). */
  format?: BitFormat;
}

const FORMATS: readonly BitFormat[] = ['int', 'uint', 'bipolar'];
const MAGIC = 0x5042_4b54; // 'TKBP' read as a little-endian u32
export const BIT_PLANES_VERSION = 1;
const CREATE = Symbol('BitPlanes');

/** The value range of a format at `bits`: [lo, hi] (bipolar: odd values only). */
export function bitFormatRange(format: BitFormat, bits: number): [number, number] {
  if (format === 'int') return [-(2 ** (bits - 1)), 2 ** (bits - 1) - 1];
  if (format === 'uint') return [0, 2 ** bits - 1];
  return [-(2 ** bits - 1), 2 ** bits - 1];
}

function checkBitOptions(opts: unknown, fn: string): { bits: number; format: BitFormat } {
  if (opts === undefined || opts === null) throw invalidArg('options', `an object { bits, format? } (${fn})`, opts);
  const o = checkOptions<BitPlanesOptions>(opts, 'options', ['bits', 'format']);
  const bits = o.bits;
  if (typeof bits !== 'number') throw invalidArg('options.bits', 'a number of bits, 1..8', bits);
  if (!Number.isInteger(bits) || bits < 1 || bits > 8) throw invalidArg('options.bits', 'a whole number of bits, 1..8', bits, 'range');
  const format = o.format ?? 'int';
  if (!FORMATS.includes(format)) throw invalidArg('options.format', "'int', 'uint' or 'bipolar'", format, 'value');
  return { bits, format };
}

export class BitPlanes {
  /** Rows (M of a, N of b). */
  readonly rows: number;
  /** Elements per row. */
  readonly K: number;
  readonly bits: number;
  readonly format: BitFormat;
  /** int64 [rows, bits, ceil(K / 64)]: plane i of row r is planes[r, i, :]. */
  readonly planes: Tensor<'int64'>;
  /** float32 [rows] per-row scales (quantizeBits), or undefined for plain integers (packBits). */
  readonly scales: Tensor<'float32'> | undefined;

  /** Use packBits(), quantizeBits() or BitPlanes.fromBuffer(). */
  constructor(
    token: symbol,
    f: { rows: number; K: number; bits: number; format: BitFormat; planes: Tensor<'int64'>; scales?: Tensor<'float32'> },
  ) {
    if (token !== CREATE)
      throw new TypeError('BitPlanes has no public constructor: use packBits(), quantizeBits() or BitPlanes.fromBuffer()');
    this.rows = f.rows;
    this.K = f.K;
    this.bits = f.bits;
    this.format = f.format;
    this.planes = f.planes;
    this.scales = f.scales;
  }

  /** Where the planes are: 'cpu', or a CUDA device after to(). */
  get device(): Device {
    return this.planes.device;
  }

  /** The same planes (and scales) copied to `device`; bitMatmul runs where its operands are. */
  async to(device: DeviceSpec): Promise<BitPlanes> {
    const planes = await this.planes.to(device);
    const scales = this.scales ? await this.scales.to(device) : undefined;
    return new BitPlanes(CREATE, { rows: this.rows, K: this.K, bits: this.bits, format: this.format, planes, scales });
  }

  /** 64-bit words per plane row: ceil(K / 64). */
  get words(): number {
    return Math.ceil(this.K / 64);
  }

  /** The same planes with other per-row scales (float32 [rows]), or none. */
  withScales(scales: Tensor | undefined): BitPlanes {
    let s: Tensor<'float32'> | undefined;
    if (scales !== undefined) {
      const S = checkTensor(scales, 'scales');
      if (S.dtype !== 'float32' || S.ndim !== 1 || S.shape[0] !== this.rows || S.device !== this.device)
        throw invalidArg(
          'scales',
          `a float32 tensor of shape [${this.rows}] on ${this.device}`,
          `${S.dtype} ${shapeStr(S.shape)} on ${S.device}`,
          'value',
          {
            described: true,
          },
        );
      s = S as Tensor<'float32'>;
    }
    return new BitPlanes(CREATE, { rows: this.rows, K: this.K, bits: this.bits, format: this.format, planes: this.planes, scales: s });
  }

  /** The integer values, int32 [rows, K]. */
  unpack(): Tensor<'int32'> {
    const { rows, K, bits } = this;
    const W = this.words;
    const u = u32Of(this.planes);
    const out = new Int32Array(rows * K);
    const top = this.format === 'int' ? bits - 1 : -1;
    for (let r = 0; r < rows; r++) {
      for (let k = 0; k < K; k++) {
        let v = 0;
        for (let i = 0; i < bits; i++) {
          const bit = (u[(r * bits + i) * W * 2 + (k >>> 5)] >>> (k & 31)) & 1;
          if (this.format === 'bipolar') v += (2 * bit - 1) * (1 << i);
          else if (i === top) v -= bit << i;
          else v += bit << i;
        }
        out[r * K + k] = v;
      }
    }
    return Tensor.from(out, [rows, K]);
  }

  /** scale[r] * value as float32 [rows, K] (a scale of 1 without scales). */
  dequantize(): Tensor<'float32'> {
    const v = this.unpack().toArraySync() as Int32Array;
    const s = this.scales ? (this.scales.toArraySync() as Float32Array) : undefined;
    const out = new Float32Array(v.length);
    for (let r = 0; r < this.rows; r++) {
      const sc = s ? s[r] : 1;
      for (let k = 0; k < this.K; k++) out[r * this.K + k] = sc * v[r * this.K + k];
    }
    return Tensor.from(out, [this.rows, this.K]);
  }

  /** The versioned binary form (see the file comment); BitPlanes.fromBuffer() reads it back. */
  toBuffer(): Uint8Array {
    const W = this.words;
    const planeBytes = this.rows * this.bits * W * 8;
    const buf = new Uint8Array(32 + planeBytes + (this.scales ? this.rows * 4 : 0));
    const dv = new DataView(buf.buffer);
    [MAGIC, BIT_PLANES_VERSION, this.rows, this.K, this.bits, FORMATS.indexOf(this.format), this.scales ? 1 : 0, 0].forEach((v, i) =>
      dv.setUint32(4 * i, v, true),
    );
    const p = this.planes.toArraySync() as BigInt64Array;
    buf.set(new Uint8Array(p.buffer, p.byteOffset, planeBytes), 32);
    if (this.scales) {
      const s = this.scales.toArraySync() as Float32Array;
      buf.set(new Uint8Array(s.buffer, s.byteOffset, this.rows * 4), 32 + planeBytes);
    }
    return buf;
  }

  /** Reads toBuffer()'s format; a foreign, truncated or inconsistent buffer is a RangeError saying which. */
  static fromBuffer(buffer: Uint8Array | ArrayBuffer): BitPlanes {
    if (!(buffer instanceof Uint8Array) && !(buffer instanceof ArrayBuffer))
      throw invalidArg('buffer', 'a Uint8Array or ArrayBuffer', buffer);
    const buf = buffer instanceof Uint8Array ? buffer : new Uint8Array(buffer);
    if (buf.byteLength < 32)
      throw invalidArg('buffer', 'a BitPlanes buffer (at least 32 bytes)', `${buf.byteLength} bytes`, 'value', { described: true });
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const u = (i: number) => dv.getUint32(4 * i, true);
    if (u(0) !== MAGIC) throw invalidArg('buffer', "a BitPlanes buffer (magic 'TKBP')", 'another format', 'value', { described: true });
    if (u(1) !== BIT_PLANES_VERSION)
      throw invalidArg('buffer', `BitPlanes format version ${BIT_PLANES_VERSION}`, `version ${u(1)}`, 'value', { described: true });
    const rows = u(2),
      K = u(3),
      bits = u(4),
      fmt = u(5),
      flags = u(6);
    if (bits < 1 || bits > 8 || fmt > 2 || flags > 1 || u(7) !== 0)
      throw invalidArg('buffer', 'bits 1..8, format 0..2 and flags 0..1', `bits ${bits}, format ${fmt}, flags ${flags}`, 'value', {
        described: true,
      });
    const W = Math.ceil(K / 64);
    const planeBytes = rows * bits * W * 8;
    const want = 32 + planeBytes + (flags ? rows * 4 : 0);
    if (buf.byteLength !== want)
      throw invalidArg('buffer', `${want} bytes for rows ${rows}, K ${K}, bits ${bits}`, `${buf.byteLength} bytes`, 'value', {
        described: true,
      });
    const planes = new BigInt64Array(rows * bits * W);
    new Uint8Array(planes.buffer).set(buf.subarray(32, 32 + planeBytes));
    const pu = new Uint32Array(planes.buffer);
    // Pad bits must be zero (bitMatmul's XOR count relies on it): a buffer with others is refused.
    if (K % 64 !== 0) {
      for (let r = 0; r < rows * bits; r++) {
        const last = (r * W + W - 1) * 2;
        const lo = K % 64 >= 32 ? 0 : pu[last] & ~((2 ** (K % 32) - 1) >>> 0);
        const hi = K % 64 >= 32 ? pu[last + 1] & ~((2 ** (K % 32) - 1) >>> 0) : pu[last + 1];
        if (lo !== 0 || hi !== 0)
          throw invalidArg('buffer', `zero pad bits past K = ${K}`, `set pad bits in plane row ${r}`, 'value', { described: true });
      }
    }
    let scales: Tensor<'float32'> | undefined;
    if (flags) {
      const s = new Float32Array(rows);
      new Uint8Array(s.buffer).set(buf.subarray(32 + planeBytes, want));
      scales = Tensor.from(s, [rows]);
    }
    return new BitPlanes(CREATE, { rows, K, bits, format: FORMATS[fmt], planes: Tensor.from(planes, [rows, bits, W]), scales });
  }
}

function u32Of(t: Tensor<'int64'>): Uint32Array {
  const a = t.toArraySync() as BigInt64Array;
  return new Uint32Array(a.buffer, a.byteOffset, a.length * 2);
}

/** Codes (0 .. 2^b - 1) [rows, K] into planes. */
function planesOf(codes: Int32Array | Uint8Array, rows: number, K: number, bits: number): Tensor<'int64'> {
  const W = Math.ceil(K / 64);
  const planes = new BigInt64Array(rows * bits * W);
  const u = new Uint32Array(planes.buffer);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < bits; i++) {
      const base = (r * bits + i) * W * 2;
      for (let k = 0; k < K; k++) if ((codes[r * K + k] >>> i) & 1) u[base + (k >>> 5)] |= 1 << (k & 31);
    }
  }
  return Tensor.from(planes, [rows, bits, W]);
}

/** The code (0 .. 2^b - 1) of a value of the format. */
function codeOf(v: number, format: BitFormat, bits: number): number {
  if (format === 'int') return v & ((1 << bits) - 1);
  if (format === 'uint') return v;
  return (v + (1 << bits) - 1) >> 1;
}

/**
 * Integer values (int8 or int32 [rows, K]) as bit planes of `bits` in `format`. A value outside the
 * format's range (or even, for bipolar) is an error naming the first one.
 */
export function packBits(t: Tensor, opts: BitPlanesOptions): BitPlanes {
  const T = checkTensor(t, 't');
  const { bits, format } = checkBitOptions(opts, 'packBits');
  if (T.dtype !== 'int8' && T.dtype !== 'int32')
    throw invalidArg('t', 'an int8 or int32 tensor', `${T.dtype} tensor`, 'type', { described: true });
  if (T.ndim !== 2) throw invalidArg('t', 'a rank-2 tensor [rows, K]', `shape ${shapeStr(T.shape)}`, 'value', { described: true });
  if (T.device !== 'cpu') throw invalidArg('t', 'a CPU tensor', `a tensor on ${T.device}`, 'value', { described: true });
  const [rows, K] = T.shape;
  const v = T.toArraySync() as Int8Array | Int32Array;
  const [lo, hi] = bitFormatRange(format, bits);
  const codes = new Int32Array(rows * K);
  for (let e = 0; e < v.length; e++) {
    const x = v[e];
    if (x < lo || x > hi || (format === 'bipolar' && (x & 1) === 0)) {
      const what = format === 'bipolar' ? `an odd integer in [${lo}, ${hi}]` : `an integer in [${lo}, ${hi}]`;
      throw invalidArg(`t[${Math.floor(e / K)}, ${e % K}]`, `${what} (${bits}-bit ${format})`, x, 'range');
    }
    codes[e] = codeOf(x, format, bits);
  }
  return new BitPlanes(CREATE, { rows, K, bits, format, planes: planesOf(codes, rows, K, bits) });
}

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x - Math.trunc(x)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The largest level of a format at `bits` (the scale's divisor). */
function maxLevel(format: BitFormat, bits: number): number {
  return format === 'int' ? 2 ** (bits - 1) - 1 : 2 ** bits - 1;
}

/**
 * Quantizes float32 [rows, K] per row to `bits` in `format` (docs/bitmm.md): s = fround(max|v| / L)
 * with L = 2^(b-1) - 1 (int; 2 bits or more), 2^b - 1 (uint, bipolar); x = fround(v / s);
 * int: q = clamp(round_half_even(x), -2^(b-1), 2^(b-1) - 1); uint: q = clamp(round_half_even(x), 0, 2^b - 1)
 * (negative values become 0); bipolar: the nearest odd level, ties to the one whose magnitude is 1 mod 4,
 * q = sign(x) * (2 * round_half_even((|x| - 1) / 2) + 1) clamped to +-(2^b - 1). A zero row has s = 0
 * (q = 0; bipolar +1); a row holding NaN or Inf is an error.
 */
export function quantizeBits(t: Tensor, opts: BitPlanesOptions): BitPlanes {
  const T = checkTensor(t, 't');
  const { bits, format } = checkBitOptions(opts, 'quantizeBits');
  if (T.dtype !== 'float32') throw invalidArg('t', 'a float32 tensor', `${T.dtype} tensor`, 'type', { described: true });
  if (T.ndim !== 2) throw invalidArg('t', 'a rank-2 tensor [rows, K]', `shape ${shapeStr(T.shape)}`, 'value', { described: true });
  if (T.device !== 'cpu') throw invalidArg('t', 'a CPU tensor', `a tensor on ${T.device}`, 'value', { described: true });
  if (format === 'int' && bits < 2)
    throw invalidArg('options.bits', "2..8 for format 'int' (1-bit int holds only -1 and 0: use 'bipolar' for +-1)", bits, 'range');
  const [rows, K] = T.shape;
  const v = T.toArraySync() as Float32Array;
  const L = maxLevel(format, bits);
  const [lo, hi] = bitFormatRange(format, bits);
  const codes = new Int32Array(rows * K);
  const scales = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let amax = 0;
    for (let k = 0; k < K; k++) {
      const x = v[r * K + k];
      if (!Number.isFinite(x)) throw invalidArg(`t[${r}, ${k}]`, 'a finite value', x, 'range');
      amax = Math.max(amax, Math.abs(x));
    }
    const s = Math.fround(amax / L);
    scales[r] = s;
    for (let k = 0; k < K; k++) {
      const x = s === 0 ? 0 : Math.fround(v[r * K + k] / s);
      let q: number;
      if (format === 'bipolar') {
        const m = 2 * roundHalfEven((Math.abs(x) - 1) / 2) + 1;
        q = Math.min(m, hi) * (x < 0 ? -1 : 1);
      } else {
        q = Math.min(hi, Math.max(lo, roundHalfEven(x)));
      }
      codes[r * K + k] = codeOf(q, format, bits);
    }
  }
  return new BitPlanes(CREATE, { rows, K, bits, format, planes: planesOf(codes, rows, K, bits), scales: Tensor.from(scales, [rows]) });
}
