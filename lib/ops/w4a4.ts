// W4A4: 4-bit weights x per-token-quantized activations, exact integer accumulation, scales in the
// epilogue (the contract is in native/ops/w4a4/w4a4.h and README). Also W4A8 (8-bit activations),
// outlier channels at int8, the weight-only form (float activations x int4 weights), and the
// offline side: quantizeWeightsInt4 (done once; the result saves and loads) and
// quantizeActivationsInt4.
import { NativeTensor, NativeW4A4Params, native } from '../binding';
import { invalidArg, withArticle } from '../errors';
import { rotationBlock } from '../quant/hadamard';
import { Int4Weights } from '../quant/int4-weights';
import { Tensor, checkTensor, nativeOf } from '../tensor';
import { checkOptions, shapeStr } from '../validate';
import { callAsync, callSync, hostNative } from './common';
import { QUANT_MATMUL_KEYS, QuantMatmulOptions, checkGroupSize, prepareQuantIo, weightMatrix } from './quant-common';

export interface QuantizeWeightsInt4Options {
  /** Channels of K per scale: a positive even number dividing K, or 'channel' (one scale per row; default). */
  groupSize?: number | 'channel';
  /** Block-diagonal Hadamard rotation of K (lib/quant/hadamard.ts); w4a4Matmul then rotates x alike. */
  rotate?: 'hadamard';
  /** Channels of K kept at int8 in weights and activations (the COMET / LLM.int8() idea). */
  outlierChannels?: ArrayLike<number>;
  /** Calibration activations [rows, K]: with outlierCount, picks the channels of largest max |x|. */
  calibration?: Tensor;
  outlierCount?: number;
}

/** The shared options (bias, c, beta, alpha, out: lib/ops/quant-common.ts) and the outlier check. */
export interface W4A4MatmulOptions extends QuantMatmulOptions {
  /** Must equal the weights' outlier channels when given (they were fixed at quantize time). */
  outlierChannels?: ArrayLike<number>;
}

export interface QuantizedActivations {
  /** q [M, K] as int8 values (in [-8, 7] for 4 bits). */
  values: Int8Array;
  /** The same values packed two per byte (docs/design.md, Data conventions), for 4 bits; undefined for 8. */
  packed: Uint8Array | undefined;
  /** s [M]: x ≈ s * q per row. */
  scales: Float32Array;
  M: number;
  K: number;
  bits: 4 | 8;
  /** The Hadamard block applied before quantizing (rotateLike), 0 for none. */
  rotationBlock: number;
}

const abs = Math.abs,
  fround = Math.fround,
  round = Math.round,
  floor = Math.floor;

/** round half to even, for the contract's quantizer. */
function roundEven(t: number): number {
  const r = round(t);
  return r - t === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function checkX(x: unknown, name: string, cudaOk = false): Tensor {
  const X = checkTensor(x, name);
  if (X.ndim !== 2) throw invalidArg(name, 'a rank-2 tensor [rows, K]', `shape ${shapeStr(X.shape)}`, 'value', { described: true });
  if (X.dtype !== 'float32') throw invalidArg(name, 'a float32 tensor', `${withArticle(X.dtype)} tensor`, 'type', { described: true });
  if (X.device !== 'cpu' && !cudaOk)
    throw invalidArg(name, 'a CPU tensor (quantization here runs on the CPU)', `a tensor on ${X.device}`, 'value', { described: true });
  return X;
}

/** Device copies of an Int4Weights' arrays, uploaded once per device and kept while the weights live. */
interface DeviceWeights {
  packed: Tensor;
  scales: Tensor;
  zeroPoints?: Tensor;
  outlierChannels?: Tensor;
  outlierWeights?: Tensor;
  outlierScales?: Tensor;
}
const deviceWeights = new WeakMap<Int4Weights, Map<string, DeviceWeights>>();

function weightsOn(w: Int4Weights, device: Tensor['device']): DeviceWeights {
  let per = deviceWeights.get(w);
  if (!per) deviceWeights.set(w, (per = new Map()));
  let d = per.get(device);
  if (!d) {
    const { N, K } = w,
      G = w.groups,
      nO = w.outlierChannels?.length ?? 0;
    const up = (a: Uint8Array | Int8Array | Int32Array | Float32Array, shape: number[], dtype: 'int4' | 'int8' | 'int32' | 'float32') =>
      Tensor.from(a, shape, { dtype, device });
    d = {
      packed: up(w.packed, [N, K], 'int4'),
      scales: up(w.scales, [N, G], 'float32'),
      zeroPoints: w.zeroPoints && up(w.zeroPoints, [N, G], 'int8'),
      outlierChannels: nO ? up(w.outlierChannels!, [nO], 'int32') : undefined,
      outlierWeights: nO ? up(w.outlierWeights!, [N, nO], 'int8') : undefined,
      outlierScales: nO ? up(w.outlierScales!, [N], 'float32') : undefined,
    };
    per.set(device, d);
  }
  return d;
}

/** Channels of largest max |x| over the calibration rows, increasing. */
export function selectOutlierChannels(calibration: Tensor, count: number): Int32Array {
  const X = checkX(calibration, 'calibration');
  const [R, K] = X.shape;
  if (!Number.isSafeInteger(count) || count < 0 || count > K) throw invalidArg('outlierCount', `an integer in [0, ${K}]`, count, 'range');
  const d = X.toArraySync() as Float32Array;
  const mx = new Float64Array(K);
  for (let r = 0; r < R; r++)
    for (let k = 0; k < K; k++) {
      const a = abs(d[r * K + k]);
      if (a > mx[k]) mx[k] = a;
    }
  const order = Array.from({ length: K }, (_, k) => k).sort((a, b) => mx[b] - mx[a] || a - b);
  return Int32Array.from(order.slice(0, count).sort((a, b) => a - b));
}

interface WeightJob {
  /** The native quantization call's params (none when the matrix is empty). */
  params?: { x: NativeTensor; q: NativeTensor; scales: NativeTensor; bits: number; rotateBlock: number };
  finish: () => Int4Weights;
}

function prepareWeights(w: unknown, opts: unknown): WeightJob {
  const W = checkTensor(w, 'w');
  const o = checkOptions<QuantizeWeightsInt4Options>(opts, 'options', [
    'groupSize',
    'rotate',
    'outlierChannels',
    'calibration',
    'outlierCount',
  ]);
  const { N, K, src } = weightMatrix(W);
  if (K % 2 !== 0)
    throw invalidArg('w', 'an even K (int4 packs two values of K per byte)', `shape ${shapeStr(W.shape)}`, 'value', { described: true });
  const gsOpt = o.groupSize ?? 'channel';
  if (gsOpt !== 'channel' && typeof gsOpt !== 'number') throw invalidArg('options.groupSize', "a number or 'channel'", gsOpt);
  if (typeof gsOpt === 'number' && gsOpt !== K) checkGroupSize(gsOpt, K, 'options.groupSize', true);
  const perChannel = gsOpt === 'channel' || gsOpt === K;
  const gs = perChannel ? K : (gsOpt as number);
  if (o.rotate !== undefined && o.rotate !== 'hadamard') throw invalidArg('options.rotate', "'hadamard' or undefined", o.rotate, 'value');
  let outl: Int32Array | undefined;
  if (o.outlierChannels !== undefined) {
    if (o.calibration !== undefined || o.outlierCount !== undefined)
      throw invalidArg('options', 'outlierChannels or calibration + outlierCount, not both', 'both', 'value', { described: true });
    const oc = o.outlierChannels;
    if (typeof oc !== 'object' || oc === null || typeof (oc as ArrayLike<number>).length !== 'number')
      throw invalidArg('options.outlierChannels', 'an array of channel indices', oc);
    outl = Int32Array.from(Array.from(oc).sort((a, b) => a - b));
    Array.from(oc).forEach((c, j) => {
      if (!Number.isInteger(c) || c < 0 || c >= K) throw invalidArg(`options.outlierChannels[${j}]`, `an integer in [0, ${K})`, c, 'range');
    });
    if (outl.some((c, j) => j > 0 && c === outl![j - 1])) throw invalidArg('options.outlierChannels', 'distinct channels', Array.from(oc));
  } else if (o.calibration !== undefined || o.outlierCount !== undefined) {
    if (o.calibration === undefined || o.outlierCount === undefined)
      throw invalidArg('options', 'calibration and outlierCount together', 'only one of them', 'value', { described: true });
    const cal = checkX(o.calibration, 'options.calibration');
    if (cal.shape[1] !== K)
      throw invalidArg('options.calibration', `[rows, ${K}] (K of w)`, `shape ${shapeStr(cal.shape)}`, 'value', { described: true });
    outl = selectOutlierChannels(cal, o.outlierCount);
  }
  const nO = outl?.length ?? 0;
  const G = K > 0 ? K / gs : 0;
  const rb = o.rotate ? rotationBlock(gs) : 0;
  const ow = new Int8Array(N * nO),
    os = new Float32Array(nO ? N : 0);
  let rows = src;
  if (nO) {
    // Outlier channels: int8 per weight row over those channels, then zeroed in the 4-bit part.
    rows = Float32Array.from(src);
    for (let n = 0; n < N; n++) {
      let mo = 0;
      for (let j = 0; j < nO; j++) mo = Math.max(mo, abs(rows[n * K + outl![j]]));
      const so = fround(mo / 127);
      os[n] = so;
      for (let j = 0; j < nO; j++) {
        ow[n * nO + j] = so === 0 ? 0 : Math.max(-128, Math.min(127, roundEven(fround(rows[n * K + outl![j]] / so))));
        rows[n * K + outl![j]] = 0;
      }
    }
  }
  // The 4-bit part: each group is a row of the contract quantizer (native, the same code that
  // quantizes activations; the rotation block divides the group, so rotating each group alone is
  // the block-diagonal rotation of the whole row).
  const q = new Int8Array(N * K);
  const scales = new Float32Array(N * G);
  const params: WeightJob['params'] =
    N > 0 && K > 0
      ? {
          x: hostNative('float32', [N * G, gs], rows),
          q: hostNative('int8', [N * G, gs], q),
          scales: hostNative('float32', [N * G], scales),
          bits: 4,
          rotateBlock: rb,
        }
      : undefined;
  const finish = () => {
    const packed = new Uint8Array((N * K) / 2);
    for (let i = 0; i < packed.length; i++) packed[i] = (q[2 * i] & 15) | ((q[2 * i + 1] & 15) << 4);
    return Int4Weights.create({
      N,
      K,
      groupSize: gs,
      perChannel,
      rotate: o.rotate,
      packed,
      scales,
      outlierChannels: outl,
      outlierWeights: nO ? ow : undefined,
      outlierScales: nO ? os : undefined,
    });
  };
  return { params, finish };
}

/** Quantizes float32 weights W[N, K] to 4 bits (once, offline). See QuantizeWeightsInt4Options. */
export async function quantizeWeightsInt4(w: Tensor, opts?: QuantizeWeightsInt4Options): Promise<Int4Weights> {
  return callAsync(quantizeWeightsInt4, async () => {
    const job = prepareWeights(w, opts);
    if (job.params) await native.ops.w4a4QuantizeRows(job.params, true);
    return job.finish();
  });
}

export function quantizeWeightsInt4Sync(w: Tensor, opts?: QuantizeWeightsInt4Options): Int4Weights {
  const job = prepareWeights(w, opts);
  if (job.params) callSync(() => native.ops.w4a4QuantizeRows(job.params!, false));
  return job.finish();
}

function isQuantized(x: unknown): x is QuantizedActivations {
  return typeof x === 'object' && x !== null && !(x instanceof Tensor) && (x as QuantizedActivations).values instanceof Int8Array;
}

/**
 * Activations from quantizeActivationsInt4, checked against these weights and the op: the q values as
 * an int8 tensor plus the row scales (the native side lays them out without rounding again).
 */
function quantizedInput(x: QuantizedActivations, w: Int4Weights, bits: 0 | 4 | 8, fn: string): { X: Tensor; scales: NativeTensor } {
  const { values, scales, M, K } = x;
  if (bits === 0)
    throw invalidArg('x', 'a float32 tensor for int4Matmul (weight-only)', 'quantized activations', 'type', { described: true });
  if (x.bits !== bits)
    throw invalidArg(
      'x',
      `${bits}-bit activations for ${fn} (quantizeActivationsInt4(x, { bits: ${bits} }))`,
      `${x.bits}-bit activations`,
      'value',
      { described: true },
    );
  if (
    !Number.isSafeInteger(M) ||
    !Number.isSafeInteger(K) ||
    M < 0 ||
    K < 0 ||
    values.length !== M * K ||
    !(scales instanceof Float32Array) ||
    scales.length !== M
  ) {
    throw invalidArg(
      'x',
      'quantized activations with values of length M * K and scales of length M',
      `M = ${M}, K = ${K}, ${values.length} values, ${scales?.length} scales`,
      'value',
      { described: true },
    );
  }
  if (x.rotationBlock !== w.rotationBlock) {
    throw invalidArg(
      'x',
      w.rotationBlock
        ? 'activations rotated like the weights (quantizeActivationsInt4(x, { rotateLike: w }))'
        : 'unrotated activations (these weights are not rotated)',
      x.rotationBlock ? `activations rotated with blocks of ${x.rotationBlock}` : 'unrotated activations',
      'value',
      { described: true },
    );
  }
  if (w.outlierChannels)
    throw invalidArg(
      'w',
      `weights without outlier channels for quantized activations (outliers need the float activations)`,
      'weights with outlier channels',
      'value',
      { described: true },
    );
  return { X: Tensor.from(values, [M, K], { dtype: 'int8' }), scales: hostNative('float32', [M], scales) };
}

function prepare(x: unknown, w: unknown, opts: unknown, bits: 0 | 4 | 8, fn: string): { params: NativeW4A4Params; out: Tensor } {
  if (!(w instanceof Int4Weights))
    throw invalidArg('w', 'an Int4Weights (from quantizeWeightsInt4, Int4Weights.fromBuffer or .fromMatMulNBits)', w);
  let xIn: unknown = x,
    xScales: NativeTensor | undefined;
  if (isQuantized(x)) ({ X: xIn, scales: xScales } = quantizedInput(x, w, bits, fn));
  const o = checkOptions<W4A4MatmulOptions>(
    opts,
    'options',
    bits === 0 ? [...QUANT_MATMUL_KEYS] : [...QUANT_MATMUL_KEYS, 'outlierChannels'],
  );
  const io = prepareQuantIo(xIn, w.K, w.N, o, { dtypes: xScales ? ['int8'] : ['float32'], cudaOk: true });
  const { X, K } = io;
  const dev = X.device;
  if (bits !== 0 && w.zeroPoints) {
    throw invalidArg(
      'w',
      `symmetric weights for ${fn} (these have zero points from MatMulNBits: use int4Matmul)`,
      'weights with zero points',
      'value',
      { described: true },
    );
  }
  if (bits === 0 && w.outlierChannels)
    throw invalidArg('w', 'weights without outlier channels for int4Matmul', 'weights with outlier channels', 'value', { described: true });
  if (o.outlierChannels !== undefined) {
    const want = Array.from(w.outlierChannels ?? []);
    const got = Array.from(o.outlierChannels).sort((a, b) => a - b);
    if (want.length !== got.length || want.some((c, i) => c !== got[i])) {
      throw invalidArg(
        'options.outlierChannels',
        `the weights' outlier channels [${want.join(', ')}] (fixed by quantizeWeightsInt4)`,
        Array.from(o.outlierChannels),
      );
    }
  }
  const N = w.N;
  const G = w.groups;
  const nO = w.outlierChannels?.length ?? 0;
  // CUDA activations: the weights' device copies (uploaded on first use, kept while w lives).
  const dw = dev !== 'cpu' ? weightsOn(w, dev) : undefined;
  // The weights' arrays: their device copies, or descriptors of the host arrays.
  type WeightArrays = Pick<NativeW4A4Params, 'w' | 'scales' | 'zeroPoints' | 'outlierChannels' | 'outlierWeights' | 'outlierScales'>;
  const wa: WeightArrays = dw
    ? {
        w: nativeOf(dw.packed, 'w'),
        scales: nativeOf(dw.scales, 'w.scales'),
        zeroPoints: dw.zeroPoints && nativeOf(dw.zeroPoints, 'w.zeroPoints'),
        outlierChannels: dw.outlierChannels && nativeOf(dw.outlierChannels, 'w.outlierChannels'),
        outlierWeights: dw.outlierWeights && nativeOf(dw.outlierWeights, 'w.outlierWeights'),
        outlierScales: dw.outlierScales && nativeOf(dw.outlierScales, 'w.outlierScales'),
      }
    : {
        w: hostNative('int4', [N, K], w.packed),
        scales: hostNative('float32', [N, G], w.scales),
        zeroPoints: w.zeroPoints ? hostNative('int8', [N, G], w.zeroPoints) : undefined,
        outlierChannels: nO ? hostNative('int32', [nO], w.outlierChannels!) : undefined,
        outlierWeights: nO ? hostNative('int8', [N, nO], w.outlierWeights!) : undefined,
        outlierScales: nO ? hostNative('float32', [N], w.outlierScales!) : undefined,
      };
  const params: NativeW4A4Params = {
    x: nativeOf(X, 'x'),
    ...wa,
    ...io.epilogue,
    groupSize: K > 0 ? w.groupSize : 0,
    rotateBlock: w.rotationBlock,
    actBits: bits,
    xScales,
  };
  return { params, out: io.out };
}

/**
 * Y = X W^T with X quantized per token to 4 bits on the fly (and rotated when w is): float32 [M, N].
 * X may also be quantizeActivationsInt4's output (bits 4, rotateLike: w when w is rotated): then it is
 * used as it is, bit for bit.
 */
export async function w4a4Matmul(x: Tensor | QuantizedActivations, w: Int4Weights, opts?: W4A4MatmulOptions): Promise<Tensor> {
  return callAsync(w4a4Matmul, async () => {
    const p = prepare(x, w, opts, 4, 'w4a4Matmul');
    await native.ops.w4a4(p.params, true);
    return p.out;
  });
}

export function w4a4MatmulSync(x: Tensor | QuantizedActivations, w: Int4Weights, opts?: W4A4MatmulOptions): Tensor {
  const p = prepare(x, w, opts, 4, 'w4a4MatmulSync');
  callSync(() => native.ops.w4a4(p.params, false));
  return p.out;
}

/** W4A8: the same with 8-bit activations (s = max|x| / 127), for accuracy-sensitive layers. */
export async function w4a8Matmul(x: Tensor | QuantizedActivations, w: Int4Weights, opts?: W4A4MatmulOptions): Promise<Tensor> {
  return callAsync(w4a8Matmul, async () => {
    const p = prepare(x, w, opts, 8, 'w4a8Matmul');
    await native.ops.w4a4(p.params, true);
    return p.out;
  });
}

export function w4a8MatmulSync(x: Tensor | QuantizedActivations, w: Int4Weights, opts?: W4A4MatmulOptions): Tensor {
  const p = prepare(x, w, opts, 8, 'w4a8MatmulSync');
  callSync(() => native.ops.w4a4(p.params, false));
  return p.out;
}

/** Weight-only: float32 X times the dequantized int4 weights ((q - z) * s), float32 accumulation. */
export async function int4Matmul(x: Tensor, w: Int4Weights, opts?: Omit<W4A4MatmulOptions, 'outlierChannels'>): Promise<Tensor> {
  return callAsync(int4Matmul, async () => {
    const p = prepare(x, w, opts, 0, 'int4Matmul');
    await native.ops.w4a4(p.params, true);
    return p.out;
  });
}

export function int4MatmulSync(x: Tensor, w: Int4Weights, opts?: Omit<W4A4MatmulOptions, 'outlierChannels'>): Tensor {
  const p = prepare(x, w, opts, 0, 'int4MatmulSync');
  callSync(() => native.ops.w4a4(p.params, false));
  return p.out;
}

/**
 * Per-token quantization of activations alone (the contract of w4a4Matmul's fused quantize), for
 * callers that keep activations quantized between layers. `rotateLike` applies the rotation of
 * those weights first.
 */
export function quantizeActivationsInt4(x: Tensor, opts?: { bits?: 4 | 8; rotateLike?: Int4Weights }): QuantizedActivations {
  const X = checkX(x, 'x');
  const o = checkOptions<{ bits?: 4 | 8; rotateLike?: Int4Weights }>(opts, 'options', ['bits', 'rotateLike']);
  const bits = o.bits ?? 4;
  if (bits !== 4 && bits !== 8) throw invalidArg('options.bits', '4 or 8', bits, 'value');
  const [M, K] = X.shape;
  let rb = 0;
  if (o.rotateLike !== undefined) {
    if (!(o.rotateLike instanceof Int4Weights)) throw invalidArg('options.rotateLike', 'an Int4Weights', o.rotateLike);
    if (o.rotateLike.K !== K)
      throw invalidArg('options.rotateLike', `weights with K = ${K}`, `K = ${o.rotateLike.K}`, 'value', { described: true });
    rb = o.rotateLike.rotationBlock;
  }
  const values = new Int8Array(M * K);
  const scales = new Float32Array(M);
  if (M > 0 && K > 0) {
    callSync(() =>
      native.ops.w4a4QuantizeRows(
        { x: nativeOf(X, 'x'), q: hostNative('int8', [M, K], values), scales: hostNative('float32', [M], scales), bits, rotateBlock: rb },
        false,
      ),
    );
  }
  let packed: Uint8Array | undefined;
  if (bits === 4) {
    packed = new Uint8Array(Math.ceil((M * K) / 2));
    for (let i = 0; i < M * K; i++) packed[i >> 1] |= (values[i] & 15) << ((i & 1) * 4);
  }
  return { values, packed, scales, M, K, bits, rotationBlock: rb };
}
