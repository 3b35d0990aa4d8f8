// int8Matmul: LLM.int8()-style W8A8. Weights quantized per output channel once (quantizeWeightsInt8),
// activations per token inside each call, exact int32 accumulation on gemm's int8 kernels, scales in
// the epilogue; feature columns of x holding an outlier (|x| >= threshold) go through float32 against
// the dequantized weight columns instead. The contract: native/ops/int8mm/int8mm.h, docs/int8mm.md.
import { NativeInt8MmParams, native } from '../binding';
import { invalidArg, withArticle } from '../errors';
import { Int8Weights } from '../quant/int8-weights';
import { Tensor, checkTensor, nativeOf } from '../tensor';
import { checkOptions, shapeStr } from '../validate';
import { callAsync, callSync, hostNative } from './common';
import { QUANT_MATMUL_KEYS, QuantMatmulOptions, prepareQuantIo, weightMatrix } from './quant-common';

export interface Int8MatmulOptions extends QuantMatmulOptions {
  /**
   * Outlier threshold (default 6, as LLM.int8()): every feature column k of x with |x[m, k]| >= threshold
   * for some row m of this call (NaN never counts) is computed in float32 against the dequantized
   * weight column, the rest in int8. A number > 0; `Infinity` turns the decomposition off.
   */
  threshold?: number;
}

export interface QuantizeWeightsInt8Options {}

function weightsJob(w: unknown, opts: unknown): { params?: Parameters<typeof native.ops.w4a4QuantizeRows>[0]; finish: () => Int8Weights } {
  const W = checkTensor(w, 'w');
  const extra = opts && typeof opts === 'object' && !Array.isArray(opts) ? Object.keys(opts)[0] : undefined;
  if (extra !== undefined)
    throw invalidArg('options', 'no keys (quantizeWeightsInt8 takes no options yet)', `key "${extra}"`, 'value', { described: true });
  checkOptions<QuantizeWeightsInt8Options>(opts, 'options', []);
  const { N, K, src } = weightMatrix(W);
  const q = new Int8Array(N * K),
    scales = new Float32Array(N);
  const params =
    N > 0 && K > 0
      ? {
          x: hostNative('float32', [N, K], src),
          q: hostNative('int8', [N, K], q),
          scales: hostNative('float32', [N], scales),
          bits: 8,
          rotateBlock: 0,
        }
      : undefined;
  return { params, finish: () => Int8Weights.create(N, K, q, scales) };
}

/**
 * Quantizes float32 weights W [N, K] to int8 per output channel (s = max|w_n| / 127, round half to even),
 * off the event loop, and packs them for the CPU kernels.
 */
export async function quantizeWeightsInt8(w: Tensor, opts?: QuantizeWeightsInt8Options): Promise<Int8Weights> {
  return callAsync(quantizeWeightsInt8, async () => {
    const job = weightsJob(w, opts);
    if (job.params) await native.ops.w4a4QuantizeRows(job.params, true);
    return job.finish();
  });
}

export function quantizeWeightsInt8Sync(w: Tensor, opts?: QuantizeWeightsInt8Options): Int8Weights {
  const job = weightsJob(w, opts);
  if (job.params) callSync(() => native.ops.w4a4QuantizeRows(job.params!, false));
  return job.finish();
}

/** Device copies of an Int8Weights' values and scales, uploaded once per device and kept while the weights live. */
const deviceWeights = new WeakMap<Int8Weights, Map<string, { values: Tensor; scales: Tensor }>>();

function weightsOn(w: Int8Weights, device: Tensor['device']): { values: Tensor; scales: Tensor } {
  let per = deviceWeights.get(w);
  if (!per) deviceWeights.set(w, (per = new Map()));
  let d = per.get(device);
  if (!d) {
    d = {
      values: Tensor.from(w.values, [w.N, w.K], { dtype: 'int8', device }),
      scales: Tensor.from(w.scales, [w.N], { dtype: 'float32', device }),
    };
    per.set(device, d);
  }
  return d;
}

function prepare(x: unknown, w: unknown, opts: unknown): { params: NativeInt8MmParams; out: Tensor } {
  if (!(w instanceof Int8Weights)) throw invalidArg('w', 'an Int8Weights (from quantizeWeightsInt8 or Int8Weights.fromBuffer)', w);
  const o = checkOptions<Int8MatmulOptions>(opts, 'options', [...QUANT_MATMUL_KEYS, 'threshold']);
  let threshold = 6;
  if (o.threshold !== undefined) {
    if (typeof o.threshold !== 'number') throw invalidArg('options.threshold', 'a number > 0 (Infinity: no outlier columns)', o.threshold);
    if (!(o.threshold > 0)) throw invalidArg('options.threshold', 'a number > 0 (Infinity: no outlier columns)', o.threshold, 'range');
    // float32 as the kernels compare; tiny positive values stay positive
    threshold = o.threshold === Infinity ? Infinity : Math.max(Math.fround(o.threshold), 1e-45);
  }
  // CUDA x (opt-in kernel, native/ops/int8mm/int8mm_cuda.cu): the weights' device copies.
  const io = prepareQuantIo(x, w.K, w.N, o, { dtypes: ['float32'], cudaOk: true });
  const dw = io.X.device !== 'cpu' ? weightsOn(w, io.X.device) : undefined;
  const pk = dw ? undefined : w.packing;
  const params: NativeInt8MmParams = {
    x: nativeOf(io.X, 'x'),
    w: dw ? nativeOf(dw.values, 'w') : hostNative('int8', [w.N, w.K], w.values),
    scales: dw ? nativeOf(dw.scales, 'w.scales') : hostNative('float32', [w.N], w.scales),
    packed: pk && hostNative('int8', [pk.data.length], pk.data),
    packedLayout: pk?.layout,
    threshold,
    ...io.epilogue,
  };
  return { params, out: io.out };
}

/** out = alpha * (x @ W^T in W8A8 with outlier columns in float32) + bias + beta * c; x float32 [M, K] or [B, M, K]. */
export async function int8Matmul(x: Tensor, w: Int8Weights, opts?: Int8MatmulOptions): Promise<Tensor> {
  return callAsync(int8Matmul, async () => {
    const { params, out } = prepare(x, w, opts);
    await native.ops.int8mm(params, true);
    return out;
  });
}

export function int8MatmulSync(x: Tensor, w: Int8Weights, opts?: Int8MatmulOptions): Tensor {
  const { params, out } = prepare(x, w, opts);
  callSync(() => native.ops.int8mm(params, false));
  return out;
}
