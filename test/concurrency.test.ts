// The async core under load: hundreds of concurrent ops of every kind on shared and distinct
// tensors, the addon in several worker_threads at once, and setNumThreads changed while work is queued.
// Results must equal sequential ones bit for bit.
import * as path from 'path';
import { Worker } from 'worker_threads';
import * as tk from '../lib';
import { Tensor, cast, castSync, getNumThreads, setNumThreads } from '../lib';
import { makeOps, sameBits, MixedOp } from './workloads/mixed';

function data(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    a[i] = (s / 4294967296 - 0.5) * 200;
  }
  return a;
}

/** Deterministic shuffle, so the queue interleaves op kinds and sets. */
function shuffled<T>(xs: T[], seed: number): T[] {
  const out = xs.slice();
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

test('320 concurrent async ops of every kind on shared and distinct tensors equal the sequential results', async () => {
  const ops: MixedOp[] = [];
  for (let set = 0; set < 20; set++) ops.push(...makeOps(tk, { seed: 100 + set, scale: 2 }));
  expect(ops.length).toBeGreaterThanOrEqual(300);
  const expected = new Map(ops.map((op) => [op, op.sync()]));
  const order = shuffled(ops, 7);
  const results = await Promise.all(order.map((op) => op.async()));
  const bad = order.filter((op, i) => !sameBits(results[i], expected.get(op)!)).map((op) => op.name);
  expect(bad).toEqual([]);
  // Sync calls interleaved with the queued async ones (the sync forms run on the caller's thread).
  const again = order.map((op) => op.async());
  const syncNow = order.map((op) => op.sync());
  const later = await Promise.all(again);
  expect(
    order.filter((op, i) => !sameBits(syncNow[i], expected.get(op)!) || !sameBits(later[i], expected.get(op)!)).map((op) => op.name),
  ).toEqual([]);
});

test('setNumThreads while ops of every kind are queued', async () => {
  const before = getNumThreads();
  try {
    const x = Tensor.from(data(1 << 20, 5), [1 << 20]);
    const want = castSync(x, 'bfloat16').toArraySync();
    const ops = makeOps(tk, { seed: 9, scale: 4 });
    const expected = ops.map((op) => op.sync());
    const pending: Promise<ArrayBufferView>[] = [];
    const casts: Promise<Tensor>[] = [];
    for (let i = 0; i < 40; i++) {
      casts.push(cast(x, 'bfloat16'));
      const op = ops[i % ops.length];
      pending.push(op.async());
      setNumThreads((i % 3) + 1);
    }
    const got = await Promise.all(pending);
    for (const g of await Promise.all(casts)) expect(sameBits(await g.toArray(), want)).toBe(true);
    const bad = got.map((g, i) => [ops[i % ops.length].name, sameBits(g, expected[i % ops.length])]).filter(([, ok]) => !ok);
    expect(bad).toEqual([]);
  } finally {
    setNumThreads(before);
  }
});

test('the addon works in 4 worker_threads at once, every op kind, results equal the main thread', async () => {
  const script = `
    const { parentPort, workerData } = require('worker_threads');
    const tk = require(${JSON.stringify(path.join(__dirname, '..'))});
    const { makeOps, sameBits } = require(${JSON.stringify(path.join(__dirname, 'workloads', 'mixed.js'))});
    (async () => {
      const ops = makeOps(tk, { seed: workerData, scale: 2 });
      const sync = ops.map((op) => op.sync());
      const asyncs = await Promise.all(ops.concat(ops).map((op) => op.async()));
      const ok = asyncs.every((a, i) => sameBits(a, sync[i % ops.length]));
      parentPort.postMessage({ ok, results: sync, threads: tk.getNumThreads() });
    })().catch((e) => parentPort.postMessage({ ok: false, error: String(e && e.stack) }));
  `;
  const seeds = [11, 12, 13, 14];
  const runs = seeds.map(
    (k) =>
      new Promise<{ ok: boolean; results: ArrayBufferView[]; error?: string }>((resolve, reject) => {
        const w = new Worker(script, { eval: true, workerData: k });
        w.once('message', (m) => {
          resolve(m);
          void w.terminate();
        });
        w.once('error', reject);
      }),
  );
  const results = await Promise.all(runs);
  seeds.forEach((k, j) => {
    expect(results[j].error).toBeUndefined();
    expect(results[j].ok).toBe(true);
    const mine = makeOps(tk, { seed: k, scale: 2 });
    const bad = mine.filter((op, i) => !sameBits(op.sync(), results[j].results[i])).map((op) => op.name);
    expect([k, bad]).toEqual([k, []]);
  });
});
