// cast(x, dtype): float32 <-> float16 <-> bfloat16 conversion (round to nearest even), or a copy
// when the dtype is unchanged. Runs where x lives; the result lives there too.
import { native } from '../binding';
import { DType } from '../dtype';
import { captureStack, invalidArg, withArticle, wrapNative } from '../errors';
import { Tensor, checkTensor, nativeOf } from '../tensor';
import { checkDType, checkOptions, shapeStr } from '../validate';
import { callSync, overlaps } from './common';

export interface CastOptions {
  /** Write into this tensor (same device and number of elements, dtype = the target dtype). */
  out?: Tensor;
}

const FLOATS: readonly DType[] = ['float32', 'float16', 'bfloat16'];

function prepare(x: unknown, dtype: unknown, opts: unknown): { x: Tensor; out: Tensor } {
  const src = checkTensor(x, 'x');
  const to = checkDType(dtype, 'dtype');
  const o = checkOptions<CastOptions>(opts, 'options', ['out']);
  if (to !== src.dtype && !(FLOATS.includes(to) && FLOATS.includes(src.dtype))) {
    throw invalidArg('dtype', `float32, float16 or bfloat16 (cast converts among float types; x is ${src.dtype})`, dtype, 'value');
  }
  let out: Tensor;
  if (o.out !== undefined) {
    out = checkTensor(o.out, 'options.out');
    if (out.dtype !== to)
      throw invalidArg('options.out', `${withArticle(to)} tensor`, `${withArticle(out.dtype)} tensor`, 'type', { described: true });
    if (out.device !== src.device)
      throw invalidArg('options.out', `a tensor on ${src.device}`, `a tensor on ${out.device}`, 'value', { described: true });
    if (out.size !== src.size) {
      throw invalidArg('options.out', `${src.size} elements (x is ${shapeStr(src.shape)})`, shapeStr(out.shape), 'value', {
        described: true,
      });
    }
    if (src.dtype !== to && overlaps(src, out)) {
      throw invalidArg('options.out', 'memory that does not overlap x', 'an overlapping view', 'value', { described: true });
    }
  } else {
    out = Tensor.empty(src.shape.slice(), to, src.device);
  }
  return { x: src, out };
}

/** x converted to `dtype` (async: runs on the worker pool). */
export async function cast<D extends DType>(x: Tensor, dtype: D, opts?: CastOptions): Promise<Tensor<D>> {
  const stack = captureStack(cast);
  const p = prepare(x, dtype, opts);
  try {
    await native.ops.cast({ src: nativeOf(p.x, 'x'), dst: nativeOf(p.out, 'out') }, true);
  } catch (e) {
    throw wrapNative(e, stack);
  }
  return p.out as Tensor<D>;
}

/** Synchronous cast, for small tensors. */
export function castSync<D extends DType>(x: Tensor, dtype: D, opts?: CastOptions): Tensor<D> {
  const p = prepare(x, dtype, opts);
  callSync(() => native.ops.cast({ src: nativeOf(p.x, 'x'), dst: nativeOf(p.out, 'out') }, false));
  return p.out as Tensor<D>;
}
