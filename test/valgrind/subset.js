// The valgrind memcheck subset (scripts/sanitize.sh valgrind): every op kind once, sync and async, on small
// odd sizes, plus the error paths (bad shapes, a corrupted CSR caught natively, garbage arguments), against the
// normal release build. Exits 0 when every result matches its first run and every error was the expected kind;
// valgrind's own exit code (97) reports memory errors.
'use strict';
const path = require('path');
const tk = require(path.join(__dirname, '..', '..'));
const { makeOps, sameBits } = require('../workloads/mixed');

(async () => {
  let checked = 0;
  for (const seed of [1, 2]) {
    const ops = makeOps(tk, { seed });
    for (const op of ops) {
      const a = op.sync();
      const b = await op.async();
      if (!sameBits(a, b)) throw new Error(`${op.name}: async result differs from sync`);
      checked++;
    }
    await Promise.all(ops.map((op) => op.async()));
  }
  // Error paths: each must throw a contract error, never crash.
  const bad = [
    () => tk.gemmSync(tk.Tensor.zeros([2, 3]), tk.Tensor.zeros([4, 5])),
    () => tk.attentionSync(tk.Tensor.zeros([1, 1, 2, 3]), tk.Tensor.zeros([1, 1, 2, 4]), tk.Tensor.zeros([1, 1, 2, 4])),
    () => tk.SparseMatrix.fromCsr({ shape: [2, 2], rowPtr: [0, 1, 3], colIdx: [0, 1], values: [1, 2] }),
    () => {
      const m = tk.SparseMatrix.fromCsr({
        shape: [2, 2],
        rowPtr: new Int32Array([0, 1, 2]),
        colIdx: new Int32Array([0, 1]),
        values: new Float32Array([1, 2]),
      });
      m.colIdx[1] = 1 << 30; // changed after validation: the native kernel must catch it
      return tk.spmmSync(m, tk.Tensor.zeros([2, 3]));
    },
    () => tk.Int4Weights.fromBuffer(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])),
    () => tk.SparseMatrix.fromMatrixMarket('%%MatrixMarket matrix coordinate real general\n2 2 1\n3 1 1.0\n'),
    () => tk.Tensor.zeros([2 ** 30, 2 ** 30]),
    // an id out of range, found by the native run; a graph whose output was disposed after recording
    () => tk.embeddingSync(tk.Tensor.zeros([4, 8]), tk.Tensor.from(Int32Array.of(1, 9), [2])),
    () => {
      const a = tk.Tensor.zeros([128, 128]);
      const g = tk.recordGraph(() => tk.gemmSync(a, a));
      g.result.dispose();
      return g.run();
    },
  ];
  let errors = 0;
  for (const f of bad) {
    try {
      f();
      throw new Error(`expected an error from ${f}`);
    } catch (e) {
      if (!(e instanceof TypeError || e instanceof RangeError || e instanceof tk.TensorkernError) || typeof e.code !== 'string') throw e;
      errors++;
    }
  }
  console.log(`valgrind subset: ${checked} op results checked (sync = async), ${errors} error paths`);
})().catch((e) => {
  console.error(e && e.stack);
  process.exit(1);
});
