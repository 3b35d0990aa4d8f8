// Int4Weights: 4-bit weights W[N, K] (N = out features) as every w4a4 path uses them, made once
// offline by quantizeWeightsInt4 (lib/ops/w4a4.ts) or imported from onnxruntime's MatMulNBits, and
// saved / loaded with toBuffer() / Int4Weights.fromBuffer().
//
// Storage: `packed` is the public docs/design.md, Data conventions layout (row-major [N, K/2], element 2i in the low
// nibble, two's complement) and the kernels read it as is: they unpack a 64-k step with one AND and
// one shift and arrange the activations to match (native/ops/w4a4/w4a4_kernels.h), so no second,
// kernel-specific copy is kept. The CUDA kernels read it as is too: a weight row, k-contiguous with the
// low nibble first, is exactly a column of mma.m16n8k64.s4's B operand ("col"), loaded by 16-byte
// cp.async into the GEMM's XOR-swizzled shared tiles and read by ldmatrix without bank conflicts
// (native/ops/w4a4/w4a4_cuda_layout.h). So the layout recorded by format version 1 (`layout` below,
// implied by the version) is the one every backend loads, and a buffer saved anywhere loads anywhere; a
// future tiled layout would take a new flag bit. `scales` is [N, K / groupSize] float32. Optional parts:
//   zeroPoints [N, G] int8 in [-8, 7]: w = (q - z) * s (asymmetric imports; weight-only path only);
//   outlierChannels (int32, increasing) with outlierWeights [N, nO] int8 and outlierScales [N]:
//   those channels of K at int8 (s = max|w[n, O]| / 127), zeroed in the 4-bit part.
//
// Buffer format, version 1 (little-endian; every section starts at a multiple of 4 bytes):
//   0  'TKW4'   4 u32 version   8 u32 N   12 u32 K   16 u32 groupSize
//   20 u32 flags (1 per-channel, 2 hadamard, 4 zero points)   24 u32 rotationBlock   28 u32 nOutliers
//   32 packed (N*K/2) | scales f32 (N*G) | zeroPoints i8 (N*G, flag 4) | outlierChannels i32 (nO)
//      | outlierWeights i8 (N*nO) | outlierScales f32 (N)   -- and nothing after.
import { invalidArg } from '../errors';
import { Tensor } from '../tensor';
import { hadamardRotate, rotationBlock } from './hadamard';

const MAGIC = 0x3457_4b54; // 'TKW4' read as a little-endian u32
export const INT4_WEIGHTS_VERSION = 1;
const CREATE = Symbol('Int4Weights.create');

export interface Int4WeightsFields {
  N: number;
  K: number;
  /** The group size; K for per-channel scales. */
  groupSize: number;
  perChannel: boolean;
  rotate?: 'hadamard';
  packed: Uint8Array;
  scales: Float32Array;
  zeroPoints?: Int8Array;
  outlierChannels?: Int32Array;
  outlierWeights?: Int8Array;
  outlierScales?: Float32Array;
}

export interface MatMulNBitsInput {
  /** uint8 [N, ceil(K / blockSize), blockSize / 2]: unsigned nibbles, even k in the low nibble. */
  B: Uint8Array;
  /** float32 [N, K / blockSize]. */
  scales: Float32Array;
  /** uint8 [N, ceil((K / blockSize) / 2)]: packed unsigned zero points, low nibble first; default 8. */
  zeroPoints?: Uint8Array;
  K: number;
  N: number;
  blockSize: number;
}

// Exact for any size (a header's N * K / 2 can pass 2^31, where `(n + 3) & ~3` wrapped: a 32-byte
// buffer declaring N = 2^30, K = 8 then matched its "size" and got past the length check).
const pad4 = (n: number) => Math.ceil(n / 4) * 4;

export class Int4Weights {
  readonly N: number;
  readonly K: number;
  readonly groupSize: number;
  readonly perChannel: boolean;
  readonly rotate: 'hadamard' | undefined;
  /** The Hadamard block size when rotated (lib/quant/hadamard.ts), else 0. */
  readonly rotationBlock: number;
  readonly packed: Uint8Array;
  readonly scales: Float32Array;
  readonly zeroPoints: Int8Array | undefined;
  readonly outlierChannels: Int32Array | undefined;
  readonly outlierWeights: Int8Array | undefined;
  readonly outlierScales: Float32Array | undefined;

  /** Use quantizeWeightsInt4(), Int4Weights.fromBuffer() or Int4Weights.fromMatMulNBits(). */
  constructor(token: symbol, f: Int4WeightsFields) {
    if (token !== CREATE) {
      throw invalidArg(
        'Int4Weights',
        'quantizeWeightsInt4(), Int4Weights.fromBuffer() or Int4Weights.fromMatMulNBits()',
        'new Int4Weights()',
        'type',
        { described: true },
      );
    }
    const { N, K, groupSize: gs } = f;
    if (!Number.isSafeInteger(N) || N < 0) throw invalidArg('N', 'a non-negative integer', N, 'range');
    if (!Number.isSafeInteger(K) || K < 0) throw invalidArg('K', 'a non-negative integer', K, 'range');
    if (K % 2 !== 0) throw invalidArg('K', 'a multiple of 2 (int4 packing along K)', K, 'value');
    if (K > 0 && (!Number.isSafeInteger(gs) || gs < 2 || gs % 2 !== 0 || K % gs !== 0)) {
      throw invalidArg('groupSize', `an even number dividing K = ${K}`, gs, 'value');
    }
    const G = K > 0 ? K / gs : 0;
    const len = (name: string, a: ArrayLike<unknown> | undefined, want: number) => {
      if (!a || a.length !== want)
        throw invalidArg(name, `${want} elements`, a ? `${a.length} elements` : 'nothing', 'value', { described: true });
    };
    len('packed', f.packed, (N * K) / 2);
    len('scales', f.scales, N * G);
    for (let i = 0; i < f.scales.length; i++) {
      if (!(f.scales[i] >= 0 && f.scales[i] < Infinity))
        throw invalidArg(`scales[${i}]`, 'a finite non-negative scale', f.scales[i], 'range');
    }
    if (f.zeroPoints) {
      len('zeroPoints', f.zeroPoints, N * G);
      if (f.zeroPoints.some((z) => z < -8 || z > 7))
        throw invalidArg('zeroPoints', 'values in [-8, 7]', 'a value outside', 'range', { described: true });
    }
    const oc = f.outlierChannels;
    if (oc && oc.length > 0) {
      for (let j = 0; j < oc.length; j++) {
        if (!(oc[j] >= 0 && oc[j] < K) || (j > 0 && oc[j] <= oc[j - 1])) {
          throw invalidArg('outlierChannels', `increasing channel indices in [0, ${K})`, Array.from(oc));
        }
      }
      len('outlierWeights', f.outlierWeights, N * oc.length);
      len('outlierScales', f.outlierScales, N);
    }
    this.N = N;
    this.K = K;
    this.groupSize = gs;
    this.perChannel = f.perChannel;
    this.rotate = f.rotate;
    this.rotationBlock = f.rotate === 'hadamard' ? rotationBlock(gs) : 0;
    this.packed = f.packed;
    this.scales = f.scales;
    this.zeroPoints = f.zeroPoints && f.zeroPoints.some((z) => z !== 0) ? f.zeroPoints : undefined;
    this.outlierChannels = oc && oc.length > 0 ? oc : undefined;
    this.outlierWeights = this.outlierChannels ? f.outlierWeights : undefined;
    this.outlierScales = this.outlierChannels ? f.outlierScales : undefined;
  }

  /** The packed layout every backend reads (version 1: row-major [N, K/2], low nibble first). */
  get layout(): 'row-major-k' {
    return 'row-major-k';
  }

  /** @internal */
  static create(f: Int4WeightsFields): Int4Weights {
    return new Int4Weights(CREATE, f);
  }

  /** Groups per row (1 when per channel). */
  get groups(): number {
    return this.K > 0 ? this.K / this.groupSize : 0;
  }

  /** The 4-bit value q[n, k] in [-8, 7]. */
  q(n: number, k: number): number {
    const b = this.packed[(n * this.K + k) >> 1];
    return ((k & 1 ? b >> 4 : b & 15) ^ 8) - 8;
  }

  /**
   * The weights these stand for, float32 [N, K]: (q - z) * s per group (float32), the rotation undone
   * (the block Hadamard is its own inverse; applied in float32, so rotated weights come back within
   * float32 rounding of the exact inverse), and outlier channels set to their int8 value q_o * s_o
   * (the 4-bit part never sees those channels). This is the matrix int4Matmul multiplies by.
   */
  dequantize(): Tensor {
    const { N, K, groupSize: gs } = this,
      G = this.groups;
    const w = new Float32Array(N * K);
    for (let n = 0; n < N; n++) {
      for (let k = 0; k < K; k++) {
        const g = n * G + Math.floor(k / gs);
        w[n * K + k] = Math.fround((this.q(n, k) - (this.zeroPoints ? this.zeroPoints[g] : 0)) * this.scales[g]);
      }
      if (this.rotationBlock) hadamardRotate(w, n * K, K, this.rotationBlock);
      const oc = this.outlierChannels;
      if (oc)
        for (let j = 0; j < oc.length; j++)
          w[n * K + oc[j]] = Math.fround(this.outlierWeights![n * oc.length + j] * this.outlierScales![n]);
    }
    return Tensor.from(w, [N, K]);
  }

  /** The versioned binary form (see the file comment); Int4Weights.fromBuffer() reads it back. */
  toBuffer(): Uint8Array {
    const { N, K } = this,
      G = this.groups,
      nO = this.outlierChannels?.length ?? 0;
    const sizes = sectionSizes(N, K, G, !!this.zeroPoints, nO);
    const buf = new Uint8Array(sizes.total);
    const dv = new DataView(buf.buffer);
    const flags = (this.perChannel ? 1 : 0) | (this.rotate ? 2 : 0) | (this.zeroPoints ? 4 : 0);
    [MAGIC, INT4_WEIGHTS_VERSION, N, K, this.groupSize, flags, this.rotationBlock, nO].forEach((v, i) => dv.setUint32(4 * i, v, true));
    let o = 32;
    const put = (a: ArrayBufferView | undefined, bytes: number) => {
      if (a) buf.set(new Uint8Array(a.buffer, a.byteOffset, bytes), o);
      o += pad4(bytes);
    };
    put(this.packed, (N * K) / 2);
    put(new Float32Array(this.scales), N * G * 4);
    if (this.zeroPoints) put(this.zeroPoints, N * G);
    if (nO) {
      put(new Int32Array(this.outlierChannels!), nO * 4);
      put(this.outlierWeights, N * nO);
      put(new Float32Array(this.outlierScales!), N * 4);
    }
    return buf;
  }

  /** Reads toBuffer()'s format; a foreign, truncated or inconsistent buffer is a RangeError saying which. */
  static fromBuffer(buffer: Uint8Array | ArrayBuffer): Int4Weights {
    if (!(buffer instanceof Uint8Array) && !(buffer instanceof ArrayBuffer))
      throw invalidArg('buffer', 'a Uint8Array or ArrayBuffer', buffer);
    const buf = buffer instanceof Uint8Array ? buffer : new Uint8Array(buffer);
    if (buf.length < 32)
      throw invalidArg('buffer', 'an Int4Weights buffer of at least 32 bytes (the header)', `${buf.length} bytes`, 'value', {
        described: true,
      });
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const u = (i: number) => dv.getUint32(4 * i, true);
    if (u(0) !== MAGIC) {
      const head = Array.from(buf.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
      throw invalidArg('buffer', "an Int4Weights buffer (it starts with the bytes 'TKW4')", `bytes ${head}`, 'value', { described: true });
    }
    if (u(1) !== INT4_WEIGHTS_VERSION)
      throw invalidArg('buffer', `Int4Weights format version ${INT4_WEIGHTS_VERSION}`, `version ${u(1)}`, 'value', { described: true });
    const N = u(2),
      K = u(3),
      gs = u(4),
      flags = u(5),
      rb = u(6),
      nO = u(7);
    if (K % 2 !== 0 || (K > 0 && (gs === 0 || K % gs !== 0)) || flags > 7) {
      throw invalidArg('buffer', 'a consistent Int4Weights header', `N=${N} K=${K} groupSize=${gs} flags=${flags}`, 'value', {
        described: true,
      });
    }
    const G = K > 0 ? K / gs : 0;
    const sizes = sectionSizes(N, K, G, (flags & 4) !== 0, nO);
    if (buf.length !== sizes.total) {
      const what = buf.length < sizes.total ? 'truncated' : 'with trailing bytes';
      throw invalidArg('buffer', `${sizes.total} bytes for N=${N}, K=${K}, groupSize=${gs}`, `${buf.length} bytes (${what})`, 'value', {
        described: true,
      });
    }
    let o = 32;
    const take = (bytes: number) => {
      const copy = buf.slice(o, o + bytes); // own, aligned storage
      o += pad4(bytes);
      return copy;
    };
    const packed = take((N * K) / 2);
    const scales = new Float32Array(take(N * G * 4).buffer);
    const zeroPoints = flags & 4 ? new Int8Array(take(N * G).buffer) : undefined;
    let outlierChannels: Int32Array | undefined, outlierWeights: Int8Array | undefined, outlierScales: Float32Array | undefined;
    if (nO) {
      outlierChannels = new Int32Array(take(nO * 4).buffer);
      outlierWeights = new Int8Array(take(N * nO).buffer);
      outlierScales = new Float32Array(take(N * 4).buffer);
    }
    const w = Int4Weights.create({
      N,
      K,
      groupSize: gs,
      perChannel: (flags & 1) !== 0,
      rotate: flags & 2 ? 'hadamard' : undefined,
      packed,
      scales,
      zeroPoints,
      outlierChannels,
      outlierWeights,
      outlierScales,
    });
    if (w.rotationBlock !== (flags & 2 ? rb : 0))
      throw invalidArg('buffer', `rotation block ${w.rotationBlock}`, `${rb}`, 'value', { described: true });
    return w;
  }

  /**
   * Imports onnxruntime's MatMulNBits (bits = 4) weights. Its nibbles are unsigned with a zero point
   * (default 8): w = (u - zp) * s. Stored exactly as q = u - 8 (two's complement) with z = zp - 8;
   * with the default zero point that is the symmetric form every path takes, otherwise the
   * weight-only path (int4Matmul) runs it.
   */
  static fromMatMulNBits(m: MatMulNBitsInput): Int4Weights {
    if (typeof m !== 'object' || m === null) throw invalidArg('matMulNBits', 'an object { B, scales, zeroPoints?, K, N, blockSize }', m);
    const { K, N, blockSize: bs } = m;
    for (const [v, n] of [
      [K, 'K'],
      [N, 'N'],
      [bs, 'blockSize'],
    ] as const) {
      if (!Number.isSafeInteger(v) || v < 0) throw invalidArg(n, 'a non-negative integer', v, 'range');
    }
    if (bs < 16 || (bs & (bs - 1)) !== 0) throw invalidArg('blockSize', 'a power of two >= 16 (MatMulNBits)', bs, 'value');
    if (K % bs !== 0) throw invalidArg('K', `a multiple of blockSize ${bs} (padded blocks are not imported)`, K, 'value');
    const G = K / bs;
    if (!(m.B instanceof Uint8Array) || m.B.length !== (N * K) / 2)
      throw invalidArg('B', `a Uint8Array of ${(N * K) / 2} bytes ([N, K/blockSize, blockSize/2])`, m.B);
    if (!(m.scales instanceof Float32Array) || m.scales.length !== N * G)
      throw invalidArg('scales', `a Float32Array of ${N * G} scales`, m.scales);
    const zpRow = Math.ceil(G / 2);
    if (m.zeroPoints !== undefined && (!(m.zeroPoints instanceof Uint8Array) || m.zeroPoints.length !== N * zpRow)) {
      throw invalidArg('zeroPoints', `a Uint8Array of ${N * zpRow} bytes (packed 4-bit)`, m.zeroPoints);
    }
    const packed = new Uint8Array((N * K) / 2);
    for (let i = 0; i < packed.length; i++) packed[i] = m.B[i] ^ 0x88; // u -> (u - 8) as a two's-complement nibble
    const zeroPoints = new Int8Array(N * G);
    if (m.zeroPoints) {
      for (let n = 0; n < N; n++)
        for (let g = 0; g < G; g++) {
          const b = m.zeroPoints[n * zpRow + (g >> 1)];
          zeroPoints[n * G + g] = (g & 1 ? b >> 4 : b & 15) - 8;
        }
    }
    return Int4Weights.create({ N, K, groupSize: bs, perChannel: G === 1, packed, scales: Float32Array.from(m.scales), zeroPoints });
  }
}

function sectionSizes(N: number, K: number, G: number, zp: boolean, nO: number): { total: number } {
  let t = 32 + pad4((N * K) / 2) + pad4(N * G * 4);
  if (zp) t += pad4(N * G);
  if (nO) t += pad4(nO * 4) + pad4(N * nO) + pad4(N * 4);
  return { total: t };
}
