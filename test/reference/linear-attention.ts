// float64 oracle for linearAttention (native/ops/linear_attention/linear_attention.h), straight from the
// definition -- no blocks, no recurrence: for every token t the decayed sum over every s <= t (all s
// without causal) and the state term; the state out as the decayed sum of k_s^T v_s. Also the per-output
// magnitude (the same sums of absolute values) the tests' error bounds scale with.

export interface LinRefInput {
  B: number;
  H: number;
  S: number;
  D: number;
  Dv: number;
  layout: 'bhsd' | 'bshd';
  causal: boolean;
  scale: number;
  /** One value per head. */
  decay: ArrayLike<number>;
  q: ArrayLike<number>;
  k: ArrayLike<number>;
  v: ArrayLike<number>;
  /** [B, H, D, Dv]. */
  state?: ArrayLike<number>;
}

export interface LinRefOutput {
  /** [.., Dv] in q's layout. */
  out: Float64Array;
  /** Per output element: scale * (sum_s lambda^(t-s) sum_d |q_d k_d| |v| + lambda^(t+1) sum_d |q_d| |state_d|). */
  mag: Float64Array;
  /** [B, H, D, Dv]. */
  state: Float64Array;
  /** Per state element: the same sum over |k_s| |v_s| and |state_in|. */
  stateMag: Float64Array;
}

// Module bindings: global lookups are slow inside jest's vm sandbox.
const { abs, pow } = Math;

/** Element offset of (b, h, s, 0) in a [B, H, S, E] ('bhsd') or [B, S, H, E] ('bshd') tensor. */
export function rowOffset(layout: 'bhsd' | 'bshd', H: number, S: number, E: number, b: number, h: number, s: number): number {
  return layout === 'bshd' ? ((b * S + s) * H + h) * E : ((b * H + h) * S + s) * E;
}

export function refLinearAttention(x: LinRefInput): LinRefOutput {
  const { B, H, S, D, Dv, layout, causal, scale, q, k, v } = x;
  const out = new Float64Array(B * H * S * Dv);
  const mag = new Float64Array(out.length);
  const state = new Float64Array(B * H * D * Dv);
  const stateMag = new Float64Array(state.length);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++) {
      const lam = x.decay[h];
      const so = (b * H + h) * D * Dv;
      for (let t = 0; t < S; t++) {
        const qo = rowOffset(layout, H, S, D, b, h, t);
        const oo = rowOffset(layout, H, S, Dv, b, h, t);
        const last = causal ? t : S - 1;
        for (let s = 0; s <= last; s++) {
          const ko = rowOffset(layout, H, S, D, b, h, s);
          const vo = rowOffset(layout, H, S, Dv, b, h, s);
          let dot = 0,
            adot = 0;
          for (let d = 0; d < D; d++) {
            dot += q[qo + d] * k[ko + d];
            adot += abs(q[qo + d] * k[ko + d]);
          }
          const w = causal ? pow(lam, t - s) : 1;
          for (let e = 0; e < Dv; e++) {
            out[oo + e] += scale * w * dot * v[vo + e];
            mag[oo + e] += abs(scale) * w * adot * abs(v[vo + e]);
          }
        }
        if (x.state) {
          const w = causal ? pow(lam, t + 1) : 1;
          for (let d = 0; d < D; d++)
            for (let e = 0; e < Dv; e++) {
              const sv = x.state[so + d * Dv + e];
              out[oo + e] += scale * w * q[qo + d] * sv;
              mag[oo + e] += abs(scale) * w * abs(q[qo + d] * sv);
            }
        }
      }
      const lamS = causal ? pow(lam, S) : 1;
      for (let i = 0; i < D * Dv; i++) {
        const sv = x.state ? x.state[so + i] : 0;
        state[so + i] = lamS * sv;
        stateMag[so + i] = lamS * abs(sv);
      }
      for (let s = 0; s < S; s++) {
        const w = causal ? pow(lam, S - 1 - s) : 1;
        const ko = rowOffset(layout, H, S, D, b, h, s);
        const vo = rowOffset(layout, H, S, Dv, b, h, s);
        for (let d = 0; d < D; d++)
          for (let e = 0; e < Dv; e++) {
            state[so + d * Dv + e] += w * k[ko + d] * v[vo + e];
            stateMag[so + d * Dv + e] += w * abs(k[ko + d] * v[vo + e]);
          }
      }
    }
  return { out, mag, state, stateMag };
}
