// What every quantized matmul (w4a4Matmul / w4a8Matmul / int4Matmul, int8Matmul, lutMatmul,
// bitMatmul) takes the way gemm does: x rank 2 [M, K] or rank 3 [B, M, K], and the epilogue
// out = alpha * y + bias + beta * c (native/ops/quant_common/matmul_epilogue.h), with `out` reused.
import { NativeEpilogueParams, NativeTensor } from '../binding';
import { invalidArg, withArticle } from '../errors';
import { Tensor, checkTensor, nativeOf } from '../tensor';
import { shapeStr } from '../validate';
import { checkFloat32, overlaps, sameStorage } from './common';

/** The options every quantized matmul shares with gemm. */
export interface QuantMatmulOptions {
  /** Added to every row: float32 [N]. */
  bias?: Tensor;
  /** Added as beta * c: float32 of out's shape ([M, N] or [B, M, N]); may be `out` itself (in place). */
  c?: Tensor;
  /** Scales c (default 1 when c is given; must be 0 without c). c is not read when beta = 0. */
  beta?: number;
  /** Scales the product (default 1). */
  alpha?: number;
  /** Where to write: float32 [M, N] ([B, M, N] for rank-3 x). */
  out?: Tensor;
}

export const QUANT_MATMUL_KEYS = ['bias', 'c', 'beta', 'alpha', 'out'] as const;

/** The native side of the shared options. */
export type EpilogueParams = NativeEpilogueParams;

export interface QuantIo {
  /** x as the kernels see it: a rank-2 [rows, K] view (rank-3 x flattened; no copy). */
  X: Tensor;
  rows: number;
  K: number;
  /** The result, of the caller's shape ([M, N] or [B, M, N]). */
  out: Tensor;
  epilogue: EpilogueParams;
}

/** The sizes that divide K (and are even when `even`), for the group-size error. */
export function groupSizesFor(K: number, even: boolean): number[] {
  const r: number[] = [];
  for (let d = 1; d * d <= K; d++) {
    if (K % d !== 0) continue;
    r.push(d);
    if (d * d !== K) r.push(K / d);
  }
  return r.filter((g) => g > 1 && (!even || g % 2 === 0)).sort((a, b) => a - b);
}

/**
 * A group size that fits K (dividing it, even when `even`), or an error listing the sizes that do
 * (K = 172 takes 2, 4, 86, 172).
 */
export function checkGroupSize(gs: unknown, K: number, name: string, even: boolean): number {
  if (typeof gs !== 'number' || !Number.isInteger(gs))
    throw invalidArg(name, even ? 'an even integer dividing K' : 'an integer dividing K', gs, typeof gs === 'number' ? 'value' : 'type');
  if (gs >= 2 && K % gs === 0 && (!even || gs % 2 === 0)) return gs;
  const ok = groupSizesFor(K, even);
  const list = ok.length ? ok.join(', ') : 'none';
  throw invalidArg(name, `a group size that fits K = ${K} (${list}${ok.length ? " or 'channel'" : ''})`, gs, 'value');
}

/**
 * Checks x (rank 2 or 3, `dtypes`, CPU or the weights' device) against K and the shared options
 * against the output [.., N], and makes `out` when not given.
 */
export function prepareQuantIo(
  x: unknown,
  K: number,
  N: number,
  o: QuantMatmulOptions,
  opts: { dtypes: readonly string[]; cudaOk: boolean; xName?: string },
): QuantIo {
  const name = opts.xName ?? 'x';
  const X0 = checkTensor(x, name);
  if (X0.ndim !== 2 && X0.ndim !== 3)
    throw invalidArg(name, 'a rank-2 [M, K] or rank-3 [B, M, K] tensor', `shape ${shapeStr(X0.shape)}`, 'value', { described: true });
  if (!opts.dtypes.includes(X0.dtype)) {
    const want = opts.dtypes.map((d) => withArticle(d)).join(' or ');
    throw invalidArg(name, `${want} tensor`, `${withArticle(X0.dtype)} tensor`, 'type', { described: true });
  }
  if (X0.device !== 'cpu' && !opts.cudaOk)
    throw invalidArg(name, 'a CPU tensor (this op runs on the CPU)', `a tensor on ${X0.device}`, 'value', { described: true });
  if (X0.shape[X0.ndim - 1] !== K) {
    const want = X0.ndim === 3 ? `[B, M, ${K}]` : `[M, ${K}]`;
    throw invalidArg(name, `${want} (K of the weights)`, `shape ${shapeStr(X0.shape)}`, 'value', { described: true });
  }
  const outShape = X0.ndim === 3 ? [X0.shape[0], X0.shape[1], N] : [X0.shape[0], N];
  const rows = X0.ndim === 3 ? X0.shape[0] * X0.shape[1] : X0.shape[0];
  const X = X0.ndim === 3 ? X0.reshape([rows, K]) : X0;
  const { out, epilogue } = quantOutput(o, { outShape, device: X0.device, dtype: 'float32', inputs: [[X0, name]] });
  return { X, rows, K, out, epilogue };
}

/**
 * The shared options against a result of `outShape` ([M, N] or [B, M, N]) and `dtype` on `device`:
 * bias float32 [N], c of the result's shape and dtype (may be out itself), alpha, beta (0 without c),
 * out (made when not given; it may not overlap `inputs`, bias, or c unless c is out).
 */
export function quantOutput(
  o: QuantMatmulOptions,
  spec: { outShape: number[]; device: Tensor['device']; dtype: 'float32' | 'int32'; inputs: [Tensor | undefined, string][] },
): { out: Tensor; epilogue: EpilogueParams } {
  const { outShape, device: dev, dtype } = spec;
  const N = outShape[outShape.length - 1];
  const where = dev === 'cpu' ? 'CPU' : dev;
  const shapeOk = (t: Tensor) => t.ndim === outShape.length && t.shape.every((d, i) => d === outShape[i]);
  const tensorOf = (t: unknown, n: string, dt: string, ok: (t: Tensor) => boolean, what: string): Tensor | undefined => {
    if (t === undefined) return undefined;
    const T = checkTensor(t, n);
    if (!ok(T) || T.dtype !== dt || T.device !== dev)
      throw invalidArg(
        n,
        `${withArticle(dt)} ${where} tensor of shape ${what}`,
        `${withArticle(T.dtype)} tensor of shape ${shapeStr(T.shape)}`,
        'value',
        {
          described: true,
        },
      );
    return T;
  };
  const bias = tensorOf(o.bias, 'options.bias', 'float32', (t) => t.ndim === 1 && t.shape[0] === N, `[${N}]`);
  const c = tensorOf(o.c, 'options.c', dtype, shapeOk, shapeStr(outShape));
  const alpha = checkFloat32(o.alpha, 'options.alpha', 1);
  const beta = checkFloat32(o.beta, 'options.beta', c ? 1 : 0);
  if (!c && beta !== 0) throw invalidArg('options.beta', '0 when no c is given (beta scales c)', beta, 'value');
  let out = tensorOf(o.out, 'options.out', dtype, shapeOk, shapeStr(outShape));
  if (out) {
    for (const [t, n] of [...spec.inputs, [bias, 'options.bias'] as const, [c, 'options.c'] as const]) {
      if (!t || (t === c && sameStorage(out, c))) continue;
      if (overlaps(out, t))
        throw invalidArg('options.out', `memory that does not overlap ${n}`, 'an overlapping tensor', 'value', { described: true });
    }
  } else {
    // The CPU kernels write every element (K = 0 included): no zero-filling on the event loop's thread.
    out = dev === 'cpu' ? Tensor.empty(outShape, dtype, 'cpu') : Tensor.zeros(outShape, { dtype, device: dev });
  }
  // Rank-3 out and c are handed over as their [rows, N] rows (same bytes, no view object).
  const flat = (t: Tensor, n: string): NativeTensor => {
    const d = nativeOf(t, n);
    return t.ndim === 3 ? { ...d, shape: [t.shape[0] * t.shape[1], N] } : d;
  };
  return {
    out,
    epilogue: {
      out: flat(out, 'options.out'),
      bias: bias && nativeOf(bias, 'options.bias'),
      c: c && beta !== 0 ? flat(c, 'options.c') : undefined,
      alpha,
      beta,
    },
  };
}

/**
 * The float32 weights W [N, K] a quantizer takes (a CPU tensor: quantizing runs on the CPU), with
 * their elements; a non-finite weight is an error naming its row and column.
 */
export function weightMatrix(w: unknown): { W: Tensor; N: number; K: number; src: Float32Array } {
  const W = checkTensor(w, 'w');
  if (W.ndim !== 2)
    throw invalidArg('w', 'a rank-2 tensor [N, K] (N = out features)', `shape ${shapeStr(W.shape)}`, 'value', { described: true });
  if (W.dtype !== 'float32') throw invalidArg('w', 'a float32 tensor', `${withArticle(W.dtype)} tensor`, 'type', { described: true });
  if (W.device !== 'cpu')
    throw invalidArg('w', 'a CPU tensor (quantization runs on the CPU)', `a tensor on ${W.device}`, 'value', { described: true });
  const [N, K] = W.shape;
  const src = W.toArraySync() as Float32Array;
  for (let i = 0; i < src.length; i++) {
    if (!Number.isFinite(src[i]))
      throw invalidArg(
        'w',
        'finite weights (quantization needs finite values)',
        `${src[i]} at row ${Math.floor(i / K)}, column ${i % K}`,
        'value',
        {
          described: true,
        },
      );
  }
  return { W, N, K, src };
}
