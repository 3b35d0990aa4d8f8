// Tensor: dtype, shape, device and storage. A host tensor wraps the caller's typed array without
// copying (host memory is the user's); a device tensor owns a DeviceBuffer, freed by dispose(),
// `using`, or a finalizer when the tensor is collected.
import { constants as bufferConstants } from 'buffer';
import { inspect } from 'util';
import { native, NativeDeviceBuffer, NativeTensor } from './binding';
import { Device, DeviceSpec, deviceIndex, resolveDevice } from './device';
import { ArrayOf, DType, DTYPES, TypedArray, byteSize, dtypesForArray, storageLength } from './dtype';
import { TensorkernError, captureStack, disposedError, invalidArg, withArticle, wrapNative } from './errors';
import { allocHostStorage, releaseHostStorage } from './host-memory';
import { toHalfBits } from './half';
import { checkDType, checkOptions, checkShape, numelOf, shapeStr } from './validate';

const NATIVE = Symbol('tensorkern.native');
/** The most elements a typed array can have here (Buffer is a Uint8Array: V8's limit for both). */
const MAX_TYPED_ARRAY_LENGTH: number = bufferConstants.MAX_LENGTH;
const CREATE = Symbol('tensorkern.create');
const POOLED = Symbol('tensorkern.pooled');
const PARENT = Symbol('tensorkern.parent');
const disposeSymbol: symbol = (Symbol as { dispose?: symbol }).dispose ?? Symbol.for('nodejs.dispose');

export interface TensorOptions<D extends DType = DType> {
  dtype?: D;
  /** 'cpu' (default: wraps the array, no copy), 'cuda', 'cuda:N' or 'auto' (the default device). */
  device?: DeviceSpec;
}

/** Throws unless every byte of a bool tensor's storage is 0 or 1 (ONNX / numpy bool data). */
function checkBoolBytes(data: Uint8Array, name: string): void {
  const i = data.findIndex((x) => x > 1);
  if (i >= 0) throw invalidArg(`${name}[${i}]`, 'a byte of 0 or 1 (bool: 0 = false, 1 = true)', data[i], 'range');
}

/** Converts a plain array of numbers (or bigints for int64, booleans for bool) into storage for `dtype`. */
function fromNumbers(values: ArrayLike<unknown>, dtype: DType, name: string): TypedArray {
  const n = values.length;
  const intRange: Partial<Record<DType, [number, number]>> = { int8: [-128, 127], int4: [-8, 7], int32: [-(2 ** 31), 2 ** 31 - 1] };
  const nums: number[] = new Array(n);
  if (dtype === 'int64') {
    const out = new BigInt64Array(n);
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (typeof v === 'bigint') out[i] = v;
      else if (typeof v === 'number' && Number.isSafeInteger(v)) out[i] = BigInt(v);
      else throw invalidArg(`${name}[${i}]`, 'a safe integer or bigint (int64)', v, typeof v === 'number' ? 'range' : 'type');
    }
    return out;
  }
  if (dtype === 'bool') {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (v === true || v === 1) out[i] = 1;
      else if (v !== false && v !== 0)
        throw invalidArg(`${name}[${i}]`, 'true, false, 1 or 0 (bool)', v, typeof v === 'number' ? 'range' : 'type');
    }
    return out;
  }
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (typeof v !== 'number') throw invalidArg(`${name}[${i}]`, 'a number', v);
    const r = intRange[dtype];
    if (r && !(Number.isInteger(v) && v >= r[0] && v <= r[1])) {
      throw invalidArg(`${name}[${i}]`, `an integer in [${r[0]}, ${r[1]}] (${dtype})`, v, 'range');
    }
    nums[i] = v;
  }
  switch (dtype) {
    case 'float32':
      return Float32Array.from(nums);
    case 'float16':
    case 'bfloat16':
      return toHalfBits(nums, dtype);
    case 'int8':
      return Int8Array.from(nums);
    case 'int32':
      return Int32Array.from(nums);
    case 'int4': {
      const out = new Uint8Array(Math.ceil(n / 2));
      for (let i = 0; i < n; i++) out[i >> 1] |= (nums[i] & 0xf) << ((i & 1) * 4);
      return out;
    }
    default:
      throw invalidArg('dtype', 'a known dtype', dtype, 'value');
  }
}

/**
 * A tensor; D, its dtype, types what toArray() returns (Tensor<'float32'> gives a Float32Array).
 * Plain `Tensor` is Tensor<DType>: any dtype, arrays typed as the TypedArray union.
 */
export class Tensor<D extends DType = DType> {
  readonly dtype: D;
  readonly shape: readonly number[];
  readonly device: Device;
  private [NATIVE]: NativeTensor | null;
  /** Host storage from the warm pool (tensorkern allocated it): dispose() gives it back unless this is a view. */
  private readonly [POOLED]: boolean;
  /** For a view (narrow / slice, and reshapes of one): the tensor whose storage it shares, which owns it. */
  private readonly [PARENT]: Tensor | null;

  /** Use Tensor.from / Tensor.zeros. */
  private constructor(
    token: symbol,
    dtype: D,
    shape: number[],
    device: Device,
    storage: TypedArray | NativeDeviceBuffer,
    pooled = false,
    parent: Tensor | null = null,
  ) {
    if (token !== CREATE) throw new TypeError('Tensor has no public constructor: use Tensor.from(data, shape) or Tensor.zeros(shape)');
    this.dtype = dtype;
    this.shape = Object.freeze(shape);
    this.device = device;
    this[POOLED] = pooled;
    this[PARENT] = parent;
    this[NATIVE] = ArrayBuffer.isView(storage)
      ? { dtype: DTYPES[dtype].code, shape, data: storage }
      : { dtype: DTYPES[dtype].code, shape, buffer: storage };
  }

  /**
   * Wraps a typed array (no copy) or converts a plain array of numbers, as a tensor of `shape`.
   * dtype is inferred from the array (Float32Array -> float32, Int8Array -> int8, Int32Array -> int32,
   * BigInt64Array -> int64, Float16Array -> float16); Uint16Array needs dtype 'float16' or 'bfloat16'
   * (bit patterns), Uint8Array needs dtype 'bool' (a byte per element, 0 or 1: other bytes are an
   * error) or 'int4' (two nibbles per byte, element 2i low). A plain array defaults to float32
   * (booleans need dtype 'bool'). With a CUDA device the data is copied to the GPU synchronously; for
   * large data prefer `await Tensor.from(data, shape).to('cuda')`.
   */
  static from(data: Float32Array, shape: readonly number[], opts?: TensorOptions<'float32'>): Tensor<'float32'>;
  static from(data: Int8Array, shape: readonly number[], opts?: TensorOptions<'int8'>): Tensor<'int8'>;
  static from(data: Int32Array, shape: readonly number[], opts?: TensorOptions<'int32'>): Tensor<'int32'>;
  static from(data: BigInt64Array, shape: readonly number[], opts?: TensorOptions<'int64'>): Tensor<'int64'>;
  static from<D extends 'float16' | 'bfloat16'>(
    data: Uint16Array,
    shape: readonly number[],
    opts: TensorOptions<D> & { dtype: D },
  ): Tensor<D>;
  static from<D extends 'bool' | 'int4'>(data: Uint8Array, shape: readonly number[], opts: TensorOptions<D> & { dtype: D }): Tensor<D>;
  static from<D extends DType = 'float32'>(
    data: readonly (number | bigint | boolean)[],
    shape: readonly number[],
    opts?: TensorOptions<D>,
  ): Tensor<D>;
  static from(data: TypedArray | ArrayLike<number | bigint | boolean>, shape: readonly number[], opts?: TensorOptions): Tensor;
  static from(data: TypedArray | ArrayLike<number | bigint | boolean>, shape: readonly number[], opts?: TensorOptions): Tensor {
    const dims = checkShape(shape);
    const o = checkOptions<TensorOptions>(opts, 'options', ['dtype', 'device']);
    const dtype = o.dtype === undefined ? undefined : checkDType(o.dtype, 'options.dtype');
    const device = resolveDevice(o.device ?? 'cpu', 'options.device');
    const numel = numelOf(dims);

    let storage: TypedArray;
    let dt: DType;
    if (ArrayBuffer.isView(data)) {
      const kinds = dtypesForArray(data);
      if (kinds.length === 0) {
        throw invalidArg(
          'data',
          'a Float32Array, Uint16Array, Int8Array, Uint8Array, Int32Array, BigInt64Array or an array of numbers',
          data,
        );
      }
      if (dtype !== undefined && !kinds.includes(dtype)) {
        throw invalidArg('data', `${withArticle(DTYPES[dtype].arrayName)} for dtype ${dtype}`, data);
      }
      if (dtype === undefined && (data instanceof Uint16Array || data instanceof Uint8Array)) {
        const hint =
          data instanceof Uint16Array ? `'float16' or 'bfloat16'` : `'bool' (a byte per element, 0 or 1) or 'int4' (two per byte)`;
        throw invalidArg('options.dtype', `${hint} for ${withArticle(data.constructor.name)}`, undefined);
      }
      dt = dtype ?? kinds[0];
      storage = data as TypedArray;
      if (dt === 'bool') checkBoolBytes(data as Uint8Array, 'data');
    } else if (Array.isArray(data)) {
      dt = dtype ?? 'float32';
      if (data.length !== numel) {
        throw invalidArg('data', `${numel} elements (shape ${shapeStr(dims)})`, `${data.length}`, 'value', { described: true });
      }
      storage = fromNumbers(data, dt, 'data');
    } else {
      throw invalidArg('data', 'a typed array or an array of numbers', data);
    }
    if (dt === 'int4' && dims.length > 0 && dims[dims.length - 1] % 2 !== 0) {
      throw invalidArg('shape', 'an even last dimension for int4 (two nibbles per byte)', dims[dims.length - 1], 'value');
    }
    const want = storageLength(dt, numel);
    const have = (storage as { length: number }).length;
    if (have !== want) {
      const unit = dt === 'int4' ? 'bytes' : 'elements';
      throw invalidArg('data', `${want} ${unit} (shape ${shapeStr(dims)}, ${dt})`, `${have}`, 'value', { described: true });
    }
    const host = new Tensor(CREATE, dt, dims, 'cpu', storage);
    if (device === 'cpu') return host;
    const dev = Tensor.empty(dims, dt, device);
    try {
      native.ops.cast({ src: host[NATIVE]!, dst: dev[NATIVE]! }, false);
    } catch (e) {
      dev.dispose();
      throw wrapNative(e);
    }
    return dev;
  }

  /** A zero-filled tensor (float32 unless options.dtype says otherwise). */
  static zeros<D extends DType = 'float32'>(shape: readonly number[], opts?: TensorOptions<D>): Tensor<D> {
    const dims = checkShape(shape);
    const o = checkOptions<TensorOptions>(opts, 'options', ['dtype', 'device']);
    const dtype = (o.dtype === undefined ? 'float32' : checkDType(o.dtype, 'options.dtype')) as D;
    if (dtype === 'int4' && dims.length > 0 && dims[dims.length - 1] % 2 !== 0) {
      throw invalidArg('shape', 'an even last dimension for int4 (two nibbles per byte)', dims[dims.length - 1], 'value');
    }
    const device = resolveDevice(o.device ?? 'cpu', 'options.device');
    const t = Tensor.empty(dims, dtype, device);
    if (t[POOLED]) {
      const d = t[NATIVE]!.data!; // pooled memory is reused: not zero
      new Uint8Array(d.buffer, d.byteOffset, d.byteLength).fill(0);
    } else if (device !== 'cpu') {
      try {
        native.runtime.zero(t[NATIVE]!);
      } catch (e) {
        t.dispose();
        throw wrapNative(e);
      }
    }
    return t;
  }

  /**
   * @internal Uninitialized storage. Host storage of HOST_POOL_MIN_BYTES or more comes from the warm
   * pool (lib/host-memory.ts) and holds whatever was there before: ops write every element.
   */
  static empty<D extends DType>(shape: number[], dtype: D, device: Device): Tensor<D> {
    const numel = numelOf(shape);
    if (device === 'cpu') {
      // Checked before allocating: past this length the typed-array constructor cannot succeed at all.
      if (storageLength(dtype, numel) > MAX_TYPED_ARRAY_LENGTH) {
        throw invalidArg(
          'shape',
          `at most ${MAX_TYPED_ARRAY_LENGTH} elements of storage for a host tensor (the largest typed array this runtime holds)`,
          `${shapeStr(shape)} of ${dtype} (${byteSize(dtype, numel)} bytes)`,
          'range',
          { described: true },
        );
      }
      let got: { storage: TypedArray; pooled: boolean };
      try {
        got = allocHostStorage(dtype, storageLength(dtype, numel));
      } catch (e) {
        if ((e as { code?: string }).code === 'ERR_TK_OUT_OF_MEMORY') throw wrapNative(e);
        throw wrapNative(
          Object.assign(new Error(`cannot allocate ${byteSize(dtype, numel)} bytes of host memory: ${(e as Error).message}`), {
            code: 'ERR_TK_OUT_OF_MEMORY',
          }),
        );
      }
      return new Tensor(CREATE, dtype, shape, 'cpu', got.storage, got.pooled);
    }
    let buf: NativeDeviceBuffer;
    try {
      buf = new native.runtime.DeviceBuffer(deviceIndex(device), byteSize(dtype, numel));
    } catch (e) {
      throw wrapNative(e);
    }
    return new Tensor(CREATE, dtype, shape, device, buf);
  }

  get ndim(): number {
    return this.shape.length;
  }

  /** Number of elements. */
  get size(): number {
    return numelOf(this.shape);
  }

  get byteLength(): number {
    return byteSize(this.dtype, this.size);
  }

  get disposed(): boolean {
    return isReleased(this[NATIVE], this[POOLED], this[PARENT]);
  }

  /**
   * This tensor on `device`: the same tensor when it is already there, else a copy (async; the event
   * loop stays free). Device-to-device copies between two GPUs go through the host.
   */
  async to(device: DeviceSpec): Promise<Tensor<D>> {
    const stack = captureStack(this.to);
    const target = resolveDevice(device, 'device');
    const src = nativeOf(this, 'this');
    if (target === this.device) return this;
    if (this.device !== 'cpu' && target !== 'cpu') {
      const host = await this.to('cpu');
      return host.to(target);
    }
    const dst = Tensor.empty(this.shape.slice(), this.dtype, target);
    try {
      await native.ops.cast({ src, dst: dst[NATIVE]! }, true);
    } catch (e) {
      dst.dispose();
      throw wrapNative(e, stack);
    }
    return dst;
  }

  /**
   * The elements as a typed array: for a host tensor, the array it wraps (no copy); for a device
   * tensor, a fresh copy (async). float16/bfloat16 come back as Uint16Array bit patterns (see
   * fromHalfBits), int4 as packed Uint8Array.
   */
  async toArray(): Promise<ArrayOf<D>> {
    if (this.device === 'cpu') return this.toArraySync();
    const host = await this.to('cpu');
    return host.toArraySync();
  }

  /** Synchronous toArray(); for a device tensor it blocks until the copy is done. */
  toArraySync(): ArrayOf<D> {
    const n = nativeOf(this, 'this');
    if (n.data) return n.data as ArrayOf<D>;
    const host = Tensor.empty(this.shape.slice(), this.dtype, 'cpu');
    try {
      native.ops.cast({ src: n, dst: host[NATIVE]! }, false);
    } catch (e) {
      throw wrapNative(e);
    }
    return host[NATIVE]!.data as ArrayOf<D>;
  }

  /** A tensor with another shape over the same storage (same number of elements). */
  reshape(shape: readonly number[]): Tensor<D> {
    const dims = checkShape(shape);
    if (numelOf(dims) !== this.size) {
      throw invalidArg(
        'shape',
        `${this.size} elements (from ${shapeStr(this.shape)})`,
        `${shapeStr(dims)} (${numelOf(dims)} elements)`,
        'value',
        { described: true },
      );
    }
    if (this.dtype === 'int4' && dims.length > 0 && dims[dims.length - 1] % 2 !== 0) {
      throw invalidArg('shape', 'an even last dimension for int4 (two nibbles per byte)', dims[dims.length - 1], 'value');
    }
    const n = nativeOf(this, 'this');
    return new Tensor(CREATE, this.dtype, dims, this.device, (n.data as TypedArray) ?? n.buffer!, this[POOLED], this[PARENT]);
  }

  /**
   * A view of rows [start, start + length) of a host tensor's first dimension: shape [length,
   * ...rest], sharing this tensor's storage (no copy), so writes through either show in both, and an
   * op's `out` can be a view (e.g. one position of a KV cache). int4 needs whole bytes per row (rank
   * 2 or more). A view does not own the storage: disposing it only drops the view, while disposing
   * this tensor (which owns pooled storage) releases it, and the view then reads as disposed. Device
   * tensors: not supported yet (ERR_TK_UNSUPPORTED).
   */
  narrow(start: number, length: number): Tensor<D> {
    const rows = this.viewRows('narrow');
    checkRow(start, 'start', 0, rows);
    checkRow(length, 'length', 0, rows - start, ` (rows from ${start} to the end of dim 0, ${rows})`);
    return this.rowView(start, length);
  }

  /** narrow(start, end - start): rows [start, end) of the first dimension (end defaults to its size; no negative indices). */
  slice(start: number, end?: number): Tensor<D> {
    const rows = this.viewRows('slice');
    checkRow(start, 'start', 0, rows);
    const e = end === undefined ? rows : end;
    checkRow(e, 'end', start, rows, ` (start to the size of dim 0)`);
    return this.rowView(start, e - start);
  }

  /** The size of dim 0 of a tensor `method` can take a view of. */
  private viewRows(method: string): number {
    const n = nativeOf(this, 'this');
    if (!n.data) {
      throw new TensorkernError(
        'ERR_TK_UNSUPPORTED',
        `${method}() of a tensor on ${this.device}: views of device tensors are not supported yet (copy it with tensor.to('cpu'))`,
      );
    }
    if (this.ndim === 0)
      throw invalidArg('this', `a tensor with at least one dimension for ${method}()`, 'shape []', 'value', { described: true });
    if (this.dtype === 'int4' && numelOf(this.shape.slice(1)) % 2 !== 0) {
      throw invalidArg(
        'this',
        `rows of whole bytes for ${method}() of an int4 tensor (an even number of elements per row)`,
        `shape ${shapeStr(this.shape)}`,
        'value',
        { described: true },
      );
    }
    return this.shape[0];
  }

  private rowView(start: number, length: number): Tensor<D> {
    const rowLen = storageLength(this.dtype, numelOf(this.shape.slice(1)));
    const data = (this[NATIVE]!.data as TypedArray).subarray(start * rowLen, (start + length) * rowLen) as TypedArray;
    return new Tensor(CREATE, this.dtype, [length, ...this.shape.slice(1)], this.device, data, this[POOLED], this[PARENT] ?? this);
  }

  /**
   * Releases the storage now. Device memory goes back to the device pool, and host memory that
   * tensorkern allocated (an op's output without `out`, Tensor.zeros, a copy from a GPU; 64 KiB and
   * up) back to the warm host cache, once any op still using it has finished: its ArrayBuffer is
   * detached, so arrays taken from it with toArray() read as empty from then on (copy what you keep).
   * A tensor over your own array (Tensor.from) only drops its reference: the array stays yours.
   * Later use of the tensor throws ERR_TK_DISPOSED. Tensors made by reshape() share storage:
   * disposing one disposes the storage of all of them. Views (narrow(), slice(), and reshapes of a
   * view) do not own their storage: disposing one drops only that view, and a view reads as disposed
   * once the tensor it was taken from is.
   */
  dispose(): void {
    const n = this[NATIVE];
    if (n === null) return;
    if (this[PARENT] === null) {
      n.buffer?.release();
      if (this[POOLED] && n.data) releaseHostStorage(n.data as TypedArray);
    }
    this[NATIVE] = null;
  }

  [disposeSymbol](): void {
    this.dispose();
  }

  toString(): string {
    return `Tensor(${this.dtype}, ${shapeStr(this.shape)}, ${this.device}${this.disposed ? ', disposed' : ''})`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

/** Throws unless `v` is an integer in [lo, hi] (a row index or count of narrow / slice). */
function checkRow(v: unknown, name: string, lo: number, hi: number, why = ' (the size of dim 0)'): asserts v is number {
  if (typeof v !== 'number') throw invalidArg(name, 'an integer', v);
  if (!Number.isInteger(v) || v < lo || v > hi) throw invalidArg(name, `an integer in [${lo}, ${hi}]${why}`, v, 'range');
}

/** @internal The native descriptor of a live tensor; ERR_TK_DISPOSED otherwise. */
export function nativeOf(t: Tensor, name: string): NativeTensor {
  const x = t as unknown as { [NATIVE]: NativeTensor | null; [POOLED]: boolean; [PARENT]: Tensor | null };
  const n = x[NATIVE];
  if (isReleased(n, x[POOLED], x[PARENT])) throw disposedError(name);
  return n!;
}

/**
 * Disposed, or its storage released through another tensor over it (reshape): a released device
 * buffer, a detached pooled buffer; for a view, also its parent disposed.
 */
function isReleased(n: NativeTensor | null, pooled: boolean, parent: Tensor | null): boolean {
  if (n === null) return true;
  if (parent !== null && parent.disposed) return true;
  if (n.buffer !== undefined) return n.buffer.released;
  return pooled && n.data!.buffer.byteLength === 0; // pooled buffers are 64 KiB and up: empty = detached
}

/** @internal Checks that `x` is a live Tensor. */
export function checkTensor(x: unknown, name: string): Tensor {
  if (!(x instanceof Tensor)) {
    const hint = ArrayBuffer.isView(x) || Array.isArray(x) ? ' (wrap it with Tensor.from(data, shape))' : '';
    throw invalidArg(name, `a Tensor${hint}`, x);
  }
  nativeOf(x, name);
  return x;
}
