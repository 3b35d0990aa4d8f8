// Block ops on a real GPU: every op on device tensors against the CPU path (itself checked against the
// float64 references in test/block.test.ts), float32 and bfloat16, odd sizes, in place, run-time
// positions / ids changed between calls, and run-time out-of-range errors that write nothing. Runs
// under jest or `node --test`; skips, printing why, without a GPU.
import * as assert from 'node:assert/strict';
import {
  Tensor,
  addSync,
  argmaxSync,
  embeddingSync,
  kvAppendSync,
  rmsNormSync,
  ropeSync,
  siluSync,
  softmaxSync,
  swigluSync,
  topkSync,
} from '../../lib';
import { DType } from '../../lib/dtype';
import { toHalfBits } from '../../lib/half';
import { describeGpu } from '../helpers/backends';
import { decode, makeData } from '../helpers/data';
import { test } from '../helpers/runner';

type F = 'float32' | 'bfloat16';

function host(shape: number[], dtype: F, seed: number, scale = 1): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const raw = makeData('float32', n, seed).values.map((v) => v * scale);
  return Tensor.from(dtype === 'float32' ? Float32Array.from(raw) : toHalfBits(raw, dtype), shape, { dtype });
}
const dev = (t: Tensor) => Tensor.from(t.toArraySync(), t.shape.slice(), { dtype: t.dtype, device: 'cuda' });
const vals = async (t: Tensor) => decode(t.dtype as DType, (await t.toArray()) as ArrayLike<number>);

async function same(label: string, gpu: Tensor, cpu: Tensor, rtol: number, atol = 1e-6): Promise<void> {
  assert.equal(gpu.device.startsWith('cuda'), true, `${label}: result on ${gpu.device}`);
  const g = await vals(gpu);
  const c = await vals(cpu);
  assert.equal(g.length, c.length);
  for (let i = 0; i < c.length; i++) {
    const ok = Number.isNaN(c[i]) ? Number.isNaN(g[i]) : Math.abs(g[i] - c[i]) <= atol + rtol * Math.abs(c[i]);
    if (!ok) assert.fail(`${label}[${i}]: cuda ${g[i]}, cpu ${c[i]}`);
  }
}

describeGpu('block ops cuda', () => {
  for (const dtype of ['float32', 'bfloat16'] as F[]) {
    const rtol = dtype === 'float32' ? 1e-5 : 1e-2;
    for (const [T, D] of [
      [1, 37],
      [3, 64],
      [17, 1000],
    ]) {
      test(`block ${dtype} cuda rows [${T}, ${D}]`, async () => {
        const x = host([T, D], dtype, T + D, 3);
        const w = host([D], 'float32', D);
        await same('rmsNorm', rmsNormSync(dev(x), dev(w)), rmsNormSync(x, w), rtol);
        await same('softmax', softmaxSync(dev(x)), softmaxSync(x), rtol + 1e-5, 1e-7);
        await same('silu', siluSync(dev(x)), siluSync(x), rtol);
        await same('swiglu', swigluSync(dev(x), dev(x)), swigluSync(x, x), rtol);
        await same('add bias', addSync(dev(x), dev(w)), addSync(x, w), rtol);
        await same('argmax', argmaxSync(dev(x)), argmaxSync(x), 0, 0);
        const k = Math.min(7, D);
        const g = topkSync(dev(x), k);
        const c = topkSync(x, k);
        await same('topk values', g.values, c.values, 0, 0);
        await same('topk indices', g.indices, c.indices, 0, 0);
        const xd = dev(x);
        rmsNormSync(xd, dev(w), { out: xd });
        await same('rmsNorm in place', xd, rmsNormSync(x, w), rtol);
      });
    }

    for (const style of ['interleaved', 'half'] as const) {
      test(`block ${dtype} cuda rope ${style} [2, 5, 3, 64], positions number, then a tensor changed between calls`, async () => {
        const x = host([2, 5, 3, 64], dtype, 5);
        await same('rope p0', ropeSync(dev(x), { positions: 11, style }), ropeSync(x, { positions: 11, style }), rtol, 1e-5);
        const pos = Tensor.from(new Int32Array([0, 1, 2, 3, 4, 9, 8, 7, 6, 5]), [2, 5]);
        await same('rope [B, S]', ropeSync(dev(x), { positions: pos, style }), ropeSync(x, { positions: pos, style }), rtol, 1e-5);
        (pos.toArraySync() as Int32Array).set([100, 200, 300, 400, 500, 1, 1, 1, 1, 1]);
        const xd = dev(x);
        ropeSync(xd, { positions: pos, style, out: xd });
        await same('rope new positions in place', xd, ropeSync(x, { positions: pos, style }), rtol, 1e-4);
      });
    }
  }

  test('block cuda embedding and kvAppend: run-time ids / positions, out of range writes nothing', async () => {
    const table = host([50, 37], 'bfloat16', 61);
    const ids = Tensor.from(new Int32Array([3, 49, 0, 7]), [2, 2]);
    await same('embedding', embeddingSync(dev(table), ids), embeddingSync(table, ids), 0, 0);
    const out = embeddingSync(dev(table), ids, { dtype: 'float16' });
    (ids.toArraySync() as Int32Array)[3] = 50;
    const before = await vals(out);
    assert.throws(() => embeddingSync(dev(table), ids, { out }), /Expected ids\[3\] in \[0, 50\)/);
    assert.deepEqual(await vals(out), before);

    const cache = Tensor.zeros([2, 6, 3, 4], { dtype: 'bfloat16', device: 'cuda' });
    const ref = Tensor.zeros([2, 6, 3, 4], { dtype: 'bfloat16' });
    const x = host([2, 2, 3, 4], 'float32', 62);
    const pos = Tensor.from(new Int32Array([0, 4]), [2]);
    kvAppendSync(cache, dev(x), { position: pos, seqDim: 1 });
    kvAppendSync(ref, x, { position: pos, seqDim: 1 });
    await same('kvAppend', cache, ref, 0, 0);
    (pos.toArraySync() as Int32Array).set([3, 5]);
    assert.throws(() => kvAppendSync(cache, dev(x), { position: pos, seqDim: 1 }), /Expected position\[1\] in \[0, 4\]/);
    await same('kvAppend untouched', cache, ref, 0, 0);
  });
});
