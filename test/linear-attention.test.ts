// linearAttention (Lightning Attention-2) on every CPU kernel family this machine has, against the
// float64 definition (test/reference/linear-attention.ts) on odd sizes: S not a multiple of the 64-token
// block, D != Dv, B * H > 1, a decay per head, state in and out, both layouts, float16 / bfloat16
// inputs; chunk by chunk (down to one-token decode) against all at once. The float32 bound per output
// element: its magnitude (the sum of absolute terms) times 2^-24 times the length of the longest sum an
// element goes through (D for q . k, the block for P V, D again for Q times the state, plus one rounding
// per block the state was carried through), with slack 4; 16-bit outputs add their own rounding.
import { LinearAttentionOptions, Tensor, getNumThreads, linearAttention, linearAttentionSync, setNumThreads } from '../lib';
import { native } from '../lib/binding';
import { DType } from '../lib/dtype';
import { cpuIsas, reportMissingIsas, withIsa } from './helpers/backends';
import { decode, makeData } from './helpers/data';
import { LinRefInput, LinRefOutput, refLinearAttention } from './reference/linear-attention';

const { abs, ceil, max } = Math;
const EPS = 2 ** -24;
const BLOCK = 64;

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
}

interface Built {
  q: Tensor;
  k: Tensor;
  v: Tensor;
  state?: Tensor;
  input: LinRefInput;
  ref: LinRefOutput;
}

function shapeOf(c: Case, E: number): number[] {
  return c.layout === 'bshd' ? [c.B, c.S, c.H, E] : [c.B, c.H, c.S, E];
}

function build(c: Case, seed: number): Built {
  const n = c.B * c.H * c.S;
  const q = makeData(c.dtype, n * c.D, seed);
  const k = makeData(c.dtype, n * c.D, seed + 1);
  const v = makeData(c.dtype, n * c.Dv, seed + 2);
  const st = c.state ? makeData('float32', c.B * c.H * c.D * c.Dv, seed + 3) : undefined;
  const t = (d: Tensor['dtype'], x: { data: unknown }, shape: number[]) =>
    Tensor.from(x.data as Float32Array, shape, { dtype: d } as never);
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
    q: t(c.dtype, q, shapeOf(c, c.D)),
    k: t(c.dtype, k, shapeOf(c, c.D)),
    v: t(c.dtype, v, shapeOf(c, c.Dv)),
    state: st && Tensor.from(st.data as Float32Array, [c.B, c.H, c.D, c.Dv]),
    input,
    ref: refLinearAttention(input),
  };
}

function opts(c: Case, x: Built, extra: LinearAttentionOptions = {}): LinearAttentionOptions & { returnState?: false } {
  return {
    layout: c.layout,
    causal: c.causal,
    scale: c.scale,
    decay: c.decay && Float32Array.from(c.decay),
    state: x.state,
    ...extra,
    returnState: undefined,
  };
}

/** Every element within its bound; returns the worst error / bound (for the failure message). */
function expectClose(got: ArrayLike<number>, want: Float64Array, mag: Float64Array, terms: number, outEps: number, what: string): void {
  expect(got.length).toBe(want.length);
  let worst = 0,
    at = -1;
  for (let i = 0; i < want.length; i++) {
    const tol = 4 * terms * EPS * mag[i] + outEps * abs(want[i]) + 1e-30;
    const r = abs(got[i] - want[i]) / tol;
    if (!(r <= worst)) ((worst = r), (at = i));
  }
  if (!(worst <= 1)) throw new Error(`${what}: element ${at} got ${got[at]}, want ${want[at]} (error ${worst.toFixed(2)} x the bound)`);
}

function terms(c: Case): number {
  return 2 * c.D + BLOCK + 2 * ceil(c.S / BLOCK) + 8;
}

async function values(t: Tensor): Promise<Float64Array> {
  return decode(t.dtype, (await t.toArray()) as ArrayLike<number>);
}

async function check(c: Case, seed: number, what: string, extra: LinearAttentionOptions = {}): Promise<void> {
  const x = build(c, seed);
  const r = linearAttentionSync(x.q, x.k, x.v, { ...opts(c, x, extra), returnState: true });
  const outEps = r.out.dtype === 'float16' ? 2 ** -11 : r.out.dtype === 'bfloat16' ? 2 ** -8 : 0;
  expectClose(await values(r.out), x.ref.out, x.ref.mag, terms(c), outEps, `${what} out`);
  expectClose(await values(r.state), x.ref.state, x.ref.stateMag, terms(c), 0, `${what} state`);
}

const ODD: Case = { B: 2, H: 3, S: 150, D: 20, Dv: 13, dtype: 'float32', scale: 0.7, decay: [0.9, 1, 0.5], state: true };

describe('linearAttention against the float64 definition', () => {
  reportMissingIsas('linearAttention');
  for (const isa of cpuIsas()) {
    test(`${isa}: float32 'bhsd', S 150, D 20, Dv 13, decay per head, state in and out`, () =>
      withIsa(isa, () => check(ODD, 11, `${isa} odd`)));
    test(`${isa}: 'bshd', no state, one decay for every head`, () =>
      withIsa(isa, () => check({ ...ODD, layout: 'bshd', state: false, decay: [0.97, 0.97, 0.97] }, 12, `${isa} bshd`)));
    for (const dtype of ['float16', 'bfloat16'] as const)
      test(`${isa}: ${dtype} inputs and output`, () =>
        withIsa(isa, () => check({ ...ODD, dtype, S: 97, layout: 'bshd' }, 13, `${isa} ${dtype}`)));
  }
  test('non-causal: O = scale Q (state + K^T V)', () => check({ ...ODD, causal: false, decay: undefined, S: 130 }, 14, 'noncausal'));
  test('a float16 input with a float32 out', async () => {
    const c: Case = { ...ODD, dtype: 'float16', S: 70 };
    const x = build(c, 15);
    const out = Tensor.from(new Float32Array(c.B * c.H * c.S * c.Dv), [c.B, c.H, c.S, c.Dv]);
    const got = linearAttentionSync(x.q, x.k, x.v, { ...opts(c, x), out });
    expect(got).toBe(out);
    expectClose(await values(out), x.ref.out, x.ref.mag, terms(c), 0, 'f16 -> f32');
  });
  test('a decay as a number equals the same decay per head', async () => {
    const c: Case = { ...ODD, state: false, decay: undefined };
    const x = build(c, 16);
    const a = await (linearAttentionSync(x.q, x.k, x.v, { decay: 0.8 }) as Tensor).toArray();
    const b = await (linearAttentionSync(x.q, x.k, x.v, { decay: Float32Array.of(0.8, 0.8, 0.8) }) as Tensor).toArray();
    expect(a).toEqual(b);
    const ref = refLinearAttention({ ...x.input, scale: 1, decay: [0.8, 0.8, 0.8].map(Math.fround) });
    expectClose(a as Float32Array, ref.out, ref.mag, terms(c), 0, 'decay number');
  });
  test('a strong decay (0.01 over 150 tokens) underflows to 0, never NaN', () =>
    check({ ...ODD, decay: [0.01, 0.2, 1e-6] }, 17, 'strong decay'));
  test('one block exactly, and a single token', async () => {
    await check({ ...ODD, S: 64 }, 18, 'S 64');
    await check({ ...ODD, S: 1 }, 19, 'S 1');
  });
  test('the async form gives the sync result', async () => {
    const x = build(ODD, 20);
    const s = linearAttentionSync(x.q, x.k, x.v, opts(ODD, x));
    const a = await linearAttention(x.q, x.k, x.v, opts(ODD, x));
    expect(await a.toArray()).toEqual(await s.toArray());
  });
  test('one thread and every thread agree', async () => {
    const x = build({ ...ODD, B: 3, H: 4, decay: [0.9, 1, 0.5, 0.7] }, 21);
    const o = opts(ODD, x, { decay: Float32Array.of(0.9, 1, 0.5, 0.7), state: undefined });
    const n = getNumThreads();
    setNumThreads(1);
    let one: Tensor;
    try {
      one = linearAttentionSync(x.q, x.k, x.v, o);
    } finally {
      setNumThreads(n);
    }
    const all = linearAttentionSync(x.q, x.k, x.v, o);
    expect(await all.toArray()).toEqual(await one.toArray());
  });
  test('the kernel that ran is reported', () => {
    const x = build({ ...ODD, S: 5 }, 22);
    linearAttentionSync(x.q, x.k, x.v);
    expect(native.debug.lastKernel('linearAttention', 'cpu')).toMatch(/^lightning2 /);
  });
});

describe('chunked prefill and decode equal all at once', () => {
  for (const layout of ['bhsd', 'bshd'] as const)
    test(`chunks of 1, 63, 64, 22 (${layout}) carry the state`, async () => {
      const c: Case = { ...ODD, layout };
      const x = build(c, 30);
      const whole = linearAttentionSync(x.q, x.k, x.v, { ...opts(c, x), returnState: true });
      const [B, H, S, D, Dv] = [c.B, c.H, c.S, c.D, c.Dv];
      const q = (await x.q.toArray()) as Float32Array,
        k = (await x.k.toArray()) as Float32Array,
        v = (await x.v.toArray()) as Float32Array;
      // Slices tokens [t0, t1) of a [.., S, .., E] tensor in the layout.
      const slice = (a: Float32Array, E: number, t0: number, t1: number) => {
        const n = t1 - t0;
        const r = new Float32Array(B * H * n * E);
        for (let b = 0; b < B; b++)
          for (let h = 0; h < H; h++)
            for (let t = t0; t < t1; t++) {
              const src = layout === 'bshd' ? ((b * S + t) * H + h) * E : ((b * H + h) * S + t) * E;
              const dst = layout === 'bshd' ? ((b * n + t - t0) * H + h) * E : ((b * H + h) * n + t - t0) * E;
              r.set(a.subarray(src, src + E), dst);
            }
        return Tensor.from(r, layout === 'bshd' ? [B, n, H, E] : [B, H, n, E]);
      };
      let state = x.state as Tensor;
      const outs: Float32Array[] = [];
      let t0 = 0;
      for (const n of [1, 63, 64, 22]) {
        const r = linearAttentionSync(slice(q, D, t0, t0 + n), slice(k, D, t0, t0 + n), slice(v, Dv, t0, t0 + n), {
          ...opts(c, x),
          state,
          returnState: true,
        });
        outs.push((await r.out.toArray()) as Float32Array);
        state = r.state;
        t0 += n;
      }
      expect(t0).toBe(S);
      // Reassemble the chunks' outputs in the layout, compare with the whole run and the reference.
      const got = new Float32Array(B * H * S * Dv);
      t0 = 0;
      for (const [i, n] of [1, 63, 64, 22].entries()) {
        for (let b = 0; b < B; b++)
          for (let h = 0; h < H; h++)
            for (let t = 0; t < n; t++) {
              const src = layout === 'bshd' ? ((b * n + t) * H + h) * Dv : ((b * H + h) * n + t) * Dv;
              const dst = layout === 'bshd' ? ((b * S + t0 + t) * H + h) * Dv : ((b * H + h) * S + t0 + t) * Dv;
              got.set(outs[i].subarray(src, src + Dv), dst);
            }
        t0 += n;
      }
      expectClose(got, x.ref.out, x.ref.mag, terms(c), 0, 'chunked out');
      expectClose((await state.toArray()) as Float32Array, x.ref.state, x.ref.stateMag, terms(c), 0, 'chunked state');
      const w = (await whole.out.toArray()) as Float32Array;
      let worst = 0;
      for (let i = 0; i < w.length; i++) worst = max(worst, abs(w[i] - got[i]) / (8 * terms(c) * EPS * x.ref.mag[i] + 1e-30));
      expect(worst).toBeLessThanOrEqual(1);
    });

  test("state in place: the state output may be the next call's state input (decode loop, S = 1)", async () => {
    const c: Case = { B: 1, H: 2, S: 9, D: 8, Dv: 5, dtype: 'float32', decay: [0.6, 0.95], scale: 0.5 };
    const x = build(c, 31);
    const q = (await x.q.toArray()) as Float32Array,
      k = (await x.k.toArray()) as Float32Array,
      v = (await x.v.toArray()) as Float32Array;
    let state: Tensor | undefined;
    const got = new Float32Array(c.H * c.S * c.Dv);
    for (let t = 0; t < c.S; t++) {
      const tok = (a: Float32Array, E: number) => {
        const r = new Float32Array(c.H * E);
        for (let h = 0; h < c.H; h++) r.set(a.subarray((h * c.S + t) * E, (h * c.S + t + 1) * E), h * E);
        return Tensor.from(r, [1, c.H, 1, E]);
      };
      const r = linearAttentionSync(tok(q, c.D), tok(k, c.D), tok(v, c.Dv), { ...opts(c, x), state, returnState: true });
      const o = (await r.out.toArray()) as Float32Array;
      for (let h = 0; h < c.H; h++) got.set(o.subarray(h * c.Dv, (h + 1) * c.Dv), (h * c.S + t) * c.Dv);
      state = r.state;
    }
    expectClose(got, x.ref.out, x.ref.mag, terms(c), 0, 'decode');
    expectClose((await state!.toArray()) as Float32Array, x.ref.state, x.ref.stateMag, terms(c), 0, 'decode state');
  });
});
