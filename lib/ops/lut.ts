// lutMatmul(x, w): float32 / bfloat16 activations times 1-, 2-, 3- or 4-bit weights, computed by
// table lookup without dequantizing (T-MAC on CPUs; LUT Tensor Core's idea on CUDA SMs): per quad
// of 4 activations the 16 signed partial sums are tabulated once per token, and each weight bit
// plane indexes the table. quantizeWeights(w, { bits, groupSize }) makes the weights (once, offline).
// The contract is docs/lut.md's.
import { native } from '../binding';
import { invalidArg, withArticle } from '../errors';
import { LowBitWeights, lowBitLayout } from '../quant/low-bit-weights';
import { Tensor, checkTensor, nativeOf } from '../tensor';
import { checkOptions, shapeStr } from '../validate';
import { callAsync, callSync, hostNative } from './common';
import { QUANT_MATMUL_KEYS, QuantMatmulOptions, prepareQuantIo, weightMatrix } from './quant-common';

export interface QuantizeWeightsOptions {
  /** Bits per weight: 1 (sign x mean |v|), 2, 3 or 4. */
  bits: 1 | 2 | 3 | 4;
  /** Consecutive k per scale (default 128; 'channel': K). When it does not divide K the last group of each row is shorter. */
  groupSize?: number | 'channel';
}

export type LutMatmulOptions = QuantMatmulOptions;

function prepareWeights(w: unknown, opts: unknown) {
  const { W, N, K, src } = weightMatrix(w);
  if (opts === undefined || opts === null) throw invalidArg('options', 'an object { bits, groupSize? }', opts);
  const o = checkOptions<QuantizeWeightsOptions>(opts, 'options', ['bits', 'groupSize']);
  const bits = o.bits;
  if (bits !== 1 && bits !== 2 && bits !== 3 && bits !== 4) throw invalidArg('options.bits', '1, 2, 3 or 4', bits, 'value');
  const g0 = o.groupSize ?? 128;
  if (g0 !== 'channel' && (typeof g0 !== 'number' || !Number.isSafeInteger(g0) || g0 < 1))
    throw invalidArg('options.groupSize', "a positive integer or 'channel'", g0, typeof g0 === 'number' ? 'range' : 'type');
  const gs = g0 === 'channel' ? Math.max(K, 1) : g0;
  if (N > 2 ** 31 || K > 2 ** 31)
    throw invalidArg('w', 'at most 2^31 rows and columns', `shape ${shapeStr(W.shape)}`, 'value', { described: true });
  const L = lowBitLayout(N, K, bits, gs);
  const planes = new Uint8Array(L.planeBytes);
  const scales = new Float32Array(L.scaleCount);
  const params = {
    w: nativeOf(W, 'w'),
    planes: hostNative('int8', [L.planeBytes], new Int8Array(planes.buffer)),
    scales: hostNative('float32', [L.scaleCount], scales),
    bits,
    groupSize: gs,
  };
  return { params, finish: () => LowBitWeights.create({ N, K, bits, groupSize: gs, planes, scales }) };
}

/** Quantizes float32 weights [N, K] to `bits` per weight, symmetric per group (docs/lut.md), off the event loop. */
export async function quantizeWeights(w: Tensor, opts: QuantizeWeightsOptions): Promise<LowBitWeights> {
  return callAsync(quantizeWeights, async () => {
    const job = prepareWeights(w, opts);
    await native.ops.lutQuantize(job.params, true);
    return job.finish();
  });
}

/** Synchronous quantizeWeights. */
export function quantizeWeightsSync(w: Tensor, opts: QuantizeWeightsOptions): LowBitWeights {
  const job = prepareWeights(w, opts);
  callSync(() => native.ops.lutQuantize(job.params, false));
  return job.finish();
}

/** Device copies of a LowBitWeights' arrays, uploaded once per device and kept while the weights live. */
const deviceWeights = new WeakMap<LowBitWeights, Map<string, { planes: Tensor; scales: Tensor }>>();

function weightsOn(w: LowBitWeights, device: Tensor['device']) {
  let per = deviceWeights.get(w);
  if (!per) deviceWeights.set(w, (per = new Map()));
  let d = per.get(device);
  if (!d) {
    d = {
      planes: Tensor.from(new Int8Array(w.planes.buffer, w.planes.byteOffset, w.planes.length), [w.planes.length], {
        dtype: 'int8',
        device,
      }),
      scales: Tensor.from(w.scales, [w.scales.length], { device }),
    };
    per.set(device, d);
  }
  return d;
}

function prepare(x: unknown, w: unknown, opts: unknown) {
  if (!(w instanceof LowBitWeights)) throw invalidArg('w', 'a LowBitWeights (from quantizeWeights or LowBitWeights.fromBuffer)', w);
  const o = checkOptions<LutMatmulOptions>(opts, 'options', QUANT_MATMUL_KEYS);
  const io = prepareQuantIo(x, w.K, w.N, o, { dtypes: ['float32', 'bfloat16'], cudaOk: true });
  const dev = io.X.device;
  let planes, scales;
  if (dev === 'cpu') {
    planes = hostNative('int8', [w.planes.length], new Int8Array(w.planes.buffer, w.planes.byteOffset, w.planes.length));
    scales = hostNative('float32', [w.scales.length], w.scales);
  } else {
    const d = weightsOn(w, dev);
    planes = nativeOf(d.planes, 'w');
    scales = nativeOf(d.scales, 'w');
  }
  const params = { x: nativeOf(io.X, 'x'), planes, scales, N: w.N, bits: w.bits, groupSize: w.groupSize, ...io.epilogue };
  return { params, out: io.out };
}

/** x [M, K] or [B, M, K] (float32 / bfloat16) times w^T by table lookup, then the epilogue; float32, off the event loop. */
export async function lutMatmul(x: Tensor, w: LowBitWeights, opts?: LutMatmulOptions): Promise<Tensor> {
  return callAsync(lutMatmul, async () => {
    const p = prepare(x, w, opts);
    await native.ops.lutMatmul(p.params, true);
    return p.out;
  });
}

/** Synchronous lutMatmul (decode-size products are microseconds to a millisecond). */
export function lutMatmulSync(x: Tensor, w: LowBitWeights, opts?: LutMatmulOptions): Tensor {
  const p = prepare(x, w, opts);
  callSync(() => native.ops.lutMatmul(p.params, false));
  return p.out;
}
