// Event-loop measurements in a plain node process (jest's sandbox and heap would add their own pauses):
//   node test/workloads/event-loop.js  ->  one JSON line:
//   { idle: Gaps, busy: Gaps, wait: { busyMs, runqueueMs }, tiny: { gemmAsync, gemmSync, castAsync, castSync, libuvBaseline, overlapped } }
// Gaps = the longest, p99 and median gap (ms) between firings of a 1 ms timer chain. Idle and busy windows
// alternate (WINDOWS pairs of WINDOW_MS each), so both see the same host: the idle windows measure the
// machine's own timer jitter (other processes, other test files), the busy windows add large async GEMM, SpMM,
// attention and W4A4 calls on every core. runqueueMs: how long the JavaScript thread waited for a core during
// the busy windows (/proc/self/task/<tid>/schedstat, Linux). Tiny-op figures are mean microseconds.
'use strict';
const { PerformanceObserver } = require('perf_hooks');
const crypto = require('crypto');
const path = require('path');
const tk = require(path.join(__dirname, '..', '..'));
const { rng } = require('./mixed');

const r = rng(42);
const f32 = (n) => Float32Array.from({ length: n }, () => r() * 2 - 1);
const T = tk.Tensor;

const WINDOWS = 8,
  WINDOW_MS = 150;

function schedstat() {
  try {
    return require('fs').readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ').map(Number);
  } catch {
    return null;
  }
}

/**
 * Runs WINDOWS pairs of idle and busy windows (busyFn called until a busy window ends), one 1 ms timer chain
 * throughout. Each gap over 5 ms is also split by the JavaScript thread's own accounting (schedstat, Linux): the
 * time it ran, the time it waited for a core, and the rest, when it was blocked. A gap in which it neither ran
 * nor waited for more than 1 ms is a blocked gap: the thread was off the CPU by no choice of the scheduler's (the
 * VM itself paused, or a blocking call). Those are counted per window kind. `cpuMax` is the longest other gap
 * less V8's collector pauses inside it (PerformanceObserver 'gc' entries; `gcMax` is the most any gap held).
 */
async function windows(busyFn) {
  const gapsOf = { idle: [], busy: [] };
  const cpuMaxOf = { idle: 0, busy: 0 },
    blockedOf = { idle: 0, busy: 0 },
    gcMaxOf = { idle: 0, busy: 0 };
  const long = []; // gaps over 5 ms, classified once the collector's pauses are known
  let phase = 'idle',
    last = performance.now(),
    prev = schedstat(),
    running = true,
    busyMs = 0,
    waited = 0;
  // V8's own pauses on this thread (scavenges, mark-compact finalization), as the runtime reports them.
  const gcs = [];
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcs.push([e.startTime, e.startTime + e.duration]);
  });
  obs.observe({ entryTypes: ['gc'] });
  const tick = () => {
    const now = performance.now(),
      cur = schedstat(),
      gap = now - last;
    gapsOf[phase].push(gap);
    const onCpu = cur && prev ? (cur[0] - prev[0] + cur[1] - prev[1]) / 1e6 : gap;
    if (gap > 5) long.push({ phase, from: last, to: now, onCpu });
    else cpuMaxOf[phase] = Math.max(cpuMaxOf[phase], gap);
    last = now;
    prev = cur;
    if (running) setTimeout(tick, 1);
  };
  setTimeout(tick, 1);
  for (let w = 0; w < WINDOWS; w++) {
    phase = 'idle';
    await new Promise((res) => setTimeout(res, WINDOW_MS));
    phase = 'busy';
    const s0 = schedstat(),
      t0 = performance.now();
    while (performance.now() - t0 < WINDOW_MS) await busyFn();
    busyMs += performance.now() - t0;
    const s1 = schedstat();
    if (s0 && s1) waited += (s1[1] - s0[1]) / 1e6;
  }
  running = false;
  await new Promise((res) => setTimeout(res, 20));
  obs.disconnect();
  for (const l of long) {
    const gc = gcs.reduce((t, [a, b]) => t + Math.max(0, Math.min(b, l.to) - Math.max(a, l.from)), 0);
    gcMaxOf[l.phase] = Math.max(gcMaxOf[l.phase], gc);
    if (l.onCpu < 1) blockedOf[l.phase]++;
    else cpuMaxOf[l.phase] = Math.max(cpuMaxOf[l.phase], l.to - l.from - gc);
  }
  const stats = (k) => {
    const g = gapsOf[k].sort((a, b) => a - b);
    return {
      max: g[g.length - 1],
      p99: g[Math.floor(g.length * 0.99)],
      p50: g[g.length >> 1],
      ticks: g.length,
      cpuMax: cpuMaxOf[k],
      blocked: blockedOf[k],
      gcMax: gcMaxOf[k],
    };
  };
  return { idle: stats('idle'), busy: stats('busy'), wait: { busyMs, runqueueMs: schedstat() ? waited : -1 } };
}

async function meanUs(fn, n) {
  for (let i = 0; i < 200; i++) await fn();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await fn();
  return Number(process.hrtime.bigint() - t0) / 1e3 / n;
}

(async () => {
  // Large inputs, made before measuring (building them is the caller's synchronous work). Each op is
  // several milliseconds of work on every core.
  const a = T.from(f32(1536 * 1536), [1536, 1536]);
  const rows = 20000,
    perRow = 64;
  const rowPtr = Int32Array.from({ length: rows + 1 }, (_, i) => i * perRow);
  const colIdx = Int32Array.from({ length: rows * perRow }, (_, k) => ((k % perRow) * 307 + Math.floor(k / perRow)) % rows);
  for (let i = 0; i < rows; i++) colIdx.subarray(i * perRow, (i + 1) * perRow).sort();
  const s = tk.SparseMatrix.fromCsr({ shape: [rows, rows], rowPtr, colIdx, values: f32(rows * perRow) });
  const sb = T.from(f32(rows * 64), [rows, 64]);
  const q = T.from(f32(8 * 1024 * 64), [1, 8, 1024, 64]);
  const w = tk.quantizeWeightsInt4Sync(T.from(f32(2048 * 2048), [2048, 2048]), { groupSize: 128 });
  const x = T.from(f32(256 * 2048), [256, 2048]);
  const ops = [
    () => tk.gemm(a, a),
    () => tk.spmm(s, sb),
    () => tk.attention(q, q, q, { causal: true }),
    () => tk.w4a4Matmul(x, w),
    () => tk.gemm(a, a, { transB: true }),
  ];
  // Warm-up: every op twice, reaching every one-time cost (threads, first pooled outputs) before anything is measured.
  for (let i = 0; i < 2; i++) for (const op of ops) await op();
  // Outputs are disposed, as a latency-minded service does with large ones (README, "Memory"): left to the
  // collector, tens of MB of outputs a second make V8 run full collections whose pauses (5-15 ms here, with or
  // without tensorkern's pool) are V8's, not the scheduling this test judges.
  let next = 0;
  const { idle, busy, wait } = await windows(async () => (await ops[next++ % ops.length]()).dispose());

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
  process.stdout.write(JSON.stringify({ idle, busy, wait, tiny }) + '\n');
})().catch((e) => {
  console.error(e && e.stack);
  process.exit(1);
});
