// llama2.c checkpoints: a header of 7 int32 (dim, hidden, layers, heads, kv heads, vocab, seq; a
// negative vocab = an unshared classifier at the end) and float32 arrays in a fixed order, matrices
// [out, in] row-major. Also writes random ones of any shape (the bench's 110M-shaped model).
import * as fs from 'fs';

export interface LlamaConfig {
  dim: number;
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  vocab: number;
  seqLen: number;
  sharedClassifier: boolean;
}

/** Views into one Float32Array over the file (no copy). Per-layer arrays are stacked [layers, ...]. */
export interface LlamaWeights {
  embedding: Float32Array; // [vocab, dim]
  rmsAtt: Float32Array; // [L, dim]
  wq: Float32Array; // [L, dim, dim]
  wk: Float32Array; // [L, kvDim, dim]
  wv: Float32Array; // [L, kvDim, dim]
  wo: Float32Array; // [L, dim, dim]
  rmsFfn: Float32Array; // [L, dim]
  w1: Float32Array; // [L, hidden, dim]
  w2: Float32Array; // [L, dim, hidden]
  w3: Float32Array; // [L, hidden, dim]
  rmsFinal: Float32Array; // [dim]
  classifier: Float32Array; // [vocab, dim]
}

export interface Checkpoint {
  config: LlamaConfig;
  weights: LlamaWeights;
  /** The legacy RoPE tables the file carries, [seqLen, headDim / 2] each (the ops compute RoPE themselves). */
  freqCis: { real: Float32Array; imag: Float32Array };
  bytes: number;
}

const HEADER_BYTES = 28;

function sizes(c: LlamaConfig): [keyof LlamaWeights | 'freqs', number][] {
  const hd = c.dim / c.heads,
    kvd = c.kvHeads * hd,
    L = c.layers;
  return [
    ['embedding', c.vocab * c.dim],
    ['rmsAtt', L * c.dim],
    ['wq', L * c.dim * c.dim],
    ['wk', L * kvd * c.dim],
    ['wv', L * kvd * c.dim],
    ['wo', L * c.dim * c.dim],
    ['rmsFfn', L * c.dim],
    ['w1', L * c.hidden * c.dim],
    ['w2', L * c.dim * c.hidden],
    ['w3', L * c.hidden * c.dim],
    ['rmsFinal', c.dim],
    ['freqs', c.seqLen * hd], // freq_cis real and imaginary halves (RoPE is computed instead)
  ];
}

/** Parses a checkpoint held in memory (the file's bytes). */
export function parseCheckpoint(buf: Uint8Array, name = 'checkpoint'): Checkpoint {
  if (buf.byteLength < HEADER_BYTES) throw new Error(`${name}: ${buf.byteLength} bytes is too short for a llama2.c checkpoint`);
  const ab = buf.byteOffset % 4 === 0 ? buf : buf.slice();
  const h = new Int32Array(ab.buffer, ab.byteOffset, 7);
  const [dim, hidden, layers, heads, kvHeads, vocabSigned, seqLen] = Array.from(h);
  const config: LlamaConfig = {
    dim,
    hidden,
    layers,
    heads,
    kvHeads,
    vocab: Math.abs(vocabSigned),
    seqLen,
    sharedClassifier: vocabSigned > 0,
  };
  if (
    ![dim, hidden, layers, heads, kvHeads, seqLen, config.vocab].every((v) => Number.isInteger(v) && v > 0 && v < 1 << 24) ||
    dim % heads !== 0 ||
    heads % kvHeads !== 0 ||
    (dim / heads) % 2 !== 0
  ) {
    throw new Error(`${name}: not a llama2.c checkpoint (header ${Array.from(h).join(', ')})`);
  }
  const floats = new Float32Array(ab.buffer, ab.byteOffset + HEADER_BYTES, Math.floor((ab.byteLength - HEADER_BYTES) / 4));
  let o = 0;
  const w: Partial<LlamaWeights> = {};
  let freqs = floats.subarray(0, 0);
  for (const [k, n] of sizes(config)) {
    if (o + n > floats.length) throw new Error(`${name}: truncated (${k} needs ${n} floats at ${o}, the file holds ${floats.length})`);
    if (k === 'freqs') freqs = floats.subarray(o, o + n);
    else w[k] = floats.subarray(o, o + n);
    o += n;
  }
  const half = freqs.length / 2;
  if (config.sharedClassifier) {
    w.classifier = w.embedding;
  } else {
    const n = config.vocab * dim;
    if (o + n > floats.length) throw new Error(`${name}: truncated (the classifier needs ${n} floats at ${o})`);
    w.classifier = floats.subarray(o, o + n);
  }
  return {
    config,
    weights: w as LlamaWeights,
    freqCis: { real: freqs.subarray(0, half), imag: freqs.subarray(half) },
    bytes: ab.byteLength,
  };
}

export function readCheckpoint(file: string): Checkpoint {
  return parseCheckpoint(fs.readFileSync(file), file);
}

/** The 110M-parameter shape of llama2.c's stories110M (dim 768, 12 layers, 12 heads, vocab 32000). */
export const SHAPE_110M: LlamaConfig = {
  dim: 768,
  hidden: 2048,
  layers: 12,
  heads: 12,
  kvHeads: 12,
  vocab: 32000,
  seqLen: 1024,
  sharedClassifier: true,
};

/**
 * A checkpoint's bytes with random weights (uniform, scaled by 1/sqrt(fan-in) so activations stay
 * in range; norms 1): deterministic for a seed.
 */
export function randomCheckpoint(c: LlamaConfig, seed = 1): Uint8Array {
  const parts = sizes(c);
  let total = parts.reduce((a, [, n]) => a + n, 0);
  if (!c.sharedClassifier) total += c.vocab * c.dim;
  const buf = new Uint8Array(HEADER_BYTES + total * 4);
  new Int32Array(buf.buffer, 0, 7).set([c.dim, c.hidden, c.layers, c.heads, c.kvHeads, c.sharedClassifier ? c.vocab : -c.vocab, c.seqLen]);
  const f = new Float32Array(buf.buffer, HEADER_BYTES, total);
  let s = seed >>> 0 || 1;
  let o = 0;
  for (const [k, n] of [...parts, ['classifier', c.sharedClassifier ? 0 : c.vocab * c.dim] as [string, number]]) {
    const norm = k === 'rmsAtt' || k === 'rmsFfn' || k === 'rmsFinal';
    const fanIn = k === 'w2' ? c.hidden : c.dim;
    const scale = k === 'embedding' || k === 'freqs' ? 1 : 2 * Math.sqrt(3 / fanIn);
    for (let i = 0; i < n; i++) {
      ((s ^= s << 13), (s ^= s >>> 17), (s ^= s << 5)); // xorshift32
      f[o + i] = norm ? 1 : ((s >>> 0) / 4294967296 - 0.5) * scale;
    }
    o += n;
  }
  return buf;
}
