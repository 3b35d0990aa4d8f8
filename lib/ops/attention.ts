// attention(q, k, v, opts): exact softmax attention, fused (FlashAttention-style tiling with an online
// softmax: the Sq x Sk score matrix is never materialized), on CPU tensors or on a CUDA device (tensors
// where the inputs are; float32 inputs run on the GPU's tensor cores converted to float16 on load --
// TENSORKERN_ATTENTION_KERNEL=simt for exact fp32; TENSORKERN_ATTENTION_KERNEL=sm90 opts in to the
// Hopper wgmma + TMA kernel on compute capability 9.0, float16 / bfloat16 head dims 33..128 -- not yet
// the default: it has not run on an H100; on CPUs with AVX512_BF16, bfloat16 inputs round P to
// bfloat16 for P V). Semantics: docs/attention.md.
//
//   q [B, Hq, Sq, D], k [B, Hkv, Sk, D], v [B, Hkv, Sk, Dv] (layout 'bhsd', the default), or
//   [B, S, H, D | Dv] ('bshd'); Hq a multiple of Hkv (GQA / MQA: query head h uses KV head
//   floor(h / (Hq / Hkv))); Sq != Sk and Dv != D allowed. q, k, v: one dtype of float32 / float16 /
//   bfloat16; accumulation in float32. The output is [B, Hq, Sq, Dv] in q's layout and dtype unless
//   `out` (any float dtype) says otherwise.
//   causal: query i sees keys j <= i + causalOffset; the default offset is bottom-right, Sk - Sq, and
//   with kvLengths aligned to the valid length, kvLengths[b] - Sq; 0 is top-left. kvLengths clip
//   either way (j < kvLengths[b]).
//   mask: a Tensor broadcastable (numpy rules, rank 1..4) to [B, Hq, Sq, Sk] in that order whatever
//   the layout; bool / int8 = boolean (nonzero = attend), float32 / float16 / bfloat16 = added to the
//   score. Its last dim may also be shorter than Sk (2..Sk - 1): the keys past it are hidden, as ONNX
//   pads such a mask with -inf / false.
//   softcap: the scaled score s becomes softcap * tanh(s / softcap), before the mask is added; 0 = off.
//   A query row with no visible key gets 0 (and lse = -Infinity), never NaN.
//   returnLse: resolve to { out, lse } with lse float32 [B, Hq, Sq] = log sum_j exp(score_ij) over the
//   visible keys (scores scaled, capped and masked), the quantity a caller needs to merge partials.
import { NativeAttentionParams, NativeTensor, native } from '../binding';
import { Device, DeviceSpec } from '../device';
import { DType } from '../dtype';
import { invalidArg, withArticle } from '../errors';
import { Tensor, checkTensor, nativeOf } from '../tensor';
import { checkOptions, shapeStr } from '../validate';
import {
  callAsync,
  callSync,
  checkBool,
  checkFloat32,
  checkNumber,
  checkQkvLayout,
  F32_MAX,
  onDeviceOfQ,
  nativeOptional,
  overlaps,
} from './common';

export interface AttentionOptions {
  /** Causal masking: query i sees keys j <= i + causalOffset (default bottom-right). Default false. */
  causal?: boolean;
  /**
   * With causal: query i sees keys j <= i + causalOffset, an integer in [-Sq, Sk]. Default Sk - Sq
   * (bottom-right; kvLengths[b] - Sq with kvLengths); 0 aligns top-left (ONNX without past); the
   * past length P aligns as ONNX with past (P = Sk - Sq when k holds past and new keys).
   */
  causalOffset?: number;
  /** Multiplies q k^T. Default 1 / sqrt(D). */
  scale?: number;
  /**
   * bool / int8 (nonzero = attend) or float (additive) tensor, broadcastable to [B, Hq, Sq, Sk] (rank
   * 1..4); a last dim shorter than Sk hides the keys past it.
   */
  mask?: Tensor;
  /**
   * Valid keys per batch entry ([B] values in [0, Sk]); keys at or beyond are padding. An Int32Array,
   * BigInt64Array, array of integers, or an int32 / int64 host tensor of shape [B]. With host q, k and
   * v an int32 host tensor is read in place (no copy): the values it holds when the op runs are the
   * ones used, and they are range-checked then.
   */
  kvLengths?: Int32Array | BigInt64Array | readonly (number | bigint)[] | Tensor;
  /** Caps the scaled scores smoothly: softcap * tanh(s / softcap) (applied before the mask). 0 = off (the default). */
  softcap?: number;
  /**
   * 'bhsd' (default): [B, H, S, D]; 'bshd': [B, S, H, D]. Applies to q, k, v and out. Left out, the
   * shapes are read as 'bhsd', except when they are valid read both ways and 'bhsd' would give
   * Sq != Sk (Sk then divides Sq): that is an error asking for the layout, since [B, S, H, D] data
   * with GQA / MQA heads (q [B, S, Hq, D], k [B, S, Hkv, D]) has exactly those shapes. Shapes that
   * fit both readings with Sq == Sk under 'bhsd' (equal q and k shapes, 'bhsd' GQA) stay 'bhsd'.
   */
  layout?: 'bhsd' | 'bshd';
  /**
   * Debugging small shapes (ONNX's qk_matmul_output): also write the materialized score matrix, float32
   * [B, Hq, Sq, Sk] on the CPU, at one stage of the pipeline: 'qk' (scale * q k^T, the default),
   * 'softcap' (after the softcap), 'mask' (after the masks: hidden keys -Infinity) or 'softmax'
   * (probabilities; 0 for hidden keys and for rows that see none). A float64 slow path apart from the
   * fused kernels: O(Sq * Sk) memory.
   */
  qkOutput?: { out: Tensor; stage?: QkStage };
  /** Also return the log-sum-exp of each row: resolves to { out, lse }. */
  returnLse?: boolean;
  /** Where to write the output: [B, Hq, Sq, Dv] in q's layout, float32 / float16 / bfloat16. */
  out?: Tensor;
  /** Where to run; default: where the inputs are. */
  device?: DeviceSpec;
}

export interface AttentionResult {
  out: Tensor;
  /** float32 [B, Hq, Sq]; -Infinity for rows with no visible key. */
  lse: Tensor<'float32'>;
}

const FLOAT: readonly DType[] = ['float32', 'float16', 'bfloat16'];
const F32_MIN_NORMAL = 1.1754943508222875e-38;
const KEYS = [
  'causal',
  'causalOffset',
  'scale',
  'mask',
  'kvLengths',
  'softcap',
  'layout',
  'returnLse',
  'qkOutput',
  'out',
  'device',
] as const;
/** The stages of the score pipeline qkOutput can show, in pipeline order (the native codes). */
export type QkStage = 'qk' | 'softcap' | 'mask' | 'softmax';
const QK_STAGES: readonly QkStage[] = ['qk', 'softcap', 'mask', 'softmax'];
const MASK_DTYPES: readonly DType[] = ['bool', 'int8', ...FLOAT];

interface Prepared {
  params: NativeAttentionParams;
  out: Tensor;
  lse?: Tensor<'float32'>;
  /** kvLengths copied to a device: released once the call is done. */
  temp?: Tensor;
}

/**
 * The validated kvLengths: the caller's own int32 host tensor of shape [B] as it is (no copy: the
 * native side reads its contents at each run and range-checks them there too, so changes made
 * between calls are seen), else the values copied into an Int32Array.
 */
function checkKvLengths(x: unknown, B: number, Sk: number, device: Device): Tensor | Int32Array {
  const name = 'options.kvLengths';
  let vals: ArrayLike<unknown>;
  if (x instanceof Tensor) {
    checkTensor(x, name);
    if (x.dtype !== 'int32' && x.dtype !== 'int64')
      throw invalidArg(name, 'an int32 or int64 tensor', `${withArticle(x.dtype)} tensor`, 'type', { described: true });
    if (x.device !== 'cpu') throw invalidArg(name, 'a host (cpu) tensor', `a tensor on ${x.device}`, 'value', { described: true });
    if (x.ndim !== 1) throw invalidArg(name, `a tensor of shape [${B}]`, `shape ${shapeStr(x.shape)}`, 'value', { described: true });
    vals = x.toArraySync() as Int32Array | BigInt64Array;
  } else if (x instanceof Int32Array || x instanceof BigInt64Array || Array.isArray(x)) {
    vals = x;
  } else {
    throw invalidArg(name, 'an Int32Array, a BigInt64Array, an array of integers or an int32 / int64 host tensor', x);
  }
  if (vals.length !== B)
    throw invalidArg(name, `${B} lengths (one per batch entry)`, `${vals.length} lengths`, 'value', { described: true });
  const direct = x instanceof Tensor && x.dtype === 'int32' && device === 'cpu';
  const r = direct ? undefined : new Int32Array(B);
  for (let b = 0; b < B; b++) {
    const v = vals[b];
    if (typeof v !== 'number' && typeof v !== 'bigint') throw invalidArg(`${name}[${b}]`, 'an integer', v);
    const n = typeof v === 'bigint' ? (v >= 0n && v <= BigInt(Sk) ? Number(v) : v) : v;
    if (typeof n === 'bigint' || !Number.isInteger(n) || n < 0 || n > Sk)
      throw invalidArg(`${name}[${b}]`, `an integer in [0, ${Sk}] (Sk)`, n, 'range');
    if (r) r[b] = n;
  }
  return r ?? (x as Tensor);
}

/** Throws unless `dst` (the output named `name`) shares no memory with any of `srcs`. */
function checkNoOverlap(dst: Tensor, name: string, srcs: readonly (readonly [Tensor | undefined, string])[]): void {
  for (const [t, n] of srcs) {
    if (t && overlaps(dst, t))
      throw invalidArg(name, `memory that does not overlap ${n}`, 'an overlapping tensor', 'value', { described: true });
  }
}

function prepare(q: unknown, k: unknown, v: unknown, opts: unknown): Prepared {
  const Q = checkTensor(q, 'q');
  const K = checkTensor(k, 'k');
  const V = checkTensor(v, 'v');
  const o = checkOptions<AttentionOptions>(opts, 'options', KEYS);
  const bshd = checkQkvLayout(Q, K, V, o.layout);
  const hd = bshd ? 2 : 1,
    sd = bshd ? 1 : 2;
  const [B, Hq, Sq, D] = [Q.shape[0], Q.shape[hd], Q.shape[sd], Q.shape[3]];
  const [Hkv, Sk] = [K.shape[hd], K.shape[sd]];
  if (D < 1) throw invalidArg('q', 'a head dim D >= 1', `shape ${shapeStr(Q.shape)}`, 'value', { described: true });
  if (K.shape[0] !== B) throw invalidArg('k', `a batch of ${B} (that of q)`, `shape ${shapeStr(K.shape)}`, 'value', { described: true });
  if (K.shape[3] !== D) throw invalidArg('k', `head dim ${D} (that of q)`, `shape ${shapeStr(K.shape)}`, 'value', { described: true });
  const Dv = V.shape[3];
  if (V.shape[0] !== K.shape[0] || V.shape[1] !== K.shape[1] || V.shape[2] !== K.shape[2] || Dv < 1) {
    const want = bshd ? `[${B}, ${Sk}, ${Hkv}, Dv]` : `[${B}, ${Hkv}, ${Sk}, Dv]`;
    throw invalidArg('v', `shape ${want} with Dv >= 1 (the batch, heads and length of k)`, `shape ${shapeStr(V.shape)}`, 'value', {
      described: true,
    });
  }
  if (Hkv < 1 || Hq % Hkv !== 0) {
    // The shapes read the other way round are valid: the data is most likely in the other layout.
    const hint =
      K.shape[sd] >= 1 && Q.shape[sd] % K.shape[sd] === 0
        ? bshd
          ? `; q and k look like [B, H, S, D] data: pass layout: 'bhsd' (or leave it out)`
          : `; q and k look like [B, S, H, D] data: pass layout: 'bshd'`
        : '';
    throw invalidArg(
      'k',
      `a number of heads that divides the ${Hq} query heads (GQA / MQA)`,
      `${Hkv} heads (shape ${shapeStr(K.shape)})${hint}`,
      'value',
      { described: true },
    );
  }
  // Without a layout, shapes that are valid read both ways and give Sq != Sk under 'bhsd' (then Sk
  // divides Sq) are far more often [B, S, H, D] data with GQA / MQA heads (q [B, S, Hq, D], k
  // [B, S, Hkv, D]) than [B, H, S, D] with more queries than keys: refuse to guess. Equal shapes and
  // 'bhsd' self-attention (Sq == Sk) stay 'bhsd'. An empty q gives the same (empty) result either way.
  if (o.layout === undefined && Sq !== Sk && Sk >= 1 && Sq % Sk === 0 && Q.shape[0] * Hq * Sq !== 0) {
    throw invalidArg(
      'options.layout',
      `'bhsd' or 'bshd' given explicitly: q ${shapeStr(Q.shape)} and k ${shapeStr(K.shape)} fit both (Hq=${Hq}, Sq=${Sq}, Hkv=${Hkv}, Sk=${Sk} under 'bhsd'; ` +
        `Sq=${Hq}, Hq=${Sq}, Sk=${Hkv}, Hkv=${Sk} under 'bshd')`,
      undefined,
      'value',
    );
  }

  const device = onDeviceOfQ(
    Q,
    [
      [K, 'k'],
      [V, 'v'],
      [o.mask, 'options.mask'],
      [o.out, 'options.out'],
    ],
    o.device,
  );

  const causal = checkBool(o.causal, 'options.causal', false);
  let causalOffset: number | null = null;
  if (o.causalOffset !== undefined) {
    causalOffset = checkNumber(o.causalOffset, 'options.causalOffset', 0);
    if (!causal) throw invalidArg('options.causalOffset', 'to be given with causal: true', causalOffset, 'value');
    if (!Number.isInteger(causalOffset) || causalOffset < -Sq || causalOffset > Sk) {
      throw invalidArg('options.causalOffset', `an integer in [${-Sq}, ${Sk}] (-Sq to Sk)`, causalOffset, 'range');
    }
  }
  const returnLse = checkBool(o.returnLse, 'options.returnLse', false);
  // The kernels take scale and softcap as float32: a value float32 cannot hold would silently become
  // infinity or 0 (a softcap of 5e-324 turned the cap off: found by the property test).
  const scale = checkFloat32(o.scale, 'options.scale', 1 / Math.sqrt(D));
  const softcap = checkNumber(o.softcap, 'options.softcap', 0);
  if (softcap !== 0 && !(softcap >= F32_MIN_NORMAL && softcap <= F32_MAX)) {
    throw invalidArg(
      'options.softcap',
      `0 (off) or a number > 0 in float32's normal range (${F32_MIN_NORMAL} to ${F32_MAX})`,
      softcap,
      'range',
    );
  }

  const full = [B, Hq, Sq, Sk];
  const mask = o.mask === undefined ? undefined : (o.mask as Tensor);
  if (mask) {
    if (!MASK_DTYPES.includes(mask.dtype)) {
      throw invalidArg(
        'options.mask',
        'a bool / int8 (boolean: nonzero = attend) or float32 / float16 / bfloat16 (additive) tensor',
        `${withArticle(mask.dtype)} tensor`,
        'type',
        { described: true },
      );
    }
    const ok =
      mask.ndim >= 1 &&
      mask.ndim <= 4 &&
      mask.shape.every((d, i) => d === 1 || d === full[4 - mask.ndim + i] || (i === mask.ndim - 1 && d >= 1 && d < Sk));
    if (!ok) {
      throw invalidArg(
        'options.mask',
        `a shape broadcastable to [B, Hq, Sq, Sk] = ${shapeStr(full)} (rank 1 to 4, each dim 1 or full; the last may be shorter than Sk)`,
        `shape ${shapeStr(mask.shape)}`,
        'value',
        { described: true },
      );
    }
  }
  const lengths = o.kvLengths === undefined ? undefined : checkKvLengths(o.kvLengths, B, Sk, Q.device);
  const kvl =
    lengths === undefined || lengths instanceof Tensor ? lengths : Tensor.from(lengths, [B], { dtype: 'int32', device: Q.device });

  const outShape = [Q.shape[0], Q.shape[1], Q.shape[2], Dv];
  let out: Tensor;
  if (o.out !== undefined) {
    out = o.out as Tensor;
    if (!out.shape.every((d, i) => d === outShape[i]) || out.ndim !== 4) {
      throw invalidArg(
        'options.out',
        `shape ${shapeStr(outShape)} (that of q${Dv !== D ? ' with head dim Dv' : ''})`,
        `shape ${shapeStr(out.shape)}`,
        'value',
        { described: true },
      );
    }
    if (!FLOAT.includes(out.dtype))
      throw invalidArg('options.out', 'a float32, float16 or bfloat16 tensor', `${withArticle(out.dtype)} tensor`, 'type', {
        described: true,
      });
    checkNoOverlap(out, 'options.out', [
      [Q, 'q'],
      [K, 'k'],
      [V, 'v'],
      [mask, 'options.mask'],
      [kvl, 'options.kvLengths'],
    ]);
  } else {
    out = Tensor.empty(outShape, Q.dtype, device);
  }
  let qkOut: Tensor | undefined;
  let qkStage = 0;
  if (o.qkOutput !== undefined) {
    const qo = checkOptions<{ out: Tensor; stage?: QkStage }>(o.qkOutput, 'options.qkOutput', ['out', 'stage']);
    const T = checkTensor(qo.out, 'options.qkOutput.out');
    if (T.dtype !== 'float32' || T.ndim !== 4 || !T.shape.every((d, i) => d === full[i])) {
      throw invalidArg(
        'options.qkOutput.out',
        `a float32 tensor of shape ${shapeStr(full)} ([B, Hq, Sq, Sk])`,
        `${withArticle(T.dtype)} tensor of shape ${shapeStr(T.shape)}`,
        'value',
        { described: true },
      );
    }
    if (Q.device !== 'cpu' || T.device !== 'cpu') {
      throw invalidArg(
        'options.qkOutput',
        "CPU tensors (a debugging slow path; copy small problems with tensor.to('cpu'))",
        `q on ${Q.device} and qkOutput.out on ${T.device}`,
        'value',
        { described: true },
      );
    }
    checkNoOverlap(T, 'options.qkOutput.out', [
      [Q, 'q'],
      [K, 'k'],
      [V, 'v'],
      [mask, 'options.mask'],
      [kvl, 'options.kvLengths'],
      [out, 'options.out'],
    ]);
    const stage = qo.stage ?? 'qk';
    qkStage = QK_STAGES.indexOf(stage);
    if (qkStage < 0)
      throw invalidArg(
        'options.qkOutput.stage',
        `one of ${QK_STAGES.map((x) => `'${x}'`).join(', ')}`,
        stage,
        typeof stage === 'string' ? 'value' : 'type',
      );
    qkOut = T;
  }
  const lse = returnLse ? Tensor.empty([B, Hq, Sq], 'float32', device) : undefined;
  const params: NativeAttentionParams = {
    q: nativeOf(Q, 'q'),
    k: nativeOf(K, 'k'),
    v: nativeOf(V, 'v'),
    mask: nativeOptional(mask, 'options.mask'),
    kvLengths: nativeOptional(kvl, 'options.kvLengths'),
    out: nativeOf(out, 'options.out'),
    lse: nativeOptional(lse, 'lse'),
    causal,
    bshd,
    scale,
    softcap,
    causalOffset,
    qkOut: nativeOptional(qkOut, 'options.qkOutput.out'),
    qkStage,
  };
  return { params, out, lse, temp: kvl && kvl.device !== 'cpu' ? kvl : undefined };
}

/** Fused exact attention, computed off the event loop. With `returnLse: true`, resolves to { out, lse }. */
export async function attention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions & { returnLse: true }): Promise<AttentionResult>;
export async function attention(q: Tensor, k: Tensor, v: Tensor, opts?: AttentionOptions & { returnLse?: false }): Promise<Tensor>;
export async function attention(q: Tensor, k: Tensor, v: Tensor, opts?: AttentionOptions): Promise<Tensor | AttentionResult>;
export async function attention(q: Tensor, k: Tensor, v: Tensor, opts?: AttentionOptions): Promise<Tensor | AttentionResult> {
  return callAsync(attention, async () => {
    const p = prepare(q, k, v, opts);
    try {
      await native.ops.attention(p.params, true);
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
    callSync(() => native.ops.attention(p.params, false));
  } finally {
    p.temp?.dispose();
  }
  return p.lse ? { out: p.out, lse: p.lse } : p.out;
}
