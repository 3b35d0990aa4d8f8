// A mixed workload of every op kind, for the reliability suites: concurrency (test/concurrency.test.ts),
// the leak soak (test/workloads/soak.js), worker_threads and the valgrind subset. Plain CommonJS taking
// the package as an argument, so plain node (over dist/) and jest share it.
//
//   makeOps(tk, { seed, scale }) -> [{ name, sync(): TypedArray, async(): Promise<TypedArray> }]
// Each op owns its inputs (seeded, deterministic); ops of one call share some inputs with each other
// (the same weight, the same sparse matrix, the same q/k/v), as requests of one service would.
'use strict';

function rng(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function floats(r, n) {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = r() * 2 - 1;
  return a;
}

function randomCsr(tk, r, rows, cols, density, int64) {
  const rowPtr = [0];
  const colIdx = [];
  const values = [];
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      if (r() < density) {
        colIdx.push(j);
        values.push(r() * 2 - 1);
      }
    }
    rowPtr.push(colIdx.length);
  }
  const idx = (a) => (int64 ? BigInt64Array.from(a, BigInt) : Int32Array.from(a));
  return tk.SparseMatrix.fromCsr({ shape: [rows, cols], rowPtr: idx(rowPtr), colIdx: idx(colIdx), values: Float32Array.from(values) });
}

/** The result of an op as a typed array (a tensor is read back; attention with returnLse concatenates). */
async function readAsync(x) {
  if (x && x.out && x.lse) return concat(await x.out.toArray(), await x.lse.toArray());
  return x.toArray();
}
function readSync(x) {
  if (x && x.out && x.lse) return concat(x.out.toArraySync(), x.lse.toArraySync());
  return x.toArraySync();
}
function concat(a, b) {
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/**
 * The ops. scale 1: small (each well under a millisecond, for the soak); scale 2+: larger (for the
 * concurrency suite, so queued work overlaps for real).
 */
function makeOps(tk, opts = {}) {
  const seed = opts.seed ?? 1;
  const scale = opts.scale ?? 1;
  const r = rng(seed);
  const T = tk.Tensor;
  const s = (n) => n * scale;

  // Shared inputs.
  const K = s(24),
    N = s(20);
  const wShared = T.from(floats(r, K * N), [K, N]);
  const wShared16 = tk.castSync(wShared, 'bfloat16');
  const sparse32 = randomCsr(tk, r, s(17), s(23), 0.2, false);
  const sparse64 = randomCsr(tk, r, s(13), s(19), 0.3, true);
  const q = T.from(floats(r, 2 * 3 * s(5) * 16), [2, 3, s(5), 16]);
  const kv = T.from(floats(r, 2 * 3 * s(7) * 16), [2, 3, s(7), 16]);
  const wq = tk.quantizeWeightsInt4Sync(T.from(floats(r, s(12) * 64), [s(12), 64]), { groupSize: 32 });
  const wqChan = tk.quantizeWeightsInt4Sync(T.from(floats(r, s(10) * 32), [s(10), 32]));

  const ops = [];
  const add = (name, fnSync, fnAsync) => ops.push({ name, sync: () => readSync(fnSync()), async: async () => readAsync(await fnAsync()) });

  // cast, distinct inputs of odd sizes
  {
    const x = T.from(floats(r, s(301) + 7), [s(301) + 7]);
    add(
      'cast f32->f16',
      () => tk.castSync(x, 'float16'),
      () => tk.cast(x, 'float16'),
    );
    add(
      'cast bf16->f32',
      () => tk.castSync(wShared16, 'float32'),
      () => tk.cast(wShared16, 'float32'),
    );
  }
  // gemm: shared weight, distinct activations; bf16; int8; batched with bias and c
  {
    const a = T.from(floats(r, s(9) * K), [s(9), K]);
    add(
      'gemm f32 shared w',
      () => tk.gemmSync(a, wShared),
      () => tk.gemm(a, wShared),
    );
    const a16 = tk.castSync(T.from(floats(r, s(7) * K), [s(7), K]), 'bfloat16');
    add(
      'gemm bf16',
      () => tk.gemmSync(a16, wShared16),
      () => tk.gemm(a16, wShared16),
    );
    const i8a = T.from(
      Int8Array.from({ length: s(5) * s(33) }, () => Math.floor(r() * 256) - 128),
      [s(5), s(33)],
    );
    const i8b = T.from(
      Int8Array.from({ length: s(33) * s(6) }, () => Math.floor(r() * 256) - 128),
      [s(6), s(33)],
    );
    add(
      'gemm int8 transB',
      () => tk.gemmSync(i8a, i8b, { transB: true }),
      () => tk.gemm(i8a, i8b, { transB: true }),
    );
    const ab = T.from(floats(r, 3 * 5 * K), [3, 5, K]);
    const bias = T.from(floats(r, N), [N]);
    const c = T.from(floats(r, 3 * 5 * N), [3, 5, N]);
    const o = { bias, c, beta: 0.5, alpha: 2 };
    add(
      'gemm batched bias c',
      () => tk.gemmSync(ab, wShared, o),
      () => tk.gemm(ab, wShared, o),
    );
  }
  // spmm: int32 and int64 indices, shared matrices
  {
    const b = T.from(floats(r, sparse32.cols * 9), [sparse32.cols, 9]);
    add(
      'spmm int32',
      () => tk.spmmSync(sparse32, b),
      () => tk.spmm(sparse32, b),
    );
    const b2 = T.from(floats(r, sparse64.cols * 5), [sparse64.cols, 5]);
    const c = T.from(floats(r, sparse64.rows * 5), [sparse64.rows, 5]);
    add(
      'spmm int64 alpha beta c',
      () => tk.spmmSync(sparse64, b2, { c, alpha: 0.5, beta: -1 }),
      () => tk.spmm(sparse64, b2, { c, alpha: 0.5, beta: -1 }),
    );
  }
  // attention: shared q/k/v; causal; lse; kvLengths; a bool mask
  {
    add(
      'attention',
      () => tk.attentionSync(q, kv, kv),
      () => tk.attention(q, kv, kv),
    );
    const o = { causal: true, returnLse: true };
    add(
      'attention causal lse',
      () => tk.attentionSync(q, kv, kv, o),
      () => tk.attention(q, kv, kv, o),
    );
    const sk = kv.shape[2];
    const mask = T.from(
      Int8Array.from({ length: q.shape[2] * sk }, () => (r() < 0.7 ? 1 : 0)),
      [1, 1, q.shape[2], sk],
    );
    const o2 = { mask, kvLengths: [sk, sk - 2], softcap: 5 };
    add(
      'attention mask kvLengths softcap',
      () => tk.attentionSync(q, kv, kv, o2),
      () => tk.attention(q, kv, kv, o2),
    );
    // ONNX's features: V's head dim unlike K's, a causal offset, a short rank-1 bool mask, the score matrix
    const v3 = T.from(floats(r, kv.shape[0] * kv.shape[1] * sk * 5), [kv.shape[0], kv.shape[1], sk, 5]);
    const keep = T.from(
      Uint8Array.from({ length: sk - 1 }, (_, j) => (j === 0 || r() < 0.7 ? 1 : 0)),
      [sk - 1],
      { dtype: 'bool' },
    );
    const o3 = { causal: true, causalOffset: 1, mask: keep, kvLengths: BigInt64Array.of(BigInt(sk), BigInt(sk - 3)) };
    add(
      'attention Dv causalOffset bool mask',
      () => tk.attentionSync(q, kv, v3, o3),
      () => tk.attention(q, kv, v3, o3),
    );
    const scores = () => T.zeros([q.shape[0], q.shape[1], q.shape[2], sk]);
    const o4 = (out) => ({ ...o3, qkOutput: { out, stage: 'softmax' } });
    add(
      'attention qkOutput',
      () => {
        const qk = scores();
        tk.attentionSync(q, kv, v3, o4(qk));
        return qk;
      },
      async () => {
        const qk = scores();
        await tk.attention(q, kv, v3, o4(qk));
        return qk;
      },
    );
  }
  // linear attention: a decay per head, state in; the state out read back through a closure
  {
    const lv = T.from(floats(r, 2 * 3 * q.shape[2] * 5), [2, 3, q.shape[2], 5]);
    const state = T.from(floats(r, 2 * 3 * 16 * 5), [2, 3, 16, 5]);
    const lo = { decay: Float32Array.of(0.9, 1, 0.6), scale: 0.5, state };
    add(
      'linearAttention decay state',
      () => tk.linearAttentionSync(q, q, lv, lo),
      () => tk.linearAttention(q, q, lv, lo),
    );
    add(
      'linearAttention state out',
      () => tk.linearAttentionSync(q, q, lv, { ...lo, returnState: true }).state,
      async () => (await tk.linearAttention(q, q, lv, { ...lo, returnState: true })).state,
    );
  }
  // monarch: shared factors (k = 4 blocks of p = 6 -> q = 5; l = 2, r = 10, s = 3), distinct inputs; bf16 x
  {
    const w1 = T.from(floats(r, 4 * 5 * 6), [4, 5, 6]);
    const w2 = T.from(floats(r, 2 * 3 * 10), [2, 3, 10]);
    const xm = T.from(floats(r, s(9) * 24), [s(9), 24]);
    const xm16 = tk.castSync(T.from(floats(r, 3 * 24), [3, 24]), 'bfloat16');
    add(
      'monarch',
      () => tk.monarchMatmulSync(xm, w1, w2),
      () => tk.monarchMatmul(xm, w1, w2),
    );
    add(
      'monarch bf16 x',
      () => tk.monarchMatmulSync(xm16, w1, w2),
      () => tk.monarchMatmul(xm16, w1, w2),
    );
  }
  // w4a4: shared weights, per group and per channel; w4a8; weight-only; the quantizer itself
  {
    const x = T.from(floats(r, 3 * 64), [3, 64]);
    add(
      'w4a4 g32',
      () => tk.w4a4MatmulSync(x, wq),
      () => tk.w4a4Matmul(x, wq),
    );
    add(
      'w4a8 g32',
      () => tk.w4a8MatmulSync(x, wq),
      () => tk.w4a8Matmul(x, wq),
    );
    add(
      'int4 weight-only',
      () => tk.int4MatmulSync(x, wq),
      () => tk.int4Matmul(x, wq),
    );
    const x2 = T.from(floats(r, 5 * 32), [5, 32]);
    add(
      'w4a4 per channel',
      () => tk.w4a4MatmulSync(x2, wqChan),
      () => tk.w4a4Matmul(x2, wqChan),
    );
    const w = T.from(floats(r, 6 * 32), [6, 32]);
    add(
      'quantize int4',
      () => packedOf(tk.quantizeWeightsInt4Sync(w, { groupSize: 16 })),
      async () => packedOf(await tk.quantizeWeightsInt4(w, { groupSize: 16 })),
    );
  }
  // block ops, and an op graph of a small decoder step (recorded per call: its own outputs and cache)
  {
    const D = 16,
      H = 2,
      hd = D / H;
    const x = T.from(floats(r, s(3) * D), [s(3), D]);
    const g = T.from(floats(r, D), [D]);
    const pos = T.from(
      Int32Array.from({ length: s(3) }, (_, i) => i + 2),
      [s(3)],
    );
    add(
      'rmsNorm',
      () => tk.rmsNormSync(x, g),
      () => tk.rmsNorm(x, g),
    );
    add(
      'rope positions tensor',
      () => tk.ropeSync(x.reshape([s(3), H, hd]), { positions: pos }),
      () => tk.rope(x.reshape([s(3), H, hd]), { positions: pos }),
    );
    add(
      'swiglu',
      () => tk.swigluSync(x, x),
      () => tk.swiglu(x, x),
    );
    add(
      'softmax',
      () => tk.softmaxSync(x),
      () => tk.softmax(x),
    );
    const table = T.from(floats(r, 11 * D), [11, D]);
    const ids = T.from(
      Int32Array.from({ length: s(4) }, () => Math.floor(r() * 11)),
      [s(4)],
    );
    add(
      'embedding',
      () => tk.embeddingSync(table, ids),
      () => tk.embedding(table, ids),
    );
    add(
      'topk values',
      () => tk.topkSync(x, 3).values,
      async () => (await tk.topk(x, 3)).values,
    );
    const w = T.from(floats(r, D * D), [D, D]);
    const step = () =>
      tk.recordGraph(() => {
        const cache = T.zeros([8, H, hd]);
        const len = T.from(Int32Array.of(3), [1]);
        const h = tk.rmsNormSync(x.narrow(0, 1), g);
        const q = tk.gemmSync(h, w, { transB: true });
        tk.ropeSync(q.reshape([1, H, hd]), { positions: 2, out: q.reshape([1, H, hd]) });
        tk.kvAppendSync(cache, q.reshape([1, H, hd]), { position: 2 });
        const o = tk.attentionSync(q.reshape([1, 1, H, hd]), cache.reshape([1, 8, H, hd]), cache.reshape([1, 8, H, hd]), {
          layout: 'bshd',
          kvLengths: len,
        });
        return tk.addSync(o.reshape([1, D]), h);
      });
    add(
      'op graph',
      () => {
        const gr = step();
        gr.run();
        gr.dispose();
        return gr.result;
      },
      async () => {
        const gr = step();
        await gr.runAsync();
        gr.dispose();
        return gr.result;
      },
    );
  }
  return ops;
}

/** The quantizer's output as a tensor-like with toArray (its serialized buffer). */
function packedOf(w) {
  const buf = w.toBuffer();
  const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  return { toArray: async () => bytes, toArraySync: () => bytes };
}

function sameBits(a, b) {
  if (a.byteLength !== b.byteLength) return false;
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

module.exports = { makeOps, sameBits, rng };
