// bitMatmul(a, b, opts): the arbitrary-precision matmul of bit planes (APMM; docs/bitmm.md).
// a: BitPlanes [M, K], b: BitPlanes [N, K], each 1..8 bits in its own format; y = a . b^T exactly, as
//   sum_i sum_j wa_i wb_j D_ij over plane pairs, D_ij a popcount of AND (0/1 planes) or XOR (two
//   bipolar planes: K - 2 popcount(XOR), no sign correction).
// Integer form (neither operand scaled): int32 [M, N] = y (+ c with beta 1, wrapping like int8 gemm).
// Float form (either operand scaled, a missing scale being 1): float32 [M, N] =
//   alpha * (fround(sa[m] * sb[n]) * float(y)) + bias[n] + beta * c[m, n]  (the quantized matmuls' epilogue).
import { native } from '../binding';
import { invalidArg } from '../errors';
import { BitPlanes, bitFormatRange } from '../quant/bit-planes';
import { Tensor, nativeOf } from '../tensor';
import { checkOptions } from '../validate';
import { callAsync, callSync } from './common';
import { QUANT_MATMUL_KEYS, QuantMatmulOptions, quantOutput } from './quant-common';

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
  if (!floatForm) {
    if (o.bias !== undefined)
      throw invalidArg(
        'options.bias',
        'no bias for unscaled operands (the integer form: add it with c, or give the operands scales)',
        'a bias',
        'value',
        { described: true },
      );
    const alpha = o.alpha ?? 1,
      beta = o.beta ?? (o.c !== undefined ? 1 : 0);
    if (alpha !== 1) throw invalidArg('options.alpha', '1 for unscaled operands (exact int32 arithmetic)', alpha, 'value');
    if (beta !== 0 && beta !== 1) throw invalidArg('options.beta', '0 or 1 for unscaled operands (exact int32 arithmetic)', beta, 'value');
  }
  const { out, epilogue } = quantOutput(o, {
    outShape: [M, N],
    device: dev,
    dtype: dt,
    inputs: [
      [A.planes, 'a'],
      [B.planes, 'b'],
      [A.scales, 'a.scales'],
      [B.scales, 'b.scales'],
    ],
  });
  const params = {
    a: nativeOf(A.planes, 'a.planes'),
    b: nativeOf(B.planes, 'b.planes'),
    aFormat: FORMAT_CODE[A.format],
    bFormat: FORMAT_CODE[B.format],
    K,
    aScales: A.scales && nativeOf(A.scales, 'a.scales'),
    bScales: B.scales && nativeOf(B.scales, 'b.scales'),
    ...epilogue,
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
