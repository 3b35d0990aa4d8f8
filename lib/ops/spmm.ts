// spmm(a, b, opts): alpha * A @ B + beta * C with A a SparseMatrix [rows, cols] and B a dense
// float32 [cols, N] tensor; the result is float32 [rows, N].
// Where it runs (as gemm): device tensors on their GPU (the result is a device tensor); host tensors
// on options.device when given, else on the default device (a GPU when one is usable: copied in, the
// result copied back). On a GPU the matrix's arrays (CSR, and the blocked form when prepare() chose
// it) are uploaded once per device and kept on the SparseMatrix; the kernel -- CSR, blocked (SMaT)
// or dense tiles (Flash-LLM) -- is picked by density, block fill and N and reported by
// spmmCudaLastKernel().
import { NativeSpmmDevForm, NativeSpmmParams, NativeTensor, native } from '../binding';
import { Device, DeviceSpec, defaultDevice, deviceIndex, resolveDevice } from '../device';
import { DType, DTYPES } from '../dtype';
import { invalidArg, withArticle } from '../errors';
import { SparseMatrix } from '../sparse/sparse-matrix';
import { Tensor, checkTensor, nativeOf } from '../tensor';
import { checkOptions, shapeStr } from '../validate';
import { callAsync, callSync, checkFloat32, checkNumber, nativeOptional, overlaps, sameStorage } from './common';

export interface SpmmOptions {
  /** Scales A @ B. Default 1. */
  alpha?: number;
  /** Scales c. Default 1 when c is given, else 0. */
  beta?: number;
  /** Added as beta * c: [rows, N] float32; may be out itself (an in-place update). */
  c?: Tensor;
  /** Where to write the result: [rows, N] float32. */
  out?: Tensor;
  /**
   * Where to run. Device tensors run on their GPU (any other device is an error). Host tensors run
   * here; default: defaultDevice() (a GPU when one is usable: copied in, result copied back).
   */
  device?: DeviceSpec;
}

const KEYS = ['alpha', 'beta', 'c', 'out', 'device'] as const;

/** The CUDA kernel choice: 'auto' (by density, block fill and N) or forced; tests and benches. */
export type SpmmCudaKernel = 'auto' | 'csr' | 'blocked' | 'tiles';
const KERNEL_CODES: Record<SpmmCudaKernel, number> = { auto: 0, csr: 1, blocked: 2, tiles: 3 };
let cudaKernel: SpmmCudaKernel = (() => {
  const e = process.env.TENSORKERN_SPMM_KERNEL;
  return e && e in KERNEL_CODES ? (e as SpmmCudaKernel) : 'auto';
})();

/** Forces the CUDA spmm kernel (TENSORKERN_SPMM_KERNEL sets the initial value); returns the previous choice. */
export function setSpmmCudaKernel(k: SpmmCudaKernel): SpmmCudaKernel {
  if (!(k in KERNEL_CODES)) throw invalidArg('kernel', "'auto', 'csr', 'blocked' or 'tiles'", k, 'value');
  const prev = cudaKernel;
  cudaKernel = k;
  return prev;
}

/** The CUDA kernel the last spmm on a GPU ran, and why ('' before any). */
export function spmmCudaLastKernel(): string {
  return native.debug.lastKernel('spmm', 'cuda');
}

/** The matrix's device arrays for a run on `device`, as the native layer takes them. */
export function spmmDevForm(a: SparseMatrix, device: Device, kernel: SpmmCudaKernel = cudaKernel): NativeSpmmDevForm {
  // The blocked form is uploaded when prepare() chose it (auto), or when the blocked kernel is forced.
  const blocked =
    kernel === 'blocked'
      ? a.prepare({ format: 'blocked', device: 'cuda' }).blocked
      : kernel === 'auto'
        ? a.prepare({ device: 'cuda' }).blocked
        : undefined;
  const d = a.deviceArrays(device, blocked);
  const f: NativeSpmmDevForm = {
    rowPtr: nativeOf(d.rowPtr, 'rowPtr'),
    colIdx: nativeOf(d.colIdx, 'colIdx'),
    values: nativeOf(d.values, 'values'),
  };
  if (blocked && d.blocked) {
    f.perm = nativeOf(d.blocked.perm, 'perm');
    f.panelPtr = nativeOf(d.blocked.panelPtr, 'panelPtr');
    f.blockCol = nativeOf(d.blocked.blockCol, 'blockCol');
    f.blockValues = nativeOf(d.blocked.blockValues, 'blockValues');
  }
  return f;
}

export function spmmKernelCode(k: SpmmCudaKernel = cudaKernel): number {
  return KERNEL_CODES[k];
}

function indexTensor(a: Int32Array | BigInt64Array): NativeTensor {
  const dtype: DType = a instanceof BigInt64Array ? 'int64' : 'int32';
  return { dtype: DTYPES[dtype].code, shape: [a.length], data: a };
}

/** The native descriptors of a sparse matrix's CSR arrays: rowPtr, colIdx, values (also used by the bench). */
export function csrNative(a: SparseMatrix): [NativeTensor, NativeTensor, NativeTensor] {
  return [indexTensor(a.rowPtr), indexTensor(a.colIdx), { dtype: DTYPES.float32.code, shape: [a.values.length], data: a.values }];
}

function prepare(a: unknown, b: unknown, opts: unknown): { params: NativeSpmmParams; out: Tensor } {
  if (!(a instanceof SparseMatrix)) throw invalidArg('a', 'a SparseMatrix', a);
  const B = checkTensor(b, 'b');
  const o = checkOptions<SpmmOptions>(opts, 'options', KEYS);
  if (B.ndim !== 2) throw invalidArg('b', 'a rank-2 tensor [cols, N]', `shape ${shapeStr(B.shape)}`, 'value', { described: true });
  if (B.dtype !== 'float32') throw invalidArg('b', 'a float32 tensor', `${withArticle(B.dtype)} tensor`, 'type', { described: true });
  if (B.shape[0] !== a.cols) {
    throw invalidArg('b', `${a.cols} rows (the columns of a, ${a.rows}x${a.cols})`, `shape ${shapeStr(B.shape)}`, 'value', {
      described: true,
    });
  }
  // Device tensors run where they are; host tensors on the requested or the default device.
  const device: Device =
    o.device !== undefined ? resolveDevice(o.device, 'options.device') : B.device !== 'cpu' ? B.device : defaultDevice();
  if (B.device !== 'cpu' && device !== B.device) {
    throw invalidArg('options.device', `${B.device} (where b is; move it with tensor.to())`, `'${device}'`, 'value', { described: true });
  }
  const N = B.shape[1];
  const outShape = [a.rows, N];
  const c = o.c === undefined ? undefined : checkTensor(o.c, 'options.c');
  const alpha = checkFloat32(o.alpha, 'options.alpha', 1);
  const beta = checkFloat32(o.beta, 'options.beta', c ? 1 : 0);
  if (!c && beta !== 0) throw invalidArg('options.beta', '0 when no c is given (beta scales c)', beta, 'value');
  const fits = (t: Tensor, n: string) => {
    if (t.ndim !== 2 || t.shape[0] !== a.rows || t.shape[1] !== N)
      throw invalidArg(n, `shape ${shapeStr(outShape)}`, `shape ${shapeStr(t.shape)}`, 'value', { described: true });
    if (t.dtype !== 'float32') throw invalidArg(n, 'a float32 tensor', `${withArticle(t.dtype)} tensor`, 'type', { described: true });
    if (t.device !== B.device)
      throw invalidArg(n, `a tensor on ${B.device} (the device of b)`, `a tensor on ${t.device}`, 'value', { described: true });
  };
  if (c) fits(c, 'options.c');
  let out: Tensor;
  if (o.out !== undefined) {
    out = checkTensor(o.out, 'options.out');
    fits(out, 'options.out');
    if (overlaps(out, B))
      throw invalidArg('options.out', 'memory that does not overlap b', 'an overlapping tensor', 'value', { described: true });
    if (c && overlaps(out, c) && !sameStorage(out, c)) {
      throw invalidArg(
        'options.out',
        'either c itself (an in-place update) or memory that does not overlap c',
        'a partly overlapping tensor',
        'value',
        { described: true },
      );
    }
  } else {
    out = Tensor.empty(outShape, 'float32', B.device);
  }
  const [rowPtr, colIdx, values] = csrNative(a);
  const params: NativeSpmmParams = {
    rowPtr,
    colIdx,
    values,
    rows: a.rows,
    cols: a.cols,
    b: nativeOf(B, 'b'),
    c: nativeOptional(c, 'options.c'),
    out: nativeOf(out, 'options.out'),
    alpha,
    beta,
  };
  if (device === 'cpu') {
    a.prepare({ device: 'cpu' }); // cached: the CPU kernels take the CSR arrays as they are
  } else {
    params.runDevice = B.device === 'cpu' ? deviceIndex(device) : -1;
    params.kernel = spmmKernelCode();
    params.devForm = spmmDevForm(a, device);
  }
  return { params, out };
}

/** alpha * A @ B + beta * C for a sparse A, computed off the event loop. */
export async function spmm(a: SparseMatrix, b: Tensor, opts?: SpmmOptions): Promise<Tensor> {
  return callAsync(spmm, async () => {
    const p = prepare(a, b, opts);
    await native.ops.spmm(p.params, true);
    return p.out;
  });
}

/** Synchronous spmm, for small products (it blocks the event loop while it runs). */
export function spmmSync(a: SparseMatrix, b: Tensor, opts?: SpmmOptions): Tensor {
  const p = prepare(a, b, opts);
  callSync(() => native.ops.spmm(p.params, false));
  return p.out;
}
