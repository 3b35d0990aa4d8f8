// A llama2.c model decoded on tensorkern (bench/llama: the decode step recorded as one op graph)
// against a float64 forward pass of the real stories260K checkpoint, and greedy decoding that does
// not depend on the thread count or on how the step is run (graph, awaited graph, op by op).
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { Tensor, bfloat16BitsToFloat32, float32ToBFloat16Bits, getNumThreads, quantizeWeightsInt4Sync, setNumThreads } from '../lib';
import { parseCheckpoint, randomCheckpoint, readCheckpoint } from '../bench/llama/checkpoint';
import { LlamaModel, generate } from '../bench/llama/model';
import { STORIES_PATH } from '../bench/stories';
import { refLlamaLogits } from './reference/llama';

const have = fs.existsSync(STORIES_PATH);
if (!have) console.warn(`llama tests on stories260K skipped: ${STORIES_PATH} is missing (the shared test data)`);
const storiesTest = have ? test : test.skip;

function worstRel(got: Float32Array, want: Float64Array): number {
  let scale = 0;
  for (const v of want) scale = Math.max(scale, Math.abs(v));
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) / scale);
  return worst;
}

describe('llama decode on tensorkern', () => {
  storiesTest('stories260K logits match a float64 forward pass at every position (f32 weights, bf16 weights)', () => {
    const ck = readCheckpoint(STORIES_PATH);
    const tokens = [1, 403, 9, 261, 30, 7, 500, 2];
    const ref = refLlamaLogits(ck, tokens);
    // bf16: against float64 over the same bf16-rounded projection weights, with the activations
    // that enter them rounded to bf16 too.
    const w = ck.weights;
    const r = (a: Float32Array) => Float32Array.from(a, (v) => bfloat16BitsToFloat32(float32ToBFloat16Bits(v)));
    const ck16 = {
      ...ck,
      weights: {
        ...w,
        wq: r(w.wq),
        wk: r(w.wk),
        wv: r(w.wv),
        wo: r(w.wo),
        w1: r(w.w1),
        w2: r(w.w2),
        w3: r(w.w3),
        classifier: r(w.classifier),
      },
    };
    const ref16 = refLlamaLogits(ck16, tokens, (x) => x.map((v) => bfloat16BitsToFloat32(float32ToBFloat16Bits(v))));
    for (const [weights, tol, want] of [
      ['f32', 2e-5, ref],
      ['bf16', 2e-3, ref16],
    ] as const) {
      const m = new LlamaModel(ck, { weights });
      tokens.forEach((t, pos) => {
        m.forward(t, pos);
        const got = m.logits.toArraySync() as Float32Array;
        expect(worstRel(got, want[pos])).toBeLessThan(tol);
      });
      m.dispose();
    }
  });

  storiesTest('a prompt in one step (M = T products, causal attention over the cache), whole or in two chunks, matches float64', () => {
    const ck = readCheckpoint(STORIES_PATH);
    const tokens = [1, 403, 9, 261, 30, 7, 500, 2];
    const ref = refLlamaLogits(ck, tokens);
    for (const weights of ['f32', 'bf16'] as const) {
      const m = new LlamaModel(ck, { weights });
      expect(m.batchedPrefill).toBe(true);
      const tol = weights === 'f32' ? 2e-5 : 5e-2;
      const next = m.prefill(tokens);
      expect(worstRel(m.logits.toArraySync() as Float32Array, ref[7])).toBeLessThan(tol);
      expect(next).toBe(ref[7].indexOf(Math.max(...ref[7])));
      m.prefill(tokens.slice(0, 5)); // again from 0: the cache rows are overwritten
      expect(worstRel(m.logits.toArraySync() as Float32Array, ref[4])).toBeLessThan(tol);
      m.prefill(tokens.slice(5), 5); // the rest at positions 5..7 over the cached 0..4
      expect(worstRel(m.logits.toArraySync() as Float32Array, ref[7])).toBeLessThan(tol);
      expect(() => m.prefill([1, 2], 511)).toThrow(/positions 511..512/);
      expect(() => m.prefill([1, 512])).toThrow(/token 512/);
      m.dispose();
    }
  });

  storiesTest('stories260K with int4 weights matches float64 over the same dequantized weights', () => {
    const ck = readCheckpoint(STORIES_PATH);
    const c = ck.config,
      w = ck.weights;
    // Each layer's matrix quantized as the model does (rows are independent: stacking does not matter).
    const deq = (all: Float32Array, N: number, K: number) => {
      const out = new Float32Array(all.length);
      for (let l = 0; l < all.length / (N * K); l++) {
        const q = quantizeWeightsInt4Sync(Tensor.from(all.slice(l * N * K, (l + 1) * N * K), [N, K]), {
          groupSize: K % 64 === 0 ? 64 : 'channel',
        });
        for (let n = 0; n < N; n++)
          for (let k = 0; k < K; k++) {
            const g = Math.floor(k / q.groupSize);
            out[l * N * K + n * K + k] = (q.q(n, k) - (q.zeroPoints ? q.zeroPoints[n * q.groups + g] : 0)) * q.scales[n * q.groups + g];
          }
      }
      return out;
    };
    const D = c.dim,
      F = c.hidden,
      kvd = (c.kvHeads * D) / c.heads;
    const ck4 = {
      ...ck,
      weights: {
        ...w,
        wq: deq(w.wq, D, D),
        wk: deq(w.wk, kvd, D),
        wv: deq(w.wv, kvd, D),
        wo: deq(w.wo, D, D),
        w1: deq(w.w1, F, D),
        w2: deq(w.w2, D, F),
        w3: deq(w.w3, F, D),
        classifier: deq(w.classifier, c.vocab, D),
      },
    };
    const tokens = [1, 403, 9, 261];
    const ref = refLlamaLogits(ck4, tokens);
    const m = new LlamaModel(ck, { weights: 'int4' });
    tokens.forEach((t, pos) => {
      m.forward(t, pos);
      expect(worstRel(m.logits.toArraySync() as Float32Array, ref[pos])).toBeLessThan(2e-5);
    });
    m.dispose();
  });

  storiesTest('greedy tokens agree across thread counts and step modes, and with the float64 argmax', async () => {
    const ck = readCheckpoint(STORIES_PATH);
    const prompt = [1, 403, 9];
    const saved = getNumThreads();
    const runs: number[][] = [];
    try {
      for (const threads of [1, 2, 3]) {
        setNumThreads(threads);
        const m = new LlamaModel(ck);
        for (const mode of ['graph', 'graph-async', 'ops'] as const) runs.push((await generate(m, prompt, 24, { mode })).generated);
        m.dispose();
      }
    } finally {
      setNumThreads(saved);
    }
    for (const r of runs) expect(r).toEqual(runs[0]);
    // The float64 model's own greedy choices over the same sequence.
    const seq = [...prompt, ...runs[0].slice(0, -1)];
    const ref = refLlamaLogits(ck, seq);
    const refNext = ref.slice(prompt.length - 1).map((l) => l.indexOf(Math.max(...l)));
    expect(runs[0]).toEqual(refNext);
  });

  storiesTest('examples/llama2.js generates what the bench model generates', async () => {
    const out = execFileSync(process.execPath, [path.join(__dirname, '..', 'examples', 'llama2.js'), STORIES_PATH, '24'], {
      encoding: 'utf8',
    });
    const ids = out.split('\n')[0].split(' ').map(Number);
    const m = new LlamaModel(readCheckpoint(STORIES_PATH));
    expect(ids).toEqual((await generate(m, [1], 24)).generated);
    m.dispose();
    expect(out).toMatch(/24 tokens in .* tok\/s/);
  });

  test('a random checkpoint of another shape (GQA 6 / 2 heads, an unshared classifier) matches float64', () => {
    const bytes = randomCheckpoint(
      { dim: 48, hidden: 80, layers: 2, heads: 6, kvHeads: 2, vocab: 37, seqLen: 16, sharedClassifier: false },
      5,
    );
    const ck = parseCheckpoint(bytes);
    expect(ck.config.sharedClassifier).toBe(false);
    const tokens = [3, 36, 0, 17, 17];
    const ref = refLlamaLogits(ck, tokens);
    const m = new LlamaModel(ck);
    tokens.forEach((t, pos) => {
      m.forward(t, pos);
      expect(worstRel(m.logits.toArraySync() as Float32Array, ref[pos])).toBeLessThan(2e-5);
    });
    expect(() => m.forward(37, 0)).toThrow(/token 37/);
    expect(() => m.forward(1, 16)).toThrow(/position 16/);
    m.dispose();
  });

  test('a file that is not a checkpoint is refused by name', () => {
    expect(() => parseCheckpoint(new Uint8Array(10), 'x.bin')).toThrow(/x.bin.*too short/);
    const bad = new Uint8Array(64);
    new Int32Array(bad.buffer, 0, 7).set([10, 20, 1, 3, 1, 5, 8]);
    expect(() => parseCheckpoint(bad, 'y.bin')).toThrow(/y.bin: not a llama2.c checkpoint/);
    const short = randomCheckpoint({
      dim: 8,
      hidden: 8,
      layers: 1,
      heads: 2,
      kvHeads: 1,
      vocab: 5,
      seqLen: 4,
      sharedClassifier: true,
    }).subarray(0, 100);
    expect(() => parseCheckpoint(short, 'z.bin')).toThrow(/z.bin: truncated/);
  });
});
