// linearAttention on a real GPU: the SIMT kernel and the sm80 tensor-core tier for float16 / bfloat16
// (native/ops/linear_attention/linear_attention_cuda.cu), both opt-in until verified here; every case
// runs under each tier ('sm80' sends float32 inputs and devices below sm_80 to the SIMT kernel, which
// the recorded kernel name must say), on device tensors against the float64 definition
// (test/reference/linear-attention.ts): odd sizes (S not a multiple of the block, D != Dv, Dv past one
// 32-column slice and not a multiple of it), both layouts, float16 / bfloat16 inputs and other output
// dtypes, a decay per head (one strong enough to underflow), state in / out / in place, non-causal,
// D 128 and 256 (smaller blocks where shared memory is short), chunk by chunk against all at once;
// without the opt-in, the clean ERR_TK_UNSUPPORTED. Runs under jest or `node --test`
// (scripts/gpu-check.sh); skips, printing why, without a GPU.
//
// Tolerance per element, as the CPU suite's: its magnitude (the sum of absolute terms) times 2^-24
// times the longest chain of float32 roundings an element goes through (D for q . k, the block (at most
// 32) for P V, D for Q times the state, one per block the state was carried through), slack 4;
// 16-bit outputs add their rounding; the sm80 tier on 16-bit inputs adds one rounding of P per
// intra-block term (2^-8 bf16, 2^-11 fp16 times the magnitude, linear_attention_configs.h).
import * as assert from 'node:assert/strict';
import { DType, LinearAttentionOptions, Tensor, linearAttention, linearAttentionSync } from '../../lib';
import { native } from '../../lib/binding';
import { hostNative } from '../../lib/ops/common';
import { nativeOf } from '../../lib/tensor';
import { describeGpu } from '../helpers/backends';
import { decode, makeData } from '../helpers/data';
import { test } from '../helpers/runner';
import { LinRefInput, LinRefOutput, refLinearAttention } from '../reference/linear-attention';

const { abs, ceil } = Math;
const EPS = 2 ** -24;
const MIN_BLOCK = 8; // the smallest block the kernel takes (linear_attention_configs.h): the most state carries

interface Case {
  B: number;
  H: number;
  S: number;
  D: number;
  Dv: number;
  dtype: DType;
  layout?: 'bhsd' | 'bshd';
  causal?: boolean;
  scale?: number;
  decay?: number[];
  state?: boolean;
  outDtype?: DType;
}

interface Built {
  q: Tensor;
  k: Tensor;
  v: Tensor;
  state?: Tensor;
  ref: LinRefOutput;
}

const shapeOf = (c: Case, E: number) => (c.layout === 'bshd' ? [c.B, c.S, c.H, E] : [c.B, c.H, c.S, E]);

function build(c: Case, seed: number): Built {
  const n = c.B * c.H * c.S;
  const q = makeData(c.dtype, n * c.D, seed);
  const k = makeData(c.dtype, n * c.D, seed + 1);
  const v = makeData(c.dtype, n * c.Dv, seed + 2);
  const st = c.state ? makeData('float32', c.B * c.H * c.D * c.Dv, seed + 3) : undefined;
  const t = (x: { data: unknown }, shape: number[], dtype: DType) =>
    Tensor.from(x.data as Float32Array, shape, { dtype, device: 'cuda' } as never);
  const input: LinRefInput = {
    B: c.B,
    H: c.H,
    S: c.S,
    D: c.D,
    Dv: c.Dv,
    layout: c.layout ?? 'bhsd',
    causal: c.causal ?? true,
    scale: c.scale ?? 1,
    decay: Float32Array.from(c.decay ?? new Array(c.H).fill(1)),
    q: q.values,
    k: k.values,
    v: v.values,
    state: st?.values,
  };
  return {
    q: t(q, shapeOf(c, c.D), c.dtype),
    k: t(k, shapeOf(c, c.D), c.dtype),
    v: t(v, shapeOf(c, c.Dv), c.dtype),
    state: st && t(st, [c.B, c.H, c.D, c.Dv], 'float32'),
    ref: refLinearAttention(input),
  };
}

function opts(c: Case, x: Built): LinearAttentionOptions {
  return { layout: c.layout, causal: c.causal, scale: c.scale, decay: c.decay && Float32Array.from(c.decay), state: x.state };
}

const terms = (c: Case) => 2 * c.D + 2 * 32 + 2 * ceil(c.S / MIN_BLOCK) + 8;

type Tier = 'simt' | 'sm80';

function expectClose(
  got: ArrayLike<number>,
  want: Float64Array,
  mag: Float64Array,
  n: number,
  outEps: number,
  what: string,
  pEps = 0,
): void {
  assert.equal(got.length, want.length, what);
  for (let i = 0; i < want.length; i++) {
    const tol = (4 * n * EPS + pEps) * mag[i] + outEps * abs(want[i]) + (pEps ? 2 ** -20 : 0) + 1e-30;
    const err = abs(got[i] - want[i]);
    if (!(err <= tol)) assert.fail(`${what}: element ${i} got ${got[i]}, want ${want[i]} (error ${err}, tolerance ${tol})`);
  }
}

const values = async (t: Tensor) => decode(t.dtype, (await t.toArray()) as ArrayLike<number>);

/** The kernel name the tier must record for this case. */
function kernelName(c: Case, tier: Tier): RegExp {
  if (tier === 'simt') return /^simt_bs(32|16|8)_dv32$/;
  if (c.dtype === 'float32') return /^simt_bs(32|16|8)_dv32 \(sm80: float32 inputs\)$/;
  return /^(sm80_bs(32|16)_dv32|simt_bs(32|16|8)_dv32 \(sm80: compute capability below 8\.0\))$/;
}

async function check(c: Case, seed: number, what: string, tier: Tier = 'simt'): Promise<void> {
  const x = build(c, seed);
  const outShape = shapeOf(c, c.Dv);
  const out = c.outDtype ? Tensor.zeros(outShape, { dtype: c.outDtype, device: 'cuda' }) : undefined;
  const r = await linearAttention(x.q, x.k, x.v, { ...opts(c, x), out, returnState: true });
  assert.ok(r.out.device.startsWith('cuda'), `${what}: out on ${r.out.device}`);
  const kernel = native.debug.lastKernel('linearAttention', 'cuda');
  assert.match(kernel, kernelName(c, tier), what);
  const od = r.out.dtype;
  const outEps = od === 'float16' ? 2 ** -11 : od === 'bfloat16' ? 2 ** -8 : 0;
  const pEps = kernel.startsWith('sm80') && (c.causal ?? true) ? (c.dtype === 'float16' ? 2 ** -11 : 2 ** -8) : 0;
  expectClose(await values(r.out), x.ref.out, x.ref.mag, terms(c), outEps, `${what} out`, pEps);
  expectClose(await values(r.state), x.ref.state, x.ref.stateMag, terms(c), 0, `${what} state`);
}

/** Runs fn with a CUDA tier opted in, back to the default after. */
async function withTier<T>(tier: Tier, fn: () => Promise<T>): Promise<T> {
  native.debug.setPath('linearAttention', 'cuda', tier);
  try {
    return await fn();
  } finally {
    native.debug.setPath('linearAttention', 'cuda', 'auto');
  }
}
const withSimt = <T>(fn: () => Promise<T>) => withTier('simt', fn);

const ODD: Case = { B: 2, H: 3, S: 150, D: 20, Dv: 45, dtype: 'float32', scale: 0.7, decay: [0.9, 1, 0.5], state: true };

const CASES: [string, Case][] = [
  ["float32 'bhsd', S 150, D 20, Dv 45 (two slices), decay per head, state in and out", ODD],
  ["'bshd', no state, one decay", { ...ODD, layout: 'bshd', state: false, decay: [0.97, 0.97, 0.97] }],
  ['float16 in and out', { ...ODD, dtype: 'float16', S: 97, layout: 'bshd' }],
  ['bfloat16 in and out', { ...ODD, dtype: 'bfloat16', S: 97 }],
  ['float16 in, float32 out', { ...ODD, dtype: 'float16', S: 70, outDtype: 'float32' }],
  ['float32 in, bfloat16 out', { ...ODD, S: 70, outDtype: 'bfloat16' }],
  ['non-causal: O = scale Q (state + K^T V)', { ...ODD, causal: false, decay: undefined, S: 130 }],
  ['a strong decay underflows to 0, never NaN', { ...ODD, decay: [0.01, 0.2, 1e-6] }],
  ['one token (decode)', { ...ODD, S: 1 }],
  ['one block exactly', { ...ODD, S: 32, Dv: 32 }],
  ['B * H = 1, D = Dv = 64, S 1000', { B: 1, H: 1, S: 1000, D: 64, Dv: 64, dtype: 'float32', decay: [0.99], state: true }],
  ['D 128, Dv 128', { B: 1, H: 2, S: 300, D: 128, Dv: 128, dtype: 'bfloat16', decay: [0.95, 0.999], state: true }],
  ['D 256 (a smaller block where shared memory is short)', { B: 1, H: 1, S: 77, D: 256, Dv: 40, dtype: 'float32', decay: [0.9] }],
  ['Dv 1, D 1', { B: 3, H: 2, S: 65, D: 1, Dv: 1, dtype: 'float32', decay: [0.5, 1], state: true }],
  ['float16 D 256, Dv 40', { B: 1, H: 1, S: 77, D: 256, Dv: 40, dtype: 'float16', decay: [0.9], state: true }],
  ['bfloat16 non-causal, D 33', { ...ODD, dtype: 'bfloat16', D: 33, causal: false, decay: undefined, S: 60 }],
];

describeGpu('linearAttention on CUDA (SIMT kernel, opt-in)', () => {
  test('without the opt-in, device tensors get ERR_TK_UNSUPPORTED naming it', async () => {
    if (process.env.TENSORKERN_LINEAR_ATTENTION_KERNEL === 'simt') return;
    native.debug.setPath('linearAttention', 'cuda', 'auto');
    const x = build({ ...ODD, S: 5 }, 1);
    await assert.rejects(linearAttention(x.q, x.k, x.v), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'ERR_TK_UNSUPPORTED');
      assert.match(e.message, /TENSORKERN_LINEAR_ATTENTION_KERNEL=simt/);
      return true;
    });
  });

  CASES.forEach(([name, c], i) => test(name, () => withSimt(() => check(c, 100 + 10 * i, name))));
  CASES.forEach(([name, c], i) => test(`sm80 tier: ${name}`, () => withTier('sm80', () => check(c, 100 + 10 * i, name, 'sm80'))));

  test('sm80 tier: chunks of 1, 31, 33, 85 (bfloat16) carry the state like all at once', () =>
    withTier('sm80', async () => {
      const c: Case = { ...ODD, dtype: 'bfloat16', state: false, S: 150 };
      const x = build(c, 13);
      const whole = await linearAttention(x.q, x.k, x.v, { ...opts(c, x), returnState: true });
      assert.match(native.debug.lastKernel('linearAttention', 'cuda'), kernelName(c, 'sm80'));
      let state: Tensor | undefined;
      let t0 = 0;
      const [B, H, D, Dv] = [c.B, c.H, c.D, c.Dv];
      // The bits build() encoded (same seeds), sliced along the sequence.
      const n0 = B * H * c.S;
      const [q, k, v] = [13, 14, 15].map((sd, i) => makeData(c.dtype, n0 * (i === 2 ? Dv : D), sd).data as Uint16Array);
      const slice = (a: Uint16Array, E: number, t1: number, n: number) => {
        const r = new Uint16Array(B * H * n * E);
        for (let bh = 0; bh < B * H; bh++) r.set(a.subarray((bh * c.S + t1) * E, (bh * c.S + t1 + n) * E), bh * n * E);
        return Tensor.from(r as never, [B, H, n, E], { dtype: c.dtype, device: 'cuda' } as never);
      };
      for (const n of [1, 31, 33, 85]) {
        const r = await linearAttention(slice(q, D, t0, n), slice(k, D, t0, n), slice(v, Dv, t0, n), {
          ...opts(c, x),
          state,
          returnState: true,
        });
        state = r.state;
        t0 += n;
      }
      expectClose(await values(state!), x.ref.state, x.ref.stateMag, terms(c) + 8, 0, 'sm80 chunked state');
      expectClose(await values(whole.state), x.ref.state, x.ref.stateMag, terms(c), 0, 'sm80 state');
    }));

  test('empty sequence: state out = state in; B * H = 0 is a no-op', () =>
    withSimt(async () => {
      const c: Case = { B: 1, H: 2, S: 0, D: 8, Dv: 8, dtype: 'float32', decay: [0.5, 1], state: true };
      const x = build(c, 7);
      const r = await linearAttention(x.q, x.k, x.v, { ...opts(c, x), returnState: true });
      assert.deepEqual(await r.state.toArray(), await x.state!.toArray());
      const e = build({ ...c, B: 0, state: false }, 8);
      assert.equal((await linearAttention(e.q, e.k, e.v)).size, 0);
    }));

  test('state updated in place (state in and out one tensor)', () =>
    withSimt(async () => {
      const c: Case = { ...ODD, S: 40 };
      const x = build(c, 9);
      const want = await linearAttention(x.q, x.k, x.v, { ...opts(c, x), returnState: true });
      const st = x.state!;
      // The facade always allocates a fresh state out; the native op takes one buffer for both.
      const out = Tensor.zeros(shapeOf(c, c.Dv), { device: 'cuda' });
      await native.ops.linearAttention(
        {
          q: nativeOf(x.q, 'q'),
          k: nativeOf(x.k, 'k'),
          v: nativeOf(x.v, 'v'),
          decay: hostNative('float32', [c.H], Float32Array.from(c.decay!)),
          state: nativeOf(st, 'state'),
          stateOut: nativeOf(st, 'state'),
          out: nativeOf(out, 'out'),
          causal: true,
          bshd: false,
          scale: c.scale!,
        },
        true,
      );
      assert.deepEqual(await out.toArray(), await want.out.toArray());
      assert.deepEqual(await st.toArray(), await want.state.toArray());
    }));

  test('chunks of 1, 31, 33, 85 carry the state: equal to all at once within float32 error', () =>
    withSimt(async () => {
      const c: Case = { ...ODD, state: false, S: 150 };
      const x = build(c, 11);
      const [B, H, S, D, Dv] = [c.B, c.H, c.S, c.D, c.Dv];
      const host = async (t: Tensor) => (await t.toArray()) as Float32Array;
      const [q, k, v] = [await host(x.q), await host(x.k), await host(x.v)];
      const slice = (a: Float32Array, E: number, t0: number, t1: number) => {
        const r = new Float32Array(B * H * (t1 - t0) * E);
        for (let bh = 0; bh < B * H; bh++) r.set(a.subarray((bh * S + t0) * E, (bh * S + t1) * E), bh * (t1 - t0) * E);
        return Tensor.from(r, [B, H, t1 - t0, E], { device: 'cuda' });
      };
      let state: Tensor | undefined;
      const got = new Float32Array(B * H * S * Dv);
      let t0 = 0;
      for (const n of [1, 31, 33, 85]) {
        const r = await linearAttention(slice(q, D, t0, t0 + n), slice(k, D, t0, t0 + n), slice(v, Dv, t0, t0 + n), {
          ...opts(c, x),
          state,
          returnState: true,
        });
        const o = await host(r.out);
        for (let bh = 0; bh < B * H; bh++) got.set(o.subarray(bh * n * Dv, (bh + 1) * n * Dv), (bh * S + t0) * Dv);
        state = r.state;
        t0 += n;
      }
      expectClose(got, x.ref.out, x.ref.mag, terms(c) + 8, 0, 'chunked out');
      expectClose(await host(state!), x.ref.state, x.ref.stateMag, terms(c) + 8, 0, 'chunked state');
    }));

  test('the sync form gives the async result', () =>
    withSimt(async () => {
      const x = build(ODD, 12);
      const a = await linearAttention(x.q, x.k, x.v, { ...opts(ODD, x), returnState: false });
      const s = linearAttentionSync(x.q, x.k, x.v, { ...opts(ODD, x), returnState: false });
      assert.deepEqual(await s.toArray(), await a.toArray());
    }));
});
