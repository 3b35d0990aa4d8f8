// attention(q, k, v, opts): exact softmax attention, fused (FlashAttention-style tiling with an online
// softmax: the Sq x Sk score matrix is never materialized), on CPU tensors or on a CUDA device (tensors
// where the inputs are; float32 inputs run on the GPU's tensor cores converted to float16 on load --
// TENSORKERN_ATTENTION_KERNEL=simt for exact fp32; TENSORKERN_ATTENTION_KERNEL=sm90 opts in to the
// Hopper wgmma + TMA kernel on compute capability 9.0, float16 / bfloat16 head dims 33..128 -- not yet
// the default: it has not run on an H100). Semantics: DESIGN.md §5.
//
//   q [B, Hq, Sq, D], k / v [B, Hkv, Sk, D] (layout 'bhsd', the default), or [B, S, H, D] ('bshd');
//   Hq a multiple of Hkv (GQA / MQA: query head h uses KV head floor(h / (Hq / Hkv))); Sq != Sk allowed.
//   q, k, v: one dtype of float32 / float16 / bfloat16; accumulation in float32. The output has q's
//   shape, layout and dtype unless `out` (any float dtype) says otherwise.
//   causal: bottom-right aligned, query i sees keys j <= i + (Sk - Sq); with kvLengths, aligned to the
//   valid length: j <= i + kvLengths[b] - Sq.
//   mask: a Tensor broadcastable (numpy rules, rank 2..4) to [B, Hq, Sq, Sk] in that order whatever
//   the layout; int8 = boolean (nonzero = attend), float32 / float16 / bfloat16 = added to the score.
//   softcap: the scaled score s becomes softcap * tanh(s / softcap), before the mask is added.
//   A query row with no visible key gets 0 (and lse = -Infinity), never NaN.
//   returnLse: resolve to { out, lse } with lse float32 [B, Hq, Sq] = log sum_j exp(score_ij) over the
//   visible keys (scores scaled, capped and masked), the quantity a caller needs to merge partials.
import { NativeTensor, native } from '../binding';
import { DeviceSpec, resolveDevice } from '../device';
import { DType } from '../dtype';
import { invalidArg } from '../errors';
import { Tensor, checkTensor, nativeOf } from '../tensor';
import { checkOptions, shapeStr } from '../validate';
import { callAsync, callSync, checkBool, checkNumber, nativeOptional, overlaps } from './common';

export interface AttentionOptions {
  /** Bottom-right aligned causal masking (query i sees keys j <= i + Sk - Sq). Default false. */
  causal?: boolean;
  /** Multiplies q k^T. Default 1 / sqrt(D). */
  scale?: number;
  /** int8 (boolean: nonzero = attend) or float (additive) tensor, broadcastable to [B, Hq, Sq, Sk]. */
  mask?: Tensor;
  /** Valid keys per batch entry ([B] values in [0, Sk]); keys at or beyond are padding. */
  kvLengths?: Int32Array | readonly number[];
  /** Caps the scaled scores smoothly: softcap * tanh(s / softcap) (> 0; applied before the mask). */
  softcap?: number;
  /** 'bhsd' (default): [B, H, S, D]; 'bshd': [B, S, H, D]. Applies to q, k, v and out. */
  layout?: 'bhsd' | 'bshd';
  /** Also return the log-sum-exp of each row: resolves to { out, lse }. */
  returnLse?: boolean;
  /** Where to write the output: q's shape, float32 / float16 / bfloat16. */
  out?: Tensor;
  /** Where to run; default: where the inputs are. */
  device?: DeviceSpec;
}

export interface AttentionResult {
  out: Tensor;
  /** float32 [B, Hq, Sq]; -Infinity for rows with no visible key. */
  lse: Tensor;
}

const F32_MAX = 3.4028234663852886e38;
const F32_MIN_NORMAL = 1.1754943508222875e-38;
const KEYS = ['causal', 'scale', 'mask', 'kvLengths', 'softcap', 'layout', 'returnLse', 'out', 'device'] as const;
const FLOAT: readonly DType[] = ['float32', 'float16', 'bfloat16'];

type AttentionArgs = [NativeTensor, NativeTensor, NativeTensor, NativeTensor | undefined, NativeTensor | undefined, NativeTensor,
  NativeTensor | undefined, boolean, boolean, number, number];

interface Prepared {
  args: AttentionArgs;
  out: Tensor;
  lse?: Tensor;
  /** kvLengths copied to a device: released once the call is done. */
  temp?: Tensor;
}

function checkKvLengths(x: unknown, B: number, Sk: number): Int32Array {
  const name = 'options.kvLengths';
  if (!(x instanceof Int32Array) && !Array.isArray(x)) throw invalidArg(name, 'an Int32Array or an array of integers', x);
  if (x.length !== B) throw invalidArg(name, `${B} lengths (one per batch entry)`, `${x.length} lengths`, 'value', { described: true });
  const r = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    const n = x[b];
    if (typeof n !== 'number') throw invalidArg(`${name}[${b}]`, 'an integer', n);
    if (!Number.isInteger(n) || n < 0 || n > Sk) throw invalidArg(`${name}[${b}]`, `an integer in [0, ${Sk}] (Sk)`, n, 'range');
    r[b] = n;
  }
  return r;
}

function prepare(q: unknown, k: unknown, v: unknown, opts: unknown): Prepared {
  const Q = checkTensor(q, 'q');
  const K = checkTensor(k, 'k');
  const V = checkTensor(v, 'v');
  const o = checkOptions<AttentionOptions>(opts, 'options', KEYS);
  const layout = o.layout ?? 'bhsd';
  if (layout !== 'bhsd' && layout !== 'bshd') throw invalidArg('options.layout', `'bhsd' or 'bshd'`, o.layout, typeof o.layout === 'string' ? 'value' : 'type');
  const bshd = layout === 'bshd';
  const names = bshd ? '[B, S, H, D]' : '[B, H, S, D]';
  for (const [t, n] of [[Q, 'q'], [K, 'k'], [V, 'v']] as const) {
    if (t.ndim !== 4) throw invalidArg(n, `a rank-4 tensor ${names}`, `shape ${shapeStr(t.shape)}`, 'value', { described: true });
  }
  if (!FLOAT.includes(Q.dtype)) throw invalidArg('q', 'a float32, float16 or bfloat16 tensor', `a ${Q.dtype} tensor`, 'type', { described: true });
  for (const [t, n] of [[K, 'k'], [V, 'v']] as const) {
    if (t.dtype !== Q.dtype) throw invalidArg(n, `a ${Q.dtype} tensor (the dtype of q)`, `a ${t.dtype} tensor`, 'type', { described: true });
  }
  const hd = bshd ? 2 : 1, sd = bshd ? 1 : 2;
  const [B, Hq, Sq, D] = [Q.shape[0], Q.shape[hd], Q.shape[sd], Q.shape[3]];
  const [Hkv, Sk] = [K.shape[hd], K.shape[sd]];
  if (D < 1) throw invalidArg('q', 'a head dim D >= 1', `shape ${shapeStr(Q.shape)}`, 'value', { described: true });
  if (K.shape[0] !== B) throw invalidArg('k', `a batch of ${B} (that of q)`, `shape ${shapeStr(K.shape)}`, 'value', { described: true });
  if (K.shape[3] !== D) throw invalidArg('k', `head dim ${D} (that of q)`, `shape ${shapeStr(K.shape)}`, 'value', { described: true });
  if (!K.shape.every((d, i) => d === V.shape[i])) throw invalidArg('v', `shape ${shapeStr(K.shape)} (that of k)`, `shape ${shapeStr(V.shape)}`, 'value', { described: true });
  if (Hkv < 1 || Hq % Hkv !== 0) {
    throw invalidArg('k', `a number of heads that divides the ${Hq} query heads (GQA / MQA)`, `${Hkv} heads (shape ${shapeStr(K.shape)})`, 'value', { described: true });
  }

  const device = o.device === undefined ? Q.device : resolveDevice(o.device, 'options.device');
  for (const [t, n] of [[K, 'k'], [V, 'v'], [o.mask, 'options.mask'], [o.out, 'options.out']] as const) {
    if (t === undefined) continue;
    const T = checkTensor(t, n);
    if (T.device !== Q.device) throw invalidArg(n, `a tensor on ${Q.device} (the device of q)`, `a tensor on ${T.device}`, 'value', { described: true });
  }
  if (device !== Q.device) throw invalidArg('options.device', `${Q.device} (where the inputs are; move them with tensor.to())`, `'${device}'`, 'value', { described: true });

  const causal = checkBool(o.causal, 'options.causal', false);
  const returnLse = checkBool(o.returnLse, 'options.returnLse', false);
  // The kernels take scale and softcap as float32: a value float32 cannot hold would silently become
  // infinity or 0 (a softcap of 5e-324 turned the cap off: found by the property test).
  const scale = checkNumber(o.scale, 'options.scale', 1 / Math.sqrt(D));
  if (Math.abs(scale) > F32_MAX) throw invalidArg('options.scale', `a number a float32 can hold (|scale| <= ${F32_MAX})`, scale, 'range');
  const softcap = checkNumber(o.softcap, 'options.softcap', 0);
  if (o.softcap !== undefined && !(softcap >= F32_MIN_NORMAL && softcap <= F32_MAX)) {
    throw invalidArg('options.softcap', `a number > 0 in float32's normal range (${F32_MIN_NORMAL} to ${F32_MAX})`, softcap, 'range');
  }

  const full = [B, Hq, Sq, Sk];
  const mask = o.mask === undefined ? undefined : (o.mask as Tensor);
  if (mask) {
    if (mask.dtype !== 'int8' && !FLOAT.includes(mask.dtype)) {
      throw invalidArg('options.mask', 'an int8 (boolean: nonzero = attend) or float32 / float16 / bfloat16 (additive) tensor', `a ${mask.dtype} tensor`, 'type', { described: true });
    }
    const ok = mask.ndim >= 2 && mask.ndim <= 4 && mask.shape.every((d, i) => d === 1 || d === full[4 - mask.ndim + i]);
    if (!ok) throw invalidArg('options.mask', `a shape broadcastable to [B, Hq, Sq, Sk] = ${shapeStr(full)} (rank 2 to 4, each dim 1 or full)`, `shape ${shapeStr(mask.shape)}`, 'value', { described: true });
  }
  const kvl = o.kvLengths === undefined ? undefined : Tensor.from(checkKvLengths(o.kvLengths, B, Sk), [B], { dtype: 'int32', device: Q.device });

  let out: Tensor;
  if (o.out !== undefined) {
    out = o.out as Tensor;
    if (!out.shape.every((d, i) => d === Q.shape[i]) || out.ndim !== 4) throw invalidArg('options.out', `shape ${shapeStr(Q.shape)} (that of q)`, `shape ${shapeStr(out.shape)}`, 'value', { described: true });
    if (!FLOAT.includes(out.dtype)) throw invalidArg('options.out', 'a float32, float16 or bfloat16 tensor', `a ${out.dtype} tensor`, 'type', { described: true });
    for (const [t, n] of [[Q, 'q'], [K, 'k'], [V, 'v'], [mask, 'options.mask']] as const) {
      if (t && overlaps(out, t)) throw invalidArg('options.out', `memory that does not overlap ${n}`, 'an overlapping tensor', 'value', { described: true });
    }
  } else {
    out = Tensor.empty([...Q.shape], Q.dtype, device);
  }
  const lse = returnLse ? Tensor.empty([B, Hq, Sq], 'float32', device) : undefined;
  const args: AttentionArgs = [
    nativeOf(Q, 'q'), nativeOf(K, 'k'), nativeOf(V, 'v'), nativeOptional(mask, 'options.mask'), nativeOptional(kvl, 'options.kvLengths'),
    nativeOf(out, 'options.out'), nativeOptional(lse, 'lse'), causal, bshd, scale, softcap,
  ];
  return { args, out, lse, temp: kvl && kvl.device !== 'cpu' ? kvl : undefined };
}

/** Fused exact attention, computed off the event loop. With `returnLse: true`, resolves to { out, lse }. */
export async function attention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions & { returnLse: true }): Promise<AttentionResult>;
export async function attention(q: Tensor, k: Tensor, v: Tensor, opts?: AttentionOptions & { returnLse?: false }): Promise<Tensor>;
export async function attention(q: Tensor, k: Tensor, v: Tensor, opts?: AttentionOptions): Promise<Tensor | AttentionResult>;
export async function attention(q: Tensor, k: Tensor, v: Tensor, opts?: AttentionOptions): Promise<Tensor | AttentionResult> {
  return callAsync(attention, async () => {
    const p = prepare(q, k, v, opts);
    try {
      await native.attention(...p.args, true);
    } finally {
      p.temp?.dispose();
    }
    return p.lse ? { out: p.out, lse: p.lse } : p.out;
  });
}

/** Synchronous attention, for small problems (it blocks the event loop while it runs). */
export function attentionSync(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions & { returnLse: true }): AttentionResult;
export function attentionSync(q: Tensor, k: Tensor, v: Tensor, opts?: AttentionOptions & { returnLse?: false }): Tensor;
export function attentionSync(q: Tensor, k: Tensor, v: Tensor, opts?: AttentionOptions): Tensor | AttentionResult;
export function attentionSync(q: Tensor, k: Tensor, v: Tensor, opts?: AttentionOptions): Tensor | AttentionResult {
  const p = prepare(q, k, v, opts);
  try {
    callSync(() => native.attention(...p.args, false));
  } finally {
    p.temp?.dispose();
  }
  return p.lse ? { out: p.out, lse: p.lse } : p.out;
}
