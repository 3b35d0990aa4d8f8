// spmm(a, b, opts): alpha * A @ B + beta * C with A a SparseMatrix [rows, cols] and B a dense
// float32 [cols, N] tensor; the result is float32 [rows, N]. CPU tensors today (the GPU kernel plugs
// into the same call).
import { NativeTensor, native } from '../binding';
import { DType, DTYPES } from '../dtype';
import { invalidArg } from '../errors';
import { SparseMatrix } from '../sparse/sparse-matrix';
import { Tensor, checkTensor, nativeOf } from '../tensor';
import { checkOptions, shapeStr } from '../validate';
import { callAsync, callSync, checkNumber, nativeOptional, overlaps, sameStorage } from './common';

export interface SpmmOptions {
  /** Scales A @ B. Default 1. */
  alpha?: number;
  /** Scales c. Default 1 when c is given, else 0. */
  beta?: number;
  /** Added as beta * c: [rows, N] float32; may be out itself (an in-place update). */
  c?: Tensor;
  /** Where to write the result: [rows, N] float32. */
  out?: Tensor;
}

const KEYS = ['alpha', 'beta', 'c', 'out'] as const;

type SpmmArgs = [NativeTensor, NativeTensor, NativeTensor, number, number, NativeTensor, NativeTensor | undefined, NativeTensor, number, number];

function indexTensor(a: Int32Array | BigInt64Array): NativeTensor {
  const dtype: DType = a instanceof BigInt64Array ? 'int64' : 'int32';
  return { dtype: DTYPES[dtype].code, shape: [a.length], data: a };
}

/** The native descriptors of a sparse matrix's CSR arrays: rowPtr, colIdx, values (also used by the bench). */
export function csrNative(a: SparseMatrix): [NativeTensor, NativeTensor, NativeTensor] {
  return [indexTensor(a.rowPtr), indexTensor(a.colIdx), { dtype: DTYPES.float32.code, shape: [a.values.length], data: a.values }];
}

function prepare(a: unknown, b: unknown, opts: unknown): { args: SpmmArgs; out: Tensor } {
  if (!(a instanceof SparseMatrix)) throw invalidArg('a', 'a SparseMatrix', a);
  a.prepare(); // 'auto' (cached): the CPU kernels take the CSR arrays as they are
  const B = checkTensor(b, 'b');
  const o = checkOptions<SpmmOptions>(opts, 'options', KEYS);
  if (B.ndim !== 2) throw invalidArg('b', 'a rank-2 tensor [cols, N]', `shape ${shapeStr(B.shape)}`, 'value', { described: true });
  if (B.dtype !== 'float32') throw invalidArg('b', 'a float32 tensor', `a ${B.dtype} tensor`, 'type', { described: true });
  if (B.shape[0] !== a.cols) {
    throw invalidArg('b', `${a.cols} rows (the columns of a, ${a.rows}x${a.cols})`, `shape ${shapeStr(B.shape)}`, 'value', { described: true });
  }
  if (B.device !== 'cpu') throw invalidArg('b', 'a CPU tensor (spmm runs on the CPU until the GPU kernel lands)', `a tensor on ${B.device}`, 'value', { described: true });
  const N = B.shape[1];
  const outShape = [a.rows, N];
  const c = o.c === undefined ? undefined : checkTensor(o.c, 'options.c');
  const alpha = checkNumber(o.alpha, 'options.alpha', 1);
  const beta = checkNumber(o.beta, 'options.beta', c ? 1 : 0);
  if (!c && beta !== 0) throw invalidArg('options.beta', '0 when no c is given (beta scales c)', beta, 'value');
  const fits = (t: Tensor, n: string) => {
    if (t.ndim !== 2 || t.shape[0] !== a.rows || t.shape[1] !== N) throw invalidArg(n, `shape ${shapeStr(outShape)}`, `shape ${shapeStr(t.shape)}`, 'value', { described: true });
    if (t.dtype !== 'float32') throw invalidArg(n, 'a float32 tensor', `a ${t.dtype} tensor`, 'type', { described: true });
    if (t.device !== 'cpu') throw invalidArg(n, 'a CPU tensor', `a tensor on ${t.device}`, 'value', { described: true });
  };
  if (c) fits(c, 'options.c');
  let out: Tensor;
  if (o.out !== undefined) {
    out = checkTensor(o.out, 'options.out');
    fits(out, 'options.out');
    if (overlaps(out, B)) throw invalidArg('options.out', 'memory that does not overlap b', 'an overlapping tensor', 'value', { described: true });
    if (c && overlaps(out, c) && !sameStorage(out, c)) {
      throw invalidArg('options.out', 'either c itself (an in-place update) or memory that does not overlap c', 'a partly overlapping tensor', 'value', { described: true });
    }
  } else {
    out = Tensor.empty(outShape, 'float32', 'cpu');
  }
  const args: SpmmArgs = [
    ...csrNative(a), a.rows, a.cols,
    nativeOf(B, 'b'), nativeOptional(c, 'options.c'), nativeOf(out, 'options.out'), alpha, beta,
  ];
  return { args, out };
}

/** alpha * A @ B + beta * C for a sparse A, computed off the event loop. */
export async function spmm(a: SparseMatrix, b: Tensor, opts?: SpmmOptions): Promise<Tensor> {
  return callAsync(spmm, async () => {
    const p = prepare(a, b, opts);
    await native.spmm(...p.args, true);
    return p.out;
  });
}

/** Synchronous spmm, for small products (it blocks the event loop while it runs). */
export function spmmSync(a: SparseMatrix, b: Tensor, opts?: SpmmOptions): Tensor {
  const p = prepare(a, b, opts);
  callSync(() => native.spmm(...p.args, false));
  return p.out;
}
