// A llama decoder on tensorkern: one token per step, the whole step recorded once as an op graph
// (recordGraph) and replayed per token. Projections are gemm with nn.Linear weights (transB) --
// Q, K, V fused into one product, W1 and W3 into another; the residual adds ride on gemm's `c`;
// RMSNorm, RoPE, SwiGLU, the KV-cache append, GQA attention over the cache (kvLengths from a tensor)
// and the greedy argmax are tensorkern ops. The step reads its token, position and key count from
// three int32 tensors that the caller writes between replays, and argmax writes the next token into
// the token tensor, so a greedy decode needs no JavaScript work per token beyond two stores.
import {
  Int4Weights,
  Int8Weights,
  OpGraph,
  Tensor,
  addSync,
  argmaxSync,
  attentionSync,
  castSync,
  embeddingSync,
  gemmSync,
  int4MatmulSync,
  int8MatmulSync,
  kvAppendSync,
  quantizeWeightsInt4Sync,
  quantizeWeightsInt8Sync,
  recordGraph,
  rmsNormSync,
  ropeSync,
  swigluSync,
} from '../../lib';
import { Checkpoint, LlamaConfig } from './checkpoint';

export type WeightType = 'f32' | 'bf16' | 'int4' | 'int8';

export interface LlamaOptions {
  /**
   * Projection weights as float32 (default), bfloat16 (activations into them then bfloat16 too), or
   * int4 (weight-only: 4-bit weights with a float32 scale per 64 channels, float32 activations), or
   * int8 (W8A8, int8Matmul: int8 weights per channel, activations quantized per token, outlier
   * columns |x| >= 6 in float32).
   */
  weights?: WeightType;
}

/** Channels of K per int4 scale. */
const INT4_GROUP = 64;

type Weight = Tensor | Int4Weights | Int8Weights;

interface Layer {
  rmsAtt: Tensor;
  wqkv: Weight; // [dim + 2 kvDim, dim]
  wo: Weight;
  rmsFfn: Tensor;
  w13: Weight; // [2 hidden, dim]: W1 rows then W3 rows
  w2: Weight;
  kCache: Tensor; // [seqLen, kvHeads, headDim]
  vCache: Tensor;
}

function stackRows(parts: Float32Array[], cols: number): Float32Array {
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    if (p.length % cols !== 0) throw new Error('stackRows: a part is not whole rows');
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export class LlamaModel {
  readonly config: LlamaConfig;
  readonly weightType: WeightType;
  /** Bytes of weights one decode step reads (what bounds its speed by memory bandwidth). */
  readonly weightBytesPerToken: number;
  /** The step's inputs: the token to embed, its position, and the keys attention sees (position + 1). */
  readonly token = new Int32Array(1);
  readonly position = new Int32Array(1);
  readonly kvLength = new Int32Array(1);
  readonly logits: Tensor;
  private readonly step: OpGraph<void>;
  /** The step as plain Sync op calls, one native call each (what the graph records). */
  private readonly runOps: () => void;
  /** What a prefill graph needs besides the config. */
  private readonly parts: {
    layers: Layer[];
    embedding: Tensor;
    rmsFinal: Tensor;
    classifier: Weight;
    act: 'float32' | 'bfloat16';
    linear: (xin: Tensor, W: Weight, out: Tensor, residual?: boolean) => void;
  };
  /** Prefill graphs by prompt length, and their inputs: ids [T], positions [T] (p0 + t), p0 [1], p0 + T [1]. */
  private readonly prefills = new Map<
    number,
    { graph: OpGraph<void>; ids: Int32Array; positions: Int32Array; start: Int32Array; kvLength: Int32Array }
  >();

  constructor(ckpt: Checkpoint, opts: LlamaOptions = {}) {
    const c = (this.config = ckpt.config);
    const w = ckpt.weights;
    const wt = (this.weightType = opts.weights ?? 'f32');
    const hd = c.dim / c.heads,
      kvd = c.kvHeads * hd,
      D = c.dim,
      F = c.hidden;
    const act = wt === 'bf16' ? 'bfloat16' : 'float32';
    const proj = (data: Float32Array, shape: number[]): Weight => {
      const t = Tensor.from(data, shape);
      if (wt === 'int8') return quantizeWeightsInt8Sync(t);
      if (wt === 'int4') return quantizeWeightsInt4Sync(t, { groupSize: shape[1] % INT4_GROUP === 0 ? INT4_GROUP : 'channel' });
      return wt === 'bf16' ? castSync(t, 'bfloat16') : t;
    };
    const layers: Layer[] = [];
    for (let l = 0; l < c.layers; l++) {
      const rows = (a: Float32Array, n: number) => a.subarray(l * n * D, (l + 1) * n * D);
      layers.push({
        rmsAtt: Tensor.from(w.rmsAtt.subarray(l * D, (l + 1) * D), [D]),
        wqkv: proj(stackRows([rows(w.wq, D), rows(w.wk, kvd), rows(w.wv, kvd)], D), [D + 2 * kvd, D]),
        wo: proj(w.wo.subarray(l * D * D, (l + 1) * D * D), [D, D]),
        rmsFfn: Tensor.from(w.rmsFfn.subarray(l * D, (l + 1) * D), [D]),
        w13: proj(stackRows([rows(w.w1, F), rows(w.w3, F)], D), [2 * F, D]),
        w2: proj(w.w2.subarray(l * D * F, (l + 1) * D * F), [D, F]),
        kCache: Tensor.zeros([c.seqLen, c.kvHeads, hd]),
        vCache: Tensor.zeros([c.seqLen, c.kvHeads, hd]),
      });
    }
    const embedding = Tensor.from(w.embedding, [c.vocab, D]);
    const rmsFinal = Tensor.from(w.rmsFinal, [D]);
    const classifier = proj(w.classifier, [c.vocab, D]);
    const bytesOf = (W: Weight) =>
      W instanceof Tensor
        ? W.byteLength
        : W instanceof Int8Weights
          ? W.values.byteLength + W.scales.byteLength
          : W.packed.byteLength + W.scales.byteLength + (W.zeroPoints?.byteLength ?? 0);
    this.weightBytesPerToken = layers.reduce(
      (a, L) => a + bytesOf(L.wqkv) + bytesOf(L.wo) + bytesOf(L.w13) + bytesOf(L.w2),
      bytesOf(classifier),
    );
    // y = x W^T, or x += x_in W^T (residual) when `into` is the residual stream.
    const tmp = Tensor.zeros([1, D]);
    const linear = (xin: Tensor, W: Weight, out: Tensor, residual = false) => {
      if (W instanceof Tensor) {
        gemmSync(xin, W, residual ? { transB: true, c: out, out } : { transB: true, out });
      } else if (W instanceof Int8Weights) {
        int8MatmulSync(xin, W, residual ? { c: out, out } : { out }); // the residual add in place
      } else if (residual) {
        int4MatmulSync(xin, W, { out: tmp });
        addSync(out, tmp, { out });
      } else {
        int4MatmulSync(xin, W, { out });
      }
    };

    // Activations: x the residual stream (float32); the rest scratch reused by every layer.
    const x = Tensor.zeros([1, D]);
    const xb = Tensor.zeros([1, D], { dtype: act });
    const qkvData = new Float32Array(D + 2 * kvd);
    const qkv = Tensor.from(qkvData, [1, D + 2 * kvd]);
    const qk = Tensor.from(qkvData.subarray(0, D + kvd), [1, c.heads + c.kvHeads, hd]); // RoPE rotates q and k in one call
    const q = Tensor.from(qkvData.subarray(0, D), [1, 1, c.heads, hd]);
    const k = Tensor.from(qkvData.subarray(D, D + kvd), [1, c.kvHeads, hd]);
    const v = Tensor.from(qkvData.subarray(D + kvd), [1, c.kvHeads, hd]);
    const att = Tensor.zeros([1, 1, c.heads, hd], { dtype: act });
    const attFlat = att.reshape([1, D]);
    const h13Data = new Float32Array(2 * F);
    const h13 = Tensor.from(h13Data, [1, 2 * F]);
    const gate = Tensor.from(h13Data.subarray(0, F), [1, F]);
    const up = Tensor.from(h13Data.subarray(F), [1, F]);
    const hb = Tensor.zeros([1, F], { dtype: act });
    this.logits = Tensor.zeros([1, c.vocab]);
    const token = Tensor.from(this.token, [1]);
    const position = Tensor.from(this.position, [1]);
    const kvLength = Tensor.from(this.kvLength, [1]);

    this.runOps = () => {
      embeddingSync(embedding, token, { out: x });
      for (const L of layers) {
        rmsNormSync(x, L.rmsAtt, { out: xb });
        linear(xb, L.wqkv, qkv);
        ropeSync(qk, { positions: position, out: qk });
        kvAppendSync(L.kCache, k, { position });
        kvAppendSync(L.vCache, v, { position });
        attentionSync(q, L.kCache.reshape([1, c.seqLen, c.kvHeads, hd]), L.vCache.reshape([1, c.seqLen, c.kvHeads, hd]), {
          layout: 'bshd',
          kvLengths: kvLength,
          out: att,
        });
        linear(attFlat, L.wo, x, true);
        rmsNormSync(x, L.rmsFfn, { out: xb });
        linear(xb, L.w13, h13);
        swigluSync(gate, up, { out: hb });
        linear(hb, L.w2, x, true);
      }
      rmsNormSync(x, rmsFinal, { out: xb });
      linear(xb, classifier, this.logits);
      argmaxSync(this.logits, { out: token });
    };
    this.step = recordGraph(this.runOps);
    this.parts = { layers, embedding, rmsFinal, classifier, act, linear };
  }

  /** Ops one decode step runs. */
  get opsPerStep(): number {
    return this.step.length;
  }

  /** Runs the model on `token` at `pos`; afterwards this.logits holds its logits and the return value is the greedy next token. */
  forward(token: number, pos: number): number {
    this.setStep(token, pos);
    this.step.run();
    return this.token[0];
  }

  /** Whether prefill() takes a whole prompt in one step (float32 / bfloat16 weights; int4 and int8 go token by token). */
  get batchedPrefill(): boolean {
    return this.weightType !== 'int4' && this.weightType !== 'int8';
  }

  /**
   * Runs the model on `tokens` at positions pos0 .. pos0 + T - 1 in one step (every projection an
   * M = T product, causal attention over the cache), filling the KV cache; afterwards this.logits
   * holds the last token's logits and the return value is the greedy next token. The graph for a
   * prompt length is recorded on its first use and kept.
   */
  prefill(tokens: number[], pos0 = 0): number {
    const T = tokens.length;
    if (T === 0) throw new RangeError('prefill needs at least one token');
    if (!this.batchedPrefill || T === 1) {
      let next = 0;
      tokens.forEach((t, i) => (next = this.forward(t, pos0 + i)));
      return next;
    }
    if (!(Number.isInteger(pos0) && pos0 >= 0 && pos0 + T <= this.config.seqLen))
      throw new RangeError(`positions ${pos0}..${pos0 + T - 1} are not in [0, ${this.config.seqLen})`);
    for (const t of tokens)
      if (!(Number.isInteger(t) && t >= 0 && t < this.config.vocab)) throw new RangeError(`token ${t} is not in [0, ${this.config.vocab})`);
    const p = this.prefills.get(T) ?? this.recordPrefill(T);
    p.ids.set(tokens);
    for (let i = 0; i < T; i++) p.positions[i] = pos0 + i;
    p.start[0] = pos0;
    p.kvLength[0] = pos0 + T;
    p.graph.run();
    return this.token[0];
  }

  private recordPrefill(T: number) {
    const c = this.config,
      { layers, embedding, rmsFinal, classifier, act, linear } = this.parts;
    const hd = c.dim / c.heads,
      kvd = c.kvHeads * hd,
      D = c.dim,
      F = c.hidden;
    const ids = new Int32Array(T),
      positions = new Int32Array(T),
      start = new Int32Array(1),
      kvLength = new Int32Array(1);
    const idsT = Tensor.from(ids, [T]),
      posT = Tensor.from(positions, [T]),
      startT = Tensor.from(start, [1]),
      lenT = Tensor.from(kvLength, [1]);
    const x = Tensor.zeros([T, D]),
      xb = Tensor.zeros([T, D], { dtype: act });
    const q = Tensor.zeros([T, D]),
      k = Tensor.zeros([T, kvd]),
      v = Tensor.zeros([T, kvd]);
    const att = Tensor.zeros([1, T, c.heads, hd], { dtype: act });
    const h1 = Tensor.zeros([T, F]),
      h3 = Tensor.zeros([T, F]),
      hb = Tensor.zeros([T, F], { dtype: act });
    const token = Tensor.from(this.token, [1]);
    // The fused weights' row blocks, as views (no copy): M = T products gain nothing from fusing,
    // and RoPE / the cache want q, k, v each contiguous.
    const rowsOf = (W: Weight, at: number, n: number) => (W as Tensor).narrow(at, n);
    const graph = recordGraph(() => {
      embeddingSync(embedding, idsT, { out: x });
      for (const L of layers) {
        rmsNormSync(x, L.rmsAtt, { out: xb });
        linear(xb, rowsOf(L.wqkv, 0, D), q);
        linear(xb, rowsOf(L.wqkv, D, kvd), k);
        linear(xb, rowsOf(L.wqkv, D + kvd, kvd), v);
        ropeSync(q.reshape([T, c.heads, hd]), { positions: posT, out: q.reshape([T, c.heads, hd]) });
        ropeSync(k.reshape([T, c.kvHeads, hd]), { positions: posT, out: k.reshape([T, c.kvHeads, hd]) });
        kvAppendSync(L.kCache, k.reshape([T, c.kvHeads, hd]), { position: startT });
        kvAppendSync(L.vCache, v.reshape([T, c.kvHeads, hd]), { position: startT });
        attentionSync(
          q.reshape([1, T, c.heads, hd]),
          L.kCache.reshape([1, c.seqLen, c.kvHeads, hd]),
          L.vCache.reshape([1, c.seqLen, c.kvHeads, hd]),
          {
            layout: 'bshd',
            causal: true,
            kvLengths: lenT,
            out: att,
          },
        );
        linear(att.reshape([T, D]), L.wo, x, true);
        rmsNormSync(x, L.rmsFfn, { out: xb });
        linear(xb, rowsOf(L.w13, 0, F), h1);
        linear(xb, rowsOf(L.w13, F, F), h3);
        swigluSync(h1, h3, { out: hb });
        linear(hb, L.w2, x, true);
      }
      const last = x.narrow(T - 1, 1),
        lastN = xb.narrow(T - 1, 1);
      rmsNormSync(last, rmsFinal, { out: lastN });
      linear(lastN, classifier, this.logits);
      argmaxSync(this.logits, { out: token });
    });
    const p = { graph, ids, positions, start, kvLength };
    this.prefills.set(T, p);
    return p;
  }

  /** forward() calling the ops one by one instead of replaying the graph (to measure what the graph saves). */
  forwardOps(token: number, pos: number): number {
    this.setStep(token, pos);
    this.runOps();
    return this.token[0];
  }

  /** forward() with the step's work off the event loop (one hop per token, or inline when the step is tiny). */
  async forwardAsync(token: number, pos: number): Promise<number> {
    this.setStep(token, pos);
    await this.step.runAsync();
    return this.token[0];
  }

  private setStep(token: number, pos: number): void {
    if (!(Number.isInteger(token) && token >= 0 && token < this.config.vocab))
      throw new RangeError(`token ${token} is not in [0, ${this.config.vocab})`);
    if (!(Number.isInteger(pos) && pos >= 0 && pos < this.config.seqLen))
      throw new RangeError(`position ${pos} is not in [0, ${this.config.seqLen})`);
    this.token[0] = token;
    this.position[0] = pos;
    this.kvLength[0] = pos + 1;
  }

  dispose(): void {
    this.step.dispose();
    for (const p of this.prefills.values()) p.graph.dispose();
    this.prefills.clear();
  }
}

export interface GenerateResult {
  generated: number[];
  prefillMs: number;
  decodeMs: number;
}

/**
 * Prefills `prompt` (in one step where the model can: prefill(); token by token for mode 'ops' and
 * int4 weights) and greedily decodes `steps` tokens. prefillMs covers the prompt (which yields the
 * first generated token), decodeMs the rest; onToken sees each generated token.
 */
export type StepMode = 'graph' | 'graph-async' | 'ops';

export async function generate(
  m: LlamaModel,
  prompt: number[],
  steps: number,
  opts: { mode?: StepMode; onToken?: (t: number, i: number) => void } = {},
): Promise<GenerateResult> {
  const total = Math.min(prompt.length + steps, m.config.seqLen);
  const generated: number[] = [];
  let t0 = performance.now();
  let next: number;
  let pos = 0;
  if (opts.mode !== 'ops' && m.batchedPrefill) {
    // The prompt in one step (M = prompt length), the first generated token out of it.
    next = m.prefill(prompt);
    pos = prompt.length;
  } else {
    next = prompt[0];
    for (; pos < prompt.length; pos++) next = opts.mode === 'ops' ? m.forwardOps(prompt[pos], pos) : m.forward(prompt[pos], pos);
  }
  const prefillMs = performance.now() - t0;
  t0 = performance.now();
  generated.push(next);
  opts.onToken?.(next, 0);
  for (; pos < total - 1; pos++) {
    next =
      opts.mode === 'graph-async' ? await m.forwardAsync(next, pos) : opts.mode === 'ops' ? m.forwardOps(next, pos) : m.forward(next, pos);
    generated.push(next);
    opts.onToken?.(next, generated.length - 1);
  }
  return { generated, prefillMs, decodeMs: performance.now() - t0 };
}
