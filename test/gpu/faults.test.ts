// GPU faults, on a real GPU; skips, printing why, without one. Runs under jest or `node --test`.
//   - out of memory is ERR_TK_OUT_OF_MEMORY and the next op works;
//   - device memory returns to its baseline (the pool's bytes in use) after many ops create and drop tensors;
//   - a sticky CUDA error (a trap kernel, provoked on purpose in a child process) is reported clearly, every
//     later GPU call says so at once, CPU ops keep working, and the process exits normally.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { Tensor, TensorkernError, cast, memoryInfo } from '../../lib';
import { describeGpu } from '../helpers/backends';
import { test } from '../helpers/runner';

const ROOT = path.join(__dirname, '..', '..');

describeGpu('GPU faults', () => {
  test('out of memory is ERR_TK_OUT_OF_MEMORY and the next op works', async () => {
    const { total } = memoryInfo('cuda');
    const err = (() => {
      try {
        Tensor.zeros([Math.ceil((total * 2) / 4)], { device: 'cuda' });
      } catch (e) {
        return e as TensorkernError;
      }
      return null;
    })();
    assert.ok(err, 'a tensor of twice the device memory was allocated');
    assert.equal(err.name, 'TensorkernError');
    assert.equal(err.code, 'ERR_TK_OUT_OF_MEMORY');
    assert.match(err.message, /GPU memory|out of memory/i);
    // Fill the device in 1 GiB steps until it refuses, then free and run an op.
    const held: Tensor[] = [];
    let refused: TensorkernError | null = null;
    for (let i = 0; i < 4096 && !refused; i++) {
      try {
        held.push(Tensor.zeros([2 ** 28], { device: 'cuda' }));
      } catch (e) {
        refused = e as TensorkernError;
      }
    }
    assert.ok(refused, 'the device never ran out of memory');
    assert.equal(refused.code, 'ERR_TK_OUT_OF_MEMORY');
    for (const t of held) t.dispose();
    const x = Tensor.from(new Float32Array([1, 2, 3, 65504]), [4]);
    const y = await (await cast(await x.to('cuda'), 'float16')).to('cpu');
    assert.deepEqual(Array.from((await cast(y, 'float32')).toArraySync() as Float32Array), [1, 2, 3, 65504]);
  });

  test('device memory returns to its baseline after 2000 ops create and drop device tensors', async () => {
    const base = memoryInfo('cuda').inUse;
    const host = Tensor.from(
      new Float32Array(4099).map((_, i) => i),
      [4099],
    );
    for (let i = 0; i < 2000; i++) {
      const d = await host.to('cuda');
      const h = await cast(d, i % 2 ? 'float16' : 'bfloat16');
      if (i % 2) {
        d.dispose();
        h.dispose();
      }
    }
    (globalThis as { gc?: () => void }).gc?.();
    await new Promise((r) => setTimeout(r, 50));
    // Tensors left to the GC free their memory when collected; dispose the rest by forcing a few GCs if exposed.
    const after = memoryInfo('cuda').inUse;
    console.log(`GPU pool in use: ${base} bytes before, ${after} after 2000 ops (half disposed, half left to the GC)`);
    assert.ok(after - base <= 1000 * 4099 * 4 + (1 << 20), `pool grew by ${after - base} bytes`);
  });

  test('a sticky CUDA error is reported clearly and does not take the process down', () => {
    const code = `
      const tk = require(${JSON.stringify(ROOT)});
      const { native } = require(${JSON.stringify(path.join(ROOT, 'dist', 'lib', 'binding.js'))});
      const out = {};
      try { native.debug.injectFault(0, 'trap'); out.trap = 'no error'; } catch (e) { out.trap = e.code + ': ' + e.message; }
      try { tk.Tensor.zeros([16], { device: 'cuda' }); out.after = 'no error'; } catch (e) { out.after = e.code + ': ' + e.message; }
      out.cpu = Array.from(tk.castSync(tk.Tensor.from([1.5, 2], [2]), 'float16').toArraySync());
      console.log(JSON.stringify(out));
    `;
    const r = spawnSync(process.execPath, ['-e', code], { cwd: ROOT, encoding: 'utf8', timeout: 120000 });
    assert.equal(r.status, 0, `the child died: ${r.stderr}`);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { trap: string; after: string; cpu: number[] };
    console.log(`sticky error: ${out.trap}\nnext GPU call: ${out.after}`);
    assert.match(out.trap, /^ERR_TK_CUDA: .*sticky.*restart the process/);
    assert.match(out.after, /^ERR_TK_CUDA: an earlier GPU failure made CUDA unusable/);
    assert.deepEqual(out.cpu, [0x3e00, 0x4000]);
  });
});
