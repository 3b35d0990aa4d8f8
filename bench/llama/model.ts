// A llama decoder on tensorkern: one token per step, the whole step recorded once as an op graph
// (recordGraph) and replayed per token. Projections are gemm with nn.Linear weights (transB) --
// Q, K, V fused into one product, W1 and W3 into another; the residual adds ride on gemm's `c`;
// RMSNorm, RoPE, SwiGLU, the KV-cache append, GQA attention over the cache (kvLengths from a tensor)
// and the greedy argmax are tensorkern ops. The step reads its token, position and key count from
// three int32 tensors that the caller writes between replays, and argmax writes the next token into
// the token tensor, so a greedy decode needs no JavaScript work per token beyond two stores.
import {
  Int4Weights, OpGraph, Tensor, addSync, argmaxSync, attentionSync, castSync, embeddingSync, gemmSync, int4MatmulSync, kvAppendSync,
  quantizeWeightsInt4Sync, recordGraph, rmsNormSync, ropeSync, swigluSync,
} from '../../lib';
import { Checkpoint, LlamaConfig } from './checkpoint';

export type WeightType = 'f32' | 'bf16' | 'int4';

export interface LlamaOptions {
  /**
   * Projection weights as float32 (default), bfloat16 (activations into them then bfloat16 too), or
   * int4 (weight-only: 4-bit weights with a float32 scale per 64 channels, float32 activations).
   */
  weights?: WeightType;
}

/** Channels of K per int4 scale. */
const INT4_GROUP = 64;

type Weight = Tensor | Int4Weights;

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

  constructor(ckpt: Checkpoint, opts: LlamaOptions = {}) {
    const c = (this.config = ckpt.config);
    const w = ckpt.weights;
    const wt = (this.weightType = opts.weights ?? 'f32');
    const hd = c.dim / c.heads, kvd = c.kvHeads * hd, D = c.dim, F = c.hidden;
    const act = wt === 'bf16' ? 'bfloat16' : 'float32';
    const proj = (data: Float32Array, shape: number[]): Weight => {
      const t = Tensor.from(data, shape);
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
    const bytesOf = (W: Weight) => (W instanceof Tensor ? W.byteLength : W.packed.byteLength + W.scales.byteLength + (W.zeroPoints?.byteLength ?? 0));
    this.weightBytesPerToken = layers.reduce((a, L) => a + bytesOf(L.wqkv) + bytesOf(L.wo) + bytesOf(L.w13) + bytesOf(L.w2), bytesOf(classifier));
    // y = x W^T, or x += x_in W^T (residual) when `into` is the residual stream.
    const tmp = Tensor.zeros([1, D]);
    const linear = (xin: Tensor, W: Weight, out: Tensor, residual = false) => {
      if (W instanceof Tensor) {
        gemmSync(xin, W, residual ? { transB: true, c: out, out } : { transB: true, out });
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
          layout: 'bshd', kvLengths: kvLength, out: att,
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
    if (!(Number.isInteger(token) && token >= 0 && token < this.config.vocab)) throw new RangeError(`token ${token} is not in [0, ${this.config.vocab})`);
    if (!(Number.isInteger(pos) && pos >= 0 && pos < this.config.seqLen)) throw new RangeError(`position ${pos} is not in [0, ${this.config.seqLen})`);
    this.token[0] = token;
    this.position[0] = pos;
    this.kvLength[0] = pos + 1;
  }

  dispose(): void {
    this.step.dispose();
  }
}

export interface GenerateResult {
  generated: number[];
  prefillMs: number;
  decodeMs: number;
}

/**
 * Prefills `prompt` (one step per token) and greedily decodes `steps` tokens. prefillMs covers the
 * prompt's steps, decodeMs the rest; onToken sees each generated token.
 */
export type StepMode = 'graph' | 'graph-async' | 'ops';

export async function generate(m: LlamaModel, prompt: number[], steps: number, opts: { mode?: StepMode; onToken?: (t: number, i: number) => void } = {}): Promise<GenerateResult> {
  const total = Math.min(prompt.length + steps, m.config.seqLen);
  const generated: number[] = [];
  let t0 = performance.now();
  let prefillMs = 0;
  let next = prompt[0];
  for (let pos = 0; pos < total - 1; pos++) {
    const tok = pos < prompt.length ? prompt[pos] : next;
    next = opts.mode === 'graph-async' ? await m.forwardAsync(tok, pos) : opts.mode === 'ops' ? m.forwardOps(tok, pos) : m.forward(tok, pos);
    if (pos + 1 === prompt.length) {
      prefillMs = performance.now() - t0;
      t0 = performance.now();
    }
    if (pos + 1 >= prompt.length) {
      generated.push(next);
      opts.onToken?.(next, generated.length - 1);
    }
  }
  return { generated, prefillMs, decodeMs: performance.now() - t0 };
}
