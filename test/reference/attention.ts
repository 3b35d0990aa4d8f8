// float64 oracle for attention (docs/attention.md semantics), naive loops: for every (batch, query head,
// query) the scores against every key, the visibility rules, softmax and the weighted sum of v.
// Also the per-row facts the tests' error bounds need.
import type { AttentionCase } from '../../bench/cases/attention';

/** The problem's sizes and options, as a case states them (bench/cases/attention.ts), with its data. */
export interface AttnRefInput extends Pick<
  AttentionCase,
  'B' | 'Hq' | 'Hkv' | 'Sq' | 'Sk' | 'D' | 'Dv' | 'layout' | 'causal' | 'causalOffset' | 'scale' | 'softcap'
> {
  q: Float64Array;
  k: Float64Array;
  v: Float64Array;
  /** Values in the mask tensor's own shape (rank 1..4, broadcast to [B, Hq, Sq, Sk]; a last dim
   * shorter than Sk hides the keys past it, as ONNX pads the mask with -inf / false). */
  mask?: { values: Float64Array; shape: number[]; bool: boolean };
  kvLengths?: ArrayLike<number>;
}

export interface AttnRefOutput {
  /** [B, Hq, Sq, Dv] in q's layout. */
  out: Float64Array;
  /** [B, Hq, Sq]; -Infinity for rows that see no key. */
  lse: Float64Array;
  /** Per row [B, Hq, Sq]: max over visible keys of scale * sum_d |q_d k_d|, the score error scale. */
  absScore: Float64Array;
  /** Per row: the number of visible keys. */
  visible: Float64Array;
  /** Per row: max |v| over its visible keys. */
  maxAbsV: Float64Array;
}

// Module bindings: global lookups are slow inside jest's vm sandbox.
const { exp, log, tanh, abs, sqrt, max } = Math;

/** Element offset of (b, h, s, d) in a [B, H, S, D] ('bhsd') or [B, S, H, D] ('bshd') tensor. */
export function offset(layout: 'bhsd' | 'bshd', H: number, S: number, D: number, b: number, h: number, s: number): number {
  return layout === 'bshd' ? ((b * S + s) * H + h) * D : ((b * H + h) * S + s) * D;
}

/** Element strides of a mask of `shape` broadcast to [B, Hq, Sq, Sk] (0 on broadcast dims). */
export function maskStrides(shape: number[]): number[] {
  const st = [0, 0, 0, 0];
  let acc = 1;
  for (let i = 3, m = shape.length - 1; m >= 0; i--, m--) {
    st[i] = shape[m] === 1 ? 0 : acc;
    acc *= shape[m];
  }
  return st;
}

/**
 * The keys query i of batch entry b may see by the length, mask-length and causal rules (a mask's
 * values apart): j < kvLengths[b], j < a mask key dim shorter than Sk, and with causal
 * j <= i + causalOffset (default kvLengths[b] - Sq).
 */
export function keyRule(
  x: Pick<AttnRefInput, 'Sq' | 'Sk' | 'causal' | 'causalOffset' | 'kvLengths'> & { mask?: { shape: number[] } },
  b: number,
): (i: number, j: number) => boolean {
  const L = x.kvLengths ? x.kvLengths[b] : x.Sk;
  const off = x.causalOffset ?? L - x.Sq;
  const last = x.mask ? x.mask.shape[x.mask.shape.length - 1] : 1;
  const maskKeys = last !== 1 ? last : x.Sk;
  const causal = !!x.causal;
  return (i, j) => j < L && j < maskKeys && !(causal && j > i + off);
}

export function refAttention(x: AttnRefInput): AttnRefOutput {
  const { q, k, v, B, Hq, Hkv, Sq, Sk, D } = x;
  const Dv = x.Dv ?? D;
  const layout = x.layout ?? 'bhsd';
  const scale = x.scale ?? 1 / sqrt(D);
  const group = Hq / Hkv;
  const out = new Float64Array(B * Hq * Sq * Dv);
  const rows = B * Hq * Sq;
  const lse = new Float64Array(rows),
    absScore = new Float64Array(rows),
    visible = new Float64Array(rows),
    maxAbsV = new Float64Array(rows);
  const ms = x.mask ? maskStrides(x.mask.shape) : [0, 0, 0, 0];
  const s = new Float64Array(Sk);
  const seen = new Uint8Array(Sk);
  for (let b = 0; b < B; b++) {
    const sees = keyRule(x, b);
    for (let h = 0; h < Hq; h++) {
      const hk = Math.floor(h / group);
      for (let i = 0; i < Sq; i++) {
        const r = (b * Hq + h) * Sq + i;
        const qo = offset(layout, Hq, Sq, D, b, h, i);
        let m = -Infinity,
          aS = 0,
          nvis = 0,
          mv = 0;
        for (let j = 0; j < Sk; j++) {
          seen[j] = 0;
          if (!sees(i, j)) continue;
          const ko = offset(layout, Hkv, Sk, D, b, hk, j);
          let dot = 0,
            adot = 0;
          for (let d = 0; d < D; d++) {
            dot += q[qo + d] * k[ko + d];
            adot += abs(q[qo + d] * k[ko + d]);
          }
          let sc = dot * scale;
          if (x.softcap) sc = x.softcap * tanh(sc / x.softcap);
          if (x.mask) {
            const mval = x.mask.values[b * ms[0] + h * ms[1] + i * ms[2] + j * ms[3]];
            if (x.mask.bool) {
              if (mval === 0) continue;
            } else sc += mval;
          }
          if (sc === -Infinity) continue;
          seen[j] = 1;
          s[j] = sc;
          nvis++;
          aS = max(aS, adot * abs(scale));
          if (sc > m) m = sc;
          const vo = offset(layout, Hkv, Sk, Dv, b, hk, j);
          for (let d = 0; d < Dv; d++) mv = max(mv, abs(v[vo + d]));
        }
        absScore[r] = aS;
        visible[r] = nvis;
        maxAbsV[r] = mv;
        if (nvis === 0) {
          lse[r] = -Infinity;
          continue; // out stays 0
        }
        let l = 0;
        const oo = offset(layout, Hq, Sq, Dv, b, h, i);
        for (let j = 0; j < Sk; j++) {
          if (!seen[j]) continue;
          const p = exp(s[j] - m);
          l += p;
          const vo = offset(layout, Hkv, Sk, Dv, b, hk, j);
          for (let d = 0; d < Dv; d++) out[oo + d] += p * v[vo + d];
        }
        for (let d = 0; d < Dv; d++) out[oo + d] /= l;
        lse[r] = m + log(l);
      }
    }
  }
  return { out, lse, absScore, visible, maxAbsV };
}

/**
 * The score matrix [B, Hq, Sq, Sk] at one stage of the pipeline (attention's qkOutput): 'qk' =
 * scale * q . k for every pair, 'softcap' = then capped, 'mask' = then masked (hidden keys -Infinity,
 * additive masks added), 'softmax' = the probabilities (0 for hidden keys and rows that see none).
 */
export function refScores(x: AttnRefInput, stage: 'qk' | 'softcap' | 'mask' | 'softmax'): Float64Array {
  const { q, k, B, Hq, Hkv, Sq, Sk, D } = x;
  const layout = x.layout ?? 'bhsd';
  const scale = x.scale ?? 1 / sqrt(D);
  const group = Hq / Hkv;
  const ms = x.mask ? maskStrides(x.mask.shape) : [0, 0, 0, 0];
  const out = new Float64Array(B * Hq * Sq * Sk);
  const level = ['qk', 'softcap', 'mask', 'softmax'].indexOf(stage);
  for (let b = 0; b < B; b++) {
    const sees = keyRule(x, b);
    for (let h = 0; h < Hq; h++)
      for (let i = 0; i < Sq; i++) {
        const row = ((b * Hq + h) * Sq + i) * Sk;
        const qo = offset(layout, Hq, Sq, D, b, h, i);
        for (let j = 0; j < Sk; j++) {
          const ko = offset(layout, Hkv, Sk, D, b, Math.floor(h / group), j);
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[qo + d] * k[ko + d];
          let sc = dot * scale;
          if (level >= 1 && x.softcap) sc = x.softcap * tanh(sc / x.softcap);
          if (level >= 2) {
            let vis = sees(i, j);
            if (vis && x.mask) {
              const mval = x.mask.values[b * ms[0] + h * ms[1] + i * ms[2] + j * ms[3]];
              if (x.mask.bool) vis = mval !== 0;
              else sc += mval;
            }
            if (!vis) sc = -Infinity;
          }
          out[row + j] = sc;
        }
        if (level === 3) {
          let m = -Infinity,
            l = 0;
          for (let j = 0; j < Sk; j++) m = max(m, out[row + j]);
          for (let j = 0; j < Sk; j++) l += out[row + j] === -Infinity ? 0 : exp(out[row + j] - m);
          for (let j = 0; j < Sk; j++) out[row + j] = out[row + j] === -Infinity || l === 0 ? 0 : exp(out[row + j] - m) / l;
        }
      }
  }
  return out;
}
