// LowBitWeights: 1-, 2-, 3- or 4-bit weights W[N, K] (N = out features) for lutMatmul, made once by
// quantizeWeights (lib/ops/lut.ts) and saved / loaded with toBuffer() / LowBitWeights.fromBuffer().
//
// Values (docs/lut.md): symmetric per group of `groupSize` consecutive k (G = ceil(K / groupSize)
// groups; the last one is shorter when groupSize does not divide K), w ~ q * s with
//   b >= 2: q in [-2^(b-1), 2^(b-1) - 1];   b = 1: q in {-1, +1}.
// Storage, the layout the kernels read (native/ops/lut/lut.h):
//   quads: each group holds Qg = ceil(min(groupSize, K) / 4) quads of 4 consecutive k (zero-padded
//   at the group's end), numbered qi = g * Qg + j; KQ = G * Qg, KC = ceil(KQ / 8), NB = ceil(N / 16).
//   u = q + 2^(b-1) (b >= 2) or (q + 1) / 2 (b = 1).
//   planes: [NB][KC][bits][16] little-endian u32 words; word (nb, kc, p, r) holds in its nibble j
//   (bits 4j .. 4j+3) bit p of u for row n = 16 nb + r and the quad 8 kc + j (bit t of the nibble:
//   the quad's t-th k). Padding (rows past N, quads past KQ, k past the group) is 0.
//   scales: float32 [NB][G][16]: s[n, g] at (n >> 4, g, n & 15); padded rows hold 0.
//
// Buffer format, version 1 (little-endian):
//   0 'TKLB'  4 u32 version  8 u32 N  12 u32 K  16 u32 bits  20 u32 groupSize
//   24 planes (NB * KC * bits * 64 bytes) | scales f32 (NB * G * 16)   -- and nothing after.
import { invalidArg } from '../errors';
import { Tensor } from '../tensor';

const MAGIC = 0x424c_4b54; // 'TKLB' read as a little-endian u32
export const LOW_BIT_WEIGHTS_VERSION = 1;
const CREATE = Symbol('LowBitWeights.create');
const HEADER = 24;

/** The derived sizes of the layout (see the file comment). */
export function lowBitLayout(N: number, K: number, bits: number, groupSize: number) {
  const G = K > 0 ? Math.ceil(K / groupSize) : 0;
  const Qg = Math.ceil(Math.min(groupSize, K) / 4);
  const KQ = G * Qg;
  const KC = Math.ceil(KQ / 8);
  const NB = Math.ceil(N / 16);
  return { G, Qg, KQ, KC, NB, planeBytes: NB * KC * bits * 64, scaleCount: NB * G * 16 };
}

export interface LowBitWeightsFields {
  N: number;
  K: number;
  bits: 1 | 2 | 3 | 4;
  groupSize: number;
  planes: Uint8Array;
  scales: Float32Array;
}

export class LowBitWeights {
  readonly N: number;
  readonly K: number;
  readonly bits: 1 | 2 | 3 | 4;
  /** k per scale; the last group of a row is shorter when it does not divide K. */
  readonly groupSize: number;
  /** The bit planes (file comment). */
  readonly planes: Uint8Array;
  /** float32 [ceil(N / 16)][G][16] (file comment); scale(n, g) reads one. */
  readonly scales: Float32Array;

  /** Use quantizeWeights() or LowBitWeights.fromBuffer(). */
  constructor(token: symbol, f: LowBitWeightsFields) {
    if (token !== CREATE)
      throw invalidArg('LowBitWeights', 'quantizeWeights() or LowBitWeights.fromBuffer()', 'new LowBitWeights()', 'type', {
        described: true,
      });
    const { N, K, bits, groupSize: gs } = f;
    if (!Number.isSafeInteger(N) || N < 0 || N > 2 ** 31) throw invalidArg('N', 'an integer in [0, 2^31]', N, 'range');
    if (!Number.isSafeInteger(K) || K < 0 || K > 2 ** 31) throw invalidArg('K', 'an integer in [0, 2^31]', K, 'range');
    if (![1, 2, 3, 4].includes(bits)) throw invalidArg('bits', '1, 2, 3 or 4', bits, 'value');
    if (!Number.isSafeInteger(gs) || gs < 1 || gs > 2 ** 31) throw invalidArg('groupSize', 'an integer >= 1', gs, 'range');
    const L = lowBitLayout(N, K, bits, gs);
    if (!(f.planes instanceof Uint8Array) || f.planes.length !== L.planeBytes)
      throw invalidArg('planes', `a Uint8Array of ${L.planeBytes} bytes`, f.planes?.length ?? f.planes);
    if (!(f.scales instanceof Float32Array) || f.scales.length !== L.scaleCount)
      throw invalidArg('scales', `a Float32Array of ${L.scaleCount} scales`, f.scales?.length ?? f.scales);
    for (let i = 0; i < f.scales.length; i++)
      if (!(f.scales[i] >= 0 && f.scales[i] < Infinity))
        throw invalidArg(`scales[${i}]`, 'a finite non-negative scale', f.scales[i], 'range');
    this.N = N;
    this.K = K;
    this.bits = bits;
    this.groupSize = gs;
    this.planes = f.planes;
    this.scales = f.scales;
  }

  /** @internal */
  static create(f: LowBitWeightsFields): LowBitWeights {
    return new LowBitWeights(CREATE, f);
  }

  /** Groups per row: ceil(K / groupSize). */
  get groups(): number {
    return lowBitLayout(this.N, this.K, this.bits, this.groupSize).G;
  }

  /** The scale of row n, group g. */
  scale(n: number, g: number): number {
    return this.scales[((n >> 4) * this.groups + g) * 16 + (n & 15)];
  }

  /** The integer q[n, k] (in [-2^(bits-1), 2^(bits-1) - 1]; -1 or +1 at 1 bit). */
  q(n: number, k: number): number {
    const L = lowBitLayout(this.N, this.K, this.bits, this.groupSize);
    const g = Math.floor(k / this.groupSize),
      kk = k - g * this.groupSize;
    const qi = g * L.Qg + (kk >> 2);
    const bit = (kk & 3) + 4 * (qi & 7);
    const dv = new DataView(this.planes.buffer, this.planes.byteOffset, this.planes.byteLength);
    let u = 0;
    for (let p = 0; p < this.bits; p++) {
      const word = dv.getUint32(4 * ((((n >> 4) * L.KC + (qi >> 3)) * this.bits + p) * 16 + (n & 15)), true);
      u |= ((word >>> bit) & 1) << p;
    }
    return this.bits === 1 ? 2 * u - 1 : u - 2 ** (this.bits - 1);
  }

  /** W as float32 [N, K]: q * s, each product rounded once to float32 (so exactly the kernels' weights). */
  dequantize(): Tensor<'float32'> {
    const { N, K, bits, groupSize: gs } = this;
    const L = lowBitLayout(N, K, bits, gs);
    const out = new Float32Array(N * K);
    const words = new Uint32Array(this.planes.buffer, this.planes.byteOffset, this.planes.byteLength / 4);
    const off = bits === 1 ? 0 : 2 ** (bits - 1);
    for (let n = 0; n < N; n++) {
      const nb = n >> 4,
        r = n & 15;
      for (let k = 0; k < K; k++) {
        const g = Math.floor(k / gs),
          kk = k - g * gs,
          qi = g * L.Qg + (kk >> 2),
          bit = (kk & 3) + 4 * (qi & 7);
        let u = 0;
        const base = (nb * L.KC + (qi >> 3)) * bits * 16 + r;
        for (let p = 0; p < bits; p++) u |= ((words[base + p * 16] >>> bit) & 1) << p;
        const q = bits === 1 ? 2 * u - 1 : u - off;
        out[n * K + k] = q * this.scales[(nb * L.G + g) * 16 + r];
      }
    }
    return Tensor.from(out, [N, K]) as Tensor<'float32'>;
  }

  /** The versioned binary form (file comment); LowBitWeights.fromBuffer() reads it back. */
  toBuffer(): Uint8Array {
    const buf = new Uint8Array(HEADER + this.planes.length + this.scales.length * 4);
    const dv = new DataView(buf.buffer);
    [MAGIC, LOW_BIT_WEIGHTS_VERSION, this.N, this.K, this.bits, this.groupSize].forEach((v, i) => dv.setUint32(4 * i, v, true));
    buf.set(this.planes, HEADER);
    buf.set(new Uint8Array(this.scales.buffer, this.scales.byteOffset, this.scales.byteLength), HEADER + this.planes.length);
    return buf;
  }

  /** Reads toBuffer()'s format; a foreign, truncated or inconsistent buffer is an error saying which. */
  static fromBuffer(buffer: Uint8Array | ArrayBuffer): LowBitWeights {
    if (!(buffer instanceof Uint8Array) && !(buffer instanceof ArrayBuffer))
      throw invalidArg('buffer', 'a Uint8Array or ArrayBuffer', buffer);
    const buf = buffer instanceof Uint8Array ? buffer : new Uint8Array(buffer);
    if (buf.length < HEADER)
      throw invalidArg('buffer', `a LowBitWeights buffer of at least ${HEADER} bytes (the header)`, `${buf.length} bytes`, 'value', {
        described: true,
      });
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const u = (i: number) => dv.getUint32(4 * i, true);
    if (u(0) !== MAGIC) {
      const head = Array.from(buf.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
      throw invalidArg('buffer', "a LowBitWeights buffer (it starts with the bytes 'TKLB')", `bytes ${head}`, 'value', { described: true });
    }
    if (u(1) !== LOW_BIT_WEIGHTS_VERSION)
      throw invalidArg('buffer', `LowBitWeights format version ${LOW_BIT_WEIGHTS_VERSION}`, `version ${u(1)}`, 'value', {
        described: true,
      });
    const N = u(2),
      K = u(3),
      bits = u(4),
      gs = u(5);
    if (bits < 1 || bits > 4 || gs < 1 || N > 2 ** 31 || K > 2 ** 31)
      throw invalidArg('buffer', 'a consistent LowBitWeights header', `N=${N} K=${K} bits=${bits} groupSize=${gs}`, 'value', {
        described: true,
      });
    const L = lowBitLayout(N, K, bits, gs);
    const total = HEADER + L.planeBytes + L.scaleCount * 4;
    if (buf.length !== total) {
      const what = buf.length < total ? 'truncated' : 'with trailing bytes';
      throw invalidArg(
        'buffer',
        `${total} bytes for N=${N}, K=${K}, bits=${bits}, groupSize=${gs}`,
        `${buf.length} bytes (${what})`,
        'value',
        {
          described: true,
        },
      );
    }
    const planes = buf.slice(HEADER, HEADER + L.planeBytes); // own, aligned storage
    const scales = new Float32Array(buf.slice(HEADER + L.planeBytes, total).buffer);
    return LowBitWeights.create({ N, K, bits: bits as 1 | 2 | 3 | 4, groupSize: gs, planes, scales });
  }
}
