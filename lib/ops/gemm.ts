// gemm(a, b, opts): alpha * op(a) @ op(b) + beta * c (+ bias per column). Rank 2, or rank 3 = a
// strided batch in which a rank-2 operand is shared by every entry. float32 / float16 / bfloat16
// inputs accumulate in float32 and produce float32 unless `out` says otherwise; int8 x int8 gives
// exact int32.
// Where it runs: device tensors on their GPU (the result is a device tensor); host tensors on
// options.device when given, else on the default device (defaultDevice(): the first usable GPU, or
// the CPU; TENSORKERN_DEVICE overrides) -- on a GPU they are copied in and the result copied back
// into a host tensor.
import { NativeGemmParams, native } from '../binding';
import { Device, DeviceSpec, defaultDevice, deviceIndex, resolveDevice } from '../device';
import { DType } from '../dtype';
import { invalidArg, withArticle } from '../errors';
import { Tensor, checkTensor, nativeOf } from '../tensor';
import { checkOptions, shapeStr } from '../validate';
import { callAsync, callSync, checkBool, checkFloat32, checkNumber, nativeOptional, overlaps, sameStorage } from './common';
import { PackedWeights } from './packed-weights';

export interface GemmOptions {
  /** Use a transposed: a is stored [K, M]. */
  transA?: boolean;
  /** Use b transposed: b is stored [N, K] (the nn.Linear weight layout). */
  transB?: boolean;
  /** Scales op(a) @ op(b). Default 1. */
  alpha?: number;
  /** Scales c. Default 1 when c is given, else 0 (and then it must stay 0). */
  beta?: number;
  /** Added as beta * c: [M, N] or [batch, M, N]; may be the same tensor as out (in-place update). */
  c?: Tensor;
  /** Added to every row: [N]. */
  bias?: Tensor;
  /** Where to write the result: [M, N] or [batch, M, N]; float32, float16 or bfloat16 (int32 for int8). */
  out?: Tensor;
  /**
   * Where to run. Device tensors run on their GPU (any other device is an error). Host tensors run
   * here; default: defaultDevice() (a GPU when one is usable: copied in, result copied back).
   */
  device?: DeviceSpec;
  /** float32 inputs only: 'tf32' lets a GPU use TF32 tensor cores; the CPU always computes in fp32. */
  precision?: 'fp32' | 'tf32';
}

const KEYS = ['transA', 'transB', 'alpha', 'beta', 'c', 'bias', 'out', 'device', 'precision'] as const;
const FLOAT_IN: readonly DType[] = ['float32', 'float16', 'bfloat16'];

interface Prepared {
  params: NativeGemmParams;
  out: Tensor;
}

function dims2(t: Tensor, trans: boolean): [number, number] {
  const r = t.shape[t.ndim - 2],
    c = t.shape[t.ndim - 1];
  return trans ? [c, r] : [r, c];
}

function prepare(a: unknown, b: unknown, opts: unknown): Prepared {
  const A = checkTensor(a, 'a');
  const o = checkOptions<GemmOptions>(opts, 'options', KEYS);
  // Packed weights (packWeights): their source is b, with the transB they were packed for.
  const packed = b instanceof PackedWeights ? b : undefined;
  const packedData = packed?.packedData('b');
  if (packed && checkBool(o.transB, 'options.transB', packed.transB) !== packed.transB) {
    throw invalidArg('options.transB', `${packed.transB} or absent (how b was packed)`, String(o.transB), 'value', { described: true });
  }
  const B = packed ? packed.source : checkTensor(b, 'b');
  for (const [t, n] of [
    [A, 'a'],
    [B, 'b'],
  ] as const) {
    if (t.ndim !== 2 && t.ndim !== 3)
      throw invalidArg(n, 'a rank-2 or rank-3 tensor', `shape ${shapeStr(t.shape)}`, 'value', { described: true });
  }
  if (![...FLOAT_IN, 'int8'].includes(A.dtype)) {
    throw invalidArg('a', 'a float32, float16, bfloat16 or int8 tensor', `${withArticle(A.dtype)} tensor`, 'type', { described: true });
  }
  if (B.dtype !== A.dtype)
    throw invalidArg('b', `${withArticle(A.dtype)} tensor (the dtype of a)`, `${withArticle(B.dtype)} tensor`, 'type', { described: true });
  const int8 = A.dtype === 'int8';
  const transA = checkBool(o.transA, 'options.transA', false);
  const transB = packed ? packed.transB : checkBool(o.transB, 'options.transB', false);
  const [M, K] = dims2(A, transA);
  const [Kb, N] = dims2(B, transB);
  if (Kb !== K) {
    // b's other dim matches: the transB flag is most likely the mistake.
    const hint =
      N !== K
        ? ''
        : packed
          ? transB
            ? ' (b was packed from a [K, N] weight: pack it without transB)'
            : ' (b was packed from what looks like an [N, K] nn.Linear weight: pack it with transB: true)'
          : transB
            ? ' (b looks like a [K, N] weight: leave transB out)'
            : ' (b looks like an [N, K] nn.Linear weight: pass transB: true)';
    throw invalidArg('b', `op(b) with ${K} rows (op(a) is ${M}x${K})`, `op(b) of ${Kb}x${N}${transB ? ' (transB)' : ''}${hint}`, 'value', {
      described: true,
    });
  }
  const batched = A.ndim === 3 || B.ndim === 3;
  const batch = A.ndim === 3 ? A.shape[0] : B.ndim === 3 ? B.shape[0] : 1;
  if (A.ndim === 3 && B.ndim === 3 && A.shape[0] !== B.shape[0]) {
    throw invalidArg('b', `a batch of ${A.shape[0]} (the batch of a)`, `a batch of ${B.shape[0]}`, 'value', { described: true });
  }
  const outShape = batched ? [batch, M, N] : [M, N];

  for (const [t, n] of [
    [B, 'b'],
    [o.c, 'options.c'],
    [o.bias, 'options.bias'],
    [o.out, 'options.out'],
  ] as const) {
    if (t === undefined) continue;
    const T = checkTensor(t, n);
    if (T.device !== A.device)
      throw invalidArg(n, `a tensor on ${A.device} (the device of a)`, `a tensor on ${T.device}`, 'value', { described: true });
  }
  // Device tensors run where they are; host tensors on the requested or the default device.
  const device: Device =
    o.device !== undefined ? resolveDevice(o.device, 'options.device') : A.device !== 'cpu' ? A.device : defaultDevice();
  if (A.device !== 'cpu' && device !== A.device) {
    throw invalidArg('options.device', `${A.device} (where the inputs are; move them with tensor.to())`, `'${device}'`, 'value', {
      described: true,
    });
  }

  const precision = o.precision ?? 'fp32';
  if (precision !== 'fp32' && precision !== 'tf32')
    throw invalidArg('options.precision', `'fp32' or 'tf32'`, o.precision, typeof o.precision === 'string' ? 'value' : 'type');
  if (precision === 'tf32' && A.dtype !== 'float32')
    throw invalidArg('options.precision', `'fp32' for ${A.dtype} inputs (tf32 applies to float32)`, `'tf32'`, 'value', { described: true });

  const c = o.c === undefined ? undefined : (o.c as Tensor);
  const alpha = checkFloat32(o.alpha, 'options.alpha', 1);
  const beta = checkFloat32(o.beta, 'options.beta', c ? 1 : 0);
  if (!c && beta !== 0) throw invalidArg('options.beta', '0 when no c is given (beta scales c)', beta, 'value');
  if (int8 && alpha !== 1) throw invalidArg('options.alpha', '1 for int8 inputs (exact int32 arithmetic)', alpha, 'value');
  if (int8 && beta !== 0 && beta !== 1) throw invalidArg('options.beta', '0 or 1 for int8 inputs (exact int32 arithmetic)', beta, 'value');

  const accDtype: DType = int8 ? 'int32' : 'float32';
  const shapeOk = (t: Tensor) => t.ndim === outShape.length && t.shape.every((d, i) => d === outShape[i]);
  const shape2Ok = (t: Tensor) => batched && t.ndim === 2 && t.shape[0] === M && t.shape[1] === N && batch === 1;
  if (c) {
    if (!shapeOk(c) && !shape2Ok(c))
      throw invalidArg('options.c', `shape ${shapeStr(outShape)}`, `shape ${shapeStr(c.shape)}`, 'value', { described: true });
    if (int8 ? c.dtype !== 'int32' : !FLOAT_IN.includes(c.dtype)) {
      throw invalidArg(
        'options.c',
        int8 ? 'an int32 tensor' : 'a float32, float16 or bfloat16 tensor',
        `${withArticle(c.dtype)} tensor`,
        'type',
        { described: true },
      );
    }
  }
  const bias = o.bias === undefined ? undefined : (o.bias as Tensor);
  if (bias) {
    if (bias.ndim !== 1 || bias.shape[0] !== N)
      throw invalidArg('options.bias', `shape [${N}]`, `shape ${shapeStr(bias.shape)}`, 'value', { described: true });
    if (int8 ? bias.dtype !== 'int32' : !FLOAT_IN.includes(bias.dtype)) {
      throw invalidArg(
        'options.bias',
        int8 ? 'an int32 tensor' : 'a float32, float16 or bfloat16 tensor',
        `${withArticle(bias.dtype)} tensor`,
        'type',
        { described: true },
      );
    }
  }
  let out: Tensor;
  if (o.out !== undefined) {
    out = o.out as Tensor;
    if (!shapeOk(out))
      throw invalidArg('options.out', `shape ${shapeStr(outShape)}`, `shape ${shapeStr(out.shape)}`, 'value', { described: true });
    if (int8 ? out.dtype !== 'int32' : !FLOAT_IN.includes(out.dtype)) {
      throw invalidArg(
        'options.out',
        int8 ? 'an int32 tensor' : 'a float32, float16 or bfloat16 tensor',
        `${withArticle(out.dtype)} tensor`,
        'type',
        { described: true },
      );
    }
    for (const [t, n] of [
      [A, 'a'],
      [B, 'b'],
      [bias, 'options.bias'],
    ] as const) {
      if (t && overlaps(out, t))
        throw invalidArg('options.out', `memory that does not overlap ${n}`, 'an overlapping tensor', 'value', { described: true });
    }
    if (c && overlaps(out, c) && !(sameStorage(out, c) && out.dtype === c.dtype)) {
      throw invalidArg(
        'options.out',
        'either c itself (an in-place update) or memory that does not overlap c',
        'a partly overlapping tensor',
        'value',
        { described: true },
      );
    }
  } else {
    out = Tensor.empty(outShape, accDtype, A.device);
  }
  const params: NativeGemmParams = {
    a: nativeOf(A, 'a'),
    b: nativeOf(B, 'b'),
    c: nativeOptional(c, 'options.c'),
    bias: nativeOptional(bias, 'options.bias'),
    out: nativeOf(out, 'options.out'),
    transA,
    transB,
    alpha,
    beta,
    runDevice: A.device === 'cpu' && device !== 'cpu' ? deviceIndex(device) : -1,
    allowTf32: precision === 'tf32',
    packed: packedData && nativeOf(packedData, 'b'),
    packedLayout: packed?.layout,
  };
  return { params, out };
}

/**
 * alpha * op(a) @ op(b) + beta * c + bias, computed off the event loop. b may be weights packed
 * by packWeights (then options.transB, if given, must be the one they were packed with).
 */
export async function gemm(a: Tensor, b: Tensor | PackedWeights, opts?: GemmOptions): Promise<Tensor> {
  return callAsync(gemm, async () => {
    const p = prepare(a, b, opts);
    await native.ops.gemm(p.params, true);
    return p.out;
  });
}

/** Synchronous gemm, for small products (it blocks the event loop while it runs). */
export function gemmSync(a: Tensor, b: Tensor | PackedWeights, opts?: GemmOptions): Tensor {
  const p = prepare(a, b, opts);
  callSync(() => native.ops.gemm(p.params, false));
  return p.out;
}
