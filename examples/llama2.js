// Greedy decoding of a llama2.c checkpoint (e.g. stories260K.bin) on tensorkern, in one readable file.
//
//   node examples/llama2.js MODEL.bin [STEPS]
//
// The decode step is written once with Sync ops and recorded as an op graph; each token then costs
// one native call (graph.run()), with no per-op JavaScript. The step reads its token, position and
// visible-key count from three int32 tensors that the loop writes between replays, and argmax writes
// the next token back into the token tensor. Tokens are printed as ids (the tokenizer is not included).
const fs = require('fs');
const tk = require('tensorkern');

const [file, stepsArg] = process.argv.slice(2);
if (!file) throw new Error('usage: node examples/llama2.js MODEL.bin [STEPS]');
const buf = fs.readFileSync(file);
const [dim, hidden, layers, heads, kvHeads, vocabSigned, seqLen] = new Int32Array(buf.buffer, buf.byteOffset, 7);
const vocab = Math.abs(vocabSigned),
  hd = dim / heads,
  kvDim = kvHeads * hd;
const f = new Float32Array(buf.buffer.slice(buf.byteOffset + 28, buf.byteOffset + buf.length - ((buf.length - 28) % 4)));
let o = 0;
const take = (n) => f.subarray(o, (o += n));

// Weights in the file's order; matrices are [out, in] (nn.Linear), hence transB below.
const emb = take(vocab * dim),
  rmsAtt = take(layers * dim),
  wq = take(layers * dim * dim);
const wk = take(layers * kvDim * dim),
  wv = take(layers * kvDim * dim),
  wo = take(layers * dim * dim);
const rmsFfn = take(layers * dim),
  w1 = take(layers * hidden * dim),
  w2 = take(layers * dim * hidden);
const w3 = take(layers * hidden * dim),
  rmsFinal = take(dim);
take(seqLen * hd); // legacy RoPE tables: rope() computes them
const cls = vocabSigned > 0 ? emb : take(vocab * dim);

const T = (data, shape) => tk.Tensor.from(data, shape);
const slice = (a, l, n) => a.subarray(l * n, (l + 1) * n);

// Step inputs (written by the loop) and activations (reused by every layer).
const token = new Int32Array(1),
  position = new Int32Array(1),
  kvLength = new Int32Array(1);
const tokenT = T(token, [1]),
  positionT = T(position, [1]),
  kvLengthT = T(kvLength, [1]);
const x = tk.Tensor.zeros([1, dim]),
  xb = tk.Tensor.zeros([1, dim]);
const q = tk.Tensor.zeros([1, 1, heads, hd]),
  k = tk.Tensor.zeros([1, kvHeads, hd]),
  v = tk.Tensor.zeros([1, kvHeads, hd]);
const att = tk.Tensor.zeros([1, 1, heads, hd]),
  h1 = tk.Tensor.zeros([1, hidden]),
  h3 = tk.Tensor.zeros([1, hidden]);
const logits = tk.Tensor.zeros([1, vocab]);

const L = Array.from({ length: layers }, (_, l) => ({
  rmsAtt: T(slice(rmsAtt, l, dim), [dim]),
  rmsFfn: T(slice(rmsFfn, l, dim), [dim]),
  wq: T(slice(wq, l, dim * dim), [dim, dim]),
  wk: T(slice(wk, l, kvDim * dim), [kvDim, dim]),
  wv: T(slice(wv, l, kvDim * dim), [kvDim, dim]),
  wo: T(slice(wo, l, dim * dim), [dim, dim]),
  w1: T(slice(w1, l, hidden * dim), [hidden, dim]),
  w2: T(slice(w2, l, dim * hidden), [dim, hidden]),
  w3: T(slice(w3, l, hidden * dim), [hidden, dim]),
  kCache: tk.Tensor.zeros([seqLen, kvHeads, hd]),
  vCache: tk.Tensor.zeros([seqLen, kvHeads, hd]),
}));
const embT = T(emb, [vocab, dim]),
  rmsFinalT = T(rmsFinal, [dim]),
  clsT = T(cls, [vocab, dim]);

const step = tk.recordGraph(() => {
  tk.embeddingSync(embT, tokenT, { out: x });
  for (const l of L) {
    tk.rmsNormSync(x, l.rmsAtt, { out: xb });
    tk.gemmSync(xb, l.wq, { transB: true, out: q.reshape([1, dim]) });
    tk.gemmSync(xb, l.wk, { transB: true, out: k.reshape([1, kvDim]) });
    tk.gemmSync(xb, l.wv, { transB: true, out: v.reshape([1, kvDim]) });
    tk.ropeSync(q.reshape([1, heads, hd]), { positions: positionT, out: q.reshape([1, heads, hd]) });
    tk.ropeSync(k, { positions: positionT, out: k });
    tk.kvAppendSync(l.kCache, k, { position: positionT }); // the KV cache: rows [0, position] filled
    tk.kvAppendSync(l.vCache, v, { position: positionT });
    tk.attentionSync(q, l.kCache.reshape([1, seqLen, kvHeads, hd]), l.vCache.reshape([1, seqLen, kvHeads, hd]), {
      layout: 'bshd',
      kvLengths: kvLengthT,
      out: att, // keys [0, kvLength) are visible
    });
    tk.gemmSync(att.reshape([1, dim]), l.wo, { transB: true, c: x, out: x }); // x += att @ wo^T
    tk.rmsNormSync(x, l.rmsFfn, { out: xb });
    tk.gemmSync(xb, l.w1, { transB: true, out: h1 });
    tk.gemmSync(xb, l.w3, { transB: true, out: h3 });
    tk.swigluSync(h1, h3, { out: h1 });
    tk.gemmSync(h1, l.w2, { transB: true, c: x, out: x });
  }
  tk.rmsNormSync(x, rmsFinalT, { out: xb });
  tk.gemmSync(xb, clsT, { transB: true, out: logits });
  tk.argmaxSync(logits, { out: tokenT }); // the next token, read by embedding at the next replay
});

const steps = Math.min(Number(stepsArg ?? 64), seqLen - 1);
const out = [];
token[0] = 1; // BOS
const t0 = performance.now();
for (let pos = 0; pos < steps; pos++) {
  position[0] = pos;
  kvLength[0] = pos + 1;
  step.run();
  out.push(token[0]);
}
const ms = performance.now() - t0;
console.log(out.join(' '));
console.log(
  `${steps} tokens in ${ms.toFixed(1)} ms: ${((steps * 1000) / ms).toFixed(0)} tok/s (${step.length} ops per step, one native call)`,
);
