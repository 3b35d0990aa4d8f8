// Event-loop measurements in a plain node process (jest's sandbox and heap would add their own pauses):
//   node test/workloads/event-loop.js  ->  one JSON line:
//   { idle: Gaps, busy: Gaps, workMs, tiny: { gemmAsync, gemmSync, castAsync, castSync, libuvBaseline, overlapped } }
// Gaps = the longest and p99 gap (ms) between firings of a 1 ms timer chain, with nothing running (idle) and
// while large async GEMM, SpMM, attention and W4A4 calls run (busy). Tiny-op figures are mean microseconds.
'use strict';
const crypto = require('crypto');
const path = require('path');
const tk = require(path.join(__dirname, '..', '..'));
const { rng } = require('./mixed');

const r = rng(42);
const f32 = (n) => Float32Array.from({ length: n }, () => r() * 2 - 1);
const T = tk.Tensor;

async function gaps(fn) {
  const g = [];
  let last = performance.now();
  let running = true;
  const tick = () => {
    const now = performance.now();
    g.push(now - last);
    last = now;
    if (running) setTimeout(tick, 1);
  };
  setTimeout(tick, 1);
  const t0 = performance.now();
  await fn();
  const ms = performance.now() - t0;
  running = false;
  await new Promise((res) => setTimeout(res, 5));
  g.sort((a, b) => a - b);
  return { max: g[g.length - 1], p99: g[Math.floor(g.length * 0.99)], ticks: g.length, ms };
}

async function meanUs(fn, n) {
  for (let i = 0; i < 200; i++) await fn();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await fn();
  return Number(process.hrtime.bigint() - t0) / 1e3 / n;
}

(async () => {
  // Large inputs, made before measuring (building them is the caller's synchronous work).
  const a = T.from(f32(768 * 768), [768, 768]);
  const rows = 4000, perRow = 40;
  const rowPtr = Int32Array.from({ length: rows + 1 }, (_, i) => i * perRow);
  const colIdx = Int32Array.from({ length: rows * perRow }, (_, k) => ((k % perRow) * 97 + Math.floor(k / perRow)) % rows);
  for (let i = 0; i < rows; i++) colIdx.subarray(i * perRow, (i + 1) * perRow).sort();
  const s = tk.SparseMatrix.fromCsr({ shape: [rows, rows], rowPtr, colIdx, values: f32(rows * perRow) });
  const sb = T.from(f32(rows * 64), [rows, 64]);
  const q = T.from(f32(4 * 512 * 64), [1, 4, 512, 64]);
  const w = tk.quantizeWeightsInt4Sync(T.from(f32(1024 * 1024), [1024, 1024]), { groupSize: 128 });
  const x = T.from(f32(64 * 1024), [64, 1024]);
  await Promise.all([tk.gemm(a, a), tk.spmm(s, sb), tk.attention(q, q, q), tk.w4a4Matmul(x, w)]); // warm up

  const idle = await gaps(() => new Promise((res) => setTimeout(res, 300)));
  const busy = await gaps(async () => {
    for (let round = 0; round < 3; round++) {
      await Promise.all([tk.gemm(a, a), tk.spmm(s, sb), tk.attention(q, q, q, { causal: true }), tk.w4a4Matmul(x, w), tk.gemm(a, a, { transB: true })]);
    }
  });

  const t4 = T.from(f32(16), [4, 4]);
  const v16 = T.from(f32(16), [16]);
  const one = Buffer.alloc(1);
  const n = 3000;
  const tiny = {
    gemmAsync: await meanUs(() => tk.gemm(t4, t4), n),
    gemmSync: await meanUs(() => tk.gemmSync(t4, t4), n),
    castAsync: await meanUs(() => tk.cast(v16, 'float16'), n),
    castSync: await meanUs(() => tk.castSync(v16, 'float16'), n),
    // The platform's own floor: a 1-byte crypto.randomFill also goes to the libuv pool and back.
    libuvBaseline: await meanUs(() => new Promise((res) => crypto.randomFill(one, () => res())), n),
  };
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: n }, () => tk.gemm(t4, t4)));
  tiny.overlapped = Number(process.hrtime.bigint() - t0) / 1e3 / n;
  process.stdout.write(JSON.stringify({ idle, busy, tiny }) + '\n');
})().catch((e) => {
  console.error(e && e.stack);
  process.exit(1);
});
