// Device tensors on a real GPU: upload, download, zeros, cast on the device (checked against the
// float64 oracle, like the CPU), dispose, memory info, and ops keeping disposed buffers alive.
// Runs under jest or `node --test` (scripts/gpu-check.sh); skips, printing why, without a GPU.
import * as assert from 'node:assert/strict';
import { Tensor, cast, devices, memoryInfo, CudaDeviceInfo } from '../../lib';
import { describeGpu } from '../helpers/backends';
import { test } from '../helpers/runner';
import { refBFloat16Bits, refFloat16Bits, refFloat16Value, isNaN16, isNaNBf16 } from '../reference/half';

function probeValues(n: number): Float32Array {
  const u = new Uint32Array(n);
  let s = 12345;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    u[i] = s;
  }
  const f = new Float32Array(u.buffer);
  f[0] = 65520;
  f[1] = 65519.99;
  f[2] = 2 ** -25;
  f[3] = -0;
  return f;
}

describeGpu('cuda runtime', () => {
  test('devices() describes each GPU', () => {
    const gpus = devices().filter((d): d is CudaDeviceInfo => d.kind === 'cuda');
    assert.ok(gpus.length > 0);
    for (const g of gpus) {
      assert.match(g.computeCapability, /^\d+\.\d+$/);
      assert.ok(g.totalMemory > 2 ** 30);
      assert.ok(g.multiprocessors > 0);
      const m = memoryInfo(g.id);
      assert.ok(m.free > 0 && m.free <= m.total);
    }
  });

  test('round trip host -> device -> host, sync and async, odd sizes', async () => {
    for (const n of [0, 1, 7, 33, 1000, 1 << 20]) {
      const x = probeValues(n);
      const d = await Tensor.from(x, [n]).to('cuda');
      assert.equal(d.device, 'cuda:0');
      const back = (await d.toArray()) as Float32Array;
      assert.deepEqual(Buffer.from(back.buffer), Buffer.from(x.buffer));
      const s = Tensor.from(x, [n], { device: 'cuda' });
      assert.deepEqual(Buffer.from((s.toArraySync() as Float32Array).buffer), Buffer.from(x.buffer));
      d.dispose();
      s.dispose();
    }
  });

  test('zeros on the device', async () => {
    const z = Tensor.zeros([1001, 3], { dtype: 'bfloat16', device: 'cuda' });
    const a = (await z.toArray()) as Uint16Array;
    assert.equal(a.length, 3003);
    assert.ok(a.every((v) => v === 0));
  });

  test('cast on the device matches the float64 oracle', async () => {
    const x = probeValues(300001);
    const d = await Tensor.from(x, [x.length]).to('cuda');
    const h = await cast(d, 'float16');
    const b = await cast(d, 'bfloat16');
    assert.equal(h.device, 'cuda:0');
    const hb = (await h.toArray()) as Uint16Array;
    const bb = (await b.toArray()) as Uint16Array;
    for (let i = 0; i < x.length; i++) {
      if (Number.isNaN(x[i])) {
        assert.ok(isNaN16(hb[i]) && isNaNBf16(bb[i]), `NaN at ${i}`);
        continue;
      }
      assert.equal(hb[i], refFloat16Bits(x[i]), `f16 at ${i}: ${x[i]}`);
      assert.equal(bb[i], refBFloat16Bits(x[i]), `bf16 at ${i}: ${x[i]}`);
    }
    const back = (await (await cast(h, 'float32')).toArray()) as Float32Array;
    for (let i = 0; i < x.length; i += 97) {
      const want = refFloat16Value(hb[i]);
      assert.ok(Number.isNaN(want) ? Number.isNaN(back[i]) : back[i] === want);
    }
  });

  test('disposing a tensor while an op reads it is safe; later use is ERR_TK_DISPOSED', async () => {
    const d = await Tensor.from(probeValues(1 << 22), [1 << 22]).to('cuda');
    const pending = cast(d, 'float16');
    d.dispose();
    const y = await pending;
    assert.equal(((await y.toArray()) as Uint16Array).length, 1 << 22);
    await assert.rejects(cast(d, 'float16'), { code: 'ERR_TK_DISPOSED' });
  });
});
