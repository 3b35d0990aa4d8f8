// Warm host memory for op outputs (native/core/host_pool.h). A host tensor that tensorkern allocates
// (an op's output without `out`, Tensor.zeros, a copy from a GPU) of HOST_POOL_MIN_BYTES or more is a
// view of a block from a process-wide cache of mapped memory instead of a fresh typed array: on cloud
// VMs the first touch of each fresh 4 KiB page costs ~10 us, which made the default call of an op
// several times slower than the same call with `out` reused. The block goes back to the cache when
// the tensor is disposed (dispose() / `using`; its buffer is detached then), or when the garbage
// collector frees the buffer. Smaller tensors are plain typed arrays (V8's own heap is warm already).
import { constants as bufferConstants } from 'buffer';
import { native, NativeHostPoolStats } from './binding';
import { DType, DTYPES, TypedArray } from './dtype';
import { invalidArg } from './errors';

/** Outputs from this size up come from the warm cache (below it the call costs more than a fresh array). */
export const HOST_POOL_MIN_BYTES = 64 * 1024;

export interface HostMemoryStats extends NativeHostPoolStats {
  /** Outputs smaller than this are plain typed arrays. */
  minBytes: number;
}

/** The warm host-memory cache: its cap, what it holds and how often it served a request. */
export function hostMemoryStats(): HostMemoryStats {
  return { ...native.runtime.hostPoolStats(), minBytes: HOST_POOL_MIN_BYTES };
}

/** Caps the idle bytes the host cache keeps (0 keeps none: every output is fresh memory); evicts down to it now. */
export function setHostCacheLimit(bytes: number): void {
  if (typeof bytes !== 'number') throw invalidArg('bytes', 'a byte count (an integer >= 0)', bytes);
  if (!Number.isSafeInteger(bytes) || bytes < 0) throw invalidArg('bytes', 'a byte count (an integer >= 0)', bytes, 'range');
  native.runtime.hostPoolSetLimit(bytes);
}

/** Gives every idle cached block back to the OS now (e.g. before a long idle period). */
export function trimHostCache(): void {
  native.runtime.hostPoolTrim();
}

// ArrayBuffer.prototype.transfer (Node 22+) would move a pooled block into a buffer the pool cannot
// see, and the pool would hand the memory out again once the original buffer died. Pooled buffers
// get their own transfer() / transferToFixedLength() that copy instead (the original stays intact).
const MOVING_TRANSFER = typeof (ArrayBuffer.prototype as { transfer?: unknown }).transfer === 'function';
function copyTransfer(this: ArrayBuffer, newLength?: number): ArrayBuffer {
  const n = newLength === undefined ? this.byteLength : Number(newLength);
  const out = new ArrayBuffer(n);
  new Uint8Array(out).set(new Uint8Array(this, 0, Math.min(n, this.byteLength)));
  return out;
}
const COPYING_TRANSFER: PropertyDescriptorMap = {
  transfer: { value: copyTransfer, writable: false, enumerable: false, configurable: false },
  transferToFixedLength: { value: copyTransfer, writable: false, enumerable: false, configurable: false },
};

const NUDGE_MIN_BYTES = 8 * 2 ** 20,
  NUDGE_MAX_BYTES = 64 * 2 ** 20;
/** Node makes external buffers through its Buffer, whose byte length is capped: larger outputs are plain typed arrays. */
const MAX_EXTERNAL_BYTES: number = bufferConstants.MAX_LENGTH;
const LENT_CAP_MIN = 256 * 2 ** 20;
let lentSinceNudge = 0,
  lentSinceMajor = 0;
const MAJOR_NUDGE_MIN_BYTES = 2 ** 20,
  MAJOR_NUDGE_MAX_HEAP = 64 * 2 ** 20,
  FULL_NUDGE_BYTES = 256 * 2 ** 20;
const heapUsed = (): number => process.memoryUsage().heapUsed;
/** V8's gc(), null where it cannot be had or TENSORKERN_GC_NUDGE=0; undefined until first needed. */
let gcFn: GcFn | null | undefined;
type GcFn = (o?: { type: 'minor' }) => void;

function nudgeCollector(type: 'minor' | 'full'): boolean {
  if (gcFn === undefined) gcFn = loadGc();
  if (gcFn === null) return false;
  try {
    if (type === 'minor') gcFn({ type });
    else gcFn();
    return true;
  } catch {
    gcFn = null;
    return false;
  }
}

function loadGc(): GcFn | null {
  if (process.env.TENSORKERN_GC_NUDGE === '0') return null;
  try {
    const exposed = (globalThis as { gc?: unknown }).gc;
    if (typeof exposed === 'function') return exposed as GcFn; // node --expose-gc
    // The documented way to reach gc() without the command-line flag: it then exists in new contexts only.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    (require('v8') as typeof import('v8')).setFlagsFromString('--expose-gc');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const f = (require('vm') as typeof import('vm')).runInNewContext('gc') as unknown;
    return typeof f === 'function' ? (f as GcFn) : null;
  } catch {
    return null;
  }
}

/** @internal Storage for a host tensor: pooled where large enough (pooled = true), else a fresh typed array. */
export function allocHostStorage(dtype: DType, length: number): { storage: TypedArray; pooled: boolean } {
  const Ctor = DTYPES[dtype].array as unknown as { new (b: ArrayBuffer, off: number, len: number): TypedArray; BYTES_PER_ELEMENT: number };
  const bytes = length * Ctor.BYTES_PER_ELEMENT;
  if (bytes >= HOST_POOL_MIN_BYTES && bytes <= MAX_EXTERNAL_BYTES) {
    // Reaching gc() costs ~7 ms once (a V8 flag and a new context): paid at the first pooled output,
    // with the first call's other one-time costs, rather than in the middle of a later loop.
    if (gcFn === undefined) gcFn = loadGc();
    // Outputs dropped without dispose() come back once the collector has found them dead. In a
    // synchronous loop V8 may not collect its young generation for a long time, and it clears the
    // weak references that tell us only in such a collection: once eight outputs of this size (8 to
    // 64 MiB) have been lent since the last nudge, ask for one (~0.5 ms; a fresh block costs ~10 us per
    // 4 KiB page) and take back what it found. The blocks in circulation settle at what one cadence
    // needs: after the first few cycles every output is a warm block.
    if (lentSinceNudge + bytes >= Math.min(NUDGE_MAX_BYTES, Math.max(NUDGE_MIN_BYTES, 8 * bytes)) && nudgeCollector('minor')) {
      native.runtime.hostReclaim(bytes);
      lentSinceNudge = 0;
    }
    let ab = native.runtime.hostAlloc(bytes, true);
    // Outputs V8 has moved to its old generation (pretenured, or alive across two young
    // collections) are found dead only by a full collection. Large outputs make that worth it while
    // the heap is small: a full collection of a heap under 64 MB takes a few milliseconds, a fresh
    // 16 MiB output ~20 ms of page faults here. (gc() without options: on Node 20, gc({ type: 'major' })
    // left these weak references set.)
    if (
      ab === undefined &&
      bytes >= MAJOR_NUDGE_MIN_BYTES &&
      lentSinceMajor + bytes >= Math.max(FULL_NUDGE_BYTES, 8 * bytes) &&
      heapUsed() < MAJOR_NUDGE_MAX_HEAP &&
      nudgeCollector('full')
    ) {
      lentSinceMajor = 0;
      lentSinceNudge = 0;
      ab = native.runtime.hostAlloc(bytes, true);
    }
    if (ab === undefined) {
      // Without the nudge, dead outputs come back only on the collector's own schedule: past the
      // cap of lent memory, hand out V8's own memory (which its collector frees itself) instead.
      const st = gcFn === null ? native.runtime.hostPoolStats() : undefined;
      if (st && st.inUse > Math.max(LENT_CAP_MIN, st.limit)) {
        return { storage: new DTYPES[dtype].array(length), pooled: false };
      }
      ab = native.runtime.hostAlloc(bytes);
    }
    lentSinceNudge += bytes;
    lentSinceMajor += bytes;
    if (MOVING_TRANSFER) Object.defineProperties(ab, COPYING_TRANSFER);
    return { storage: new Ctor(ab, 0, length), pooled: true };
  }
  return { storage: new DTYPES[dtype].array(length), pooled: false };
}

/** @internal Gives pooled storage back now (detaching its buffer). */
export function releaseHostStorage(storage: TypedArray): void {
  native.runtime.hostRelease(storage.buffer as ArrayBuffer);
}
