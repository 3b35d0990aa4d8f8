// Transformer block ops: rmsNorm, rope, silu, swiglu, add, softmax, embedding, argmax, topk, kvAppend
// (docs/block-ops.md). Each checks shapes and dtypes here, then makes one binding call whose native
// closure does all of the work: int32 host tensors (positions, ids, position) are read and
// range-checked by the native code on every run, never copied or captured here.
import { native } from '../binding';
import { DType } from '../dtype';
import { Device } from '../device';
import { invalidArg, withArticle } from '../errors';
import { Tensor, checkTensor, nativeOf } from '../tensor';
import { checkOptions, shapeStr } from '../validate';
import { callAsync, callSync, checkFloat32, nativeOptional, overlaps, sameStorage } from './common';

export interface RmsNormOptions {
  /** Added to mean(x^2) before the square root (default 1e-5). */
  eps?: number;
  /** Write here (x's shape, any float dtype, x's device); may be x itself. */
  out?: Tensor;
}
export interface RopeOptions {
  /** Position of row s: p0 + s for a number p0 (default 0), or an int32 host tensor [S] or [B, S] read at run time. */
  positions?: number | Tensor;
  /** Base of the frequencies (default 10000). */
  theta?: number;
  /** 'interleaved' rotates pairs (2i, 2i+1) (llama, llama2.c); 'half' rotates (i, i + D/2) (GPT-NeoX, HF rotate_half). */
  style?: 'interleaved' | 'half';
  /** Write here (x's shape, any float dtype); may be x itself. */
  out?: Tensor;
}
export interface OutOptions {
  /** Write here (the result's shape, any float dtype, the input's device); may be an input itself. */
  out?: Tensor;
}
export interface EmbeddingOptions {
  /** Write here: [...ids.shape, D], a float dtype, table's device. */
  out?: Tensor;
  /** The output dtype when out is not given (default float32). */
  dtype?: DType;
}
export interface ArgmaxOptions {
  /** Write here: int32, x's shape without its last dim. */
  out?: Tensor;
}
export interface TopkOptions {
  /** float32 [..., k] for the values. */
  values?: Tensor;
  /** int32 [..., k] for the indices. */
  indices?: Tensor;
}
export interface TopkResult {
  values: Tensor;
  indices: Tensor;
}
export interface KvAppendOptions {
  /** First cache row to write: a number (default 0) or an int32 host tensor [1] (or [B]) read at run time. */
  position?: number | Tensor;
  /** The sequence dim of cache and x: 0 for [Smax, ...rest] (default), 1 for [B, Smax, ...rest]. */
  seqDim?: 0 | 1;
}

const FLOATS: readonly DType[] = ['float32', 'float16', 'bfloat16'];
const INT32_MAX = 2147483647;

type Call = (async: boolean) => Promise<void> | void;

function floatTensor(x: unknown, name: string): Tensor {
  const t = checkTensor(x, name);
  if (!FLOATS.includes(t.dtype))
    throw invalidArg(name, 'a float32, float16 or bfloat16 tensor', `${withArticle(t.dtype)} tensor`, 'type', { described: true });
  return t;
}

function onDevice(t: Tensor, name: string, device: Device, of: string): void {
  if (t.device !== device)
    throw invalidArg(name, `a tensor on ${device} (where ${of} is)`, `a tensor on ${t.device}`, 'value', { described: true });
}

function sameDims(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function needShape(t: Tensor, name: string, shape: readonly number[], why: string): void {
  if (!sameDims(t.shape, shape))
    throw invalidArg(name, `shape ${shapeStr(shape)} (${why})`, `shape ${shapeStr(t.shape)}`, 'value', { described: true });
}

/** An int32 host tensor the native run reads (positions, ids, position). */
function hostInt32(x: unknown, name: string): Tensor {
  const t = checkTensor(x, name);
  if (t.dtype !== 'int32') throw invalidArg(name, 'an int32 tensor', `${withArticle(t.dtype)} tensor`, 'type', { described: true });
  if (t.device !== 'cpu')
    throw invalidArg(name, 'a host (cpu) tensor (read at run time)', `a tensor on ${t.device}`, 'value', { described: true });
  return t;
}

function position(v: unknown, name: string): number {
  if (typeof v !== 'number') throw invalidArg(name, 'a number or an int32 host tensor', v);
  if (!Number.isInteger(v) || v < 0 || v > INT32_MAX) throw invalidArg(name, `an integer in [0, ${INT32_MAX}]`, v, 'range');
  return v;
}

/**
 * The output: `given` checked (dtype among `dtypes`, `shape`, `device`; it may be one of `inputs`
 * exactly when `alias`, never overlap one partially), else a new tensor of `dtype`.
 */
function output(
  given: unknown,
  name: string,
  shape: readonly number[],
  dtype: DType,
  device: Device,
  inputs: [Tensor, string][],
  dtypes: readonly DType[] = FLOATS,
  alias = true,
): Tensor {
  if (given === undefined) return Tensor.empty(shape.slice(), dtype, device);
  const out = checkTensor(given, name);
  if (!dtypes.includes(out.dtype)) {
    const want = dtypes.length === 1 ? `${withArticle(dtypes[0])} tensor` : 'a float32, float16 or bfloat16 tensor';
    throw invalidArg(name, want, `${withArticle(out.dtype)} tensor`, 'type', { described: true });
  }
  if (out.device !== device) throw invalidArg(name, `a tensor on ${device}`, `a tensor on ${out.device}`, 'value', { described: true });
  if (!sameDims(out.shape, shape))
    throw invalidArg(name, `shape ${shapeStr(shape)}`, `shape ${shapeStr(out.shape)}`, 'value', { described: true });
  for (const [t, tn] of inputs) {
    const same = sameStorage(t, out);
    if ((same && !alias) || (!same && overlaps(t, out))) {
      throw invalidArg(
        name,
        alias ? `memory that does not overlap ${tn} (or is ${tn} itself)` : `memory that does not overlap ${tn}`,
        'an overlapping view',
        'value',
        { described: true },
      );
    }
  }
  return out;
}

async function runAsync<R>(caller: (...args: never[]) => unknown, call: Call, result: R): Promise<R> {
  await callAsync(caller, async () => call(true));
  return result;
}
function runSync<R>(call: Call, result: R): R {
  callSync(() => call(false));
  return result;
}

// ---- rmsNorm ---------------------------------------------------------------------------------------

function prepRmsNorm(x: unknown, weight: unknown, opts: unknown): [Call, Tensor] {
  const X = floatTensor(x, 'x');
  const o = checkOptions<RmsNormOptions>(opts, 'options', ['eps', 'out']);
  const D = X.shape[X.ndim - 1];
  if (X.ndim < 1 || D < 1)
    throw invalidArg('x', 'a tensor [..., D] with D >= 1', `shape ${shapeStr(X.shape)}`, 'value', { described: true });
  const W = floatTensor(weight, 'weight');
  needShape(W, 'weight', [D], 'the last dim of x');
  onDevice(W, 'weight', X.device, 'x');
  const eps = checkFloat32(o.eps, 'options.eps', 1e-5);
  if (eps < 0) throw invalidArg('options.eps', 'a number >= 0', eps, 'range');
  const out = output(o.out, 'options.out', X.shape, X.dtype, X.device, [
    [X, 'x'],
    [W, 'weight'],
  ]);
  return [(a) => native.ops.rmsNorm({ x: nativeOf(X, 'x'), weight: nativeOf(W, 'weight'), out: nativeOf(out, 'out'), eps }, a), out];
}

/** y = x * weight / sqrt(mean(x^2) + eps) over the last dim, computed in float32. */
export async function rmsNorm(x: Tensor, weight: Tensor, opts?: RmsNormOptions): Promise<Tensor> {
  return runAsync(rmsNorm, ...prepRmsNorm(x, weight, opts));
}
export function rmsNormSync(x: Tensor, weight: Tensor, opts?: RmsNormOptions): Tensor {
  return runSync(...prepRmsNorm(x, weight, opts));
}

// ---- rope ------------------------------------------------------------------------------------------

function prepRope(x: unknown, opts: unknown): [Call, Tensor] {
  const X = floatTensor(x, 'x');
  const o = checkOptions<RopeOptions>(opts, 'options', ['positions', 'theta', 'style', 'out']);
  if (X.ndim !== 3 && X.ndim !== 4)
    throw invalidArg('x', 'a rank-3 [S, H, D] or rank-4 [B, S, H, D] tensor', `shape ${shapeStr(X.shape)}`, 'value', { described: true });
  const D = X.shape[X.ndim - 1];
  const S = X.shape[X.ndim - 3];
  if (D < 2 || D % 2 !== 0) throw invalidArg('x', 'an even head dim D >= 2', `shape ${shapeStr(X.shape)}`, 'value', { described: true });
  let start = 0;
  let pos: Tensor | undefined;
  if (o.positions instanceof Tensor) {
    pos = hostInt32(o.positions, 'options.positions');
    const ok = sameDims(pos.shape, [S]) || (X.ndim === 4 && sameDims(pos.shape, [X.shape[0], S]));
    if (!ok) {
      const want = X.ndim === 4 ? `shape [${S}] or [${X.shape[0]}, ${S}]` : `shape [${S}]`;
      throw invalidArg('options.positions', `${want} (the sequence of x)`, `shape ${shapeStr(pos.shape)}`, 'value', { described: true });
    }
  } else if (o.positions !== undefined) {
    start = position(o.positions, 'options.positions');
  }
  const theta = checkFloat32(o.theta, 'options.theta', 10000);
  if (!(theta > 0)) throw invalidArg('options.theta', 'a number > 0', theta, 'range');
  const style = o.style ?? 'interleaved';
  if (style !== 'interleaved' && style !== 'half')
    throw invalidArg('options.style', `'interleaved' or 'half'`, style, typeof style === 'string' ? 'value' : 'type');
  const out = output(
    o.out,
    'options.out',
    X.shape,
    X.dtype,
    X.device,
    pos
      ? [
          [X, 'x'],
          [pos, 'options.positions'],
        ]
      : [[X, 'x']],
  );
  return [
    (a) =>
      native.ops.rope(
        {
          x: nativeOf(X, 'x'),
          positions: nativeOptional(pos, 'options.positions'),
          start,
          theta,
          half: style === 'half',
          out: nativeOf(out, 'out'),
        },
        a,
      ),
    out,
  ];
}

/** Rotary position embedding of x [S, H, D] or [B, S, H, D] (see RopeOptions). */
export async function rope(x: Tensor, opts?: RopeOptions): Promise<Tensor> {
  return runAsync(rope, ...prepRope(x, opts));
}
export function ropeSync(x: Tensor, opts?: RopeOptions): Tensor {
  return runSync(...prepRope(x, opts));
}

// ---- silu, swiglu, add, softmax --------------------------------------------------------------------

function prepUnary(op: 'silu' | 'softmax', x: unknown, opts: unknown): [Call, Tensor] {
  const X = floatTensor(x, 'x');
  const o = checkOptions<OutOptions>(opts, 'options', ['out']);
  if (op === 'softmax' && X.ndim < 1)
    throw invalidArg('x', 'a tensor of rank >= 1', `shape ${shapeStr(X.shape)}`, 'value', { described: true });
  const out = output(o.out, 'options.out', X.shape, X.dtype, X.device, [[X, 'x']]);
  return [(a) => native.ops[op]({ x: nativeOf(X, 'x'), out: nativeOf(out, 'out') }, a), out];
}

function prepBinary(op: 'swiglu' | 'add', a: unknown, b: unknown, opts: unknown): [Call, Tensor] {
  const [an, bn] = op === 'swiglu' ? ['gate', 'up'] : ['a', 'b'];
  const A = floatTensor(a, an);
  const B = floatTensor(b, bn);
  const o = checkOptions<OutOptions>(opts, 'options', ['out']);
  onDevice(B, bn, A.device, an);
  if (op === 'swiglu') {
    needShape(B, bn, A.shape, `that of ${an}`);
  } else {
    const k = A.ndim - B.ndim;
    if (k < 0 || !sameDims(A.shape.slice(k), B.shape) || (B.size === 0 && A.size !== 0)) {
      throw invalidArg(
        bn,
        `shape ${shapeStr(A.shape)} or a suffix of it (broadcast over the leading dims of ${an})`,
        `shape ${shapeStr(B.shape)}`,
        'value',
        { described: true },
      );
    }
  }
  const out = output(o.out, 'options.out', A.shape, A.dtype, A.device, [
    [A, an],
    [B, bn],
  ]);
  const call: Call =
    op === 'swiglu'
      ? (s) => native.ops.swiglu({ gate: nativeOf(A, an), up: nativeOf(B, bn), out: nativeOf(out, 'out') }, s)
      : (s) => native.ops.add({ a: nativeOf(A, an), b: nativeOf(B, bn), out: nativeOf(out, 'out') }, s);
  return [call, out];
}

/** x * sigmoid(x), elementwise. */
export async function silu(x: Tensor, opts?: OutOptions): Promise<Tensor> {
  return runAsync(silu, ...prepUnary('silu', x, opts));
}
export function siluSync(x: Tensor, opts?: OutOptions): Tensor {
  return runSync(...prepUnary('silu', x, opts));
}
/** silu(gate) * up, elementwise (same shapes). */
export async function swiglu(gate: Tensor, up: Tensor, opts?: OutOptions): Promise<Tensor> {
  return runAsync(swiglu, ...prepBinary('swiglu', gate, up, opts));
}
export function swigluSync(gate: Tensor, up: Tensor, opts?: OutOptions): Tensor {
  return runSync(...prepBinary('swiglu', gate, up, opts));
}
/** a + b; b's shape equals a's or is a suffix of it (broadcast over a's leading dims). */
export async function add(a: Tensor, b: Tensor, opts?: OutOptions): Promise<Tensor> {
  return runAsync(add, ...prepBinary('add', a, b, opts));
}
export function addSync(a: Tensor, b: Tensor, opts?: OutOptions): Tensor {
  return runSync(...prepBinary('add', a, b, opts));
}
/** Softmax over the last dim (max-subtracted, float32 accumulation). */
export async function softmax(x: Tensor, opts?: OutOptions): Promise<Tensor> {
  return runAsync(softmax, ...prepUnary('softmax', x, opts));
}
export function softmaxSync(x: Tensor, opts?: OutOptions): Tensor {
  return runSync(...prepUnary('softmax', x, opts));
}

// ---- embedding -------------------------------------------------------------------------------------

function prepEmbedding(table: unknown, ids: unknown, opts: unknown): [Call, Tensor] {
  const T = floatTensor(table, 'table');
  if (T.ndim !== 2) throw invalidArg('table', 'a rank-2 tensor [V, D]', `shape ${shapeStr(T.shape)}`, 'value', { described: true });
  const I = hostInt32(ids, 'ids');
  if (I.ndim !== 1 && I.ndim !== 2)
    throw invalidArg('ids', 'shape [T] or [B, T]', `shape ${shapeStr(I.shape)}`, 'value', { described: true });
  const o = checkOptions<EmbeddingOptions>(opts, 'options', ['out', 'dtype']);
  let dtype: DType = 'float32';
  if (o.dtype !== undefined) {
    if (!FLOATS.includes(o.dtype))
      throw invalidArg('options.dtype', `'float32', 'float16' or 'bfloat16'`, o.dtype, typeof o.dtype === 'string' ? 'value' : 'type');
    dtype = o.dtype;
  }
  const out = output(
    o.out,
    'options.out',
    [...I.shape, T.shape[1]],
    dtype,
    T.device,
    [
      [T, 'table'],
      [I, 'ids'],
    ],
    FLOATS,
    false,
  );
  if (o.out !== undefined && o.dtype !== undefined && out.dtype !== dtype) {
    throw invalidArg('options.out', `${withArticle(dtype)} tensor (options.dtype)`, `${withArticle(out.dtype)} tensor`, 'type', {
      described: true,
    });
  }
  return [(a) => native.ops.embedding({ table: nativeOf(T, 'table'), ids: nativeOf(I, 'ids'), out: nativeOf(out, 'out') }, a), out];
}

/** Rows of table [V, D] picked by ids (int32 host [T] or [B, T], read and checked at run time). */
export async function embedding(table: Tensor, ids: Tensor, opts?: EmbeddingOptions): Promise<Tensor> {
  return runAsync(embedding, ...prepEmbedding(table, ids, opts));
}
export function embeddingSync(table: Tensor, ids: Tensor, opts?: EmbeddingOptions): Tensor {
  return runSync(...prepEmbedding(table, ids, opts));
}

// ---- argmax, topk ----------------------------------------------------------------------------------

function lastDim(X: Tensor): number {
  const N = X.ndim < 1 ? 0 : X.shape[X.ndim - 1];
  if (N < 1) throw invalidArg('x', 'a tensor [..., N] with N >= 1', `shape ${shapeStr(X.shape)}`, 'value', { described: true });
  if (N > INT32_MAX)
    throw invalidArg('x', `a last dim of at most ${INT32_MAX} (int32 indices)`, `shape ${shapeStr(X.shape)}`, 'value', { described: true });
  return N;
}

function prepArgmax(x: unknown, opts: unknown): [Call, Tensor] {
  const X = floatTensor(x, 'x');
  const o = checkOptions<ArgmaxOptions>(opts, 'options', ['out']);
  lastDim(X);
  const out = output(o.out, 'options.out', X.shape.slice(0, -1), 'int32', X.device, [[X, 'x']], ['int32'], false);
  return [(a) => native.ops.argmax({ x: nativeOf(X, 'x'), out: nativeOf(out, 'out') }, a), out];
}

/** Index of the largest element of each last-dim row (int32 [...]); the first on ties; a NaN ranks above every number. */
export async function argmax(x: Tensor, opts?: ArgmaxOptions): Promise<Tensor> {
  return runAsync(argmax, ...prepArgmax(x, opts));
}
export function argmaxSync(x: Tensor, opts?: ArgmaxOptions): Tensor {
  return runSync(...prepArgmax(x, opts));
}

function prepTopk(x: unknown, k: unknown, opts: unknown): [Call, TopkResult] {
  const X = floatTensor(x, 'x');
  const o = checkOptions<TopkOptions>(opts, 'options', ['values', 'indices']);
  const N = lastDim(X);
  if (typeof k !== 'number') throw invalidArg('k', 'a number', k);
  if (!Number.isInteger(k) || k < 1 || k > N) throw invalidArg('k', `an integer in [1, ${N}] (the last dim of x)`, k, 'range');
  const shape = [...X.shape.slice(0, -1), k];
  const values = output(o.values, 'options.values', shape, 'float32', X.device, [[X, 'x']], ['float32'], false);
  const indices = output(
    o.indices,
    'options.indices',
    shape,
    'int32',
    X.device,
    [
      [X, 'x'],
      [values, 'options.values'],
    ],
    ['int32'],
    false,
  );
  return [
    (a) => native.ops.topk({ x: nativeOf(X, 'x'), k, values: nativeOf(values, 'values'), indices: nativeOf(indices, 'indices') }, a),
    { values, indices },
  ];
}

/** The k largest of each last-dim row, sorted descending (ties: lower index first; NaN ranks highest). */
export async function topk(x: Tensor, k: number, opts?: TopkOptions): Promise<TopkResult> {
  return runAsync(topk, ...prepTopk(x, k, opts));
}
export function topkSync(x: Tensor, k: number, opts?: TopkOptions): TopkResult {
  return runSync(...prepTopk(x, k, opts));
}

// ---- kvAppend --------------------------------------------------------------------------------------

function prepKvAppend(cache: unknown, x: unknown, opts: unknown): [Call, Tensor] {
  const C = floatTensor(cache, 'cache');
  const X = floatTensor(x, 'x');
  const o = checkOptions<KvAppendOptions>(opts, 'options', ['position', 'seqDim']);
  const sd = o.seqDim ?? 0;
  if (sd !== 0 && sd !== 1) throw invalidArg('options.seqDim', '0 or 1', sd, typeof sd === 'number' ? 'value' : 'type');
  if (C.ndim < sd + 1) {
    throw invalidArg(
      'cache',
      sd === 0 ? 'a tensor [Smax, ...rest]' : 'a tensor [B, Smax, ...rest]',
      `shape ${shapeStr(C.shape)}`,
      'value',
      { described: true },
    );
  }
  onDevice(X, 'x', C.device, 'cache');
  if (X.ndim !== C.ndim || !C.shape.every((d, i) => i === sd || d === X.shape[i])) {
    const want = C.shape.map((d, i) => (i === sd ? 'S' : String(d))).join(', ');
    throw invalidArg('x', `shape [${want}] (that of cache, any length S in dim ${sd})`, `shape ${shapeStr(X.shape)}`, 'value', {
      described: true,
    });
  }
  if (overlaps(C, X) || sameStorage(C, X))
    throw invalidArg('x', 'memory that does not overlap cache', 'an overlapping view', 'value', { described: true });
  let start = 0;
  let pos: Tensor | undefined;
  if (o.position instanceof Tensor) {
    pos = hostInt32(o.position, 'options.position');
    const B = sd === 1 ? C.shape[0] : 1;
    if (pos.ndim !== 1 || (pos.shape[0] !== 1 && pos.shape[0] !== B)) {
      throw invalidArg(
        'options.position',
        B === 1 ? 'shape [1]' : `shape [1] or [${B}] (the batch of cache)`,
        `shape ${shapeStr(pos.shape)}`,
        'value',
        { described: true },
      );
    }
  } else if (o.position !== undefined) {
    start = position(o.position, 'options.position');
  }
  return [
    (a) =>
      native.ops.kvAppend(
        { cache: nativeOf(C, 'cache'), x: nativeOf(X, 'x'), position: nativeOptional(pos, 'options.position'), start, seqDim: sd },
        a,
      ),
    C,
  ];
}

/** Writes x into cache rows position .. position + S - 1 along the sequence dim (converting the dtype); returns cache. */
export async function kvAppend(cache: Tensor, x: Tensor, opts?: KvAppendOptions): Promise<Tensor> {
  return runAsync(kvAppend, ...prepKvAppend(cache, x, opts));
}
export function kvAppendSync(cache: Tensor, x: Tensor, opts?: KvAppendOptions): Tensor {
  return runSync(...prepKvAppend(cache, x, opts));
}
