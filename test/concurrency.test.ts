// The async core under load: many concurrent ops, several worker_threads each loading the addon,
// and setNumThreads changed while work is queued. Results must equal sequential ones.
import * as path from 'path';
import { Worker } from 'worker_threads';
import { Tensor, cast, castSync, getNumThreads, setNumThreads } from '../lib';

function data(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    a[i] = (s / 4294967296 - 0.5) * 200;
  }
  return a;
}

function same(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

test('200 concurrent async casts on shared and distinct tensors equal the sequential results', async () => {
  const shared = Tensor.from(data(300001, 1), [300001]);
  const inputs = Array.from({ length: 200 }, (_, i) => (i % 2 ? shared : Tensor.from(data(1000 + i * 37, i), [1000 + i * 37])));
  const dtypes = ['float16', 'bfloat16'] as const;
  const expected = inputs.map((t, i) => castSync(t, dtypes[i % 2]).toArraySync());
  const results = await Promise.all(inputs.map((t, i) => cast(t, dtypes[i % 2]).then((r) => r.toArray())));
  results.forEach((r, i) => expect([i, same(r, expected[i])]).toEqual([i, true]));
});

test('setNumThreads while ops are queued', async () => {
  const before = getNumThreads();
  const x = Tensor.from(data(1 << 20, 5), [1 << 20]);
  const want = castSync(x, 'bfloat16').toArraySync();
  const pending: Promise<Tensor>[] = [];
  for (let i = 0; i < 40; i++) {
    pending.push(cast(x, 'bfloat16'));
    setNumThreads((i % 3) + 1);
  }
  const got = await Promise.all(pending);
  setNumThreads(before);
  for (const g of got) expect(same(await g.toArray(), want)).toBe(true);
});

test('the addon works in 4 worker_threads at once', async () => {
  const script = `
    const { parentPort, workerData } = require('worker_threads');
    const tk = require(${JSON.stringify(path.join(__dirname, '..'))});
    (async () => {
      const n = 200003;
      const x = new Float32Array(n);
      for (let i = 0; i < n; i++) x[i] = Math.sin(i * 0.001 + workerData) * 1000;
      const t = tk.Tensor.from(x, [n]);
      const outs = await Promise.all(Array.from({ length: 20 }, () => tk.cast(t, 'float16')));
      const arrays = await Promise.all(outs.map((o) => o.toArray()));
      const ref = tk.castSync(t, 'float16').toArraySync();
      const ok = arrays.every((a) => Buffer.from(a.buffer).equals(Buffer.from(ref.buffer)));
      parentPort.postMessage({ ok, first: ref[12345], threads: tk.getNumThreads() });
    })().catch((e) => parentPort.postMessage({ ok: false, error: String(e && e.stack) }));
  `;
  const runs = [0, 1, 2, 3].map(
    (k) =>
      new Promise<{ ok: boolean; first: number; error?: string }>((resolve, reject) => {
        const w = new Worker(script, { eval: true, workerData: k });
        w.once('message', (m) => {
          resolve(m);
          void w.terminate();
        });
        w.once('error', reject);
      }),
  );
  const results = await Promise.all(runs);
  for (let k = 0; k < 4; k++) {
    expect(results[k].error).toBeUndefined();
    expect(results[k].ok).toBe(true);
    const x = Math.fround(Math.sin(12345 * 0.001 + k) * 1000);
    const ref = castSync(Tensor.from([x], [1]), 'float16').toArraySync()[0];
    expect(results[k].first).toBe(ref);
  }
});
