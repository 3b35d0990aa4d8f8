// Shared plumbing for ops: argument checks that several ops need, and the sync / async call wrappers
// that turn native errors into the public error classes with the caller's stack.
import { NativeGraph, NativeTensor, native } from '../binding';
import { DType, DTYPES } from '../dtype';
import { captureStack, invalidArg, withArticle, wrapNative } from '../errors';
import { Device, DeviceSpec, resolveDevice } from '../device';
import { Tensor, checkTensor, nativeOf } from '../tensor';
import { shapeStr } from '../validate';

export function checkBool(v: unknown, name: string, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw invalidArg(name, 'a boolean', v);
  return v;
}

export function checkNumber(v: unknown, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number') throw invalidArg(name, 'a number', v);
  if (!Number.isFinite(v)) throw invalidArg(name, 'a finite number', v, 'range');
  return v;
}

/** The largest finite float32. */
export const F32_MAX = 3.4028234663852886e38;

/**
 * A finite number the kernels can take as float32 (a larger one would silently become infinity:
 * the property test found alpha = -3.4028235677973366e38 giving -Infinity).
 */
export function checkFloat32(v: unknown, name: string, dflt: number): number {
  const x = checkNumber(v, name, dflt);
  if (Math.abs(x) > F32_MAX)
    throw invalidArg(name, `a number a float32 can hold (|${name.slice(name.lastIndexOf('.') + 1)}| <= ${F32_MAX})`, x, 'range');
  return x;
}

/** True when two tensors' host storage shares bytes. */
export function overlaps(x: Tensor, y: Tensor): boolean {
  const a = nativeOf(x, 'x').data;
  const b = nativeOf(y, 'y').data;
  if (!a || !b || a.buffer !== b.buffer) return false;
  return a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}

/** Same storage, same bytes: an `out` that is also an input on purpose (in-place update). */
export function sameStorage(x: Tensor, y: Tensor): boolean {
  const a = nativeOf(x, 'x');
  const b = nativeOf(y, 'y');
  if (a.data && b.data)
    return a.data.buffer === b.data.buffer && a.data.byteOffset === b.data.byteOffset && a.data.byteLength === b.data.byteLength;
  return a.buffer !== undefined && a.buffer === b.buffer;
}

const FLOAT_QKV: readonly DType[] = ['float32', 'float16', 'bfloat16'];

/**
 * The checks attention-like ops share: `layout` 'bhsd' (default) or 'bshd', q / k / v rank 4, q of a float
 * dtype and k, v of q's. Returns whether the layout is 'bshd'.
 */
export function checkQkvLayout(Q: Tensor, K: Tensor, V: Tensor, layout: unknown): boolean {
  const l = layout ?? 'bhsd';
  if (l !== 'bhsd' && l !== 'bshd')
    throw invalidArg('options.layout', `'bhsd' or 'bshd'`, layout, typeof layout === 'string' ? 'value' : 'type');
  const names = l === 'bshd' ? '[B, S, H, D]' : '[B, H, S, D]';
  for (const [t, n] of [
    [Q, 'q'],
    [K, 'k'],
    [V, 'v'],
  ] as const) {
    if (t.ndim !== 4) throw invalidArg(n, `a rank-4 tensor ${names}`, `shape ${shapeStr(t.shape)}`, 'value', { described: true });
  }
  if (!FLOAT_QKV.includes(Q.dtype))
    throw invalidArg('q', 'a float32, float16 or bfloat16 tensor', `${withArticle(Q.dtype)} tensor`, 'type', { described: true });
  for (const [t, n] of [
    [K, 'k'],
    [V, 'v'],
  ] as const) {
    if (t.dtype !== Q.dtype)
      throw invalidArg(n, `${withArticle(Q.dtype)} tensor (the dtype of q)`, `${withArticle(t.dtype)} tensor`, 'type', { described: true });
  }
  return l === 'bshd';
}

/**
 * Where an attention-like op runs: on q's device. Every other tensor given must be there, and
 * options.device, when given, must name it (these ops never copy inputs between devices).
 */
export function onDeviceOfQ(Q: Tensor, others: readonly (readonly [unknown, string])[], deviceOpt: DeviceSpec | undefined): Device {
  const device = deviceOpt === undefined ? Q.device : resolveDevice(deviceOpt, 'options.device');
  for (const [t, n] of others) {
    if (t === undefined) continue;
    const T = checkTensor(t, n);
    if (T.device !== Q.device)
      throw invalidArg(n, `a tensor on ${Q.device} (the device of q)`, `a tensor on ${T.device}`, 'value', { described: true });
  }
  if (device !== Q.device)
    throw invalidArg('options.device', `${Q.device} (where the inputs are; move them with tensor.to())`, `'${device}'`, 'value', {
      described: true,
    });
  return device;
}

/** The native descriptor of a host array that is no Tensor (a quantizer's scratch, a matrix's CSR arrays). */
export function hostNative(dtype: DType, shape: number[], data: ArrayBufferView): NativeTensor {
  return { dtype: DTYPES[dtype].code, shape, data };
}

/** The native descriptor of an optional tensor argument. */
export function nativeOptional(t: Tensor | undefined, name: string): NativeTensor | undefined {
  return t === undefined ? undefined : nativeOf(t, name);
}

/** The op graph being recorded (lib/graph.ts recordGraph), or null: Sync ops then record instead of running. */
let recording: NativeGraph | null = null;

/** @internal Sets the graph that Sync ops record into (null: they run). */
export function setRecording(g: NativeGraph | null): void {
  recording = g;
}

/** @internal True while recordGraph records. */
export function isRecording(): boolean {
  return recording !== null;
}

/** Runs an async native call; rejections become public errors with the stack captured at `caller`. */
export async function callAsync<T>(caller: (...args: never[]) => unknown, fn: () => Promise<T>): Promise<T> {
  const stack = captureStack(caller);
  if (recording !== null) {
    throw invalidArg(
      caller.name || 'op',
      `the Sync form (${caller.name}Sync) inside recordGraph: an awaited op is not recorded`,
      `${caller.name}()`,
      'value',
      { described: true },
    );
  }
  try {
    return await fn();
  } catch (e) {
    throw wrapNative(e, stack);
  }
}

/** Runs a sync native call (inside recordGraph: records it), turning failures into public errors. */
export function callSync<T>(fn: () => T): T {
  if (recording !== null) return recordCall(recording, fn);
  try {
    return fn();
  } catch (e) {
    throw wrapNative(e);
  }
}

function recordCall<T>(g: NativeGraph, fn: () => T): T {
  try {
    native.runtime.graphBegin(g);
    return fn();
  } catch (e) {
    throw wrapNative(e);
  } finally {
    native.runtime.graphEnd();
  }
}
