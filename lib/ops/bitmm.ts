// bitMatmul(a, b, opts): the arbitrary-precision matmul of bit planes (APMM; docs/bitmm.md).
// a: BitPlanes [M, K], b: BitPlanes [N, K], each 1..8 bits in its own format; y = a . b^T exactly, as
//   sum_i sum_j wa_i wb_j D_ij over plane pairs, D_ij a popcount of AND (0/1 planes) or XOR (two
//   bipolar planes: K - 2 popcount(XOR), no sign correction).
// Integer form (neither operand scaled): int32 [M, N] = y (+ c with beta 1, wrapping like int8 gemm).
// Float form (either operand scaled, a missing scale being 1): float32 [M, N] =
//   alpha * (fround(sa[m] * sb[n]) * float(y)) + bias[n] + beta * c[m, n]  (the quantized matmuls' epilogue).
import { native } from '../binding';
import { invalidArg, withArticle } from '../errors';
import { BitPlanes, bitFormatRange } from '../quant/bit-planes';
import { Tensor, checkTensor, nativeOf } from '../tensor';
import { checkOptions, shapeStr } from '../validate';
import { callAsync, callSync, checkFloat32, overlaps, sameStorage } from './common';
import { QUANT_MATMUL_KEYS, QuantMatmulOptions } from './quant-common';

export interface BitMatmulOptions extends QuantMatmulOptions {
  /** Where to write: int32 [M, N] (integer form) or float32 [M, N] (float form). */
  out?: Tensor;
  /** Integer form: int32 [M, N] added with beta 1 (beta 0 ignores it). Float form: float32 [M, N], any beta. May be `out`. */
  c?: Tensor;
}

const FORMAT_CODE = { int: 0, uint: 1, bipolar: 2 } as const;

function checkPlanes(x: unknown, name: string): BitPlanes {
  if (!(x instanceof BitPlanes)) throw invalidArg(name, 'a BitPlanes (packBits() or quantizeBits())', x);
  return x;
}

function maxAbs(p: BitPlanes): number {
  const [lo, hi] = bitFormatRange(p.format, p.bits);
  return Math.max(-lo, hi);
}

function prepare(a: unknown, b: unknown, opts: unknown) {
  const A = checkPlanes(a, 'a');
  const B = checkPlanes(b, 'b');
  const o = checkOptions<BitMatmulOptions>(opts, 'options', QUANT_MATMUL_KEYS);
  const dev = A.device;
  if (B.device !== dev)
    throw invalidArg('b', `BitPlanes on ${dev} (the device of a)`, `BitPlanes on ${B.device}`, 'value', { described: true });
  if (A.K !== B.K) throw invalidArg('b', `BitPlanes with K = ${A.K} (the K of a)`, `K = ${B.K}`, 'value', { described: true });
  const M = A.rows,
    N = B.rows,
    K = A.K;
  const bound = K * maxAbs(A) * maxAbs(B);
  if (bound > 2147483647) {
    throw invalidArg(
      'b',
      `operands whose exact sums fit int32 (K * max|a| * max|b| <= 2^31 - 1; K <= ${Math.floor(2147483647 / (maxAbs(A) * maxAbs(B)))} at these formats)`,
      `K = ${K}, max|a| = ${maxAbs(A)}, max|b| = ${maxAbs(B)}`,
      'range',
      { described: true },
    );
  }
  const floatForm = A.scales !== undefined || B.scales !== undefined;
  const dt = floatForm ? 'float32' : 'int32';
  const where = dev === 'cpu' ? 'CPU' : dev;
  const shapeOk = (t: Tensor) => t.ndim === 2 && t.shape[0] === M && t.shape[1] === N && t.device === dev;
  const tensorOf = (t: unknown, n: string, dtype: string, ok: (t: Tensor) => boolean, what: string): Tensor | undefined => {
    if (t === undefined) return undefined;
    const T = checkTensor(t, n);
    if (T.dtype !== dtype || !ok(T))
      throw invalidArg(
        n,
        `${withArticle(dtype)} ${where} tensor of shape ${what}`,
        `${withArticle(T.dtype)} tensor of shape ${shapeStr(T.shape)}`,
        'value',
        {
          described: true,
        },
      );
    return T;
  };
  const c = tensorOf(o.c, 'options.c', dt, shapeOk, `[${M}, ${N}]`);
  const alpha = checkFloat32(o.alpha, 'options.alpha', 1);
  const beta = checkFloat32(o.beta, 'options.beta', c ? 1 : 0);
  if (!c && beta !== 0) throw invalidArg('options.beta', '0 when no c is given (beta scales c)', beta, 'value');
  let bias: Tensor | undefined;
  if (floatForm) {
    bias = tensorOf(o.bias, 'options.bias', 'float32', (t) => t.ndim === 1 && t.shape[0] === N && t.device === dev, `[${N}]`);
  } else {
    if (o.bias !== undefined)
      throw invalidArg(
        'options.bias',
        'no bias for unscaled operands (the integer form: add it with c, or give the operands scales)',
        'a bias',
        'value',
        {
          described: true,
        },
      );
    if (alpha !== 1) throw invalidArg('options.alpha', '1 for unscaled operands (exact int32 arithmetic)', alpha, 'value');
    if (beta !== 0 && beta !== 1) throw invalidArg('options.beta', '0 or 1 for unscaled operands (exact int32 arithmetic)', beta, 'value');
  }
  let out = tensorOf(o.out, 'options.out', dt, shapeOk, `[${M}, ${N}]`);
  if (out) {
    for (const [t, n] of [
      [A.planes, 'a'],
      [B.planes, 'b'],
      [A.scales, 'a.scales'],
      [B.scales, 'b.scales'],
      [bias, 'options.bias'],
      [c, 'options.c'],
    ] as const) {
      if (!t || (t === c && sameStorage(out, c))) continue;
      if (overlaps(out, t))
        throw invalidArg('options.out', `memory that does not overlap ${n}`, 'an overlapping tensor', 'value', { described: true });
    }
  } else {
    // The CPU kernels write every element (K = 0 included): no zero-filling on the event loop's thread.
    out = dev === 'cpu' ? Tensor.empty([M, N], dt, 'cpu') : Tensor.zeros([M, N], { dtype: dt, device: dev });
  }
  const params = {
    a: nativeOf(A.planes, 'a.planes'),
    b: nativeOf(B.planes, 'b.planes'),
    aFormat: FORMAT_CODE[A.format],
    bFormat: FORMAT_CODE[B.format],
    K,
    aScales: A.scales && nativeOf(A.scales, 'a.scales'),
    bScales: B.scales && nativeOf(B.scales, 'b.scales'),
    out: nativeOf(out, 'options.out'),
    bias: bias && nativeOf(bias, 'options.bias'),
    c: c && beta !== 0 ? nativeOf(c, 'options.c') : undefined,
    alpha,
    beta,
  };
  return { params, out };
}

/**
 * a . b^T of two bit-plane matrices, computed off the event loop: exact int32 [M, N] for unscaled
 * operands, float32 [M, N] through the quantized matmuls' epilogue when either carries scales.
 */
export async function bitMatmul(a: BitPlanes, b: BitPlanes, opts?: BitMatmulOptions): Promise<Tensor> {
  return callAsync(bitMatmul, async () => {
    const p = prepare(a, b, opts);
    await native.ops.bitmm(p.params, true);
    return p.out;
  });
}

/** Synchronous bitMatmul, for small products (it blocks the event loop while it runs). */
export function bitMatmulSync(a: BitPlanes, b: BitPlanes, opts?: BitMatmulOptions): Tensor {
  const p = prepare(a, b, opts);
  callSync(() => native.ops.bitmm(p.params, false));
  return p.out;
}
