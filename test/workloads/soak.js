// Leak soak: `node --expose-gc test/workloads/soak.js [ops]` runs ops of every kind (default
// 100000), sync and async, creating and dropping tensors, sparse matrices and int4 weights all along (half of
// the results disposed explicitly, half left to the GC), and prints one JSON line with memory samples (MB, after
// a full GC) at each tenth of the run: rss, V8's heapTotal / heapUsed, external, and native = rss - heapTotal
// (V8 grows its young generation in steps as it sees survival; that is the heap's sizing, not a leak, so the
// caller judges the native part and heapUsed separately).
'use strict';
const path = require('path');
const tk = require(path.join(__dirname, '..', '..'));
const { makeOps, sameBits } = require('./mixed');

const total = Number(process.argv[2] || process.env.TK_SOAK_OPS || 100000);
const gc = global.gc || (() => {});
const mb = (bytes) => +(bytes / 2 ** 20).toFixed(1);
const rssMb = () => {
  gc();
  gc();
  return process.memoryUsage().rss / 2 ** 20;
};

(async () => {
  const t0 = Date.now();
  const samples = [];
  let done = 0,
    mismatches = 0,
    errors = 0,
    set = 0;
  let ops = makeOps(tk, { seed: 1 });
  let expected = ops.map((op) => op.sync());
  const perSet = ops.length * 4;
  const batch = 16;
  while (done < total) {
    if (done % perSet === 0 && done > 0) {
      // New inputs every few rounds: the old tensors, sparse matrices and weights become garbage.
      ops = makeOps(tk, { seed: 1 + (++set % 5) });
      expected = ops.map((op) => op.sync());
    }
    // A batch of async ops in flight at once, then a batch of sync ones.
    const idx = Array.from({ length: batch }, (_, i) => (done + i) % ops.length);
    const got = await Promise.all(idx.map((i) => ops[i].async()));
    got.forEach((g, j) => {
      if (!sameBits(g, expected[idx[j]])) mismatches++;
    });
    for (const i of idx) if (!sameBits(ops[i].sync(), expected[i])) mismatches++;
    // Tensors made and dropped: half disposed, half collected; and a rejected call (the error path).
    for (let i = 0; i < 4; i++) {
      const t = tk.Tensor.zeros([7, 5 + i], { dtype: i % 2 ? 'float32' : 'bfloat16' });
      const c = tk.castSync(t, 'float16');
      if (i % 2) {
        t.dispose();
        c.dispose();
      }
    }
    try {
      await tk.gemm(tk.Tensor.zeros([2, 3]), tk.Tensor.zeros([4, 5]));
    } catch (e) {
      errors++;
    }
    done += 2 * batch + 4 + 1;
    if (samples.length < Math.floor((done / total) * 10)) {
      const rss = rssMb();
      const m = process.memoryUsage();
      samples.push({
        rss: mb(rss * 2 ** 20),
        heapTotal: mb(m.heapTotal),
        heapUsed: mb(m.heapUsed),
        external: mb(m.external),
        native: mb(rss * 2 ** 20 - m.heapTotal),
      });
    }
  }
  process.stdout.write(JSON.stringify({ ops: done, seconds: (Date.now() - t0) / 1000, samples, mismatches, errors }) + '\n');
})().catch((e) => {
  console.error(e && e.stack);
  process.exit(1);
});
