// float64 oracle for a llama2.c checkpoint: the forward pass by its definition (RMSNorm, interleaved
// RoPE with theta 10000, GQA softmax attention over every earlier position, SwiGLU), one token at a
// time, returning the logits at every position.
import { Checkpoint } from '../../bench/llama/checkpoint';

/**
 * `act` (default: none) is applied to every activation entering a projection (the normed inputs,
 * the attention output, the SwiGLU output): bfloat16 rounding models a bf16 pipeline.
 */
export function refLlamaLogits(ck: Checkpoint, tokens: number[], act: (x: Float64Array) => Float64Array = (x) => x): Float64Array[] {
  const c = ck.config,
    w = ck.weights;
  const D = c.dim,
    F = c.hidden,
    hd = D / c.heads,
    kvd = c.kvHeads * hd,
    group = c.heads / c.kvHeads;
  const mv = (m: Float32Array, off: number, N: number, K: number, x: Float64Array) => {
    const y = new Float64Array(N);
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += m[off + n * K + k] * x[k];
      y[n] = s;
    }
    return y;
  };
  const rms = (x: Float64Array, g: Float32Array, off: number) => {
    let ss = 0;
    for (const v of x) ss += v * v;
    const r = 1 / Math.sqrt(ss / x.length + 1e-5);
    return x.map((v, i) => v * r * g[off + i]);
  };
  const rope = (v: Float64Array, pos: number) => {
    for (let i = 0; i < v.length; i += 2) {
      const a = pos * Math.pow(10000, -(i % hd) / hd),
        co = Math.cos(a),
        si = Math.sin(a);
      const x0 = v[i],
        x1 = v[i + 1];
      v[i] = x0 * co - x1 * si;
      v[i + 1] = x0 * si + x1 * co;
    }
  };
  const kc: Float64Array[][] = Array.from({ length: c.layers }, () => []);
  const vc: Float64Array[][] = Array.from({ length: c.layers }, () => []);
  const out: Float64Array[] = [];
  tokens.forEach((tok, pos) => {
    let x = Float64Array.from(w.embedding.subarray(tok * D, (tok + 1) * D));
    for (let l = 0; l < c.layers; l++) {
      const xb = act(rms(x, w.rmsAtt, l * D));
      const q = mv(w.wq, l * D * D, D, D, xb),
        k = mv(w.wk, l * kvd * D, kvd, D, xb),
        v = mv(w.wv, l * kvd * D, kvd, D, xb);
      rope(q, pos);
      rope(k, pos);
      kc[l].push(k);
      vc[l].push(v);
      const att = new Float64Array(D);
      for (let h = 0; h < c.heads; h++) {
        const kh = Math.floor(h / group);
        const s = kc[l].map((kt) => {
          let d = 0;
          for (let i = 0; i < hd; i++) d += q[h * hd + i] * kt[kh * hd + i];
          return d / Math.sqrt(hd);
        });
        const m = Math.max(...s);
        const e = s.map((z) => Math.exp(z - m));
        const Z = e.reduce((a, b) => a + b, 0);
        vc[l].forEach((vt, t) => {
          for (let i = 0; i < hd; i++) att[h * hd + i] += (e[t] / Z) * vt[kh * hd + i];
        });
      }
      const o = mv(w.wo, l * D * D, D, D, act(att));
      x = x.map((a, i) => a + o[i]);
      const xf = act(rms(x, w.rmsFfn, l * D));
      const a = mv(w.w1, l * F * D, F, D, xf),
        b = mv(w.w3, l * F * D, F, D, xf);
      const hb = a.map((u, i) => (u / (1 + Math.exp(-u))) * b[i]);
      const y = mv(w.w2, l * D * F, D, F, act(hb));
      x = x.map((z, i) => z + y[i]);
    }
    out.push(mv(w.classifier, 0, c.vocab, D, act(rms(x, w.rmsFinal, 0))));
  });
  return out;
}
