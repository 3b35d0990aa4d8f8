// linearAttention(q, k, v, opts): Lightning Attention-2 -- linear attention with a per-head decay
// (TransNormerLLM), O(S * D * Dv) instead of softmax attention's O(S^2 * D). Contract:
// native/ops/linear_attention/linear_attention.h and the README's "Linear attention" section.
//
//   q, k [B, H, S, D], v [B, H, S, Dv] (layout 'bhsd', the default) or [B, S, H, D | Dv] ('bshd');
//   float32 / float16 / bfloat16 (one dtype), float32 accumulation; out [.., Dv] in q's layout and dtype.
//   causal (default): o_t = scale * sum_{s <= t} decay^(t - s) (q_t . k_s) v_s  -- no softmax, no normalization;
//   causal: false:     O = scale * Q (K^T V) (decay must be 1).
//   state [B, H, D, Dv] float32: the KV state of earlier tokens; token t also gets scale * decay^(t + 1) q_t state.
//   returnState: resolves to { out, state } with state = decay^S state_in + sum_s decay^(S - 1 - s) k_s^T v_s,
//   so chunked prefill and one-token decode (S = 1) are the same call.
import { NativeLinearAttentionParams, native } from '../binding';
import { DeviceSpec } from '../device';
import { DType } from '../dtype';
import { invalidArg, withArticle } from '../errors';
import { Tensor, checkTensor, nativeOf } from '../tensor';
import { checkOptions, shapeStr } from '../validate';
import { callAsync, callSync, checkBool, checkFloat32, checkQkvLayout, hostNative, onDeviceOfQ, nativeOptional, overlaps } from './common';

export interface LinearAttentionOptions {
  /** Per-head decay lambda_h in (0, 1]: one number for every head or a Float32Array of H values. Default 1 (no decay). */
  decay?: number | Float32Array;
  /** Multiplies every q . k. Default 1. */
  scale?: number;
  /** Causal (the default): token t sees tokens s <= t. false: O = scale * Q (K^T V), decay 1 only. */
  causal?: boolean;
  /** The KV state carried in from earlier tokens: a float32 tensor [B, H, D, Dv] on q's device. */
  state?: Tensor;
  /** Also return the KV state after the last token: resolves to { out, state }. */
  returnState?: boolean;
  /** 'bhsd' (default): [B, H, S, D]; 'bshd': [B, S, H, D]. Applies to q, k, v and out. */
  layout?: 'bhsd' | 'bshd';
  /** Where to write the output: [B, H, S, Dv] ('bhsd') or [B, S, H, Dv], float32 / float16 / bfloat16. */
  out?: Tensor;
  /** Where to run; default: where the inputs are. */
  device?: DeviceSpec;
}

export interface LinearAttentionResult {
  out: Tensor;
  /** float32 [B, H, D, Dv]: pass it as `state` to the next chunk. */
  state: Tensor<'float32'>;
}

const FLOAT: readonly DType[] = ['float32', 'float16', 'bfloat16'];
const KEYS = ['decay', 'scale', 'causal', 'state', 'returnState', 'layout', 'out', 'device'] as const;

interface Prepared {
  params: NativeLinearAttentionParams;
  out: Tensor;
  state?: Tensor<'float32'>;
}

/** The decay per head as a fresh Float32Array (the native side reads it when the op runs), or undefined for 1. */
function checkDecay(x: unknown, H: number, causal: boolean): Float32Array | undefined {
  const name = 'options.decay';
  if (x === undefined) return undefined;
  let vals: Float32Array;
  if (typeof x === 'number') {
    vals = new Float32Array(H).fill(x);
    checkOne(x, name);
  } else if (x instanceof Float32Array) {
    if (x.length !== H) throw invalidArg(name, `${H} values (one per head)`, `${x.length} values`, 'value', { described: true });
    vals = Float32Array.from(x);
    for (let h = 0; h < H; h++) checkOne(vals[h], `${name}[${h}]`);
  } else {
    throw invalidArg(name, 'a number or a Float32Array of one value per head', x);
  }
  if (!causal && vals.some((d) => d !== 1))
    throw invalidArg(name, '1 with causal: false (O = scale * Q (K^T V) has no token order to decay along)', x, 'value');
  return vals.every((d) => d === 1) ? undefined : vals;
}

function checkOne(d: number, name: string): void {
  // float32 is what the kernels read: a positive number that rounds to 0 there would be no decay at all.
  if (!(d > 0 && d <= 1) || Math.fround(d) === 0)
    throw invalidArg(name, 'a decay in (0, 1] (a float32 above 0)', d, typeof d === 'number' ? 'range' : 'type');
}

function prepare(q: unknown, k: unknown, v: unknown, opts: unknown): Prepared {
  const Q = checkTensor(q, 'q');
  const K = checkTensor(k, 'k');
  const V = checkTensor(v, 'v');
  const o = checkOptions<LinearAttentionOptions>(opts, 'options', KEYS);
  const bshd = checkQkvLayout(Q, K, V, o.layout);
  const hd = bshd ? 2 : 1;
  const [B, H, D, Dv] = [Q.shape[0], Q.shape[hd], Q.shape[3], V.shape[3]];
  if (D < 1) throw invalidArg('q', 'a head dim D >= 1', `shape ${shapeStr(Q.shape)}`, 'value', { described: true });
  if (!K.shape.every((d, i) => d === Q.shape[i]))
    throw invalidArg('k', `shape ${shapeStr(Q.shape)} (that of q)`, `shape ${shapeStr(K.shape)}`, 'value', { described: true });
  if (V.shape[0] !== Q.shape[0] || V.shape[1] !== Q.shape[1] || V.shape[2] !== Q.shape[2] || Dv < 1) {
    const want = `[${Q.shape[0]}, ${Q.shape[1]}, ${Q.shape[2]}, Dv]`;
    throw invalidArg('v', `shape ${want} with Dv >= 1 (the batch, heads and length of q)`, `shape ${shapeStr(V.shape)}`, 'value', {
      described: true,
    });
  }
  const device = onDeviceOfQ(
    Q,
    [
      [K, 'k'],
      [V, 'v'],
      [o.state, 'options.state'],
      [o.out, 'options.out'],
    ],
    o.device,
  );
  const causal = checkBool(o.causal, 'options.causal', true);
  const returnState = checkBool(o.returnState, 'options.returnState', false);
  const scale = checkFloat32(o.scale, 'options.scale', 1);
  const decay = checkDecay(o.decay, H, causal);
  const stateShape = [B, H, D, Dv];
  const stateIn = o.state === undefined ? undefined : (o.state as Tensor);
  if (stateIn && (stateIn.dtype !== 'float32' || !stateIn.shape.every((d, i) => d === stateShape[i]) || stateIn.ndim !== 4)) {
    throw invalidArg(
      'options.state',
      `a float32 tensor of shape ${shapeStr(stateShape)} ([B, H, D, Dv])`,
      `${withArticle(stateIn.dtype)} tensor of shape ${shapeStr(stateIn.shape)}`,
      'value',
      { described: true },
    );
  }
  const outShape = [Q.shape[0], Q.shape[1], Q.shape[2], Dv];
  let out: Tensor;
  if (o.out !== undefined) {
    out = o.out as Tensor;
    if (out.ndim !== 4 || !out.shape.every((d, i) => d === outShape[i])) {
      throw invalidArg('options.out', `shape ${shapeStr(outShape)} (that of q with head dim Dv)`, `shape ${shapeStr(out.shape)}`, 'value', {
        described: true,
      });
    }
    if (!FLOAT.includes(out.dtype))
      throw invalidArg('options.out', 'a float32, float16 or bfloat16 tensor', `${withArticle(out.dtype)} tensor`, 'type', {
        described: true,
      });
    for (const [t, n] of [
      [Q, 'q'],
      [K, 'k'],
      [V, 'v'],
      [stateIn, 'options.state'],
    ] as const) {
      if (t && overlaps(out, t))
        throw invalidArg('options.out', `memory that does not overlap ${n}`, 'an overlapping tensor', 'value', { described: true });
    }
  } else {
    out = Tensor.empty(outShape, Q.dtype, device);
  }
  const state = returnState ? (Tensor.empty(stateShape, 'float32', device) as Tensor<'float32'>) : undefined;
  const params: NativeLinearAttentionParams = {
    q: nativeOf(Q, 'q'),
    k: nativeOf(K, 'k'),
    v: nativeOf(V, 'v'),
    decay: decay && hostNative('float32', [H], decay),
    state: nativeOptional(stateIn, 'options.state'),
    stateOut: nativeOptional(state, 'state'),
    out: nativeOf(out, 'options.out'),
    causal,
    bshd,
    scale,
  };
  return { params, out, state };
}

/** Lightning Attention-2 (linear attention with a per-head decay), computed off the event loop. */
export async function linearAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  opts: LinearAttentionOptions & { returnState: true },
): Promise<LinearAttentionResult>;
export async function linearAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  opts?: LinearAttentionOptions & { returnState?: false },
): Promise<Tensor>;
export async function linearAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  opts?: LinearAttentionOptions,
): Promise<Tensor | LinearAttentionResult>;
export async function linearAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  opts?: LinearAttentionOptions,
): Promise<Tensor | LinearAttentionResult> {
  return callAsync(linearAttention, async () => {
    const p = prepare(q, k, v, opts);
    await native.ops.linearAttention(p.params, true);
    return p.state ? { out: p.out, state: p.state } : p.out;
  });
}

/** Synchronous linearAttention, for small problems and one-token decode (it blocks the event loop while it runs). */
export function linearAttentionSync(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  opts: LinearAttentionOptions & { returnState: true },
): LinearAttentionResult;
export function linearAttentionSync(q: Tensor, k: Tensor, v: Tensor, opts?: LinearAttentionOptions & { returnState?: false }): Tensor;
export function linearAttentionSync(q: Tensor, k: Tensor, v: Tensor, opts?: LinearAttentionOptions): Tensor | LinearAttentionResult;
export function linearAttentionSync(q: Tensor, k: Tensor, v: Tensor, opts?: LinearAttentionOptions): Tensor | LinearAttentionResult {
  const p = prepare(q, k, v, opts);
  callSync(() => native.ops.linearAttention(p.params, false));
  return p.state ? { out: p.out, state: p.state } : p.out;
}
